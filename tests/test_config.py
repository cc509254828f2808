"""Experiment configs: YAML validated key by key (errors name the file, the key and the closest valid key),
command-line overrides, and every config the project ships."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mbert_tiny_hub.config import (
    ConfigError,
    apply_overrides,
    config_from_dict,
    load_config,
    parse_override,
    save_config,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONFIGS = sorted(p for p in (REPO_ROOT / "configs").glob("*.yaml"))


def write(tmp_path: Path, data: dict, name: str = "experiment.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_is_valid(path):
    config = load_config(path)
    assert config.task in ("classification", "lora", "distillation", "general_distillation", "mlm", "bert4rec")
    assert config.training.get("output_dir", "").startswith("outputs/")


def test_unknown_top_level_key_names_the_file_and_suggests_the_closest_key(tmp_path):
    path = write(tmp_path, {"task": "classification", "trainig": {"seed": 1}})
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: unknown config key 'trainig' (did you mean 'training'?)")


def test_unknown_nested_key_names_its_section(tmp_path):
    path = write(tmp_path, {"task": "classification", "loss": {"focal_weight": 0.5, "gama": 2.0}})
    with pytest.raises(ConfigError, match=r"unknown config key 'loss.gama' \(did you mean 'gamma'\?\)"):
        load_config(path)


def test_training_keys_are_checked_against_training_arguments(tmp_path):
    path = write(tmp_path, {"task": "classification", "training": {"num_train_epoch": 3}})
    with pytest.raises(
        ConfigError, match=r"'training.num_train_epoch' \(did you mean 'num_train_epochs'\?\).*TrainingArguments"
    ):
        load_config(path)
    config = load_config(
        write(
            tmp_path, {"task": "classification", "training": {"lr_scheduler_type": "cosine", "bf16": False}}, "ok.yaml"
        )
    )
    assert config.training == {"lr_scheduler_type": "cosine", "bf16": False}


def test_numbers_written_the_yaml_1_1_way_become_numbers(tmp_path):
    # PyYAML reads "3e-5" (no dot) as a string; learning rates are written that way all the time.
    config = load_config(
        write(
            tmp_path,
            {
                "task": "classification",
                "training": {"learning_rate": "3e-5"},
                "loss": {"gamma": "2"},
                "model": {"max_length": "64"},
            },
        )
    )
    assert config.training["learning_rate"] == pytest.approx(3e-5)
    assert config.loss.gamma == 2.0 and config.model.max_length == 64


def test_a_value_of_the_wrong_type_is_an_error_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"model.max_length must be int; got 'long'"):
        load_config(write(tmp_path, {"task": "classification", "model": {"max_length": "long"}}))
    with pytest.raises(ConfigError, match=r"early_stopping must be a mapping"):
        load_config(write(tmp_path, {"task": "classification", "early_stopping": 3}, "b.yaml"))


def test_an_unknown_task_suggests_the_closest_one(tmp_path):
    with pytest.raises(
        ConfigError, match=r"`task` must be one of .*got 'distilation' \(did you mean 'distillation'\?\)"
    ):
        load_config(write(tmp_path, {"task": "distilation"}))


def test_tokens_cannot_hide_in_training_arguments_but_the_trainers_hub_settings_are_allowed(tmp_path):
    with pytest.raises(ConfigError, match="training.hub_token is not allowed here: tokens never go in a config"):
        load_config(write(tmp_path, {"task": "classification", "training": {"hub_token": "hf_x"}}))
    hub = {"push_to_hub": True, "hub_model_id": "org/name", "hub_strategy": "checkpoint", "hub_private_repo": True}
    config = load_config(write(tmp_path, {"task": "classification", "training": hub}, "b.yaml"))
    assert config.training == hub


def test_corpus_entries_are_validated(tmp_path):
    with pytest.raises(
        ConfigError, match=r"unknown config key 'data.corpus\[1\].txt_column' \(did you mean 'text_column'\?\)"
    ):
        load_config(
            write(
                tmp_path, {"task": "mlm", "data": {"corpus": [{"path": "a.txt"}, {"path": "b.csv", "txt_column": "x"}]}}
            )
        )
    with pytest.raises(ConfigError, match=r"data.corpus\[0\] needs exactly one of `path`"):
        load_config(write(tmp_path, {"task": "mlm", "data": {"corpus": [{"text_column": "text"}]}}, "b.yaml"))


def test_overrides_set_dotted_keys_with_yaml_values(tmp_path):
    path = write(
        tmp_path, {"task": "lora", "model": {"preset": "tiny2"}, "training": {"learning_rate": 1e-3}}
    )
    config = load_config(
        path,
        [
            "training.learning_rate=3e-5",
            "model.preset=tiny4",
            "data.languages=[eng, deu]",
            "early_stopping.patience=null",
            "lora.target_modules=[query, key, value]",
        ],
    )
    assert config.training["learning_rate"] == pytest.approx(3e-5)
    assert config.model.preset == "tiny4" and config.data.languages == ["eng", "deu"]
    assert config.early_stopping.patience is None and config.lora.target_modules == ["query", "key", "value"]


def test_an_override_of_an_unknown_key_is_an_error_that_names_the_override(tmp_path):
    path = write(tmp_path, {"task": "classification"})
    with pytest.raises(ConfigError) as error:
        load_config(path, ["model.presets=tiny4"])
    assert "--set model.presets=tiny4" in str(error.value) and "did you mean 'preset'" in str(error.value)
    with pytest.raises(ConfigError, match="write overrides as dotted.key=value"):
        parse_override("training.learning_rate")
    with pytest.raises(ConfigError, match="'task' is not a section"):
        apply_overrides({"task": "mlm"}, ["task.name=x"])


def test_the_resolved_config_round_trips_through_yaml(tmp_path):
    config = config_from_dict({"task": "lora", "model": {"name_or_path": "org/base"}, "lora": {"r": 16}})
    save_config(config, tmp_path / "train_config.yaml")
    again = load_config(tmp_path / "train_config.yaml")
    assert again.to_dict() == config.to_dict()
    assert again.lora.r == 16 and again.lora.target_modules == ["query", "value"]
    assert "bert4rec" not in config.to_dict()  # a section the task never reads is not written out
    recommender = config_from_dict({"task": "bert4rec", "bert4rec": {"model": "sasrec_plus", "config": {"hidden_size": 32}}})
    save_config(recommender, tmp_path / "rec.yaml")
    assert load_config(tmp_path / "rec.yaml").bert4rec == recommender.bert4rec
    assert "loss" not in recommender.to_dict() and "model" not in recommender.to_dict()


def test_train_py_help_documents_the_overrides():
    completed = subprocess.run(
        [sys.executable, "train.py", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0
    for text in (
        "--config",
        "--resume",
        "--push_to_hub",
        "--set KEY=VALUE",
        "training.learning_rate=3e-5",
        "accelerate launch",
    ):
        assert text in completed.stdout


@pytest.mark.parametrize(
    "hub, message",
    [
        ({"license": "apache2"}, "hub.license 'apache2' is not a Hub licence identifier"),
        ({"language": ["english"]}, "hub.language 'english' is not an ISO 639 code"),
        ({"datasets": ["../data/brighter"]}, "hub.datasets '../data/brighter' must be a Hub repository id"),
        ({"base_model": "/models/teacher"}, "hub.base_model '/models/teacher' must be a Hub repository id"),
    ],
)
def test_card_metadata_in_the_hub_section_is_checked_before_training(tmp_path, hub, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write(tmp_path, {"task": "classification", "hub": hub}))


def test_the_bert4rec_section_is_typed_and_checked_when_the_config_loads(tmp_path):
    config = load_config(write(tmp_path, {"task": "bert4rec", "bert4rec": {"model": "sasrec_plus", "cold_start_items": "0.1"}}))
    assert config.bert4rec.model == "sasrec_plus" and config.bert4rec.cold_start_items == 0.1
    assert config.bert4rec.preset == "M"  # defaults filled in, like every other section
    with pytest.raises(ConfigError, match=r"unknown config key 'bert4rec.presets' \(did you mean 'preset'\?\)"):
        load_config(write(tmp_path, {"task": "bert4rec", "bert4rec": {"presets": "M"}}, "a.yaml"))
    with pytest.raises(ConfigError, match=r"b.yaml: bert4rec.model must be one of 'bert4rec', 'sasrec_plus'; got 'gru4rec'"):
        load_config(write(tmp_path, {"task": "bert4rec", "bert4rec": {"model": "gru4rec"}}, "b.yaml"))
    with pytest.raises(ConfigError, match=r"unknown config key 'bert4rec.config.hiden_size' \(did you mean 'hidden_size'"):
        load_config(write(tmp_path, {"task": "bert4rec", "bert4rec": {"config": {"hiden_size": 64}}}, "c.yaml"))
    with pytest.raises(ConfigError, match=r"unknown config key 'bert4rec.evaluation.negatives'"):
        load_config(write(tmp_path, {"task": "bert4rec", "bert4rec": {"evaluation": {"negatives": 100}}}, "d.yaml"))
    with pytest.raises(ConfigError, match=r"bert4rec.cold_start_items must be >= 0 and < 1; got 1.5"):
        load_config(write(tmp_path, {"task": "bert4rec", "bert4rec": {"cold_start_items": 1.5}}, "e.yaml"))
    with pytest.raises(ConfigError, match=r"bert4rec.config.causal is set by bert4rec.model"):
        load_config(write(tmp_path, {"task": "bert4rec", "bert4rec": {"config": {"causal": True}}}, "f.yaml"))


@pytest.mark.parametrize(
    "task, section",
    [("bert4rec", "loss"), ("bert4rec", "model"), ("classification", "bert4rec"), ("mlm", "lora"), ("bert4rec", "mlm")],
)
def test_a_section_the_task_never_reads_is_an_error_not_silently_ignored(tmp_path, task, section):
    path = write(tmp_path, {"task": task, section: {}})
    with pytest.raises(ConfigError, match=rf"experiment.yaml: task {task} never reads the `{section}:` section"):
        load_config(path)
    # The same through an override: --set loss.focal_weight=0 on a BERT4Rec run is refused as well.
    with pytest.raises(ConfigError, match=rf"never reads the `{section}:` section"):
        load_config(write(tmp_path, {"task": task}, "plain.yaml"), [f"{section}.anything=1"])
