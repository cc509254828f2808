"""Classification metrics that work offline, through the project's own `evaluate` module
(`metrics/multilingual_classification`, loaded by path: no Hub-hosted metric script).

One function computes the report every part of the project uses: the Trainer's `compute_metrics`, `evaluate.py`,
the model cards and the Space all read the same keys.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import multilabel_confusion_matrix
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix


def to_multi_hot(label_lists: Sequence[Sequence[int]], num_labels: int) -> np.ndarray:
    """[[0, 3], [], [2]] -> a (n, num_labels) 0/1 matrix."""
    matrix = np.zeros((len(label_lists), num_labels), dtype=np.int64)
    for row, labels in enumerate(label_lists):
        for label in labels or ():
            if not 0 <= int(label) < num_labels:
                raise ValueError(f"Row {row}: label id {label} is outside 0..{num_labels - 1}.")
            matrix[row, int(label)] = 1
    return matrix


def predictions_from_logits(logits: np.ndarray, multi_label: bool, threshold: float = 0.5) -> np.ndarray:
    """Class ids (single-label: argmax) or a 0/1 matrix (multi-label: sigmoid >= threshold)."""
    logits = np.asarray(logits, dtype=np.float64)
    if multi_label:
        return (1.0 / (1.0 + np.exp(-logits)) >= threshold).astype(np.int64)
    return logits.argmax(axis=-1)


METRICS_DIR = Path(__file__).resolve().parents[1] / "metrics"


@functools.lru_cache(maxsize=None)
def load_metric(name: str, config_name: str | None = None):
    """One of the project's `evaluate` modules in `metrics/` (self-contained, loaded by path, offline; pushable to
    the Hub like any community metric). In memory: several processes never share a cache file."""
    import evaluate  # heavy: the library takes seconds to import (it loads pipelines)

    return evaluate.load(str(METRICS_DIR / name), config_name, keep_in_memory=True)


def classification_report(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    label_names: Sequence[str],
    multi_label: bool = False,
    languages: Sequence[str] | None = None,
    train_languages: Sequence[str] | None = None,
) -> dict:
    """Accuracy, macro / micro / weighted precision, recall and F1, per-class scores, and (when `languages`
    is given) the same headline numbers per language; with `train_languages` too, the zero-shot `transfer` block.
    Computed by the `metrics/multilingual_classification` evaluate module.

    Single-label: `y_true`, `y_pred` are class ids. Multi-label: 0/1 matrices of shape (n, num_labels);
    "accuracy" is then the exact-match (subset) accuracy.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        raise ValueError("Cannot compute metrics on an empty set of examples.")
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} references but {len(y_pred)} predictions.")
    if languages is not None and len(languages) != len(y_true):
        raise ValueError(f"{len(languages)} language tags for {len(y_true)} examples.")
    metric = load_metric("multilingual_classification", "multilabel" if multi_label else None)
    return metric.compute(
        predictions=y_pred.astype(np.int64).tolist(),
        references=y_true.astype(np.int64).tolist(),
        label_names=list(label_names),
        languages=None if languages is None else [str(language) for language in languages],
        train_languages=None if train_languages is None or languages is None else list(train_languages),
    )


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, label_names: Sequence[str], multi_label: bool = False
) -> dict:
    """Counts as plain lists, ready for the results JSON.

    Single-label: `{"labels": names, "matrix": [[...]]}`, rows are references, columns predictions.
    Multi-label: one 2x2 matrix per label, `{"labels": names, "per_label": {name: {"tn", "fp", "fn", "tp"}}}`.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        raise ValueError("Cannot compute a confusion matrix on an empty set of examples.")
    if multi_label:
        matrices = multilabel_confusion_matrix(y_true, y_pred, labels=list(range(len(label_names))))
        return {
            "labels": list(label_names),
            "per_label": {
                name: {"tn": int(m[0, 0]), "fp": int(m[0, 1]), "fn": int(m[1, 0]), "tp": int(m[1, 1])}
                for name, m in zip(label_names, matrices)
            },
        }
    matrix = sklearn_confusion_matrix(y_true, y_pred, labels=list(range(len(label_names))))
    return {"labels": list(label_names), "matrix": matrix.astype(int).tolist()}


THRESHOLD_GRID = tuple(round(0.05 * step, 2) for step in range(1, 20))  # 0.05, 0.10, ..., 0.95


def tune_threshold(
    logits: np.ndarray, references: np.ndarray, label_names: Sequence[str], grid: Sequence[float] = THRESHOLD_GRID
) -> tuple[float, float]:
    """The sigmoid threshold of a multi-label model with the best macro-F1 on (validation) `logits` / `references`
    (a 0/1 matrix), and that macro-F1. Ties go to the threshold closest to 0.5."""
    if not len(references):
        raise ValueError("Cannot choose a threshold on an empty split.")
    scored = []
    for threshold in grid:
        predictions = predictions_from_logits(logits, True, threshold)
        macro_f1 = classification_report(references, predictions, label_names, True)["macro_f1"]
        scored.append((round(macro_f1, 10), -abs(threshold - 0.5), threshold))
    best_f1, _, best = max(scored)
    return float(best), float(best_f1)


LOGIT_ADJUSTMENT_GRID = tuple(round(0.1 * step, 1) for step in range(21))  # τ = 0.0, 0.1, ..., 2.0
LOGIT_ADJUSTMENT_METRICS = ("accuracy", "macro_f1", "weighted_f1")


def log_prior(counts: Sequence[int]) -> np.ndarray:
    """log π: the log of each class's share of the training labels (an unseen class counts once)."""
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    return np.log(counts / counts.sum())


