"""One fail-closed licence check runs on every path that pushes (train.py --push_to_hub, publish model / adapter /
dataset / space): data that may not be redistributed, or whose licence cannot be read, never reaches a public
repository; a model card states its training data's terms; nothing pushed carries a local path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from huggingface_hub import constants

from hub_fixtures import make_adapter_folder, make_dataset_folder, make_model_folder
from hub_server import HubServer
from mbert_tiny_hub.hub import PublishError, push_adapter, push_dataset, push_folder, push_model
from test_training_support import (  # noqa: F401 - single_thread is a fixture
    make_classification_dataset,
    make_tokenizer,
    single_thread,
    tiny_classification_config,
    write_config,
)

POLAR_CARD = {"license": "other", "license_name": "polar-research-only", "redistributable": False}


@pytest.fixture(scope="module")
def hub():
    with pytest.MonkeyPatch.context() as patch, HubServer() as server:
        patch.setattr(constants, "HF_HUB_OFFLINE", False)
        yield server


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_folder(tmp_path_factory.mktemp("licences") / "model")


def where(hub):
    return {"endpoint": hub.url, "token": hub.token}


def recommender_folder(model_dir: Path, folder: Path, dataset: dict | None) -> Path:
    """A model folder with an item vocabulary (titles and genres copied from the training data)."""
    shutil.copytree(model_dir, folder)
    (folder / "item_vocab.json").write_text(json.dumps({"items": [{"id": 1, "title": "Toy Story (1995)"}]}))
    if dataset is None:
        (folder / "results.json").unlink()
    else:
        results = json.loads((folder / "results.json").read_text())
        results["dataset"] = {"name_or_path": "movielens_1m", **dataset}
        (folder / "results.json").write_text(json.dumps(results))
    return folder


def test_train_py_push_refuses_a_recommender_trained_on_movielens(hub, model_dir, tmp_path):
    from mbert_tiny_hub.config import config_from_dict
    from mbert_tiny_hub.training import finalize_output_folder

    folder = recommender_folder(model_dir, tmp_path / "bert4rec", {"license": "other", "redistributable": False})
    config = config_from_dict({"task": "bert4rec"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "ENDPOINT", hub.url)
        patch.setenv("HF_TOKEN", hub.token)
        with pytest.raises(PublishError, match=r"item_vocab.json.*redistributable: false"):
            finalize_output_folder(folder, None, config, push_to_hub="org/bert4rec-ml1m")
    assert ("model", "org/bert4rec-ml1m") not in hub.repos


@pytest.mark.parametrize(
    "dataset, message",
    [
        (None, "there is no results.json saying that data may be redistributed"),
        ({}, "no redistributable licence"),
        ({"license": "other"}, "no redistributable licence"),
    ],
)
def test_publish_model_refuses_a_recommender_whose_data_licence_is_unknown(hub, model_dir, tmp_path, dataset, message):
    folder = recommender_folder(model_dir, tmp_path / "bert4rec", dataset)
    repo_id = f"org/bert4rec-unknown-{len(hub.repos)}"
    with pytest.raises(PublishError, match=message):
        push_model(folder, repo_id, **where(hub))
    assert ("model", repo_id) not in hub.repos
    push_model(folder, repo_id, private=True, **where(hub))  # for one's own use


def test_a_recommender_on_redistributable_data_is_published(hub, model_dir, tmp_path):
    folder = recommender_folder(model_dir, tmp_path / "bert4rec", {"license": "cc-by-4.0", "redistributable": True})
    push_model(folder, "org/bert4rec-open", **where(hub))
    assert "item_vocab.json" in hub.files("org/bert4rec-open")


def test_publish_space_refuses_a_space_carrying_polar_data(hub, tmp_path):
    space = tmp_path / "space"
    space.mkdir()
    (space / "app.py").write_text("import gradio as gr\n")
    (space / "README.md").write_text("---\nsdk: gradio\napp_file: app.py\n---\n# Demo\n")
    make_dataset_folder(space / "data" / "polar", redistributable=False, license="other")
    with pytest.raises(PublishError, match=r"data/polar/README.md says `redistributable: false`"):
        push_folder(space, "org/demo-polar", "space", **where(hub))
    assert ("space", "org/demo-polar") not in hub.repos


def test_publish_space_refuses_data_files_whose_licence_no_card_states(hub, tmp_path):
    space = tmp_path / "space"
    space.mkdir()
    (space / "app.py").write_text("import gradio as gr\n")
    (space / "README.md").write_text("---\nsdk: gradio\napp_file: app.py\n---\n# Demo\n")
    make_dataset_folder(tmp_path / "polar", redistributable=False, license="other")
    shutil.copy2(tmp_path / "polar" / "default" / "train-00000-of-00001.parquet", space / "examples.parquet")
    with pytest.raises(PublishError, match=r"examples.parquet is a data file with no dataset card"):
        push_folder(space, "org/demo-loose", "space", **where(hub))
    assert ("space", "org/demo-loose") not in hub.repos


def test_publish_adapter_refuses_an_adapter_folder_carrying_polar_data(hub, model_dir, tmp_path):
    adapter = make_adapter_folder(model_dir, tmp_path / "adapter")
    make_dataset_folder(adapter / "training_data", redistributable=False, license="other")
    with pytest.raises(PublishError, match=r"training_data/README.md says `redistributable: false`"):
        push_adapter(adapter, "org/adapter-polar", base_model="org/base", **where(hub))
    assert ("model", "org/adapter-polar") not in hub.repos


@pytest.mark.parametrize(
    "card, message",
    [
        ("---\nlicense: [unclosed\n---\n# Broken\n", "does not parse"),
        ("---\nconfigs:\n- config_name: default\n  data_files: default/*.parquet\n---\n# No licence\n",
         "no redistributable licence"),
    ],
)  # fmt: skip
def test_publish_dataset_refuses_a_card_whose_licence_cannot_be_read(hub, tmp_path, card, message):
    folder = make_dataset_folder(tmp_path / "data")
    (folder / "README.md").write_text(card)
    repo_id = f"org/unknown-licence-{len(hub.repos)}"
    with pytest.raises(PublishError, match=message):
        push_folder(folder, repo_id, "dataset", **where(hub))
    assert ("dataset", repo_id) not in hub.repos


def test_publish_dataset_still_publishes_an_open_dataset(hub, tmp_path):
    push_dataset(make_dataset_folder(tmp_path / "open"), "org/open-data", **where(hub))
    assert "README.md" in hub.files("org/open-data", "dataset")


def test_a_card_states_the_training_datas_terms_and_no_local_path(model_dir, tmp_path):
    from mbert_tiny_hub.cards import build_model_card

    local = tmp_path / "shared" / "data" / "polar_built"
    results = json.loads((model_dir / "results.json").read_text())
    results["dataset"] = {**results["dataset"], "name_or_path": str(local), **POLAR_CARD}
    results["command"] = f"python train.py --config {tmp_path}/configs/polar.yaml --output_dir=/tmp/run-7/polar"
    train_config = {"task": "classification", "data": {"dataset": "../shared/data/polar_built"},
                    "model": {"tokenizer": [str(tmp_path / "tokenizers" / "mbert")]}}  # fmt: skip
    card = str(build_model_card(model_dir, results, train_config, repo_id="org/tiny-polar"))
    assert "## Training data terms" in card and "polar-research-only" in card
    assert "do not allow redistribution" in card
    assert str(tmp_path) not in card and "/tmp/" not in card and "../shared" not in card
    assert "polar_built" in card  # the dataset is still named


def test_a_train_py_push_carries_no_local_path_and_states_the_data_terms(hub, tmp_path, single_thread):  # noqa: F811
    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    dataset = make_classification_dataset(tmp_path / "polar_like")
    card = (dataset / "README.md").read_text().replace("license: apache-2.0\n", yaml.safe_dump(POLAR_CARD))
    (dataset / "README.md").write_text(card)
    config = tiny_classification_config(dataset, make_tokenizer(tmp_path / "tok"), tmp_path / "run", num_train_epochs=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "ENDPOINT", hub.url)
        patch.setenv("HF_TOKEN", hub.token)
        config = load_config(write_config(tmp_path / "polar.yaml", config))
        run_experiment(config, RunOptions(push_to_hub="org/tiny-polar-like"))
    files = hub.files("org/tiny-polar-like")
    for name, content in files.items():
        assert str(tmp_path).encode() not in content, f"{name} holds a local path"
    readme = files["README.md"].decode()
    assert "## Training data terms" in readme and "polar-research-only" in readme
    assert json.loads(files["results.json"])["dataset"]["redistributable"] is False
    assert str(tmp_path) in (tmp_path / "run" / "training_args.json").read_text()  # the local folder keeps them
