"""train.py / mbert_tiny_hub.training: text classification end to end, the output folder, bad input, tokenizers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from test_training_support import (  # noqa: F401 - single_thread is a fixture
    LABELS,
    make_classification_dataset,
    make_tokenizer,
    read_results,
    single_thread,
    tiny_classification_config,
    write_config,
)

pytestmark = pytest.mark.usefixtures("single_thread")

FAKE_TOKEN = "hf_" + "trainTestTokenThatMustNeverBeWritten"  # built at run time: no token-shaped string in the sources


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory, single_thread):  # noqa: F811 - the fixture
    root = tmp_path_factory.mktemp("train-fixtures")
    return {
        "tokenizer": make_tokenizer(root / "tokenizer"),
        "dataset": make_classification_dataset(root / "dataset"),
        "multi_label": make_classification_dataset(root / "multi", multi_label=True),
    }


def run(config_dict: dict, tmp_path: Path, **options):
    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    config = load_config(write_config(tmp_path / "config.yaml", config_dict))
    return run_experiment(config, RunOptions(**options))


@pytest.fixture(scope="module")
def trained(fixtures, tmp_path_factory):
    """One classification run shared by the output-folder tests."""
    tmp = tmp_path_factory.mktemp("trained")
    output_dir = tmp / "run"
    previous = os.environ.get("HF_TOKEN")
    os.environ["HF_TOKEN"] = FAKE_TOKEN  # a token in the environment must not leak into anything written
    try:
        results = run(tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], output_dir), tmp)
    finally:
        if previous is None:
            os.environ.pop("HF_TOKEN")
        else:
            os.environ["HF_TOKEN"] = previous
    return output_dir, results


def test_classification_run_writes_a_complete_hub_repository(trained):
    output_dir, _ = trained
    names = {path.name for path in output_dir.iterdir()}
    for expected in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "train_config.yaml",
        "training_args.json",
        "results.json",
    ):
        assert expected in names, f"{expected} missing from {sorted(names)}"
    config = json.loads((output_dir / "config.json").read_text())
    # A plain BERT checkpoint by default: the stock class, no auto_map, no code file (the Hub tags no custom_code).
    assert config["architectures"] == ["BertForSequenceClassification"] and "auto_map" not in config
    assert not list(output_dir.glob("*.py"))
    assert config["id2label"] == {str(i): name for i, name in enumerate(LABELS)}
    assert not (output_dir / ".staging-final").exists()
    train_config = yaml.safe_load((output_dir / "train_config.yaml").read_text())
    assert train_config["task"] == "classification" and train_config["model"]["preset"] == "tiny2"
    # Trained from scratch: positions past the training length were never trained, and the tokenizer says so.
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(output_dir).model_max_length == train_config["model"]["max_length"]


def test_saved_tokenizer_names_its_real_class_and_bakes_in_no_truncation(trained):
    from transformers import AutoTokenizer, BertTokenizer

    output_dir, _ = trained
    tokenizer_config = json.loads((output_dir / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "BertTokenizer" and tokenizer_config["do_lower_case"] is False
    assert not {"max_length", "truncation_strategy", "stride"} & set(tokenizer_config)
    assert json.loads((output_dir / "tokenizer.json").read_text())["truncation"] is None
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert isinstance(tokenizer, BertTokenizer)
    # Cased: reloading keeps case (no do_lower_case re-derivation); a long text is cut only when asked.
    assert tokenizer.tokenize("Happy") != tokenizer.tokenize("happy")
    assert len(tokenizer("happy " * 100)["input_ids"]) == 102
    assert len(tokenizer("happy " * 100, truncation=True)["input_ids"]) == tokenizer.model_max_length


def test_saved_model_loads_as_stock_bert_and_gives_the_same_logits_as_the_project_class(trained):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from modeling.mbert_tiny import MBertTinyForSequenceClassification

    output_dir, _ = trained
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    batch = tokenizer(["happy day at home", "miedo en casa"], return_tensors="pt", padding=True)
    stock = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    ours = MBertTinyForSequenceClassification.from_pretrained(output_dir).eval()
    assert type(stock).__name__ == "BertForSequenceClassification"
    with torch.no_grad():
        torch.testing.assert_close(stock(**batch).logits, ours(**batch).logits, atol=1e-5, rtol=1e-4)


def test_the_runs_card_passes_the_hub_metadata_checks_with_a_widget_per_language_and_its_plots(trained):
    from huggingface_hub import ModelCard

    from mbert_tiny_hub.card_validation import card_metadata_problems

    output_dir, _ = trained
    assert card_metadata_problems(output_dir / "README.md") == []
    card = ModelCard.load(output_dir / "README.md")
    assert card.data.language == ["en", "es"]
    assert [example["example_title"] for example in card.data.widget] == ["en", "es"]
    for name in ("per_class_f1.png", "per_language_f1.png", "confusion_matrix.png"):
        assert (output_dir / name).stat().st_size > 1000 and f"]({name})" in card.text


def test_remote_code_is_an_explicit_option_of_the_model_section(fixtures, tmp_path):
    from transformers import AutoModelForSequenceClassification

    output_dir = tmp_path / "run"
    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], output_dir, num_train_epochs=1)
    config["model"]["remote_code"] = True
    run(config, tmp_path)
    saved = json.loads((output_dir / "config.json").read_text())
    assert saved["auto_map"]["AutoModelForSequenceClassification"] == "mbert_tiny.MBertTinyForSequenceClassification"
    assert (output_dir / "mbert_tiny.py").is_file()
    remote = AutoModelForSequenceClassification.from_pretrained(output_dir, trust_remote_code=True)
    assert type(remote).__name__ == "MBertTinyForSequenceClassification"
    assert "trust_remote_code=True" in (output_dir / "README.md").read_text()
    # Checkpoints saved during training stay plain: only the published folder carries the code.
    assert not list(output_dir.glob("checkpoint-*/*.py"))


def test_the_cards_snippet_runs_on_a_text_longer_than_the_model_reads(trained):
    import re

    output_dir, _ = trained
    card = (output_dir / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    assert "truncation=True" in snippet
    # The card states one max length, the tokenizer's, and never the position-embedding size.
    max_length = json.loads((output_dir / "tokenizer_config.json").read_text())["model_max_length"]
    assert f"| max sequence length | {max_length} tokens |" in card and "| max sequence length | 512" not in card
    repo_id = re.search(r'model="([^"]+)"', snippet).group(1)
    long_text = " ".join(["happy day at home"] * 300)  # 1,200 words: far past the model's positions
    snippet = snippet.replace(f'"{repo_id}"', repr(str(output_dir)))
    snippet = re.sub(r'classifier\("[^"]*"', f"classifier({long_text!r}", snippet)
    namespace = {}
    exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102 - the card's own code, on the local folder
    scores = namespace["classifier"]([long_text], truncation=True)[0]
    assert {entry["label"] for entry in scores} == set(LABELS)


def test_results_json_follows_the_schema_and_matches_a_fresh_evaluation(trained, fixtures):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from data_scripts import load_built_dataset
    from mbert_tiny_hub.results import SCHEMA_VERSION

    output_dir, results = trained
    on_disk = read_results(output_dir)
    assert on_disk["results"]["model"] == json.loads(json.dumps(results["results"]["model"]))
    assert on_disk["schema_version"] == SCHEMA_VERSION and on_disk["task"] == "text-classification"
    assert on_disk["model"]["class"] == "MBertTinyForSequenceClassification"
    assert on_disk["model"]["parameters"]["total"] > on_disk["model"]["parameters"]["embeddings"] > 0
    assert on_disk["model"]["size_on_disk_mb"] > 0
    assert on_disk["dataset"]["label_names"] == list(LABELS) and on_disk["dataset"]["multi_label"] is False
    assert on_disk["dataset"]["languages"] == ["eng", "spa"]
    assert set(on_disk["environment"]) >= {"python", "torch", "transformers", "cpu", "threads"}
    # The classic baselines of the same run sit beside the model, scored on the same rows.
    baselines = on_disk["results"]["baselines"]
    assert set(baselines) == {"tfidf_logreg", "tfidf_svm", "majority"}
    assert all(b["num_examples"] == on_disk["results"]["model"]["num_examples"] for b in baselines.values())
    assert set(baselines["majority"]["per_language"]) == {"eng", "spa"}

    test = load_built_dataset(str(fixtures["dataset"]), "all", split="test")
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    model = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    with torch.no_grad():
        logits = model(
            **tokenizer(list(test["text"]), return_tensors="pt", padding=True, truncation=True, max_length=16)
        ).logits
    predictions = logits.argmax(-1).numpy()
    report = on_disk["results"]["model"]
    assert report["num_examples"] == len(test)
    assert report["accuracy"] == pytest.approx(float((predictions == np.array(test["label"])).mean()))
    for language, scores in report["per_language"].items():
        rows = np.array(test["language"]) == language
        assert scores["accuracy"] == pytest.approx(float((predictions[rows] == np.array(test["label"])[rows]).mean()))


def test_no_file_of_the_run_holds_the_token_from_the_environment(trained):
    output_dir, _ = trained
    files = [path for path in output_dir.rglob("*") if path.is_file()]
    assert len(files) > 10
    for path in files:
        assert FAKE_TOKEN.encode() not in path.read_bytes(), f"the token leaked into {path}"
    assert json.loads((output_dir / "training_args.json").read_text())["hub_token"] in (None, "<HUB_TOKEN>")


def test_hybrid_loss_trainer_keeps_language_weights_in_the_training_batches(fixtures, tmp_path):
    from transformers import DataCollatorWithPadding, TrainingArguments

    from mbert_tiny_hub.config import config_from_dict
    from mbert_tiny_hub.training import (
        build_hybrid_loss,
        build_model,
        language_weights_for,
        load_classification_data,
        tokenize_classification,
    )
    from modeling.trainers import HybridLossTrainer

    config = config_from_dict(tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], tmp_path / "out"))
    dataset, labels, has_language = load_classification_data(config, seed=0)
    weights = language_weights_for(config, dataset["train"], has_language)
    model, tokenizer, _ = build_model(config, "sequence_classification", labels, lambda: dataset["train"]["text"])
    tokenized = tokenize_classification(dataset, tokenizer, config, labels, weights)
    trainer = HybridLossTrainer(
        model=model,
        args=TrainingArguments(str(tmp_path / "out"), per_device_train_batch_size=8, report_to="none"),
        train_dataset=tokenized["train"],
        data_collator=DataCollatorWithPadding(tokenizer),
        loss=build_hybrid_loss(config, labels, dataset["train"]),
    )
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["example_weight"].shape == (8,)
    assert set(np.round(batch["example_weight"].tolist(), 6)) <= {round(w, 6) for w in weights.values()}
    loss = trainer.compute_loss(trainer.model, batch)
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_multi_label_dataset_trains_with_the_sigmoid_hybrid_loss(fixtures, tmp_path):
    config = tiny_classification_config(
        fixtures["multi_label"], fixtures["tokenizer"], tmp_path / "run", num_train_epochs=1
    )
    results = run(config, tmp_path)
    assert results["dataset"]["multi_label"] is True and results["dataset"]["label_column"] == "labels"
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["problem_type"] == "multi_label_classification"
    assert results["results"]["model"]["num_examples"] == 30
    # The threshold is chosen on validation, saved for pipelines and the Space, and used on the test split.
    assert 0.05 <= saved["multi_label_threshold"] <= 0.95
    assert results["results"]["model"]["threshold"] == saved["multi_label_threshold"]


def test_logit_adjustment_is_chosen_on_validation_and_recorded(fixtures, tmp_path):
    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], tmp_path / "run", num_train_epochs=1)
    config["loss"]["logit_adjustment"] = "macro_f1"
    results = run(config, tmp_path)
    adjustment = results["results"]["model"]["logit_adjustment"]
    assert adjustment["chosen_on"] == "validation" and adjustment["metric"] == "macro_f1"
    assert 0.0 <= adjustment["tau"] <= 2.0
    assert adjustment["validation_score"] >= adjustment["validation_score_unadjusted"]
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["logit_adjustment_tau"] == adjustment["tau"]
    card = (tmp_path / "run" / "README.md").read_text()
    assert f"| logit adjustment τ (in the classifier bias) | {adjustment['tau']} |" in card


def test_logit_adjustment_is_folded_into_the_saved_classifier(fixtures, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from data_scripts import load_built_dataset
    from mbert_tiny_hub.metrics import log_prior

    # Imbalanced classes (joy 5 : anger 2 : fear 1) and a given τ: the shift is real and not the same for every class.
    dataset = make_classification_dataset(tmp_path / "imbalanced", imbalance={"joy": 5.0, "anger": 2.0, "fear": 1.0})
    config = tiny_classification_config(dataset, fixtures["tokenizer"], tmp_path / "run", num_train_epochs=1)
    config["loss"]["logit_adjustment"] = 1.0
    results = run(config, tmp_path)
    adjustment = results["results"]["model"]["logit_adjustment"]
    assert adjustment["tau"] == 1.0 and adjustment["chosen_on"] is None
    train = load_built_dataset(str(dataset), "all", split="train")
    prior = log_prior(np.bincount(train["label"], minlength=len(LABELS)))
    assert np.allclose(adjustment["log_prior"], prior, atol=1e-6) and np.ptp(prior) > 0.5
    # The last checkpoint is the unadjusted model; the output folder's bias differs from it by exactly -τ·log π.
    final = AutoModelForSequenceClassification.from_pretrained(tmp_path / "run")
    checkpoint = sorted((tmp_path / "run").glob("checkpoint-*"))[-1]
    before = AutoModelForSequenceClassification.from_pretrained(checkpoint)
    shift = torch.tensor(adjustment["log_prior"], dtype=torch.float32)
    assert torch.allclose(final.classifier.bias, before.classifier.bias - shift, atol=1e-5)
    assert torch.equal(final.classifier.weight, before.classifier.weight)
    # The test figures are the adjusted model's: argmax of the saved folder's logits.
    test = load_built_dataset(str(dataset), "all", split="test")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "run")
    with torch.no_grad():
        logits = final.eval()(
            **tokenizer(list(test["text"]), return_tensors="pt", padding=True, truncation=True, max_length=16)
        ).logits
    accuracy = float((logits.argmax(-1).numpy() == np.array(test["label"])).mean())
    assert results["results"]["model"]["accuracy"] == pytest.approx(accuracy)


def test_logit_adjustment_is_refused_for_multi_label_data_before_training(fixtures, tmp_path):
    from mbert_tiny_hub.config import ConfigError

    config = tiny_classification_config(fixtures["multi_label"], fixtures["tokenizer"], tmp_path / "run")
    config["loss"]["logit_adjustment"] = 0.5
    with pytest.raises(ConfigError, match="logit_adjustment is for single-label"):
        run(config, tmp_path)
    assert not list((tmp_path / "run").glob("checkpoint-*"))


def test_early_stopping_stops_when_validation_macro_f1_stops_improving_and_keeps_the_best_checkpoint(
    fixtures, tmp_path
):
    # learning_rate 0: the first evaluation is never beaten, so patience 1 stops after the second epoch.
    config = tiny_classification_config(
        fixtures["dataset"],
        fixtures["tokenizer"],
        tmp_path / "run",
        num_train_epochs=6,
        learning_rate=0.0,
        warmup_steps=0,
    )
    config["early_stopping"] = {"patience": 1}
    results = run(config, tmp_path)
    steps_per_epoch = 96 // 16
    assert results["training"]["global_steps"] == 2 * steps_per_epoch
    assert results["training"]["best_checkpoint"] == f"checkpoint-{steps_per_epoch}"
    assert results["training"]["metric_for_best_model"] == "macro_f1"


def test_missing_label_column_fails_before_training_and_leaves_no_output_folder(fixtures, tmp_path):
    from mbert_tiny_hub.config import ConfigError

    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], tmp_path / "run")
    config["data"]["label_column"] = "emotion"
    with pytest.raises(
        ConfigError, match=r"label column 'emotion' is not in dataset .*columns: id, text, language, label"
    ):
        run(config, tmp_path)
    assert not (tmp_path / "run").exists()


def test_unknown_config_key_is_a_clear_cli_error_with_no_output_folder(fixtures, tmp_path, capsys):
    import train

    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], tmp_path / "run")
    config["training"]["learning_rat"] = 1e-3
    path = write_config(tmp_path / "bad.yaml", config)
    assert train.main(["--config", str(path)]) == 2
    stderr = capsys.readouterr().err
    assert (
        f"train.py: error: {path}: unknown config key 'training.learning_rat' (did you mean 'learning_rate'?)" in stderr
    )
    assert not (tmp_path / "run").exists()


def test_an_existing_output_folder_needs_resume_or_overwrite(fixtures, tmp_path):
    from mbert_tiny_hub.config import ConfigError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("someone's files")
    config = tiny_classification_config(fixtures["dataset"], fixtures["tokenizer"], tmp_path / "run")
    with pytest.raises(ConfigError, match="already holds files: pass --resume"):
        run(config, tmp_path)
    assert (tmp_path / "run" / "notes.txt").exists()
    with pytest.raises(ConfigError, match="has no checkpoint-\\* folder to resume from"):
        run(config, tmp_path, resume=True)


def test_the_first_tokenizer_candidate_that_loads_wins_and_none_loading_is_a_clear_error(fixtures, tmp_path):
    from mbert_tiny_hub.config import ConfigError
    from mbert_tiny_hub.training import load_tokenizer

    missing = tmp_path / "no-such-tokenizer"
    tokenizer, source = load_tokenizer([str(missing), str(fixtures["tokenizer"])])
    assert source == str(fixtures["tokenizer"]) and tokenizer.mask_token == "[MASK]"
    with pytest.raises(ConfigError) as error:
        load_tokenizer([str(missing), "nobody/no-such-model-xyz"])
    assert str(missing) in str(error.value) and "nobody/no-such-model-xyz" in str(error.value)


def test_string_labels_are_encoded_with_the_configured_class_order(fixtures, tmp_path):
    from mbert_tiny_hub.config import config_from_dict
    from mbert_tiny_hub.training import load_classification_data

    rows = [{"text": f"happy day {i}", "label": "joy" if i % 2 else "fear", "language": "eng"} for i in range(40)]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    config = config_from_dict(
        {"task": "classification", "data": {"dataset": str(path), "label_names": ["fear", "joy"]}}
    )
    dataset, labels, has_language = load_classification_data(config, seed=0)
    assert labels.names == ["fear", "joy"] and not labels.multi_label and has_language
    assert set(dataset) == {"train", "validation", "test"} and sum(len(split) for split in dataset.values()) == 40
    assert all(
        (label == 1) == text.endswith(tuple("13579"))
        for label, text in zip(dataset["train"]["label"], dataset["train"]["text"])
    )


def _write_sequences_dataset(folder: Path) -> Path:
    """A sequential-recommendation dataset in the data contract's layout (configs `sequences` and `items`)."""
    from datasets import Dataset, Features, List, Value

    sequences = [[1000 + (user + step) % 20 for step in range(10)] for user in range(24)]
    features = Features({"user_id": Value("int64"), "item_ids": List(Value("int64")), "targets": List(Value("int64"))})
    splits = {
        "train": ([s[:-2] for s in sequences], [[] for _ in sequences]),
        "validation": ([s[:-2] for s in sequences], [[s[-2]] for s in sequences]),
        "test": ([s[:-1] for s in sequences], [[s[-1]] for s in sequences]),
    }
    files = []
    for split, (items, targets) in splits.items():
        path = folder / "sequences" / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        Dataset.from_dict(
            {"user_id": list(range(24)), "item_ids": items, "targets": targets}, features=features
        ).to_parquet(str(path))
        files.append({"split": split, "path": f"sequences/{path.name}"})
    items_path = folder / "items" / "train-00000-of-00001.parquet"
    items_path.parent.mkdir(parents=True)
    Dataset.from_dict(
        {"item_id": list(range(1000, 1020)), "title": [f"Film {i}" for i in range(20)], "genres": [["Drama"]] * 20}
    ).to_parquet(str(items_path))
    card = {
        "configs": [
            {"config_name": "sequences", "data_files": files},
            {"config_name": "items", "data_files": [{"split": "train", "path": "items/train-00000-of-00001.parquet"}]},
        ]
    }
    (folder / "README.md").write_text(f"---\n{yaml.safe_dump(card, sort_keys=False)}---\n")
    return folder


