# Copyright 2026 The mbert-tiny-hub authors. Licensed under the Apache License, Version 2.0.
"""The hybrid loss: (1 - λ)·cross-entropy + λ·focal(γ), for single-label (softmax) and multi-label (sigmoid).

Both terms share the same per-class weights α, label smoothing and per-example weights:

single-label, C classes, smoothed target q_i = (1 - ε)·onehot(y_i) + ε / C, p_i = softmax(z_i):
    ce_i    = α[y_i] · Σ_c q_ic · (-log p_ic)
    focal_i = α[y_i] · (1 - p_{i,y_i})^γ · Σ_c q_ic · (-log p_ic)
multi-label, per class c, smoothed target q_ic = (1 - ε)·y_ic + ε / 2, p = sigmoid(z):
    bce_ic   = -(α[c]·q_ic·log p_ic + (1 - q_ic)·log(1 - p_ic))     (α weighs the positive term, as pos_weight)
    focal_ic = (1 - p_t)^γ · bce_ic,  with p_t = p_ic if y_ic = 1 else 1 - p_ic
    ce_i, focal_i = mean over classes
loss = Σ_i w_i · ((1 - λ)·ce_i + λ·focal_i) / Σ_i w_i              (w_i = per-example weight, 1 by default)

So λ = 0 without weights or smoothing is exactly `F.cross_entropy` / `F.binary_cross_entropy_with_logits`, and γ = 0
makes the focal term the α-weighted cross-entropy. Per-example weights carry the per-language weights
(`language_weights`), normalised to mean 1 over the training set so they change the balance, not the scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

CLASS_WEIGHTINGS = ("none", "inverse", "sqrt_inverse", "effective_number")
LANGUAGE_WEIGHTINGS = ("none", "inverse", "sqrt_inverse")


def class_weights_from_counts(
    counts: Sequence[float] | np.ndarray, method: str = "effective_number", beta: float = 0.999
) -> torch.Tensor:
    """Per-class weights α from label frequencies, normalised so they sum to the number of classes (mean 1).

    method:
        "inverse": α_c ∝ 1 / n_c.
        "sqrt_inverse": α_c ∝ 1 / sqrt(n_c) (a milder correction).
        "effective_number": α_c ∝ (1 - β) / (1 - β^n_c) (Cui et al., CVPR 2019): inverse frequency that saturates
            for large classes; β → 0 gives equal weights, β → 1 gives inverse frequency.
        "none": all ones.
    A class that never occurs is counted as occurring once, so its weight is the largest but finite.
    """
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    if counts.ndim != 1 or len(counts) == 0:
        raise ValueError(f"class_weights_from_counts needs one count per class; got shape {counts.shape}.")
    if method == "none":
        raw = np.ones_like(counts)
    elif method == "inverse":
        raw = 1.0 / counts
    elif method == "sqrt_inverse":
        raw = 1.0 / np.sqrt(counts)
    elif method == "effective_number":
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"effective_number needs 0 <= beta < 1; got beta={beta}.")
        raw = (1.0 - beta) / (1.0 - np.power(beta, counts))
    else:
        raise ValueError(f"Unknown class weighting {method!r}: use one of {', '.join(CLASS_WEIGHTINGS)}.")
    return torch.tensor(raw * len(raw) / raw.sum(), dtype=torch.float32)


def label_counts(labels: Iterable, num_labels: int, multi_label: bool) -> np.ndarray:
    """How often each class occurs; rows are class ids (single-label) or lists of class ids (multi-label)."""
    counts = np.zeros(num_labels, dtype=np.int64)
    for row in labels:
        for label in row if multi_label else (row,):
            if not 0 <= int(label) < num_labels:
                raise ValueError(f"Label id {label} is outside 0..{num_labels - 1}.")
            counts[int(label)] += 1
    return counts


def language_weights_from_counts(counts: Mapping[str, int], method: str = "sqrt_inverse") -> dict[str, float]:
    """A weight per language so that under-represented languages count more; normalised so the mean weight over
    the examples is 1 (Σ_l n_l·w_l = Σ_l n_l). "inverse": every language weighs the same in total;
    "sqrt_inverse": halfway (w_l ∝ 1 / sqrt(n_l)); "none": all ones."""
    if method not in LANGUAGE_WEIGHTINGS:
        raise ValueError(f"Unknown language weighting {method!r}: use one of {', '.join(LANGUAGE_WEIGHTINGS)}.")
    languages = sorted(counts)
    n = np.array([max(int(counts[language]), 1) for language in languages], dtype=np.float64)
    raw = {"none": np.ones_like(n), "inverse": 1.0 / n, "sqrt_inverse": 1.0 / np.sqrt(n)}[method]
    raw = raw * n.sum() / (raw * n).sum()
    return {language: float(weight) for language, weight in zip(languages, raw)}


def _per_example_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    gamma: float,
    class_weights: torch.Tensor | None,
    label_smoothing: float,
    multi_label: bool,
    eps: float = 1e-12,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(cross-entropy, focal) per example, as defined in the module docstring."""
    logits = logits.float()
    num_classes = logits.shape[-1]
    if multi_label:
        targets = labels.to(logits.dtype)
        smoothed = targets * (1.0 - label_smoothing) + 0.5 * label_smoothing
        log_p = F.logsigmoid(logits)  # log p
        log_not_p = F.logsigmoid(-logits)  # log (1 - p), stable for large |z|
        positive_weight = class_weights.to(logits.device) if class_weights is not None else 1.0
        bce = -(positive_weight * smoothed * log_p + (1.0 - smoothed) * log_not_p)
        log_p_true = torch.where(targets > 0.5, log_p, log_not_p)
        modulator = (-torch.expm1(log_p_true)).clamp(min=eps).pow(gamma) if gamma else torch.ones_like(bce)
        return bce.mean(dim=-1), (modulator * bce).mean(dim=-1)

    labels = labels.long().view(-1)
    log_probs = F.log_softmax(logits.view(-1, num_classes), dim=-1)
    nll = -log_probs.gather(1, labels[:, None]).squeeze(1)
    ce = nll if not label_smoothing else (1.0 - label_smoothing) * nll - label_smoothing * log_probs.mean(dim=-1)
    if class_weights is not None:
        ce = ce * class_weights.to(logits.device)[labels]
    # 1 - p_t computed as -expm1(log p_t): exact near p_t = 1, where 1 - exp(...) would round to 0.
    modulator = (-torch.expm1(-nll)).clamp(min=eps).pow(gamma) if gamma else torch.ones_like(ce)
    return ce, modulator * ce


