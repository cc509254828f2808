"""The project's metrics as `evaluate` modules (metrics/, loaded by path, offline): they give the numbers the
project has always reported (scikit-learn's definitions; mbert_tiny_hub.ranking for recommenders)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from mbert_tiny_hub.metrics import METRICS_DIR, classification_report, load_metric, make_compute_metrics

LABELS = ["joy", "anger", "fear", "sadness"]


def _data(seed=0, n=120, multi_label=False):
    rng = np.random.default_rng(seed)
    languages = rng.choice(["eng", "spa", "deu"], size=n)
    if multi_label:
        y_true = (rng.random((n, len(LABELS))) < 0.3).astype(int)
        y_pred = np.where(rng.random((n, len(LABELS))) < 0.7, y_true, 1 - y_true)
    else:
        y_true = rng.integers(0, len(LABELS), n)
        y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, len(LABELS), n))
    return y_true, y_pred, languages


def _present(y_true, y_pred, multi_label):
    if multi_label:
        return [i for i in range(len(LABELS)) if y_true[:, i].any() or y_pred[:, i].any()]
    return sorted(set(y_true.tolist()) | set(y_pred.tolist()))


@pytest.mark.parametrize("multi_label", [False, True])
def test_the_classification_module_gives_scikit_learns_per_language_macro_f1(multi_label):
    import evaluate

    y_true, y_pred, languages = _data(multi_label=multi_label)
    metric = evaluate.load(str(METRICS_DIR / "multilingual_classification"), "multilabel" if multi_label else None)
    result = metric.compute(predictions=y_pred.tolist(), references=y_true.tolist(), label_names=LABELS,
                            languages=languages.tolist(), train_languages=["eng"])
    assert result["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    present = _present(y_true, y_pred, multi_label)
    assert result["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=present, average="macro"))
    for language in ("eng", "spa", "deu"):
        rows = languages == language
        labels = _present(y_true[rows], y_pred[rows], multi_label)
        expected = f1_score(y_true[rows], y_pred[rows], labels=labels, average="macro", zero_division=0)
        assert result["per_language"][language]["macro_f1"] == pytest.approx(expected)
        assert result["transfer"]["macro_f1"][language] == pytest.approx(expected)
    assert result["transfer"]["zero_shot"] == ["deu", "spa"] and result["transfer"]["train_languages"] == ["eng"]


def test_compute_metrics_and_the_results_report_come_from_the_module():
    from transformers import EvalPrediction

    y_true, y_pred, languages = _data(seed=3)
    logits = np.eye(len(LABELS))[y_pred] * 5.0
    flat = make_compute_metrics(LABELS)(EvalPrediction(predictions=logits, label_ids=y_true))
    module = load_metric("multilingual_classification").compute(
        predictions=y_pred.tolist(), references=y_true.tolist(), label_names=LABELS
    )
    assert flat["macro_f1"] == module["macro_f1"] and flat["accuracy"] == module["accuracy"]
    report = classification_report(y_true, y_pred, LABELS, languages=languages)
    assert report["per_language"]["spa"]["macro_f1"] == pytest.approx(
        f1_score(y_true[languages == "spa"], y_pred[languages == "spa"],
                 labels=_present(y_true[languages == "spa"], y_pred[languages == "spa"], False), average="macro")
    )


def test_the_ranking_module_agrees_with_the_recommenders_metrics():
    import evaluate

    from mbert_tiny_hub.ranking import full_ranking_metrics

    rng = np.random.default_rng(0)
    users, items = 40, 60
    scores = rng.normal(size=(users, items)).astype(np.float32)
    scores[:, :5] = 0.0  # ties, ordered by column
    seen = [rng.choice(items, size=rng.integers(0, 10), replace=False).tolist() for _ in range(users)]
    targets = [rng.choice(items, size=rng.integers(1, 3), replace=False).tolist() for _ in range(users)]
    expected = full_ranking_metrics(scores, targets, seen, ks=(1, 5, 10))
    metric = evaluate.load(str(METRICS_DIR / "sequential_ranking"))
    result = metric.compute(predictions=scores.tolist(), references=targets, seen=seen, ks=[1, 5, 10])
    assert set(result) == set(expected)
    for key, value in expected.items():
        assert result[key] == pytest.approx(value), key
    # A seen item is never recommended: ranked first by score but excluded, the target below it moves up.
    best = [[float(i == 0) + float(i == 1) * 0.5 for i in range(items)]]
    assert metric.compute(predictions=best, references=[[1]], seen=[[0]], ks=[1])["recall@1"] == 1.0
