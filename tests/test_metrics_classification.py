"""mbert_tiny_hub.metrics against values worked out by hand (the arithmetic is in the comments)."""

import numpy as np
import pytest

from mbert_tiny_hub.metrics import (
    classification_report,
    confusion_matrix,
    log_prior,
    make_compute_metrics,
    predictions_from_logits,
    to_multi_hot,
    tune_logit_adjustment,
    tune_threshold,
)

NAMES = ["neg", "neu", "pos"]
# Single-label: 6 examples, 2 per class.
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])
# neg: tp 1, fp 1 (row 5), fn 1 (row 1) -> P 1/2, R 1/2, F1 1/2
# neu: tp 2, fp 1 (row 1), fn 0          -> P 2/3, R 1,   F1 4/5
# pos: tp 1, fp 0,         fn 1 (row 5)  -> P 1,   R 1/2, F1 2/3


def test_single_label_scores_match_hand_computed_values():
    report = classification_report(Y_TRUE, Y_PRED, NAMES)
    assert report["num_examples"] == 6
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_class"]["neg"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert report["per_class"]["neu"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert report["per_class"]["pos"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert report["macro_precision"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert report["macro_recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert report["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    # Single-label micro averages all equal accuracy; equal supports make weighted equal macro.
    assert report["micro_f1"] == pytest.approx(4 / 6)
    assert report["weighted_f1"] == pytest.approx(report["macro_f1"])


def test_per_language_scores_cover_only_that_languages_rows():
    languages = ["a", "a", "a", "b", "b", "b"]
    report = classification_report(Y_TRUE, Y_PRED, NAMES, languages=languages)
    # a: true [0 0 1], pred [0 1 1]: neg P 1 R 1/2 F1 2/3; neu P 1/2 R 1 F1 2/3; pos absent from both -> left out.
    assert report["per_language"]["a"]["num_examples"] == 3
    assert report["per_language"]["a"]["accuracy"] == pytest.approx(2 / 3)
    assert report["per_language"]["a"]["macro_f1"] == pytest.approx(2 / 3)
    # b: true [1 2 2], pred [1 2 0]: neg F1 0 (one false positive), neu F1 1, pos P 1 R 1/2 F1 2/3.
    assert report["per_language"]["b"]["accuracy"] == pytest.approx(2 / 3)
    assert report["per_language"]["b"]["macro_f1"] == pytest.approx((0 + 1 + 2 / 3) / 3)


def test_single_label_confusion_matrix_counts_references_by_prediction():
    matrix = confusion_matrix(Y_TRUE, Y_PRED, NAMES)
    assert matrix == {"labels": NAMES, "matrix": [[1, 1, 0], [0, 2, 0], [1, 0, 1]]}


# Multi-label: 4 examples x 3 labels.
M_TRUE = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
M_PRED = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 0]])
# label 0: tp 2, fp 0, fn 0 -> F1 1;  label 1: tp 1, fp 0, fn 1 -> P 1, R 1/2, F1 2/3;  label 2: tp 0, fp 1, fn 1 -> 0.
# micro: tp 3, fp 1, fn 2 -> P 3/4, R 3/5, F1 2/3.  Exact match: only row 3.


