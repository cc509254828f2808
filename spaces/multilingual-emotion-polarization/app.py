"""Multilingual emotion and polarization in the browser: mBERT-Tiny classifiers behind a Gradio page.

Run locally with `python app.py` (http://127.0.0.1:7860); the same file runs unchanged as a Hugging Face Space.
Which models are served is decided once, at start-up, by space_config.yaml and the EMOTION_MODEL,
POLARIZATION_MODEL, POLARIZATION_TYPE_MODEL and RECOMMENDER_MODEL environment variables (Hub ids or folders).
"""

from __future__ import annotations

import functools
import html
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import torch

from emotion_polarization.batch import (
    BatchError,
    PredictionFiles,
    classify_frame,
    find_text_column,
    read_csv,
    write_csv,
)
from emotion_polarization.classifier import Prediction, TextClassifier
from emotion_polarization.examples import EXAMPLES
from emotion_polarization.languages import detect_language, iso_codes, language_choices, language_name
from emotion_polarization.model_card import CardSummary, read_card
from emotion_polarization.recommender import MovieRecommender
from emotion_polarization.settings import ModelSource, SpaceSettings, load_settings

logger = logging.getLogger("space")
TITLES = {"emotion": "Emotion", "polarization": "Polarization", "polarization_type": "Polarization type"}
AUTO = "auto"
MAX_LIKED_MOVIES = 20
MAX_LABELS_DRAWN = 8  # bars drawn per task; the table below lists every label
CSS = """
#text-input textarea { unicode-bidi: plaintext; text-align: start; }
.predictions table { width: 100%; border-collapse: collapse; }
.predictions th, .predictions td { padding: 2px 8px; text-align: start; }
.predictions td.probability { font-variant-numeric: tabular-nums; }
.predictions tr.chosen td { font-weight: 600; }
"""


@dataclass
class ServedModel:
    """One configured task: its source, the loaded model (None when it could not be loaded) and its card."""

    task: str
    source: ModelSource | None
    model: TextClassifier | MovieRecommender | None = None
    card: CardSummary | None = None
    problem: str | None = None


def load_models(settings: SpaceSettings) -> dict[str, ServedModel]:
    """Load every configured model once; a model that fails to load is reported on its tab, not fatal."""
    served = {}
    for task, source in settings.models.items():
        entry = ServedModel(task, source)
        if source is None:
            entry.problem = f"not configured (set {task.upper()}_MODEL or models.{task} in space_config.yaml)"
        else:
            try:
                if task == "recommender":
                    entry.model = MovieRecommender(source, settings.may_run_remote_code(source))
                else:
                    entry.model = TextClassifier(source, settings.multi_label_threshold)
                entry.card = read_card(source)
                logger.info("Loaded %s model %s", task, source)
            except Exception as error:  # the page still opens and says what is wrong
                logger.exception("Could not load the %s model %s", task, source)
                first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
                entry.problem = f"could not be loaded: {first_line[:300]}"
        served[task] = entry
    return served


