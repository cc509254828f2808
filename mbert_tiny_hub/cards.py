"""Model cards from evaluation results: YAML metadata (with a `model-index`) and a Markdown body, rendered from the
Jinja templates in `model_cards/`.

Every number in a card comes from the results JSON (`results.json`, schema in CONTRIBUTING.md), the saved config
or the adapter config; none is typed by hand. A section whose numbers are absent (no latency, no transfer run, no
baselines) is left out, and the renderer refuses to print `None`.

    write_model_card("outputs/mbert-tiny4-brighter", "outputs/mbert-tiny4-brighter/results.json",
                     repo_id="org/mbert-tiny4-brighter")
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jinja2
import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .card_validation import hub_language_code, validate_card_metadata
from .files import atomic_write

MODEL_CARDS_DIR = Path(__file__).resolve().parents[1] / "model_cards"
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
CLASSIFICATION_METRICS = (
    ("accuracy", "accuracy", "Accuracy", None),
    ("macro_f1", "f1", "Macro F1", "macro"),
    ("micro_f1", "f1", "Micro F1", "micro"),
    ("weighted_f1", "f1", "Weighted F1", "weighted"),
)
RANKING_PROTOCOLS = {
    "full": "full ranking",
    "sampled_uniform": "sampled, uniform negatives",
    "sampled_popularity": "sampled, popularity negatives",
}
# Evaluation plots (written next to results.json by train.py and evaluate.py) that a card embeds, in this order.
CARD_PLOTS = (
    ("per_language_f1.png", "Macro F1 per language, this model next to the baselines"),
    ("per_class_f1.png", "F1 per class, this model next to the baselines"),
    ("confusion_matrix.png", "Confusion matrix on the test split"),
    ("transfer.png", "Zero-shot cross-lingual transfer"),
    ("pareto.png", "Quality against latency"),
)
WIDGET_MAX_CHARS = 300
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
        "training": _training_summary(train_config, training_args),
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


def without_local_paths(value):
    """`value` (a string, or dicts and lists of them) with every local path replaced by its last component:
    '/tmp/run/polar' and '../shared/data/polar' become 'polar'. Hub ids, URLs and other words are kept."""
    if isinstance(value, dict):
        return {key: without_local_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_local_paths(item) for item in value]
    if not isinstance(value, str):
        return value
    if any(char.isspace() for char in value):  # a command line: each word on its own
        return re.sub(r"\S+", lambda match: without_local_paths(match.group(0)), value)
    return _public_name(value)


def _public_name(word: str) -> str:
    prefix, _, path = word.rpartition("=")  # --out=/tmp/x
    path = path.strip("'\"")
    local = path.startswith(("/", "./", "../", "~")) or "/.." in path or (
        "/" in path and not path.startswith(("http://", "https://")) and os.path.exists(path)
    )
    if not local:
        return word
    name = path.rstrip("/").rsplit("/", 1)[-1] or "."
    return f"{prefix}={name}" if prefix else name


def eval_results_from(results: dict) -> list[EvalResult]:
    """The model's numbers in `results` as `EvalResult`s (the card's `model-index`); baselines stay in the body."""
def eval_results_from(results: dict, dataset_id: str | None = None) -> list[EvalResult]:
    """The model's numbers in `results` as `EvalResult`s (the card's `model-index`); baselines stay in the body.
    `dataset_id` is the dataset's Hub id (default: its name_or_path when that is one, else the folder's name)."""
    dataset = results.get("dataset") or {}
    model_report = (results.get("results") or {}).get("model") or {}
    common = {
        "dataset_type": dataset_id or _dataset_type(dataset.get("name_or_path")),
        "dataset_name": _dataset_pretty_name(dataset),
        "dataset_config": dataset.get("config"),
        "dataset_split": dataset.get("split"),
    }
    evals: list[EvalResult] = []
    if results.get("task") == "text-classification":
        task = {"task_type": "text-classification", "task_name": "Text Classification"}
        exact = " (exact match)" if dataset.get("multi_label") else ""
        for key, metric_type, name, average in CLASSIFICATION_METRICS:
            if model_report.get(key) is not None:
                evals.append(
                    EvalResult(
                        **task,
                        **common,
                        metric_type=metric_type,
                        metric_value=model_report[key],
                        metric_name=name + (exact if key == "accuracy" else ""),
                        metric_args={"average": average} if average else None,
                    )
                )
        for language, report in sorted((model_report.get("per_language") or {}).items()):
            if report.get("macro_f1") is not None:
                evals.append(
                    EvalResult(
                        **task,
                        **common,
                        metric_type="f1",
                        metric_value=report["macro_f1"],
                        metric_name=f"Macro F1 ({language})",
                        metric_args={"average": "macro", "language": language},
                    )
                )
    elif results.get("task") == "fill-mask" and model_report.get("perplexity") is not None:
        corpus = _mlm_summary(results)["corpus"]
        evals.append(
            EvalResult(
                task_type="fill-mask",
                task_name="Masked Language Modeling",
                dataset_type=_dataset_type(corpus[0]) if len(corpus) == 1 else "multilingual-corpus",
                dataset_name=", ".join(str(c).rstrip("/").split("/")[-1] for c in corpus) or "held-out text",
                dataset_split="held-out",
                metric_type="perplexity",
                metric_value=model_report["perplexity"],
                metric_name="Perplexity (held-out MLM)",
            )
        )
    elif results.get("task") == "sequential-recommendation":
        task = {"task_type": "sequential-recommendation", "task_name": "Sequential Recommendation"}
        for protocol, label in RANKING_PROTOCOLS.items():
            for key, value in (model_report.get(protocol) or {}).items():
                if not isinstance(value, (int, float)):
                    continue
                metric, k = _split_metric(key)
                evals.append(
                    EvalResult(
                        **task,
                        **common,
                        metric_type=metric,
                        metric_value=value,
                        metric_name=f"{_metric_label(key)} ({label})",
                        metric_args={"protocol": protocol, **({"k": k} if k else {})},
                    )
                )
    return evals


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


def render_template(template_path: Path, **context: Any) -> str:
    """Render a card template. `None` never reaches the page: printing one is a template bug and raises."""

    def finalize(value):
        if value is None:
            raise ValueError(f"{template_path.name}: a template printed None; guard that field with `{{% if %}}`.")
        return value

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(template_path.parent), str(MODEL_CARDS_DIR)]),
        undefined=jinja2.StrictUndefined,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters.update(num=_num, count=_count, ms=_ms, code=_code, sig=_sig)
    text = environment.get_template(template_path.name).render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# ----- tables -------------------------------------------------------------------------------------------------


def _classification_tables(results: dict) -> dict:
    reports = results.get("results") or {}
    model = reports.get("model") or {}
    baselines = {name: report for name, report in (reports.get("baselines") or {}).items() if report}
    columns = ["model", *baselines]
    all_reports = {"model": model, **baselines}
    exact_match = " (exact match)" if (results.get("dataset") or {}).get("multi_label") else ""
    headline = [
        {
            "label": name + (exact_match if key == "accuracy" else ""),
            "cells": [all_reports[c].get(key) for c in columns],
        }
        for key, _, name, _ in CLASSIFICATION_METRICS
        if model.get(key) is not None
    ]
    per_language = [
        {
            "label": f"{language} ({report['num_examples']:,} examples)" if report.get("num_examples") else language,
            "cells": [
                ((all_reports[c].get("per_language") or {}).get(language) or {}).get("macro_f1") for c in columns
            ],
        }
        for language, report in sorted((model.get("per_language") or {}).items())
    ]
    per_class = [
        {"label": label, **scores}
        for label, scores in (model.get("per_class") or {}).items()
        if isinstance(scores, dict)
    ]
    return {
        "columns": [_baseline_label(c) for c in columns],
        "headline": headline,
        "per_language": per_language,
        "per_class": per_class,
        "num_examples": model.get("num_examples") or (results.get("dataset") or {}).get("num_examples"),
    }


def _ranking_tables(results: dict) -> dict:
    reports = results.get("results") or {}
    model = reports.get("model") or {}
    baselines = {name: report for name, report in (reports.get("baselines") or {}).items() if report}
    protocols = [p for p in RANKING_PROTOCOLS if model.get(p)]
    metrics = sorted({key for p in protocols for key in model[p]}, key=_metric_sort_key)
    negatives = (results.get("evaluation") or {}).get("num_negatives")
    labels = {
        protocol: label.replace("sampled, ", f"{negatives:,} sampled ") if negatives else label
        for protocol, label in RANKING_PROTOCOLS.items()
    }
    by_protocol = {
        "columns": [labels[p] for p in protocols],
        "rows": [{"label": _metric_label(m), "cells": [model[p].get(m) for p in protocols]} for m in metrics],
    }
    comparison = None
    if baselines and "full" in model:
        columns = ["model", *baselines]
        all_reports = {"model": model, **baselines}
        comparison = {
            "columns": [_baseline_label(c) for c in columns],
            "rows": [
                {"label": _metric_label(m), "cells": [(all_reports[c].get("full") or {}).get(m) for c in columns]}
                for m in sorted(model["full"], key=_metric_sort_key)
            ],
        }
    return {"by_protocol": by_protocol, "comparison": comparison}


def _mlm_summary(results: dict | None) -> dict:
    dataset = (results or {}).get("dataset") or {}
    model = ((results or {}).get("results") or {}).get("model") or {}
    corpus = dataset.get("corpus")
    if isinstance(corpus, (str, dict)):
        corpus = [corpus]
    return {
        "corpus": [source if isinstance(source, str) else source.get("dataset") or source.get("path")
                   for source in corpus or []],
        **{key: dataset.get(key) for key in ("num_texts", "train_blocks", "held_out_blocks", "block_size")},
        **{key: model.get(key) for key in ("eval_loss", "perplexity", "first_eval_loss")},
    }


def _transfer_table(results: dict | None) -> dict | None:
    transfer = (results or {}).get("transfer")
    if not transfer or not transfer.get("macro_f1"):
        return None
    return {
        "train_languages": transfer.get("train_languages") or [],
        "test_languages": transfer.get("test_languages") or [],
        "rows": sorted(transfer["macro_f1"].items()),
    }


def _training_summary(train_config: dict | None, training_args: dict | None) -> list[tuple[str, Any]]:
    """Headline hyperparameters, from training_args.json (what the Trainer used) else the config's `training:`."""
    source = dict((train_config or {}).get("training") or {})
    source.update(training_args or {})
    keys = (
        "num_train_epochs", "max_steps", "learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps",
        "weight_decay", "warmup_ratio", "warmup_steps", "lr_scheduler_type", "optim", "seed", "metric_for_best_model",
    )
    rows = [(key, source[key]) for key in keys if source.get(key) not in (None, "", [])]
    for section_name in ("loss", "lora", "distillation"):
        section = (train_config or {}).get(section_name)
        if isinstance(section, dict):
            rows += [
                (f"{section_name}.{k}", v)
                for k, v in section.items()
                if v is not None and not isinstance(v, (dict, list))
            ]
    return rows