def test_bert4rec_configs_train_through_the_same_entry_point(tmp_path):
    dataset = _write_sequences_dataset(tmp_path / "sequences-data")
    config = {
        "task": "bert4rec",
        "data": {"dataset": str(dataset)},
        "early_stopping": {"patience": None},
        "bert4rec": {
            "preset": None,
            "config": {
                "hidden_size": 16,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "intermediate_size": 32,
                "max_position_embeddings": 12,
            },
            "evaluation": {"num_negatives": 5},
        },
        "training": {
            "output_dir": str(tmp_path / "rec"),
            "num_train_epochs": 2,
            "per_device_train_batch_size": 8,
            "disable_tqdm": True,
            "logging_steps": 100,
        },
    }
    results = run(config, tmp_path)
    assert results["task"] == "sequential-recommendation"
    names = {path.name for path in (tmp_path / "rec").iterdir()}
    assert {"config.json", "model.safetensors", "results.json", "train_config.yaml", "training_args.json"} <= names
    on_disk = read_results(tmp_path / "rec")
    assert "ndcg@10" in on_disk["results"]["model"]["full"] and "most_popular" in on_disk["results"]["baselines"]


def test_a_bad_bert4rec_section_fails_before_training(tmp_path):
    from mbert_tiny_hub.config import ConfigError

    dataset = _write_sequences_dataset(tmp_path / "sequences-data")
    config = {
        "task": "bert4rec",
        "data": {"dataset": str(dataset)},
        "bert4rec": {"presets": "M"},
        "training": {"output_dir": str(tmp_path / "rec")},
    }
    with pytest.raises(ConfigError, match=r"unknown config key 'bert4rec.presets' \(did you mean 'preset'\?\)"):
        run(config, tmp_path)
    assert not (tmp_path / "rec").exists()


