"""Fixtures shared by the training tests (imported by test_train*.py, test_lora*.py, test_distill*.py, test_mlm*.py):
a WordPiece tokenizer trained in the test, small multilingual datasets in the data contract's layout (Parquet +
dataset card, written with the real `datasets` library), and config files. The checks at the bottom make sure the
fixtures themselves are what the other tests assume."""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

LANGUAGES = ("eng", "spa")
LABELS = ("joy", "anger", "fear")
# Words that carry each class in each language, plus neutral filler shared by every class.
CUE_WORDS = {
    "eng": {
        "joy": ["happy", "wonderful", "smile"],
        "anger": ["furious", "angry", "outraged"],
        "fear": ["afraid", "scared", "terrified"],
    },
    "spa": {
        "joy": ["feliz", "maravilloso", "sonrisa"],
        "anger": ["furioso", "enfadado", "rabia"],
        "fear": ["miedo", "asustado", "aterrado"],
    },
}
FILLER = {
    "eng": ["the", "day", "was", "today", "my", "friend", "at", "home", "really", "very", "so"],
    "spa": ["el", "dia", "fue", "hoy", "mi", "amigo", "en", "casa", "muy", "tan", "realmente"],
}
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def sentence(rng: random.Random, language: str, label: str) -> str:
    words = rng.sample(FILLER[language], 4) + [rng.choice(CUE_WORDS[language][label])]
    rng.shuffle(words)
    return " ".join(words)


def corpus_texts(seed: int = 0, per_cell: int = 30) -> list[str]:
    rng = random.Random(seed)
    return [sentence(rng, language, label) for language in LANGUAGES for label in LABELS for _ in range(per_cell)]


def make_tokenizer(folder: Path, texts: list[str] | None = None, vocab_size: int = 200) -> Path:
    """Train a cased WordPiece tokenizer (BERT's pipeline) on `texts` and save it as a transformers folder."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    texts = texts or corpus_texts()
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS))
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    return folder


def _rows(rng: random.Random, count: int, multi_label: bool, imbalance: dict | None = None) -> dict[str, list]:
    rows = {"id": [], "text": [], "language": [], "labels" if multi_label else "label": []}
    weights = [imbalance.get(label, 1.0) for label in LABELS] if imbalance else None
    for index in range(count):
        language = LANGUAGES[index % len(LANGUAGES)]
        if multi_label:
            chosen = sorted(rng.sample(range(len(LABELS)), rng.choice([1, 1, 2])))
            words = rng.sample(FILLER[language], 3) + [rng.choice(CUE_WORDS[language][LABELS[c]]) for c in chosen]
            rng.shuffle(words)
            rows["labels"].append(chosen)
            rows["text"].append(" ".join(words))
        else:
            label = (
                rng.choices(range(len(LABELS)), weights=weights)[0]
                if weights
                else index // len(LANGUAGES) % len(LABELS)
            )
            rows["label"].append(label)
            rows["text"].append(sentence(rng, language, LABELS[label]))
        rows["id"].append(f"row-{index}")
        rows["language"].append(language)
    return rows


def make_classification_dataset(
    folder: Path,
    sizes: tuple[int, int, int] = (96, 24, 30),
    multi_label: bool = False,
    config_name: str = "all",
    seed: int = 0,
    imbalance: dict | None = None,
) -> Path:
    """A dataset folder in the data contract's layout: <config>/<split>-00000-of-00001.parquet + README.md;
    `imbalance` ({label: relative weight}) draws single-label classes at those odds instead of in turn."""
    from datasets import ClassLabel, Dataset, Features, List, Value

    label_feature = List(ClassLabel(names=list(LABELS))) if multi_label else ClassLabel(names=list(LABELS))
    features = Features(
        {
            "id": Value("string"),
            "text": Value("string"),
            "language": Value("string"),
            ("labels" if multi_label else "label"): label_feature,
        }
    )
    rng = random.Random(seed)
    data_files = []
    for split, count in zip(("train", "validation", "test"), sizes):
        path = folder / config_name / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        Dataset.from_dict(_rows(rng, count, multi_label, imbalance), features=features).to_parquet(str(path))
        data_files.append({"split": split, "path": f"{config_name}/{path.name}"})
    card = {
        "configs": [{"config_name": config_name, "data_files": data_files, "default": True}],
        "license": "apache-2.0",
    }
    (folder / "README.md").write_text(
        f"---\n{yaml.safe_dump(card, sort_keys=False)}---\n\n# Test fixture\n", encoding="utf-8"
    )
    return folder


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def tiny_classification_config(dataset: Path, tokenizer: Path, output_dir: Path, **training) -> dict:
    """A from-scratch mBERT-Tiny classification config small enough to train in seconds."""
    return {
        "task": "classification",
        "model": {
            "preset": "tiny2",
            "tokenizer": [str(tokenizer)],
            "max_length": 16,
            "config_overrides": {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64},
        },
        "data": {"dataset": str(dataset)},
        "loss": {"focal_weight": 0.5, "gamma": 2.0, "class_weights": "inverse", "language_weights": "sqrt_inverse"},
        "early_stopping": {"patience": 3},
        "training": {
            "output_dir": str(output_dir),
            "num_train_epochs": 2,
            "per_device_train_batch_size": 16,
            "per_device_eval_batch_size": 16,
            "learning_rate": 3e-3,
            "logging_steps": 5,
            "disable_tqdm": True,
            "seed": 7,
            **training,
        },
    }


def read_results(output_dir: Path) -> dict:
    return json.loads((output_dir / "results.json").read_text(encoding="utf-8"))


# ---- the fixtures' own guarantees --------------------------------------------------------------------------------


def test_fixture_tokenizer_encodes_the_fixture_text_without_unknown_pieces(tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(make_tokenizer(tmp_path / "tok"))
    encoded = tokenizer(corpus_texts(seed=3, per_cell=2))
    assert all(tokenizer.unk_token_id not in ids for ids in encoded["input_ids"])
    assert (
        encoded["input_ids"][0][0] == tokenizer.cls_token_id and encoded["input_ids"][0][-1] == tokenizer.sep_token_id
    )


def test_fixture_dataset_loads_with_class_labels_and_a_language_column(tmp_path):
    from data_scripts import load_built_dataset

    folder = make_classification_dataset(tmp_path / "ds", multi_label=True)
    loaded = load_built_dataset(str(folder), "all")
    assert set(loaded) == {"train", "validation", "test"}
    assert loaded["train"].features["labels"].feature.names == list(LABELS)
    assert set(loaded["test"]["language"]) == set(LANGUAGES)


import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope="module")
def single_thread():
    """Tiny models train faster on one thread, and on a shared 2-core machine two threads per process oversubscribe
    the cores (measured 10x slower per step under load). Restored after the module."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
