"""The hybrid loss (1 - λ)·CE + λ·Focal(γ): checked against torch's losses and hand computation, its gradients at
extreme probabilities, the class / language weights, and what it is for (minority-class recall)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from test_training_support import single_thread  # noqa: F401 - fixture

from modeling.losses import (
    HybridLoss,
    class_weights_from_counts,
    distillation_kl,
    hybrid_loss,
    label_counts,
    language_weights_from_counts,
)

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [-0.3, 1.7, -2.0], [1.0, 1.0, 1.0]])
LABELS = torch.tensor([0, 2, 0, 1])
MULTI_LABELS = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=torch.float32)


def test_lambda_zero_is_exactly_cross_entropy():
    assert hybrid_loss(LOGITS, LABELS, focal_weight=0.0, gamma=2.0) == pytest.approx(
        F.cross_entropy(LOGITS, LABELS).item(), abs=1e-7
    )
    multi = hybrid_loss(LOGITS, MULTI_LABELS, focal_weight=0.0, gamma=2.0, multi_label=True)
    assert multi == pytest.approx(F.binary_cross_entropy_with_logits(LOGITS, MULTI_LABELS).item(), abs=1e-7)


def test_lambda_zero_with_label_smoothing_matches_torch():
    ours = hybrid_loss(LOGITS, LABELS, focal_weight=0.0, label_smoothing=0.1)
    assert ours == pytest.approx(F.cross_entropy(LOGITS, LABELS, label_smoothing=0.1).item(), abs=1e-6)


def test_gamma_zero_focal_equals_class_weighted_cross_entropy():
    alpha = torch.tensor([0.5, 2.0, 1.5])
    focal = hybrid_loss(LOGITS, LABELS, focal_weight=1.0, gamma=0.0, class_weights=alpha)
    weighted_ce = F.cross_entropy(LOGITS, LABELS, weight=alpha, reduction="none").mean()
    assert focal == pytest.approx(weighted_ce.item(), abs=1e-6)
    # Multi-label: α weighs the positive term, as torch's pos_weight does.
    focal = hybrid_loss(LOGITS, MULTI_LABELS, focal_weight=1.0, gamma=0.0, class_weights=alpha, multi_label=True)
    assert focal == pytest.approx(
        F.binary_cross_entropy_with_logits(LOGITS, MULTI_LABELS, pos_weight=alpha).item(), abs=1e-6
    )


def test_single_label_hybrid_matches_hand_computation():
    logits, label, lam, gamma, alpha = [2.0, -1.0, 0.5], 2, 0.3, 2.0, [1.0, 1.0, 3.0]
    z = sum(math.exp(v) for v in logits)
    p = math.exp(logits[label]) / z
    ce = -math.log(p) * alpha[label]
    focal = (1 - p) ** gamma * ce
    expected = (1 - lam) * ce + lam * focal
    ours = hybrid_loss(torch.tensor([logits]), torch.tensor([label]), lam, gamma, torch.tensor(alpha))
    assert ours.item() == pytest.approx(expected, rel=1e-6)


def test_multi_label_hybrid_matches_hand_computation():
    logits, targets, lam, gamma = [1.5, -0.5], [1.0, 0.0], 0.5, 2.0
    sig = [1 / (1 + math.exp(-v)) for v in logits]
    bce = [-(t * math.log(s) + (1 - t) * math.log(1 - s)) for s, t in zip(sig, targets)]
    p_true = [s if t else 1 - s for s, t in zip(sig, targets)]
    focal = [(1 - p) ** gamma * b for p, b in zip(p_true, bce)]
    expected = (1 - lam) * sum(bce) / 2 + lam * sum(focal) / 2
    ours = hybrid_loss(torch.tensor([logits]), torch.tensor([targets]), lam, gamma, multi_label=True)
    assert ours.item() == pytest.approx(expected, rel=1e-6)


def test_focal_term_down_weights_easy_examples_more_than_hard_ones():
    easy, hard = torch.tensor([[6.0, 0.0]]), torch.tensor([[0.2, 0.0]])
    label = torch.tensor([0])
    ratio_easy = hybrid_loss(easy, label, 1.0, 2.0) / hybrid_loss(easy, label, 0.0)
    ratio_hard = hybrid_loss(hard, label, 1.0, 2.0) / hybrid_loss(hard, label, 0.0)
    assert ratio_easy < 1e-4 < ratio_hard < 1.0


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
def test_gradients_are_finite_for_probabilities_near_zero_and_one(gamma, multi_label):
    logits = torch.tensor(
        [[80.0, -80.0, 0.0], [-80.0, 80.0, 0.0], [1e-4, 0.0, -1e-4], [300.0, -300.0, 0.0]], requires_grad=True
    )
    labels = MULTI_LABELS if multi_label else torch.tensor([0, 0, 1, 1])  # confident right, confident wrong, unsure
    loss = hybrid_loss(
        logits,
        labels,
        focal_weight=0.7,
        gamma=gamma,
        class_weights=torch.tensor([1.0, 4.0, 0.5]),
        example_weights=torch.tensor([1.0, 2.0, 0.5, 1.0]),
        label_smoothing=0.1,
        multi_label=multi_label,
    )
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_gradients_are_finite_in_half_precision_inputs():
    logits = torch.tensor([[30.0, -30.0], [-30.0, 30.0]], dtype=torch.bfloat16, requires_grad=True)
    loss = hybrid_loss(logits, torch.tensor([0, 0]), 0.5, 2.0)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(logits.grad.float()).all()


def test_class_weights_apply_to_the_true_class_of_each_example():
    alpha = torch.tensor([1.0, 5.0, 1.0])
    per_example = F.cross_entropy(LOGITS, LABELS, reduction="none")
    expected = (per_example * alpha[LABELS]).mean()
    assert hybrid_loss(LOGITS, LABELS, 0.0, class_weights=alpha).item() == pytest.approx(expected.item(), rel=1e-6)


def test_per_language_example_weights_give_a_weighted_mean_like_duplicating_examples():
    # Example weights 2 for the first two examples (one language), 1 for the others: the same as repeating them.
    weights = torch.tensor([2.0, 2.0, 1.0, 1.0])
    weighted = hybrid_loss(LOGITS, LABELS, 0.5, 2.0, example_weights=weights)
    repeated = hybrid_loss(torch.cat([LOGITS[:2], LOGITS]), torch.cat([LABELS[:2], LABELS]), 0.5, 2.0)
    assert weighted.item() == pytest.approx(repeated.item(), rel=1e-6)


def test_inverse_class_weights_are_inverse_frequency_normalised_to_the_number_of_classes():
    weights = class_weights_from_counts([90, 9, 1], "inverse")
    raw = np.array([1 / 90, 1 / 9, 1.0])
    np.testing.assert_allclose(weights.numpy(), raw * 3 / raw.sum(), rtol=1e-6)
    assert weights.sum().item() == pytest.approx(3.0)


def test_effective_number_weights_go_from_uniform_to_inverse_frequency_with_beta():
    counts = [1000, 100, 10]
    np.testing.assert_allclose(
        class_weights_from_counts(counts, "effective_number", beta=0.0).numpy(), [1, 1, 1], rtol=1e-6
    )
    close_to_inverse = class_weights_from_counts(counts, "effective_number", beta=0.999999)
    np.testing.assert_allclose(
        close_to_inverse.numpy(), class_weights_from_counts(counts, "inverse").numpy(), rtol=1e-2
    )
    middle = class_weights_from_counts(counts, "effective_number", beta=0.99).numpy()
    assert middle[0] < middle[1] < middle[2]


def test_a_class_that_never_occurs_gets_a_large_finite_weight():
    weights = class_weights_from_counts([50, 0], "inverse")
    assert torch.isfinite(weights).all() and weights[1] > weights[0]


def test_label_counts_read_class_ids_and_label_lists():
    np.testing.assert_array_equal(label_counts([0, 2, 2, 1], 3, multi_label=False), [1, 1, 2])
    np.testing.assert_array_equal(label_counts([[0, 2], [], [2]], 3, multi_label=True), [1, 0, 2])
    with pytest.raises(ValueError, match="outside 0..2"):
        label_counts([3], 3, multi_label=False)


def test_language_weights_keep_the_mean_example_weight_at_one():
    counts = {"eng": 900, "swa": 100}
    for method, expected_ratio in (("inverse", 9.0), ("sqrt_inverse", 3.0)):
        weights = language_weights_from_counts(counts, method)
        assert weights["swa"] / weights["eng"] == pytest.approx(expected_ratio)
        assert (900 * weights["eng"] + 100 * weights["swa"]) / 1000 == pytest.approx(1.0)
    inverse = language_weights_from_counts(counts, "inverse")
    assert 900 * inverse["eng"] == pytest.approx(100 * inverse["swa"])  # every language weighs the same in total


def test_language_weights_do_nothing_on_a_single_language_set():
    # GoEmotions (English) and POLAR Hausa have one language: every weighting gives every example weight 1, so the
    # loss ablation's "language weights on / off" can only differ on a multilingual training set.
    for method in ("none", "inverse", "sqrt_inverse"):
        assert language_weights_from_counts({"hau": 2921}, method) == {"hau": pytest.approx(1.0)}


def test_bad_settings_are_rejected_with_the_setting_named():
    with pytest.raises(ValueError, match="focal_weight"):
        HybridLoss(focal_weight=1.5)
    with pytest.raises(ValueError, match="gamma"):
        HybridLoss(gamma=-1)
    with pytest.raises(ValueError, match="class weighting 'inverted'"):
        class_weights_from_counts([1, 2], "inverted")
    with pytest.raises(ValueError, match="3 class weights but the model has 2"):
        HybridLoss(class_weights=[1.0, 1.0, 1.0])(torch.zeros(1, 2), torch.tensor([0]))


def test_distillation_kl_is_zero_for_identical_logits_and_matches_hand_computation():
    assert distillation_kl(LOGITS, LOGITS, 2.0).item() == pytest.approx(0.0, abs=1e-7)
    student, teacher, t = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]]), 2.0
    ps = F.softmax(student / t, -1)[0].tolist()
    pt = F.softmax(teacher / t, -1)[0].tolist()
    expected = t**2 * sum(q * math.log(q / p) for p, q in zip(ps, pt))
    assert distillation_kl(student, teacher, t).item() == pytest.approx(expected, rel=1e-6)


def test_multi_label_distillation_kl_is_per_class_and_sees_what_a_softmax_misses():
    """Independent labels: each class is a two-way distribution. A teacher sure every emotion is present and a student
    sure none is give a softmax KL of 0 (both uniform across classes); the per-class KL is large."""
    teacher, student, t = torch.full((2, 3), 3.0), torch.full((2, 3), -3.0), 2.0
    assert distillation_kl(student, teacher, t).item() == pytest.approx(0.0, abs=1e-6)
    assert distillation_kl(student, teacher, t, multi_label=True).item() > 1.0
    assert distillation_kl(LOGITS, LOGITS, t, multi_label=True).item() == pytest.approx(0.0, abs=1e-7)
    student, teacher = torch.tensor([[1.0, -2.0], [0.5, 0.0]]), torch.tensor([[0.0, 2.0], [-1.0, 3.0]])
    terms = []
    for s_row, t_row in zip(student.tolist(), teacher.tolist()):
        for s_c, t_c in zip(s_row, t_row):
            p, q = 1 / (1 + math.exp(-s_c / t)), 1 / (1 + math.exp(-t_c / t))
            terms.append(q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p)))
    expected = t**2 * sum(terms) / len(terms)  # mean over rows and classes, as the multi-label task loss
    assert distillation_kl(student, teacher, t, multi_label=True).item() == pytest.approx(expected, rel=1e-6)


def _imbalanced_token_problem(count: int, seed: int):
    """Class 1 is 10% of the data. Token 5 occurs in 70% of class-1 and 15% of class-0 sequences, so even a perfect
    cross-entropy model predicts class 0 when it sees token 5 (P(class 1 | token 5) = 0.34)."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(count) < 0.1).astype(np.int64)
    ids = rng.integers(6, 40, size=(count, 8))
    cue = rng.random(count) < np.where(labels == 1, 0.7, 0.15)
    ids[cue, rng.integers(1, 8, size=int(cue.sum()))] = 5
    ids[:, 0] = 2  # [CLS]
    return {"input_ids": ids.tolist(), "attention_mask": np.ones_like(ids).tolist(), "labels": labels.tolist()}


