"""train.py never loses work or fails late: the output folder is replaced only after everything is validated and
only when train.py wrote it; the main process is accelerate's; Hub id and token, config numbers, tokenizer folders
and label values are checked before training; a resumed run reports the whole run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from transformers import TrainerCallback

from test_training_support import (  # noqa: F401 - single_thread is a fixture
    make_classification_dataset,
    make_tokenizer,
    read_results,
    single_thread,
    tiny_classification_config,
    write_config,
)

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory, single_thread):  # noqa: F811 - the fixture
    root = tmp_path_factory.mktemp("safety-fixtures")
    return {"tokenizer": make_tokenizer(root / "tokenizer"), "dataset": make_classification_dataset(root / "dataset")}


def run(config_dict: dict, tmp_path: Path, **options):
    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    config = load_config(write_config(tmp_path / "config.yaml", config_dict))
    return run_experiment(config, RunOptions(**options))


def earlier_run(folder: Path) -> Path:
    """What a finished train.py run leaves behind (enough for the overwrite checks)."""
    folder.mkdir(parents=True)
    (folder / "train_config.yaml").write_text("task: classification\n")
    (folder / "model.safetensors").write_bytes(b"weights of an earlier run")
    return folder


# ---- the output folder -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "breakage",
    [
        ("data", "label_column", "emotion"),
        ("model", "tokenizer", ["no-such-tokenizer-folder/"]),
        ("data", "dataset", "no-such-dataset-folder/"),
    ],
)
def test_overwrite_keeps_the_earlier_run_when_the_config_does_not_validate(fixtures, tmp_path, breakage):
    from mbert_tiny_hub.config import ConfigError

    folder = earlier_run(tmp_path / "run")
    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], folder)
    section, key, value = breakage
    config[section][key] = value
    with pytest.raises(ConfigError):
        run(config, tmp_path, overwrite_output_dir=True)
    assert (folder / "model.safetensors").read_bytes() == b"weights of an earlier run"


def test_overwrite_never_deletes_a_folder_train_py_did_not_write(fixtures, tmp_path):
    from mbert_tiny_hub.config import ConfigError

    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("months of work")
    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], folder)
    with pytest.raises(ConfigError, match=r"holds files that train.py did not write.*not deleted"):
        run(config, tmp_path, overwrite_output_dir=True)
    assert (folder / "chapter1.tex").read_text() == "months of work"


@pytest.mark.parametrize("output_dir", [".", "..", "work/.."])
def test_the_current_directory_and_the_folders_above_it_are_never_an_output_folder(
    fixtures, tmp_path, monkeypatch, output_dir
):
    from mbert_tiny_hub.config import ConfigError

    work = tmp_path / "work"
    earlier_run(work)  # even a folder that looks like a run: it is where the user stands
    monkeypatch.chdir(work)
    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], Path(output_dir))
    with pytest.raises(ConfigError, match="current directory, the repository or a folder above them"):
        run(config, tmp_path, overwrite_output_dir=True)
    assert (work / "model.safetensors").exists()


def test_the_repository_is_never_an_output_folder(tmp_path, repo_root, monkeypatch):
    from mbert_tiny_hub.config import ConfigError
    from mbert_tiny_hub.training.lifecycle import check_output_dir  # the check alone: a regression must not empty the checkout

    monkeypatch.chdir(tmp_path)
    for folder in (repo_root, repo_root.parent):
        with pytest.raises(ConfigError, match="current directory, the repository or a folder above them"):
            check_output_dir(folder, overwrite=True)
    assert (repo_root / "train.py").is_file()


def test_an_output_folder_that_cannot_be_written_fails_before_training(fixtures, tmp_path):
    import os

    from mbert_tiny_hub.config import ConfigError

    if os.geteuid() == 0:  # root writes anywhere a permission bit forbids; /sys refuses even root
        parent = Path("/sys")
    else:
        parent = tmp_path / "read-only"
        parent.mkdir()
        parent.chmod(0o555)
    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], parent / "runs" / "run")
    with pytest.raises(ConfigError, match=r"cannot write in .*choose an --output_dir in a folder you can write to"):
        run(config, tmp_path)


def test_overwrite_replaces_an_earlier_run_once_training_starts(fixtures, tmp_path):
    folder = earlier_run(tmp_path / "run")
    (folder / "stale-notes.txt").write_text("from the earlier run")
    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], folder, num_train_epochs=1)
    run(config, tmp_path, overwrite_output_dir=True)
    assert not (folder / "stale-notes.txt").exists()
    assert read_results(folder)["task"] == "text-classification"
    assert (folder / "model.safetensors").read_bytes() != b"weights of an earlier run"


def test_the_main_process_is_accelerates_not_the_rank_variable(fixtures, tmp_path, monkeypatch):
    """Launchers such as mpirun do not set RANK; a stray RANK must not make the only process skip the card."""
    monkeypatch.setenv("RANK", "1")
    folder = tmp_path / "run"
    run(tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], folder, num_train_epochs=1), tmp_path)
    assert (folder / "README.md").is_file()


def test_make_demo_does_not_overwrite(repo_root):
    makefile = (repo_root / "Makefile").read_text()
    demo = makefile[makefile.index("\ndemo:") :].split("\n\n")[0]
    assert "train.py" in demo and "--overwrite_output_dir" not in demo


# ---- checks before the long work -------------------------------------------------------------------------------


def test_a_bad_hub_repo_id_fails_before_training(fixtures, tmp_path):
    from mbert_tiny_hub.config import ConfigError

    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], tmp_path / "run")
    with pytest.raises(ConfigError, match=r"--push_to_hub my model: .*is not a Hub repository id"):
        run(config, tmp_path, push_to_hub="my model")
    assert not (tmp_path / "run").exists()


def test_a_wrong_token_fails_before_training_without_showing_it(fixtures, tmp_path, monkeypatch):
    from huggingface_hub import constants

    from hub_server import HubServer
    from mbert_tiny_hub.config import ConfigError

    wrong = "hf_" + "wrongTokenForTheTrainingCheck0123"
    folder = earlier_run(tmp_path / "run")
    with HubServer() as hub:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", wrong)
        config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], folder)
        with pytest.raises(ConfigError, match="rejected the token") as error:
            run(config, tmp_path, push_to_hub="org/model", overwrite_output_dir=True)
        assert wrong not in str(error.value)
        monkeypatch.setenv("HF_TOKEN", hub.token)
        with pytest.raises(ConfigError, match=r"cannot create repositories under 'someone-else'"):
            run(config, tmp_path, push_to_hub="someone-else/model", overwrite_output_dir=True)
    assert (folder / "model.safetensors").read_bytes() == b"weights of an earlier run"


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.max_length=0", r"model.max_length must be >= 1; got 0"),
        ("training.per_device_train_batch_size=0", r"training.per_device_train_batch_size must be >= 1; got 0"),
        ("training.learning_rate=-0.001", r"training.learning_rate must be >= 0; got -0.001"),
        ("training.num_train_epochs=[3]", r"training.num_train_epochs must be a number; got \[3\]"),
        ("data.validation_size=1.5", r"data.validation_size must be > 0 and < 1; got 1.5"),
        ("loss.focal_weight=-1", r"loss.focal_weight must be >= 0 and <= 1; got -1"),
        ("task=lora lora.r=0", r"lora.r must be >= 1; got 0"),
    ],
)
def test_impossible_numbers_are_config_errors_naming_the_key(fixtures, tmp_path, override, message):
    from mbert_tiny_hub.config import ConfigError, load_config

    path = write_config(
        tmp_path / "config.yaml", tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], tmp_path / "r")
    )
    with pytest.raises(ConfigError, match=message):
        load_config(path, override.split())


def test_a_missing_tokenizer_folder_is_named_as_a_missing_folder(fixtures, tmp_path):
    from mbert_tiny_hub.config import ConfigError
    from mbert_tiny_hub.training import load_tokenizer

    missing = tmp_path / "tokenizers" / "bert-base-multilingual-cased"
    with pytest.raises(ConfigError) as error:
        load_tokenizer([str(missing)])
    assert f"{missing}: no such folder" in str(error.value)
    assert "Repo id must be" not in str(error.value)


def test_a_label_outside_the_label_set_is_named_with_its_split_and_row(fixtures, tmp_path):
    import pyarrow.parquet as pq

    from mbert_tiny_hub.config import ConfigError

    dataset = make_classification_dataset(tmp_path / "dataset")
    path = dataset / "all" / "validation-00000-of-00001.parquet"
    table = pq.read_table(path)
    labels = table.column("label").to_pylist()
    labels[3] = 9  # three labels: ids 0-2
    table = table.set_column(table.schema.get_field_index("label"), table.schema.field("label"), [labels])
    pq.write_table(table, path)
    config = tiny_classification_config(dataset, fixtures["tokenizer"], tmp_path / "run")
    with pytest.raises(ConfigError, match=r"split 'validation', row 3: label value 9 is not one of the 3 labels"):
        run(config, tmp_path)
    assert not (tmp_path / "run").exists()


# ---- a resumed run ---------------------------------------------------------------------------------------------


class Killed(RuntimeError):
    pass


class SlowThenKilled(TrainerCallback):
    """Spends a known time on the first four steps, then stops the run as a kill would (after checkpoint-4)."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step <= 4:
            time.sleep(1.0)
        if state.global_step == 5:
            raise Killed("killed after checkpoint-4")


