"""User-facing ONNX export: onnx/model.onnx (+ int8) inside the model folder, ONNX Runtime reproduces PyTorch."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from test_training_support import LABELS, make_tokenizer, single_thread  # noqa: F401 - single_thread is a fixture

pytestmark = pytest.mark.usefixtures("single_thread")
TEXTS = ["happy day at home", "miedo en casa hoy, muy asustado", "the day was very scary"]


@pytest.fixture
def model_folder(tmp_path):
    from transformers import AutoTokenizer

    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForSequenceClassification

    from mbert_tiny_hub.tokenizer_classes import standard_tokenizer

    folder = tmp_path / "tiny"
    # Saved as train.py saves it: a BertTokenizer, which also returns token_type_ids.
    tokenizer = standard_tokenizer(AutoTokenizer.from_pretrained(make_tokenizer(tmp_path / "tokenizer")))
    torch.manual_seed(0)
    config = MBertTinyConfig.from_preset(
        "tiny2", vocab_size=len(tokenizer), hidden_size=32, num_attention_heads=2, intermediate_size=64,
        num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)},
    )
    MBertTinyForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_onnx_runtime_reproduces_the_pytorch_logits_from_the_exported_folder(model_folder):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from mbert_tiny_hub.onnx_export import export_onnx, run_onnx

    paths = export_onnx(model_folder)
    assert {path.relative_to(model_folder).as_posix() for path in paths.values()} == {
        "onnx/model.onnx", "onnx/model_quantized.onnx"
    }
    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    model = AutoModelForSequenceClassification.from_pretrained(model_folder).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**batch).logits.numpy()
    inputs = dict(tokenizer(TEXTS, padding=True, return_tensors="np"))  # as a user would feed it
    assert set(inputs) == {"input_ids", "attention_mask", "token_type_ids"}
    np.testing.assert_allclose(run_onnx(paths["model.onnx"], inputs), expected, atol=1e-4)
    quantized = run_onnx(paths["model_quantized.onnx"], inputs)
    assert quantized.shape == expected.shape and np.abs(quantized - expected).max() < 0.5
    # Another length and batch size than the export's example: the axes are dynamic.
    single = dict(tokenizer(["feliz"], return_tensors="np"))
    with torch.no_grad():
        np.testing.assert_allclose(
            run_onnx(paths["model.onnx"], single), model(**tokenizer(["feliz"], return_tensors="pt")).logits.numpy(),
            atol=1e-4,
        )


def test_the_onnx_files_are_published_with_the_model(model_folder):
    from mbert_tiny_hub.hub import publishable_files
    from mbert_tiny_hub.onnx_export import main

    assert main([str(model_folder), "--no_int8"]) == 0
    files = publishable_files(model_folder)
    assert "onnx/model.onnx" in files and "onnx/model_quantized.onnx" not in files
    assert not [name for name in files if name.startswith(".onnx-")]  # no staging leftovers


def test_an_adapter_folder_is_refused_with_what_to_export_instead(tmp_path):
    from mbert_tiny_hub.onnx_export import ExportError, export_onnx

    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    with pytest.raises(ExportError, match="merged model"):
        export_onnx(tmp_path)


def test_the_readme_snippet_runs_on_an_exported_folder(model_folder, repo_root):
    readme = (repo_root / "README.md").read_text()
    section = readme[readme.index("### ONNX"):]
    commands = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    assert "python -m mbert_tiny_hub.onnx_export outputs/quickstart-" in commands
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    from mbert_tiny_hub.onnx_export import export_onnx

    export_onnx(model_folder)
    namespace = {}
    snippet = re.sub(r"outputs/quickstart-\d{8}-\d{6}", str(model_folder), snippet)
    exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["logits"].shape == (1, len(LABELS))
