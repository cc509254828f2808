# Copyright 2026 The mbert-tiny-hub authors. Licensed under the Apache License, Version 2.0.
"""`transformers.Trainer` subclasses: the hybrid CE + focal loss, and knowledge distillation.

Both only change `compute_loss`; data loading, accelerate, checkpoints, resuming, logging and evaluation stay the
Trainer's. Batches may carry an `example_weight` column (e.g. per-language weights): it is kept through the
Trainer's column filtering and popped before the model's forward.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.data import SequentialSampler
from transformers import PreTrainedModel, Trainer

from .losses import HybridLoss, distillation_kl

EXAMPLE_WEIGHT = "example_weight"
# Class logits of a teacher that reads another tokenizer, computed once over the data (see DistillationTrainer).
TEACHER_LOGITS = "teacher_logits"
# Name of the learned student -> teacher hidden-state projection while it is attached to the student.
PROJECTION_ATTRIBUTE = "distillation_projection"


class HubCheckpointTrainer(Trainer):
    """A Trainer whose pushed checkpoint always reaches the Hub (`hub_strategy` checkpoint / all_checkpoints).

    transformers uploads the checkpoint it has just saved in the background and rotates old checkpoints
    (`save_total_limit`) right after; a checkpoint folder deleted before the upload has read it never arrives, so the
    Hub's `last-checkpoint` silently stops updating once the best checkpoint stops changing (the newest one is then the
    one rotated away). Here each checkpoint's upload finishes before training goes on."""

    def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
        super()._push_from_checkpoint(checkpoint_folder)
        pushing = getattr(self, "push_in_progress", None)
        if pushing is not None and self.args.hub_strategy in ("checkpoint", "all_checkpoints"):
            pushing.wait_until_done()


class HybridLossTrainer(HubCheckpointTrainer):
    """A Trainer whose loss is `modeling.losses.HybridLoss`: (1 - λ)·CE + λ·Focal(γ) with class, language
    (per-example) weights and label smoothing.

    Example:
    ```python
    >>> loss = HybridLoss(focal_weight=0.5, gamma=2.0, class_weights=class_weights_from_counts(counts))
    >>> trainer = HybridLossTrainer(model=model, args=args, train_dataset=train, eval_dataset=validation,
    ...                             processing_class=tokenizer, compute_metrics=compute_metrics, loss=loss)
    ```
    Without `loss`, the model's problem type decides: softmax cross-entropy, or sigmoid BCE for multi-label.
    """

    # compute_loss returns a per-batch mean: the Trainer divides it by the gradient-accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, *args, loss: HybridLoss | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if loss is None:
            problem_type = getattr(getattr(self.model, "config", None), "problem_type", None)
            loss = HybridLoss(focal_weight=0.0, gamma=0.0, multi_label=problem_type == "multi_label_classification")
        self.loss = loss
        # The loss is computed here, not in the model: never hand it `num_items_in_batch`.
        self.model_accepts_loss_kwargs = False

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if EXAMPLE_WEIGHT not in self._signature_columns:
            self._signature_columns.append(EXAMPLE_WEIGHT)

    def _get_eval_sampler(self, eval_dataset):
        # transformers 5 length-groups evaluation batches too under train_sampling_strategy="group_by_length", so
        # `predict` would return rows out of order; results pair predictions with rows (languages, baselines).
        if self.args.train_sampling_strategy == "group_by_length" and eval_dataset is not None:
            return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None
        return super()._get_eval_sampler(eval_dataset)

    def _split_inputs(self, inputs: dict) -> tuple[dict, torch.Tensor | None, torch.Tensor | None]:
        inputs = dict(inputs)  # the caller keeps its dict: prediction_step reads the labels from it afterwards
        return inputs, inputs.pop("labels", None), inputs.pop(EXAMPLE_WEIGHT, None)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs, labels, example_weights = self._split_inputs(inputs)
        if labels is None:
            raise ValueError(f"{type(self).__name__} needs a `labels` column in every batch.")
        outputs = model(**inputs)
        loss = self.loss(outputs["logits"], labels, example_weights)
        return (loss, outputs) if return_outputs else loss


