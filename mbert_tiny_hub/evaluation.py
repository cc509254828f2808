"""Evaluation behind `evaluate.py` and the end of `train.py`: one results JSON (CONTRIBUTING.md's schema) per model.

- `evaluate_classifier(model, tokenizer, split, ...)` scores a loaded classifier on a loaded `datasets.Dataset`,
  fits and scores the baselines on the same rows, optionally times it, and returns the results dict.
- `write_results(results, folder)` writes `results.json` and the PNG plots (confusion matrix, per-class F1,
  per-language F1, transfer, accuracy-versus-latency Pareto front) into a folder, each file moved into place
  only when complete.
- `load_classifier`, `load_dataset_dict` and `model_task` load by local path or Hub id for `evaluate.py`
  (`mbert_tiny_hub.evaluation_cli`), which sends BERT4Rec checkpoints (`model_type == "bert4rec"`) to
  `mbert_tiny_hub.recsys_results.evaluate_recommender`.

Under `accelerate launch` with several processes, each process scores a share of the rows, predictions are
gathered so every row is counted exactly once, and only the main process fits baselines and writes files.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import datasets
import numpy as np
import torch
from accelerate import PartialState
from accelerate.utils import gather_object
from datasets import ClassLabel, List, Sequence as SequenceFeature
from huggingface_hub import hf_hub_download
from huggingface_hub.utils import tqdm  # honours HF_HUB_DISABLE_PROGRESS_BARS
from peft import AutoPeftModelForSequenceClassification, PeftConfig
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import cached_file, find_adapter_config_file

from data_scripts import load_built_dataset

from . import plots
from .baselines import BASELINES, fit_baselines, predict_baseline
from .latency import format_latency_table, measure_latency
from .hub_checks import dataset_card_facts
from .metrics import classification_report, confusion_matrix, predictions_from_logits, to_multi_hot
from .results import RESULTS_FILE, environment_summary, is_peft, model_summary, results_header, write_json

logger = logging.getLogger(__name__)

# Runtimes whose outputs equal the evaluated model's (no quantization): their latency pairs with its accuracy.
EXACT_RUNTIMES = ("eager", "compile", "onnxruntime")


class EvaluationError(ValueError):
    """Bad input to an evaluation: the message says what is wrong, where, and what to do."""


# --------------------------------------------------------------------------------------------------------------
# Datasets: label columns, splits, languages
# --------------------------------------------------------------------------------------------------------------


def label_spec(features, label_column: str | None = None, source: str = "the dataset") -> tuple[str, list[str], bool]:
    """(label column, label names, multi-label?) from `datasets` features, per CONTRIBUTING.md's contract:
    `label: ClassLabel` is single-label, `labels: Sequence(ClassLabel)` is multi-label."""
    if label_column is None:
        candidates = [name for name in ("labels", "label") if name in features]
        if not candidates:
            raise EvaluationError(
                f"{source} has no 'label' or 'labels' column (columns: {', '.join(features)}): "
                "name the label column with --label-column."
            )
        label_column = candidates[0]
    if label_column not in features:
        raise EvaluationError(
            f"{source} has no label column {label_column!r} (columns: {', '.join(features)}): "
            "pick one of them with --label-column."
        )
    feature = features[label_column]
    if isinstance(feature, ClassLabel):
        return label_column, list(feature.names), False
    if isinstance(feature, (List, SequenceFeature)) and isinstance(feature.feature, ClassLabel):
        return label_column, list(feature.feature.names), True
    raise EvaluationError(
        f"Column {label_column!r} of {source} is {feature}, not ClassLabel or Sequence(ClassLabel): the evaluator "
        "reads label names from the features. Cast it, e.g. dataset.cast_column(column, ClassLabel(names=[...]))."
    )


def label_matrix(values: Sequence, num_labels: int, multi_label: bool, column: str, source: str) -> np.ndarray:
    """Class ids (single-label) or a 0/1 matrix (multi-label); a missing label (-1, None) is an error naming the row."""
    if multi_label:
        for row, labels in enumerate(values):
            if labels is None:
                raise EvaluationError(f"{source}, row {row}: column {column!r} is empty (None); use [] for no label.")
        try:
            return to_multi_hot(values, num_labels)
        except ValueError as error:
            raise EvaluationError(f"{source}, column {column!r}: {error}") from None
    labels = np.asarray([-1 if value is None else value for value in values], dtype=np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= num_labels))
    if len(bad):
        raise EvaluationError(
            f"{source}, row {int(bad[0])}: column {column!r} holds {int(labels[bad[0]])}, not a class id in "
            f"0..{num_labels - 1} ({len(bad)} such rows). Unlabelled rows cannot be evaluated: drop them first."
        )
    return labels


def check_not_empty(split, source: str) -> None:
    if len(split) == 0:
        raise EvaluationError(f"{source} has no rows: nothing to evaluate. Pick another split with --split.")


def filter_languages(split, languages: Sequence[str], language_column: str, source: str):
    """Rows of `split` whose language is in `languages`; every asked language must occur."""
    if language_column not in split.column_names:
        raise EvaluationError(
            f"{source} has no {language_column!r} column (columns: {', '.join(split.column_names)}), so it cannot be "
            "split by language. Name the column with --language-column."
        )
    present = set(split.unique(language_column))
    missing = [language for language in languages if language not in present]
    if missing:
        raise EvaluationError(
            f"{source} has no rows in language(s) {', '.join(missing)}; "
            f"languages present: {', '.join(sorted(present))}."
        )
    wanted = set(languages)
    return split.filter(lambda value: value in wanted, input_columns=language_column)


# --------------------------------------------------------------------------------------------------------------
# Models: label names, predictions, footprint
# --------------------------------------------------------------------------------------------------------------


def model_label_names(config) -> list[str]:
    id2label = {int(key): value for key, value in (config.id2label or {}).items()}
    return [id2label.get(index, f"LABEL_{index}") for index in range(config.num_labels)]


def align_labels(
    config, label_names: Sequence[str], multi_label: bool, model_name: str = "the model"
) -> list[int] | None:
    """Which model output column scores each dataset class, or None when they already line up.

    Same names in another order: the outputs are reordered. Generic names (LABEL_0, ...) with the right count:
    a warning, and output i is taken as class i. Anything else: an error listing both sets of names.
    """
    names = model_label_names(config)
    label_names = list(label_names)
    problem_type = getattr(config, "problem_type", None)
    if problem_type == "regression" or config.num_labels == 1 and len(label_names) != 1:
        raise EvaluationError(
            f"{model_name} is a regression model (one output); the dataset has classes {label_names}."
        )
    if multi_label and problem_type == "single_label_classification":
        raise EvaluationError(
            f"{model_name} is a single-label classifier (problem_type {problem_type!r}) but the dataset's label column "
            "is multi-label. Evaluate it on a single-label column (--label-column)."
        )
    if not multi_label and problem_type == "multi_label_classification":
        raise EvaluationError(
            f"{model_name} is a multi-label classifier (problem_type {problem_type!r}) but the dataset's label column "
            "is single-label. Evaluate it on a multi-label column (--label-column)."
        )
    generic = names == [f"LABEL_{index}" for index in range(len(names))]
    if names == label_names:
        return None
    if generic and len(names) == len(label_names):
        warnings.warn(
            f"{model_name} has no label names (LABEL_0..LABEL_{len(names) - 1}); taking output i as the dataset's "
            f"class i ({', '.join(label_names)}).",
            stacklevel=2,
        )
        return None
    if sorted(names) == sorted(label_names):
        return [names.index(name) for name in label_names]
    only_model = [name for name in names if name not in label_names]
    only_data = [name for name in label_names if name not in names]
    raise EvaluationError(
        f"The label names of {model_name} do not match the dataset's.\n"
        f"  model ({len(names)}): {names}\n  dataset ({len(label_names)}): {label_names}\n"
        f"  only in the model: {only_model}; only in the dataset: {only_data}.\n"
        "Evaluate on the dataset (or --label-column) the model was trained for."
    )


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


def short_name(name_or_path: str) -> str:
    """The last component of a path or Hub id: how tables and plots name a model."""
    return Path(str(name_or_path).rstrip("/")).name or str(name_or_path)


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


def transfer_summary(results: Mapping, train_languages: Sequence[str] | None, test_languages: Sequence[str]) -> dict:
    """The `transfer` block: per-test-language macro F1 and accuracy of the model and of each baseline."""
    train = list(train_languages or [])

    def per_language(report, key):
        return {language: report["per_language"][language][key] for language in test_languages}

    model_report = results["results"]["model"]
    return {
        "train_languages": train,
        "test_languages": list(test_languages),
        "zero_shot": [language for language in test_languages if language not in train] if train else [],
        "macro_f1": per_language(model_report, "macro_f1"),
        "accuracy": per_language(model_report, "accuracy"),
        "baselines": {
            name: {"macro_f1": per_language(report, "macro_f1"), "accuracy": per_language(report, "accuracy")}
            for name, report in results["results"]["baselines"].items()
        },
    }


def transfer_matrix(results_list: Sequence[Mapping], include_baselines: bool = True) -> dict:
    """Train-language sets x test languages (macro F1) from several runs' results: one row per model (and per
    baseline) and set of training languages, one column per test language."""
    rows, values_by_row, columns = [], {}, []
    for results in results_list:
        transfer = results.get("transfer")
        if not transfer:
            continue
        trained_on = "+".join(transfer["train_languages"]) or "all"
        systems = {short_name(results["model"]["name_or_path"]): transfer["macro_f1"]}
        if include_baselines:
            systems.update({name: block["macro_f1"] for name, block in transfer.get("baselines", {}).items()})
        for system, scores in systems.items():
            row = f"{system} ({trained_on})"
            if row not in values_by_row:
                rows.append(row)
                values_by_row[row] = {}
            values_by_row[row].update(scores)
            columns += [language for language in scores if language not in columns]
    if not rows:
        raise EvaluationError("None of the results has a `transfer` block (run evaluate.py with --train-languages).")
    columns = sorted(columns)
    return {"rows": rows, "columns": columns, "values": [[values_by_row[row].get(c) for c in columns] for row in rows]}


def pareto_points(results_list: Sequence[Mapping], batch_size: int = 1, seq_len: int | None = None) -> list[dict]:
    """One point per evaluated model (its fastest unquantized runtime at `batch_size` x `seq_len`; default: the
    longest length timed) and per baseline (scikit-learn, one raw text): `{"name", "latency_ms", "score", "model"}`
    with score = macro F1."""
    if seq_len is None:
        lengths = [row["seq_len"] for results in results_list for row in results.get("latency", [])
                   if row["batch_size"] == batch_size and row["seq_len"] is not None]
        seq_len = max(lengths, default=None)
    points = {}
    for results in results_list:
        scores = {short_name(results["model"]["name_or_path"]): results["results"]["model"]["macro_f1"]}
        scores.update({name: report["macro_f1"] for name, report in results["results"].get("baselines", {}).items()})
        for row in results.get("latency", []):
            if row["model"] not in scores or row["batch_size"] != batch_size:
                continue
            if row["runtime"] == "scikit-learn":
                name = row["model"]
            elif row["runtime"] in EXACT_RUNTIMES and row["seq_len"] == seq_len:
                name = f"{row['model']} ({row['runtime']})"
            else:
                continue
            shape = None if row["seq_len"] is None else f"batch {row['batch_size']}, length {row['seq_len']}"
            point = {"name": name, "latency_ms": row["p50_ms"], "score": scores[row["model"]], "model": row["model"],
                     "shape": shape}
            best = points.get(row["model"])
            if best is None or point["latency_ms"] < best["latency_ms"]:
                points[row["model"]] = point
    return list(points.values())


def pareto_note(points: Sequence[Mapping]) -> str:
    """What the latencies of a Pareto plot measure, for its title."""
    shapes = sorted({point["shape"] for point in points if point.get("shape")})
    note = f"transformers: {', '.join(shapes)}" if shapes else ""
    if any(point.get("shape") is None for point in points):
        note += ("; " if note else "") + "TF-IDF baselines: one raw text, featurization included"
    return note


# --------------------------------------------------------------------------------------------------------------
# Output: results.json, plots, tables
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


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    def cell(value):
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def format_results(results: Mapping) -> str:
    """The printed report of a classification run: headline scores of the model and baselines, per language,
    per class, transfer, latency."""
    dataset, model_report = results["dataset"], results["results"]["model"]
    baselines = results["results"].get("baselines", {})
    model_name = short_name(results["model"]["name_or_path"])
    systems = {model_name: model_report, **baselines}
    config = f" ({dataset['config']})" if dataset.get("config") else ""
    kind = "multi-label" if dataset["multi_label"] else "single-label"
    parameters = results["model"]["parameters"]
    parts = [
        f"## {model_name} on {dataset['name_or_path']}{config}, split {dataset['split']}: "
        f"{dataset['num_examples']} examples, {len(dataset['label_names'])} labels "
        f"({kind}, column {dataset['label_column']})",
        f"{results['model']['class']}: {parameters['total']:,} parameters ({parameters['embeddings']:,} in embeddings, "
        f"{parameters['trainable']:,} trainable), {results['model']['size_on_disk_mb']} MB on disk",
        "",
        markdown_table(
            ["system", "accuracy", "macro F1", "micro F1", "weighted F1", "macro P", "macro R"],
            [
                [name] + [r[key] for key in ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "macro_precision",
                                             "macro_recall")]
                for name, r in systems.items()
            ],
        ),
    ]
    if "per_language" in model_report:
        languages = list(model_report["per_language"])
        parts += [
            "",
            "### Macro F1 per language",
            markdown_table(
                ["language", "examples", *systems],
                [
                    [language, model_report["per_language"][language]["num_examples"]]
                    + [r["per_language"][language]["macro_f1"] for r in systems.values()]
                    for language in languages
                ],
            ),
        ]
    parts += [
        "",
        "### F1 per class",
        markdown_table(
            ["class", "support", *systems],
            [
                [label, stats["support"]] + [r["per_class"][label]["f1"] for r in systems.values()]
                for label, stats in model_report["per_class"].items()
            ],
        ),
    ]
    transfer = results.get("transfer")
    if transfer:
        trained_on = "+".join(transfer["train_languages"]) or "all"
        scores = {model_name: transfer["macro_f1"], **{n: b["macro_f1"] for n, b in transfer["baselines"].items()}}
        parts += [
            "",
            f"### Cross-lingual transfer, macro F1 (trained on {trained_on}; "
            f"zero-shot: {', '.join(transfer['zero_shot']) or 'none'})",
            markdown_table(
                ["test language", *scores],
                [[language] + [s[language] for s in scores.values()] for language in transfer["test_languages"]],
            ),
        ]
    if results.get("latency"):
        parts += ["", "### Latency", format_latency_table(results["latency"])]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------------------
# Loading by path or Hub id, and the command line
# --------------------------------------------------------------------------------------------------------------


def model_task(name_or_path: str, revision: str | None = None) -> str:
    """"sequential-recommendation" for a BERT4Rec checkpoint (`model_type == "bert4rec"` in config.json), else
    "text-classification" (including LoRA adapter folders)."""
    path = cached_file(name_or_path, "config.json", revision=revision, _raise_exceptions_for_missing_entries=False)
    if path is None:
        return "text-classification"
    try:
        model_type = json.loads(Path(path).read_text(encoding="utf-8")).get("model_type")
    except (OSError, json.JSONDecodeError) as error:
        raise EvaluationError(f"{path}: not a readable JSON model config ({error}).") from None
    return "sequential-recommendation" if model_type == "bert4rec" else "text-classification"


def adapter_head_kwargs(name_or_path: str, revision: str | None = None) -> dict:
    """The labels an adapter's classification head was trained for, as `from_pretrained` keyword arguments for its
    base (`num_labels`, `id2label`, `label2id`, `problem_type`), read from the results.json saved beside the adapter.
    A base without a head (an MLM checkpoint) would otherwise get a 2-way head, or LABEL_0..n. {} when unknown."""
    folder = Path(name_or_path)
    try:
        if folder.is_dir():
            path = folder / RESULTS_FILE
        else:
            path = Path(hf_hub_download(name_or_path, RESULTS_FILE, revision=revision))
        dataset = json.loads(path.read_text(encoding="utf-8")).get("dataset") or {}
    except Exception:  # noqa: BLE001 - no results.json: the base's own head and labels
        return {}
    names = list(dataset.get("label_names") or [])
    if not names:
        return {}
    multi_label = bool(dataset.get("multi_label"))
    return {
        "num_labels": len(names),
        "id2label": dict(enumerate(names)),
        "label2id": {name: index for index, name in enumerate(names)},
        "problem_type": "multi_label_classification" if multi_label else "single_label_classification",
    }


def load_classifier(name_or_path: str, revision: str | None = None, trust_remote_code: bool = False):
    """(model, tokenizer) from a local folder or Hub id; LoRA adapter folders load through peft."""
    adapter_config = find_adapter_config_file(name_or_path, revision=revision)
    if adapter_config:
        model = AutoPeftModelForSequenceClassification.from_pretrained(
            name_or_path,
            revision=revision,
            trust_remote_code=trust_remote_code,
            **adapter_head_kwargs(name_or_path, revision),
        )
        base_model = PeftConfig.from_pretrained(name_or_path, revision=revision).base_model_name_or_path
        tokenizer_sources = [name_or_path, base_model]
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            name_or_path, revision=revision, trust_remote_code=trust_remote_code
        )
        tokenizer_sources = [name_or_path]
    errors = []
    for source in tokenizer_sources:
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, revision=revision if source == name_or_path else None)
            return model.eval(), tokenizer
        except (OSError, ValueError) as error:
            errors.append(f"{source}: {error}")
    raise EvaluationError(f"No tokenizer for {name_or_path}; tried " + "; ".join(errors))


def load_dataset_dict(name_or_path: str, config: str | None = None):
    """A DatasetDict from a data_scripts folder or Hub id (`datasets.load_dataset`) or a `save_to_disk` folder."""
    if (Path(name_or_path) / "dataset_dict.json").is_file():
        return datasets.load_from_disk(name_or_path)
    return load_built_dataset(name_or_path, config)


def get_split(dataset_dict, split: str, source: str):
    if split not in dataset_dict:
        raise EvaluationError(
            f"{source} has no split {split!r} (splits: {', '.join(dataset_dict)}): pick one with --split."
        )
    return dataset_dict[split]
