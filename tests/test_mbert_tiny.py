"""mBERT-Tiny: presets and their parameter budgets, loading with and without remote code, heads, bad input."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification, BertConfig, BertForMaskedLM

from modeling import (
    DEFAULT_VOCAB_SIZE,
    PARAMETER_BUDGETS,
    PRESETS,
    MBertTinyConfig,
    MBertTinyForMaskedLM,
    MBertTinyForSequenceClassification,
    MBertTinyModel,
    count_parameters,
)
from modeling.mbert_tiny import remote_code


def _batch(vocab_size=500, seed=0):
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, vocab_size, (3, 12), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 7:] = 0
    attention_mask[2, 3:] = 0
    input_ids[attention_mask == 0] = 0
    return input_ids, attention_mask


def _tiny_classifier(tmp_path, problem_type="single_label_classification", num_labels=3, with_code=False):
    torch.manual_seed(0)
    labels = [f"emotion_{i}" for i in range(num_labels)]
    config = MBertTinyConfig.from_preset(
        "tiny2",
        vocab_size=500,
        num_labels=num_labels,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        problem_type=problem_type,
    )
    model = MBertTinyForSequenceClassification(config).eval()
    if with_code:
        with remote_code(model):
            model.save_pretrained(tmp_path)
    else:
        model.save_pretrained(tmp_path)
    return model


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_fit_their_parameter_budgets_at_the_default_vocabulary(preset):
    # The whole classifier counts, embeddings, pooler and a 28-way head (GoEmotions) included.
    config = MBertTinyConfig.from_preset(preset, num_labels=28)
    assert config.vocab_size == DEFAULT_VOCAB_SIZE
    counts = count_parameters(MBertTinyForSequenceClassification(config))
    assert counts["total"] <= PARAMETER_BUDGETS[preset], counts
    assert 0.5 * PARAMETER_BUDGETS[preset] < counts["total"], "a preset far below its budget wastes capacity"
    assert counts["embeddings"] > 0.5 * counts["total"] if preset == "tiny2" else counts["embeddings"] > 0


def test_presets_grow_in_depth_and_width():
    shapes = [PRESETS[name] for name in ("tiny2", "tiny4", "tiny6")]
    assert [s["num_hidden_layers"] for s in shapes] == [2, 4, 6]
    assert shapes[0]["hidden_size"] < shapes[1]["hidden_size"] < shapes[2]["hidden_size"]
    for shape in shapes:
        assert shape["hidden_size"] // shape["num_attention_heads"] == 64


def test_count_parameters_counts_tied_embeddings_once():
    model = MBertTinyForMaskedLM(MBertTinyConfig.from_preset("tiny2", vocab_size=1000))
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    unique = {id(p): p.numel() for p in model.parameters()}
    assert count_parameters(model)["total"] == sum(unique.values())


def test_unknown_preset_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"tiny12.*tiny2, tiny4, tiny6"):
        MBertTinyConfig.from_preset("tiny12")


def test_hidden_size_must_divide_into_heads():
    with pytest.raises(ValueError, match="multiple of num_attention_heads"):
        MBertTinyConfig(hidden_size=100, num_attention_heads=3)


def test_saved_folder_is_a_plain_bert_checkpoint_without_code(tmp_path):
    _tiny_classifier(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors"}
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "bert" and "auto_map" not in config
    assert config["architectures"] == ["BertForSequenceClassification"]
    masked_lm = MBertTinyForMaskedLM(MBertTinyConfig.from_preset("tiny2", vocab_size=500))
    masked_lm.save_pretrained(tmp_path / "mlm")
    assert json.loads((tmp_path / "mlm" / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]


def test_remote_code_is_an_explicit_option_that_saves_the_code_and_auto_map(tmp_path):
    model = _tiny_classifier(tmp_path, with_code=True)
    assert {"config.json", "model.safetensors", "mbert_tiny.py"} <= {p.name for p in tmp_path.iterdir()}
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert config["architectures"] == ["MBertTinyForSequenceClassification"]
    assert config["auto_map"] == {
        "AutoConfig": "mbert_tiny.MBertTinyConfig",
        "AutoModel": "mbert_tiny.MBertTinyModel",
        "AutoModelForMaskedLM": "mbert_tiny.MBertTinyForMaskedLM",
        "AutoModelForSequenceClassification": "mbert_tiny.MBertTinyForSequenceClassification",
    }
    code = (tmp_path / "mbert_tiny.py").read_text()
    assert "from modeling" not in code and "from ." not in code and "mbert_tiny_hub" not in code
    # Parameter names are exactly those of transformers' BERT.
    stock = AutoModelForSequenceClassification.from_config(BertConfig(**{k: config[k] for k in (
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")}, num_labels=3))
    assert set(load_file(tmp_path / "model.safetensors")) == set(stock.state_dict()) - {
        "bert.embeddings.position_ids", "bert.embeddings.token_type_ids"}
    # The option ends with the block: the next save is plain again.
    model.save_pretrained(tmp_path / "after")
    assert {p.name for p in (tmp_path / "after").iterdir()} == {"config.json", "model.safetensors"}


def test_stock_transformers_loads_the_checkpoint_without_remote_code_and_matches(tmp_path):
    model = _tiny_classifier(tmp_path)
    input_ids, attention_mask = _batch()
    with torch.no_grad():
        expected_logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
        expected_hidden = model.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    np.save(tmp_path.parent / "input_ids.npy", input_ids.numpy())
    np.save(tmp_path.parent / "attention_mask.npy", attention_mask.numpy())
    # A fresh interpreter that cannot import this project: only stock transformers is available.
    script = textwrap.dedent(f"""
        import json, sys, numpy as np, torch
        assert not any(p.endswith("main") for p in sys.path if p), sys.path
        from transformers import AutoModel, AutoModelForSequenceClassification
        ids = torch.from_numpy(np.load({str(tmp_path.parent / "input_ids.npy")!r}))
        mask = torch.from_numpy(np.load({str(tmp_path.parent / "attention_mask.npy")!r}))
        classifier = AutoModelForSequenceClassification.from_pretrained({str(tmp_path)!r}).eval()
        encoder = AutoModel.from_pretrained({str(tmp_path)!r}).eval()
        with torch.no_grad():
            logits = classifier(input_ids=ids, attention_mask=mask).logits
            hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        np.save({str(tmp_path.parent / "logits.npy")!r}, logits.numpy())
        np.save({str(tmp_path.parent / "hidden.npy")!r}, hidden.numpy())
        print(type(classifier).__module__, type(classifier).__name__, type(encoder).__name__, classifier.config.id2label[2])
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path.parent, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path.parent)},
    )
    assert result.returncode == 0, result.stderr
    module, classifier_class, encoder_class, label = result.stdout.split()[-4:]
    assert module.startswith("transformers.models.bert")
    assert (classifier_class, encoder_class, label) == ("BertForSequenceClassification", "BertModel", "emotion_2")
    torch.testing.assert_close(torch.from_numpy(np.load(tmp_path.parent / "logits.npy")), expected_logits)
    torch.testing.assert_close(torch.from_numpy(np.load(tmp_path.parent / "hidden.npy")), expected_hidden)


