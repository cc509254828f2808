"""results.json has one producer: train.py and evaluate.py write the same keys and the same numbers for the same model
and data; the shared helpers (sizes in MB, atomic writes) behave as documented."""

from __future__ import annotations

import json
import math

import pytest

from test_training_support import (  # noqa: F401 - single_thread is a fixture
    make_classification_dataset,
    make_tokenizer,
    read_results,
    single_thread,
    tiny_classification_config,
    write_config,
)

pytestmark = pytest.mark.usefixtures("single_thread")

# What legitimately differs between the two files: when and how each was made, and what only training knows.
PRODUCER_KEYS = {"created", "command", "training"}


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        items = {}
        for key, inner in value.items():
            items.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return items
    return {prefix: value}


def _assert_same(left, right, where=""):
    if isinstance(left, float) or isinstance(right, float):
        assert left is not None and right is not None and math.isclose(left, right, abs_tol=1e-6), where
    elif isinstance(left, list) and isinstance(right, list):
        assert len(left) == len(right), where
        for index, (a, b) in enumerate(zip(left, right)):
            _assert_same(a, b, f"{where}[{index}]")
    else:
        assert left == right, where


def test_train_and_evaluate_write_the_same_results_for_the_same_model_and_data(tmp_path):
    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.evaluation_cli import main as evaluate_main
    from mbert_tiny_hub.results import SCHEMA_VERSION
    from mbert_tiny_hub.training import RunOptions, run_experiment

    dataset = make_classification_dataset(tmp_path / "dataset")
    tokenizer = make_tokenizer(tmp_path / "tokenizer")
    config = tiny_classification_config(dataset, tokenizer, tmp_path / "run", num_train_epochs=1)
    run_experiment(load_config(write_config(tmp_path / "config.yaml", config)), RunOptions())
    from_training = read_results(tmp_path / "run")

    status = evaluate_main([
        "--model", str(tmp_path / "run"), "--dataset", str(dataset), "--split", "test",
        "--batch-size", "16", "--output-dir", str(tmp_path / "evaluation"),
    ])
    assert status == 0
    from_evaluation = json.loads((tmp_path / "evaluation" / "results.json").read_text(encoding="utf-8"))

    assert from_training["schema_version"] == from_evaluation["schema_version"] == SCHEMA_VERSION
    assert "training" in from_training
    trained = {k: v for k, v in from_training.items() if k not in PRODUCER_KEYS}
    evaluated = {k: v for k, v in from_evaluation.items() if k not in PRODUCER_KEYS}
    # The model's name and in-memory class are the producer's: train.py holds the project's class, evaluate.py the
    # stock class the saved folder loads as (the same weights).
    for block in (trained["model"], evaluated["model"]):
        block.pop("name_or_path"), block.pop("class")
    flat_trained, flat_evaluated = _flatten(trained), _flatten(evaluated)
    assert sorted(flat_trained) == sorted(flat_evaluated)
    for key in flat_trained:
        _assert_same(flat_trained[key], flat_evaluated[key], key)
    assert from_training["results"]["baselines"]  # the comparison covered the baselines too
    assert from_training["model"]["size_on_disk_mb"] > 0


def test_sizes_are_megabytes_of_ten_to_the_sixth_bytes(tmp_path):
    from mbert_tiny_hub.results import weights_size_mb

    (tmp_path / "model.safetensors").write_bytes(b"\0" * 2_500_000)
    (tmp_path / "notes.txt").write_bytes(b"\0" * 1_000_000)  # not a weight file
    assert weights_size_mb(tmp_path) == 2.5
    assert weights_size_mb(tmp_path / "missing") is None


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    from mbert_tiny_hub.results import atomic_write, write_json

    path = tmp_path / "results.json"
    write_json(path, {"schema_version": 1})
    with pytest.raises(RuntimeError), atomic_write(path) as temporary:
        temporary.write_text("{half", encoding="utf-8")
        raise RuntimeError("interrupted")
    assert json.loads(path.read_text(encoding="utf-8")) == {"schema_version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no temporary left behind


def test_atomic_write_replaces_a_whole_folder(tmp_path):
    from mbert_tiny_hub.results import atomic_write

    folder = tmp_path / "merged"
    folder.mkdir()
    (folder / "stale.bin").write_text("old")
    with atomic_write(folder, directory=True) as temporary:
        (temporary / "model.safetensors").write_text("new")
    assert sorted(p.name for p in folder.iterdir()) == ["model.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]


def test_evaluating_before_saving_leaves_the_tokenizers_truncation_as_it_was(tmp_path):
    """train.py evaluates with the tokenizer it then saves: tokenizer.json must not come out with truncation on."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from mbert_tiny_hub.evaluation import predict_logits

    tokenizer = AutoTokenizer.from_pretrained(make_tokenizer(tmp_path / "tokenizer"))
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=3)
    assert tokenizer.backend_tokenizer.truncation is None
    logits = predict_logits(BertForSequenceClassification(config), tokenizer, ["happy day", "miedo en casa"], 8, 8)
    assert logits.shape == (2, 3)
    assert tokenizer.backend_tokenizer.truncation is None
