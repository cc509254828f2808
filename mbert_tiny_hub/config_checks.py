"""Validation of experiment configs (`mbert_tiny_hub.config`): unknown-key errors with the closest valid key, type
coercion of section values, range checks, the `training:` section against transformers.TrainingArguments, and the
checks of the bert4rec, data.corpus and hub sections.

`ConfigError` lives here so that this module imports nothing from `config` (which imports it and re-exports
`ConfigError`): `from mbert_tiny_hub.config import ConfigError` keeps working.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import TYPE_CHECKING, Any

from .card_validation import HUB_LICENSES

if TYPE_CHECKING:
    from .config import HubConfig, RecommenderConfig


class ConfigError(ValueError):
    """A config that cannot be used: the message names the file, the key and what to do."""


CORPUS_SOURCE_KEYS = (
    "path", "dataset", "config_name", "split", "text_column", "language_column", "language", "format", "load_kwargs",
    "max_rows",
)


# TrainingArguments fields a config must not set: the run decides them, or they would put a token in a file.
FORBIDDEN_TRAINING_KEYS = {
    "hub_token": "tokens never go in a config: set HF_TOKEN or run `hf auth login`",
    "resume_from_checkpoint": "use `train.py --resume` (a local checkpoint, else the Hub repo's last-checkpoint)",
}


RECOMMENDER_CHOICES = {
    "model": ("bert4rec", "sasrec_plus"),
    "preset": ("S", "M", "L", "XL", None),
    "catalogue": ("sequences", "items"),
    "title_text": ("title", "title_and_genres"),
    "crop": ("recent", "random"),
    "item_embedding_init": ("random", "cooccurrence"),
}
RECOMMENDER_EVALUATION_KEYS = (
    "ks", "num_negatives", "seed", "rare_item_threshold", "baselines", "batch_size", "cooccurrence",
)


def _check_recommender(section: RecommenderConfig, source: str) -> None:
    for key, choices in RECOMMENDER_CHOICES.items():
        value = getattr(section, key)
        if value not in choices:
            shown = ", ".join("null" if choice is None else repr(choice) for choice in choices)
            raise ConfigError(f"{source}: bert4rec.{key} must be one of {shown}; got {value!r}.")
    for key in section.evaluation:
        if key not in RECOMMENDER_EVALUATION_KEYS:
            raise _unknown_key_error(source, "bert4rec.evaluation", str(key), RECOMMENDER_EVALUATION_KEYS)
    if section.config:
        from modeling.bert4rec import Bert4RecConfig  # heavy (torch): only when a bert4rec.config is checked

        fields = set(Bert4RecConfig.__annotations__) - {"model_type"}
        for key in section.config:
            if key not in fields:
                raise _unknown_key_error(source, "bert4rec.config", str(key), fields)
        if "causal" in section.config:
            raise ConfigError(f"{source}: bert4rec.config.causal is set by bert4rec.model (sasrec_plus is causal).")
    _check_ranges(source, "bert4rec", dataclasses.asdict(section), SECTION_RANGES["bert4rec"])



def _close_match(key: str, valid: typing.Iterable[str]) -> str:
    match = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _unknown_key_error(source: str, path: str, key: str, valid: typing.Iterable[str]) -> ConfigError:
    valid = sorted(valid)
    where = f"{path}.{key}" if path else key
    return ConfigError(
        f"{source}: unknown config key {where!r}{_close_match(key, valid)}. "
        f"Valid keys{' of ' + path if path else ''}: {', '.join(valid)}."
    )


def _allowed_types(annotation) -> tuple:
    if isinstance(annotation, str):
        annotation = eval(annotation, {**vars(typing), **globals()})  # annotations are strings (future import)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(annotation) for t in _allowed_types(arg))
    return (origin or annotation,)


def _coerce(value: Any, annotation, source: str, where: str) -> Any:
    """Check a value against a field's annotation; numbers written as strings ("3e-5": YAML 1.1 reads that as a
    string) become numbers."""
    allowed = _allowed_types(annotation)
    if value is None:
        if type(None) in allowed or Any in allowed:
            return None
        raise ConfigError(f"{source}: {where} must not be empty (null).")
    if Any in allowed:
        return value
    if isinstance(value, bool):
        if bool in allowed:
            return value
    elif isinstance(value, int) and int in allowed:
        return value
    elif isinstance(value, (int, float)) and float in allowed:
        return float(value)
    elif isinstance(value, str):
        if str in allowed:
            return value
        for kind in (int, float):
            if kind in allowed:
                try:
                    return kind(value)
                except ValueError:
                    pass
    elif isinstance(value, list) and list in allowed:
        return value
    elif isinstance(value, dict) and dict in allowed:
        return value
    names = sorted({getattr(t, "__name__", str(t)) for t in allowed if t is not type(None)})
    raise ConfigError(f"{source}: {where} must be {' or '.join(names)}; got {value!r} ({type(value).__name__}).")


def _build_section(cls: type, values: Any, source: str, path: str):
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: {path} must be a mapping of keys to values; got {type(values).__name__}.")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise _unknown_key_error(source, path, str(key), fields)
        kwargs[key] = _coerce(value, fields[key].type, source, f"{path}.{key}")
    return cls(**kwargs)


def _check_training_section(values: dict[str, Any], source: str) -> dict[str, Any]:
    from transformers import TrainingArguments  # heavy: only when a `training:` section is checked

    fields = {field.name: field for field in dataclasses.fields(TrainingArguments) if field.init}
    checked = {}
    for key, value in values.items():
        if key in FORBIDDEN_TRAINING_KEYS:
            raise ConfigError(f"{source}: training.{key} is not allowed here: {FORBIDDEN_TRAINING_KEYS[key]}.")
        if key not in fields:
            raise ConfigError(
                f"{source}: unknown config key 'training.{key}'{_close_match(key, fields)}: `training` takes "
                'transformers.TrainingArguments fields (see `python -c "import transformers; '
                'help(transformers.TrainingArguments)"`).'
            )
        allowed = _allowed_types(fields[key].type)
        if isinstance(value, str) and str not in allowed and (float in allowed or int in allowed):
            value = _coerce(value, fields[key].type, source, f"training.{key}")
        numeric = (float in allowed or int in allowed) and str not in allowed
        if (isinstance(value, (list, dict)) and not ({list, dict, Any} & set(allowed))) or (
            numeric and value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)))
        ):
            kind = "a number" if numeric else "a single value"
            raise ConfigError(f"{source}: training.{key} must be {kind}; got {value!r} ({type(value).__name__}).")
        checked[key] = value
    _check_ranges(source, "training", checked, TRAINING_RANGES)
    return checked


# (low, high, low inclusive, high inclusive); None = unbounded. Checked when the config is read, so an impossible
# value is a message naming the key, not a traceback from torch after the data has loaded.
POSITIVE_INT = (1, None, True, True)
NON_NEGATIVE = (0, None, True, True)
POSITIVE = (0, None, False, True)
FRACTION_OPEN = (0, 1, False, False)
PROBABILITY = (0, 1, True, True)
SECTION_RANGES: dict[str, dict[str, tuple]] = {
    "model": {"max_length": POSITIVE_INT, "vocab_size": POSITIVE_INT},
    "data": {
        "validation_size": FRACTION_OPEN,
        "test_size": FRACTION_OPEN,
        "max_train_samples": POSITIVE_INT,
        "max_eval_samples": POSITIVE_INT,
    },
    "loss": {
        "focal_weight": PROBABILITY,
        "gamma": NON_NEGATIVE,
        "class_weights_beta": (0, 1, True, False),
        "label_smoothing": (0, 1, True, False),
    },
    "early_stopping": {"patience": POSITIVE_INT, "threshold": NON_NEGATIVE},
    "lora": {"r": POSITIVE_INT, "alpha": POSITIVE, "dropout": (0, 1, True, False)},
    "distillation": {"temperature": POSITIVE, "alpha": PROBABILITY, "hidden_weight": NON_NEGATIVE},
    "mlm": {"mlm_probability": FRACTION_OPEN, "validation_size": FRACTION_OPEN, "max_validation_blocks": POSITIVE_INT},
    "bert4rec": {
        "last_item_mask_probability": PROBABILITY,
        "cold_start_items": (0, 1, True, False),
        "cold_start_seed": NON_NEGATIVE,
    },
}
TRAINING_RANGES: dict[str, tuple] = {
    "per_device_train_batch_size": POSITIVE_INT,
    "per_device_eval_batch_size": POSITIVE_INT,
    "gradient_accumulation_steps": POSITIVE_INT,
    "num_train_epochs": POSITIVE,
    "learning_rate": NON_NEGATIVE,
    "weight_decay": NON_NEGATIVE,
    "warmup_steps": NON_NEGATIVE,
    "warmup_ratio": PROBABILITY,
    "logging_steps": POSITIVE,
    "eval_steps": POSITIVE,
    "save_steps": POSITIVE,
    "save_total_limit": POSITIVE_INT,
    "seed": NON_NEGATIVE,
    "max_grad_norm": NON_NEGATIVE,
    "dataloader_num_workers": NON_NEGATIVE,
}


def _check_ranges(source: str, section: str, values: dict[str, Any], ranges: dict[str, tuple]) -> None:
    for key, (low, high, low_inclusive, high_inclusive) in ranges.items():
        value = values.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        too_low = low is not None and (value < low if low_inclusive else value <= low)
        too_high = high is not None and (value > high if high_inclusive else value >= high)
        if too_low or too_high:
            bounds = []
            if low is not None:
                bounds.append(f"{'>=' if low_inclusive else '>'} {low}")
            if high is not None:
                bounds.append(f"{'<=' if high_inclusive else '<'} {high}")
            raise ConfigError(f"{source}: {section}.{key} must be {' and '.join(bounds)}; got {value!r}.")


def _check_logit_adjustment(setting, source: str) -> None:
    from .metrics import LOGIT_ADJUSTMENT_METRICS

    if isinstance(setting, str):
        if setting not in ("none", *LOGIT_ADJUSTMENT_METRICS):
            raise ConfigError(
                f"{source}: loss.logit_adjustment must be none, a number (τ) or the metric that chooses τ on the "
                f"validation split ({', '.join(LOGIT_ADJUSTMENT_METRICS)}); got {setting!r}."
            )
    elif isinstance(setting, bool) or not 0 <= setting <= 10:
        raise ConfigError(f"{source}: loss.logit_adjustment as a number (τ) must be between 0 and 10; got {setting!r}.")


def _check_corpus(corpus: list | None, source: str) -> None:
    if corpus is None:
        return
    if not isinstance(corpus, list):
        raise ConfigError(f"{source}: data.corpus must be a list of sources ({{path: ...}} or {{dataset: ...}}).")
    for index, entry in enumerate(corpus):
        where = f"data.corpus[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: {where} must be a mapping such as {{path: 'raw/*.csv', text_column: text}}.")
        for key in entry:
            if key not in CORPUS_SOURCE_KEYS:
                raise _unknown_key_error(source, where, str(key), CORPUS_SOURCE_KEYS)
        if ("path" in entry) == ("dataset" in entry):
            raise ConfigError(f"{source}: {where} needs exactly one of `path` (files) or `dataset` (folder/Hub id).")


def _check_hub_metadata(hub: HubConfig, source: str) -> None:
    """The card metadata a `hub:` section sets must be what the Hub accepts: checked now, not after training."""
    if hub.license is not None and hub.license not in HUB_LICENSES:
        raise ConfigError(
            f"{source}: hub.license {hub.license!r} is not a Hub licence identifier (e.g. apache-2.0, cc-by-4.0, "
            "mit, other)."
        )
    for code in hub.language or []:
        if not isinstance(code, str) or not code.isalpha() or not 2 <= len(code) <= 3:
            raise ConfigError(f"{source}: hub.language {code!r} is not an ISO 639 code (e.g. en, es, pcm).")
    references = {"hub.datasets": hub.datasets or [], "hub.base_model": [hub.base_model] if hub.base_model else []}
    for what, values in references.items():
        for value in values:
            if not isinstance(value, str) or value.startswith(("/", ".", "~")):
                raise ConfigError(f"{source}: {what} {value!r} must be a Hub repository id (org/name), not a path.")
    # Three-letter codes with a two-letter one (eng) are accepted here: the card writes them as ISO 639-1 (en).
