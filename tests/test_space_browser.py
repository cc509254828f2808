"""The Space in a real browser: app.py runs on 127.0.0.1 with small models trained here, headless Chromium drives it.

What the page shows is checked against the models' own predictions computed in this process.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest
import yaml

from _space_helpers import (
    MAX_LENGTH,
    MOVIES,
    SPACE_DIR,
    build_recommender,
    build_tokenizer,
    expected_prediction,
    train_classifier,
)

# Training the models and starting the app take most of a minute on a busy 2-core machine (shared by the module).
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
TASKS = ("emotion", "polarization", "polarization_type")
TIMEOUT_MS = 60_000  # a loaded 2-core machine can take seconds for a first request


def _load_screenshot_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("space_screenshot", SPACE_DIR / "screenshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


space_tools = _load_screenshot_module()


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).is_file():
        message = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium, or `make browser`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = space_tools.launch_chromium(playwright, CHROMIUM)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tokenizer, three classifiers and a recommender, trained / built in this test module."""
    root = tmp_path_factory.mktemp("space-models")
    tokenizer = build_tokenizer(root / "tokenizer")
    trained = {task: train_classifier(root / task, tokenizer, task, seed=index) for index, task in enumerate(TASKS)}
    recommender = build_recommender(root / "recommender")
    return {"root": root, "tokenizer": tokenizer, "classifiers": trained, "recommender": recommender}


@pytest.fixture(scope="module")
def space_url(models, tmp_path_factory):
    root = models["root"]
    config = tmp_path_factory.mktemp("space-config") / "space_config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "models": {},
                "trust_remote_code": [str(root / "recommender")],
                "limits": {"max_characters": 5000, "max_csv_rows": 20},
            }
        ),
        encoding="utf-8",
    )
    env = {
        "SPACE_CONFIG": str(config),
        "EMOTION_MODEL": str(root / "emotion"),
        "POLARIZATION_MODEL": str(root / "polarization"),
        "POLARIZATION_TYPE_MODEL": str(root / "polarization_type"),
        "RECOMMENDER_MODEL": str(root / "recommender"),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",  # tiny models on a shared machine
    }
    log = root / "space.log"
    with space_tools.serve_space(env, log_path=str(log)) as url:
        yield url
    assert "Traceback" not in log.read_text(encoding="utf-8"), log.read_text(encoding="utf-8")[-3000:]


@pytest.fixture
def page(chromium, space_url):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(space_url)
    page.locator("#classify").wait_for()
    yield page
    context.close()


def classify(page, text: str, example: str | None = None, expected_status: str = "Language"):
    """Enter `text` (or click the example whose label starts with `example`: it must hold `text`), press Classify,
    wait for the status."""
    from playwright.sync_api import expect

    textbox = page.locator("#text-input textarea")
    if example is not None:
        page.get_by_role("button", name=re.compile("^" + re.escape(example))).click()
        expect(textbox).to_have_value(text)  # loading an example is a round trip to the server
    else:
        textbox.fill(text)
    page.locator("#classify").click()
    expect(page.locator("#text-status")).to_contain_text(expected_status, timeout=TIMEOUT_MS)


def shown_table(page, task: str) -> tuple[dict[str, float], str]:
    """{label: probability} from a task's table, and its 'Predicted:' line."""
    table = page.locator(f"#{task}-table")
    labels = table.locator("td.label").all_inner_texts()
    probabilities = [float(value) for value in table.locator("td.probability").all_inner_texts()]
    return dict(zip(labels, probabilities)), table.locator(".predicted").inner_text()


def shown_label_percentages(page, task: str) -> dict[str, str]:
    """{label: "69%"} as gr.Label draws them."""
    component = page.locator(f"#{task}-label")
    return dict(
        zip(component.locator("dt.text").all_inner_texts(), component.locator("dd.confidence").all_inner_texts())
    )