def _architecture(config: dict | None) -> dict | None:
    if not config or "hidden_size" not in config:
        return None
    keys = ("preset", "num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size")
    return {key: config[key] for key in keys if config.get(key) is not None}


def max_input_length(model_config: dict | None, tokenizer_config: dict | None) -> int | None:
    """The one max length a card states: where the tokenizer truncates (`model_max_length`, the trained length of
    a from-scratch model), never past the model's position embeddings."""
    limits = [
        value
        for value in ((tokenizer_config or {}).get("model_max_length"), (model_config or {}).get("max_position_embeddings"))
        if isinstance(value, int) and 0 < value < 10**9  # transformers' "no limit" is a huge sentinel
    ]
    return min(limits) if limits else None


def _adapter_summary(adapter_config: dict | None) -> dict | None:
    if not adapter_config:
        return None
    keys = ("peft_type", "r", "lora_alpha", "lora_dropout", "target_modules", "modules_to_save", "task_type")
    summary = {key: adapter_config[key] for key in keys if adapter_config.get(key) not in (None, [])}
    for key in ("target_modules", "modules_to_save"):
        if isinstance(summary.get(key), (list, set, tuple)):
            summary[key] = ", ".join(sorted(summary[key]))
    return summary


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


def _tags(kind: str, model_config: dict | None, results: dict | None, extra: list[str]) -> list[str]:
    tags = {
        "text-classification": ["mbert-tiny", "multilingual", "text-classification"],
        "lora": ["mbert-tiny", "peft", "lora", "text-classification"],
        "sequential-recommendation": ["bert4rec", "sequential-recommendation", "recommender-system"],
    }.get(kind, [])
    if (model_config or {}).get("preset"):
        tags.append(f"mbert-{model_config['preset']}")
    if ((results or {}).get("dataset") or {}).get("multi_label"):
        tags.append("multi-label-classification")
    return list(dict.fromkeys(tags + extra))


