"""Inference latency of BERT-like models under several runtimes, always next to the mBERT-base shape.

Runtimes (pick any subset; `torch.compile` costs about 30 s per input shape on a small CPU):
  - `eager`: PyTorch, `inference_mode`;
  - `compile`: `torch.compile(dynamic=True)`, one graph for every batch size and length (as a server runs it);
  - `int8`: PyTorch dynamic int8 quantization of every `nn.Linear` (CPU only);
  - `onnxruntime`: ONNX export (legacy TorchScript exporter) + ONNX Runtime's BERT graph fusion;
  - `onnxruntime_int8`: the same graph with ONNX Runtime's dynamic int8 weight quantization.

Each row holds p50 / p95 milliseconds per forward pass over timed runs after warm-up, the thread count, and
`ratio_to_mbert_base` = p50 of the mBERT-base shape / p50 of the model under the same runtime, device, batch size
and sequence length ("times faster than mBERT-base", as the compression study reports 24.5x for Tiny2).
Timing is for benchmarks and `evaluate.py`; tests only check that the numbers are sane.
"""

from __future__ import annotations

import copy
import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from huggingface_hub.utils import tqdm  # honours HF_HUB_DISABLE_PROGRESS_BARS
from torch import nn
from transformers import BertConfig, BertModel

logger = logging.getLogger(__name__)

RUNTIMES = ("eager", "compile", "int8", "onnxruntime", "onnxruntime_int8")
MBERT_BASE_NAME = "mbert-base-shape"
MBERT_BASE_VOCAB_SIZE = 119_547

# The compression study's CPU figures (batch 1): mBERT 150 ms, Tiny2 6.12 ms, Tiny6 25.95 ms.
COMPRESSION_STUDY_MS = {MBERT_BASE_NAME: 150.0, "tiny2": 6.12, "tiny6": 25.95}
COMPRESSION_STUDY_RATIOS = {"tiny2": 24.5, "tiny6": 5.8}


def mbert_base_shape(seed: int = 0) -> nn.Module:
    """`BertModel` with bert-base-multilingual-cased's shape (12 x 768, vocabulary 119,547) and random weights:
    what mBERT costs to run, without its weights."""
    torch.manual_seed(seed)
    return BertModel(BertConfig(vocab_size=MBERT_BASE_VOCAB_SIZE)).eval()