def assert_page_matches_model(page, models, text: str) -> None:
    for task in TASKS:
        expected, predicted = expected_prediction(models["classifiers"][task], models["tokenizer"], text)
        shown, shown_predicted = shown_table(page, task)
        assert shown.keys() == expected.keys(), task
        for label, probability in expected.items():
            # The table rounds to 4 decimals; the Space batches with padding, so allow float noise on top.
            assert shown[label] == pytest.approx(probability, abs=5.1e-5), (task, label, text)
        ranked = sorted(predicted, key=expected.get, reverse=True)
        assert shown_predicted == (", ".join(ranked) or "none above the threshold")
        percentages = shown_label_percentages(page, task)
        assert percentages.keys() == expected.keys()
        for label, probability in expected.items():
            # Label draws whole percents; accept either neighbour when the value sits on a rounding edge.
            assert abs(int(percentages[label].rstrip("%")) - probability * 100) <= 0.5 + 1e-3, (task, label)


def test_space_shows_the_models_own_predictions_for_three_languages_and_a_csv(page, models, tmp_path):
    from playwright.sync_api import expect

    # The models in use and the headline numbers of their cards.
    for task in TASKS:
        info = page.locator(f"#{task}-model")
        expect(info).to_contain_text(f"{task} (local folder)")  # a local model is named, its path is not shown
        expect(info).not_to_contain_text(str(models["root"]))
        expect(info).to_contain_text("macro F1 0.812 (Space test sentences, test)")

    english = "I am so happy today, this is a wonderful surprise!"
    classify(page, english, expected_status="English (detected)")
    assert_page_matches_model(page, models, english)

    arabic = "أنا سعيد جدا لأنني نجحت في الامتحان بعد تعب طويل."  # one of the Space's examples, clicked
    classify(page, arabic, example="Arabic:", expected_status="Arabic (detected)")
    assert_page_matches_model(page, models, arabic)

    chinese = "那些政客都是骗子，我非常生气！"
    page.locator("#language-input input").fill("Chinese")
    page.get_by_role("option", name="Chinese").click()
    classify(page, chinese, expected_status="Chinese (chosen)")
    assert_page_matches_model(page, models, chinese)
    page.screenshot(path=str(tmp_path / "space-text.png"), full_page=True)

    # Batch mode: a CSV in, predictions out as a download.
    rows = [
        {"id": "a", "text": "I am scared of what will happen tomorrow."},
        {"id": "b", "text": "Estoy furioso con el gobierno, son unos ladrones."},
        {"id": "c", "text": ""},
        {"id": "d", "text": "Эти политики предатели и воры."},
        {"id": "e", "text": "那些人都是叛徒，应该滚出去！ " * 10},  # longer than the model reads
    ]
    upload = tmp_path / "posts.csv"
    with upload.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=["id", "text"])
        writer.writeheader()
        writer.writerows(rows)
    page.get_by_role("tab", name="Batch (CSV)").click()
    page.locator("#batch-input input[type=file]").set_input_files(str(upload))
    expect(page.locator("#batch-status")).to_contain_text("5 rows; texts in column 'text'")
    page.locator("#batch-run").click()
    expect(page.locator("#batch-status")).to_contain_text("Classified 5 rows", timeout=TIMEOUT_MS)
    expect(page.locator("#batch-status")).to_contain_text("1 empty row(s)")
    with page.expect_download() as download_info:
        page.locator("#batch-output a[download]").first.click()
    downloaded = tmp_path / "predictions.csv"
    download_info.value.save_as(downloaded)
    page.screenshot(path=str(tmp_path / "space-batch.png"), full_page=True)

    with downloaded.open(encoding="utf-8") as file:
        predictions = list(csv.DictReader(file))
    assert [row["id"] for row in predictions] == [row["id"] for row in rows]
    for row, prediction in zip(rows, predictions):
        assert prediction["text"] == row["text"]
        if not row["text"]:
            assert prediction["emotion"] == prediction["emotion_joy"] == prediction["detected_language"] == ""
            continue
        for task in TASKS:
            model = models["classifiers"][task]
            expected, predicted = expected_prediction(model, models["tokenizer"], row["text"].strip())
            for label, probability in expected.items():
                assert float(prediction[f"{task}_{label}"]) == pytest.approx(probability, abs=2e-6), (task, label)
            assert prediction[task] == "; ".join(sorted(predicted, key=expected.get, reverse=True))
        tokens = len(models["tokenizer"](row["text"].strip())["input_ids"])
        assert prediction["truncated"] == str(tokens > MAX_LENGTH)
    assert [row["detected_language"] for row in predictions] == ["eng", "spa", "", "rus", "zho"]
    assert predictions[-1]["truncated"] == "True"
    assert (tmp_path / "space-text.png").stat().st_size > 10_000