def tune_logit_adjustment(
    logits: np.ndarray,
    references: np.ndarray,
    prior: np.ndarray,
    label_names: Sequence[str],
    metric: str = "macro_f1",
    grid: Sequence[float] = LOGIT_ADJUSTMENT_GRID,
) -> tuple[float, float, float]:
    """Post-hoc logit adjustment of a single-label model (Menon et al., 2021, "Long-tail learning via logit
    adjustment"): predict argmax(logits - τ·log π), π the training class prior. τ is the `grid` value with the best
    `metric` on (validation) `logits` / `references`; ties go to the smallest τ. Returns τ, the metric there and
    the metric at τ = 0 (the unadjusted model)."""
    if metric not in LOGIT_ADJUSTMENT_METRICS:
        raise ValueError(
            f"Unknown metric {metric!r} for the logit adjustment: use one of {', '.join(LOGIT_ADJUSTMENT_METRICS)}."
        )
    if not len(references):
        raise ValueError("Cannot choose a logit adjustment on an empty split.")
    logits, prior = np.asarray(logits, dtype=np.float64), np.asarray(prior, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] != len(prior):
        raise ValueError(f"Logits of shape {logits.shape} for a prior over {len(prior)} classes.")
    scores = {}
    for tau in sorted(set(grid) | {0.0}):
        predictions = predictions_from_logits(logits - tau * prior, False)
        scores[tau] = round(classification_report(references, predictions, label_names)[metric], 10)
    best = max(scores, key=lambda tau: (scores[tau], -tau))
    return float(best), float(scores[best]), float(scores[0.0])


def make_compute_metrics(
    label_names: Sequence[str], multi_label: bool = False, threshold: float = 0.5
) -> Callable:
    """A `compute_metrics` for `transformers.Trainer`: flat float metrics (macro_f1, accuracy, ...)."""

    def compute_metrics(eval_prediction) -> dict[str, float]:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        labels = np.asarray(eval_prediction.label_ids)
        predictions = predictions_from_logits(logits, multi_label, threshold)
        if multi_label:
            labels = (labels >= 0.5).astype(np.int64)
        report = classification_report(labels, predictions, label_names, multi_label)
        return {key: value for key, value in report.items() if isinstance(value, float)}

    return compute_metrics