@contextmanager
def _torch_threads(threads: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _FirstOutput(nn.Module):
    """(input_ids, attention_mask) -> the model's first output tensor: a plain graph for export and compile."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        outputs = self.model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)
        return outputs[0]


def _model_shape(model: nn.Module) -> tuple[int, int, int]:
    config = model.config
    return config.vocab_size, config.num_attention_heads, config.hidden_size


def _export_onnx(model: nn.Module, folder: Path, quantize: bool) -> Path:
    """Export with the legacy exporter (dynamic batch and sequence axes), fuse, optionally quantize to int8."""
    from onnxruntime.transformers import optimizer  # heavy: only for the ONNX Runtime rows

    folder.mkdir(parents=True, exist_ok=True)
    raw, fused, int8 = folder / "model.onnx", folder / "model.fused.onnx", folder / "model.fused.int8.onnx"
    if not raw.exists():
        if type(model).__module__.startswith("transformers.") and hasattr(model, "set_attn_implementation"):
            # ONNX Runtime fuses the eager attention graph into one Attention node; the SDPA export stays unfused.
            model.set_attn_implementation("eager")
        example = (torch.ones(1, 8, dtype=torch.long), torch.ones(1, 8, dtype=torch.long))
        axes = {0: "batch", 1: "sequence"}
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated but is the one ONNX Runtime's BERT fusion understands; its
            # tracer warnings are about control flow these models do not have.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _FirstOutput(model).eval(),
                example,
                str(raw),
                dynamo=False,
                input_names=["input_ids", "attention_mask"],
                output_names=["output"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "output": {0: "batch"}},
                opset_version=17,
            )
    if not fused.exists():
        _, num_heads, hidden_size = _model_shape(model)
        try:
            optimized = optimizer.optimize_model(
                str(raw), model_type="bert", num_heads=num_heads, hidden_size=hidden_size
            )
            optimized.save_model_to_file(str(fused))
        except Exception as error:  # fusion is an optimisation: an unfusable graph still runs
            logger.warning("ONNX Runtime graph fusion failed (%s); timing the unfused graph.", error)
            fused.write_bytes(raw.read_bytes())
    if not quantize:
        return fused
    if not int8.exists():
        import onnx  # heavy: only for the int8 ONNX Runtime rows
        from onnxruntime.quantization import QuantType, quantize_dynamic  # heavy: only for the int8 ONNX Runtime rows

        # Fused nodes live in ONNX Runtime's own domain, where shape inference cannot type their outputs.
        extra_options = {"DefaultTensorType": onnx.TensorProto.FLOAT}
        root_logger, level = logging.getLogger(), logging.getLogger().level
        root_logger.setLevel(logging.ERROR)  # the quantizer logs a generic pre-processing hint on the root logger
        try:
            quantize_dynamic(str(fused), str(int8), weight_type=QuantType.QInt8, extra_options=extra_options)
        finally:
            root_logger.setLevel(level)
    return int8


def make_runner(
    model: nn.Module, runtime: str, device: str = "cpu", threads: int | None = None, workdir: Path | None = None
) -> Callable[[torch.Tensor, torch.Tensor], object]:
    """A callable (input_ids, attention_mask) -> output that runs `model` under `runtime` on `device`."""
    device = torch.device(device)
    if runtime not in RUNTIMES:
        raise ValueError(f"Unknown runtime {runtime!r}: choose from {', '.join(RUNTIMES)}.")
    model = model.eval()
    if runtime in ("eager", "compile"):
        module = _FirstOutput(model).to(device).eval()
        if runtime == "compile":
            module = torch.compile(module, dynamic=True)

        def run(input_ids, attention_mask):
            with torch.inference_mode():
                return module(input_ids.to(device), attention_mask.to(device))

        return run
    if runtime == "int8":
        if device.type != "cpu":
            raise ValueError("Runtime 'int8' (PyTorch dynamic quantization) runs on CPU only.")
        with warnings.catch_warnings():
            # torch.ao's eager-mode quantization is deprecated in favour of torchao, which is not in this stack.
            warnings.simplefilter("ignore")
            quantized = torch.ao.quantization.quantize_dynamic(
                _FirstOutput(copy.deepcopy(model).cpu()).eval(), {nn.Linear}, dtype=torch.qint8
            )

        def run(input_ids, attention_mask):
            with torch.inference_mode():
                return quantized(input_ids, attention_mask)

        return run
    import onnxruntime as ort  # heavy: only for the ONNX Runtime rows

    if workdir is None:
        raise ValueError(f"Runtime {runtime!r} needs a workdir for the exported ONNX files.")
    if device.type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ValueError("ONNX Runtime on GPU needs onnxruntime-gpu (CUDAExecutionProvider is not available).")
        providers = ["CUDAExecutionProvider"]
    else:
        providers = ["CPUExecutionProvider"]
    path = _export_onnx(copy.deepcopy(model).cpu(), Path(workdir), quantize=runtime == "onnxruntime_int8")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=providers)

    def run(input_ids, attention_mask):
        feed = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        return session.run(None, feed)

    return run


def time_runner(
    run: Callable,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    warmup: int = 3,
    min_iterations: int = 20,
    min_seconds: float = 1.0,
    max_iterations: int = 200,
    synchronize: Callable[[], None] | None = None,
) -> np.ndarray:
    """Milliseconds per call: `warmup` untimed calls, then at least `min_iterations` timed calls, more (up to
    `max_iterations`) until `min_seconds` have passed."""
    synchronize = synchronize or (lambda: None)
    for _ in range(warmup):
        run(input_ids, attention_mask)
    synchronize()
    times, started = [], time.perf_counter()
    while len(times) < min_iterations or (time.perf_counter() - started < min_seconds and len(times) < max_iterations):
        begin = time.perf_counter_ns()
        run(input_ids, attention_mask)
        synchronize()
        times.append((time.perf_counter_ns() - begin) / 1e6)
    return np.asarray(times)


def measure_latency(
    models: Mapping[str, nn.Module],
    runtimes: Sequence[str] = ("eager",),
    batch_sizes: Sequence[int] = (1, 8),
    seq_lens: Sequence[int] = (64, 128),
    device: str = "cpu",
    threads: int | None = None,
    warmup: int = 3,
    min_iterations: int = 20,
    min_seconds: float = 1.0,
    max_iterations: int = 200,
    compare_to_mbert_base: bool = True,
    seed: int = 0,
    progress: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Latency rows for every model x runtime x batch size x sequence length (the results JSON's `latency`).

    `models` maps a display name to a BERT-like model (`config.vocab_size`, `config.max_position_embeddings`;
    called as `model(input_ids=..., attention_mask=...)`). With `compare_to_mbert_base`, the mBERT-base shape is
    timed in the same loop (interleaved with the models, so load changes on a shared machine hit both alike) and
    every row gets `ratio_to_mbert_base`. `progress` is called with each row as soon as it is measured.
    """
    unknown = [runtime for runtime in runtimes if runtime not in RUNTIMES]
    if unknown:
        raise ValueError(f"Unknown runtime(s) {', '.join(map(repr, unknown))}: choose from {', '.join(RUNTIMES)}.")
    if not models and not compare_to_mbert_base:
        raise ValueError("No models to time.")
    models = dict(models)
    if compare_to_mbert_base and MBERT_BASE_NAME not in models:
        models[MBERT_BASE_NAME] = mbert_base_shape(seed)
    for name, model in models.items():
        limit = model.config.max_position_embeddings
        if max(seq_lens) > limit:
            raise ValueError(f"Model {name!r} takes at most {limit} positions; sequence length {max(seq_lens)} asked.")
    threads = threads or torch.get_num_threads()
    torch_device = torch.device(device)
    synchronize = torch.cuda.synchronize if torch_device.type == "cuda" else None
    generator = torch.Generator().manual_seed(seed)
    rows = []
    bar = tqdm(total=len(runtimes) * len(batch_sizes) * len(seq_lens) * len(models), desc="Timing", unit="cell")
    with bar, _torch_threads(threads), tempfile.TemporaryDirectory(prefix="latency-") as workdir:
        for runtime in runtimes:
            runners = {
                name: make_runner(model, runtime, device, threads, Path(workdir) / f"model-{index}")
                for index, (name, model) in enumerate(models.items())
            }
            for batch_size in batch_sizes:
                for seq_len in seq_lens:
                    for name, run in runners.items():
                        vocab_size = models[name].config.vocab_size
                        input_ids = torch.randint(1, vocab_size, (batch_size, seq_len), generator=generator)
                        attention_mask = torch.ones_like(input_ids)
                        bar.set_postfix_str(f"{name} {runtime} b{batch_size} s{seq_len}")
                        times = time_runner(
                            run, input_ids, attention_mask, warmup, min_iterations, min_seconds, max_iterations,
                            synchronize,
                        )
                        bar.update()
                        row = {
                            "model": name,
                            "runtime": runtime,
                            "device": torch_device.type,
                            "threads": threads,
                            "batch_size": batch_size,
                            "seq_len": seq_len,
                            "p50_ms": float(np.percentile(times, 50)),
                            "p95_ms": float(np.percentile(times, 95)),
                            "iterations": int(len(times)),
                        }
                        rows.append(row)
                        if progress is not None:
                            progress(row)
            del runners
    return add_ratios(rows) if compare_to_mbert_base else rows


def add_ratios(rows: Iterable[dict], reference: str = MBERT_BASE_NAME) -> list[dict]:
    """Set `ratio_to_mbert_base` = reference p50 / row p50 for rows with a matching reference measurement."""
    rows = [dict(row) for row in rows]

    def cell(row):
        return row["runtime"], row["device"], row["batch_size"], row["seq_len"]

    reference_p50 = {cell(row): row["p50_ms"] for row in rows if row["model"] == reference}
    for row in rows:
        base = reference_p50.get(cell(row))
        row["ratio_to_mbert_base"] = round(base / row["p50_ms"], 3) if base and row["p50_ms"] > 0 else None
    return rows


def format_latency_table(rows: Sequence[dict]) -> str:
    """A Markdown table of latency rows, one line per model x runtime x shape."""
    header = "| model | runtime | device | threads | batch | seq | p50 ms | p95 ms | x faster than mBERT-base |"
    lines = [header, "|" + "---|" * 9]
    for row in rows:
        ratio = row.get("ratio_to_mbert_base")
        seq_len = "raw text" if row["seq_len"] is None else row["seq_len"]
        lines.append(
            f"| {row['model']} | {row['runtime']} | {row['device']} | {row['threads']} | {row['batch_size']} | "
            f"{seq_len} | {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | {'' if ratio is None else f'{ratio:.1f}x'} |"
        )
    return "\n".join(lines)


def compare_with_compression_study(rows: Sequence[dict], batch_size: int = 1, seq_len: int = 128) -> str:
    """Our speed-ups of the Tiny2 / Tiny6 presets over the mBERT-base shape next to the study's 24.5x and 5.8x.

    A row counts as a preset when its model name is the preset name (as `benchmarks/latency.py` names them).
    """
    lines = [
        f"| preset | runtime | ours: p50 ms (batch {batch_size}, seq {seq_len}) | ours: x faster | "
        "study: ms | study: x faster |",
        "|---|---|---|---|---|---|",
    ]
    for preset, study_ratio in COMPRESSION_STUDY_RATIOS.items():
        for row in rows:
            if row["model"] == preset and row["batch_size"] == batch_size and row["seq_len"] == seq_len:
                ratio = row.get("ratio_to_mbert_base")
                lines.append(
                    f"| {preset} | {row['runtime']} | {row['p50_ms']:.2f} | "
                    f"{'' if ratio is None else f'{ratio:.1f}x'} | {COMPRESSION_STUDY_MS[preset]} | {study_ratio}x |"
                )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Recommenders: `recommend()` end to end (item ids in, top-k item ids out), PyTorch eager against ONNX Runtime
# ---------------------------------------------------------------------------------------------------------------

RECOMMEND_RUNTIMES = ("eager", "onnxruntime")


def recommend_scorer(model: nn.Module, runtime: str, threads: int | None = None, workdir: Path | None = None):
    """The `scorer` that `recommend` / `score_histories` take: None (the model's own PyTorch forward) for `eager`,
    or the model's ONNX export run by ONNX Runtime (`make_runner`). The graph is traced on one unpadded history,
    so it answers single histories (batch 1), which is what it is timed on."""
    if runtime not in RECOMMEND_RUNTIMES:
        raise ValueError(f"Unknown recommend runtime {runtime!r}: choose from {', '.join(RECOMMEND_RUNTIMES)}.")
    if runtime == "eager":
        return None
    run = make_runner(model, "onnxruntime", "cpu", threads, workdir)
    return lambda input_ids, attention_mask: run(input_ids, attention_mask)[0]


def measure_recommend_latency(
    models: Mapping[str, nn.Module],
    history_length: int = 50,
    k: int = 10,
    runtimes: Sequence[str] = RECOMMEND_RUNTIMES,
    threads: int = 1,
    warmup: int = 5,
    min_iterations: int = 50,
    min_seconds: float = 2.0,
    max_iterations: int = 2000,
    seed: int = 0,
) -> list[dict]:
    """p50 / p90 milliseconds of `model.recommend(history, k)` for one history of `history_length` distinct items
    drawn from the model's catalogue, under each runtime (the same history and the same post-processing: only
    the network's runtime differs). Rows carry `top_k_agrees` (the runtime's top-k equals eager's) and
    `ratio_to_eager` = eager p50 / row p50 (above 1 = faster)."""
    rows = []
    with _torch_threads(threads), tempfile.TemporaryDirectory(prefix="recommend-latency-") as workdir:
        for index, (name, model) in enumerate(models.items()):
            model = model.eval()
            item_ids = model.item_vocabulary.item_ids
            history = [item_ids[i] for i in np.random.default_rng(seed).permutation(len(item_ids))[:history_length]]
            answers = {}
            for runtime in runtimes:
                scorer = recommend_scorer(model, runtime, threads, Path(workdir) / f"model-{index}")

                def run(history, _unused, scorer=scorer):
                    return model.recommend(history, k=k, scorer=scorer)

                answers[runtime] = run(history, None)["item_ids"]
                times = time_runner(run, history, None, warmup, min_iterations, min_seconds, max_iterations)
                rows.append(
                    {
                        "model": name,
                        "architecture": "sasrec_plus" if model.config.causal else "bert4rec",
                        "runtime": runtime,
                        "device": "cpu",
                        "threads": threads,
                        "batch_size": 1,
                        "history_length": len(history),
                        "num_items": len(item_ids),
                        "k": k,
                        "p50_ms": float(np.percentile(times, 50)),
                        "p90_ms": float(np.percentile(times, 90)),
                        "iterations": int(len(times)),
                        "top_k_agrees": answers[runtime] == answers[runtimes[0]],
                    }
                )
    eager = {row["model"]: row["p50_ms"] for row in rows if row["runtime"] == "eager"}
    for row in rows:
        row["ratio_to_eager"] = round(eager[row["model"]] / row["p50_ms"], 2) if row["model"] in eager else None
    return rows


def format_recommend_latency_table(rows: Sequence[dict]) -> str:
    """A Markdown table of `measure_recommend_latency` rows."""
    lines = [
        "| model | runtime | items | history | k | threads | p50 ms | p90 ms | x faster than eager | same top-k |",
        "|" + "---|" * 10,
    ]
    for row in rows:
        ratio = row.get("ratio_to_eager")
        lines.append(
            f"| {row['model']} | {row['runtime']} | {row['num_items']:,} | {row['history_length']} | {row['k']} | "
            f"{row['threads']} | {row['p50_ms']:.2f} | {row['p90_ms']:.2f} | "
            f"{'' if ratio is None else f'{ratio:.2f}x'} | {'yes' if row['top_k_agrees'] else 'NO'} |"
        )
    return "\n".join(lines)