def hybrid_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    focal_weight: float = 0.5,
    gamma: float = 2.0,
    class_weights: torch.Tensor | None = None,
    example_weights: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
    multi_label: bool = False,
) -> torch.Tensor:
    """(1 - focal_weight)·CE + focal_weight·Focal(gamma), see the module docstring for the exact definition.

    Args:
        logits: (batch, num_classes).
        labels: class ids (batch,) for single-label; a 0/1 matrix (batch, num_classes) for multi-label.
        focal_weight: λ in [0, 1]; 0 is plain (weighted) cross-entropy, 1 is plain focal loss.
        gamma: the focal exponent γ >= 0.
        class_weights: α, one weight per class (see `class_weights_from_counts`), or None.
        example_weights: one weight per example (e.g. its language's weight), or None.
        label_smoothing: ε in [0, 1).
        multi_label: sigmoid form instead of softmax.
    """
    if not 0.0 <= focal_weight <= 1.0:
        raise ValueError(f"focal_weight (λ) must be in [0, 1]; got {focal_weight}.")
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0; got {gamma}.")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1); got {label_smoothing}.")
    ce, focal = _per_example_loss(logits, labels, gamma, class_weights, label_smoothing, multi_label)
    per_example = (1.0 - focal_weight) * ce + focal_weight * focal if focal_weight else ce
    if example_weights is None:
        return per_example.mean()
    example_weights = example_weights.to(per_example.device, per_example.dtype).view(-1)
    return (per_example * example_weights).sum() / example_weights.sum().clamp(min=1e-12)


