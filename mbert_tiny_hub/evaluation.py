"""Evaluation behind `evaluate.py` and the end of `train.py`: one results JSON (CONTRIBUTING.md's schema) per model.

- `evaluate_classifier(model, tokenizer, split, ...)` scores a loaded classifier on a loaded `datasets.Dataset`,
  fits and scores the baselines on the same rows, optionally times it, and returns the results dict.
- `write_results(results, folder)` writes `results.json` and the PNG plots (confusion matrix, per-class F1,
  per-language F1, transfer, accuracy-versus-latency Pareto front) into a folder, each file moved into place
  only when complete.
- `fit_split_baselines` and `score_baselines` fit the baselines on a split and score them like the model.
- Loading and input checks live in `mbert_tiny_hub.evaluation_data` (`load_classifier`, `load_dataset_dict`,
  `model_task`, which sends BERT4Rec checkpoints to `mbert_tiny_hub.recsys_results.evaluate_recommender`); the printed
  report, transfer matrix and Pareto points in `mbert_tiny_hub.evaluation_tables`.

Under `accelerate launch` with several processes, each process scores a share of the rows, predictions are
gathered so every row is counted exactly once, and only the main process fits baselines and writes files.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from accelerate import PartialState
from accelerate.utils import gather_object
from huggingface_hub.utils import tqdm  # honours HF_HUB_DISABLE_PROGRESS_BARS

from . import plots
from .baselines import BASELINES, fit_baselines, predict_baseline
from .evaluation_data import EvaluationError, align_labels, check_not_empty, filter_languages, label_matrix, label_spec
from .evaluation_tables import pareto_note, pareto_points, short_name, transfer_matrix, transfer_summary
from .latency import measure_latency
from .hub_checks import dataset_card_facts
from .metrics import classification_report, confusion_matrix, predictions_from_logits, tune_threshold
from .results import RESULTS_FILE, environment_summary, is_peft, model_summary, results_header, write_json

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------------------------
# Models: predictions
# --------------------------------------------------------------------------------------------------------------


def _model_device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@contextmanager
def _truncation_left_as_it_was(tokenizer) -> Iterator[None]:
    """Calling a fast tokenizer with `truncation=True` switches truncation on in its backend, and `save_pretrained`
    would write that into tokenizer.json (train.py saves the tokenizer it evaluated with): put the setting back."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    before = backend.truncation if backend is not None else None
    try:
        yield
    finally:
        if backend is not None and backend.truncation != before:
            if before is None:
                backend.no_truncation()
            else:
                backend.enable_truncation(**before)


