"""A model card's Markdown body: the Jinja templates in `model_cards/` rendered by `render_template`, with the
tables (classification, ranking, transfer, MLM, training, architecture, adapter) built from the results JSON and the
saved configs, and the filters (`num`, `count`, `ms`, `sig`, `code`) the templates format numbers with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import yaml

from .card_metadata import CLASSIFICATION_METRICS, RANKING_PROTOCOLS, _metric_label, _metric_sort_key

MODEL_CARDS_DIR = Path(__file__).resolve().parents[1] / "model_cards"


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


def _transfer_table(results: dict | None) -> dict | None:
    transfer = (results or {}).get("transfer")
    if not transfer or not transfer.get("macro_f1"):
        return None
    return {
        "train_languages": transfer.get("train_languages") or [],
        "test_languages": transfer.get("test_languages") or [],
        "rows": sorted(transfer["macro_f1"].items()),
    }


def _training_summary(
    train_config: dict | None, training_args: dict | None, model_config: dict | None = None
) -> list[tuple[str, Any]]:
    """Headline hyperparameters, from training_args.json (what the Trainer used) else the config's `training:`, and
    the post-hoc logit adjustment τ the saved classifier's bias carries (config.json)."""
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
    if (model_config or {}).get("logit_adjustment_tau") is not None:
        rows.append(("logit adjustment τ (in the classifier bias)", model_config["logit_adjustment_tau"]))
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


def _baseline_label(name: str) -> str:
    return {
        "model": "this model",
        "tfidf_logreg": "TF-IDF + logistic regression",
        "tfidf_svm": "TF-IDF + linear SVM",
        "majority": "majority class",
        "most_popular": "most popular",
        "popularity": "most popular",
    }.get(name, name.replace("_", " "))


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
