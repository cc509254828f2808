"""task: distillation: the teacher of a classification student, checked against the student's labels, and its
logits computed once, up front, whenever only logits are distilled."""

from __future__ import annotations

import hashlib
import logging
import time

import torch

from modeling.trainers import TEACHER_LOGITS

from ..config import ConfigError, ExperimentConfig
from ..teacher import cached_teacher_pass
from .data import LabelInfo, load_tokenizer
from .models import load_bert_like


logger = logging.getLogger(__name__)


def prepare_teacher(config: ExperimentConfig, labels: LabelInfo):
    """Load the distillation teacher and check that it can teach this student (labels, heads)."""
    distillation, source = config.distillation, config.source
    if not distillation.teacher:
        raise ConfigError(f"{source}: task distillation needs distillation.teacher (a checkpoint folder or Hub id).")
    if config.model.name_or_path is None and not config.model.preset:
        raise ConfigError(f"{source}: set model.preset (tiny2, tiny4, tiny6) for the student.")
    teacher = load_bert_like(distillation.teacher, source, distillation.teacher_trust_remote_code)
    architectures = " ".join(teacher.config.architectures or [type(teacher).__name__])
    is_classifier = "SequenceClassification" in architectures
    if is_classifier:
        teacher_labels = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
        if teacher_labels != labels.names:
            raise ConfigError(
                f"{source}: the teacher {distillation.teacher!r} predicts labels {teacher_labels} but the student "
                f"learns {labels.names} (column {labels.column!r}): distil from a teacher fine-tuned on the same "
                "labels, in the same order."
            )
        teacher_problem = getattr(teacher.config, "problem_type", None)
        if teacher_problem and teacher_problem != labels.problem_type:
            raise ConfigError(
                f"{source}: the teacher {distillation.teacher!r} is {teacher_problem} but the dataset is "
                f"{labels.problem_type}."
            )
    elif distillation.hidden_weight <= 0:
        raise ConfigError(
            f"{source}: the teacher {distillation.teacher!r} ({architectures}) has no classification head, so it can "
            "only teach through hidden states: set distillation.hidden_weight > 0."
        )
    kwargs = {
        "objective": "classification",
        "temperature": distillation.temperature,
        "alpha": distillation.alpha,
        "distil_logits": is_classifier,
        "hidden_weight": distillation.hidden_weight,
        "hidden_layers": distillation.hidden_layers,
    }
    return teacher, kwargs


def logits_reader(config: ExperimentConfig, student_tokenizer, kept_token_ids, hidden_weight: float):
    """The tokenizer the teacher's logits are computed through once, up front (`add_teacher_logits`), or None when
    the teacher must run live at every step: hidden-state matching needs it live. A teacher over other pieces than
    the student's reads its own tokenizer and never runs live (the trainer refuses hidden states then); a student
    derived from the teacher (`kept_token_ids`) is read through its own pieces, as the live teacher would read it."""
    if kept_token_ids is not None:
        return None if hidden_weight > 0 else student_tokenizer
    teacher_tokenizer, _ = load_tokenizer([config.distillation.teacher])
    if teacher_tokenizer.get_vocab() != student_tokenizer.get_vocab():
        return teacher_tokenizer
    return None if hidden_weight > 0 else teacher_tokenizer


def add_teacher_logits(tokenized, dataset, teacher, reader, config: ExperimentConfig, token_ids=None, device=None):
    """A `teacher_logits` column in the train and validation splits: the teacher's class logits for each text,
    computed once rather than at every training step (the trainer then never runs the teacher).

    `reader` is the tokenizer the teacher reads the texts through: its own, when the student's vocabulary is another
    one (so any student tokenizer can learn from them), or the student's, when the student was derived from the
    teacher (`token_ids[i]` is then the teacher's id of the student's piece i, as the trainer would map them live).
    The logits are cached under `distillation.teacher_cache_dir`, keyed by the teacher (`teacher_identity`), the
    texts, `max_length` and, for a derived student, its pieces, so every student distilled from one teacher on one
    dataset (every seed and epoch count) shares a single teacher pass; a killed pass resumes at its first missing
    shard. The pass runs on `device` (the training device)."""
    teacher.eval()
    if device is not None:
        teacher.to(device)
    started, count = time.perf_counter(), 0
    name = config.distillation.teacher
    settings = {"output": "classification_logits", "max_length": config.model.max_length}
    if token_ids is not None:
        token_ids = torch.as_tensor(token_ids).long()
        settings["student_pieces"] = hashlib.sha256(token_ids.numpy().astype("<i8").tobytes()).hexdigest()
    for split in (config.data.train_split, config.data.validation_split):
        texts = list(dataset[split][config.data.text_column])  # a Column in datasets 5, not a list
        cached = cached_teacher_pass(
            name, texts, config.distillation.teacher_cache_dir, settings, TEACHER_LOGITS,
            lambda chunk: teacher_logits(teacher, reader, chunk, config.model.max_length, token_ids=token_ids),
            description=f"the teacher's logits ({split})",
        )
        tokenized[split] = tokenized[split].add_column(TEACHER_LOGITS, list(cached[TEACHER_LOGITS]))
        count += len(texts)
    elapsed = time.perf_counter() - started
    logger.info(
        "Teacher logits computed once with %s, or read from the cache in %s: %d texts in %.0f s.",
        "the student's own pieces" if token_ids is not None else "the teacher's own tokenizer (it does not share "
        "the student's)", config.distillation.teacher_cache_dir, count, elapsed,
    )
    return tokenized


def teacher_logits(teacher, tokenizer, texts: list[str], max_length: int, batch_size: int = 64,
                   token_ids: torch.Tensor | None = None) -> list[list[float]]:
    """The teacher's class logits for each text, in the texts' order. The texts are tokenized once and batched
    shortest first, so a batch is padded to its own longest text rather than to a long outlier somewhere in the
    split; with the attention mask the padding does not change a text's logits. With `token_ids`, `tokenizer` is a
    derived student's and each of its ids i reaches the teacher as `token_ids[i]`."""
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    order = sorted(range(len(texts)), key=lambda i: len(encoded["input_ids"][i]))
    logits: list[list[float] | None] = [None] * len(texts)
    device = next(teacher.parameters()).device
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            features = [{key: values[i] for key, values in encoded.items()} for i in batch]
            inputs = dict(tokenizer.pad(features, return_tensors="pt"))
            if token_ids is not None:
                inputs["input_ids"] = token_ids[inputs["input_ids"]]
            inputs = {key: value.to(device) for key, value in inputs.items()}
            for i, row in zip(batch, teacher(**inputs).logits.float().tolist()):
                logits[i] = row
    return logits