def _metric_ids(task: str) -> list[str]:
    if task == "fill-mask":
        return ["perplexity"]
    return ["accuracy", "f1"] if task == "text-classification" else ["recall", "ndcg", "mrr"]


def _hub_languages(dataset: dict) -> list[str]:
    """The card's `language` list: the evaluated languages, spelled as the Hub spells them. A dataset whose
    `language` column keeps its source's own codes (BRIGHTER's `esp`, `chn`, `ptbr`) has them mapped in results.json
    (`dataset.language_codes`, written from its card when the run happened); other codes are ISO 639 already."""
    codes = dataset.get("language_codes") or {}
    return list(dict.fromkeys(codes.get(language, language) for language in dataset.get("languages") or []))


def widget_examples(dataset: dict, train_config: dict | None) -> list[dict]:
    """One widget example per language: the first text of at most WIDGET_MAX_CHARS characters in the evaluated split
    (test), titled with the language's Hub code. None for a dataset that results.json does not show as
    redistributable (its texts must not appear in a card), or one that cannot be loaded here."""
    from data_scripts import load_built_dataset  # heavy: `datasets`, only for the widget texts

    from .hub_checks import is_redistributable  # circular: hub_checks imports this module

    name = dataset.get("name_or_path")
    if not name or not is_redistributable(dataset):
        return []
    data = (train_config or {}).get("data") or {}
    text_column, language_column = data.get("text_column") or "text", data.get("language_column") or "language"
    try:
        split = load_built_dataset(name, dataset.get("config"), split=dataset.get("split") or "test")
    except Exception:  # noqa: BLE001 - a card without a widget is still a card
        return []
    if text_column not in split.column_names:
        return []
    columns = [text_column] + ([language_column] if language_column in split.column_names else [])
    codes = dataset.get("language_codes") or {}
    examples: dict[str, str] = {}
    for row in split.select_columns(columns):
        language = row.get(language_column) or ""
        text = row[text_column]
        if language not in examples and isinstance(text, str) and 0 < len(text.strip()) <= WIDGET_MAX_CHARS:
            examples[language] = text.strip()
    return [
        {"text": text, "example_title": hub_language_code(codes.get(language, language)) if language else "example"}
        for language, text in sorted(examples.items())
    ]


