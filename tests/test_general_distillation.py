"""task: general_distillation — students learn a teacher's sentence embeddings (any tokenizer) and, when derived from
it, its hidden states; the teacher pass is cached; the run leaves an ordinary checkpoint."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from mbert_tiny_hub.training.general_distillation import sample_per_language
from mbert_tiny_hub.teacher import sentence_embeddings
from test_training_support import (  # noqa: F401 - single_thread is a fixture
    corpus_texts,
    make_tokenizer,
    single_thread,
    write_config,
)

pytestmark = pytest.mark.usefixtures("single_thread")
TEACHER_SHAPE = {"hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2, "intermediate_size": 64}


@pytest.fixture(scope="module")
def teacher_folder(tmp_path_factory):
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = make_tokenizer(tmp_path_factory.mktemp("teacher") / "teacher")
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(AutoTokenizer.from_pretrained(folder)), **TEACHER_SHAPE)).save_pretrained(folder)
    return folder


def test_sampling_keeps_at_most_n_texts_of_each_language_reproducibly():
    languages = ["eng"] * 10 + ["spa"] * 3 + ["hau"] * 7
    rows = sample_per_language(languages, 5, seed=1)
    assert sorted(languages[i] for i in rows).count("eng") == 5
    assert [languages[i] for i in rows].count("spa") == 3
    assert rows == sample_per_language(languages, 5, seed=1) != sample_per_language(languages, 5, seed=2)
    assert sample_per_language(languages, None, seed=1) == list(range(20))


def _train_student(teacher_folder, tmp_path, texts, targets, steps=80):
    """A narrower mBERT-Tiny over another WordPiece vocabulary, trained on (text, teacher embedding) pairs."""
    from datasets import Dataset
    from transformers import AutoTokenizer, DataCollatorWithPadding, TrainingArguments

    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForMaskedLM
    from modeling.trainers import SentenceEmbeddingDistillationTrainer

    student_tokenizer = AutoTokenizer.from_pretrained(
        make_tokenizer(tmp_path / "student-tokenizer", corpus_texts(seed=7), vocab_size=150))
    torch.manual_seed(0)
    student = MBertTinyForMaskedLM(MBertTinyConfig(vocab_size=len(student_tokenizer), hidden_size=16,
                                                   num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                                                   hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    data = Dataset.from_dict({"text": texts, "teacher_embedding": targets.tolist()}).map(
        lambda batch: {**student_tokenizer(["query: " + t for t in batch["text"]]),
                       "teacher_embedding": batch["teacher_embedding"]}, batched=True, remove_columns=["text"])
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=steps, per_device_train_batch_size=16,
                             learning_rate=3e-3, report_to="none", remove_unused_columns=False, save_strategy="no",
                             label_names=["teacher_embedding"], disable_tqdm=True, seed=0, use_cpu=True)
    trainer = SentenceEmbeddingDistillationTrainer(
        model=student, args=args, train_dataset=data, data_collator=DataCollatorWithPadding(student_tokenizer),
        teacher_hidden_size=TEACHER_SHAPE["hidden_size"])
    assert hasattr(student, "embedding_projection")  # 16 -> 32 wide
    trainer.train()
    projection = student.embedding_projection
    trainer.remove_projection()
    assert not hasattr(student, "embedding_projection")
    return student, student_tokenizer, projection


def test_a_student_over_another_wordpiece_vocabulary_learns_the_teachers_sentence_embeddings(teacher_folder, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    teacher = AutoModel.from_pretrained(teacher_folder).eval()
    teacher_tokenizer = AutoTokenizer.from_pretrained(teacher_folder)
    texts = corpus_texts(seed=3, per_cell=30)
    random.Random(0).shuffle(texts)
    train, held_out = texts[:150], texts[150:]
    targets = sentence_embeddings(teacher, teacher_tokenizer, train)
    truth = sentence_embeddings(teacher, teacher_tokenizer, held_out)
    mean = targets.mean(axis=0)

    def centred_cosine(student, tokenizer, projection):
        with torch.no_grad():
            pooled = torch.from_numpy(sentence_embeddings(student, tokenizer, held_out, normalize=False))
            predicted = torch.nn.functional.normalize(projection(pooled), dim=-1).numpy() - mean
        reference = truth - mean
        return float(np.mean((predicted * reference).sum(1) /
                             (np.linalg.norm(predicted, axis=1) * np.linalg.norm(reference, axis=1))))

    learned = centred_cosine(*_train_student(teacher_folder, tmp_path / "true", train, targets))
    shuffled_targets = targets[np.random.default_rng(0).permutation(len(targets))]
    shuffled = centred_cosine(*_train_student(teacher_folder, tmp_path / "shuffled", train, shuffled_targets))
    # Beyond the common direction, the student reproduces what is particular to each held-out text.
    assert learned > 0.3 and learned > shuffled + 0.2, (learned, shuffled)


def test_hidden_state_matching_needs_a_student_derived_from_the_teacher(teacher_folder, tmp_path):
    from transformers import AutoModel, TrainingArguments

    from modeling import derive_student
    from modeling.trainers import SentenceEmbeddingDistillationTrainer

    teacher = AutoModel.from_pretrained(teacher_folder)
    student = derive_student(teacher, None, layers=[0, 2], head="masked_lm", num_hidden_layers=2, hidden_size=16,
                             num_attention_heads=1, intermediate_size=32)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    with pytest.raises(ValueError, match="derived from this teacher"):
        SentenceEmbeddingDistillationTrainer(model=student, args=args, teacher_hidden_size=32, hidden_weight=1.0)


def _corpus_file(path: Path) -> Path:
    rows = [{"text": text, "language": text_language} for text_language, texts in
            {"eng": corpus_texts(seed=1, per_cell=12)[:36], "spa": corpus_texts(seed=1, per_cell=12)[36:]}.items()
            for text in texts]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("student", ["derived", "other_vocabulary"])
def test_general_distillation_run_writes_a_checkpoint_that_stock_automodel_loads(teacher_folder, tmp_path, student):
    from transformers import AutoModel, AutoTokenizer

    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    if student == "derived":  # over the teacher's own (pruned) vocabulary, hidden states matched too
        model = {"preset": "tiny2", "derive_from": str(teacher_folder), "layers": [0, 3], "vocab_size": 150,
                 "max_length": 32, "config_overrides": {"hidden_size": 16, "num_attention_heads": 1,
                                                         "intermediate_size": 32}}
        distillation = {"hidden_weight": 1.0}
    else:  # any tokenizer: the sentence-embedding objective alone
        model = {"preset": "tiny2", "tokenizer": str(make_tokenizer(tmp_path / "tok", corpus_texts(seed=5))),
                 "max_length": 32, "config_overrides": {"hidden_size": 16, "num_attention_heads": 1,
                                                         "intermediate_size": 32}}
        distillation = {"teacher": str(teacher_folder)}
    config = {
        "task": "general_distillation",
        "model": model,
        "data": {"corpus": [{"path": str(_corpus_file(tmp_path / "corpus.jsonl")), "text_column": "text"}]},
        "distillation": {**distillation, "texts_per_language": 30, "validation_texts": 10,
                         "teacher_cache_dir": str(tmp_path / "cache")},
        "training": {"output_dir": str(tmp_path / "out"), "max_steps": 6, "eval_steps": 3, "save_steps": 3,
                     "per_device_train_batch_size": 8, "learning_rate": 1e-3, "disable_tqdm": True},
    }
    results = run_experiment(load_config(write_config(tmp_path / "config.yaml", config)), RunOptions())
    assert results["task"] == "feature-extraction"
    assert results["dataset"]["languages"] == {"eng": 30, "spa": 30} and results["dataset"]["held_out_texts"] == 10
    assert results["results"]["model"]["eval_loss"] < results["results"]["model"]["eval_loss_before"]
    assert len([p for p in (tmp_path / "cache").iterdir() if p.is_dir()]) == 1
    loaded = AutoModel.from_pretrained(tmp_path / "out")
    assert not any("projection" in name for name, _ in loaded.named_parameters())
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "out")
    assert loaded(**tokenizer("query: the day was happy", return_tensors="pt")).last_hidden_state.shape[-1] == 16
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert str(tmp_path) not in json.dumps(saved["model"]["teacher"])  # a Hub id or nothing, never a local path
    assert str(tmp_path) not in json.dumps(loaded.config.to_dict().get("teacher_name_or_path"))
