"""The project's own producers end to end through the loopback Hub: `train.py --push_to_hub` and the POLAR builder.
They run when those entry points and the real data are present, and skip cleanly otherwise."""

import json
import os
import subprocess
import sys

import pytest
from huggingface_hub import constants

from hub_server import HubServer
from mbert_tiny_hub.hub import PublishError, push_dataset

PROBE_TEXTS = ["I am so happy today!", "Estoy muy triste.", "Ich habe Angst im Dunkeln."]


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with HubServer() as server:
        yield server


def client_env(hub, tmp_path, token="default"):
    env = hub.client_env(token=token, base={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    env["HF_HOME"] = str(tmp_path / "hf-home")
    return env


def run(args, env, cwd, timeout=600):
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, args[:4]))} failed:\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.mark.slow
@pytest.mark.shared_data
def test_train_py_push_to_hub_gives_a_model_a_fresh_stock_process_loads(hub, repo_root, shared_data, tmp_path):
    train = repo_root / "train.py"
    if not train.is_file() or "--push_to_hub" not in run([sys.executable, train, "--help"], os.environ, repo_root):
        pytest.skip("train.py with --push_to_hub is not in this checkout")
    output_dir = tmp_path / "quickstart"
    run(
        [sys.executable, train, "--config", "configs/quickstart.yaml", "--output_dir", output_dir,
         "--set", "training.max_steps=2", "--push_to_hub", "org/mbert-tiny2-quickstart"],
        client_env(hub, tmp_path),
        repo_root,
    )
    consumer = r"""
import json, sys, torch
from huggingface_hub import ModelCard
from transformers import AutoModelForSequenceClassification, AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained("org/mbert-tiny2-quickstart")
batch = tokenizer(json.loads(sys.argv[1]), padding=True, return_tensors="pt")
out = {}
for remote in (False, True):
    model = AutoModelForSequenceClassification.from_pretrained("org/mbert-tiny2-quickstart", trust_remote_code=remote)
    with torch.no_grad():
        out[str(remote)] = {"class": type(model).__name__, "logits": model.eval()(**batch).logits.tolist()}
card = ModelCard.load("org/mbert-tiny2-quickstart")
out["model_index"] = {r.metric_name: r.metric_value for r in card.data.eval_results}
print(json.dumps(out))
"""
    workdir = tmp_path / "consumer"
    workdir.mkdir()
    stdout = run([sys.executable, "-c", consumer, json.dumps(PROBE_TEXTS)], client_env(hub, workdir), workdir)
    loaded = json.loads(stdout.splitlines()[-1])

    import torch
    from transformers import AutoTokenizer

    from modeling.mbert_tiny import MBertTinyForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    local = MBertTinyForSequenceClassification.from_pretrained(output_dir).eval()
    with torch.no_grad():
        expected = local(**tokenizer(PROBE_TEXTS, padding=True, return_tensors="pt")).logits
    results = json.loads((output_dir / "results.json").read_text())

    assert loaded["False"]["class"] == "BertForSequenceClassification"
    # A plain BERT checkpoint: even with remote code allowed, stock transformers' class runs (no code in the repo).
    assert loaded["True"]["class"] == "BertForSequenceClassification"
    for remote in ("False", "True"):
        assert torch.allclose(torch.tensor(loaded[remote]["logits"]), expected, atol=1e-5)
    assert loaded["model_index"]["Macro F1"] == results["results"]["model"]["macro_f1"]
    assert not any(path.startswith("checkpoint-") for path in hub.files("org/mbert-tiny2-quickstart"))


@pytest.mark.shared_data
def test_the_polar_build_is_refused_publicly_and_loads_from_a_private_repo(hub, repo_root, shared_data, tmp_path):
    if not (repo_root / "data_scripts" / "polar.py").is_file():
        pytest.skip("the POLAR builder (data_scripts/polar.py) is not in this checkout")
    source = shared_data / "polar_semeval2026"
    if not source.is_dir():
        pytest.skip(f"POLAR is not available at {source}")
    built = tmp_path / "polar"
    offline = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    run([sys.executable, "-m", "data_scripts", "build", "polar", "--source", source, "--out", built,
         "--languages", "eng,deu"], offline, repo_root)

    with pytest.raises(PublishError, match="redistributable: false.*polar"):
        push_dataset(built, "org/polar", endpoint=hub.url, token=hub.token)
    assert ("dataset", "org/polar") not in hub.repos
    push_dataset(built, "org/polar", private=True, endpoint=hub.url, token=hub.token)

    loader = (
        "import datasets, json; d = datasets.load_dataset('org/polar', 'all'); "
        "print(json.dumps({k: len(v) for k, v in d.items()}))"
    )
    workdir = tmp_path / "consumer"
    workdir.mkdir()
    loaded = json.loads(run([sys.executable, "-c", loader], client_env(hub, workdir), workdir).splitlines()[-1])

    import pyarrow.parquet as pq

    expected = {split: pq.read_metadata(built / "all" / f"{split}-00000-of-00001.parquet").num_rows
                for split in ("train", "validation", "test")}
    assert loaded == expected
    stranger = tmp_path / "stranger"  # an empty cache: nothing to fall back on
    stranger.mkdir()
    anonymous = subprocess.run([sys.executable, "-c", loader], env=client_env(hub, stranger, token=None), cwd=stranger,
                               capture_output=True, text=True, timeout=300)
    assert anonymous.returncode != 0 and "org/polar" in anonymous.stderr  # private: nobody without the token sees it