def _dataset_type(name_or_path: str | None) -> str:
    """A model-index `dataset.type`: the Hub id, or for a local folder its name (never the machine's path)."""
    if not name_or_path:
        return "unknown"
    name = str(name_or_path)
    return name if _looks_like_hub_id(name) and not Path(name).exists() else Path(name).name or "unknown"


def _hub_dataset_ids(dataset: dict) -> list[str]:
    name = dataset.get("name_or_path")
    return [name] if name and _looks_like_hub_id(name) and not Path(name).exists() else []


def _looks_like_hub_id(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*", name)) and ".." not in name


def _dataset_pretty_name(dataset: dict) -> str:
    name = str(dataset.get("name_or_path") or "unknown").rstrip("/").split("/")[-1]
    config = dataset.get("config")
    return f"{name} ({config})" if config and config not in ("default",) else name


def _baseline_label(name: str) -> str:
    return {
        "model": "this model",
        "tfidf_logreg": "TF-IDF + logistic regression",
        "tfidf_svm": "TF-IDF + linear SVM",
        "majority": "majority class",
        "most_popular": "most popular",
        "popularity": "most popular",
    }.get(name, name.replace("_", " "))


def _split_metric(key: str) -> tuple[str, int | None]:
    match = re.fullmatch(r"([A-Za-z_]+)@(\d+)", key)
    return (match.group(1).lower(), int(match.group(2))) if match else (key.lower(), None)


def _metric_label(key: str) -> str:
    metric, k = _split_metric(key)
    name = {"recall": "Recall", "ndcg": "NDCG", "mrr": "MRR", "hit": "HR", "hr": "HR", "precision": "Precision"}.get(
        metric, metric
    )
    return f"{name}@{k}" if k else name


def _metric_sort_key(key: str) -> tuple:
    metric, k = _split_metric(key)
    order = ["recall", "hit", "hr", "ndcg", "mrr"]
    return (order.index(metric) if metric in order else len(order), metric, k or 0)


def _config_yaml(train_config: dict | None) -> str | None:
    if not train_config:
        return None
    return yaml.safe_dump(_redact_tokens(train_config), sort_keys=False, allow_unicode=True).strip()


def _redact_tokens(value):
    """A config never carries a token into a card, whatever key it hides under (hub_token, token, ...)."""
    if isinstance(value, dict):
        return {
            key: "<redacted>" if "token" in str(key).lower() and isinstance(item, str) else _redact_tokens(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_tokens(item) for item in value]
    return value


def _num(value, digits: int = 4) -> str:
    """A metric with `digits` decimals; an absent value renders as an en dash."""
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _count(value) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _ms(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def _sig(value) -> str:
    """Two significant digits: ratios span orders of magnitude."""
    return "–" if value is None else f"{value:.2g}"


def _code(value) -> str:
    return f"`{value}`"
