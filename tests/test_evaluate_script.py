"""`evaluate.py` as users start it, in subprocesses from the repository root: the script runs, and the Hugging Face
`evaluate` library it shares a name with still imports as the library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_evaluation import make_rows, train_classifier, train_tokenizer, write_dataset_folder

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(args, cwd=REPO_ROOT, timeout=300, **env):
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    environment.update(env)
    environment.pop("PYTHONPATH", None)  # exactly what a user's shell has: nothing but the working directory
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


def library_location(completed):
    assert completed.returncode == 0, completed.stderr[-3000:]
    return dict(line.split("=", 1) for line in completed.stdout.strip().splitlines())


PROBE = (
    "import evaluate; print(f'file={evaluate.__file__}'); print(f'version={evaluate.__version__}'); "
    "print(f'load={callable(evaluate.load)}')"
)


def test_import_evaluate_from_the_repository_root_gets_the_library():
    found = library_location(run([PYTHON, "-c", PROBE]))
    assert "site-packages" in found["file"] and Path(found["file"]).parent.name == "evaluate"
    assert found["version"] == "0.4.6" and found["load"] == "True"


def test_an_absolute_repository_root_on_sys_path_imports_the_library():
    # pytest (pyproject's pythonpath) and train.py (its own folder) put the repository root on sys.path by its
    # absolute path, as this very process has it.
    assert str(REPO_ROOT) in [os.path.realpath(entry) for entry in sys.path if entry]
    import evaluate

    assert Path(evaluate.__file__).parent.name == "evaluate" and "site-packages" in evaluate.__file__
    assert evaluate.__version__ == "0.4.6" and sys.modules["evaluate"] is evaluate


def test_python_evaluate_py_help_runs_the_script():
    completed = run([PYTHON, "evaluate.py", "--help"])
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("usage: evaluate.py")
    assert "--model" in completed.stdout and "--latency" in completed.stdout


def test_cli_names_match_the_library_baselines_and_runtimes():
    from mbert_tiny_hub.baselines import BASELINES
    from mbert_tiny_hub.evaluation_cli import BASELINE_NAMES, RUNTIME_NAMES
    from mbert_tiny_hub.latency import RUNTIMES

    assert BASELINE_NAMES == BASELINES and RUNTIME_NAMES == RUNTIMES


@pytest.fixture(scope="module")
def fixture_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("script")
    train, test = make_rows(120, seed=11), make_rows(45, seed=12)
    data = write_dataset_folder(root / "emotions", {"train": train, "test": test})
    tokenizer = train_tokenizer([row["text"] for row in train])
    model = root / "tiny-emotion"
    train_classifier(train, tokenizer, steps=60).save_pretrained(model)
    tokenizer.save_pretrained(model)
    return root, data, model


def check_output_folder(folder: Path, num_examples: int) -> dict:
    results = json.loads((folder / "results.json").read_text())
    assert results["dataset"]["num_examples"] == num_examples
    assert results["environment"]["evaluate"] == "0.4.6"  # the script imported the library as well
    for name in ("confusion_matrix.png", "per_class_f1.png", "per_language_f1.png"):
        assert (folder / name).read_bytes()[:8] == PNG_MAGIC
    return results


PUSH = """
import sys
from huggingface_hub import HfApi
api = HfApi()
uploads = (("org/tiny-emotion", sys.argv[1], "model"), ("org/emotions", sys.argv[2], "dataset"))
for repo_id, folder, repo_type in uploads:
    api.create_repo(repo_id, repo_type=repo_type)
    api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type=repo_type)
"""


@pytest.fixture(scope="module")
def python_run(fixture_folders):
    """`python evaluate.py` on a model and a dataset given as Hub ids, served by the loopback Hub."""
    from hub_server import HubServer

    root, data, model = fixture_folders
    out = root / "out-python"
    with HubServer() as hub:
        env = hub.client_env(base={key: value for key, value in os.environ.items() if key != "PYTHONPATH"})
        env["HF_HOME"] = str(root / "hf-home")  # a cold cache: everything comes over HTTP
        pushed = subprocess.run([PYTHON, "-c", PUSH, str(model), str(data)], env=env, capture_output=True, text=True,
                                timeout=120)
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        completed = subprocess.run(
            [PYTHON, "evaluate.py", "--model", "org/tiny-emotion", "--dataset", "org/emotions", "--config", "all",
             "--output-dir", str(out)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
        )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed, out, hub.token


def test_python_evaluate_py_evaluates_a_hub_model_on_a_hub_dataset(python_run, fixture_folders):
    completed, out, token = python_run
    results = check_output_folder(out, 45)
    command = f"python evaluate.py --model org/tiny-emotion --dataset org/emotions --config all --output-dir {out}"
    assert results["command"] == command
    assert results["model"]["name_or_path"] == "org/tiny-emotion"
    assert results["dataset"]["name_or_path"] == "org/emotions"
    weights = fixture_folders[2] / "model.safetensors"
    assert results["model"]["size_on_disk_mb"] == pytest.approx(weights.stat().st_size / 1e6, abs=1e-3)
    assert set(results["results"]["baselines"]) == {"tfidf_logreg", "tfidf_svm", "majority"}
    assert "| tiny-emotion |" in completed.stdout and "| tfidf_svm |" in completed.stdout
    assert token not in completed.stdout + completed.stderr + (out / "results.json").read_text()


@pytest.mark.slow
def test_accelerate_launch_with_two_processes_scores_every_row_once(python_run, fixture_folders):
    root, data, model = fixture_folders
    accelerate = shutil.which("accelerate", path=str(Path(PYTHON).parent))
    out = root / "out-accelerate"
    completed = run([
        accelerate, "launch", "--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no", "evaluate.py", "--model", str(model), "--dataset", str(data), "--config", "all",
        "--output-dir", str(out), "--baselines", "majority", "--batch-size", "4",
    ])
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.count("wrote ") == 1  # only the main process prints and writes
    gathered = check_output_folder(out, 45)
    single = json.loads((python_run[1] / "results.json").read_text())  # the same model and rows, from the Hub
    assert gathered["results"]["model"] == single["results"]["model"]
    assert gathered["results"]["baselines"]["majority"] == single["results"]["baselines"]["majority"]