def _unwrap(model: nn.Module) -> nn.Module:
    """The PreTrainedModel inside DDP / peft wrappers."""
    while hasattr(model, "module") and not isinstance(model, PreTrainedModel):
        model = model.module
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    return model


class DistillationTrainer(HybridLossTrainer):
    """Knowledge distillation from a frozen teacher into the student being trained:

        loss = alpha · task + (1 - alpha) · T² · KL(teacher/T ‖ student/T) + hidden_weight · MSE(hidden states)

    objective="classification": the task loss is the hybrid loss on the labels; the KL term compares class logits
        when the teacher is a classifier with the student's labels (`distil_logits=True`): one softmax over the
        classes, or for multi-label (independent sigmoid) classes one two-way KL per class. A masked-LM teacher has
        no class logits: it teaches through the hidden states only.
    objective="mlm": student and teacher are masked LMs; the task loss is the student's MLM cross-entropy and the
        KL compares the two vocabulary distributions at the masked positions (teacher columns `teacher_token_ids`).

    A teacher over another tokenizer (e5's XLM-R pieces teaching a WordPiece student) cannot read the student's ids:
    its class logits are computed once with its own tokenizer and come with each batch as `teacher_logits`; the KL
    term then needs no shared vocabulary (hidden states, which do, are off).

    `teacher_token_ids[i]` is the teacher's id of the student's token i (`PrunedVocabulary.kept_ids`): the student's
    token sequence is fed to the teacher as is, so positions line up for hidden-state matching. Student layer i is
    matched to teacher layer `hidden_layers[i]` (0-based transformer layers; embeddings are matched too). When the
    widths differ, a learned linear projection maps the student's hidden states to the teacher's width; it is
    attached to the student while training (so optimizer, DDP and checkpoints see it) and removed by
    `remove_projection()` before the final save.
    """

    def __init__(
        self,
        *args,
        teacher_model: PreTrainedModel,
        objective: str = "classification",
        temperature: float = 2.0,
        alpha: float = 0.5,
        distil_logits: bool = True,
        hidden_weight: float = 0.0,
        hidden_layers: Sequence[int] | None = None,
        teacher_token_ids: Sequence[int] | torch.Tensor | None = None,
        **kwargs,
    ):
        if objective not in ("classification", "mlm"):
            raise ValueError(f"Unknown distillation objective {objective!r}: use 'classification' or 'mlm'.")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1]; got {alpha}.")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0; got {temperature}.")
        if not distil_logits and hidden_weight <= 0:
            raise ValueError(
                "This teacher has no logits the student can match (e.g. a masked-LM teacher for a classifier): "
                "set hidden_weight > 0 so it teaches through the hidden states."
            )
        model = kwargs.get("model") if "model" in kwargs else args[0]
        self.objective, self.temperature, self.alpha = objective, float(temperature), float(alpha)
        self.distil_logits, self.hidden_weight = bool(distil_logits), float(hidden_weight)
        student_config, teacher_config = _unwrap(model).config, teacher_model.config
        if hidden_layers is None:
            hidden_layers = getattr(student_config, "teacher_layers", None)
        if self.hidden_weight > 0:
            if hidden_layers is None or len(hidden_layers) != student_config.num_hidden_layers:
                raise ValueError(
                    f"Hidden-state distillation needs one teacher layer per student layer "
                    f"({student_config.num_hidden_layers}); got {hidden_layers}."
                )
            if any(not 0 <= int(layer) < teacher_config.num_hidden_layers for layer in hidden_layers):
                raise ValueError(
                    f"hidden_layers {list(hidden_layers)} reach outside the teacher's "
                    f"{teacher_config.num_hidden_layers} layers."
                )
            if student_config.hidden_size != teacher_config.hidden_size and not hasattr(
                _unwrap(model), PROJECTION_ATTRIBUTE
            ):
                projection = nn.ModuleList(
                    nn.Linear(student_config.hidden_size, teacher_config.hidden_size)
                    for _ in range(len(hidden_layers) + 1)
                )
                setattr(_unwrap(model), PROJECTION_ATTRIBUTE, projection)
        # (student hidden_states index, teacher hidden_states index): index 0 is the embedding output.
        self.hidden_pairs = [(0, 0)] + [(i + 1, int(t) + 1) for i, t in enumerate(hidden_layers or [])]
        self.teacher_token_ids = None if teacher_token_ids is None else torch.as_tensor(teacher_token_ids).long()
        super().__init__(*args, **kwargs)
        self.teacher = teacher_model.to(self.args.device).eval()
        self.teacher.requires_grad_(False)
        if self.teacher_token_ids is not None:
            self.teacher_token_ids = self.teacher_token_ids.to(self.args.device)

    def remove_projection(self) -> None:
        """Detach the training-only hidden-state projection from the student (before saving the final model)."""
        student = _unwrap(self.model)
        if hasattr(student, PROJECTION_ATTRIBUTE):
            delattr(student, PROJECTION_ATTRIBUTE)

    def _teacher_outputs(self, inputs: dict, output_hidden_states: bool):
        teacher_inputs = {key: inputs[key] for key in ("attention_mask", "token_type_ids") if key in inputs}
        input_ids = inputs["input_ids"]
        if self.teacher_token_ids is not None:
            input_ids = self.teacher_token_ids.to(input_ids.device)[input_ids]
        with torch.no_grad():
            return self.teacher(input_ids=input_ids, output_hidden_states=output_hidden_states, **teacher_inputs)

    def _hidden_state_loss(self, model, student_hidden, teacher_hidden, attention_mask) -> torch.Tensor:
        projection = getattr(_unwrap(model), PROJECTION_ATTRIBUTE, None)
        losses = [
            hidden_state_mse(
                (projection[index](student_hidden[s]) if projection is not None else student_hidden[s]).float(),
                teacher_hidden[t].float(),
                attention_mask,
            )
            for index, (s, t) in enumerate(self.hidden_pairs)
        ]
        return torch.stack(losses).mean()

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if TEACHER_LOGITS not in self._signature_columns:
            self._signature_columns.append(TEACHER_LOGITS)

    @property
    def _multi_label(self) -> bool:
        """Independent sigmoid classes (multi-label): the KL term is then per class (see `distillation_kl`)."""
        return self.objective == "classification" and bool(getattr(self.loss, "multi_label", False))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs, labels, example_weights = self._split_inputs(inputs)
        precomputed = inputs.pop(TEACHER_LOGITS, None)
        if labels is None:
            raise ValueError("DistillationTrainer needs a `labels` column in every batch.")
        if precomputed is not None:  # the teacher's logits were computed once, up front: they came with the batch
            if self.hidden_weight > 0:
                raise ValueError("Hidden states cannot be matched across tokenizers: set hidden_weight to 0.")
            outputs = model(**inputs)
            task_loss = self.loss(outputs["logits"], labels, example_weights)
            kl = distillation_kl(outputs["logits"], precomputed.to(outputs["logits"].dtype), self.temperature,
                                 self._multi_label)
            loss = self.alpha * task_loss + (1.0 - self.alpha) * kl
            return (loss, outputs) if return_outputs else loss
        want_hidden = self.hidden_weight > 0
        if self.objective == "mlm":
            outputs = model(**inputs, labels=labels, output_hidden_states=want_hidden)
            task_loss = outputs["loss"]
        else:
            outputs = model(**inputs, output_hidden_states=want_hidden)
            task_loss = self.loss(outputs["logits"], labels, example_weights)
        teacher = self._teacher_outputs(inputs, want_hidden)

        loss = task_loss
        if self.distil_logits:
            teacher_logits = teacher["logits"]
            if self.objective == "mlm":
                masked = labels != -100
                teacher_logits = teacher_logits[masked]
                if self.teacher_token_ids is not None:
                    teacher_logits = teacher_logits[:, self.teacher_token_ids]
            student_logits = outputs["logits"]
            if student_logits.shape != teacher_logits.shape:
                raise ValueError(
                    f"Student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} "
                    "do not line up: the teacher must predict the student's labels (or, for mlm, cover its vocabulary)."
                )
            kl = (distillation_kl(student_logits, teacher_logits, self.temperature, self._multi_label)
                  if student_logits.numel() else 0.0)
            loss = self.alpha * task_loss + (1.0 - self.alpha) * kl
        if want_hidden:
            hidden = self._hidden_state_loss(
                model, outputs["hidden_states"], teacher["hidden_states"], inputs.get("attention_mask")
            )
            loss = loss + self.hidden_weight * hidden
        if return_outputs and self.objective == "classification" and "hidden_states" in outputs:
            outputs = type(outputs)(logits=outputs["logits"])  # evaluation gathers logits only
        return (loss, outputs) if return_outputs else loss


