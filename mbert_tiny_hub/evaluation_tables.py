"""Tables and plot points read from results JSON: the printed report of a classification run
(`format_results`), the cross-lingual `transfer` block and the transfer matrix over several runs, and the points of
an accuracy-versus-latency Pareto plot. `evaluate.py --compare` and `mbert_tiny_hub.evaluation.write_results` use
them; nothing here loads a model.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from .evaluation_data import EvaluationError
from .latency import format_latency_table

# Runtimes whose outputs equal the evaluated model's (no quantization): their latency pairs with its accuracy.
EXACT_RUNTIMES = ("eager", "compile", "onnxruntime")


def short_name(name_or_path: str) -> str:
    """The last component of a path or Hub id: how tables and plots name a model."""
    return Path(str(name_or_path).rstrip("/")).name or str(name_or_path)


def transfer_summary(results: Mapping, train_languages: Sequence[str] | None, test_languages: Sequence[str]) -> dict:
    """The `transfer` block: per-test-language macro F1 and accuracy of the model and of each baseline."""
    train = list(train_languages or [])

    def per_language(report, key):
        return {language: report["per_language"][language][key] for language in test_languages}

    model_report = results["results"]["model"]
    return {
        "train_languages": train,
        "test_languages": list(test_languages),
        "zero_shot": [language for language in test_languages if language not in train] if train else [],
        "macro_f1": per_language(model_report, "macro_f1"),
        "accuracy": per_language(model_report, "accuracy"),
        "baselines": {
            name: {"macro_f1": per_language(report, "macro_f1"), "accuracy": per_language(report, "accuracy")}
            for name, report in results["results"]["baselines"].items()
        },
    }


def transfer_matrix(results_list: Sequence[Mapping], include_baselines: bool = True) -> dict:
    """Train-language sets x test languages (macro F1) from several runs' results: one row per model (and per
    baseline) and set of training languages, one column per test language, and each row's mean over the test
    languages it never saw labels for (`zero_shot_mean`; None when it saw them all)."""
    rows, values_by_row, zero_shot_by_row, columns = [], {}, {}, []
    for results in results_list:
        transfer = results.get("transfer")
        if not transfer:
            continue
        trained_on = "+".join(transfer["train_languages"]) or "all"
        systems = {short_name(results["model"]["name_or_path"]): transfer["macro_f1"]}
        if include_baselines:
            systems.update({name: block["macro_f1"] for name, block in transfer.get("baselines", {}).items()})
        for system, scores in systems.items():
            row = f"{system} ({trained_on})"
            if row not in values_by_row:
                rows.append(row)
                values_by_row[row], zero_shot_by_row[row] = {}, set()
            values_by_row[row].update(scores)
            zero_shot_by_row[row].update(language for language in transfer.get("zero_shot") or [] if language in scores)
            columns += [language for language in scores if language not in columns]
    if not rows:
        raise EvaluationError("None of the results has a `transfer` block (run evaluate.py with --train-languages).")
    columns = sorted(columns)
    zero_shot_mean = [
        statistics.fmean(values_by_row[row][c] for c in sorted(zero_shot_by_row[row])) if zero_shot_by_row[row] else None
        for row in rows
    ]
    return {
        "rows": rows,
        "columns": columns,
        "values": [[values_by_row[row].get(c) for c in columns] for row in rows],
        "zero_shot_mean": zero_shot_mean,
    }


def pareto_points(results_list: Sequence[Mapping], batch_size: int = 1, seq_len: int | None = None) -> list[dict]:
    """One point per evaluated model (its fastest unquantized runtime at `batch_size` x `seq_len`; default: the
    longest length timed) and per baseline (scikit-learn, one raw text): `{"name", "latency_ms", "score", "model"}`
    with score = macro F1."""
    if seq_len is None:
        lengths = [row["seq_len"] for results in results_list for row in results.get("latency", [])
                   if row["batch_size"] == batch_size and row["seq_len"] is not None]
        seq_len = max(lengths, default=None)
    points = {}
    for results in results_list:
        scores = {short_name(results["model"]["name_or_path"]): results["results"]["model"]["macro_f1"]}
        scores.update({name: report["macro_f1"] for name, report in results["results"].get("baselines", {}).items()})
        for row in results.get("latency", []):
            if row["model"] not in scores or row["batch_size"] != batch_size:
                continue
            if row["runtime"] == "scikit-learn":
                name = row["model"]
            elif row["runtime"] in EXACT_RUNTIMES and row["seq_len"] == seq_len:
                name = f"{row['model']} ({row['runtime']})"
            else:
                continue
            shape = None if row["seq_len"] is None else f"batch {row['batch_size']}, length {row['seq_len']}"
            point = {"name": name, "latency_ms": row["p50_ms"], "score": scores[row["model"]], "model": row["model"],
                     "shape": shape}
            best = points.get(row["model"])
            if best is None or point["latency_ms"] < best["latency_ms"]:
                points[row["model"]] = point
    return list(points.values())


def pareto_note(points: Sequence[Mapping]) -> str:
    """What the latencies of a Pareto plot measure, for its title."""
    shapes = sorted({point["shape"] for point in points if point.get("shape")})
    note = f"transformers: {', '.join(shapes)}" if shapes else ""
    if any(point.get("shape") is None for point in points):
        note += ("; " if note else "") + "TF-IDF baselines: one raw text, featurization included"
    return note

def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    def cell(value):
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def format_results(results: Mapping) -> str:
    """The printed report of a classification run: headline scores of the model and baselines, per language,
    per class, transfer, latency."""
    dataset, model_report = results["dataset"], results["results"]["model"]
    baselines = results["results"].get("baselines", {})
    model_name = short_name(results["model"]["name_or_path"])
    systems = {model_name: model_report, **baselines}
    config = f" ({dataset['config']})" if dataset.get("config") else ""
    kind = "multi-label" if dataset["multi_label"] else "single-label"
    parameters = results["model"]["parameters"]
    parts = [
        f"## {model_name} on {dataset['name_or_path']}{config}, split {dataset['split']}: "
        f"{dataset['num_examples']} examples, {len(dataset['label_names'])} labels "
        f"({kind}, column {dataset['label_column']})",
        f"{results['model']['class']}: {parameters['total']:,} parameters ({parameters['embeddings']:,} in embeddings, "
        f"{parameters['trainable']:,} trainable), {results['model']['size_on_disk_mb']} MB on disk",
        "",
        markdown_table(
            ["system", "accuracy", "macro F1", "micro F1", "weighted F1", "macro P", "macro R"],
            [
                [name] + [r[key] for key in ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "macro_precision",
                                             "macro_recall")]
                for name, r in systems.items()
            ],
        ),
    ]
    if "per_language" in model_report:
        languages = list(model_report["per_language"])
        parts += [
            "",
            "### Macro F1 per language",
            markdown_table(
                ["language", "examples", *systems],
                [
                    [language, model_report["per_language"][language]["num_examples"]]
                    + [r["per_language"][language]["macro_f1"] for r in systems.values()]
                    for language in languages
                ],
            ),
        ]
    parts += [
        "",
        "### F1 per class",
        markdown_table(
            ["class", "support", *systems],
            [
                [label, stats["support"]] + [r["per_class"][label]["f1"] for r in systems.values()]
                for label, stats in model_report["per_class"].items()
            ],
        ),
    ]
    transfer = results.get("transfer")
    if transfer:
        trained_on = "+".join(transfer["train_languages"]) or "all"
        scores = {model_name: transfer["macro_f1"], **{n: b["macro_f1"] for n, b in transfer.get("baselines", {}).items()}}
        parts += [
            "",
            f"### Cross-lingual transfer, macro F1 (trained on {trained_on}; "
            f"zero-shot: {', '.join(transfer['zero_shot']) or 'none'})",
            markdown_table(
                ["test language", *scores],
                [[language] + [s[language] for s in scores.values()] for language in transfer["test_languages"]],
            ),
        ]
    if results.get("latency"):
        parts += ["", "### Latency", format_latency_table(results["latency"])]
    return "\n".join(parts)
