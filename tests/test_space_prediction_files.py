"""The Space's CSV batch mode leaves no folder behind in the temporary directory, however many batches it runs."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

import pytest

from _space_helpers import SPACE_DIR, build_tokenizer, load_space_package, train_classifier


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """app.py imported with every model switched off (its handlers are built below with a trained classifier)."""
    load_space_package()
    with pytest.MonkeyPatch.context() as patch:
        for name in ("EMOTION_MODEL", "POLARIZATION_MODEL", "POLARIZATION_TYPE_MODEL", "RECOMMENDER_MODEL"):
            patch.setenv(name, "")
        spec = importlib.util.spec_from_file_location("space_app_under_test", SPACE_DIR / "app.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_csv_batches_leave_no_predictions_folder_in_the_temporary_directory(app, tmp_path):
    from emotion_polarization.settings import load_settings

    tokenizer = build_tokenizer(tmp_path / "tokenizer")
    model = train_classifier(tmp_path / "polarization", tokenizer, "polarization")
    del model
    config = tmp_path / "space.yaml"
    config.write_text("models: {}\n", encoding="utf-8")
    settings = load_settings(config, environ={"POLARIZATION_MODEL": str(tmp_path / "polarization")})
    served = app.load_models(settings)
    upload = tmp_path / "posts.csv"
    upload.write_text("text\nI am so happy today\nThis is terrible\n", encoding="utf-8")

    def prediction_folders():
        return set(Path(tempfile.gettempdir()).glob("predictions-*"))

    before = prediction_folders()
    _, _, classify_csv, _ = app.make_handlers(settings, served)
    for _ in range(4):
        file_output, _, message = classify_csv(str(upload), "text", progress=lambda *args, **kwargs: None)
        assert "Classified 2 rows" in message and Path(file_output.value["path"]).is_file()  # Gradio's copy
    assert len(prediction_folders() - before) <= 1  # one folder for the process, not one per batch