def test_multi_label_scores_match_hand_computed_values():
    report = classification_report(M_TRUE, M_PRED, NAMES, multi_label=True)
    assert report["accuracy"] == pytest.approx(0.25)
    assert [report["per_class"][name]["f1"] for name in NAMES] == pytest.approx([1.0, 2 / 3, 0.0])
    assert [report["per_class"][name]["support"] for name in NAMES] == [2, 2, 1]
    assert report["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert report["micro_precision"] == pytest.approx(0.75)
    assert report["micro_recall"] == pytest.approx(0.6)
    assert report["micro_f1"] == pytest.approx(2 / 3)
    # Weighted by support 2, 2, 1.
    assert report["weighted_f1"] == pytest.approx((2 * 1 + 2 * 2 / 3 + 1 * 0) / 5)


def test_multi_label_confusion_matrix_has_one_two_by_two_table_per_label():
    matrices = confusion_matrix(M_TRUE, M_PRED, NAMES, multi_label=True)
    assert matrices["per_label"]["neg"] == {"tn": 2, "fp": 0, "fn": 0, "tp": 2}
    assert matrices["per_label"]["neu"] == {"tn": 2, "fp": 0, "fn": 1, "tp": 1}
    assert matrices["per_label"]["pos"] == {"tn": 2, "fp": 1, "fn": 1, "tp": 0}


def test_multi_label_predictions_use_sigmoid_and_the_threshold():
    logits = np.array([[0.1, -0.2, 3.0]])  # sigmoid: 0.525, 0.450, 0.953
    assert predictions_from_logits(logits, multi_label=True).tolist() == [[1, 0, 1]]
    assert predictions_from_logits(logits, multi_label=True, threshold=0.6).tolist() == [[0, 0, 1]]
    assert predictions_from_logits(logits, multi_label=False).tolist() == [2]


def test_the_tuned_threshold_is_the_grid_point_with_the_best_macro_f1():
    # Positives score sigmoid 0.25-0.35, negatives 0.05-0.15: 0.5 predicts nothing, 0.2 separates them.
    probabilities = np.array([[0.30, 0.10], [0.25, 0.35], [0.05, 0.30], [0.15, 0.05], [0.35, 0.12], [0.10, 0.28]])
    references = (probabilities >= 0.2).astype(int)
    logits = np.log(probabilities / (1 - probabilities))
    assert classification_report(references, predictions_from_logits(logits, True), ["a", "b"], True)["macro_f1"] == 0
    threshold, macro_f1 = tune_threshold(logits, references, ["a", "b"])
    assert threshold in (0.2, 0.25) and macro_f1 == 1.0  # both separate them; the tie goes towards 0.5
    # A flat optimum keeps the grid point closest to 0.5.
    assert tune_threshold(np.full((2, 1), 5.0), np.ones((2, 1), dtype=int), ["a"])[0] == 0.5


def test_logit_adjustment_moves_predictions_to_the_rare_class_only_as_far_as_the_metric_gains():
    # 90 frequent / 10 rare examples; the model's logits favour the frequent class by 1.0 everywhere, so every rare
    # example whose evidence for its class is below 1.0 is lost unless the prior is taken out again.
    rng = np.random.default_rng(0)
    references = np.array([0] * 90 + [1] * 10)
    evidence = np.where(references == 1, rng.uniform(0.3, 0.9, 100), rng.uniform(-2.0, -1.2, 100))
    logits = np.stack([np.zeros(100), evidence - 1.0], axis=1)
    prior = log_prior([90, 10])
    assert prior == pytest.approx(np.log([0.9, 0.1]))
    tau, best, unadjusted = tune_logit_adjustment(logits, references, prior, ["frequent", "rare"])
    assert unadjusted < 0.5 and best == 1.0  # unadjusted: no rare example found; adjusted: all separated
    shift = tau * (prior[0] - prior[1])  # logit_rare - logit_frequent rises by τ·log(π_frequent / π_rare)
    assert 1.0 - 0.3 < shift < 1.0 + 1.2  # every rare example crosses, no frequent one does
    assert tau == min(t for t in np.round(np.arange(0, 2.01, 0.1), 1) if 1.0 - 0.3 < t * (prior[0] - prior[1]))
    # Logits already calibrated for the metric keep τ = 0 (ties go to the smallest τ).
    assert tune_logit_adjustment(np.eye(2)[references] * 10, references, prior, ["frequent", "rare"])[0] == 0.0
    with pytest.raises(ValueError, match="Unknown metric 'recall'"):
        tune_logit_adjustment(logits, references, prior, ["frequent", "rare"], metric="recall")
    with pytest.raises(ValueError, match="prior over 3 classes"):
        tune_logit_adjustment(logits, references, log_prior([1, 1, 1]), ["frequent", "rare"])


def test_label_lists_become_a_multi_hot_matrix_and_bad_ids_name_the_row():
    assert to_multi_hot([[0, 2], [], [1]], 3).tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]
    with pytest.raises(ValueError, match="Row 1: label id 5"):
        to_multi_hot([[0], [5]], 3)


def test_empty_and_misaligned_inputs_are_refused():
    with pytest.raises(ValueError, match="empty"):
        classification_report(np.array([]), np.array([]), NAMES)
    with pytest.raises(ValueError, match="empty"):
        confusion_matrix(np.array([]), np.array([]), NAMES)
    with pytest.raises(ValueError, match="6 references but 5 predictions"):
        classification_report(Y_TRUE, Y_PRED[:5], NAMES)
    with pytest.raises(ValueError, match="2 language tags for 6 examples"):
        classification_report(Y_TRUE, Y_PRED, NAMES, languages=["a", "b"])


def test_trainer_compute_metrics_returns_flat_floats_from_logits():
    from transformers import EvalPrediction

    metrics = make_compute_metrics(NAMES)(EvalPrediction(predictions=np.eye(3)[Y_PRED] * 4.0, label_ids=Y_TRUE))
    assert metrics["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert all(isinstance(value, float) for value in metrics.values())