def predict_logits(
    model,
    tokenizer,
    texts: Sequence[str],
    batch_size: int = 32,
    max_length: int | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Logits (n, num_labels) in the order of `texts`: batched, `no_grad`, truncated to the model's maximum length.

    Rows are batched by length (less padding). With several accelerate processes each process scores every
    n-th batch and the logits are gathered, so every process returns all rows exactly once.
    """
    state = PartialState()
    device = torch.device(device) if device is not None else _model_device(model)
    limit = getattr(model.config, "max_position_embeddings", None) or 512
    if tokenizer.model_max_length and tokenizer.model_max_length < limit:
        limit = tokenizer.model_max_length
    max_length = min(max_length, limit) if max_length else limit
    with _truncation_left_as_it_was(tokenizer):
        encodings = tokenizer(list(texts), truncation=True, max_length=max_length)
    order = np.argsort([len(ids) for ids in encodings["input_ids"]], kind="stable")
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    mine = batches[state.process_index :: state.num_processes]
    keys = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in encodings]
    was_training = model.training
    model.eval()
    indices, outputs = [], []
    with torch.no_grad():
        for batch in tqdm(mine, desc="Predicting", unit="batch", disable=not state.is_local_main_process):
            features = [{key: encodings[key][int(i)] for key in keys} for i in batch]
            inputs = tokenizer.pad(features, return_tensors="pt")
            logits = model(**{key: value.to(device) for key, value in inputs.items()}).logits
            indices.append(batch)
            outputs.append(logits.float().cpu().numpy())
    model.train(was_training)
    num_labels = model.config.num_labels
    shard = (
        np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
        np.concatenate(outputs) if outputs else np.zeros((0, num_labels), dtype=np.float32),
    )
    shards = gather_object([shard]) if state.num_processes > 1 else [shard]
    logits = np.zeros((len(texts), num_labels), dtype=np.float32)
    seen = np.zeros(len(texts), dtype=bool)
    for shard_indices, shard_logits in shards:
        logits[shard_indices] = shard_logits
        seen[shard_indices] = True
    if not seen.all():  # a broken gather must never pass for a result
        raise RuntimeError(f"Predictions gathered for {int(seen.sum())} of {len(texts)} rows.")
    return logits


# --------------------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------------------


def _baseline_latency(fitted: Mapping, text: str, iterations: int = 30) -> list[dict]:
    """Per-text latency of each baseline on one raw text (featurization included), batch 1, one thread."""
    rows = []
    for name, estimator in fitted.items():
        for _ in range(3):
            predict_baseline(estimator, [text])
        times = []
        for _ in range(iterations):
            begin = time.perf_counter_ns()
            predict_baseline(estimator, [text])
            times.append((time.perf_counter_ns() - begin) / 1e6)
        rows.append(
            {
                "model": name,
                "runtime": "scikit-learn",
                "device": "cpu",
                "threads": 1,
                "batch_size": 1,
                "seq_len": None,  # raw text in: TF-IDF featurization is part of the time
                "p50_ms": float(np.percentile(times, 50)),
                "p95_ms": float(np.percentile(times, 95)),
                "iterations": iterations,
                "ratio_to_mbert_base": None,
            }
        )
    return rows


def model_threshold(model, default: float = 0.5) -> float:
    """The sigmoid threshold a multi-label model was saved with (`config.multi_label_threshold`), else `default`."""
    threshold = getattr(model.config, "multi_label_threshold", None)
    return float(threshold) if isinstance(threshold, (int, float)) and 0 < threshold < 1 else default


def choose_threshold_on(
    model, tokenizer, split, label_column: str | None = None, *, text_column: str = "text", batch_size: int = 32,
    max_length: int | None = None, device=None, source: str = "the tuning split",
) -> tuple[float, float]:
    """(threshold, macro-F1 there): the multi-label threshold with the best macro-F1 on `split` (a validation split,
    never the one reported)."""
    label_column, label_names, multi_label = label_spec(split.features, label_column, source)
    if not multi_label:
        raise EvaluationError(f"{source}: a threshold is tuned for multi-label models only.")
    check_not_empty(split, source)
    column_order = align_labels(model.config, label_names, multi_label, "The model")
    references = label_matrix(list(split[label_column]), len(label_names), multi_label, label_column, source)
    logits = predict_logits(model, tokenizer, list(split[text_column]), batch_size, max_length, device)
    if column_order is not None:
        logits = logits[:, column_order]
    return tune_threshold(logits, references, label_names)


def evaluate_classifier(
    model,
    tokenizer,
    split,
    label_column: str | None = None,
    *,
    text_column: str = "text",
    language_column: str = "language",
    per_language: bool | None = None,
    threshold: float = 0.5,
    batch_size: int = 32,
    max_length: int | None = None,
    device: str | torch.device | None = None,
    baselines_train_split=None,
    baselines: Sequence[str] = BASELINES,
    fitted_baselines: Mapping | None = None,
    train_languages: Sequence[str] | None = None,
    test_languages: Sequence[str] | None = None,
    latency: Mapping | None = None,
    model_name_or_path: str | None = None,
    model_revision: str | None = None,
    model_info: Mapping | None = None,
    dataset_name_or_path: str | None = None,
    dataset_config: str | None = None,
    split_name: str | None = None,
    command: str | None = None,
) -> dict:
    """Score `model` on `split` (a `datasets.Dataset`) and return the results JSON (CONTRIBUTING.md's schema).

    Nothing is reloaded: pass the model and tokenizer in memory (train.py does at the end of a run).
    - `label_column`: default `labels` (multi-label) or `label`; names come from the features and must match
      the model's `id2label` (same names in another order are realigned).
    - per language: automatic when the split has `language_column`; `per_language=True` demands it.
    - baselines (`BASELINES`) are fitted on `baselines_train_split` (usually the train split), or taken from
      `fitted_baselines`, and scored on the same rows with the same metric code.
    - zero-shot transfer: `train_languages` filters the baselines' training rows, `test_languages` the
      evaluated rows; the `transfer` block holds per-test-language scores of the model and the baselines.
    - `latency`: keyword arguments of `mbert_tiny_hub.latency.measure_latency` (e.g. runtimes, batch_sizes,
      seq_lens); the model is timed next to the mBERT-base shape, the baselines on one raw text.
    - `model_info`: the `model` block, when the caller has it (train.py, before the weights are written);
      default `mbert_tiny_hub.results.model_summary` of the model.
    """
    source = f"Split {split_name or '(unnamed)'} of {dataset_name_or_path or 'the dataset'}"
    source += f" (config {dataset_config})" if dataset_config else ""
    label_column, label_names, multi_label = label_spec(split.features, label_column, source)
    if text_column not in split.column_names:
        raise EvaluationError(
            f"{source} has no text column {text_column!r} (columns: {', '.join(split.column_names)}): "
            "name it with --text-column."
        )
    model_name = model_name_or_path or getattr(model, "name_or_path", None) or type(model).__name__
    column_order = align_labels(model.config, label_names, multi_label, f"Model {model_name}")
    transfer = train_languages is not None or test_languages is not None
    if transfer:
        if language_column not in split.column_names:
            raise EvaluationError(
                f"{source} has no {language_column!r} column, which a cross-lingual transfer evaluation needs "
                f"(columns: {', '.join(split.column_names)}). Name it with --language-column."
            )
        test_languages = list(test_languages or sorted(split.unique(language_column)))
        split = filter_languages(split, test_languages, language_column, source)
        per_language = True  # the transfer block is read from the per-language scores
    check_not_empty(split, source)
    if per_language and language_column not in split.column_names:
        raise EvaluationError(
            f"A per-language report was asked for, but {source} has no {language_column!r} column "
            f"(columns: {', '.join(split.column_names)}). Name the column with --language-column, "
            "or drop --per-language."
        )
    if per_language is None:
        per_language = language_column in split.column_names
    languages = list(split[language_column]) if per_language else None

    texts = list(split[text_column])
    references = label_matrix(list(split[label_column]), len(label_names), multi_label, label_column, source)
    logits = predict_logits(model, tokenizer, texts, batch_size, max_length, device)
    if column_order is not None:
        logits = logits[:, column_order]
    predictions = predictions_from_logits(logits, multi_label, threshold)
    model_report = classification_report(references, predictions, label_names, multi_label, languages)
    model_report["confusion_matrix"] = confusion_matrix(references, predictions, label_names, multi_label)
    if multi_label:
        model_report["threshold"] = threshold

    state = PartialState()
    results = {
        **results_header("text-classification", command),
        "model": (
            dict(model_info) if model_info is not None else model_summary(model, model_name_or_path, model_revision)
        ),
        "dataset": {
            "name_or_path": str(dataset_name_or_path or ""),
            "config": dataset_config,
            "split": split_name,
            "num_examples": len(split),
            "label_column": label_column,
            "label_names": label_names,
            "multi_label": multi_label,
            "languages": sorted(set(languages)) if languages is not None else [],
            **dataset_card_facts(dataset_name_or_path, languages or ()),
        },
        "results": {"model": model_report, "baselines": {}},
        "environment": environment_summary(device or _model_device(model), num_processes=state.num_processes),
    }

    if not state.is_main_process:
        return results  # other processes helped with the predictions; the main process does the rest

    if fitted_baselines is None and baselines and baselines_train_split is not None:
        fitted_baselines = fit_split_baselines(
            baselines_train_split,
            label_column,
            label_names,
            multi_label,
            text_column=text_column,
            language_column=language_column,
            train_languages=train_languages,
            baselines=baselines,
        )
    results["results"]["baselines"] = score_baselines(
        fitted_baselines or {}, texts, references, label_names, multi_label, languages
    )

    if transfer:
        results["transfer"] = transfer_summary(results, train_languages, test_languages)

    if latency is not None:
        options = dict(latency)
        timed = model
        if is_peft(model):
            # What a LoRA model costs once deployed: the adapter merged into the base weights.
            timed = copy.deepcopy(model).merge_and_unload()
        options.setdefault("device", str(_model_device(model)))
        rows = measure_latency({short_name(model_name): timed}, **options)
        if fitted_baselines:
            rows += _baseline_latency(fitted_baselines, texts[0])
        results["latency"] = rows
    return results


def fit_split_baselines(
    train_split,
    label_column: str,
    label_names: Sequence[str],
    multi_label: bool,
    *,
    text_column: str = "text",
    language_column: str = "language",
    train_languages: Sequence[str] | None = None,
    baselines: Sequence[str] = BASELINES,
    source: str = "The baselines' training split",
) -> dict:
    """Fit the baselines on a `datasets.Dataset` (rows in `train_languages` only, when given), after checking
    that its labels are the evaluated split's."""
    _, train_names, train_multi = label_spec(train_split.features, label_column, source)
    if train_names != list(label_names) or train_multi != multi_label:
        raise EvaluationError(
            f"{source} has labels {train_names} (multi-label: {train_multi}); the evaluated split has "
            f"{list(label_names)} (multi-label: {multi_label})."
        )
    if train_languages is not None:
        train_split = filter_languages(train_split, train_languages, language_column, source)
    check_not_empty(train_split, source)
    if text_column not in train_split.column_names:
        raise EvaluationError(
            f"{source} has no text column {text_column!r} (columns: {', '.join(train_split.column_names)})."
        )
    labels = label_matrix(list(train_split[label_column]), len(label_names), multi_label, label_column, source)
    return fit_baselines(list(train_split[text_column]), labels, multi_label, baselines)


def score_baselines(
    fitted: Mapping, texts: Sequence[str], references: np.ndarray, label_names: Sequence[str], multi_label: bool,
    languages: Sequence[str] | None = None,
) -> dict:
    """Each fitted baseline's report on `texts`, with the same metric code (and per language) as the model's."""
    reports = {}
    for name, estimator in fitted.items():
        predictions = predict_baseline(estimator, texts)
        report = classification_report(references, predictions, label_names, multi_label, languages)
        report["confusion_matrix"] = confusion_matrix(references, predictions, label_names, multi_label)
        reports[name] = report
    return reports


# --------------------------------------------------------------------------------------------------------------
# Output: results.json and plots
# --------------------------------------------------------------------------------------------------------------


def _plot_results(results: Mapping, folder: Path) -> list[Path]:
    written = []
    if results.get("task") != "text-classification":
        return written
    model_report = results["results"]["model"]
    baselines = results["results"].get("baselines", {})
    model_name = short_name(results["model"]["name_or_path"])
    split = results["dataset"].get("split")
    on = f" ({split} split)" if split else ""
    if "confusion_matrix" in model_report:
        written.append(plots.plot_confusion_matrix(
            model_report["confusion_matrix"], folder / "confusion_matrix.png", f"{model_name}: confusion matrix{on}"
        ))
    systems = {model_name: model_report, **baselines}
    per_class = {name: {label: s["f1"] for label, s in report["per_class"].items()} for name, report in systems.items()}
    written.append(plots.plot_grouped_bars(per_class, folder / "per_class_f1.png", f"F1 per class{on}", xlabel="class"))
    if "per_language" in model_report:
        per_language = {
            name: {language: s["macro_f1"] for language, s in report["per_language"].items()}
            for name, report in systems.items()
        }
        written.append(plots.plot_grouped_bars(
            per_language, folder / "per_language_f1.png", f"Macro F1 per language{on}", "macro F1", "language"
        ))
    if results.get("transfer"):
        trained_on = "+".join(results["transfer"]["train_languages"]) or "all languages"
        written.append(plots.plot_transfer_matrix(
            transfer_matrix([results]), folder / "transfer.png",
            f"Cross-lingual transfer, macro F1\ntrained on {trained_on}",
        ))
    points = pareto_points([results])
    if len(points) >= 2:
        written.append(plots.plot_pareto(points, folder / "pareto.png", note=pareto_note(points)))
    return written


plot_results = _plot_results  # train.py writes the same plots into its output folder


def _move_into(staging: Path, destination: Path) -> None:
    """Move every file of `staging` into `destination` (created if needed), each with one atomic rename."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in sorted(staging.iterdir()):
        os.replace(path, destination / path.name)


def write_results(results: Mapping, output_dir: str | os.PathLike, make_plots: bool = True) -> dict[str, Path]:
    """Write `results.json` and the plots into `output_dir`: everything is written into a temporary folder next to
    it first, then moved in, so a failure never leaves a half-written results file behind.

    The output folder may already hold other files (a model folder after train.py): only ours are replaced."""
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.tmp-", dir=output_dir.parent))
    try:
        write_json(staging / RESULTS_FILE, results)
        if make_plots:
            _plot_results(results, staging)
        names = sorted(path.name for path in staging.iterdir())
        _move_into(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {name: output_dir / name for name in names}