TEACHER_EMBEDDING = "teacher_embedding"
EMBEDDING_PROJECTION_ATTRIBUTE = "embedding_projection"


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors the attention mask keeps (the e5 / sentence-transformers pooling)."""
    mask = attention_mask[..., None].to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class SentenceEmbeddingDistillationTrainer(HubCheckpointTrainer):
    """General (task-agnostic) distillation through sentence embeddings, which needs no shared tokenizer:

        loss = embedding_weight · (1 - cos(P·pool(student), teacher_embedding)) + hidden_weight · MSE(hidden states)

    Each batch carries the teacher's (cached, normalised) sentence embedding of the same text in a
    `teacher_embedding` column; the student mean-pools its last hidden states over its own tokens, and a learned
    projection P maps them to the teacher's width when the two differ. So a student over any vocabulary (a pruned
    XLM-R vocabulary derived from the teacher, or a pruned mBERT WordPiece one) can learn from any teacher.

    Where the shapes allow (a student derived from this teacher, whose ids map to the teacher's through
    `teacher_token_ids`), `hidden_weight > 0` adds TinyBERT-style hidden-state matching: the teacher runs on the
    student's token sequence and each student layer matches the teacher layer it was taken from (projected when
    the widths differ). Projections are attached to the student while training and removed by
    `remove_projection()` before the final save.
    """

    def __init__(
        self,
        *args,
        teacher_hidden_size: int,
        embedding_weight: float = 1.0,
        hidden_weight: float = 0.0,
        teacher_model: PreTrainedModel | None = None,
        hidden_layers: Sequence[int] | None = None,
        teacher_token_ids: Sequence[int] | torch.Tensor | None = None,
        **kwargs,
    ):
        model = kwargs.get("model") if "model" in kwargs else args[0]
        student = _unwrap(model)
        student_config = student.config
        self.embedding_weight, self.hidden_weight = float(embedding_weight), float(hidden_weight)
        if self.embedding_weight <= 0 and self.hidden_weight <= 0:
            raise ValueError("Set embedding_weight > 0 or hidden_weight > 0: nothing would be distilled.")
        if student_config.hidden_size != teacher_hidden_size and not hasattr(student, EMBEDDING_PROJECTION_ATTRIBUTE):
            setattr(student, EMBEDDING_PROJECTION_ATTRIBUTE, nn.Linear(student_config.hidden_size, teacher_hidden_size))
        self.hidden_pairs: list[tuple[int, int]] = []
        if self.hidden_weight > 0:
            if teacher_model is None or teacher_token_ids is None:
                raise ValueError(
                    "Hidden-state distillation needs the teacher and the student's ids in the teacher's vocabulary "
                    "(a student derived from this teacher); the sentence-embedding objective does not."
                )
            hidden_layers = hidden_layers or getattr(student_config, "teacher_layers", None)
            if not hidden_layers or len(hidden_layers) != student_config.num_hidden_layers:
                raise ValueError(
                    f"Hidden-state distillation needs one teacher layer per student layer "
                    f"({student_config.num_hidden_layers}); got {hidden_layers}."
                )
            self.hidden_pairs = [(0, 0)] + [(i + 1, int(t) + 1) for i, t in enumerate(hidden_layers)]
            if student_config.hidden_size != teacher_hidden_size and not hasattr(student, PROJECTION_ATTRIBUTE):
                setattr(student, PROJECTION_ATTRIBUTE, nn.ModuleList(
                    nn.Linear(student_config.hidden_size, teacher_hidden_size) for _ in self.hidden_pairs
                ))
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False
        self.teacher = None
        if self.hidden_weight > 0:
            self.teacher = teacher_model.to(self.args.device).eval()
            self.teacher.requires_grad_(False)
            self.teacher_token_ids = torch.as_tensor(teacher_token_ids).long().to(self.args.device)

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if TEACHER_EMBEDDING not in self._signature_columns:
            self._signature_columns.append(TEACHER_EMBEDDING)

    def remove_projection(self) -> None:
        student = _unwrap(self.model)
        for name in (EMBEDDING_PROJECTION_ATTRIBUTE, PROJECTION_ATTRIBUTE):
            if hasattr(student, name):
                delattr(student, name)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = dict(inputs)
        target = inputs.pop(TEACHER_EMBEDDING)
        inputs.pop("labels", None)
        student = _unwrap(model)
        base = getattr(student, student.base_model_prefix, student)
        want_hidden = self.hidden_weight > 0
        outputs = base(**inputs, output_hidden_states=want_hidden)
        attention_mask = inputs["attention_mask"]
        loss = torch.zeros((), device=target.device)
        if self.embedding_weight > 0:
            pooled = mean_pool(outputs.last_hidden_state, attention_mask)
            projection = getattr(student, EMBEDDING_PROJECTION_ATTRIBUTE, None)
            if projection is not None:
                pooled = projection(pooled)
            cosine = nn.functional.cosine_similarity(pooled.float(), target.float(), dim=-1)
            loss = loss + self.embedding_weight * (1.0 - cosine).mean()
        if want_hidden:
            teacher_inputs = {key: inputs[key] for key in ("attention_mask", "token_type_ids") if key in inputs}
            with torch.no_grad():
                teacher_out = self.teacher(
                    input_ids=self.teacher_token_ids[inputs["input_ids"]], output_hidden_states=True, **teacher_inputs
                )
            projection = getattr(student, PROJECTION_ATTRIBUTE, None)
            losses = [
                hidden_state_mse(
                    (projection[index](outputs.hidden_states[s]) if projection is not None else outputs.hidden_states[s]).float(),
                    teacher_out.hidden_states[t].float(),
                    attention_mask,
                )
                for index, (s, t) in enumerate(self.hidden_pairs)
            ]
            loss = loss + self.hidden_weight * torch.stack(losses).mean()
        return (loss, {"loss": loss}) if return_outputs else loss


def hidden_state_mse(student: torch.Tensor, teacher: torch.Tensor, attention_mask: torch.Tensor | None = None):
    """Mean squared error between two (batch, seq, hidden) tensors over the unpadded positions."""
    mask = torch.ones(student.shape[:2], device=student.device) if attention_mask is None else attention_mask
    mask = mask[..., None].to(student.dtype)
    return ((student - teacher).pow(2) * mask).sum() / (mask.sum() * student.shape[-1]).clamp(min=1.0)


__all__ = [
    "EXAMPLE_WEIGHT",
    "TEACHER_LOGITS",
    "TEACHER_EMBEDDING",
    "DistillationTrainer",
    "HybridLossTrainer",
    "SentenceEmbeddingDistillationTrainer",
    "hidden_state_mse",
    "mean_pool",
]
