"""train.py on the Hub through the Trainer's own integration (loopback Hub): checkpoints pushed every save with
`last-checkpoint`, a killed run resumed from the Hub on a fresh machine, and the project's checks in front."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from huggingface_hub import constants

from hub_server import HubServer
from test_training_support import (
    make_classification_dataset,
    make_tokenizer,
    tiny_classification_config,
    write_config,
)

REPO = "org/tiny-hub-run"


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with HubServer() as server:
        yield server


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub-train-data")
    return {"tokenizer": make_tokenizer(root / "tokenizer"), "dataset": make_classification_dataset(root / "dataset")}


def _env(hub, tmp_path, token="default"):
    env = hub.client_env(token=token, base={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    env.update(HF_HOME=str(tmp_path / "hf-home"), OMP_NUM_THREADS="1")
    return env


def _config(data, tmp_path, output_dir, epochs):
    config = tiny_classification_config(data["dataset"], data["tokenizer"], output_dir, num_train_epochs=epochs)
    config["early_stopping"] = {"patience": None}
    config["data"]["baselines"] = []
    return write_config(tmp_path / f"config-{output_dir.name}.yaml", config)


def _hub_step(hub) -> int:
    try:
        state = hub.files(REPO).get("last-checkpoint/trainer_state.json")
    except KeyError:
        return 0
    return json.loads(state)["global_step"] if state else 0


def test_a_killed_run_resumes_from_the_hubs_last_checkpoint_on_a_fresh_machine(hub, data, tmp_path, repo_root):
    epochs, steps_per_epoch = 120, 6  # 96 training rows, batch 16; long enough that the kill always comes mid-run
    first = tmp_path / "first-machine"
    command = [sys.executable, "train.py", "--config", str(_config(data, tmp_path, first, epochs)),
               "--push_to_hub", "--hub_model_id", REPO, "--hub_strategy", "checkpoint"]
    # The run's output goes to a file, not a pipe nobody reads while it runs: a full pipe (64 KiB, about 90 epochs of
    # logs) would block the run and its push thread, and the Hub would never see the second checkpoint.
    log = tmp_path / "first-machine.log"
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=repo_root, env=_env(hub, tmp_path), stdout=sink,
                                   stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 300
        while process.poll() is None and _hub_step(hub) < 2 * steps_per_epoch and time.time() < deadline:
            time.sleep(0.05)
        process.kill()  # the machine goes away mid-run
        process.wait()
    output = log.read_text()
    pushed_step = _hub_step(hub)
    assert process.returncode != 0, f"the run finished before it could be killed:\n{output[-3000:]}"
    assert 2 * steps_per_epoch <= pushed_step < epochs * steps_per_epoch, output[-3000:]
    files = hub.files(REPO)
    assert {"config.json", "model.safetensors", "tokenizer.json", "last-checkpoint/optimizer.pt"} <= set(files)
    assert any(commit.title.startswith("Training in progress") for commit in hub.commits(REPO))

    # A fresh machine: nothing local but the config; --resume finds the checkpoint on the Hub.
    fresh = tmp_path / "second-machine"
    resumed = subprocess.run(
        [sys.executable, "train.py", "--config", str(_config(data, tmp_path, fresh, epochs)), "--resume",
         "--push_to_hub", "--hub_model_id", REPO, "--hub_strategy", "checkpoint"],
        cwd=repo_root, env=_env(hub, tmp_path), capture_output=True, text=True, timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert f"Downloaded the Hub's last-checkpoint of {REPO} (step {pushed_step})" in resumed.stderr
    results = json.loads((fresh / "results.json").read_text())
    assert results["training"]["global_steps"] == epochs * steps_per_epoch
    logged_steps = [entry["step"] for entry in results["training"]["log_history"] if "eval_loss" in entry]
    assert logged_steps[0] == steps_per_epoch  # the history before the kill came back with the checkpoint
    assert results["model"]["name_or_path"] == REPO
    final = hub.files(REPO)
    readme = final["README.md"].decode()
    assert f'model="{REPO}"' in readme and "results.json" in final
    assert not any(name.startswith("checkpoint-") for name in final)
    assert b"hf_" not in final["train_config.yaml"]  # the token never travels with the run


def test_every_saved_checkpoint_reaches_the_hub_though_older_ones_are_rotated_away(hub, data, tmp_path, repo_root):
    """transformers uploads a checkpoint in the background and rotates checkpoints (save_total_limit 2) right after;
    once the best checkpoint stops changing (this task reaches macro-F1 1.0 within a few epochs) the newest one is
    rotated away, and without waiting for its upload `last-checkpoint` on the Hub stopped at an early step."""
    epochs, steps_per_epoch = 30, 6
    result = subprocess.run(
        [sys.executable, "train.py", "--config", str(_config(data, tmp_path, tmp_path / "run", epochs)),
         "--push_to_hub", "--hub_model_id", REPO, "--hub_strategy", "checkpoint"],
        cwd=repo_root, env=_env(hub, tmp_path), capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    pushed = []
    for commit in reversed(hub.commits(REPO)):
        if commit.title.endswith(", checkpoint"):
            state = hub.blobs[commit.files["last-checkpoint/trainer_state.json"]]
            pushed.append(json.loads(state)["global_step"])
    assert pushed == [steps_per_epoch * (epoch + 1) for epoch in range(epochs)]


def test_pushing_needs_a_token_and_is_refused_before_training(hub, data, tmp_path, repo_root):
    output_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "train.py", "--config", str(_config(data, tmp_path, output_dir, 1)),
         "--push_to_hub", REPO],
        cwd=repo_root, env=_env(hub, tmp_path, token=None), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2 and "token" in result.stderr.lower()
    assert not output_dir.exists() and ("model", REPO) not in hub.repos


def test_a_recommender_on_data_that_may_not_be_redistributed_never_pushes_checkpoints_publicly(
    hub, tmp_path, repo_root
):
    # Its checkpoints carry the item vocabulary (titles copied from the data): refused before anything loads.
    dataset = tmp_path / "movielens-like"
    dataset.mkdir()
    (dataset / "README.md").write_text("---\nlicense: other\nlicense_name: research-only\nredistributable: false\n---\n")
    config = {"task": "bert4rec", "data": {"dataset": str(dataset)}, "training": {"output_dir": str(tmp_path / "run")}}
    result = subprocess.run(
        [sys.executable, "train.py", "--config", str(write_config(tmp_path / "c.yaml", config)),
         "--push_to_hub", "--hub_model_id", REPO, "--hub_strategy", "checkpoint"],
        cwd=repo_root, env=_env(hub, tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2 and "may not be redistributed" in result.stderr
    assert not (tmp_path / "run").exists() and ("model", REPO) not in hub.repos


@pytest.mark.slow
def test_two_processes_resume_from_the_hub_with_one_download(hub, data, tmp_path, repo_root):
    """torchrun (accelerate launch --multi_gpu on a CPU machine): the main process downloads last-checkpoint, the
    other waits for it, and both resume from it."""
    import torch

    assert not torch.cuda.is_available(), "this test is about CPU processes"
    first = tmp_path / "one-process"
    done = subprocess.run(
        [sys.executable, "train.py", "--config", str(_config(data, tmp_path, first, 1)), "--push_to_hub", REPO,
         "--hub_strategy", "checkpoint"],
        cwd=repo_root, env=_env(hub, tmp_path), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    pushed_step = _hub_step(hub)
    assert pushed_step > 0
    fresh = tmp_path / "two-processes"
    resumed = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "train.py", "--config", str(_config(data, tmp_path, fresh, 3)), "--resume", "--push_to_hub", REPO,
         "--hub_strategy", "checkpoint"],
        cwd=repo_root, env=_env(hub, tmp_path), capture_output=True, text=True, timeout=600,
    )
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-4000:]
    assert log.count(f"Downloaded the Hub's last-checkpoint of {REPO} (step {pushed_step})") == 1
    results = json.loads((fresh / "results.json").read_text())
    assert results["training"]["global_steps"] > pushed_step
