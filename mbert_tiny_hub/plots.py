"""PNG plots of an evaluation, drawn from the results JSON's numbers (nothing here recomputes a metric).

Each function takes plain data and a path, writes one PNG and returns the path. Matplotlib runs headless (Agg).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402


def _save(figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_confusion_matrix(confusion: Mapping, path: str | Path, title: str = "Confusion matrix") -> Path:
    """Single-label: references x predictions, shaded by row share, annotated with counts.
    Multi-label: one row per label with its TP / FN / FP / TN counts."""
    labels = list(confusion["labels"])
    if "matrix" in confusion:
        counts = np.asarray(confusion["matrix"], dtype=float)
        columns, xlabel, ylabel = labels, "predicted", "reference"
    else:
        cells = ("tp", "fn", "fp", "tn")
        counts = np.asarray([[confusion["per_label"][name][cell] for cell in cells] for name in labels], dtype=float)
        columns, xlabel, ylabel = [cell.upper() for cell in cells], "outcome", "label"
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.45 * len(labels) + 2.5)
    figure, axes = plt.subplots(figsize=(max(size, 0.45 * len(columns) + 3.5), size))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the row")
    axes.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    if counts.size <= 900:
        for (row, column), value in np.ndenumerate(counts):
            colour = "white" if shares[row, column] > 0.5 else "black"
            axes.text(column, row, f"{int(value)}", ha="center", va="center", fontsize=7, color=colour)
    return _save(figure, path)


def plot_grouped_bars(
    scores: Mapping[str, Mapping[str, float]],
    path: str | Path,
    title: str,
    ylabel: str = "F1",
    xlabel: str = "",
) -> Path:
    """Bars per category (x axis, in first-seen order), one colour per system: `scores[system][category]`, in [0, 1]."""
    systems = list(scores)
    categories = list(dict.fromkeys(category for values in scores.values() for category in values))
    if not systems or not categories:
        raise ValueError(f"Nothing to plot for {title!r}: no systems or no categories.")
    width = 0.8 / len(systems)
    positions = np.arange(len(categories))
    figure, axes = plt.subplots(figsize=(max(6.0, 0.35 * len(categories) * len(systems) + 2), 4.5))
    for index, system in enumerate(systems):
        values = [scores[system].get(category, np.nan) for category in categories]
        axes.bar(positions + (index - (len(systems) - 1) / 2) * width, values, width, label=system)
    crowded = len(categories) > 6
    axes.set_xticks(positions, categories, rotation=45 if crowded else 0, ha="right" if crowded else "center")
    axes.set_ylim(0, 1)
    axes.set_ylabel(ylabel)
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(figure, path)


def pareto_front(points: Sequence[Mapping]) -> list[Mapping]:
    """The points no other point beats on both axes (lower `latency_ms` and higher `score`), fastest first."""
    front, best = [], -np.inf
    for point in sorted(points, key=lambda p: (p["latency_ms"], -p["score"])):
        if point["score"] > best:
            front.append(point)
            best = point["score"]
    return front


def plot_pareto(
    points: Sequence[Mapping], path: str | Path, score_name: str = "macro F1", note: str = ""
) -> Path:
    """Score versus latency: one dot per `{"name", "latency_ms", "score"}`, the Pareto front as a staircase."""
    if len(points) < 2:
        raise ValueError("A Pareto plot needs at least two points.")
    figure, axes = plt.subplots(figsize=(7, 4.5))
    front = pareto_front(points)
    axes.plot([p["latency_ms"] for p in front], [p["score"] for p in front], drawstyle="steps-post", color="tab:red",
              alpha=0.6, label="Pareto front")
    for point in points:
        on_front = any(point is p for p in front)
        axes.scatter(point["latency_ms"], point["score"], s=40, color="tab:red" if on_front else "tab:blue", zorder=3)
        axes.annotate(point["name"], (point["latency_ms"], point["score"]), textcoords="offset points", xytext=(5, 4),
                      fontsize=8)
    axes.set_xscale("log")
    latencies = [p["latency_ms"] for p in points]
    axes.set_xlim(min(latencies) / 1.5, max(latencies) * 4)  # room for the labels right of the dots
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("p50 latency per input, ms (log scale)")
    axes.set_ylabel(score_name)
    axes.set_title("\n".join([f"{score_name} versus latency", *textwrap.wrap(note, 80)]), fontsize=9)
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    return _save(figure, path)


def plot_transfer_matrix(
    matrix: Mapping, path: str | Path, title: str = "Cross-lingual transfer (macro F1)"
) -> Path:
    """Heatmap of `{"rows": [train-language sets], "columns": [test languages], "values": [[score or None]]}`."""
    values = np.asarray([[np.nan if v is None else v for v in row] for row in matrix["values"]], dtype=float)
    rows, columns = matrix["rows"], matrix["columns"]
    figure, axes = plt.subplots(figsize=(max(5.0, 0.7 * len(columns) + 3), max(3.0, 0.5 * len(rows) + 2)))
    image = axes.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    axes.set_yticks(range(len(rows)), rows)
    axes.set_xlabel("test language")
    axes.set_ylabel("trained on")
    axes.set_title(title)
    for (row, column), value in np.ndenumerate(values):
        if not np.isnan(value):
            axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8,
                      color="black" if value > 0.6 else "white")
    return _save(figure, path)
