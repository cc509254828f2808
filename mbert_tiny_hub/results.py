"""results.json: the schema version, the blocks every producer shares, and the atomic write.

Each run writes one `results.json` (CONTRIBUTING.md documents its keys): `evaluate.py` and `train.py` write a
classifier's through the same evaluator (`mbert_tiny_hub.evaluation.evaluate_classifier`); every producer takes its
header, `model` and `environment` blocks and its write from here, so units and keys cannot drift apart.

Sizes are in MB = 10^6 bytes (`size_on_disk_mb`).
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from huggingface_hub import snapshot_download

from modeling.mbert_tiny import count_parameters

from .files import atomic_write


SCHEMA_VERSION = 2  # CONTRIBUTING.md lists what each version added
RESULTS_FILE = "results.json"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin")
BYTES_PER_MB = 10**6


def results_header(task: str, command: str | None) -> dict[str, Any]:
    """The keys every results.json starts with."""
    return {
        "schema_version": SCHEMA_VERSION,
        "task": task,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command or "",
    }


# --------------------------------------------------------------------------------------------------------------
# The `model` block
# --------------------------------------------------------------------------------------------------------------


def is_peft(model) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "get_base_model")


def count_model_parameters(model) -> dict[str, int]:
    """Total, embedding and trainable parameters (tied weights once); a LoRA model counts its adapter as trainable."""
    counts = count_parameters(model)
    if is_peft(model) and counts["trainable"] == 0:
        # Loaded for inference, nothing requires grad: count what training the adapter trains.
        counts["trainable"] = sum(
            parameter.numel()
            for name, parameter in model.named_parameters()
            if "lora_" in name or "modules_to_save" in name
        )
    return counts


def weights_size_mb(folder: str | os.PathLike) -> float | None:
    """MB of the weight files (safetensors / bin) in `folder`; None when it holds none."""
    files = {path for pattern in WEIGHT_PATTERNS for path in Path(folder).glob(pattern)}
    return round(sum(path.stat().st_size for path in files) / BYTES_PER_MB, 3) if files else None


def size_on_disk_mb(model=None, name_or_path: str | os.PathLike | None = None, revision: str | None = None) -> float:
    """MB of the weight files of a local folder or cached Hub repository; for a model held only in memory, the bytes
    its distinct tensors take, which is what safetensors writes."""
    folder = None
    if name_or_path is not None and Path(name_or_path).is_dir():
        folder = Path(name_or_path)
    elif name_or_path is not None:
        try:
            folder = Path(snapshot_download(str(name_or_path), revision=revision, allow_patterns=list(WEIGHT_PATTERNS)))
        except Exception:  # noqa: BLE001 - size is informative; an unreachable cache falls back to the tensors
            folder = None
    size = weights_size_mb(folder) if folder is not None else None
    if size is not None:
        return size
    if model is None:
        raise FileNotFoundError(f"No weight files found in {name_or_path}.")
    storages = {}
    for tensor in list(model.state_dict().values()):
        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
    return round(sum(storages.values()) / BYTES_PER_MB, 3)


def model_summary(
    model, name_or_path: str | None = None, revision: str | None = None, measure_size: bool = True
) -> dict:
    """The `model` block. `measure_size=False` leaves `size_on_disk_mb` to the caller (train.py fills it in once the
    weights are written)."""
    base = model.get_base_model() if is_peft(model) else model
    summary = {
        "name_or_path": str(name_or_path or getattr(model, "name_or_path", "") or type(base).__name__),
        "class": type(base).__name__,
        "parameters": count_model_parameters(model),
        "size_on_disk_mb": size_on_disk_mb(model, name_or_path, revision) if measure_size else None,
    }
    if is_peft(model):
        config = next(iter(model.peft_config.values()))
        summary["adapter"] = {
            "peft_type": str(getattr(config.peft_type, "value", config.peft_type)),
            "base_model_name_or_path": config.base_model_name_or_path,
        }
    return summary


# --------------------------------------------------------------------------------------------------------------
# The `environment` block
# --------------------------------------------------------------------------------------------------------------


def environment_summary(device: str | torch.device | None = None, num_processes: int | None = None) -> dict:
    """Versions and hardware, for the `environment` block."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    environment = {
        "python": platform.python_version(),
        # Versions from the installed distributions: importing `evaluate` would cost seconds (it loads pipelines).
        **{name: version(name) for name in ("torch", "transformers", "datasets", "evaluate", "scikit-learn")},
        "cpu": cpu,
        "threads": torch.get_num_threads(),
        "device": str(device or "cpu"),
    }
    if num_processes is not None:
        environment["num_processes"] = num_processes
    if torch.cuda.is_available():
        environment["gpu"] = torch.cuda.get_device_name(0)
    return environment


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_json(path: str | os.PathLike, data: Mapping) -> None:
    """`data` as indented UTF-8 JSON (numpy numbers as plain numbers), written atomically."""
    with atomic_write(path) as temporary:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n"
        temporary.write_text(text, encoding="utf-8")