def _minority_recall(loss: HybridLoss, tmp_path, name: str) -> float:
    from datasets import Dataset
    from transformers import TrainingArguments, set_seed

    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForSequenceClassification
    from modeling.trainers import HybridLossTrainer

    set_seed(0)
    config = MBertTinyConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=2,
        max_position_embeddings=16,
    )
    args = TrainingArguments(
        str(tmp_path / name),
        max_steps=150,
        per_device_train_batch_size=64,
        learning_rate=3e-3,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=0,
        logging_strategy="no",
        dataloader_pin_memory=False,
    )
    trainer = HybridLossTrainer(
        model=MBertTinyForSequenceClassification(config),
        args=args,
        train_dataset=Dataset.from_dict(_imbalanced_token_problem(4000, seed=1)),
        loss=loss,
    )
    trainer.train()
    test = _imbalanced_token_problem(4000, seed=2)
    predictions = trainer.predict(Dataset.from_dict(test)).predictions.argmax(-1)
    labels = np.array(test["labels"])
    return float((predictions[labels == 1] == 1).mean())


@pytest.mark.usefixtures("single_thread")
def test_hybrid_loss_with_class_weights_raises_minority_recall_over_plain_cross_entropy(tmp_path):
    counts = label_counts(_imbalanced_token_problem(4000, seed=1)["labels"], 2, multi_label=False)
    plain = _minority_recall(HybridLoss(focal_weight=0.0, gamma=0.0), tmp_path, "ce")
    hybrid = _minority_recall(
        HybridLoss(focal_weight=0.5, gamma=2.0, class_weights=class_weights_from_counts(counts, "inverse")),
        tmp_path,
        "hybrid",
    )
    print(f"minority recall: cross-entropy {plain:.3f}, hybrid {hybrid:.3f}")  # the README's figures (pytest -s)
    assert hybrid >= plain + 0.3, f"minority recall: hybrid {hybrid:.3f} vs cross-entropy {plain:.3f}"


