"""task: mlm — masked-language-model pretraining of mBERT-Tiny on raw text files and dataset folders, from scratch
or distilled from a masked-LM teacher; the held-out MLM loss falls."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from test_training_support import (  # noqa: F401 - single_thread is a fixture
    corpus_texts,
    make_classification_dataset,
    make_tokenizer,
    single_thread,
    write_config,
)

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, single_thread):  # noqa: F811 - the fixture
    """Raw text in the shapes the local corpora have: CSV files whose other columns differ, a TSV without a header,
    a plain text file, and a dataset folder written by data_scripts."""
    root = tmp_path_factory.mktemp("mlm-corpus")
    texts = corpus_texts(seed=11, per_cell=40)
    (root / "raw").mkdir()
    with open(root / "raw" / "eng.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "anger", "joy"])
        writer.writerows([[i, t, 0, 1] for i, t in enumerate(texts[:100])])
    with open(root / "raw" / "spa.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "fear"])
        writer.writerows([[i, t, 1] for i, t in enumerate(texts[100:160])])
    (root / "subtitles.tsv").write_text("".join(f"{t}\t1, 2\n" for t in texts[160:200]), encoding="utf-8")
    (root / "lines.txt").write_text("\n".join(texts[200:]) + "\n", encoding="utf-8")
    return {
        "root": root,
        "tokenizer": make_tokenizer(root / "tokenizer", texts),
        "dataset": make_classification_dataset(root / "dataset"),
        "num_texts": len(texts),
    }


def corpus_entries(corpus: dict) -> list[dict]:
    root = corpus["root"]
    return [
        {"path": str(root / "raw" / "*.csv"), "text_column": "text"},
        {
            "path": str(root / "subtitles.tsv"),
            "text_column": "sentence",
            "load_kwargs": {"column_names": ["sentence", "labels"]},
        },
        {"path": str(root / "lines.txt")},
        {"dataset": str(corpus["dataset"]), "config_name": "all", "split": "train", "text_column": "text"},
    ]


def mlm_config(corpus: dict, output_dir: Path, **training) -> dict:
    return {
        "task": "mlm",
        "model": {
            "preset": "tiny2",
            "tokenizer": str(corpus["tokenizer"]),
            "max_length": 16,
            "config_overrides": {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64},
        },
        "data": {"corpus": corpus_entries(corpus)},
        "mlm": {"validation_size": 0.1},
        "training": {
            "output_dir": str(output_dir),
            "num_train_epochs": 3,
            "per_device_train_batch_size": 16,
            "learning_rate": 3e-3,
            "eval_strategy": "steps",
            "eval_steps": 20,
            "save_steps": 20,
            "eval_on_start": True,
            "logging_steps": 10,
            "disable_tqdm": True,
            "seed": 2,
            **training,
        },
    }


def run(config_dict: dict, tmp_path: Path):
    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    return run_experiment(load_config(write_config(tmp_path / "mlm.yaml", config_dict)), RunOptions())


def test_the_corpus_reads_csv_tsv_text_files_and_dataset_folders(corpus):
    from mbert_tiny_hub.config import config_from_dict
    from mbert_tiny_hub.training import load_corpus

    texts = load_corpus(config_from_dict({"task": "mlm", "data": {"corpus": corpus_entries(corpus)}}))
    assert texts.column_names == ["text"]
    assert len(texts) == corpus["num_texts"] + 96  # every raw text + the dataset folder's train split
    assert all(isinstance(t, str) and t.strip() for t in texts["text"])


def test_blocks_are_full_length_and_mark_the_special_tokens(corpus):
    from datasets import Dataset
    from transformers import AutoTokenizer

    from mbert_tiny_hub.training.mlm import group_into_blocks

    tokenizer = AutoTokenizer.from_pretrained(corpus["tokenizer"])
    texts = corpus_texts(seed=1, per_cell=5)
    blocks = group_into_blocks(Dataset.from_dict({"text": texts}), tokenizer, block_size=16)
    stream = [token for text in texts for token in tokenizer(text)["input_ids"]]
    assert len(blocks) == len(stream) // 16
    assert [t for b in blocks["input_ids"] for t in b] == stream[: len(blocks) * 16]
    for ids, mask in zip(blocks["input_ids"], blocks["special_tokens_mask"]):
        assert len(ids) == 16
        assert mask == [int(t in (tokenizer.cls_token_id, tokenizer.sep_token_id)) for t in ids]


def test_mlm_pretraining_from_scratch_lowers_the_held_out_loss_and_writes_a_masked_lm(corpus, tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    output_dir = tmp_path / "mlm"
    results = run(mlm_config(corpus, output_dir), tmp_path)
    scores = results["results"]["model"]
    assert results["task"] == "fill-mask"
    assert scores["eval_loss"] < scores["first_eval_loss"] - 0.5, scores
    losses = [entry["eval_loss"] for entry in results["training"]["log_history"] if "eval_loss" in entry]
    assert len(losses) >= 3 and losses[-1] < losses[0]

    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert len(tokenizer) < 200  # pruned to the corpus
    from modeling.mbert_tiny import MBertTinyForMaskedLM

    stock = AutoModelForMaskedLM.from_pretrained(output_dir)
    tiny = MBertTinyForMaskedLM.from_pretrained(output_dir)
    assert type(stock).__name__ == "BertForMaskedLM"
    batch = tokenizer(["the day was [MASK] at home"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(
            stock.eval()(**batch).logits, tiny.eval()(**batch, return_all_logits=True).logits, atol=1e-4, rtol=1e-4
        )
    config = json.loads((output_dir / "config.json").read_text())
    assert config["architectures"] == ["BertForMaskedLM"] and "auto_map" not in config  # a plain checkpoint
    assert json.loads((output_dir / "tokenizer_config.json").read_text())["tokenizer_class"] == "BertTokenizer"


def test_mlm_distillation_from_a_masked_lm_teacher_trains_a_derived_student(corpus, tmp_path):
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    tokenizer = AutoTokenizer.from_pretrained(corpus["tokenizer"])
    torch.manual_seed(0)
    teacher = BertForMaskedLM(
        BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=128,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=512,
        )
    )
    teacher.save_pretrained(tmp_path / "teacher")
    tokenizer.save_pretrained(tmp_path / "teacher")
    config = mlm_config(corpus, tmp_path / "student", num_train_epochs=1, eval_on_start=False)
    config["model"] = {
        "preset": "tiny2",
        "max_length": 16,
        "config_overrides": {"hidden_size": 64, "num_attention_heads": 1, "intermediate_size": 128},
    }
    config["distillation"] = {
        "teacher": str(tmp_path / "teacher"),
        "alpha": 0.5,
        "temperature": 2.0,
        "hidden_weight": 1.0,
    }
    results = run(config, tmp_path)
    assert torch.isfinite(torch.tensor(results["results"]["model"]["eval_loss"]))
    saved = json.loads((tmp_path / "student" / "config.json").read_text())
    assert saved["teacher_name_or_path"] is None and saved["hidden_size"] == 64  # a local path is never saved
    assert not any("distillation_projection" in k for k in load_file(tmp_path / "student" / "model.safetensors"))


def test_a_corpus_path_that_matches_nothing_is_a_clear_error(corpus, tmp_path):
    from mbert_tiny_hub.config import ConfigError

    config = mlm_config(corpus, tmp_path / "mlm")
    config["data"]["corpus"] = [{"path": str(tmp_path / "nowhere" / "*.csv")}]
    with pytest.raises(ConfigError, match=r"data\.corpus\[0\]: path '.*nowhere/\*\.csv' matches no files"):
        run(config, tmp_path)
    assert not (tmp_path / "mlm").exists()
