"""task: distillation: the teacher of a classification student, checked against the student's labels, and its
logits precomputed when it reads other pieces than the student."""

from __future__ import annotations

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


def teacher_tokenizer_if_different(config: ExperimentConfig, student_tokenizer):
    """The distillation teacher's tokenizer when its vocabulary is not the student's, else None."""
    teacher_tokenizer, _ = load_tokenizer([config.distillation.teacher])
    return None if teacher_tokenizer.get_vocab() == student_tokenizer.get_vocab() else teacher_tokenizer


def add_teacher_logits(tokenized, dataset, teacher, teacher_tokenizer, config: ExperimentConfig):
    """A `teacher_logits` column in the train and validation splits: the teacher's class logits for each text,
    read through the teacher's own tokenizer (so any student tokenizer can learn from them). They are computed once
    and cached under `distillation.teacher_cache_dir`, keyed by the teacher (`teacher_identity`), the texts and
    `max_length`, so every student distilled from one teacher on one dataset
    shares a single teacher pass; a killed pass resumes at its first missing shard."""
    teacher.eval()
    started, count = time.perf_counter(), 0
    name = config.distillation.teacher
    settings = {"output": "classification_logits", "max_length": config.model.max_length}
    for split in (config.data.train_split, config.data.validation_split):
        texts = list(dataset[split][config.data.text_column])  # a Column in datasets 5, not a list
        cached = cached_teacher_pass(
            name, texts, config.distillation.teacher_cache_dir, settings, TEACHER_LOGITS,
            lambda chunk: teacher_logits(teacher, teacher_tokenizer, chunk, config.model.max_length),
            description=f"the teacher's logits ({split})",
        )
        tokenized[split] = tokenized[split].add_column(TEACHER_LOGITS, list(cached[TEACHER_LOGITS]))
        count += len(texts)
    elapsed = time.perf_counter() - started
    logger.info(
        "Teacher logits computed with the teacher's own tokenizer (it does not share the student's), or read from "
        "the cache in %s: %d texts in %.0f s.", config.distillation.teacher_cache_dir, count, elapsed,
    )
    return tokenized


def teacher_logits(teacher, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> list[list[float]]:
    """The teacher's class logits for each text, in the texts' order. The texts are tokenized once and batched
    shortest first, so a batch is padded to its own longest text rather than to a long outlier somewhere in the
    split; with the attention mask the padding does not change a text's logits."""
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    order = sorted(range(len(texts)), key=lambda i: len(encoded["input_ids"][i]))
    logits: list[list[float] | None] = [None] * len(texts)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            features = [{key: values[i] for key, values in encoded.items()} for i in batch]
            for i, row in zip(batch, teacher(**tokenizer.pad(features, return_tensors="pt")).logits.float().tolist()):
                logits[i] = row
    return logits