def test_trust_remote_code_returns_the_project_classes_from_the_saved_code(tmp_path):
    model = _tiny_classifier(tmp_path, with_code=True)
    input_ids, attention_mask = _batch()
    classifier = AutoModelForSequenceClassification.from_pretrained(tmp_path, trust_remote_code=True).eval()
    encoder = AutoModel.from_pretrained(tmp_path, trust_remote_code=True).eval()
    masked_lm = AutoModelForMaskedLM.from_pretrained(tmp_path, trust_remote_code=True)
    assert type(classifier).__name__ == "MBertTinyForSequenceClassification"
    assert type(encoder).__name__ == "MBertTinyModel"
    assert type(masked_lm).__name__ == "MBertTinyForMaskedLM"
    # Loaded from the folder's copy of the code, not from this checkout.
    assert type(classifier).__module__.startswith("transformers_modules.")
    with torch.no_grad():
        torch.testing.assert_close(
            classifier(input_ids=input_ids, attention_mask=attention_mask).logits,
            model(input_ids=input_ids, attention_mask=attention_mask).logits,
        )


def test_project_classes_load_the_saved_folder(tmp_path):
    model = _tiny_classifier(tmp_path)
    input_ids, attention_mask = _batch()
    reloaded = MBertTinyForSequenceClassification.from_pretrained(tmp_path).eval()
    encoder = MBertTinyModel.from_pretrained(tmp_path).eval()
    assert reloaded.config.preset == "tiny2" and isinstance(reloaded.config, MBertTinyConfig)
    with torch.no_grad():
        torch.testing.assert_close(
            reloaded(input_ids=input_ids, attention_mask=attention_mask).logits,
            model(input_ids=input_ids, attention_mask=attention_mask).logits,
        )
        torch.testing.assert_close(
            encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state,
            model.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state,
        )


def test_padding_does_not_change_the_encoding_of_real_tokens():
    model = MBertTinyModel(MBertTinyConfig.from_preset("tiny2", vocab_size=500)).eval()
    input_ids, attention_mask = _batch()
    with torch.no_grad():
        padded = model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[2, :3]
        alone = model(input_ids=input_ids[2:, :3]).last_hidden_state[0]
    torch.testing.assert_close(padded, alone)


