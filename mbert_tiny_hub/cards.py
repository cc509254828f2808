"""Model cards from evaluation results: YAML metadata (with a `model-index`) and a Markdown body, rendered from the
Jinja templates in `model_cards/`.

Every number in a card comes from the results JSON (`results.json`, schema in CONTRIBUTING.md), the saved config
or the adapter config; none is typed by hand. A section whose numbers are absent (no latency, no transfer run, no
baselines) is left out, and the renderer refuses to print `None`.

The metadata (`model-index`, tags, widget) comes from `mbert_tiny_hub.card_metadata`, the Markdown body from
`mbert_tiny_hub.card_rendering`.

    write_model_card("outputs/mbert-tiny4-brighter", "outputs/mbert-tiny4-brighter/results.json",
                     repo_id="org/mbert-tiny4-brighter")
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from huggingface_hub import ModelCard, ModelCardData

from .card_metadata import (
    _dataset_pretty_name,
    _hub_dataset_ids,
    _hub_languages,
    _looks_like_hub_id,
    _metric_ids,
    _mlm_summary,
    _tags,
    eval_results_from,
    widget_examples,
    without_local_paths,
)
from .card_rendering import (
    MODEL_CARDS_DIR,
    _adapter_summary,
    _architecture,
    _classification_tables,
    _config_yaml,
    _ranking_tables,
    _training_summary,
    _transfer_table,
    max_input_length,
    render_template,
)
from .card_validation import hub_language_code, validate_card_metadata
from .files import atomic_write

TEMPLATES = {
    "text-classification": "mbert_tiny_classifier.md",
    "lora": "lora_adapter.md",
    "sequential-recommendation": "bert4rec.md",
    "fill-mask": "mbert_tiny_mlm.md",
}
DEFAULT_LICENSE = "apache-2.0"
# Explicit, never inferred: the Hub has no recommendation task, and left to infer from BERT4Rec's auto_map
# (AutoModelForMaskedLM) it would offer a fill-mask widget that cannot run a recommender.
PIPELINE_TAGS = {"text-classification": "text-classification", "fill-mask": "fill-mask", "sequential-recommendation": "other"}
# Evaluation plots (written next to results.json by train.py and evaluate.py) that a card embeds, in this order.
CARD_PLOTS = (
    ("per_language_f1.png", "Macro F1 per language, this model next to the baselines"),
    ("per_class_f1.png", "F1 per class, this model next to the baselines"),
    ("confusion_matrix.png", "Confusion matrix on the test split"),
    ("transfer.png", "Zero-shot cross-lingual transfer"),
    ("pareto.png", "Quality against latency"),
)
# train_config values that say the model started from random weights (see `started_from_scratch`).
SCRATCH_VALUES = {"random", "scratch", "from_scratch", "random_init", "none"}


def write_model_card(
    output_dir: str | os.PathLike,
    results: dict | str | os.PathLike | None = None,
    train_config: dict | str | os.PathLike | None = None,
    *,
    repo_id: str | None = None,
    base_model: str | None = None,
    template: str | os.PathLike | None = None,
    license: str | None = None,
    datasets: list[str] | None = None,
    tags: list[str] | None = None,
) -> Path:
    """Render `README.md` in `output_dir` from the results JSON and return its path.

    `results` and `train_config` are dicts or paths; when None, `output_dir/results.json` and
    `output_dir/train_config.yaml` are read if they exist. `repo_id` names the model in the card and in its
    "how to use" snippet. License, datasets and tags default to the `hub:` section of the train config.
    """
    output_dir = Path(output_dir)
    card = build_model_card(
        output_dir,
        results,
        train_config,
        repo_id=repo_id,
        base_model=base_model,
        template=template,
        license=license,
        datasets=datasets,
        tags=tags,
    )
    validate_card_metadata(card, where=f"{output_dir / 'README.md'}")
    path = output_dir / "README.md"
    with atomic_write(path) as temporary:
        temporary.write_text(str(card), encoding="utf-8")
    return path


def build_model_card(
    output_dir: str | os.PathLike,
    results: dict | str | os.PathLike | None = None,
    train_config: dict | str | os.PathLike | None = None,
    *,
    repo_id: str | None = None,
    base_model: str | None = None,
    template: str | os.PathLike | None = None,
    license: str | None = None,
    datasets: list[str] | None = None,
    tags: list[str] | None = None,
) -> ModelCard:
    """The card `write_model_card` writes, as a `huggingface_hub.ModelCard`."""
    output_dir = Path(output_dir)
    results = _load(results, output_dir / "results.json", "results")
    train_config = _load(train_config, output_dir / "train_config.yaml", "train config")
    model_config = _load(None, output_dir / "config.json", "config")
    adapter_config = _load(None, output_dir / "adapter_config.json", "adapter config")
    training_args = _load(None, output_dir / "training_args.json", "training arguments")
    tokenizer_config = _load(None, output_dir / "tokenizer_config.json", "tokenizer config")
    hub_settings = (train_config or {}).get("hub") or {}

    is_adapter = adapter_config is not None
    task = (results or {}).get("task") or _task_from_config(model_config, train_config)
    kind = "lora" if is_adapter else task
    if kind not in TEMPLATES and template is None:
        raise ValueError(
            f"No model card template for task {task!r} (results.json 'task'); known: {', '.join(TEMPLATES)}. "
            "Pass template=path/to/template.md."
        )
    if results is not None:
        _check_results(results)

    model_name = (repo_id or output_dir.resolve().name).split("/")[-1]
    base_model = base_model or hub_settings.get("base_model")
    if is_adapter:
        base_model = base_model or adapter_config.get("base_model_name_or_path")
    elif base_model is None and model_config and model_config.get("teacher_name_or_path"):
        base_model = model_config["teacher_name_or_path"] if not started_from_scratch(train_config) else None
    dataset = (results or {}).get("dataset") or {}
    languages = list(
        dict.fromkeys(hub_language_code(code) for code in hub_settings.get("language") or _hub_languages(dataset))
    )
    dataset_ids = datasets or hub_settings.get("datasets") or _hub_dataset_ids(dataset)
    widget = (
        widget_examples(dataset, train_config) if kind in ("text-classification", "lora") and results else []
    )
    # A card is published: from here on, local paths (/tmp/..., ../shared/...) become their last component.
    results, train_config, training_args, model_config, adapter_config = (
        without_local_paths(value) for value in (results, train_config, training_args, model_config, adapter_config)
    )
    dataset = (results or {}).get("dataset") or {}
    base_model = without_local_paths(base_model)

    card_data = ModelCardData(
        language=languages or None,
        license=license or hub_settings.get("license") or DEFAULT_LICENSE,
        library_name="peft" if is_adapter else "transformers",
        pipeline_tag=PIPELINE_TAGS.get(task),
        datasets=dataset_ids or None,
        base_model=base_model if base_model and _looks_like_hub_id(base_model) else None,
        tags=_tags(kind, model_config, results, list(tags or hub_settings.get("tags") or [])),
        metrics=_metric_ids(task) if results else None,
        model_name=model_name if results else None,
        eval_results=eval_results_from(results, (dataset_ids or [None])[0]) if results else None,
        widget=widget or None,
    )
    context = {
        "model_name": model_name,
        "repo_id": repo_id or f"path/to/{output_dir.resolve().name}",
        "base_model": base_model,
        "task": task,
        "results": results,
        "dataset": dataset,
        "languages": languages,
        "architecture": _architecture(model_config),
        "max_length": max_input_length(model_config, tokenizer_config),
        "remote_code": bool((model_config or {}).get("auto_map")),
        "adapter": _adapter_summary(adapter_config),
        "parameters": ((results or {}).get("model") or {}).get("parameters"),
        "size_on_disk_mb": ((results or {}).get("model") or {}).get("size_on_disk_mb"),
        "from_scratch": started_from_scratch(train_config),
        "teacher": (model_config or {}).get("teacher_name_or_path"),
        "teacher_layers": (model_config or {}).get("teacher_layers"),
        "vocab_source": (model_config or {}).get("vocab_source"),
        "multi_label": dataset.get("multi_label"),
        "training": _training_summary(train_config, training_args, model_config),
        "train_config_yaml": _config_yaml(train_config),
        "classification": _classification_tables(results) if task == "text-classification" and results else None,
        "ranking": _ranking_tables(results) if task == "sequential-recommendation" and results else None,
        "transfer": _transfer_table(results),
        "mlm": _mlm_summary(results) if task == "fill-mask" else None,
        "latency": (results or {}).get("latency") or None,
        "plots": [(name, caption) for name, caption in CARD_PLOTS if (output_dir / name).is_file()],
        "environment": (results or {}).get("environment") or None,
    }
    template_path = Path(template) if template else MODEL_CARDS_DIR / TEMPLATES[kind]
    content = render_template(template_path, card_data=card_data.to_yaml(), **context)
    terms = training_data_terms(dataset)
    if terms:
        content = content.rstrip("\n") + "\n\n## Training data terms\n\n" + terms + "\n"
    return ModelCard(content)


def training_data_terms(dataset: dict) -> str | None:
    """A paragraph stating the training data's licence, from results.json's `dataset` block (the dataset card's
    `license` / `license_name` / `redistributable`); None when the block states none."""
    if not any(key in dataset for key in ("license", "license_name", "redistributable")):
        return None
    from .hub_checks import is_redistributable, licence_text  # circular: hub_checks imports this module

    name = _dataset_pretty_name(dataset)
    text = f"The training data, {name}, is licensed as {licence_text(dataset)} (from its dataset card)."
    if not is_redistributable(dataset):
        text += (
            " Its terms do not allow redistribution: the data is not part of this repository, and whoever uses this "
            "model must check that their use complies with those terms (for example, research use only)."
        )
    return text


def started_from_scratch(train_config: dict | None) -> bool:
    """True when the train config says the weights started random: a `model.preset` with neither
    `model.name_or_path` nor `model.derive_from` (train.py's schema), or an explicit `init` of random / scratch /
    from_scratch / random_init / none, or `from_scratch: true` (in `model:` or at the top level)."""
    if not train_config:
        return False
    model = train_config.get("model") if isinstance(train_config.get("model"), dict) else {}
    for section in (model, train_config):
        if section.get("from_scratch") is True:
            return True
        init = section.get("init") or section.get("initialization")
        if isinstance(init, str) and init.strip().lower() in SCRATCH_VALUES:
            return True
    return bool(model.get("preset")) and not model.get("name_or_path") and not model.get("derive_from")


def set_card_base_model(card_path: str | os.PathLike, base_model: str, replace: str | None = None) -> None:
    """Point an existing card's `base_model` metadata at a Hub id, and every mention of the old base (the
    metadata's, or `replace`, e.g. a local folder) in its text and tags."""
    card = ModelCard.load(card_path)
    for old in {str(card.data.get("base_model") or ""), str(replace or "")} - {"", base_model}:
        card.text = card.text.replace(old, base_model)
        if card.data.get("tags"):
            card.data.tags = [tag.replace(old, base_model) for tag in card.data.tags]
    card.data.base_model = base_model
    Path(card_path).write_text(str(card), encoding="utf-8")


# ----- small helpers ------------------------------------------------------------------------------------------


def _load(value, default_path: Path, what: str) -> dict | None:
    if isinstance(value, dict):
        return value
    path = Path(value) if value is not None else default_path
    if value is None and not path.is_file():
        return None
    if not path.is_file():
        raise FileNotFoundError(f"The {what} file {path} does not exist.")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot parse the {what} ({error}).") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the {what} must be a mapping, got {type(data).__name__}.")
    return data


def _check_results(results: dict) -> None:
    for key in ("task", "dataset", "results"):
        if key not in results:
            raise ValueError(f"results JSON has no {key!r} field; write it with evaluate.py (schema: CONTRIBUTING.md).")
    if "model" not in (results["results"] or {}):
        raise ValueError(
            "results JSON has no results.model report; write it with evaluate.py (schema: CONTRIBUTING.md)."
        )


def _task_from_config(model_config: dict | None, train_config: dict | None) -> str:
    if (model_config or {}).get("model_type") == "bert4rec" or (train_config or {}).get("task") == "bert4rec":
        return "sequential-recommendation"
    return "text-classification"
