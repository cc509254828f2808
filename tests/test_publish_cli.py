"""`python -m mbert_tiny_hub.publish` against the loopback Hub: it pushes with the token from HF_TOKEN, says what
it did, fails clearly, and the token never shows up in its output or in anything it pushed."""

import json
import os
import subprocess
import sys

import pytest
from huggingface_hub import ModelCard

from hub_fixtures import make_adapter_folder, make_dataset_folder, make_model_folder
from hub_server import HubServer

WRONG_TOKEN = "hf_" + "wrongButPlausibleToken0123456789"  # built at run time: no token-shaped string in the sources


@pytest.fixture(scope="module")
def hub():
    with HubServer() as server:
        yield server


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_folder(tmp_path_factory.mktemp("cli") / "mbert-tiny4")


def publish(hub, repo_root, tmp_path, *args, token="default"):
    env = hub.client_env(token=token, base={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    env["HF_HOME"] = str(tmp_path / "hf-home")  # no stored login to fall back on
    result = subprocess.run(
        [sys.executable, "-m", "mbert_tiny_hub.publish", *map(str, args)],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout, result.stderr


def test_a_right_token_pushes_and_appears_in_no_output_and_no_pushed_file(hub, repo_root, model_dir, tmp_path):
    code, out, err = publish(hub, repo_root, tmp_path, "model", model_dir, "org/cli-model", "--revision", "v1")
    assert code == 0, err
    assert "Pushed" in out and "org/cli-model @ v1" in out
    assert hub.token not in out + err
    pushed = hub.files("org/cli-model", revision="v1")
    assert "README.md" in pushed and "model.safetensors" in pushed
    assert not any(hub.token.encode() in content for content in pushed.values())
    assert not any(hub.token in (c.title + c.message) for c in hub.commits("org/cli-model", revision="v1"))


def test_a_wrong_token_fails_with_a_clear_message_and_is_not_printed(hub, repo_root, model_dir, tmp_path):
    code, out, err = publish(hub, repo_root, tmp_path, "model", model_dir, "org/cli-wrong", token=WRONG_TOKEN)
    assert code == 1
    assert "rejected the token" in err and "HF_TOKEN" in err and "Traceback" not in err
    assert WRONG_TOKEN not in out + err
    assert ("model", "org/cli-wrong") not in hub.repos


def test_no_token_at_all_says_how_to_log_in(hub, repo_root, model_dir, tmp_path):
    code, _, err = publish(hub, repo_root, tmp_path, "model", model_dir, "org/cli-anonymous", token=None)
    assert code == 1 and "set HF_TOKEN or run `hf auth login`" in err


def test_publishing_an_unchanged_folder_again_says_nothing_changed(hub, repo_root, model_dir, tmp_path):
    assert publish(hub, repo_root, tmp_path, "model", model_dir, "org/cli-twice")[0] == 0
    code, out, _ = publish(hub, repo_root, tmp_path, "model", model_dir, "org/cli-twice")
    assert code == 0 and "Nothing changed" in out
    assert len(hub.commits("org/cli-twice")) == 2  # the repo's initial commit and one push


def test_a_non_redistributable_dataset_is_refused_publicly_and_pushed_privately(hub, repo_root, tmp_path):
    folder = make_dataset_folder(tmp_path / "polar-like", redistributable=False, license="other")
    code, _, err = publish(hub, repo_root, tmp_path, "dataset", folder, "org/cli-polar")
    assert code == 1 and "redistributable: false" in err and "--private" in err
    code, out, err = publish(hub, repo_root, tmp_path, "dataset", folder, "org/cli-polar", "--private")
    assert code == 0, err
    assert hub.repo("org/cli-polar", "dataset").private


def test_an_adapter_is_pushed_with_its_hub_base_model(hub, repo_root, model_dir, tmp_path):
    adapter = make_adapter_folder(model_dir, tmp_path / "lora")
    code, _, err = publish(hub, repo_root, tmp_path, "adapter", adapter, "org/cli-lora")
    assert code == 1 and "--base-model" in err
    code, out, err = publish(
        hub, repo_root, tmp_path, "adapter", adapter, "org/cli-lora", "--base-model", "org/cli-model"
    )
    assert code == 0, err
    files = hub.files("org/cli-lora")
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] == "org/cli-model"
    assert ModelCard(files["README.md"].decode()).data.base_model == "org/cli-model"


def test_dry_run_checks_and_lists_without_touching_the_hub(hub, repo_root, model_dir, tmp_path):
    requests_before = len(hub.requests)
    code, out, err = publish(hub, repo_root, tmp_path, "model", model_dir, "org/cli-dry", "--dry-run", token=None)
    assert code == 0, err
    assert "Would push" in out and "model.safetensors" in out
    assert len(hub.requests) == requests_before


def test_the_card_command_writes_the_card_from_results_json(hub, repo_root, model_dir, tmp_path):
    code, out, err = publish(hub, repo_root, tmp_path, "card", model_dir, "--repo-id", "org/cli-card", token=None)
    assert code == 0, err
    card = ModelCard.load(model_dir / "README.md")
    macro_f1 = json.loads((model_dir / "results.json").read_text())["results"]["model"]["macro_f1"]
    assert {r.metric_name: r.metric_value for r in card.data.eval_results}["Macro F1"] == macro_f1
