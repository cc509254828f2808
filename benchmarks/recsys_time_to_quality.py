"""Time to quality of finished recommender runs, side by side: for each run, the wall seconds of training until the
validation NDCG@10 (full ranking) first reached a target, the whole training time, the test NDCG@10, and the speed-up
of each run against the first one (the reference, e.g. the old recipe). Prints a table; asserts nothing.

    python benchmarks/recsys_time_to_quality.py outputs/bert4rec-ml1m-m-1core outputs/sasrec-ml1m-1core --target 0.158

Each argument is an output folder of `train.py` (task bert4rec) or its results.json. The seconds at each validation
come from `training.validation_elapsed_s` (written by `mbert_tiny_hub.recsys.ElapsedTraining`: wall time since
training began, validations included, model set-up before the first step excluded). Runs written before that
callback existed have only epochs: their time to the target is estimated as train_runtime x epoch / epochs and
marked `~`. Compare runs made one after the other on the same machine under the same load; `threads` is
torch.get_num_threads() of each run. `val s` is the median seconds of one validation (full ranking of every
validation user, from the last checkpoint's trainer_state.json when the folder still has one): runs of one encoder
shape do the same validation work, so it shows whether the machine's load changed between runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ARCHITECTURES = {"bert4rec": "BERT4Rec", "sasrec_plus": "SASRec+"}


def load_results(path: str | Path) -> dict:
    path = Path(path)
    return json.loads((path / "results.json" if path.is_dir() else path).read_text(encoding="utf-8"))


def validation_seconds(path: str | Path) -> float | None:
    """Median `eval_runtime` in the log history of the run's latest checkpoint (None without one)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    checkpoints = sorted(folder.glob("checkpoint-*/trainer_state.json"), key=lambda state: int(state.parent.name[11:]))
    if not checkpoints:
        return None
    history = json.loads(checkpoints[-1].read_text(encoding="utf-8"))["log_history"]
    runtimes = [entry["eval_runtime"] for entry in history if "eval_runtime" in entry]
    return statistics.median(runtimes) if runtimes else None


def time_to_target(results: dict, target: float) -> dict:
    """The first validation with NDCG@10 >= target: {epoch, ndcg, seconds, estimated}; None values when never."""
    training = results["training"]
    validations = training.get("validation_ndcg@10") or []
    elapsed = training.get("validation_elapsed_s") or [None] * len(validations)
    for (epoch, ndcg), seconds in zip(validations, elapsed):
        if ndcg >= target:
            estimated = seconds is None
            if estimated:
                seconds = training["train_runtime_s"] * epoch / training["epochs"]
            return {"epoch": epoch, "ndcg": ndcg, "seconds": seconds, "estimated": estimated}
    return {"epoch": None, "ndcg": None, "seconds": None, "estimated": False}


def rows(runs: list[tuple[str, dict]], target: float, validation_s: list | None = None) -> list[dict]:
    table = []
    for (name, results), probe in zip(runs, validation_s or [None] * len(runs)):
        training = results["training"]
        table.append(
            {
                "run": name,
                "model": ARCHITECTURES.get(results.get("model", {}).get("architecture"), "?"),
                "threads": training.get("threads"),
                "validation_s": probe,
                "epochs": training.get("epochs"),
                "train_runtime_s": training.get("train_runtime_s"),
                "best_validation": training.get("best_validation_ndcg@10"),
                "test_ndcg@10": results["results"]["model"]["full"]["ndcg@10"],
                **{f"to_target_{key}": value for key, value in time_to_target(results, target).items()},
            }
        )
    reference = table[0]
    for row in table:
        to_target = row["to_target_seconds"]
        row["speedup_to_target"] = (
            reference["to_target_seconds"] / to_target if to_target and reference["to_target_seconds"] else None
        )
        row["speedup_runtime_vs_to_target"] = reference["train_runtime_s"] / to_target if to_target else None
    return table


def format_table(table: list[dict], target: float) -> str:
    def number(value, spec):
        return "-" if value is None else format(value, spec)

    lines = [
        f"| run | model | threads | val s | epochs | training s | val NDCG@10 first >= {target} (epoch, s) | best val "
        "NDCG@10 | test NDCG@10 | speed-up to target | ref. training s / s to target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table:
        if row["to_target_seconds"] is None:
            reached = "never"
        else:
            mark = "~" if row["to_target_estimated"] else ""
            reached = f"{row['to_target_ndcg']:.4f} ({row['to_target_epoch']:g}, {mark}{row['to_target_seconds']:,.1f})"
        lines.append(
            f"| {row['run']} | {row['model']} | {number(row['threads'], 'd')} | "
            f"{number(row['validation_s'], '.1f')} | {number(row['epochs'], 'g')} | "
            f"{number(row['train_runtime_s'], ',.1f')} | {reached} | {number(row['best_validation'], '.4f')} | "
            f"{row['test_ndcg@10']:.4f} | {number(row['speedup_to_target'], '.2f')}x | "
            f"{number(row['speedup_runtime_vs_to_target'], '.2f')}x |"
        )
    lines.append(
        f"Speed-ups are against the first run ({table[0]['run']}): its seconds to the target, and its whole training "
        "time, divided by each run's seconds to the target."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="output folders (or results.json files); the first is the reference")
    parser.add_argument("--target", type=float, default=0.158, help="validation NDCG@10 to reach (default 0.158)")
    args = parser.parse_args(argv)
    names = [Path(path).name if Path(path).is_dir() else Path(path).parent.name for path in args.runs]
    runs = [(name, load_results(path)) for name, path in zip(names, args.runs)]
    probes = [validation_seconds(path) for path in args.runs]
    print(format_table(rows(runs, args.target, probes), args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
