"""What an evaluation reads, and the checks on it: models and datasets loaded by local path or Hub id, the label
column and its names (CONTRIBUTING.md's contract), rows per language, and a model's outputs lined up with the
dataset's classes. Every bad input is an `EvaluationError` that says what is wrong, where, and what to do.

- `load_classifier`, `load_dataset_dict` and `model_task` load by local path or Hub id for `evaluate.py`
  (`mbert_tiny_hub.evaluation_cli`).
- `label_spec`, `label_matrix`, `filter_languages` and `align_labels` serve `mbert_tiny_hub.evaluation`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import datasets
import numpy as np
from datasets import ClassLabel, List, Sequence as SequenceFeature
from huggingface_hub import hf_hub_download
from peft import AutoPeftModelForSequenceClassification, PeftConfig
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import cached_file, find_adapter_config_file

from data_scripts import load_built_dataset

from .metrics import to_multi_hot
from .results import RESULTS_FILE


class EvaluationError(ValueError):
    """Bad input to an evaluation: the message says what is wrong, where, and what to do."""


# --------------------------------------------------------------------------------------------------------------
# Datasets: label columns, splits, languages
# --------------------------------------------------------------------------------------------------------------


def label_spec(features, label_column: str | None = None, source: str = "the dataset") -> tuple[str, list[str], bool]:
    """(label column, label names, multi-label?) from `datasets` features, per CONTRIBUTING.md's contract:
    `label: ClassLabel` is single-label, `labels: Sequence(ClassLabel)` is multi-label."""
    if label_column is None:
        candidates = [name for name in ("labels", "label") if name in features]
        if not candidates:
            raise EvaluationError(
                f"{source} has no 'label' or 'labels' column (columns: {', '.join(features)}): "
                "name the label column with --label-column."
            )
        label_column = candidates[0]
    if label_column not in features:
        raise EvaluationError(
            f"{source} has no label column {label_column!r} (columns: {', '.join(features)}): "
            "pick one of them with --label-column."
        )
    feature = features[label_column]
    if isinstance(feature, ClassLabel):
        return label_column, list(feature.names), False
    if isinstance(feature, (List, SequenceFeature)) and isinstance(feature.feature, ClassLabel):
        return label_column, list(feature.feature.names), True
    raise EvaluationError(
        f"Column {label_column!r} of {source} is {feature}, not ClassLabel or Sequence(ClassLabel): the evaluator "
        "reads label names from the features. Cast it, e.g. dataset.cast_column(column, ClassLabel(names=[...]))."
    )


def label_matrix(values: Sequence, num_labels: int, multi_label: bool, column: str, source: str) -> np.ndarray:
    """Class ids (single-label) or a 0/1 matrix (multi-label); a missing label (-1, None) is an error naming the row."""
    if multi_label:
        for row, labels in enumerate(values):
            if labels is None:
                raise EvaluationError(f"{source}, row {row}: column {column!r} is empty (None); use [] for no label.")
        try:
            return to_multi_hot(values, num_labels)
        except ValueError as error:
            raise EvaluationError(f"{source}, column {column!r}: {error}") from None
    labels = np.asarray([-1 if value is None else value for value in values], dtype=np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= num_labels))
    if len(bad):
        raise EvaluationError(
            f"{source}, row {int(bad[0])}: column {column!r} holds {int(labels[bad[0]])}, not a class id in "
            f"0..{num_labels - 1} ({len(bad)} such rows). Unlabelled rows cannot be evaluated: drop them first."
        )
    return labels


def check_not_empty(split, source: str) -> None:
    if len(split) == 0:
        raise EvaluationError(f"{source} has no rows: nothing to evaluate. Pick another split with --split.")


def filter_languages(split, languages: Sequence[str], language_column: str, source: str):
    """Rows of `split` whose language is in `languages`; every asked language must occur."""
    if language_column not in split.column_names:
        raise EvaluationError(
            f"{source} has no {language_column!r} column (columns: {', '.join(split.column_names)}), so it cannot be "
            "split by language. Name the column with --language-column."
        )
    present = set(split.unique(language_column))
    missing = [language for language in languages if language not in present]
    if missing:
        raise EvaluationError(
            f"{source} has no rows in language(s) {', '.join(missing)}; "
            f"languages present: {', '.join(sorted(present))}."
        )
    wanted = set(languages)
    return split.filter(lambda value: value in wanted, input_columns=language_column)


# --------------------------------------------------------------------------------------------------------------
# Models: label names
# --------------------------------------------------------------------------------------------------------------


def model_label_names(config) -> list[str]:
    id2label = {int(key): value for key, value in (config.id2label or {}).items()}
    return [id2label.get(index, f"LABEL_{index}") for index in range(config.num_labels)]


def align_labels(
    config, label_names: Sequence[str], multi_label: bool, model_name: str = "the model"
) -> list[int] | None:
    """Which model output column scores each dataset class, or None when they already line up.

    Same names in another order: the outputs are reordered. Generic names (LABEL_0, ...) with the right count:
    a warning, and output i is taken as class i. Anything else: an error listing both sets of names.
    """
    names = model_label_names(config)
    label_names = list(label_names)
    problem_type = getattr(config, "problem_type", None)
    if problem_type == "regression" or config.num_labels == 1 and len(label_names) != 1:
        raise EvaluationError(
            f"{model_name} is a regression model (one output); the dataset has classes {label_names}."
        )
    if multi_label and problem_type == "single_label_classification":
        raise EvaluationError(
            f"{model_name} is a single-label classifier (problem_type {problem_type!r}) but the dataset's label column "
            "is multi-label. Evaluate it on a single-label column (--label-column)."
        )
    if not multi_label and problem_type == "multi_label_classification":
        raise EvaluationError(
            f"{model_name} is a multi-label classifier (problem_type {problem_type!r}) but the dataset's label column "
            "is single-label. Evaluate it on a multi-label column (--label-column)."
        )
    generic = names == [f"LABEL_{index}" for index in range(len(names))]
    if names == label_names:
        return None
    if generic and len(names) == len(label_names):
        warnings.warn(
            f"{model_name} has no label names (LABEL_0..LABEL_{len(names) - 1}); taking output i as the dataset's "
            f"class i ({', '.join(label_names)}).",
            stacklevel=2,
        )
        return None
    if sorted(names) == sorted(label_names):
        return [names.index(name) for name in label_names]
    only_model = [name for name in names if name not in label_names]
    only_data = [name for name in label_names if name not in names]
    raise EvaluationError(
        f"The label names of {model_name} do not match the dataset's.\n"
        f"  model ({len(names)}): {names}\n  dataset ({len(label_names)}): {label_names}\n"
        f"  only in the model: {only_model}; only in the dataset: {only_data}.\n"
        "Evaluate on the dataset (or --label-column) the model was trained for."
    )


# --------------------------------------------------------------------------------------------------------------
# Loading by path or Hub id
# --------------------------------------------------------------------------------------------------------------


def model_task(name_or_path: str, revision: str | None = None) -> str:
    """"sequential-recommendation" for a BERT4Rec checkpoint (`model_type == "bert4rec"` in config.json), else
    "text-classification" (including LoRA adapter folders)."""
    path = cached_file(name_or_path, "config.json", revision=revision, _raise_exceptions_for_missing_entries=False)
    if path is None:
        return "text-classification"
    try:
        model_type = json.loads(Path(path).read_text(encoding="utf-8")).get("model_type")
    except (OSError, json.JSONDecodeError) as error:
        raise EvaluationError(f"{path}: not a readable JSON model config ({error}).") from None
    return "sequential-recommendation" if model_type == "bert4rec" else "text-classification"


def adapter_head_kwargs(name_or_path: str, revision: str | None = None) -> dict:
    """The labels an adapter's classification head was trained for, as `from_pretrained` keyword arguments for its
    base (`num_labels`, `id2label`, `label2id`, `problem_type`), read from the results.json saved beside the adapter.
    A base without a head (an MLM checkpoint) would otherwise get a 2-way head, or LABEL_0..n. {} when unknown."""
    folder = Path(name_or_path)
    try:
        if folder.is_dir():
            path = folder / RESULTS_FILE
        else:
            path = Path(hf_hub_download(name_or_path, RESULTS_FILE, revision=revision))
        dataset = json.loads(path.read_text(encoding="utf-8")).get("dataset") or {}
    except Exception:  # noqa: BLE001 - no results.json: the base's own head and labels
        return {}
    names = list(dataset.get("label_names") or [])
    if not names:
        return {}
    multi_label = bool(dataset.get("multi_label"))
    return {
        "num_labels": len(names),
        "id2label": dict(enumerate(names)),
        "label2id": {name: index for index, name in enumerate(names)},
        "problem_type": "multi_label_classification" if multi_label else "single_label_classification",
    }


def load_classifier(name_or_path: str, revision: str | None = None, trust_remote_code: bool = False):
    """(model, tokenizer) from a local folder or Hub id; LoRA adapter folders load through peft."""
    adapter_config = find_adapter_config_file(name_or_path, revision=revision)
    if adapter_config:
        model = AutoPeftModelForSequenceClassification.from_pretrained(
            name_or_path,
            revision=revision,
            trust_remote_code=trust_remote_code,
            **adapter_head_kwargs(name_or_path, revision),
        )
        base_model = PeftConfig.from_pretrained(name_or_path, revision=revision).base_model_name_or_path
        tokenizer_sources = [name_or_path, base_model]
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            name_or_path, revision=revision, trust_remote_code=trust_remote_code
        )
        tokenizer_sources = [name_or_path]
    errors = []
    for source in tokenizer_sources:
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, revision=revision if source == name_or_path else None)
            return model.eval(), tokenizer
        except (OSError, ValueError) as error:
            errors.append(f"{source}: {error}")
    raise EvaluationError(f"No tokenizer for {name_or_path}; tried " + "; ".join(errors))


def load_dataset_dict(name_or_path: str, config: str | None = None):
    """A DatasetDict from a data_scripts folder or Hub id (`datasets.load_dataset`) or a `save_to_disk` folder."""
    if (Path(name_or_path) / "dataset_dict.json").is_file():
        return datasets.load_from_disk(name_or_path)
    return load_built_dataset(name_or_path, config)


def get_split(dataset_dict, split: str, source: str):
    if split not in dataset_dict:
        raise EvaluationError(
            f"{source} has no split {split!r} (splits: {', '.join(dataset_dict)}): pick one with --split."
        )
    return dataset_dict[split]