def test_masked_lm_scores_only_masked_positions_and_matches_stock_bert(tmp_path):
    torch.manual_seed(0)
    model = MBertTinyForMaskedLM(MBertTinyConfig.from_preset("tiny2", vocab_size=500)).eval()
    model.save_pretrained(tmp_path)
    stock = BertForMaskedLM.from_pretrained(tmp_path).eval()
    input_ids, attention_mask = _batch()
    labels = torch.full_like(input_ids, -100)
    labels[0, 2], labels[1, 5], labels[2, 1] = 7, 8, 9
    with torch.no_grad():
        ours = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        full = model(input_ids=input_ids, attention_mask=attention_mask, return_all_logits=True).logits
        reference = stock(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert ours.logits.shape == (3, 500)
    torch.testing.assert_close(ours.logits, full[labels != -100])
    torch.testing.assert_close(ours.loss, reference.loss)
    torch.testing.assert_close(full, reference.logits)


def test_multi_label_classifier_uses_sigmoid_cross_entropy(tmp_path):
    model = _tiny_classifier(tmp_path, problem_type="multi_label_classification", num_labels=4)
    input_ids, attention_mask = _batch()
    targets = torch.tensor([[1.0, 0, 1, 0], [0, 0, 0, 0], [0, 1, 1, 1]])
    with torch.no_grad():
        output = model(input_ids=input_ids, attention_mask=attention_mask, labels=targets)
    logits = output.logits
    expected = -(targets * torch.log(torch.sigmoid(logits)) + (1 - targets) * torch.log(1 - torch.sigmoid(logits)))
    torch.testing.assert_close(output.loss, expected.mean())


def test_single_label_classifier_uses_softmax_cross_entropy(tmp_path):
    model = _tiny_classifier(tmp_path)
    input_ids, attention_mask = _batch()
    labels = torch.tensor([0, 2, 1])
    with torch.no_grad():
        output = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    expected = -torch.log_softmax(output.logits, dim=-1)[torch.arange(3), labels].mean()
    torch.testing.assert_close(output.loss, expected)


def test_hidden_states_cover_embeddings_and_every_layer():
    model = MBertTinyModel(MBertTinyConfig.from_preset("tiny4", vocab_size=500)).eval()
    input_ids, attention_mask = _batch()
    with torch.no_grad():
        output = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    assert len(output.hidden_states) == 5
    torch.testing.assert_close(output.hidden_states[-1], output.last_hidden_state)


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    config = MBertTinyConfig.from_preset("tiny2", vocab_size=500, num_labels=2, hidden_dropout_prob=0.0,
                                         attention_probs_dropout_prob=0.0)
    model = MBertTinyForSequenceClassification(config)
    input_ids, attention_mask = _batch()
    labels = torch.tensor([0, 1, 1])

    def gradients():
        model.zero_grad()
        model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss.backward()
        return model.bert.encoder.layer[0].attention.self.query.weight.grad.clone()

    plain = gradients()
    model.activation_checkpointing_enable()
    assert model.bert.encoder.gradient_checkpointing
    torch.testing.assert_close(gradients(), plain)


def test_model_exports_to_onnx_and_runs_in_onnxruntime(tmp_path):
    import onnxruntime
    model = MBertTinyForSequenceClassification(MBertTinyConfig.from_preset("tiny2", vocab_size=500, num_labels=3)).eval()
    input_ids, attention_mask = _batch()
    path = tmp_path / "model.onnx"
    torch.onnx.export(
        model, (input_ids, attention_mask), str(path), input_names=["input_ids", "attention_mask"],
        output_names=["logits"], dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                              "attention_mask": {0: "batch", 1: "sequence"}},
        opset_version=17, dynamo=False,
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    other_ids, other_mask = _batch(seed=1)
    (logits,) = session.run(None, {"input_ids": other_ids.numpy(), "attention_mask": other_mask.numpy()})
    with torch.no_grad():
        expected = model(input_ids=other_ids, attention_mask=other_mask).logits
    np.testing.assert_allclose(logits, expected.numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.slow
def test_model_runs_under_torch_compile():
    model = MBertTinyForSequenceClassification(MBertTinyConfig.from_preset("tiny2", vocab_size=500, num_labels=3)).eval()
    input_ids, attention_mask = _batch()
    compiled = torch.compile(model)
    with torch.no_grad():
        torch.testing.assert_close(
            compiled(input_ids=input_ids, attention_mask=attention_mask).logits,
            model(input_ids=input_ids, attention_mask=attention_mask).logits,
            atol=1e-5, rtol=1e-4,
        )
