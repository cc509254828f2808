"""The command line of `evaluate.py`. Only the standard library is imported up front, so `--help` answers at once;
the evaluation itself is `mbert_tiny_hub.evaluation`."""

from __future__ import annotations

import argparse
import json
import logging
import re
import shlex
import shutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

from .cli import HelpFormatter, accept_both_spellings

# Kept equal to mbert_tiny_hub.baselines.BASELINES and mbert_tiny_hub.latency.RUNTIMES (a test checks), which
# import scikit-learn and torch.
BASELINE_NAMES = ("tfidf_logreg", "tfidf_svm", "majority")
RUNTIME_NAMES = ("eager", "compile", "int8", "onnxruntime", "onnxruntime_int8")


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _ints(value: str) -> list[int]:
    try:
        return [int(part) for part in _names(value)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def _choices(allowed: Sequence[str], none_allowed: bool = False):
    def parse(value: str) -> list[str]:
        names = _names(value)
        if none_allowed and [name.lower() for name in names] == ["none"]:
            return []
        unknown = [name for name in names if name not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(repr, unknown))}: choose from {', '.join(allowed)}"
                + (" or 'none'" if none_allowed else "")
            )
        return names

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Evaluate text classifiers (metrics per class and per language, TF-IDF and majority baselines, "
        "zero-shot transfer, latency next to the mBERT-base shape, plots) or a BERT4Rec recommender. Writes "
        "results.json and PNG plots to --output-dir and prints the tables. Works with `accelerate launch`.",
        formatter_class=HelpFormatter,
    )
    what = parser.add_argument_group("what to evaluate")
    what.add_argument("--model", nargs="+", help="model folder(s) or Hub id(s); LoRA adapter folders load through peft")
    what.add_argument("--dataset", help="dataset folder (written by data_scripts) or Hub id (datasets.load_dataset)")
    what.add_argument("--config", dest="dataset_config", help="dataset config, e.g. 'all' (BERT4Rec: 'sequences')")
    what.add_argument("--split", default="test", help="split to evaluate")
    what.add_argument("--label-column", help="if unset: 'labels' (multi-label) or 'label'")
    what.add_argument("--text-column", default="text", help="column holding the text")
    what.add_argument("--language-column", default="language", help="column holding the language code")
    what.add_argument("--per-language", action="store_true",
                      help="demand a per-language report (automatic whenever the language column exists)")
    what.add_argument("--revision", help="model revision (branch, tag or commit) for Hub ids")
    what.add_argument("--trust-remote-code", action="store_true", help="load the checkpoint's own model code")
    how = parser.add_argument_group("how")
    how.add_argument("--threshold", type=float,
                     help="sigmoid threshold of multi-label models (if unset: the model's config.multi_label_threshold, "
                     "which train.py chooses on the validation split, else 0.5)")
    how.add_argument("--tune-threshold-on", metavar="SPLIT",
                     help="choose the multi-label threshold on this split (e.g. validation) before scoring --split")
    how.add_argument("--batch-size", type=int, default=32, help="inference batch size")
    how.add_argument("--max-length", type=int, help="truncate inputs (if unset: the model's maximum length)")
    how.add_argument("--threads", type=int, help="CPU threads for inference and timing (if unset: torch's)")
    how.add_argument("--output-dir", help="if unset: outputs/evaluation/<model> (several models: one folder each)")
    baselines = parser.add_argument_group("baselines and zero-shot transfer")
    baselines.add_argument("--baselines", type=_choices(BASELINE_NAMES, none_allowed=True),
                           default=",".join(BASELINE_NAMES),
                           help=f"comma-separated subset of {','.join(BASELINE_NAMES)}, or 'none'")
    baselines.add_argument("--baseline-split", default="train", help="split the baselines are fitted on")
    baselines.add_argument("--train-languages", type=_names,
                           help="languages the model was trained on, e.g. eng,spa; the baselines are fitted on "
                           "these only")
    baselines.add_argument("--test-languages", type=_names, help="languages to evaluate on, e.g. ita (if unset: all)")
    latency = parser.add_argument_group("latency")
    latency.add_argument("--latency", action="store_true", help="time the model(s) next to the mBERT-base shape")
    latency.add_argument("--runtimes", type=_choices(RUNTIME_NAMES), default="eager,onnxruntime",
                         help=f"comma-separated, from {','.join(RUNTIME_NAMES)}")
    latency.add_argument("--latency-batch-sizes", type=_ints, default="1,8", help="comma-separated")
    latency.add_argument("--latency-seq-lens", type=_ints, default="64,128", help="comma-separated")
    latency.add_argument("--latency-iterations", type=int, default=20, help="minimum timed runs per cell")
    parser.add_argument("--compare", nargs="+", metavar="RESULTS_JSON",
                        help="evaluate nothing: combine results.json files into a table, a Pareto plot and a "
                        "transfer matrix")
    return parser


def _slug(name_or_path: str) -> str:
    name = Path(str(name_or_path).rstrip("/")).name or str(name_or_path)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "model"