class HybridLoss(nn.Module):
    """`hybrid_loss` with its settings fixed: `HybridLoss(...)(logits, labels, example_weights=None)`."""

    def __init__(
        self,
        focal_weight: float = 0.5,
        gamma: float = 2.0,
        class_weights: torch.Tensor | Sequence[float] | None = None,
        label_smoothing: float = 0.0,
        multi_label: bool = False,
    ):
        super().__init__()
        self.focal_weight, self.gamma, self.label_smoothing, self.multi_label = (
            float(focal_weight),
            float(gamma),
            float(label_smoothing),
            bool(multi_label),
        )
        weights = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        if weights is not None and (not torch.isfinite(weights).all() or (weights < 0).any()):
            raise ValueError(f"class_weights must be finite and non-negative; got {weights.tolist()}.")
        self.register_buffer("class_weights", weights, persistent=False)
        # Validate the settings once, here, rather than on the first batch.
        hybrid_loss(
            torch.zeros(1, 2),
            torch.zeros(1, 2) if multi_label else torch.zeros(1, dtype=torch.long),
            self.focal_weight,
            self.gamma,
            None,
            None,
            self.label_smoothing,
            self.multi_label,
        )

    def forward(
        self, logits: torch.Tensor, labels: torch.Tensor, example_weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.class_weights is not None and self.class_weights.numel() != logits.shape[-1]:
            raise ValueError(
                f"HybridLoss has {self.class_weights.numel()} class weights but the model has {logits.shape[-1]} "
                "classes."
            )
        return hybrid_loss(
            logits,
            labels,
            self.focal_weight,
            self.gamma,
            self.class_weights,
            example_weights,
            self.label_smoothing,
            self.multi_label,
        )

    def extra_repr(self) -> str:
        weights = None if self.class_weights is None else [round(w, 3) for w in self.class_weights.tolist()]
        return (
            f"focal_weight={self.focal_weight}, gamma={self.gamma}, label_smoothing={self.label_smoothing}, "
            f"multi_label={self.multi_label}, class_weights={weights}"
        )


def distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float,
                    multi_label: bool = False) -> torch.Tensor:
    """T²·KL(softmax(teacher/T) ‖ softmax(student/T)), averaged over rows (Hinton et al. 2015): the T² keeps the
    gradient scale independent of the temperature.

    multi_label: the classes are independent sigmoids, not one softmax, so each class is its own two-way
    distribution: T²·KL(Bernoulli(σ(t_c/T)) ‖ Bernoulli(σ(s_c/T))), averaged over classes (as the multi-label task
    loss is) and rows. A softmax across independent labels would teach only their ranking within a text, not whether
    each emotion is present."""
    if temperature <= 0:
        raise ValueError(f"The distillation temperature must be > 0; got {temperature}.")
    if multi_label:
        student, teacher = student_logits.float() / temperature, teacher_logits.float() / temperature
        teacher_p = torch.sigmoid(teacher)
        kl = teacher_p * (F.logsigmoid(teacher) - F.logsigmoid(student)) + (1.0 - teacher_p) * (
            F.logsigmoid(-teacher) - F.logsigmoid(-student)
        )
        return kl.mean() * temperature**2 if kl.numel() else kl.sum()
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    rows = max(math.prod(student.shape[:-1]), 1)
    return F.kl_div(student, teacher, log_target=True, reduction="sum") / rows * temperature**2


__all__ = [
    "CLASS_WEIGHTINGS",
    "LANGUAGE_WEIGHTINGS",
    "HybridLoss",
    "class_weights_from_counts",
    "distillation_kl",
    "hybrid_loss",
    "label_counts",
    "language_weights_from_counts",
]