def test_a_rebuilt_dataset_folder_is_read_from_its_new_files(tmp_path):
    from data_scripts import load_built_dataset

    folder = make_classification_dataset(tmp_path / "data", sizes=(12, 6, 6))
    assert len(load_built_dataset(str(folder), "all", split="test")) == 6
    make_classification_dataset(tmp_path / "data", sizes=(12, 6, 9))  # rebuilt in place, as data_scripts does
    assert len(load_built_dataset(str(folder), "all", split="test")) == 9


def test_the_embedded_quickstart_sample_is_a_balanced_multilingual_dataset(repo_root):
    from collections import Counter

    from data_scripts import load_built_dataset

    sample = load_built_dataset(str(repo_root / "configs" / "quickstart"))
    assert {split: len(rows) for split, rows in sample.items()} == {"train": 252, "validation": 42, "test": 42}
    names = sample["train"].features["label"].names
    assert names == ["joy", "sadness", "anger", "fear", "surprise", "neutral"]
    rows = [row for split in sample.values() for row in split]
    assert set(Counter(row["language"] for row in rows).values()) == {48}
    assert len({row["language"] for row in rows}) == 7 and any("ы" in row["text"] for row in rows)  # rus: Cyrillic
    assert set(Counter((row["language"], row["label"]) for row in rows).values()) == {8}
    assert len({row["text"] for row in rows}) == len(rows)