def main(argv: Sequence[str] | None = None) -> int:
    """Run `evaluate.py` with `argv` (default: sys.argv); returns the exit status (2 for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = accept_both_spellings(build_parser())
    args = parser.parse_args(argv)
    if not args.compare and not (args.model and args.dataset):
        parser.error("--model and --dataset are required (or --compare RESULTS_JSON ...)")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("mbert_tiny_hub").setLevel(logging.INFO)  # ours, not every library's INFO chatter

    from .evaluation_data import EvaluationError  # heavy: after parsing, so --help answers at once

    try:
        if args.compare:
            return compare(args.compare, Path(args.output_dir or "outputs/evaluation/comparison"))
        return run(args, shlex.join(["python", "evaluate.py", *argv]))
    except EvaluationError as error:
        print(f"evaluate.py: error: {error}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, command: str) -> int:
    import torch  # heavy: after parsing, so --help answers at once
    from accelerate import PartialState  # heavy: after parsing, so --help answers at once

    from . import evaluation, evaluation_data, evaluation_tables  # heavy: after parsing, so --help answers at once
    from .latency import MBERT_BASE_NAME, add_ratios  # heavy: after parsing, so --help answers at once

    if args.threads:
        torch.set_num_threads(args.threads)
    state = PartialState()
    several = len(args.model) > 1
    root = Path(args.output_dir or Path("outputs", "evaluation", "comparison" if several else _slug(args.model[0])))

    if evaluation_data.model_task(args.model[0], args.revision) == "sequential-recommendation":
        if several:
            raise evaluation_data.EvaluationError("Evaluate one BERT4Rec checkpoint at a time.")
        results, table = _evaluate_recommender(args, command)
        if state.is_main_process:
            print(table)
            evaluation.write_results(results, root, make_plots=False)
            print(f"\nwrote {root / evaluation.RESULTS_FILE}")
        return 0

    source = f"Dataset {args.dataset}" + (f" (config {args.dataset_config})" if args.dataset_config else "")
    dataset_dict = evaluation_data.load_dataset_dict(args.dataset, args.dataset_config)
    split = evaluation_data.get_split(dataset_dict, args.split, source)
    baseline_split = None
    if args.baselines and state.is_main_process:
        if args.baseline_split in dataset_dict:
            baseline_split = dataset_dict[args.baseline_split]
        else:
            print(f"{source} has no {args.baseline_split!r} split to fit the baselines on: no baselines.",
                  file=sys.stderr)
    latency = None
    if args.latency:
        latency = {
            "runtimes": args.runtimes,
            "batch_sizes": args.latency_batch_sizes,
            "seq_lens": args.latency_seq_lens,
            "min_iterations": args.latency_iterations,
            "threads": args.threads,
        }

    all_results, fitted, reference_rows = [], None, None
    for name in args.model:
        if several and evaluation_data.model_task(name, args.revision) != "text-classification":
            raise evaluation_data.EvaluationError(f"{name} is not a text classifier; evaluate it on its own.")
        model, tokenizer = evaluation_data.load_classifier(name, args.revision, args.trust_remote_code)
        model.to(state.device)
        if fitted is None and baseline_split is not None:
            fitted = _fit_baselines(evaluation, args, model, name, split, baseline_split, source)
        options = None
        if latency is not None:
            # The mBERT-base shape is timed once per run, with the first model; later models reuse its rows.
            options = dict(latency, compare_to_mbert_base=reference_rows is None)
        threshold = args.threshold if args.threshold is not None else evaluation.model_threshold(model)
        if args.tune_threshold_on:
            if args.threshold is not None:
                raise evaluation_data.EvaluationError("Give --threshold or --tune-threshold-on, not both.")
            if args.tune_threshold_on == args.split:
                raise evaluation_data.EvaluationError(
                    f"--tune-threshold-on {args.tune_threshold_on} is the split being scored: tune on another one."
                )
            tuning = evaluation_data.get_split(dataset_dict, args.tune_threshold_on, source)
            threshold, tuned_f1 = evaluation.choose_threshold_on(
                model, tokenizer, tuning, args.label_column, text_column=args.text_column,
                batch_size=args.batch_size, max_length=args.max_length, device=state.device,
                source=f"{source}, split {args.tune_threshold_on}",
            )
            print(f"{name}: threshold {threshold:.2f} chosen on {args.tune_threshold_on} (macro-F1 {tuned_f1:.4f} there)")
        results = evaluation.evaluate_classifier(
            model, tokenizer, split, args.label_column,
            text_column=args.text_column, language_column=args.language_column,
            per_language=True if args.per_language else None, threshold=threshold, batch_size=args.batch_size,
            max_length=args.max_length, device=state.device, baselines=args.baselines, fitted_baselines=fitted,
            train_languages=args.train_languages, test_languages=args.test_languages, latency=options,
            model_name_or_path=name, model_revision=args.revision, dataset_name_or_path=args.dataset,
            dataset_config=args.dataset_config, split_name=args.split, command=command,
        )
        if state.is_main_process:
            if "latency" in results:
                if reference_rows is None:
                    reference_rows = [row for row in results["latency"] if row["model"] == MBERT_BASE_NAME]
                else:
                    results["latency"] = add_ratios(reference_rows + results["latency"])
            print(evaluation_tables.format_results(results) + "\n")
            written = evaluation.write_results(results, root / _slug(name) if several else root)
            print("wrote " + ", ".join(str(path) for path in written.values()) + "\n")
            all_results.append(results)
        del model
    if several and state.is_main_process:
        _write_comparison(all_results, root)
    return 0


def _fit_baselines(evaluation, args, model, name, split, baseline_split, source):
    """Fit the baselines once per run, after the first model's labels are known to match (a bad model fails fast)."""
    from .evaluation_data import align_labels, label_spec

    label_column, label_names, multi_label = label_spec(
        split.features, args.label_column, f"Split {args.split} of {source}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # evaluate_classifier warns about generic label names itself
        align_labels(model.config, label_names, multi_label, f"Model {name}")
    return evaluation.fit_split_baselines(
        baseline_split, label_column, label_names, multi_label,
        text_column=args.text_column, language_column=args.language_column,
        train_languages=args.train_languages, baselines=args.baselines,
        source=f"Split {args.baseline_split} of {source}",
    )


def _evaluate_recommender(args: argparse.Namespace, command: str) -> tuple[dict, str]:
    """BERT4Rec: load the sequences DatasetDict and hand it to `mbert_tiny_hub.recsys_results.evaluate_recommender`."""
    from . import recsys_results  # heavy: after parsing, so --help answers at once
    # heavy: after parsing, so --help answers at once
    from .evaluation_data import EvaluationError, load_dataset_dict

    if args.latency:
        raise EvaluationError(
            "--latency times text classifiers next to the mBERT-base shape; it does not apply to a recommender "
            "(BERT4Rec's training-step speed: benchmarks/bert4rec_training_speed.py)."
        )
    if args.baselines and args.baselines != list(BASELINE_NAMES):
        raise EvaluationError(
            f"--baselines {','.join(args.baselines)} names text-classification baselines; a recommender is always "
            "compared with most_popular and item_cooccurrence (or with none: --baselines none)."
        )
    dataset = load_dataset_dict(args.dataset, args.dataset_config or "sequences")
    try:
        results = recsys_results.evaluate_recommender(
            args.model[0], dataset, args.split, dataset_name_or_path=args.dataset, command=command,
            baselines=recsys_results.RECOMMENDER_BASELINES if args.baselines else (),
        )
    except ValueError as error:  # the recommender's bad-input errors name the split, row and column
        raise EvaluationError(str(error)) from None
    return results, recsys_results.format_results_table(results)


def _write_comparison(results_list: Sequence[dict], output_dir: Path) -> None:
    """Print the models side by side; write comparison.json, pareto.png and transfer_matrix.png when they apply."""
    from . import plots  # heavy (matplotlib): after parsing, so --help answers at once
    # heavy: after parsing, so --help answers at once
    from .evaluation_tables import markdown_table, pareto_note, pareto_points, short_name, transfer_matrix

    rows = []
    for results in results_list:
        if results.get("task") == "text-classification":
            report = results["results"]["model"]
            rows.append([short_name(results["model"]["name_or_path"]), results["model"]["parameters"]["total"],
                         report["accuracy"], report["macro_f1"]])
    print(markdown_table(["model", "parameters", "accuracy", "macro F1"], rows))
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".comparison.tmp-", dir=output_dir))
    try:
        summary = {"models": [results["model"]["name_or_path"] for results in results_list]}
        points = pareto_points(results_list)
        if len(points) >= 2:
            plots.plot_pareto(points, staging / "pareto.png", note=pareto_note(points))
            summary["pareto"] = points
        if any(results.get("transfer") for results in results_list):
            matrix = transfer_matrix(results_list)
            plots.plot_transfer_matrix(matrix, staging / "transfer_matrix.png")
            summary["transfer_matrix"] = matrix
            print("\n### Cross-lingual transfer, macro F1\n" + markdown_table(
                ["trained on", *matrix["columns"], "zero-shot mean"],
                [[row, *values, mean] for row, values, mean in zip(matrix["rows"], matrix["values"],
                                                                   matrix["zero_shot_mean"])],
            ))
        (staging / "comparison.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        for path in sorted(staging.iterdir()):
            path.replace(output_dir / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"\nwrote {output_dir}")


def compare(paths: Sequence[str], output_dir: Path) -> int:
    """`--compare`: read results.json files from earlier runs and write the comparison of `_write_comparison`."""
    from . import evaluation_tables  # heavy: after parsing, so --help answers at once
    from .evaluation_data import EvaluationError

    results_list = []
    for path in paths:
        try:
            results_list.append(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as error:
            raise EvaluationError(f"{path}: cannot read a results JSON ({error}).") from None
        if "results" not in results_list[-1] or "model" not in results_list[-1]:
            raise EvaluationError(f"{path}: not an evaluate.py results JSON (no 'model' / 'results').")
    for results in results_list:  # each classifier's own report first: per language, per class, transfer
        if "per_class" in results["results"]["model"]:
            print(evaluation_tables.format_results(results) + "\n")
    _write_comparison(results_list, output_dir)
    return 0
