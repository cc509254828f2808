"""Export a saved model folder to ONNX, into the folder itself, so that it is pushed with it.

    python -m mbert_tiny_hub.onnx_export outputs/my-run            # onnx/model.onnx + onnx/model_quantized.onnx
    python -m mbert_tiny_hub.onnx_export outputs/my-run --no_int8  # onnx/model.onnx only

The folder is loaded with stock transformers (`AutoModelForSequenceClassification`, `AutoModelForMaskedLM` or
`AutoModel`, from `architectures`) in eager attention, exported with `torch.onnx.export` (dynamic batch and sequence
axes; the inputs the folder's tokenizer returns (`input_ids`, `attention_mask`, and `token_type_ids` for BERT's
tokenizer), so `session.run(None, dict(tokenizer(..., return_tensors="np")))` works; output `logits`, or
`last_hidden_state` for a bare encoder) and checked: ONNX Runtime must reproduce the PyTorch outputs on a probe
batch. `model_quantized.onnx` is ONNX Runtime's dynamic int8 quantization of the same graph. The file names follow
the layout other ONNX tools read from a Hub repo (`onnx/model.onnx`, `onnx/model_quantized.onnx`).

Run it with ONNX Runtime:

    import onnxruntime as ort
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained("outputs/my-run")
    session = ort.InferenceSession("outputs/my-run/onnx/model.onnx")
    logits = session.run(None, dict(tokenizer(["Qué día tan feliz"], truncation=True, return_tensors="np")))[0]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer

from .cli import accept_both_spellings

logger = logging.getLogger("mbert_tiny_hub.onnx_export")

ONNX_DIR = "onnx"
MODEL_FILE = "model.onnx"
QUANTIZED_FILE = "model_quantized.onnx"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


class ExportError(RuntimeError):
    """A folder that cannot be exported, or an export whose outputs differ from PyTorch's."""


class _Outputs(nn.Module):
    """Positional tensors named `input_names` -> the model's first output: a plain graph to export."""

    def __init__(self, model: nn.Module, input_names: tuple[str, ...]):
        super().__init__()
        self.model = model
        self.input_names = input_names

    def forward(self, *inputs):
        return self.model(**dict(zip(self.input_names, inputs)))[0]


def _input_names(folder: Path) -> tuple[str, ...]:
    """What the folder's tokenizer returns (and so what a user feeds), in INPUT_NAMES order."""
    try:
        returned = set(AutoTokenizer.from_pretrained(folder).model_input_names)
    except Exception:  # noqa: BLE001 - no tokenizer in the folder: BERT's three inputs
        returned = set(INPUT_NAMES)
    return tuple(name for name in INPUT_NAMES if name in returned) or INPUT_NAMES[:2]


def load_for_export(folder: Path) -> tuple[nn.Module, str]:
    """The folder's model as stock transformers loads it, in eager attention, and its output's name."""
    if (folder / "adapter_config.json").is_file():
        raise ExportError(
            f"{folder} is a LoRA adapter: export the merged model (lora.merge: true writes <output_dir>-merged, or "
            "`python -m mbert_tiny_hub.publish adapter ... --merged-repo`)."
        )
    if not (folder / "config.json").is_file():
        raise ExportError(f"{folder} has no config.json: pass a model folder written by train.py.")
    architectures = " ".join(json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures") or [])
    if "SequenceClassification" in architectures:
        auto_class, output = AutoModelForSequenceClassification, "logits"
    elif "MaskedLM" in architectures:
        auto_class, output = AutoModelForMaskedLM, "logits"
    else:
        auto_class, output = AutoModel, "last_hidden_state"
    # Eager attention exports as plain MatMul/Softmax nodes, which every runtime (and ONNX Runtime's fusion) reads.
    model = auto_class.from_pretrained(folder, attn_implementation="eager").eval()
    return model, output


def _probe_batch(vocab_size: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, vocab_size, (2, 11), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 6:] = 0
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": torch.zeros_like(input_ids)}


def run_onnx(path: str | os.PathLike, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The first output of the ONNX graph at `path` for `inputs` (only the inputs the graph declares are fed)."""
    import onnxruntime as ort  # heavy: only to run an exported graph

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = {node.name for node in session.get_inputs()}
    return session.run(None, {name: value for name, value in inputs.items() if name in names})[0]


def export_onnx(folder: str | os.PathLike, int8: bool = True, atol: float = 1e-4) -> dict[str, Path]:
    """Write `onnx/model.onnx` (and `onnx/model_quantized.onnx`) into the model folder; return their paths.

    The export is checked before anything lands in the folder: ONNX Runtime must give the PyTorch outputs on a probe
    batch within `atol`, and the int8 graph must give the same top class wherever the float graph is sure."""
    folder = Path(folder)
    model, output_name = load_for_export(folder)
    input_names = _input_names(folder)
    probe = {name: tensor for name, tensor in _probe_batch(model.config.vocab_size).items() if name in input_names}
    graph = _Outputs(model, input_names).eval()
    with torch.no_grad():
        expected = graph(*probe.values()).numpy()
    staging = Path(tempfile.mkdtemp(prefix=".onnx-", dir=folder))
    try:
        raw = staging / MODEL_FILE
        axes = {0: "batch", 1: "sequence"}
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated but gives the graph ONNX Runtime's BERT tools understand.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                tuple(probe.values()),
                str(raw),
                dynamo=False,
                input_names=list(input_names),
                output_names=[output_name],
                dynamic_axes={
                    **{name: axes for name in input_names},
                    output_name: axes if expected.ndim == 3 else {0: "batch"},  # per token, or per text
                },
                opset_version=OPSET,
            )
        feed = {name: tensor.numpy() for name, tensor in probe.items()}
        difference = float(np.abs(run_onnx(raw, feed) - expected).max())
        if difference > atol:
            raise ExportError(f"ONNX Runtime's outputs differ from PyTorch's by {difference:.2e} (> {atol}).")
        written = {MODEL_FILE: raw}
        if int8:
            written[QUANTIZED_FILE] = _quantize(raw, staging / QUANTIZED_FILE)
        destination = folder / ONNX_DIR
        destination.mkdir(exist_ok=True)
        for name, path in written.items():
            os.replace(path, destination / name)
        logger.info("Wrote %s (ONNX Runtime matches PyTorch within %.1e)", ", ".join(written), difference)
        return {name: destination / name for name in written}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _quantize(source: Path, target: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic  # heavy: only for the int8 variant

    root_logger, level = logging.getLogger(), logging.getLogger().level
    root_logger.setLevel(logging.ERROR)  # the quantizer logs a generic pre-processing hint on the root logger
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        root_logger.setLevel(level)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mbert_tiny_hub.onnx_export",
        description="Export a model folder to ONNX (onnx/model.onnx and onnx/model_quantized.onnx inside it).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("folder", type=Path, help="a model folder written by train.py (or downloaded from the Hub)")
    parser.add_argument("--no_int8", dest="int8", action="store_false", help="skip the int8 variant (int8 written unless given: %(default)s)")
    args = accept_both_spellings(parser).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        paths = export_onnx(args.folder, int8=args.int8)
    except ExportError as error:
        print(f"onnx_export: error: {error}", file=sys.stderr)
        return 2
    for path in paths.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["ExportError", "export_onnx", "load_for_export", "run_onnx"]