@pytest.mark.shared_data
def test_the_quickstart_config_trains_tiny2_over_pruned_mbert_and_writes_a_loadable_model(
    repo_root, mbert_tokenizer, tmp_path, monkeypatch
):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from mbert_tiny_hub.config import load_config
    from mbert_tiny_hub.training import RunOptions, run_experiment

    monkeypatch.chdir(repo_root)  # the config's paths are relative to the repository root, as `make demo` runs it
    config = load_config("configs/quickstart.yaml", ["training.num_train_epochs=1", "training.disable_tqdm=true"])
    results = run_experiment(config, RunOptions(output_dir=str(tmp_path / "quickstart")))
    assert results["model"]["class"] == "MBertTinyForSequenceClassification"
    assert results["dataset"]["languages"] == ["deu", "eng", "fra", "ita", "por", "rus", "spa"]
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "quickstart")
    assert 20_000 < len(tokenizer) < len(mbert_tokenizer)  # mBERT's vocabulary, pruned to the sample
    # Every piece of a training sentence was kept, so it tokenizes exactly as with the full mBERT vocabulary.
    text = "Le train est encore en retard, ça m'énerve."
    assert tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"]) == mbert_tokenizer.convert_ids_to_tokens(
        mbert_tokenizer(text)["input_ids"]
    )
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "quickstart")
    assert model.config.id2label[3] == "fear" and model.config.num_hidden_layers == 2
