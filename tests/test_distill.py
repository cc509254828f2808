"""task: distillation — a student derived from a teacher (mBERT-Tiny derivation) learns from the teacher's softened
logits and hidden states; teachers that cannot teach this student are refused before training."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from test_training_support import (  # noqa: F401 - single_thread is a fixture
    LABELS,
    make_classification_dataset,
    make_tokenizer,
    single_thread,
    write_config,
)

pytestmark = pytest.mark.usefixtures("single_thread")

TEACHER_SHAPE = {"hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 2, "intermediate_size": 512}
# Narrower than the teacher (64 vs 128): hidden-state matching needs the learned projection.
STUDENT_OVERRIDES = {"hidden_size": 64, "num_attention_heads": 1, "intermediate_size": 128}


def run(config_dict: dict, tmp_path: Path, name: str = "config.yaml"):
    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    return run_experiment(load_config(write_config(tmp_path / name, config_dict)), RunOptions())


@pytest.fixture(scope="module")
def teachers(tmp_path_factory, single_thread):  # noqa: F811 - the fixture
    """A small random BERT classifier fine-tuned for a few epochs through train.py (a meaningful teacher), and a
    masked-LM teacher, both with the fixture tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, BertForSequenceClassification

    root = tmp_path_factory.mktemp("teachers")
    dataset = make_classification_dataset(root / "dataset")
    tokenizer = AutoTokenizer.from_pretrained(make_tokenizer(root / "tokenizer"))
    torch.manual_seed(0)
    labels = {
        "num_labels": len(LABELS),
        "id2label": dict(enumerate(LABELS)),
        "label2id": {n: i for i, n in enumerate(LABELS)},
    }
    BertForSequenceClassification(BertConfig(vocab_size=len(tokenizer), **TEACHER_SHAPE, **labels)).save_pretrained(
        root / "init"
    )
    tokenizer.save_pretrained(root / "init")
    run(
        {
            "task": "classification",
            "model": {"name_or_path": str(root / "init"), "max_length": 16},
            "data": {"dataset": str(dataset)},
            "loss": {"focal_weight": 0.0},
            "training": {
                "output_dir": str(root / "classifier"),
                "num_train_epochs": 4,
                "learning_rate": 1e-3,
                "per_device_train_batch_size": 16,
                "disable_tqdm": True,
                "seed": 1,
            },
        },
        root,
        "teacher.yaml",
    )
    BertForMaskedLM(BertConfig(vocab_size=len(tokenizer), **TEACHER_SHAPE)).save_pretrained(root / "mlm")
    tokenizer.save_pretrained(root / "mlm")
    return {"classifier": root / "classifier", "mlm": root / "mlm", "dataset": dataset, "root": root}


def distillation_config(teachers: dict, teacher: Path, output_dir: Path, **distillation) -> dict:
    return {
        "task": "distillation",
        "model": {"preset": "tiny2", "max_length": 16, "config_overrides": dict(STUDENT_OVERRIDES)},
        "data": {"dataset": str(teachers["dataset"])},
        "distillation": {"teacher": str(teacher), "temperature": 2.0, "alpha": 0.5,
                         "teacher_cache_dir": str(output_dir.parent / "cache"), **distillation},
        "training": {
            "output_dir": str(output_dir),
            "num_train_epochs": 2,
            "per_device_train_batch_size": 16,
            "learning_rate": 3e-3,
            "disable_tqdm": True,
            "seed": 5,
        },
    }


def test_distillation_trains_a_narrower_student_and_saves_it_without_the_projection(teachers, tmp_path):
    output_dir = tmp_path / "student"
    results = run(distillation_config(teachers, teachers["classifier"], output_dir, hidden_weight=1.0), tmp_path)
    weights = load_file(output_dir / "model.safetensors")
    assert not any("distillation_projection" in name for name in weights)
    assert weights["bert.embeddings.word_embeddings.weight"].shape[1] == 64
    config = json.loads((output_dir / "config.json").read_text())
    assert config["teacher_name_or_path"] is None and len(config["teacher_layers"]) == 2  # never a local path
    assert config["vocab_size"] < 176  # the teacher's vocabulary, pruned to the training text
    assert results["model"]["teacher"] == str(teachers["classifier"])
    checkpoint = load_file(next(output_dir.glob("checkpoint-*")) / "model.safetensors")
    assert any("distillation_projection" in name for name in checkpoint), "checkpoints keep the projection for --resume"

    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(output_dir)  # loads cleanly, no unexpected weights


