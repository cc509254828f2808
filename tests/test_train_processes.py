"""train.py as users run it, in real subprocesses: a killed run resumed with --resume ends where an uninterrupted run
ends, and two processes under `accelerate launch` train together (DDP over gloo on the CPU), gather metrics over
the whole test set and write the output folder once.

accelerate's CPU launcher (`accelerate launch --cpu --num_processes 2`) starts its processes through MPI: it needs
`--mpirun_hostfile` (a file saying `localhost slots=2`) and Open MPI's `mpirun`; without them it starts one process.
`accelerate launch --multi_gpu --num_processes 2` (torchrun) also works on a machine without GPUs: train.py puts
its processes on the CPU. Both launchers are tested."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from test_training_support import (  # noqa: F401 - single_thread is a fixture
    make_classification_dataset,
    make_tokenizer,
    read_results,
    single_thread,
    tiny_classification_config,
    write_config,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

KILL_AFTER_FIRST_CHECKPOINT = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from transformers import TrainerCallback
from mbert_tiny_hub.config import load_config
from mbert_tiny_hub.training import RunOptions, run_experiment

class KillAfterFirstCheckpoint(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        print(f"killing the run after checkpoint-{{state.global_step}}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

run_experiment(load_config(sys.argv[1]), RunOptions(callbacks=[KillAfterFirstCheckpoint()]))
"""


def _run(command: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    # One thread per process, as in the in-process reference run (see single_thread): no oversubscription.
    # Open MPI refuses to start as root (CI containers) unless told this is intended.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory, single_thread):  # noqa: F811 - the fixture
    root = tmp_path_factory.mktemp("process-fixtures")
    # An odd-sized test split: two processes get uneven shards, and the padding must not be counted.
    return {
        "tokenizer": make_tokenizer(root / "tokenizer"),
        "dataset": make_classification_dataset(root / "dataset", sizes=(96, 24, 31)),
    }


@pytest.mark.slow
def test_a_run_killed_after_its_first_checkpoint_resumes_to_the_same_final_weights(fixtures, tmp_path):
    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    def config_for(output_dir: Path) -> Path:
        config = tiny_classification_config(
            fixtures["dataset"],
            fixtures["tokenizer"],
            output_dir,
            num_train_epochs=2,
            save_strategy="steps",
            save_steps=4,
            eval_strategy="no",
        )
        config["model"]["config_overrides"]["hidden_dropout_prob"] = 0.2  # resuming must restore the RNG too
        return write_config(tmp_path / f"{output_dir.name}.yaml", config)

    reference_dir, resumed_dir = tmp_path / "uninterrupted", tmp_path / "killed"
    run_experiment(load_config(config_for(reference_dir)), RunOptions())

    driver = tmp_path / "kill_after_first_checkpoint.py"
    driver.write_text(KILL_AFTER_FIRST_CHECKPOINT.format(repo=str(REPO_ROOT)))
    killed = _run([sys.executable, str(driver), str(config_for(resumed_dir))])
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert "killing the run after checkpoint-4" in killed.stdout
    assert sorted(p.name for p in resumed_dir.glob("checkpoint-*")) == ["checkpoint-4"]
    assert not (resumed_dir / "model.safetensors").exists()

    resumed = _run([sys.executable, "train.py", "--config", str(tmp_path / "killed.yaml"), "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "checkpoint-4" in resumed.stderr  # the Trainer says where it continues from

    reference, final = load_file(reference_dir / "model.safetensors"), load_file(resumed_dir / "model.safetensors")
    assert reference.keys() == final.keys()
    for name in reference:
        torch.testing.assert_close(final[name], reference[name], atol=1e-5, rtol=1e-4, msg=f"{name} differs")
    assert (
        read_results(resumed_dir)["training"]["global_steps"]
        == read_results(reference_dir)["training"]["global_steps"]
        == 12
    )
    assert (
        read_results(resumed_dir)["results"]["model"]["accuracy"]
        == read_results(reference_dir)["results"]["model"]["accuracy"]
    )


@pytest.mark.slow
def _launcher_flags(launcher: str, tmp_path: Path) -> list[str]:
    if launcher == "multi_gpu":
        return ["--multi_gpu", "--num_processes", "2"]
    if shutil.which("mpirun") is None:
        if os.environ.get("CI"):
            pytest.fail("Open MPI's mpirun is missing: `make test` installs it (apt-get install openmpi-bin).")
        pytest.skip("accelerate's CPU launcher needs Open MPI's mpirun (apt-get install openmpi-bin)")
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("localhost slots=2\n")
    return ["--cpu", "--num_processes", "2", "--mpirun_hostfile", str(hostfile)]


@pytest.mark.parametrize("launcher", ["cpu", "multi_gpu"])
def test_accelerate_launch_with_two_cpu_processes_trains_and_reports_on_the_whole_test_set_once(
    fixtures, tmp_path, launcher
):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from data_scripts import load_built_dataset

    output_dir = tmp_path / "ddp"
    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], output_dir, num_train_epochs=6)
    config["early_stopping"] = {"patience": None}
    config = write_config(tmp_path / "ddp.yaml", config)
    assert not torch.cuda.is_available(), "this test is about CPU processes"
    completed = _run(
        [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            *_launcher_flags(launcher, tmp_path),
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "train.py",
            "--config",
            str(config),
        ]
    )
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, log[-4000:]
    assert log.count("Wrote the model, tokenizer, train_config.yaml, training_args.json and results.json") == 1
    # Only the main process logs at INFO, as accelerate decides it (mpirun sets no RANK for train.py to read).
    assert log.count("Class weights (inverse)") == 1, log[-4000:]
    assert not list(output_dir.glob(".staging*"))

    results = read_results(output_dir)
    assert results["environment"]["num_processes"] == 2
    assert results["training"]["global_steps"] == 6 * 3  # 96 examples / (2 processes x 16) per step, 6 epochs
    assert results["dataset"]["num_examples"] == results["results"]["model"]["num_examples"] == 31
    assert sum(v["num_examples"] for v in results["results"]["model"]["per_language"].values()) == 31

    # The gathered predictions are the saved model's predictions, row for row (order and languages line up).
    test = load_built_dataset(str(fixtures["dataset"]), "all", split="test")
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    model = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    with torch.no_grad():
        encoded = tokenizer(list(test["text"]), return_tensors="pt", padding=True, truncation=True, max_length=16)
        predictions = model(**encoded).logits.argmax(-1).numpy()
    labels, languages = np.array(test["label"]), np.array(test["language"])
    assert results["results"]["model"]["accuracy"] == pytest.approx(float((predictions == labels).mean()))
    for language, scores in results["results"]["model"]["per_language"].items():
        rows = languages == language
        assert scores["accuracy"] == pytest.approx(float((predictions[rows] == labels[rows]).mean()))
