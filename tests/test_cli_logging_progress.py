"""Feedback on long work and one command-line style: both flag spellings, the Trainer's per-process log level,
huggingface_hub's tqdm on long loops, optional TensorBoard logs that travel with the run."""

from __future__ import annotations

import logging

import pytest

from test_training_support import (  # noqa: F401 - single_thread is a fixture
    make_classification_dataset,
    make_tokenizer,
    single_thread,
    tiny_classification_config,
    write_config,
)


def test_every_command_line_takes_the_underscore_and_the_hyphen_spelling(tmp_path, repo_root):
    import importlib.util

    from mbert_tiny_hub.evaluation_cli import build_parser as evaluate_parser
    from mbert_tiny_hub.cli import accept_both_spellings
    from mbert_tiny_hub.publish import build_parser as publish_parser

    spec = importlib.util.spec_from_file_location("train_script", repo_root / "train.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    for flag in ("--output_dir", "--output-dir"):
        assert train.parse_args(["--config", "c.yaml", flag, "out"]).output_dir == "out"
        assert accept_both_spellings(evaluate_parser()).parse_args([flag, "out"]).output_dir == "out"
    for flag in ("--push_to_hub", "--push-to-hub"):
        assert train.parse_args(["--config", "c.yaml", flag, "--hub-model-id", "org/x"]).push_to_hub is True
    publish = accept_both_spellings(publish_parser())
    for flag in ("--dry_run", "--dry-run"):
        assert publish.parse_args(["model", str(tmp_path), "org/x", flag]).dry_run is True


def test_the_trainers_per_process_log_level_applies_to_the_projects_loggers(tmp_path):
    from transformers import TrainingArguments

    from mbert_tiny_hub.training.arguments import set_process_log_level

    project = logging.getLogger("mbert_tiny_hub")
    before = project.level
    try:
        set_process_log_level(TrainingArguments(output_dir=str(tmp_path), report_to="none"))  # passive
        assert project.level == before
        set_process_log_level(TrainingArguments(output_dir=str(tmp_path), report_to="none", log_level="error"))
        assert project.level == logging.ERROR
    finally:
        project.setLevel(before)
        import transformers

        transformers.utils.logging.set_verbosity_warning()


def test_prediction_over_a_split_shows_huggingface_hubs_progress_bar(tmp_path, capsys, monkeypatch):
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from mbert_tiny_hub.evaluation import predict_logits

    tokenizer = AutoTokenizer.from_pretrained(make_tokenizer(tmp_path / "tok"))
    model = BertForSequenceClassification(
        BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                   intermediate_size=32, num_labels=2)
    )
    enable_progress_bars()
    predict_logits(model, tokenizer, ["happy day"] * 10, batch_size=4)
    assert "Predicting" in capsys.readouterr().err
    disable_progress_bars()  # what HF_HUB_DISABLE_PROGRESS_BARS=1 does
    try:
        predict_logits(model, tokenizer, ["happy day"] * 10, batch_size=4)
        assert "Predicting" not in capsys.readouterr().err
    finally:
        enable_progress_bars()


@pytest.mark.usefixtures("single_thread")
def test_tensorboard_logs_are_written_into_the_run_and_published_with_it(tmp_path):
    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.hub import publishable_files
    from mbert_tiny_hub.training import RunOptions, run_experiment

    output_dir = tmp_path / "run"
    config = tiny_classification_config(
        make_classification_dataset(tmp_path / "data"), make_tokenizer(tmp_path / "tok"), output_dir,
        num_train_epochs=1, report_to="tensorboard",
    )
    run_experiment(load_config(write_config(tmp_path / "c.yaml", config)), RunOptions())
    events = [name for name in publishable_files(output_dir) if "events.out.tfevents" in name]
    assert events, sorted(publishable_files(output_dir))


@pytest.mark.usefixtures("single_thread")
def test_trackio_logs_are_written_into_the_run_and_published_with_it(tmp_path, repo_root):
    import os
    import subprocess
    import sys

    # A fresh process: trackio reads where it writes when it is first imported.
    output_dir = tmp_path / "run"
    config = tiny_classification_config(
        make_classification_dataset(tmp_path / "data"), make_tokenizer(tmp_path / "tok"), output_dir,
        num_train_epochs=1, report_to="trackio",
    )
    env = {key: value for key, value in os.environ.items() if key != "TRACKIO_DIR"}
    result = subprocess.run(
        [sys.executable, "train.py", "--config", str(write_config(tmp_path / "c.yaml", config))],
        cwd=repo_root, capture_output=True, text=True, timeout=600, env={**env, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from mbert_tiny_hub.hub import publishable_files

    assert any(name.startswith("trackio/") and name.endswith(".db") for name in publishable_files(output_dir))
