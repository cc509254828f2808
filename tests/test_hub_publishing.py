"""Publishing end to end against the loopback Hub: what `push_model`, `push_adapter` and `push_dataset` put on the
Hub loads with the stock libraries in a fresh process, and every push is one all-or-nothing commit."""

import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
from huggingface_hub import HfApi, ModelCard, constants
from huggingface_hub.errors import RepositoryNotFoundError

from hub_fixtures import PROBE_TEXTS, logits_of, make_adapter_folder, make_dataset_folder, make_model_folder
from hub_server import HubServer
from mbert_tiny_hub.hub import PublishError, merge_adapter, push_adapter, push_dataset, push_folder, push_model

# Runs in a fresh interpreter whose sys.path does not hold this repository: only the stock libraries and the Hub.
CONSUMER = r"""
import importlib.util, json, sys
import torch, datasets
from huggingface_hub import ModelCard
from peft import AutoPeftModelForSequenceClassification, PeftModel
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

texts = json.loads(sys.argv[1])
out = {"repo_code_importable": importlib.util.find_spec("modeling") is not None}
tokenizer = AutoTokenizer.from_pretrained("org/mbert-tiny4")
batch = tokenizer(texts, padding=True, return_tensors="pt")

def run(model):
    with torch.no_grad():
        output = model.eval()(**batch)
    return output.logits.tolist() if hasattr(output, "logits") else output.last_hidden_state.tolist()

stock = AutoModelForSequenceClassification.from_pretrained("org/mbert-tiny4")
bare = AutoModel.from_pretrained("org/mbert-tiny4")
remote = AutoModelForSequenceClassification.from_pretrained("org/mbert-tiny4", trust_remote_code=True)
out["stock"] = {"class": type(stock).__name__, "logits": run(stock)}
out["bare"] = {"class": type(bare).__name__, "hidden": run(bare)}
out["remote"] = {"class": type(remote).__name__, "logits": run(remote)}
base = AutoModelForSequenceClassification.from_pretrained("org/mbert-tiny4")
out["peft"] = run(PeftModel.from_pretrained(base, "org/mbert-tiny4-lora"))
out["auto_peft"] = run(AutoPeftModelForSequenceClassification.from_pretrained("org/mbert-tiny4-lora"))
out["merged"] = run(AutoModelForSequenceClassification.from_pretrained("org/mbert-tiny4-merged"))
emotions = datasets.load_dataset("org/emotions")
out["dataset"] = {
    split: {"rows": len(ds), "features": str(ds.features), "first": ds[0]} for split, ds in emotions.items()
}
card = ModelCard.load("org/mbert-tiny4")
out["model_index"] = {r.metric_name: r.metric_value for r in card.data.eval_results}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def hub():
    with pytest.MonkeyPatch.context() as patch, HubServer() as server:
        # conftest keeps the Hub client offline for everything else; these tests talk to 127.0.0.1 only.
        patch.setattr(constants, "HF_HUB_OFFLINE", False)
        yield server


@pytest.fixture(scope="module")
def published(hub, tmp_path_factory):
    """Model, adapter (with a Hub base), merged model and dataset pushed to the loopback Hub, plus the local
    outputs they must reproduce."""
    import torch
    from peft import PeftModel
    from transformers import AutoTokenizer

    from modeling.mbert_tiny import MBertTinyForSequenceClassification

    root = tmp_path_factory.mktemp("published")
    model_dir = make_model_folder(root / "mbert-tiny4")
    adapter_dir = make_adapter_folder(model_dir, root / "mbert-tiny4-lora")
    merged_dir = merge_adapter(adapter_dir, root / "mbert-tiny4-merged")
    dataset_dir = make_dataset_folder(root / "emotions")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = MBertTinyForSequenceClassification.from_pretrained(model_dir).eval()
    adapted = PeftModel.from_pretrained(MBertTinyForSequenceClassification.from_pretrained(model_dir), adapter_dir)
    with torch.no_grad():
        hidden = model.bert(**tokenizer(PROBE_TEXTS, padding=True, return_tensors="pt")).last_hidden_state
    where = {"endpoint": hub.url, "token": hub.token}
    commits = {
        "model": push_model(model_dir, "org/mbert-tiny4", **where),
        "adapter": push_adapter(adapter_dir, "org/mbert-tiny4-lora", base_model="org/mbert-tiny4", **where),
        "merged": push_model(merged_dir, "org/mbert-tiny4-merged", **where),
        "dataset": push_dataset(dataset_dir, "org/emotions", **where),
    }
    return SimpleNamespace(
        root=root,
        model_dir=model_dir,
        adapter_dir=adapter_dir,
        dataset_dir=dataset_dir,
        commits=commits,
        logits=logits_of(model, tokenizer),
        hidden=hidden,
        adapter_logits=logits_of(adapted.eval(), tokenizer),
    )


@pytest.fixture(scope="module")
def consumer(hub, published, tmp_path_factory):
    """What a fresh process with the stock libraries gets from the Hub (cwd outside the repo, no PYTHONPATH)."""
    workdir = tmp_path_factory.mktemp("consumer")
    env = hub.client_env(base={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HF_HOME")})
    env["HF_HOME"] = str(workdir / "hf-home")
    result = subprocess.run(
        [sys.executable, "-c", CONSUMER, json.dumps(PROBE_TEXTS)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"consumer process failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def close(actual, expected, atol=1e-6):
    import torch

    return torch.allclose(torch.tensor(actual), expected.float(), atol=atol)


def online_api(hub, token=None):
    return HfApi(endpoint=hub.url, token=hub.token if token is None else token)


# ----- the stock libraries load what was pushed -----------------------------------------------------------------


def test_a_fresh_stock_transformers_loads_the_pushed_model_and_reproduces_its_outputs(consumer, published):
    assert consumer["repo_code_importable"] is False
    assert consumer["stock"]["class"] == "BertForSequenceClassification"
    assert consumer["bare"]["class"] == "BertModel"
    assert close(consumer["stock"]["logits"], published.logits)
    assert close(consumer["bare"]["hidden"], published.hidden, atol=1e-5)


def test_a_plain_checkpoint_runs_no_remote_code_even_when_allowed(consumer, published):
    assert consumer["remote"]["class"] == "BertForSequenceClassification"
    assert close(consumer["remote"]["logits"], published.logits)


def test_peft_loads_the_pushed_adapter_and_reproduces_its_predictions(consumer, published):
    assert not close(consumer["peft"], published.logits)  # the adapter changes the outputs...
    assert close(consumer["peft"], published.adapter_logits)  # ...exactly as it did locally
    assert close(consumer["auto_peft"], published.adapter_logits)  # base resolved from adapter_config on the Hub


def test_the_merged_adapter_repo_is_a_plain_model_with_the_adapters_predictions(consumer, published, hub):
    assert close(consumer["merged"], published.adapter_logits, atol=1e-5)
    assert "adapter_config.json" not in hub.files("org/mbert-tiny4-merged")


def test_load_dataset_from_the_hub_returns_the_built_splits(consumer):
    dataset = consumer["dataset"]
    assert {split: info["rows"] for split, info in dataset.items()} == {"train": 9, "validation": 3, "test": 6}
    assert "ClassLabel(names=['joy', 'sadness', 'anger'])" in dataset["train"]["features"]
    assert dataset["test"]["first"] == {"text": "What a wonderful day, I am so happy!", "language": "eng", "label": 0}


def test_the_cards_model_index_on_the_hub_holds_the_results_json_numbers(consumer, published):
    results = json.loads((published.model_dir / "results.json").read_text())
    model = results["results"]["model"]
    assert consumer["model_index"]["Macro F1"] == model["macro_f1"]
    assert consumer["model_index"]["Accuracy"] == model["accuracy"]
    assert consumer["model_index"]["Macro F1 (spa)"] == model["per_language"]["spa"]["macro_f1"]


# ----- what lands in the repositories ---------------------------------------------------------------------------


def test_a_model_repo_holds_a_plain_checkpoint_tokenizer_training_args_results_and_card(hub, published):
    files = hub.files("org/mbert-tiny4")
    assert {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json",
            "train_config.yaml", "training_args.json", "results.json", "README.md"} <= set(files)
    config = json.loads(files["config.json"])
    assert config["architectures"] == ["BertForSequenceClassification"] and "auto_map" not in config
    assert not any(name.endswith(".py") for name in files)
    commit = hub.commits("org/mbert-tiny4")[0]
    assert commit.title == "Upload BertForSequenceClassification from mbert-tiny4"
    assert "- model.safetensors (" in commit.message


def test_an_adapter_repo_holds_only_the_adapter_and_points_at_its_hub_base(hub, published):
    files = hub.files("org/mbert-tiny4-lora")
    assert "model.safetensors" not in files and {"adapter_model.safetensors", "adapter_config.json"} <= set(files)
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] == "org/mbert-tiny4"
    card = ModelCard(files["README.md"].decode())
    assert card.data.base_model == "org/mbert-tiny4" and card.data.library_name == "peft"
    assert "More Information Needed" not in card.text  # peft's placeholder card was replaced
    assert not any(str(published.root).encode() in content for content in files.values())  # no local paths leak


def test_an_adapter_trained_on_a_local_base_needs_a_hub_id_for_it(hub, published):
    with pytest.raises(PublishError, match="not a Hub id others can download.*--base-model"):
        push_adapter(published.adapter_dir, "org/lora-no-base", endpoint=hub.url, token=hub.token)
    assert ("model", "org/lora-no-base") not in hub.repos


def test_pushing_the_same_folder_twice_makes_no_second_commit(hub, published):
    again = push_model(published.model_dir, "org/mbert-tiny4", endpoint=hub.url, token=hub.token)
    assert again is None
    assert [c.oid for c in hub.commits("org/mbert-tiny4")][0] == published.commits["model"].oid


def test_a_failed_upload_leaves_the_remote_repo_as_it_was(hub, published, tmp_path):
    folder = shutil.copytree(published.model_dir, tmp_path / "changed")
    push_model(folder, "org/atomic", endpoint=hub.url, token=hub.token)
    before, history = hub.files("org/atomic"), hub.commits("org/atomic")
    (folder / "model.safetensors").write_bytes(b"retrained weights")
    (folder / "results.json").write_text("{}")
    hub.refuse_paths.add("model.safetensors")
    try:
        with pytest.raises(PublishError, match="all-or-nothing: the remote is unchanged"):
            push_model(folder, "org/atomic", endpoint=hub.url, token=hub.token)
    finally:
        hub.refuse_paths.discard("model.safetensors")
    assert hub.files("org/atomic") == before
    assert hub.commits("org/atomic") == history


def test_a_revision_is_pushed_to_its_own_branch_and_main_stays_put(hub, published, tmp_path):
    folder = shutil.copytree(published.model_dir, tmp_path / "branch")
    push_model(folder, "org/branched", endpoint=hub.url, token=hub.token)
    (folder / "NOTES.md").write_text("experimental")
    push_model(folder, "org/branched", revision="experiment", endpoint=hub.url, token=hub.token)
    assert "NOTES.md" in hub.files("org/branched", revision="experiment")
    assert "NOTES.md" not in hub.files("org/branched")


def test_a_private_push_creates_a_repo_others_cannot_see(hub, published):
    push_model(published.model_dir, "org/private-model", private=True, endpoint=hub.url, token=hub.token)
    assert hub.repo("org/private-model").private
    with pytest.raises(RepositoryNotFoundError):
        online_api(hub, token=False).model_info("org/private-model")


def test_a_private_push_into_an_existing_public_repo_is_refused(hub, published):
    with pytest.raises(PublishError, match="already exists and is public"):
        push_model(published.model_dir, "org/mbert-tiny4", private=True, endpoint=hub.url, token=hub.token)


def test_checkpoints_and_hidden_folders_are_not_published(hub, published, tmp_path):
    folder = shutil.copytree(published.model_dir, tmp_path / "with-checkpoints")
    (folder / "checkpoint-20").mkdir()
    (folder / "checkpoint-20" / "optimizer.pt").write_bytes(b"state")
    (folder / ".staging-final").mkdir()
    (folder / ".staging-final" / "config.json").write_text("{}")
    push_model(folder, "org/no-checkpoints", endpoint=hub.url, token=hub.token)
    assert not any(path.startswith(("checkpoint-", ".staging")) for path in hub.files("org/no-checkpoints"))


def test_delete_missing_makes_the_repo_mirror_the_folder(hub, published, tmp_path):
    folder = shutil.copytree(published.model_dir, tmp_path / "mirror")
    push_model(folder, "org/mirror", endpoint=hub.url, token=hub.token)
    (folder / "train_config.yaml").unlink()
    push_model(folder, "org/mirror", endpoint=hub.url, token=hub.token, delete_missing=True)
    assert "train_config.yaml" not in hub.files("org/mirror") and ".gitattributes" in hub.files("org/mirror")


# ----- refusals -------------------------------------------------------------------------------------------------


def test_a_public_push_of_a_non_redistributable_dataset_is_refused_naming_the_licence(hub, tmp_path):
    folder = make_dataset_folder(tmp_path / "restricted", redistributable=False, license="other")
    with pytest.raises(PublishError, match=r"redistributable: false.*licence: other.*private"):
        push_dataset(folder, "org/restricted", endpoint=hub.url, token=hub.token)
    assert ("dataset", "org/restricted") not in hub.repos
    push_dataset(folder, "org/restricted", private=True, endpoint=hub.url, token=hub.token)
    assert hub.repo("org/restricted", "dataset").private


def test_a_dataset_card_pointing_at_a_missing_file_is_refused(hub, tmp_path):
    folder = make_dataset_folder(tmp_path / "broken")
    (folder / "default" / "test-00000-of-00001.parquet").unlink()
    with pytest.raises(PublishError, match="test-00000-of-00001.parquet.*Rebuild"):
        push_dataset(folder, "org/broken", endpoint=hub.url, token=hub.token)


def test_a_model_folder_without_the_code_its_auto_map_names_is_refused(hub, published, tmp_path):
    folder = shutil.copytree(published.model_dir, tmp_path / "no-code")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "mbert_tiny.MBertTinyForSequenceClassification"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(PublishError, match="auto_map points at mbert_tiny.py"):
        push_model(folder, "org/no-code", endpoint=hub.url, token=hub.token)


def test_a_file_holding_the_token_is_never_pushed(hub, published, tmp_path):
    folder = shutil.copytree(published.model_dir, tmp_path / "leaky")
    (folder / "training_args.json").write_text(json.dumps({"hub_token": hub.token}))
    with pytest.raises(PublishError, match="training_args.json contains your Hugging Face token") as raised:
        push_model(folder, "org/leaky", endpoint=hub.url, token=hub.token)
    assert hub.token not in str(raised.value)
    assert ("model", "org/leaky") not in hub.repos


def test_a_wrong_token_fails_with_a_clear_message_that_does_not_hold_it(hub, published):
    wrong = "hf_" + "wrongTokenForTheLoopbackHub0000"  # built at run time: no token-shaped string in the sources
    with pytest.raises(PublishError, match="rejected the token.*HF_TOKEN") as raised:
        push_model(published.model_dir, "org/mbert-tiny4", endpoint=hub.url, token=wrong)
    assert wrong not in str(raised.value)


def test_no_token_at_all_says_how_to_log_in(hub, published, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-stored-tokens"))
    with pytest.raises(PublishError, match="HF_TOKEN or run `hf auth login`"):
        push_folder(published.dataset_dir, "org/anything", endpoint=hub.url)


def test_a_space_folder_is_pushed_as_a_gradio_space(hub, tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "app.py").write_text("import gradio as gr\n")
    (folder / "README.md").write_text("---\nsdk: gradio\napp_file: app.py\n---\n# Demo\n")
    push_folder(folder, "org/demo", "space", endpoint=hub.url, token=hub.token)
    assert online_api(hub).space_info("org/demo").sdk == "gradio"
    assert set(hub.files("org/demo", "space")) == {".gitattributes", "README.md", "app.py"}


def test_a_card_written_before_the_repo_id_was_known_is_pushed_naming_the_real_repo(hub, published, tmp_path):
    from mbert_tiny_hub.cards import write_model_card

    folder = shutil.copytree(published.model_dir, tmp_path / "mbert-tiny4-later")
    write_model_card(folder)  # what train.py writes without --push_to_hub
    assert '"path/to/mbert-tiny4-later"' in (folder / "README.md").read_text()
    push_model(folder, "org/mbert-tiny4-later", endpoint=hub.url, token=hub.token)
    pushed = hub.files("org/mbert-tiny4-later")["README.md"]
    pushed = pushed.decode() if isinstance(pushed, bytes) else pushed
    assert 'model="org/mbert-tiny4-later"' in pushed and "path/to/" not in pushed
