# Copyright 2026 The mbert-tiny-hub authors. Licensed under the Apache License, Version 2.0.
"""Multilingual classification metrics: accuracy, macro / micro / weighted P/R/F1, per-class scores, the same headline
numbers per language, and the zero-shot cross-lingual transfer block. Single-label or multi-label ("multilabel").

Self-contained (an `evaluate` community metric): load it by path, offline, or from the Hub once pushed:

    import evaluate
    metric = evaluate.load("metrics/multilingual_classification")                 # single-label
    metric = evaluate.load("metrics/multilingual_classification", "multilabel")   # 0/1 rows per example
    metric.compute(predictions=[0, 2, 1], references=[0, 1, 1], label_names=["joy", "anger", "fear"],
                   languages=["eng", "spa", "spa"], train_languages=["eng"])
"""

import datasets
import evaluate
import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.metrics import precision_recall_fscore_support

_DESCRIPTION = __doc__
_CITATION = ""
_KWARGS_DESCRIPTION = """
Args:
    predictions: class ids (single-label) or 0/1 rows of length num_labels (multilabel).
    references: the same shape as predictions.
    label_names: the class names in id order (default: "0", "1", ...).
    languages: one language code per example; adds `per_language`.
    train_languages: the languages the model was trained on; with `languages`, adds `transfer` (macro F1 on the
        test languages, and which of them are zero-shot).
Returns:
    num_examples, accuracy (exact match for multilabel), {macro,micro,weighted}_{precision,recall,f1}, per_class,
    and per_language / transfer when asked. Averages run over the labels that occur in the references or the
    predictions: a class absent from both, e.g. in one language's slice, says nothing about the model.
"""

HEADLINE = ("num_examples", "accuracy", "macro_f1", "micro_f1", "weighted_f1")


def report(y_true, y_pred, label_names, multi_label):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        raise ValueError("Cannot compute metrics on an empty set of examples.")
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} references but {len(y_pred)} predictions.")
    label_ids = list(range(len(label_names)))
    if multi_label:
        present = [i for i in label_ids if y_true[:, i].any() or y_pred[:, i].any()]
    else:
        present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    result = {"num_examples": int(len(y_true)), "accuracy": float(accuracy_score(y_true, y_pred))}
    for average in ("macro", "micro", "weighted"):
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=present or None, average=average, zero_division=0
        )
        result[f"{average}_precision"] = float(precision)
        result[f"{average}_recall"] = float(recall)
        result[f"{average}_f1"] = float(f1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=label_ids, average=None, zero_division=0
    )
    result["per_class"] = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(label_names, precision, recall, f1, support)
    }
    return result


def per_language_report(y_true, y_pred, label_names, multi_label, languages):
    y_true, y_pred, languages = np.asarray(y_true), np.asarray(y_pred), np.asarray(languages)
    if len(languages) != len(y_true):
        raise ValueError(f"{len(languages)} language tags for {len(y_true)} examples.")
    scores = {}
    for language in sorted(set(languages.tolist())):
        rows = languages == language
        sub = report(y_true[rows], y_pred[rows], label_names, multi_label)
        scores[language] = {key: sub[key] for key in HEADLINE}
    return scores


def transfer_block(per_language, train_languages):
    """Macro F1 on each test language; the languages never trained on are the zero-shot ones."""
    test_languages = sorted(per_language)
    return {
        "train_languages": sorted(train_languages),
        "test_languages": test_languages,
        "zero_shot": [language for language in test_languages if language not in set(train_languages)],
        "accuracy": {language: per_language[language]["accuracy"] for language in test_languages},
        "macro_f1": {language: per_language[language]["macro_f1"] for language in test_languages},
    }


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MultilingualClassification(evaluate.Metric):
    def _info(self):
        value = datasets.Sequence(datasets.Value("int32")) if self.config_name == "multilabel" else datasets.Value("int32")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": value, "references": value}),
        )

    def _compute(self, predictions, references, label_names=None, languages=None, train_languages=None):
        multi_label = self.config_name == "multilabel"
        if label_names is None:
            width = len(predictions[0]) if multi_label else max(max(predictions), max(references)) + 1
            label_names = [str(index) for index in range(width)]
        result = report(references, predictions, list(label_names), multi_label)
        if languages is not None:
            result["per_language"] = per_language_report(references, predictions, label_names, multi_label, languages)
            if train_languages is not None:
                result["transfer"] = transfer_block(result["per_language"], train_languages)
        return result
