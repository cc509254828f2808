"""task: lora — a peft LoRA adapter on any BERT-like classifier: adapter-only output, trainable share reported,
reload with peft, merge for deployment, and a clear error for target modules the model does not have."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from test_training_support import (  # noqa: F401 - single_thread is a fixture
    LABELS,
    make_classification_dataset,
    make_tokenizer,
    read_results,
    single_thread,
    write_config,
)

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def stock_bert_base(tmp_path_factory, single_thread):  # noqa: F811 - the fixture
    """A small stock transformers BertForSequenceClassification with the fixture tokenizer: 'any BERT-like model'."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    root = tmp_path_factory.mktemp("lora-base")
    tokenizer = AutoTokenizer.from_pretrained(make_tokenizer(root / "tokenizer"))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={name: i for i, name in enumerate(LABELS)},
    )
    base = root / "bert-base"
    BertForSequenceClassification(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    return {"base": base, "dataset": make_classification_dataset(root / "dataset")}


def lora_config(fixtures: dict, output_dir: Path, **lora) -> dict:
    return {
        "task": "lora",
        "model": {"name_or_path": str(fixtures["base"]), "max_length": 16},
        "data": {"dataset": str(fixtures["dataset"])},
        "loss": {"focal_weight": 0.5, "gamma": 2.0},
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0, **lora},
        "training": {
            "output_dir": str(output_dir),
            "num_train_epochs": 2,
            "per_device_train_batch_size": 16,
            "learning_rate": 5e-3,
            "disable_tqdm": True,
            "seed": 3,
        },
    }


def run(config_dict: dict, tmp_path: Path):
    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    return run_experiment(load_config(write_config(tmp_path / "lora.yaml", config_dict)), RunOptions())


