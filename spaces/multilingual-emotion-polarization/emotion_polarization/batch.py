"""Batch mode: a CSV with a text column in, the same rows with predictions out.

Every problem with the file is a `BatchError` whose message a visitor can act on (which column, which row,
what to do); nothing half-written is offered for download.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from .classifier import TextClassifier
from .languages import detect_language

TEXT_COLUMN = "text"


class BatchError(ValueError):
    """A CSV the Space cannot classify; the message says why and what to do."""


def read_csv(path: str | os.PathLike, max_rows: int) -> pd.DataFrame:
    """The CSV at `path` as strings (empty cells stay empty strings), at most `max_rows` rows."""
    name = Path(path).name
    options = {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig", "nrows": max_rows + 1}
    try:
        frame = pd.read_csv(path, **options)
        if len(frame.columns) == 1 and any(sep in frame.columns[0] for sep in ";\t"):
            # Spreadsheets in many locales save CSV with semicolons (or tabs): read it with the separator it uses.
            frame = pd.read_csv(path, sep=";" if ";" in frame.columns[0] else "\t", **options)
    except UnicodeDecodeError:
        raise BatchError(f"{name} is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.") from None
    except pd.errors.EmptyDataError:
        raise BatchError(f"{name} is empty: upload a CSV with a header row and a '{TEXT_COLUMN}' column.") from None
    except pd.errors.ParserError as error:
        raise BatchError(f"{name} could not be read as CSV ({error}). Check the quoting of that row.") from None
    if len(frame) > max_rows:
        raise BatchError(
            f"{name} has more than {max_rows:,} rows; this Space classifies up to {max_rows:,} at a time. "
            "Split the file, or run the model locally for large files."
        )
    if frame.empty:
        raise BatchError(f"{name} has a header but no rows.")
    return frame


def find_text_column(frame: pd.DataFrame, requested: str | None = None) -> str:
    """`requested` when given, else the column named 'text' (any case); a BatchError when there is none."""
    columns = [str(column) for column in frame.columns]
    if requested:
        if requested not in columns:
            raise BatchError(f"The CSV has no column {requested!r}; its columns are {', '.join(columns)}.")
        return requested
    for column in columns:
        if column.strip().lower() == TEXT_COLUMN:
            return column
    raise BatchError(
        f"The CSV has no '{TEXT_COLUMN}' column (its columns are: {', '.join(columns)}). "
        f"Choose the column that holds the texts under “Text column”, or rename it to '{TEXT_COLUMN}'."
    )


def classify_frame(
    frame: pd.DataFrame,
    column: str,
    classifiers: Mapping[str, TextClassifier],
    *,
    max_characters: int,
    batch_size: int = 16,
    on_progress: Callable[[float, str], None] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """`frame` with the detected language and, per task, the predicted labels and one probability column per label.

    Returns the new frame and notes for the visitor (empty rows, texts that were cut).
    """
    output_columns = ["detected_language", "truncated"]
    for task, classifier in classifiers.items():
        output_columns += [task] + [f"{task}_{label}" for label in classifier.labels]
    clashes = [name for name in output_columns if name in frame.columns]
    if clashes:
        raise BatchError(
            f"The CSV already has column(s) {', '.join(clashes)}, which the predictions would overwrite: rename them."
        )
    texts = frame[column].astype(str).str.strip().tolist()
    rows = [index for index, text in enumerate(texts) if text]
    if not rows:
        raise BatchError(f"Every row of column {column!r} is empty: there is nothing to classify.")
    cut = {index for index in rows if len(texts[index]) > max_characters}
    inputs = [texts[index][:max_characters] for index in rows]

    result = frame.copy()
    new_columns: dict[str, list] = {"detected_language": [""] * len(texts)}
    for index in rows:
        new_columns["detected_language"][index] = detect_language(texts[index]).code or ""
    truncated = [index in cut for index in range(len(texts))]
    for step, (task, classifier) in enumerate(classifiers.items()):

        def report(done: int, total: int, step=step, task=task) -> None:
            if on_progress is not None:
                on_progress((step + done / total) / len(classifiers), f"{task.replace('_', ' ')}: {done}/{total} texts")

        predictions = classifier.predict(inputs, batch_size=batch_size, on_batch=report)
        labels = [""] * len(texts)
        probabilities = {label: [None] * len(texts) for label in classifier.labels}
        for index, prediction in zip(rows, predictions):
            labels[index] = "; ".join(prediction.predicted)
            truncated[index] = truncated[index] or prediction.truncated
            for label, probability in prediction.probabilities.items():
                probabilities[label][index] = round(probability, 6)
        new_columns[task] = labels
        new_columns.update({f"{task}_{label}": values for label, values in probabilities.items()})
    new_columns["truncated"] = truncated

    for name, values in new_columns.items():
        result[name] = values

    notes = []
    if len(rows) < len(texts):
        notes.append(f"{len(texts) - len(rows)} empty row(s) were left without predictions.")
    if any(truncated):
        notes.append(
            f"{sum(truncated)} text(s) were longer than the model reads and were cut (column 'truncated'); "
            "only their beginning was classified."
        )
    return result, notes


def write_csv(frame: pd.DataFrame, folder: str | os.PathLike, name: str) -> Path:
    """Write `frame` as UTF-8 CSV to `folder/name`, complete or not at all (a temp file moved into place)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".predictions-", suffix=".csv.tmp")
    os.close(handle)
    try:
        frame.to_csv(temporary, index=False, encoding="utf-8")
        os.replace(temporary, folder / name)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return folder / name


class PredictionFiles:
    """Where the Space writes prediction files: one temporary folder for the whole process, a subfolder per batch.
    Gradio copies a returned file into its own cache, so subfolders older than `keep_s` are removed when the next
    batch starts, and the folder itself when the process ends: no `predictions-*` folder piles up in /tmp."""

    def __init__(self, keep_s: float = 900.0):
        self.keep_s = keep_s
        self.root = Path(tempfile.mkdtemp(prefix="predictions-"))
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)

    def new_folder(self) -> Path:
        now = time.time()
        for old in self.root.iterdir():
            if now - old.stat().st_mtime >= self.keep_s:
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(dir=self.root))