def test_space_answers_empty_huge_and_unusable_input_with_friendly_messages(page, models, tmp_path):
    from playwright.sync_api import expect

    classify(page, "   ", expected_status="Enter a text to classify")
    expect(page.locator("#emotion-table")).to_have_text("")

    classify(page, "x" * 100_000, expected_status="This text has 100,000 characters")
    expect(page.locator("#text-status")).to_contain_text("up to 5,000 at a time")
    expect(page.locator("#emotion-table")).to_have_text("")

    # Long but allowed: classified, cut to the model's length, and the page says so.
    long_text = "They lied to us again and I am furious about it. " * 12
    classify(page, long_text, expected_status="tokens long")
    expect(page.locator("#text-status")).to_contain_text(f"reads the first {MAX_LENGTH}")
    assert_page_matches_model(page, models, long_text.strip())

    no_text_column = tmp_path / "comments.csv"
    no_text_column.write_text("id,comment\n1,hello there\n2,good morning\n", encoding="utf-8")
    page.get_by_role("tab", name="Batch (CSV)").click()
    page.locator("#batch-input input[type=file]").set_input_files(str(no_text_column))
    status = page.locator("#batch-status")
    expect(status).to_contain_text("The CSV has no 'text' column (its columns are: id, comment)")
    expect(status).to_contain_text("Choose the column that holds the texts")
    page.locator("#batch-run").click()
    expect(status).to_contain_text("The CSV has no 'text' column", timeout=TIMEOUT_MS)
    expect(page.locator("#batch-output a[download]")).to_have_count(0)
    # Choosing the column, as the message says, makes the same file work.
    page.locator("#batch-column input").fill("comment")
    page.get_by_role("option", name="comment").click()
    page.locator("#batch-run").click()
    expect(status).to_contain_text("Classified 2 rows of column 'comment'", timeout=TIMEOUT_MS)
    expect(page.locator("#batch-output a[download]")).to_have_count(1)

    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Error" not in body
    page.screenshot(path=str(tmp_path / "space-errors.png"), full_page=True)


def test_space_recommends_the_movies_its_bert4rec_model_recommends(page, models):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Movie recommendations").click()
    liked = [1198, 260]  # Raiders, then Star Wars
    titles = {item_id: title for item_id, title, _ in MOVIES}
    for item_id in liked:
        page.locator("#liked-movies input").fill(titles[item_id][:12])
        page.get_by_role("option", name=titles[item_id]).click()
    page.keyboard.press("Escape")  # a multiselect stays open after a pick
    page.locator("#recommend").click()
    expect(page.locator("#recommend-status")).to_contain_text("Top 10 for your 2 movie(s)", timeout=TIMEOUT_MS)
    expected = models["recommender"].recommend(liked, k=10)
    table = page.locator("#recommendations")
    expect(table.locator("[data-testid='cell-0-1']")).to_have_text(expected["titles"][0])
    rows = range(len(expected["titles"]))
    shown_titles = [table.locator(f"[data-testid='cell-{row}-1']").inner_text() for row in rows]
    shown_scores = [float(table.locator(f"[data-testid='cell-{row}-3']").inner_text()) for row in rows]
    assert shown_titles == expected["titles"]
    assert shown_scores == pytest.approx(expected["scores"], abs=5.1e-5)
    assert not set(shown_titles) & {titles[item_id] for item_id in liked}  # what you liked is not recommended back


def test_api_clients_classify_a_csv_whose_texts_are_in_another_column(space_url, tmp_path):
    """gradio_client, as an API user calls the Space: the column is named in the call, no upload round trip."""
    from gradio_client import Client, handle_file

    path = tmp_path / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "review"])
        writer.writerows([[1, "happy happy day"], [2, "miedo en casa"]])
    client = Client(space_url, verbose=False)
    predictions, _, status = client.predict(handle_file(str(path)), "review", api_name="/classify_csv")
    assert "Classified 2 rows of column 'review'" in status
    with open(predictions["value"] if isinstance(predictions, dict) else predictions, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["review"] for row in rows] == ["happy happy day", "miedo en casa"]
    assert {"detected_language", "emotion", "polarization"} <= set(rows[0])
    # A column the file does not have is named in the answer.
    _, _, status = client.predict(handle_file(str(path)), "comment", api_name="/classify_csv")
    assert "comment" in status