@pytest.fixture(scope="module")
def lora_run(stock_bert_base, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lora-run")
    output_dir = tmp / "adapter"
    handler, logger = _Capture(), logging.getLogger("mbert_tiny_hub.training")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        results = run(lora_config(stock_bert_base, output_dir, merge=True), tmp)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return output_dir, results, handler.messages


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_lora_run_saves_the_adapter_only_and_reports_the_trainable_share(lora_run):
    output_dir, results, messages = lora_run
    names = {path.name for path in output_dir.iterdir()}
    assert {
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "results.json",
        "train_config.yaml",
    } <= names
    assert "model.safetensors" not in names
    adapter = json.loads((output_dir / "adapter_config.json").read_text())
    assert set(adapter["target_modules"]) == {"query", "value"} and adapter["r"] == 4
    assert "classifier" in adapter["modules_to_save"]
    line = next(m for m in messages if "trainable params:" in m)
    assert "|| all params:" in line and "trainable%:" in line
    parameters = results["model"]["parameters"]
    assert 0 < parameters["trainable"] < 0.5 * parameters["total"]
    assert results["model"]["adapter"]["peft_type"] == "LORA"
    assert results["model"]["adapter"]["base_model_name_or_path"].endswith("bert-base")
    assert results["model"]["class"] == "BertForSequenceClassification"


def test_adapter_reloads_with_peft_and_the_merged_model_predicts_the_same(lora_run, stock_bert_base):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    output_dir, _, _ = lora_run
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    batch = tokenizer(["happy day at home", "miedo en casa hoy"], return_tensors="pt", padding=True)
    base = AutoModelForSequenceClassification.from_pretrained(stock_bert_base["base"])
    with torch.no_grad():
        base_logits = base.eval()(**batch).logits.clone()
        adapted = PeftModel.from_pretrained(base, output_dir).eval()
        adapter_logits = adapted(**batch).logits
        merged = AutoModelForSequenceClassification.from_pretrained(Path(f"{output_dir}-merged")).eval()
        merged_logits = merged(**batch).logits
    torch.testing.assert_close(merged_logits, adapter_logits, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(adapter_logits, base_logits, atol=1e-4), "training left the model unchanged"
    assert not any("lora_" in name for name, _ in merged.named_parameters())
    assert (Path(f"{output_dir}-merged") / "README.md").exists() and (output_dir / "README.md").exists()


def test_a_missing_lora_target_module_lists_the_linear_modules_and_leaves_no_output_folder(stock_bert_base, tmp_path):
    from mbert_tiny_hub.config import ConfigError

    config = lora_config(stock_bert_base, tmp_path / "adapter", target_modules=["q_proj", "value"])
    with pytest.raises(ConfigError) as error:
        run(config, tmp_path)
    message = str(error.value)
    assert "lora.target_modules ['q_proj'] do not exist in BertForSequenceClassification" in message
    for name in ("query", "key", "value", "dense", "classifier"):
        assert name in message
    assert not (tmp_path / "adapter").exists()


def test_a_base_without_a_trained_pooler_trains_its_pooler_with_the_head(tmp_path, caplog):
    from mbert_tiny_hub.config import config_from_dict
    from mbert_tiny_hub.training import LabelInfo, apply_lora, build_model
    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForMaskedLM

    # An MLM checkpoint (what task: mlm writes: a plain BERT checkpoint that records its preset) has no pooler;
    # LoRA on it must train the new pooler with the head.
    MBertTinyForMaskedLM(
        MBertTinyConfig(
            vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
            preset="tiny2",
        )
    ).save_pretrained(tmp_path / "mlm")
    make_tokenizer(tmp_path / "mlm")
    config = config_from_dict({"task": "lora", "model": {"name_or_path": str(tmp_path / "mlm")}})
    model, _, provenance = build_model(
        config, "sequence_classification", LabelInfo("label", list(LABELS), False), lambda: []
    )
    assert type(model).__name__ == "MBertTinyForSequenceClassification"
    with caplog.at_level("INFO", logger="mbert_tiny_hub.training.lora"):
        peft_model = apply_lora(model, config, provenance["missing_keys"])
    trainable = {name for name, p in peft_model.named_parameters() if p.requires_grad}
    assert any("pooler" in name for name in trainable) and any("classifier" in name for name in trainable)
    assert any("lora_A" in name for name in trainable)
    # The log names what is trained in full once each (peft extends the modules_to_save list it is given).
    assert "(+ trained in full: pooler, classifier)" in caplog.text


@pytest.fixture(scope="module")
def headless_lora_run(tmp_path_factory, single_thread):  # noqa: F811 - the fixture
    """LoRA on a base with no classification head (a stock BertForMaskedLM, as lora_brighter_mbert.yaml uses)."""
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    root = tmp_path_factory.mktemp("headless")
    tokenizer = AutoTokenizer.from_pretrained(make_tokenizer(root / "tokenizer"))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    base = root / "mlm-base"
    BertForMaskedLM(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    fixtures = {"base": base, "dataset": make_classification_dataset(root / "dataset", multi_label=True)}
    output_dir = root / "adapter"
    results = run(lora_config(fixtures, output_dir), root)
    return output_dir, results, fixtures


def test_an_adapter_lists_each_module_to_save_once(headless_lora_run):
    output_dir, _, _ = headless_lora_run
    modules = json.loads((output_dir / "adapter_config.json").read_text())["modules_to_save"]
    assert len(modules) == len(set(modules)) and {"classifier", "pooler"} <= set(modules)


def test_an_adapter_on_a_headless_base_loads_with_its_labels_through_its_own_card_snippet(headless_lora_run):
    import re

    from mbert_tiny_hub.evaluation import predict_logits
    from mbert_tiny_hub.evaluation_data import load_classifier

    output_dir, _, _ = headless_lora_run
    card = (output_dir / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    repo_id = re.search(r'from_pretrained\(\n?\s*"([^"]+)"', snippet).group(1)
    namespace = {}
    exec(compile(snippet.replace(f'"{repo_id}"', repr(str(output_dir))), "README.md", "exec"), namespace)  # noqa: S102
    model = namespace["model"]
    assert [model.config.id2label[i] for i in range(len(LABELS))] == list(LABELS)
    assert model.config.problem_type == "multi_label_classification"
    # evaluate.py's loader gives the same labels and the same predictions.
    loaded, tokenizer = load_classifier(str(output_dir))
    assert [loaded.config.id2label[i] for i in range(len(LABELS))] == list(LABELS)
    texts = ["happy day at home", "miedo en casa hoy"]
    expected = predict_logits(model.eval(), tokenizer, texts)
    np.testing.assert_allclose(predict_logits(loaded, tokenizer, texts), expected, atol=1e-5)


def test_evaluate_py_scores_a_headless_adapter_as_the_training_run_did(headless_lora_run):
    from data_scripts import load_built_dataset
    from mbert_tiny_hub.evaluation import evaluate_classifier
    from mbert_tiny_hub.evaluation_data import load_classifier

    output_dir, results, fixtures = headless_lora_run
    model, tokenizer = load_classifier(str(output_dir))
    test = load_built_dataset(str(fixtures["dataset"]), "all", split="test")
    report = evaluate_classifier(model, tokenizer, test, max_length=16, baselines=())
    assert report["results"]["model"]["macro_f1"] == pytest.approx(results["results"]["model"]["macro_f1"], abs=1e-6)


def test_full_fine_tuning_with_frozen_input_embeddings_keeps_them_and_trains_everything_else(stock_bert_base, tmp_path):
    """`model.freeze_input_embeddings`: the full fine-tuning counterpart of LoRA's frozen embeddings for zero-shot
    transfer. The saved word embeddings are the base's bit for bit; position embeddings, encoder and head train."""
    from transformers import AutoModelForSequenceClassification

    from mbert_tiny_hub.config import ConfigError

    output_dir = tmp_path / "frozen"
    config = lora_config(stock_bert_base, output_dir)
    config["task"] = "classification"
    del config["lora"]
    config["model"]["freeze_input_embeddings"] = True
    run(config, tmp_path)
    before = AutoModelForSequenceClassification.from_pretrained(stock_bert_base["base"])
    after = AutoModelForSequenceClassification.from_pretrained(output_dir)
    assert torch.equal(after.get_input_embeddings().weight, before.get_input_embeddings().weight)
    positions = "bert.embeddings.position_embeddings.weight"
    assert not torch.equal(after.get_parameter(positions), before.get_parameter(positions))
    query = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(after.get_parameter(query), before.get_parameter(query))
    assert not torch.equal(after.classifier.weight, before.classifier.weight)
    parameters = read_results(output_dir)["model"]["parameters"]
    assert parameters["trainable"] == parameters["total"] - before.get_input_embeddings().weight.numel()

    config["task"] = "lora"
    config["lora"] = {"r": 4}
    with pytest.raises(ConfigError, match="freeze_input_embeddings applies to tasks classification and distillation"):
        run(config, tmp_path)
