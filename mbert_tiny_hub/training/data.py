"""What a run reads: tokenizers (the first candidate that loads), classification datasets (a data_scripts folder, a
Hub id or one data file; labels checked and encoded, missing splits carved from train) and raw-text corpora.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
from datasets import ClassLabel, List, Sequence as DatasetSequence, Value
from transformers import AutoTokenizer

from data_scripts import load_built_dataset

from ..config import ConfigError, ExperimentConfig
from ..hub_checks import is_hub_id


logger = logging.getLogger(__name__)


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


def load_tokenizer(candidates: str | Sequence[str], trust_remote_code: bool = False):
    """The first candidate (folder or Hub id) that loads; a clear error listing every failure when none does."""
    candidates = [candidates] if isinstance(candidates, str) else list(candidates or [])
    if not candidates:
        raise ConfigError("No tokenizer given: set model.tokenizer (a folder, a Hub id, or a list of candidates).")
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


def load_corpus(config: ExperimentConfig, with_language: bool = False):
    """The raw text of `data.corpus` (or of data.dataset's train split) as one Dataset with a `text` column (and,
    with `with_language`, a `language` column: the entry's `language_column`, "und" where a source has none)."""
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
