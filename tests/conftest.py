"""Shared test set-up: offline Hub, a private HF cache, and the real corpora/tokenizers when present."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Before anything imports huggingface_hub: never wait on the real Hub, never touch the user's cache.
# Tests that talk to the loopback Hub start subprocesses with HF_ENDPOINT set and HF_HUB_OFFLINE unset.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
if "HF_HOME" not in os.environ:  # a private cache for this run, removed when it ends
    os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="mbert-tiny-hub-hf-home-")
    atexit.register(shutil.rmtree, os.environ["HF_HOME"], ignore_errors=True)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MBERT_TINY_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
MBERT_TOKENIZER = SHARED_DATA / "tokenizers" / "bert-base-multilingual-cased"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (the real corpora); tests that use it are skipped cleanly where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real corpora not available: {SHARED_DATA} does not exist")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mbert_tokenizer():
    """The real bert-base-multilingual-cased tokenizer from ../shared/data/tokenizers."""
    if not (MBERT_TOKENIZER / "tokenizer.json").is_file():
        pytest.skip(f"real mBERT tokenizer not available at {MBERT_TOKENIZER}")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(MBERT_TOKENIZER))