def test_a_resumed_run_reports_the_whole_runs_loss_and_runtime(fixtures, tmp_path):
    def config_for(folder):
        return tiny_classification_config(
            fixtures["dataset"], fixtures["tokenizer"], folder,
            save_strategy="steps", save_steps=4, eval_strategy="no", logging_steps=2,
        )  # fmt: skip

    reference = run(config_for(tmp_path / "reference"), tmp_path)["training"]
    with pytest.raises(Killed):
        run(config_for(tmp_path / "run"), tmp_path, callbacks=[SlowThenKilled()])
    resumed = run(config_for(tmp_path / "run"), tmp_path, resume=True)["training"]
    assert resumed["global_steps"] == reference["global_steps"] == 12
    assert resumed["train_loss"] == pytest.approx(reference["train_loss"], abs=2e-3)
    assert resumed["train_runtime_s"] >= 4.0  # the four slow steps before the resume count
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text())["training"]
    assert on_disk["train_runtime_s"] == resumed["train_runtime_s"]


def test_a_resumed_bert4rec_run_reports_the_whole_runs_runtime(tmp_path):
    from test_train import _write_sequences_dataset

    dataset = _write_sequences_dataset(tmp_path / "sequences-data")

    def config_for(folder):
        return {
            "task": "bert4rec",
            "data": {"dataset": str(dataset)},
            "early_stopping": {"patience": None},
            "bert4rec": {
                "preset": None,
                "config": {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                           "intermediate_size": 32, "max_position_embeddings": 12},
                "evaluation": {"num_negatives": 5},
            },
            "training": {"output_dir": str(folder), "num_train_epochs": 3, "per_device_train_batch_size": 8,
                         "disable_tqdm": True, "save_strategy": "steps", "save_steps": 4, "eval_strategy": "no",
                         "load_best_model_at_end": False},
        }  # fmt: skip

    with pytest.raises(Killed):
        run(config_for(tmp_path / "rec"), tmp_path, callbacks=[SlowThenKilled()])
    resumed = run(config_for(tmp_path / "rec"), tmp_path, resume=True)["training"]
    assert resumed["global_steps"] == 9
    assert resumed["train_runtime_s"] >= 4.0  # the four slow steps before the resume count