def _trainer_and_batch(teachers, student, tmp_path, **kwargs):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainingArguments

    from modeling.trainers import DistillationTrainer

    teacher = AutoModelForSequenceClassification.from_pretrained(teachers["classifier"])
    tokenizer = AutoTokenizer.from_pretrained(teachers["classifier"])
    batch = dict(
        tokenizer(["happy day at home", "furioso en casa hoy", "so scared today"], return_tensors="pt", padding=True)
    )
    batch["labels"] = torch.tensor([0, 1, 2])
    args = TrainingArguments(str(tmp_path / "out"), report_to="none", use_cpu=True)
    return DistillationTrainer(model=student, args=args, teacher_model=teacher, **kwargs), batch, teacher


def test_a_student_identical_to_its_teacher_has_zero_distillation_loss(teachers, tmp_path):
    from transformers import AutoModelForSequenceClassification

    from modeling.derivation import derive_student

    teacher = AutoModelForSequenceClassification.from_pretrained(teachers["classifier"])
    student = derive_student(
        teacher,
        preset=None,
        head="sequence_classification",
        num_labels=3,
        id2label=teacher.config.id2label,
        label2id=teacher.config.label2id,
    )
    trainer, batch, _ = _trainer_and_batch(teachers, student.eval(), tmp_path, alpha=0.0, hidden_weight=1.0)
    assert not hasattr(student, "distillation_projection")  # same width: no projection
    with torch.no_grad():
        loss = trainer.compute_loss(student.eval(), batch)
    assert loss.item() == pytest.approx(0.0, abs=1e-5)


def test_distillation_loss_mixes_the_task_loss_and_the_softened_kl_as_documented(teachers, tmp_path):
    from transformers import AutoModelForSequenceClassification

    from modeling.losses import distillation_kl

    student = AutoModelForSequenceClassification.from_pretrained(teachers["root"] / "init").eval()
    trainer, batch, teacher = _trainer_and_batch(teachers, student, tmp_path, alpha=0.3, temperature=3.0)
    with torch.no_grad():
        loss = trainer.compute_loss(student, batch)
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        student_logits, teacher_logits = student(**inputs).logits, teacher.eval()(**inputs).logits
    task = torch.nn.functional.cross_entropy(student_logits, batch["labels"])
    expected = 0.3 * task + 0.7 * distillation_kl(student_logits, teacher_logits, 3.0)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_a_multi_label_student_learns_each_labels_probability_not_a_softmax_across_labels(teachers, tmp_path):
    """BRIGHTER-style independent emotions: the trainer's KL term is the per-class (sigmoid) one."""
    from transformers import AutoModelForSequenceClassification

    from modeling.losses import HybridLoss

    student = AutoModelForSequenceClassification.from_pretrained(
        teachers["root"] / "init", problem_type="multi_label_classification"
    ).eval()
    with torch.no_grad():  # a student far from the teacher: a KL of order 1, not a float32 rounding-sized one
        student.classifier.bias += torch.tensor([3.0, -3.0, 1.5])
    trainer, batch, teacher = _trainer_and_batch(
        teachers, student, tmp_path, alpha=0.0, temperature=2.0, loss=HybridLoss(focal_weight=0.0, multi_label=True)
    )
    batch["labels"] = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    with torch.no_grad():
        loss = trainer.compute_loss(student, batch)
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        s, t = student(**inputs).logits / 2.0, teacher.eval()(**inputs).logits / 2.0
    q = torch.sigmoid(t)
    per_class = q * (torch.log(q) - torch.log(torch.sigmoid(s))) + (1 - q) * (torch.log(1 - q) - torch.log(1 - torch.sigmoid(s)))
    assert loss.item() == pytest.approx(4.0 * per_class.mean().item(), rel=1e-4)


