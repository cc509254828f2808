"""Small repositories to publish, built in the test the way the project builds them: an mBERT-Tiny classifier
output folder (real model, real tokenizer, results JSON), a dataset folder in the CONTRIBUTING.md layout (real
`datasets`), and a LoRA adapter made with the real peft. Shared by the publishing and card tests."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

LABELS = ["joy", "sadness", "anger"]
LANGUAGES = ["deu", "eng", "spa"]
TEXTS = [
    ("Das ist wunderbar, ich freue mich sehr!", "deu", 0),
    ("Ich bin so traurig heute.", "deu", 1),
    ("Das macht mich wirklich wütend.", "deu", 2),
    ("What a wonderful day, I am so happy!", "eng", 0),
    ("I feel so sad and alone.", "eng", 1),
    ("This makes me really angry.", "eng", 2),
    ("¡Qué día tan maravilloso, estoy feliz!", "spa", 0),
    ("Estoy muy triste hoy.", "spa", 1),
    ("Esto me enfada muchísimo.", "spa", 2),
]
PROBE_TEXTS = ["I am happy today!", "Estoy triste.", "Das ist ärgerlich."]


def make_tokenizer():
    """A cased WordPiece tokenizer over the characters and words of TEXTS (as vocab_pruning saves them)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    texts = [text for text, _, _ in TEXTS] + PROBE_TEXTS
    words = sorted({w for text in texts for w in text.replace("!", " ! ").split()})
    chars = sorted({c for w in words for c in w})
    vocab = specials + chars + [f"##{c}" for c in chars] + [w for w in words if len(w) > 1]
    vocab = list(dict.fromkeys(vocab))
    backend = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, clean_text=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    backend.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )


def classification_results(name_or_path: str = "org/emotions", with_latency: bool = True) -> dict:
    """A results JSON in CONTRIBUTING.md's schema, with distinctive numbers a test can look for."""

    def report(macro: float, accuracy: float) -> dict:
        return {
            "num_examples": 90,
            "accuracy": accuracy,
            "macro_precision": macro + 0.011,
            "macro_recall": macro - 0.013,
            "macro_f1": macro,
            "micro_f1": macro + 0.0202,
            "weighted_f1": macro + 0.0101,
            "per_class": {
                label: {"precision": macro + i / 100, "recall": macro - i / 100, "f1": macro + i / 1000, "support": 30}
                for i, label in enumerate(LABELS)
            },
            "per_language": {
                lang: {
                    "num_examples": 30,
                    "accuracy": accuracy,
                    "macro_f1": round(macro + (i - 1) * 0.0417, 6),
                    "micro_f1": macro,
                    "weighted_f1": macro,
                }
                for i, lang in enumerate(LANGUAGES)
            },
        }

    results = {
        "schema_version": 1,
        "task": "text-classification",
        "created": "2026-11-22T12:00:00Z",
        "command": f"python evaluate.py --model outputs/tiny --dataset {name_or_path}",
        "model": {
            "name_or_path": "outputs/tiny",
            "class": "MBertTinyForSequenceClassification",
            "parameters": {"total": 123457, "embeddings": 45679, "trainable": 123457},
            "size_on_disk_mb": 0.49,
        },
        "dataset": {
            "name_or_path": name_or_path,
            "config": "default",
            "split": "test",
            "num_examples": 90,
            "label_column": "label",
            "label_names": LABELS,
            "multi_label": False,
            "languages": LANGUAGES,
        },
        "results": {
            "model": report(0.6173, 0.6444),
            "baselines": {"tfidf_logreg": report(0.5309, 0.5556), "majority": report(0.1667, 0.3333)},
        },
        "environment": {"python": "3.11", "torch": "2.13.0", "transformers": "5.23.0", "cpu": "test", "threads": 2},
    }
    if with_latency:
        results["latency"] = [
            {"model": "outputs/tiny", "runtime": "eager", "device": "cpu", "threads": 2, "batch_size": 1,
             "seq_len": 128, "p50_ms": 3.217, "p95_ms": 4.871, "ratio_to_mbert_base": 0.0076}
        ]
    return results


def make_model_folder(folder: Path, seed: int = 0) -> Path:
    """A training output folder: MBertTiny classifier (saved as a plain BERT checkpoint),
    tokenizer, train_config.yaml, training_args.json and results.json."""
    import torch

    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForSequenceClassification

    torch.manual_seed(seed)
    tokenizer = make_tokenizer()
    config = MBertTinyConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model = MBertTinyForSequenceClassification(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    train_config = {
        "task": "classification",
        "model": {"preset": None, "init": "random", "hidden_size": 32},
        "data": {"dataset": "org/emotions", "label_column": "label"},
        "training": {"learning_rate": 5e-4, "num_train_epochs": 3, "per_device_train_batch_size": 8, "seed": seed},
    }
    (folder / "train_config.yaml").write_text(yaml.safe_dump(train_config, sort_keys=False), encoding="utf-8")
    (folder / "training_args.json").write_text(json.dumps(train_config["training"], indent=2), encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(classification_results(), indent=2), encoding="utf-8")
    return folder


def logits_of(model, tokenizer, texts=PROBE_TEXTS):
    import torch

    with torch.no_grad():
        batch = tokenizer(list(texts), padding=True, return_tensors="pt")
        return model(**batch).logits


def make_adapter_folder(base_folder: Path, adapter_folder: Path, seed: int = 0) -> Path:
    """A LoRA adapter (query/value, classifier saved) on the MBertTiny base in `base_folder`, with non-zero LoRA
    weights so that it changes the predictions."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer

    from modeling.mbert_tiny import MBertTinyForSequenceClassification

    torch.manual_seed(seed)
    base = MBertTinyForSequenceClassification.from_pretrained(base_folder).eval()
    config = LoraConfig(
        task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["query", "value"], init_lora_weights=False
    )
    model = get_peft_model(base, config).eval()
    model.save_pretrained(adapter_folder)
    AutoTokenizer.from_pretrained(base_folder).save_pretrained(adapter_folder)
    return adapter_folder


def make_dataset_folder(folder: Path, redistributable: bool = True, license: str = "cc-by-4.0") -> Path:
    """A dataset folder in the CONTRIBUTING.md layout: default/{split}-00000-of-00001.parquet + README.md card."""
    from datasets import ClassLabel, Dataset, Features, Value

    features = Features({"text": Value("string"), "language": Value("string"), "label": ClassLabel(names=LABELS)})
    splits = {"train": TEXTS, "validation": TEXTS[:3], "test": TEXTS[3:]}
    (folder / "default").mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        data = {"text": [r[0] for r in rows], "language": [r[1] for r in rows], "label": [r[2] for r in rows]}
        path = folder / "default" / f"{split}-00000-of-00001.parquet"
        Dataset.from_dict(data, features=features).to_parquet(str(path))
    metadata = {
        "license": license,
        "language": LANGUAGES,
        "task_categories": ["text-classification"],
        "redistributable": redistributable,
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": split, "path": f"default/{split}-00000-of-00001.parquet"} for split in splits
                ],
            }
        ],
    }
    (folder / "README.md").write_text(
        "---\n" + yaml.safe_dump(metadata, sort_keys=False) + "---\n\n# Emotions (test fixture)\n", encoding="utf-8"
    )
    return folder
