"""benchmarks/recsys_time_to_quality.py reads finished runs' results.json: the first validation at the target, its
seconds (recorded, or estimated from epochs and marked), and the speed-ups against the first run."""

import importlib.util
import json
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "recsys_time_to_quality", Path(__file__).resolve().parents[1] / "benchmarks" / "recsys_time_to_quality.py"
)
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)


def results(architecture, validations, elapsed, runtime, test_ndcg):
    training = {"validation_ndcg@10": validations, "train_runtime_s": runtime, "epochs": validations[-1][0],
                "threads": 1, "best_validation_ndcg@10": max(v for _, v in validations)}
    if elapsed is not None:
        training["validation_elapsed_s"] = elapsed
    return {"model": {"architecture": architecture}, "training": training,
            "results": {"model": {"full": {"ndcg@10": test_ndcg}}}}


OLD = results("bert4rec", [[1, 0.05], [2, 0.159], [3, 0.16]], [100.0, 200.0, 300.0], 310.0, 0.158)
NEW = results("sasrec_plus", [[1, 0.12], [2, 0.17]], [40.0, 80.0], 85.0, 0.165)


def test_time_to_target_is_the_first_validation_at_or_above_it():
    assert bench.time_to_target(OLD, 0.158) == {"epoch": 2, "ndcg": 0.159, "seconds": 200.0, "estimated": False}
    assert bench.time_to_target(NEW, 0.5)["seconds"] is None


def test_runs_without_recorded_seconds_are_estimated_from_epochs():
    old = results("bert4rec", [[1, 0.05], [2, 0.159], [4, 0.16]], None, 400.0, 0.158)
    assert bench.time_to_target(old, 0.158) == {"epoch": 2, "ndcg": 0.159, "seconds": 200.0, "estimated": True}


def test_speedups_are_against_the_first_run_and_the_table_prints(tmp_path, capsys):
    table = bench.rows([("old", OLD), ("new", NEW)], 0.158)
    assert table[0]["speedup_to_target"] == 1.0
    assert table[1]["speedup_to_target"] == 200.0 / 80.0
    assert table[1]["speedup_runtime_vs_to_target"] == 310.0 / 80.0
    for name, run in (("old", OLD), ("new", NEW)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(run))
    assert bench.main([str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    printed = capsys.readouterr().out
    assert "| new | SASRec+ | 1 | - | 2 | 85.0 | 0.1700 (2, 80.0) |" in printed and "| 2.50x | 3.88x |" in printed


def test_the_validation_seconds_come_from_the_latest_checkpoint(tmp_path):
    for step, runtimes in ((9, [1.0]), (10, [4.0, 5.0, 9.0])):
        (tmp_path / f"checkpoint-{step}").mkdir()
        history = [{"eval_runtime": value} for value in runtimes] + [{"loss": 1.0}]
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    assert bench.validation_seconds(tmp_path) == 5.0
    (tmp_path / "no_checkpoints").mkdir()
    assert bench.validation_seconds(tmp_path / "no_checkpoints") is None