def test_a_teacher_with_other_labels_is_refused_before_training(teachers, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from mbert_tiny_hub.config import ConfigError

    wrong = AutoModelForSequenceClassification.from_pretrained(
        teachers["classifier"], id2label={0: "fear", 1: "anger", 2: "joy"}, label2id={"fear": 0, "anger": 1, "joy": 2}
    )
    wrong.save_pretrained(tmp_path / "wrong-teacher")
    AutoTokenizer.from_pretrained(teachers["classifier"]).save_pretrained(tmp_path / "wrong-teacher")
    with pytest.raises(
        ConfigError,
        match=r"predicts labels \['fear', 'anger', 'joy'\] but the student learns \['joy', 'anger', 'fear'\]",
    ):
        run(distillation_config(teachers, tmp_path / "wrong-teacher", tmp_path / "student"), tmp_path)
    assert not (tmp_path / "student").exists()


def test_a_masked_lm_teacher_teaches_through_hidden_states_only(teachers, tmp_path):
    from mbert_tiny_hub.config import ConfigError

    with pytest.raises(ConfigError, match="no classification head, so it can only teach through hidden states"):
        run(distillation_config(teachers, teachers["mlm"], tmp_path / "refused"), tmp_path)
    assert not (tmp_path / "refused").exists()
    config = distillation_config(teachers, teachers["mlm"], tmp_path / "student", hidden_weight=1.0)
    config["training"]["num_train_epochs"] = 1
    results = run(config, tmp_path)
    assert results["results"]["model"]["num_examples"] == 30
    assert (tmp_path / "student" / "model.safetensors").exists()


def _rerun_reads_every_logit_from_the_cache(config: dict, tmp_path: Path, caplog, entries: list[Path]) -> None:
    """Another run of `config` (96 training and 24 validation texts) reads all its teacher logits from the cache and
    adds no cache entry."""
    caplog.clear()
    with caplog.at_level("INFO", logger="mbert_tiny_hub"):
        run(config, tmp_path)
    assert "the teacher's logits (train): 96 of 96 texts read from the cache" in caplog.text
    assert "the teacher's logits (validation): 24 of 24 texts read from the cache" in caplog.text
    assert sorted(path for path in (tmp_path / "cache").iterdir() if path.is_dir()) == entries


def test_a_teacher_over_another_tokenizer_teaches_through_logits_computed_with_its_own(teachers, tmp_path, caplog):
    """The mBERT route: a WordPiece student whose vocabulary is not the teacher's still learns its task logits."""
    from test_training_support import corpus_texts, make_tokenizer

    other = make_tokenizer(tmp_path / "other-tokenizer", corpus_texts(seed=9), vocab_size=120)
    config = distillation_config(teachers, teachers["classifier"], tmp_path / "student")
    config["model"]["tokenizer"] = str(other)
    config["model"]["prune_vocabulary"] = False
    config["training"]["num_train_epochs"] = 8
    config["distillation"]["teacher_cache_dir"] = str(tmp_path / "cache")
    with caplog.at_level("INFO", logger="mbert_tiny_hub"):
        results = run(config, tmp_path)
    assert "Teacher logits computed once with the teacher's own tokenizer" in caplog.text
    assert "the teacher's logits (train): 0 of 96 texts read from the cache" in caplog.text
    assert results["results"]["model"]["accuracy"] >= 0.8
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(tmp_path / "student").get_vocab() == AutoTokenizer.from_pretrained(other).get_vocab()

    # A second student of the same teacher on the same texts reads the logits from the cache; the same teacher
    # folder fine-tuned again (new weight files, same sizes) gets a new teacher pass.
    entries = sorted(path for path in (tmp_path / "cache").iterdir() if path.is_dir())
    assert len(entries) == 2  # train and validation
    config["training"]["num_train_epochs"] = 1
    config["training"]["output_dir"] = str(tmp_path / "second")
    _rerun_reads_every_logit_from_the_cache(config, tmp_path, caplog, entries)
    weights = teachers["classifier"] / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    config["training"]["output_dir"] = str(tmp_path / "third")
    caplog.clear()
    with caplog.at_level("INFO", logger="mbert_tiny_hub"):
        run(config, tmp_path)
    assert "the teacher's logits (train): 0 of 96 texts read from the cache" in caplog.text
    assert len([path for path in (tmp_path / "cache").iterdir() if path.is_dir()]) == 4


def test_a_derived_student_reads_its_teachers_logits_computed_once_through_its_own_pieces(teachers, tmp_path, caplog):
    """Logits alone need no live teacher: for a student derived from the teacher (its pieces, pruned to the training
    text) they are computed once through the student's own pieces, cached, and shared by a second run; with the
    hidden-state term the teacher runs live and nothing is cached."""
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    config = distillation_config(teachers, teachers["classifier"], tmp_path / "student")
    config["training"]["num_train_epochs"] = 6
    with caplog.at_level("INFO", logger="mbert_tiny_hub"):
        results = run(config, tmp_path)
    assert "Teacher logits computed once with the student's own pieces" in caplog.text
    assert "the teacher's logits (train): 0 of 96 texts read from the cache" in caplog.text
    assert results["results"]["model"]["accuracy"] >= 0.8
    entries = sorted(path for path in (tmp_path / "cache").iterdir() if path.is_dir())
    assert len(entries) == 2 and all("student_pieces" in (e / "settings.json").read_text() for e in entries)

    # The pruned vocabulary keeps every piece of the training text, so the student's pieces, mapped back, are the
    # teacher's own: each cached row is the teacher's logits for that text read through its own tokenizer.
    teacher = AutoModelForSequenceClassification.from_pretrained(teachers["classifier"]).eval()
    tokenizer = AutoTokenizer.from_pretrained(teachers["classifier"])
    train = max(entries, key=lambda e: json.loads((e / "settings.json").read_text())["num_texts"])
    cached = datasets.Dataset.from_parquet([str(p) for p in sorted(train.glob("shard-*.parquet"))])
    assert len(cached) == 96
    with torch.no_grad():
        for row in cached.select(range(0, 96, 8)):
            alone = teacher(**tokenizer(row["text"], truncation=True, max_length=16, return_tensors="pt")).logits[0]
            assert torch.allclose(torch.tensor(row["teacher_logits"]), alone, atol=1e-5), row["text"]

    config["training"].update(output_dir=str(tmp_path / "second"), seed=7, num_train_epochs=1)
    _rerun_reads_every_logit_from_the_cache(config, tmp_path, caplog, entries)

    hidden = distillation_config(teachers, teachers["classifier"], tmp_path / "hidden" / "student", hidden_weight=1.0)
    hidden["training"]["num_train_epochs"] = 1
    caplog.clear()
    with caplog.at_level("INFO", logger="mbert_tiny_hub"):
        run(hidden, tmp_path)
    assert "Teacher logits computed" not in caplog.text and not (tmp_path / "hidden" / "cache").exists()


def test_a_multi_label_student_derived_from_its_teacher_learns_from_cached_per_emotion_logits(
    teachers, tmp_path, caplog
):
    """configs/brighter_distill_e5_tiny6_derived.yaml's path: a multi-label teacher (independent emotions), a student
    derived from it, the teacher's logits (one per emotion) cached through the student's own pieces; the student is
    saved as a multi-label classifier with a threshold chosen on validation."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    dataset = make_classification_dataset(tmp_path / "multi", multi_label=True)
    tokenizer = AutoTokenizer.from_pretrained(teachers["root"] / "init")
    torch.manual_seed(0)
    BertForSequenceClassification(
        BertConfig(vocab_size=len(tokenizer), **TEACHER_SHAPE, num_labels=len(LABELS),
                   problem_type="multi_label_classification")
    ).save_pretrained(tmp_path / "init")
    tokenizer.save_pretrained(tmp_path / "init")
    run(
        {
            "task": "classification",
            "model": {"name_or_path": str(tmp_path / "init"), "max_length": 16},
            "data": {"dataset": str(dataset), "label_column": "labels"},
            "loss": {"focal_weight": 0.0},
            "training": {"output_dir": str(tmp_path / "teacher"), "num_train_epochs": 4, "learning_rate": 1e-3,
                         "per_device_train_batch_size": 16, "disable_tqdm": True, "seed": 1},
        },
        tmp_path,
        "teacher.yaml",
    )
    config = distillation_config(teachers, tmp_path / "teacher", tmp_path / "student")
    config["data"] = {"dataset": str(dataset), "label_column": "labels"}
    config["loss"] = {"focal_weight": 0.5}
    with caplog.at_level("INFO", logger="mbert_tiny_hub"):
        results = run(config, tmp_path)
    assert "Teacher logits computed once with the student's own pieces" in caplog.text
    saved = json.loads((tmp_path / "student" / "config.json").read_text())
    assert saved["problem_type"] == "multi_label_classification" and len(saved["id2label"]) == len(LABELS)
    assert 0.05 <= saved["multi_label_threshold"] <= 0.95
    assert results["dataset"]["multi_label"] is True
    assert results["results"]["model"]["threshold"] == saved["multi_label_threshold"]
    import datasets

    train = max((e for e in (tmp_path / "cache").iterdir() if e.is_dir()),
                key=lambda e: json.loads((e / "settings.json").read_text())["num_texts"])
    cached = datasets.Dataset.from_parquet([str(p) for p in sorted(train.glob("shard-*.parquet"))])
    assert all(len(row) == len(LABELS) for row in cached["teacher_logits"])  # one logit per emotion, not per class


def test_teacher_logits_batched_shortest_first_come_back_in_each_texts_place(teachers):
    """The teacher's logits are computed in length-sorted batches (less padding) and must land on their own text:
    each row equals the teacher's logits for that text read alone, with no padding at all."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from mbert_tiny_hub.training.distillation import teacher_logits
    from test_training_support import corpus_texts

    teacher = AutoModelForSequenceClassification.from_pretrained(teachers["classifier"]).eval()
    tokenizer = AutoTokenizer.from_pretrained(teachers["classifier"])
    words = " ".join(corpus_texts(seed=4)[:40]).split()
    texts = [" ".join(words[i : i + n]) for i, n in enumerate([9, 1, 14, 3, 30, 2, 7, 11, 5, 20])]
    lengths = [len(tokenizer(t, truncation=True, max_length=16)["input_ids"]) for t in texts]
    assert lengths != sorted(lengths) and len(set(lengths)) > 4  # the sort does reorder these texts
    rows = teacher_logits(teacher, tokenizer, texts, max_length=16, batch_size=3)
    assert len(rows) == len(texts)
    with torch.no_grad():
        for text, row in zip(texts, rows):
            alone = teacher(**tokenizer(text, truncation=True, max_length=16, return_tensors="pt")).logits[0]
            assert torch.allclose(torch.tensor(row), alone, atol=1e-5), text