def friendly_errors(handler):
    """Unexpected failures reach the visitor as a short message; the traceback goes to the Space's log."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:
            logger.exception("%s failed", handler.__name__)
            raise gr.Error(f"Something went wrong ({type(error).__name__}). Please try again or with another input.")

    return wrapper


# ----- what the page shows ------------------------------------------------------------------------------------


def model_markdown(entry: ServedModel) -> str:
    """Model name with a link, its shape, and the headline numbers of its card."""
    if entry.model is None:
        return f"**{TITLES.get(entry.task, entry.task).capitalize()} model:** {entry.problem}."
    source = entry.source
    name = f"[{source}]({source.link})" if source.link else f"`{source.display}` (local folder)"
    lines = [f"**Model:** {name}"]
    if isinstance(entry.model, TextClassifier):
        config = entry.model.model.config
        kind = f"multi-label, threshold {entry.model.threshold:g}" if entry.model.multi_label else "single-label"
        lines.append(
            f"{type(entry.model.model).__name__}: {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
            f"{format_count(entry.model.num_parameters)} parameters, reads up to {entry.model.max_length} tokens; "
            f"{len(entry.model.labels)} labels, {kind}."
        )
    card = entry.card
    if card and card.headlines:
        shown = card.headlines[:4]
        more = f" — {len(card.headlines) - 4} more in the model card" if len(card.headlines) > 4 else ""
        lines.append("**From its card:** " + " · ".join(h.describe() for h in shown) + more)
    elif card:
        lines.append(f"*No headline numbers: {card.note}.*")
    return "\n\n".join(lines)


def format_count(count: int) -> str:
    return f"{count / 1e6:.1f}M" if count >= 1e6 else f"{count / 1e3:.0f}K"


def predictions_html(task: str, prediction: Prediction) -> str:
    """Every label with its probability (4 decimals), most probable first; predicted labels are marked."""
    predicted = ", ".join(prediction.predicted) if prediction.predicted else "none above the threshold"
    rows = []
    for label, probability in sorted(prediction.probabilities.items(), key=lambda item: -item[1]):
        chosen = label in prediction.predicted
        rows.append(
            f'<tr class="{"chosen" if chosen else ""}"><td class="label">{html.escape(label)}</td>'
            f'<td class="probability">{probability:.4f}</td><td class="mark">{"✓" if chosen else ""}</td></tr>'
        )
    return (
        f'<div class="predictions" data-task="{task}"><p><strong>Predicted:</strong> '
        f'<span class="predicted">{html.escape(predicted)}</span></p><table><thead><tr><th>label</th>'
        f"<th>probability</th><th>predicted</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def language_note(text: str, chosen: str, served: dict[str, ServedModel]) -> str:
    detection = detect_language(text)
    if chosen and chosen != AUTO:
        note = f"**Language:** {language_name(chosen)} (chosen)"
        if detection.code and detection.code != chosen and detection.certain:
            note += f"; the text looks like {detection.name}"
        code = chosen
    else:
        note = f"**Language:** {detection.describe()} (detected)"
        code = detection.code
    if code:
        unseen = []
        for task, entry in served.items():
            trained_on = set(entry.card.languages) if entry.card and task in TITLES else set()
            if trained_on and not trained_on & iso_codes(code) and "multilingual" not in trained_on:
                unseen.append(TITLES[task].lower())
        if unseen:
            note += (
                f"\n\n{language_name(code)} is not among the languages listed in the model card of: "
                f"{', '.join(unseen)}. Predictions for it are zero-shot."
            )
    return note


# ----- event handlers -----------------------------------------------------------------------------------------


def make_handlers(settings: SpaceSettings, served: dict[str, ServedModel]):
    classifiers = {
        task: entry.model for task, entry in served.items() if isinstance(entry.model, TextClassifier)
    }
    limits = settings.limits
    prediction_files = PredictionFiles()

    @friendly_errors
    def classify_text(text: str, language: str):
        """Status note, then (label dict, table HTML) for each classification task in TITLES order."""
        empty = [None, ""] * len(TITLES)
        text = (text or "").strip()
        if not classifiers:
            return ["No classifier is configured for this Space.", *empty]
        if not text:
            return ["Enter a text to classify, or click one of the examples below.", *empty]
        if len(text) > limits["max_characters"]:
            return [
                f"⚠️ This text has {len(text):,} characters; the Space classifies up to {limits['max_characters']:,} "
                "at a time. Paste a shorter passage (the models read only the first few hundred words anyway), or "
                "use the batch tab, where long texts are cut.",
                *empty,
            ]
        outputs, notes = [], [language_note(text, language, served)]
        for task in TITLES:
            classifier = classifiers.get(task)
            if classifier is None:
                outputs += [None, ""]
                continue
            prediction = classifier.predict([text])[0]
            if prediction.truncated:
                notes.append(
                    f"The text is {prediction.num_tokens:,} tokens long; the {TITLES[task].lower()} model reads the "
                    f"first {classifier.max_length}, so only the beginning was classified."
                )
            outputs += [prediction.probabilities, predictions_html(task, prediction)]
        return ["\n\n".join(notes), *outputs]

    @friendly_errors
    def inspect_csv(path: str | None):
        """After an upload: offer the file's columns, pick the text column when there is one, say what is wrong."""
        if not path:
            return gr.Dropdown(choices=[], value=None), ""
        try:
            frame = read_csv(path, limits["max_csv_rows"])
        except BatchError as error:
            return gr.Dropdown(choices=[], value=None), f"⚠️ {error}"
        columns = [str(column) for column in frame.columns]
        try:
            column = find_text_column(frame)
        except BatchError as error:
            return gr.Dropdown(choices=columns, value=None), f"⚠️ {error}"
        return gr.Dropdown(choices=columns, value=column), f"{len(frame):,} rows; texts in column '{column}'."

    def batch_failed(message: str):
        return gr.File(value=None, visible=False), gr.Dataframe(value=None, visible=False), message

    @friendly_errors
    def classify_csv(path: str | None, column: str | None, progress=gr.Progress()):
        if not classifiers:
            return batch_failed("No classifier is configured for this Space.")
        if not path:
            return batch_failed("⚠️ Upload a CSV file with a 'text' column first.")
        try:
            frame = read_csv(path, limits["max_csv_rows"])
            column = find_text_column(frame, column or None)
            progress(0, desc="Classifying")
            result, notes = classify_frame(
                frame,
                column,
                classifiers,
                max_characters=limits["max_characters"],
                batch_size=limits["batch_size"],
                on_progress=lambda fraction, description: progress(fraction, desc=description),
            )
        except BatchError as error:
            return batch_failed(f"⚠️ {error}")
        output = write_csv(result, prediction_files.new_folder(), f"{Path(path).stem}-predictions.csv")
        summary = f"Classified {len(result):,} rows of column '{column}'. Download the predictions below."
        # The preview shows the predicted labels; the probabilities are in the file.
        preview = result[[column, "detected_language", *classifiers, "truncated"]].head(10).copy()
        preview[column] = preview[column].str.slice(0, 80)
        return (
            gr.File(value=str(output), visible=True),
            gr.Dataframe(value=preview, visible=True),
            "\n\n".join([summary, *notes]),
        )

    @friendly_errors
    def recommend(liked: list[int] | None, k: float):
        recommender = served["recommender"].model
        if not liked:
            return None, "Pick at least one movie you liked."
        rows = recommender.recommend(liked, int(k))
        table = [[row["rank"], row["title"], row["genres"], row["score"]] for row in rows]
        return table, f"Top {len(rows)} for your {len(liked)} movie(s)."

    return classify_text, inspect_csv, classify_csv, recommend