def test_predict_keeps_row_order_when_training_batches_are_length_grouped(tmp_path):
    """transformers 5 also length-groups evaluation batches under train_sampling_strategy="group_by_length"; the
    project's results pair predictions with rows (languages, baselines), so `predict` must keep the rows' order."""
    from datasets import Dataset
    from transformers import TrainingArguments, set_seed

    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForSequenceClassification
    from modeling.trainers import HybridLossTrainer

    set_seed(0)
    rng = np.random.default_rng(0)
    rows = [rng.integers(3, 40, size=int(length)).tolist() for length in rng.integers(2, 30, size=64)]
    dataset = Dataset.from_dict({"input_ids": rows, "labels": [index % 2 for index in range(len(rows))]})

    def pad(features):
        width = max(len(feature["input_ids"]) for feature in features)
        ids = torch.zeros(len(features), width, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, feature in enumerate(features):
            ids[row, : len(feature["input_ids"])] = torch.tensor(feature["input_ids"])
            mask[row, : len(feature["input_ids"])] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([f["labels"] for f in features])}

    model = MBertTinyForSequenceClassification(
        MBertTinyConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=2, max_position_embeddings=32)
    ).eval()
    args = TrainingArguments(
        str(tmp_path), per_device_eval_batch_size=8, train_sampling_strategy="group_by_length", report_to="none",
        disable_tqdm=True, dataloader_pin_memory=False,
    )
    trainer = HybridLossTrainer(model=model, args=args, data_collator=pad)
    prediction = trainer.predict(dataset)
    assert prediction.label_ids.tolist() == dataset["labels"]
    with torch.no_grad():
        expected = torch.cat([model(input_ids=torch.tensor([row])).logits for row in rows]).numpy()
    np.testing.assert_allclose(prediction.predictions, expected, atol=1e-5)
