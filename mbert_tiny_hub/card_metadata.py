"""A model card's metadata: the `model-index` (`eval_results_from`), tags, metric ids, languages, widget examples,
dataset ids, and local paths made public (`without_local_paths`). `mbert_tiny_hub.cards` puts them into the card's
YAML header; the metric names are shared with the card body (`mbert_tiny_hub.card_rendering`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from huggingface_hub import EvalResult

from .card_validation import hub_language_code

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
WIDGET_MAX_CHARS = 300


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