# ----- the page -----------------------------------------------------------------------------------------------


def build_demo(settings: SpaceSettings | None = None) -> gr.Blocks:
    settings = settings or load_settings()
    if "OMP_NUM_THREADS" not in os.environ:
        # Requests are computed `concurrency_limit` at a time: share the cores out rather than oversubscribe them.
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // settings.limits["concurrency_limit"]))
    served = load_models(settings)
    classify_text, inspect_csv, classify_csv, recommend = make_handlers(settings, served)
    limits = settings.limits

    with gr.Blocks(title="Multilingual emotion and polarization") as demo:
        gr.Markdown(
            "# Multilingual emotion and polarization\n"
            "Small multilingual BERT models (mBERT-Tiny) tell which **emotions** a text expresses and whether it is "
            "**polarized**. Texts are classified on CPU and not stored."
        )
        with gr.Tab("Text"):
            with gr.Row():
                text = gr.Textbox(
                    label="Text",
                    lines=4,
                    placeholder="Type or paste a text in any language…",
                    elem_id="text-input",
                    scale=4,
                )
                language = gr.Dropdown(
                    choices=[("auto (detect)", AUTO), *language_choices()],
                    value=AUTO,
                    label="Language",
                    elem_id="language-input",
                    scale=1,
                )
            classify = gr.Button("Classify", variant="primary", elem_id="classify")
            gr.Examples(
                examples=[[example] for _, example in EXAMPLES],
                inputs=[text],
                example_labels=[f"{language_name(code)}: {example}" for code, example in EXAMPLES],
                label="Examples (click one, then Classify)",
                examples_per_page=len(EXAMPLES),
                cache_examples=False,
            )
            status = gr.Markdown(elem_id="text-status")
            outputs = [status]
            with gr.Row():
                for column_tasks in (["emotion"], ["polarization", "polarization_type"]):
                    with gr.Column():
                        for task in column_tasks:
                            entry = served[task]
                            gr.Markdown(f"### {TITLES[task]}")
                            gr.Markdown(model_markdown(entry), elem_id=f"{task}-model")
                            available = isinstance(entry.model, TextClassifier)
                            # A multi-label model may predict several labels or none: no single heading then.
                            heading = available and not entry.model.multi_label
                            outputs.append(
                                gr.Label(
                                    label=TITLES[task],
                                    num_top_classes=MAX_LABELS_DRAWN,
                                    visible=available,
                                    show_heading=heading,
                                    elem_id=f"{task}-label",
                                )
                            )
                            outputs.append(gr.HTML(visible=available, elem_id=f"{task}-table"))
            classify.click(classify_text, inputs=[text, language], outputs=outputs, api_name="classify")

        with gr.Tab("Batch (CSV)"):
            gr.Markdown(
                f"Upload a UTF-8 CSV with a `text` column (or choose the column), up to {limits['max_csv_rows']:,} "
                f"rows. You get the same rows back with the detected language and every model's predictions and "
                f"probabilities. Texts longer than {limits['max_characters']:,} characters are cut."
            )
            with gr.Row():
                csv_file = gr.File(label="CSV file", file_types=[".csv"], elem_id="batch-input")
                # allow_custom_value: API clients name the column without the upload round trip that fills choices.
                text_column = gr.Dropdown(
                    label="Text column", choices=[], allow_custom_value=True, elem_id="batch-column"
                )
            classify_batch = gr.Button("Classify CSV", variant="primary", elem_id="batch-run")
            batch_status = gr.Markdown(elem_id="batch-status")
            predictions_file = gr.File(
                label="Predictions (CSV)", interactive=False, visible=False, elem_id="batch-output"
            )
            preview = gr.Dataframe(
                label="First rows (probabilities are in the file)",
                interactive=False,
                wrap=True,
                visible=False,
                elem_id="batch-preview",
            )
            csv_file.change(inspect_csv, inputs=csv_file, outputs=[text_column, batch_status], api_name="inspect_csv")
            classify_batch.click(
                classify_csv,
                inputs=[csv_file, text_column],
                outputs=[predictions_file, preview, batch_status],
                api_name="classify_csv",
            )

        recommender = served["recommender"]
        with gr.Tab("Movie recommendations"):
            gr.Markdown(model_markdown(recommender), elem_id="recommender-model")
            if recommender.model is not None:
                liked = gr.Dropdown(
                    choices=recommender.model.choices(),
                    multiselect=True,
                    max_choices=MAX_LIKED_MOVIES,
                    label="Movies you liked, in the order you watched them",
                    elem_id="liked-movies",
                )
                k = gr.Slider(1, 20, value=10, step=1, label="How many recommendations")
                run_recommend = gr.Button("Recommend", variant="primary", elem_id="recommend")
                rec_status = gr.Markdown(elem_id="recommend-status")
                table = gr.Dataframe(
                    headers=["rank", "title", "genres", "score"], interactive=False, elem_id="recommendations"
                )
                run_recommend.click(recommend, inputs=[liked, k], outputs=[table, rec_status], api_name="recommend")

        gr.Markdown(
            "Models are chosen by the Space's owner (space_config.yaml or environment variables) and loaded once at "
            "start-up. Part of the mbert-tiny-hub project."
        )
    demo.queue(default_concurrency_limit=limits["concurrency_limit"], max_size=limits["queue_size"])
    return demo


logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
SETTINGS = load_settings()
demo = build_demo(SETTINGS)

if __name__ == "__main__":
    demo.launch(css=CSS, max_file_size=f"{SETTINGS.limits['max_file_size_mb']}mb", show_error=False)
