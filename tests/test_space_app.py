"""The Space's own code without a browser: settings and the remote-code allow-list, language detection, loading
project checkpoints as stock BERT, model-card headlines, batch CSV handling, and what the Hub needs to deploy it."""

from __future__ import annotations

import ast
import re

import pandas as pd
import pytest
import yaml

from _space_helpers import (
    MAX_LENGTH,
    SENTENCES,
    SPACE_DIR,
    build_recommender,
    build_tokenizer,
    expected_prediction,
    load_space_package,
    train_classifier,
)

load_space_package()

from emotion_polarization.batch import BatchError, classify_frame, find_text_column, read_csv, write_csv  # noqa: E402
from emotion_polarization.classifier import TextClassifier  # noqa: E402
from emotion_polarization.examples import EXAMPLES  # noqa: E402
from emotion_polarization.languages import (  # noqa: E402
    LANGUAGES,
    RIGHT_TO_LEFT_SCRIPTS,
    SCRIPT_LANGUAGES,
    detect_language,
)
from emotion_polarization.model_card import read_card  # noqa: E402
from emotion_polarization.recommender import MovieRecommender, RemoteCodeNotAllowed  # noqa: E402
from emotion_polarization.settings import ModelSource, SettingsError, load_settings  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tokenizer and an emotion (multi-label) and a polarization (single-label) checkpoint, trained here."""
    root = tmp_path_factory.mktemp("space-unit-models")
    tokenizer = build_tokenizer(root / "tokenizer")
    return {
        "root": root,
        "tokenizer": tokenizer,
        "emotion": train_classifier(root / "emotion", tokenizer, "emotion"),
        "polarization": train_classifier(root / "polarization", tokenizer, "polarization", seed=1),
    }


def write_config(path, **data):
    path.write_text(yaml.safe_dump({"models": {}, **data}), encoding="utf-8")
    return path


# ----- examples and languages ---------------------------------------------------------------------------------


def test_examples_span_six_languages_with_a_right_to_left_and_a_non_latin_script():
    languages = {code for code, _ in EXAMPLES}
    scripts = {LANGUAGES[code][2] for code in languages}
    assert len(languages) >= 6
    assert scripts & RIGHT_TO_LEFT_SCRIPTS
    assert scripts - {"Latin"} - RIGHT_TO_LEFT_SCRIPTS


@pytest.mark.parametrize("code,text", EXAMPLES, ids=[f"{code}-{i}" for i, (code, _) in enumerate(EXAMPLES)])
def test_language_detection_recognises_every_example(code, text):
    detection = detect_language(text)
    # Certain only where the script belongs to one supported language (Han here); shared scripts say "probably".
    assert (detection.code, detection.certain) == (code, len(SCRIPT_LANGUAGES[LANGUAGES[code][2]]) == 1)
    assert detection.right_to_left == (LANGUAGES[code][2] in RIGHT_TO_LEFT_SCRIPTS)


@pytest.mark.parametrize(
    "text,code",
    [
        ("Je suis très content de te voir, c'est une belle journée.", "fra"),
        ("Sono molto felice di vederti, è una bella giornata.", "ita"),
        ("Estou muito feliz, você é incrível e isso é ótimo.", "por"),
        ("Jestem bardzo szczęśliwy, że to się udało.", "pol"),
        ("از شنیدن این خبر خیلی ناراحت شدم", "fas"),
        ("Я дуже радий, що ви прийшли", "ukr"),
        ("म धेरै खुसी छु", "nep"),
        ("こんにちは、元気ですか", "jpn"),
        ("ሰላም ነው", "amh"),
    ],
)
def test_language_detection_tells_apart_languages_that_share_a_script(text, code):
    assert detect_language(text).code == code


@pytest.mark.parametrize(
    "text",
    [
        "ሰላም ከመይ ኣለኹም፣ ሎሚ ጽቡቕ መዓልቲ እዩ",  # Tigrinya: the Ethiopic script is Amharic's too
        "Ina son wannan fim din sosai, yana da kyau",  # Hausa, in the Latin script many languages share
        "Это очень хорошая новость",
    ],
)
def test_a_script_two_supported_languages_share_is_never_claimed_with_certainty(text):
    detection = detect_language(text)
    assert not detection.certain and detection.describe().startswith(("probably", "undetermined"))


def test_language_detection_says_so_when_a_text_gives_nothing_to_go_on():
    assert detect_language("Hello").describe() == "undetermined (Latin script)"
    assert detect_language("12345 !!").code is None


# ----- settings -----------------------------------------------------------------------------------------------


def test_environment_overrides_the_config_file_and_an_empty_variable_switches_a_model_off(tmp_path):
    folder = tmp_path / "emotion-model"
    folder.mkdir()
    config = write_config(
        tmp_path / "space.yaml",
        models={"emotion": "org/emotion", "polarization": "org/polar@v1.0", "recommender": "org/rec"},
        limits={"max_csv_rows": 10},
    )
    settings = load_settings(config, environ={"EMOTION_MODEL": str(folder), "RECOMMENDER_MODEL": ""})
    assert settings.models["emotion"] == ModelSource(str(folder.resolve()), local=True)
    assert settings.models["emotion"].link is None
    assert settings.models["polarization"] == ModelSource("org/polar", "v1.0")
    assert settings.models["polarization"].link.endswith("/org/polar")
    assert settings.models["polarization_type"] is None and settings.models["recommender"] is None
    assert settings.limits["max_csv_rows"] == 10 and settings.limits["max_characters"] == 5000


@pytest.mark.parametrize(
    "data,message",
    [
        ({"models": {"emotion": "not a/valid id/at all"}}, "models.emotion"),
        ({"models": {"sentiment": "org/x"}}, "'models' must map"),
        ({"limits": {"max_characters": 0}}, "limits.max_characters must be a positive integer"),
        ({"trust_remote_code": "org/x"}, "'trust_remote_code' must be a list"),
        ({"model": {}}, "unknown field(s) model"),
    ],
)
def test_a_wrong_config_is_refused_with_the_file_and_field_named(tmp_path, data, message):
    config = tmp_path / "space.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(SettingsError, match=re.escape(message)) as error:
        load_settings(config, environ={})
    assert str(config) in str(error.value)


def test_a_bad_model_variable_is_refused_with_the_variable_named(tmp_path):
    with pytest.raises(SettingsError, match="POLARIZATION_MODEL = '../no/such/folder'"):
        load_settings(write_config(tmp_path / "space.yaml"), environ={"POLARIZATION_MODEL": "../no/such/folder"})


def test_only_allow_listed_models_may_run_their_own_code(tmp_path):
    listed = tmp_path / "bert4rec"
    listed.mkdir()
    config = write_config(tmp_path / "space.yaml", trust_remote_code=["org/bert4rec", str(listed)])
    settings = load_settings(config, environ={})
    assert settings.may_run_remote_code(ModelSource("org/bert4rec"))
    assert settings.may_run_remote_code(ModelSource.parse(str(listed), "test"))
    assert not settings.may_run_remote_code(ModelSource("org/bert4rec-fork"))
    assert not settings.may_run_remote_code(ModelSource("org/emotion"))


def test_a_recommender_off_the_allow_list_is_refused_before_its_code_is_loaded(tmp_path):
    folder = tmp_path / "bert4rec"
    build_recommender(folder)
    with pytest.raises(RemoteCodeNotAllowed, match="trust_remote_code"):
        MovieRecommender(ModelSource(str(folder), local=True), may_run_remote_code=False)
    allowed = MovieRecommender(ModelSource(str(folder), local=True), may_run_remote_code=True)
    assert len(allowed.choices()) == 12
    assert [row["rank"] for row in allowed.recommend([1, 260], k=3)] == [1, 2, 3]


# ----- classifiers and cards ----------------------------------------------------------------------------------


def test_a_project_checkpoint_loads_as_stock_bert_and_predicts_what_the_model_predicts(tiny):
    texts = [text for text, *_ in SENTENCES[:7]] + ["They lied to us again and I am furious about it. " * 12]
    for task, multi_label in (("emotion", True), ("polarization", False)):
        classifier = TextClassifier(ModelSource(str(tiny["root"] / task), local=True))
        # No remote code ran: the class is transformers' own BERT, not the checkpoint's mbert_tiny.py.
        assert type(classifier.model).__module__.startswith("transformers.models.bert.")
        assert (classifier.multi_label, classifier.max_length) == (multi_label, MAX_LENGTH)
        predictions = classifier.predict(texts, batch_size=3)
        for text, prediction in zip(texts, predictions):
            probabilities, predicted = expected_prediction(tiny[task], tiny["tokenizer"], text)
            assert prediction.probabilities == pytest.approx(probabilities, abs=1e-5)
            assert sorted(prediction.predicted) == sorted(predicted)
        assert [p.truncated for p in predictions] == [False] * 7 + [True]
        assert predictions[-1].num_tokens > MAX_LENGTH


def test_card_headlines_come_from_the_model_index(tiny):
    card = read_card(ModelSource(str(tiny["root"] / "emotion"), local=True))
    assert [h.describe() for h in card.headlines] == [
        "macro F1 0.812 (Space test sentences, test)",
        "accuracy 0.750 (Space test sentences, test)",
    ]
    assert card.languages == ["en", "es", "ar", "zh"] and card.note is None
    missing = read_card(ModelSource(str(tiny["root"] / "tokenizer"), local=True))
    assert missing.headlines == [] and "no README.md" in missing.note


# ----- batch --------------------------------------------------------------------------------------------------


def test_batch_adds_language_labels_and_probabilities_per_row_and_says_what_it_skipped(tiny, tmp_path):
    classifiers = {
        task: TextClassifier(ModelSource(str(tiny["root"] / task), local=True)) for task in ("emotion", "polarization")
    }
    spanish = "Tengo miedo de salir a la calle por la noche."
    frame = pd.DataFrame({"id": ["1", "2", "3"], "body": [spanish, "", "x" * 60]})
    result, notes = classify_frame(frame, "body", classifiers, max_characters=50, batch_size=2)
    assert list(result.columns[:2]) == ["id", "body"]
    expected_columns = {"detected_language", "truncated", "emotion", "emotion_joy", "polarization_polarized"}
    assert expected_columns <= set(result.columns)
    assert result["detected_language"].tolist() == ["spa", "", ""]
    assert result["truncated"].tolist() == [False, False, True]  # row 3 is over max_characters
    probabilities, predicted = expected_prediction(tiny["polarization"], tiny["tokenizer"], frame.body[0])
    assert result.loc[0, "polarization_polarized"] == pytest.approx(probabilities["polarized"], abs=1e-6)
    assert result.loc[0, "polarization"] == predicted[0]
    assert result.loc[1, "emotion"] == "" and pd.isna(result.loc[1, "emotion_joy"])
    assert any("1 empty row" in note for note in notes) and any("were cut" in note for note in notes)

    written = write_csv(result, tmp_path / "out", "predictions.csv")
    assert pd.read_csv(written, keep_default_na=False)["polarization"].tolist()[0] == predicted[0]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["predictions.csv"]  # no temp file left behind


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "is empty"),
        (b"text\n" + "caf\xe9".encode("latin-1") + b"\n", "is not UTF-8"),
        (b"text\n" + b"a\n" * 6, "has more than 5 rows"),
        (b"text\n", "has a header but no rows"),
    ],
)
def test_unreadable_csv_files_get_a_message_that_says_what_to_do(tmp_path, content, message):
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(BatchError, match=message):
        read_csv(path, max_rows=5)


def test_the_text_column_is_found_by_name_or_chosen_and_a_semicolon_csv_is_read(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("id;Text\n1;hola\n", encoding="utf-8-sig")
    frame = read_csv(path, max_rows=5)
    assert find_text_column(frame) == "Text"
    assert find_text_column(frame, "id") == "id"
    with pytest.raises(BatchError, match=r"no 'text' column \(its columns are: id, comment\)"):
        find_text_column(pd.DataFrame({"id": ["1"], "comment": ["hi"]}))


def test_predictions_never_overwrite_a_column_of_the_upload(tiny):
    classifiers = {"polarization": TextClassifier(ModelSource(str(tiny["root"] / "polarization"), local=True))}
    frame = pd.DataFrame({"text": ["hello"], "polarization": ["gold label"]})
    with pytest.raises(BatchError, match="already has column"):
        classify_frame(frame, "text", classifiers, max_characters=100)


# ----- deployable as is ---------------------------------------------------------------------------------------


def _pins(path) -> dict[str, str]:
    return dict(word.split("==") for word in path.read_text(encoding="utf-8").split() if "==" in word)


def _front_matter(path):
    match = re.match(r"^---\n(.*?)\n---\n", path.read_text(encoding="utf-8"), re.DOTALL)
    assert match, f"{path} has no YAML header"
    return yaml.safe_load(match.group(1))


def test_space_readme_header_has_what_the_hub_needs(repo_root):
    header = _front_matter(SPACE_DIR / "README.md")
    assert header["sdk"] == "gradio" and header["sdk_version"] == _pins(repo_root / "requirements.txt")["gradio"]
    assert (SPACE_DIR / header["app_file"]).is_file()
    assert 0 < len(header["short_description"]) <= 60
    configured = yaml.safe_load((SPACE_DIR / "space_config.yaml").read_text(encoding="utf-8"))["models"]
    hub_ids = [entry for value in configured.values() if value for entry in value if not entry.startswith(".")]
    assert sorted(header["models"]) == sorted(hub_ids)  # the Hub repos the config falls back to
    assert set(header["preload_from_hub"]) <= set(hub_ids) and header["suggested_hardware"] == "cpu-basic"
    readme = (SPACE_DIR / "README.md").read_text(encoding="utf-8")
    assert "`HF_TOKEN`" in readme and all(f"--push_to_hub {repo_id}" in readme for repo_id in hub_ids)
    load_settings(SPACE_DIR / "space_config.yaml", environ={})  # the shipped config is valid


def test_the_shipped_config_serves_the_local_models_once_they_are_written(tmp_path):
    import shutil

    # The repository's layout in miniature: outputs/ two levels above the Space's folder.
    space = tmp_path / "repo" / "spaces" / "space"
    space.mkdir(parents=True)
    shutil.copy(SPACE_DIR / "space_config.yaml", space / "space_config.yaml")
    before = load_settings(space / "space_config.yaml", environ={})
    assert before.models["emotion"] == ModelSource("mbert-tiny-hub/mbert-tiny6-brighter-emotion")  # nothing local
    for stamp in ("20261129-090000", "20261129-170000"):  # what `make demo` writes, one folder per run
        (tmp_path / "repo" / "outputs" / f"quickstart-{stamp}").mkdir(parents=True)
    after = load_settings(space / "space_config.yaml", environ={})
    newest = (tmp_path / "repo/outputs/quickstart-20261129-170000").resolve()
    assert after.models["emotion"] == ModelSource(str(newest), local=True)
    (tmp_path / "repo" / "outputs" / "bert4rec_ml1m_m").mkdir()
    served = load_settings(space / "space_config.yaml", environ={})
    assert served.may_run_remote_code(served.models["recommender"])  # listed relative to the config file too


def test_a_local_model_is_shown_by_its_relative_path_never_the_machines(tmp_path, monkeypatch):
    (tmp_path / "outputs" / "quickstart").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert ModelSource.parse("outputs/quickstart", "x").display == "outputs/quickstart"
    elsewhere = ModelSource(str(tmp_path / "outputs" / "quickstart"), local=True)
    monkeypatch.chdir("/")
    assert str(tmp_path) not in elsewhere.display


def test_space_requirements_pin_what_the_project_pins(repo_root):
    project, space = _pins(repo_root / "requirements.txt"), _pins(SPACE_DIR / "requirements.txt")
    assert {"gradio", "torch", "transformers", "huggingface_hub"} <= space.keys()
    assert {name: project[name] for name in space} == space


def test_space_code_imports_nothing_from_the_repository():
    repository_packages = {"modeling", "mbert_tiny_hub", "data_scripts", "train", "evaluate"}
    for path in SPACE_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            assert not {name.split(".")[0] for name in names} & repository_packages, path
    app = (SPACE_DIR / "app.py").read_text(encoding="utf-8")
    assert "trust_remote_code=True" not in app
