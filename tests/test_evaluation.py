"""evaluate_classifier and friends on small fixtures built here: a multilingual dataset folder in CONTRIBUTING.md's
shape (Parquet + dataset card, read back with the real `datasets.load_dataset`), a WordPiece tokenizer trained on
it and a 2-layer mBERT-Tiny classifier trained for a few seconds."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

# Each language names each emotion with its own words: a small model learns them in seconds, a model trained on
# some languages knows nothing of another's words (a real zero-shot gap), and TF-IDF baselines have signal.
LEXICON = {
    "eng": {"joy": ["happy", "glad", "delighted"], "anger": ["furious", "angry", "mad"],
            "sadness": ["sad", "gloomy", "unhappy"]},
    "spa": {"joy": ["feliz", "alegre", "contento"], "anger": ["furioso", "enfadado", "rabioso"],
            "sadness": ["triste", "deprimido", "apenado"]},
    "ita": {"joy": ["felice", "allegro", "lieto"], "anger": ["arrabbiato", "furente", "irato"],
            "sadness": ["mesto", "afflitto", "cupo"]},
}
FILLER = {
    "eng": ["today", "the", "weather", "my", "friend", "was", "at", "work", "and", "I", "feel"],
    "spa": ["hoy", "el", "tiempo", "mi", "amigo", "estaba", "en", "trabajo", "y", "me", "siento"],
    "ita": ["oggi", "il", "tempo", "mio", "amico", "era", "al", "lavoro", "e", "mi", "sento"],
}
LABELS = ["joy", "anger", "sadness"]


def make_rows(num_rows: int, seed: int, languages=("eng", "spa", "ita"), multi_label: bool = False) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for index in range(num_rows):
        language = languages[index % len(languages)]
        if multi_label:
            label_ids = sorted(rng.sample(range(len(LABELS)), rng.choice([0, 1, 1, 2])))
        else:
            label_ids = [index // len(languages) % len(LABELS)]
        words = rng.sample(FILLER[language], 5) + [rng.choice(LEXICON[language][LABELS[i]]) for i in label_ids]
        rng.shuffle(words)
        row = {"id": f"{language}_{seed}_{index}", "text": " ".join(words), "language": language}
        row.update({"labels": label_ids} if multi_label else {"label": label_ids[0]})
        rows.append(row)
    return rows


def write_dataset_folder(
    folder: Path, splits: dict[str, list[dict]], multi_label: bool = False, config: str = "all", label_names=LABELS
) -> Path:
    """A dataset folder as data_scripts writes it: <config>/<split>-00000-of-00001.parquet + README.md configs."""
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    columns = {"id": Value("string"), "text": Value("string"), "language": Value("string")}
    labels = ClassLabel(names=list(label_names))
    columns["labels" if multi_label else "label"] = Sequence(labels) if multi_label else labels
    card = ["---", "configs:", f"- config_name: {config}", "  data_files:"]
    for split, rows in splits.items():
        features = Features({name: feature for name, feature in columns.items() if not rows or name in rows[0]})
        data = {name: [row[name] for row in rows] for name in features}
        (folder / config).mkdir(parents=True, exist_ok=True)
        Dataset.from_dict(data, features=features).to_parquet(str(folder / config / f"{split}-00000-of-00001.parquet"))
        card += [f"  - split: {split}", f"    path: {config}/{split}-00000-of-00001.parquet"]
    (folder / "README.md").write_text("\n".join(card + ["---", "# Test fixture", ""]), encoding="utf-8")
    return folder


def train_tokenizer(texts):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=False)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials))
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=64,
    )


def train_classifier(rows, tokenizer, multi_label: bool = False, steps: int = 80, seed: int = 0, label_names=LABELS):
    """A 2-layer, 32-wide mBERT-Tiny classifier trained on `rows` with a plain AdamW loop (a few seconds)."""
    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyForSequenceClassification

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 32-wide model trains faster on one thread than on two busy ones
    torch.manual_seed(seed)
    config = MBertTinyConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, num_labels=len(label_names),
        id2label=dict(enumerate(label_names)), label2id={name: i for i, name in enumerate(label_names)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    model = MBertTinyForSequenceClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = rng.sample(rows, min(16, len(rows)))
        inputs = tokenizer([row["text"] for row in batch], padding=True, return_tensors="pt")
        if multi_label:
            labels = torch.zeros(len(batch), len(label_names))
            for i, row in enumerate(batch):
                labels[i, row["labels"]] = 1.0
        else:
            labels = torch.tensor([row["label"] for row in batch])
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    torch.set_num_threads(threads)
    return model.eval()


@pytest.fixture(scope="module")
def single_label_data(tmp_path_factory):
    train, test = make_rows(180, seed=1), make_rows(60, seed=2)
    splits = {"train": train, "validation": test, "test": test}
    folder = write_dataset_folder(tmp_path_factory.mktemp("data") / "emotions", splits)
    return folder, train, test


@pytest.fixture(scope="module")
def tokenizer(single_label_data):
    _, train, _ = single_label_data
    return train_tokenizer([row["text"] for row in train] + [row["text"] for row in make_rows(60, seed=9)])


@pytest.fixture(scope="module")
def trained_model(single_label_data, tokenizer):
    _, train, _ = single_label_data
    return train_classifier(train, tokenizer)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory, trained_model, tokenizer):
    folder = tmp_path_factory.mktemp("models") / "tiny-emotion"
    trained_model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def load_split(folder, split="test", config="all"):
    from datasets import load_dataset

    return load_dataset(str(folder), config)[split]


from mbert_tiny_hub.evaluation import evaluate_classifier, predict_logits, write_results  # noqa: E402
from mbert_tiny_hub.evaluation_data import (  # noqa: E402
    EvaluationError,
    align_labels,
    load_classifier,
    load_dataset_dict,
    model_task,
)
from mbert_tiny_hub.evaluation_tables import format_results, pareto_points, transfer_matrix  # noqa: E402
from mbert_tiny_hub.evaluation_cli import main  # noqa: E402
from mbert_tiny_hub.metrics import classification_report, predictions_from_logits  # noqa: E402
from mbert_tiny_hub.results import SCHEMA_VERSION, size_on_disk_mb  # noqa: E402
from mbert_tiny_hub.plots import pareto_front  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPORT_KEYS = {"num_examples", "accuracy", "macro_f1", "micro_f1", "weighted_f1", "macro_precision", "macro_recall",
               "per_class", "per_language", "confusion_matrix"}


@pytest.fixture(scope="module")
def single_label_results(single_label_data, trained_model, tokenizer, model_folder):
    folder, _, _ = single_label_data
    dataset = load_dataset_dict(str(folder), "all")
    return evaluate_classifier(
        trained_model, tokenizer, dataset["test"], baselines_train_split=dataset["train"],
        model_name_or_path=str(model_folder), dataset_name_or_path=str(folder), dataset_config="all", split_name="test",
        command="python evaluate.py --model m --dataset d",
    )


def test_results_follow_the_contributing_schema(single_label_results, single_label_data):
    results = single_label_results
    top = {"schema_version", "task", "created", "command", "model", "dataset", "results", "environment"}
    assert top <= set(results)
    assert results["schema_version"] == SCHEMA_VERSION and results["task"] == "text-classification"
    assert set(results["model"]) >= {"name_or_path", "class", "parameters", "size_on_disk_mb"}
    assert set(results["model"]["parameters"]) == {"total", "embeddings", "trainable"}
    assert 0 < results["model"]["parameters"]["embeddings"] < results["model"]["parameters"]["total"]
    assert results["dataset"] == {
        "name_or_path": str(single_label_data[0]), "config": "all", "split": "test", "num_examples": 60,
        "label_column": "label", "label_names": LABELS, "multi_label": False, "languages": ["eng", "ita", "spa"],
        "language_codes": {"eng": "eng", "ita": "ita", "spa": "spa"},  # the card maps none: kept as they are
    }
    assert set(results["results"]["baselines"]) == {"tfidf_logreg", "tfidf_svm", "majority"}
    for report in [results["results"]["model"], *results["results"]["baselines"].values()]:
        assert REPORT_KEYS <= set(report)
        assert set(report["per_language"]) == {"eng", "ita", "spa"}
        assert sum(sum(row) for row in report["confusion_matrix"]["matrix"]) == 60
    assert results["environment"]["evaluate"] == "0.4.6"  # the Hugging Face library, not this project's script
    json.dumps(results)  # plain JSON all the way down


def test_model_scores_are_the_metric_code_applied_to_its_own_predictions(
    single_label_results, trained_model, tokenizer, single_label_data
):
    _, _, test = single_label_data
    logits = predict_logits(trained_model, tokenizer, [row["text"] for row in test], batch_size=7)
    expected = classification_report(
        np.array([row["label"] for row in test]), predictions_from_logits(logits, False), LABELS,
        languages=[row["language"] for row in test],
    )
    report = single_label_results["results"]["model"]
    for key in ("accuracy", "macro_f1", "weighted_f1"):
        assert report[key] == pytest.approx(expected[key])
    assert report["per_class"] == expected["per_class"] and report["per_language"] == expected["per_language"]


def test_trained_model_and_tfidf_baselines_beat_the_majority_class(single_label_results):
    results = single_label_results["results"]
    majority = results["baselines"]["majority"]
    assert majority["accuracy"] == pytest.approx(max(s["support"] for s in majority["per_class"].values()) / 60)
    assert results["model"]["macro_f1"] > majority["macro_f1"] + 0.2
    assert results["baselines"]["tfidf_svm"]["macro_f1"] > majority["macro_f1"] + 0.2


def test_batching_and_length_sorting_do_not_change_predictions(trained_model, tokenizer, single_label_data):
    texts = [row["text"] for row in single_label_data[2]]
    one_by_one = predict_logits(trained_model, tokenizer, texts, batch_size=1)
    batched = predict_logits(trained_model, tokenizer, texts, batch_size=16)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_results_json_and_plots_are_written_into_the_output_folder(single_label_results, tmp_path):
    folder = tmp_path / "model-folder"
    folder.mkdir()
    (folder / "config.json").write_text("{}")  # train.py writes results next to the model: keep its files
    written = write_results(single_label_results, folder)
    assert set(written) == {"results.json", "confusion_matrix.png", "per_class_f1.png", "per_language_f1.png"}
    assert json.loads((folder / "results.json").read_text()) == single_label_results
    for name in written:
        if name.endswith(".png"):
            assert (folder / name).read_bytes()[:8] == PNG_MAGIC
    assert (folder / "config.json").read_text() == "{}"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model-folder"]  # no staging folder left behind


def test_a_failed_write_leaves_no_results_file_behind(tmp_path):
    with pytest.raises(TypeError):
        write_results({"task": "text-classification", "unserializable": object()}, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def test_printed_table_puts_the_model_next_to_every_baseline(single_label_results):
    table = format_results(single_label_results)
    for name in ("tiny-emotion", "tfidf_logreg", "tfidf_svm", "majority", "Macro F1 per language", "F1 per class"):
        assert name in table
    assert f"{single_label_results['results']['model']['macro_f1']:.4f}" in table


def test_multi_label_model_is_scored_with_sigmoid_threshold_and_per_label_matrices(tmp_path, tokenizer):
    train, test = make_rows(150, seed=3, multi_label=True), make_rows(45, seed=4, multi_label=True)
    folder = write_dataset_folder(tmp_path / "multi", {"train": train, "test": test}, multi_label=True)
    dataset = load_dataset_dict(str(folder), "all")
    model = train_classifier(train, tokenizer, multi_label=True, steps=80)
    results = evaluate_classifier(
        model, tokenizer, dataset["test"], baselines_train_split=dataset["train"], threshold=0.4
    )
    assert results["dataset"]["multi_label"] is True and results["dataset"]["label_column"] == "labels"
    report = results["results"]["model"]
    assert report["threshold"] == 0.4
    assert set(report["confusion_matrix"]["per_label"]) == set(LABELS)
    for label, counts in report["confusion_matrix"]["per_label"].items():
        assert sum(counts.values()) == 45 and counts["tp"] + counts["fn"] == report["per_class"][label]["support"]
    assert report["micro_f1"] > results["results"]["baselines"]["majority"]["micro_f1"]
    written = write_results(results, tmp_path / "out")
    assert (tmp_path / "out" / "confusion_matrix.png").read_bytes()[:8] == PNG_MAGIC and "results.json" in written


def test_same_label_names_in_another_order_are_realigned(
    trained_model, tokenizer, single_label_results, single_label_data
):
    import copy

    order = [2, 0, 1]  # the permuted model's output i is the original model's output order[i]
    permuted = copy.deepcopy(trained_model)
    with torch.no_grad():
        permuted.classifier.weight.copy_(trained_model.classifier.weight[order])
        permuted.classifier.bias.copy_(trained_model.classifier.bias[order])
    permuted.config.id2label = {i: LABELS[j] for i, j in enumerate(order)}
    permuted.config.label2id = {name: i for i, name in permuted.config.id2label.items()}
    dataset = load_dataset_dict(str(single_label_data[0]), "all")
    results = evaluate_classifier(permuted, tokenizer, dataset["test"], baselines=())
    assert results["results"]["model"]["per_class"] == single_label_results["results"]["model"]["per_class"]


def test_label_names_that_differ_from_the_datasets_are_an_error_listing_both(trained_model):
    with pytest.raises(EvaluationError) as error:
        align_labels(trained_model.config, ["joy", "anger", "fear"], False, "Model m")
    message = str(error.value)
    assert "['joy', 'anger', 'sadness']" in message and "['joy', 'anger', 'fear']" in message
    assert "only in the model: ['sadness']" in message and "only in the dataset: ['fear']" in message
    with pytest.raises(EvaluationError, match=r"model \(3\).*\n.*dataset \(2\)"):
        align_labels(trained_model.config, ["joy", "anger"], False, "Model m")
    with pytest.raises(EvaluationError, match="single-label classifier .* multi-label"):
        align_labels(trained_model.config, LABELS, True, "Model m")


def test_a_model_without_label_names_is_read_in_dataset_order_with_a_warning():
    from transformers import BertConfig

    with pytest.warns(UserWarning, match="no label names"):
        assert align_labels(BertConfig(num_labels=3), LABELS, False) is None


def test_bad_dataset_input_gives_clear_errors(trained_model, tokenizer, single_label_data, tmp_path):
    dataset = load_dataset_dict(str(single_label_data[0]), "all")
    with pytest.raises(EvaluationError, match="has no rows: nothing to evaluate"):
        evaluate_classifier(trained_model, tokenizer, dataset["test"].select([]), split_name="test")
    no_language = dataset["test"].remove_columns("language")
    with pytest.raises(EvaluationError, match="per-language report was asked for.*no 'language' column"):
        evaluate_classifier(trained_model, tokenizer, no_language, per_language=True)
    assert "per_language" not in evaluate_classifier(trained_model, tokenizer, no_language)["results"]["model"]
    with pytest.raises(EvaluationError, match="no label column 'polarization' .*--label-column"):
        evaluate_classifier(trained_model, tokenizer, dataset["test"], "polarization")
    with pytest.raises(EvaluationError, match="Column 'text' .* not ClassLabel"):
        evaluate_classifier(trained_model, tokenizer, dataset["test"], "text")
    with pytest.raises(EvaluationError, match="no text column 'body'"):
        evaluate_classifier(trained_model, tokenizer, dataset["test"], text_column="body")
    unlabelled = write_dataset_folder(tmp_path / "unlabelled", {"test": make_rows(5, seed=5)})
    split = load_dataset_dict(str(unlabelled), "all")["test"]
    split = split.map(lambda row, i: {"label": -1 if i == 3 else row["label"]}, with_indices=True)
    with pytest.raises(EvaluationError, match="row 3: column 'label' holds -1"):
        evaluate_classifier(trained_model, tokenizer, split)


@pytest.fixture(scope="module")
def transfer_results(single_label_data, tokenizer):
    folder, train, _ = single_label_data
    dataset = load_dataset_dict(str(folder), "all")
    model = train_classifier([row for row in train if row["language"] in ("eng", "spa")], tokenizer)
    return evaluate_classifier(
        model, tokenizer, dataset["test"], baselines_train_split=dataset["train"],
        train_languages=["eng", "spa"], test_languages=["eng", "ita"], model_name_or_path="tiny-eng-spa",
    )


def test_zero_shot_transfer_reports_each_test_language_for_the_model_and_the_baselines(transfer_results):
    transfer = transfer_results["transfer"]
    assert transfer["train_languages"] == ["eng", "spa"] and transfer["test_languages"] == ["eng", "ita"]
    assert transfer["zero_shot"] == ["ita"]
    assert set(transfer["macro_f1"]) == {"eng", "ita"}
    assert set(transfer["baselines"]) == {"tfidf_logreg", "tfidf_svm", "majority"}
    assert transfer_results["dataset"]["num_examples"] == 40
    assert transfer_results["dataset"]["languages"] == ["eng", "ita"]
    # Fitted on English and Spanish only, TF-IDF has never seen an Italian cue word: a real zero-shot gap.
    svm = transfer["baselines"]["tfidf_svm"]["macro_f1"]
    assert svm["eng"] > 0.9 and svm["ita"] < svm["eng"] - 0.3
    assert transfer["macro_f1"]["eng"] == transfer_results["results"]["model"]["per_language"]["eng"]["macro_f1"]


def test_transfer_matrix_has_a_row_per_training_set_and_a_column_per_test_language(
    transfer_results, single_label_results, tmp_path
):
    everything = dict(single_label_results, transfer={
        "train_languages": ["eng", "ita", "spa"], "test_languages": ["ita"], "zero_shot": [],
        "macro_f1": {"ita": 0.9}, "accuracy": {"ita": 0.9}, "baselines": {},
    })
    matrix = transfer_matrix([transfer_results, everything], include_baselines=False)
    assert matrix["rows"] == ["tiny-eng-spa (eng+spa)", "tiny-emotion (eng+ita+spa)"]
    assert matrix["columns"] == ["eng", "ita"]
    assert matrix["values"][1] == [None, 0.9]
    # The zero-shot mean covers the languages a row never saw labels for, and none when it saw them all.
    assert matrix["zero_shot_mean"] == [transfer_results["transfer"]["macro_f1"]["ita"], None]
    two_unseen = dict(single_label_results, transfer={
        "train_languages": ["eng"], "test_languages": ["deu", "eng", "ita"], "zero_shot": ["deu", "ita"],
        "macro_f1": {"deu": 0.5, "eng": 0.9, "ita": 0.8}, "accuracy": {}, "baselines": {},
    })
    assert transfer_matrix([two_unseen], include_baselines=False)["zero_shot_mean"] == [pytest.approx(0.65)]
    written = write_results(transfer_results, tmp_path)
    assert "transfer.png" in written and "per_language_f1.png" in written


def test_transfer_asks_for_languages_the_data_has(trained_model, tokenizer, single_label_data):
    dataset = load_dataset_dict(str(single_label_data[0]), "all")
    with pytest.raises(EvaluationError, match="no rows in language\\(s\\) fra; languages present: eng, ita, spa"):
        evaluate_classifier(trained_model, tokenizer, dataset["test"], test_languages=["fra"])
    with pytest.raises(EvaluationError, match="baselines' training split has no rows in language\\(s\\) deu"):
        evaluate_classifier(trained_model, tokenizer, dataset["test"], baselines_train_split=dataset["train"],
                            train_languages=["deu"], test_languages=["ita"])


def test_latency_rows_and_a_pareto_plot_come_with_the_evaluation(trained_model, tokenizer, single_label_data, tmp_path):
    dataset = load_dataset_dict(str(single_label_data[0]), "all")
    latency = {"runtimes": ["eager", "int8"], "batch_sizes": [1], "seq_lens": [16], "min_iterations": 2,
               "min_seconds": 0.0, "compare_to_mbert_base": False}
    results = evaluate_classifier(trained_model, tokenizer, dataset["test"], baselines_train_split=dataset["train"],
                                  baselines=["tfidf_svm", "majority"], latency=latency, model_name_or_path="tiny")
    rows = {(row["model"], row["runtime"]) for row in results["latency"]}
    assert rows == {("tiny", "eager"), ("tiny", "int8"), ("tfidf_svm", "scikit-learn"), ("majority", "scikit-learn")}
    assert all(0 < row["p50_ms"] <= row["p95_ms"] for row in results["latency"])
    points = pareto_points([results])  # at the longest length timed: 16
    # int8 changes the model's outputs, so only the unquantized runtime pairs with the measured accuracy.
    assert sorted(point["name"] for point in points) == ["majority", "tfidf_svm", "tiny (eager)"]
    assert "pareto.png" in write_results(results, tmp_path)


def test_pareto_front_keeps_points_no_other_point_beats_on_both_axes():
    points = [
        {"name": "a", "latency_ms": 1.0, "score": 0.5},
        {"name": "b", "latency_ms": 2.0, "score": 0.4},  # slower and worse than a
        {"name": "c", "latency_ms": 5.0, "score": 0.8},
        {"name": "d", "latency_ms": 9.0, "score": 0.8},  # as good as c, slower
        {"name": "e", "latency_ms": 20.0, "score": 0.9},
    ]
    assert [point["name"] for point in pareto_front(points)] == ["a", "c", "e"]


def test_checkpoints_load_with_and_without_remote_code_and_predict_alike(
    model_folder, trained_model, tokenizer, single_label_data, tmp_path
):
    from modeling.mbert_tiny import remote_code

    texts = [row["text"] for row in single_label_data[2][:10]]
    with remote_code(trained_model):  # the opt-in route: the same weights with the project's code and auto_map
        trained_model.save_pretrained(tmp_path / "with-code")
    tokenizer.save_pretrained(tmp_path / "with-code")
    stock, stock_tokenizer = load_classifier(str(model_folder))
    remote, remote_tokenizer = load_classifier(str(tmp_path / "with-code"), trust_remote_code=True)
    assert type(stock).__name__ == "BertForSequenceClassification"
    assert type(remote).__name__ == "MBertTinyForSequenceClassification"
    np.testing.assert_allclose(
        predict_logits(stock, stock_tokenizer, texts), predict_logits(remote, remote_tokenizer, texts), atol=1e-5
    )
    size = sum(path.stat().st_size for path in model_folder.glob("*.safetensors")) / 1e6
    assert size_on_disk_mb(stock, str(model_folder)) == pytest.approx(size, abs=1e-3)
    assert size_on_disk_mb(stock) == pytest.approx(size, rel=0.05)  # in memory: the tensors' bytes


def test_lora_adapter_folders_load_through_peft_and_count_the_adapter_as_trainable(
    model_folder, tokenizer, tmp_path, single_label_data
):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    base = AutoModelForSequenceClassification.from_pretrained(str(model_folder))
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], modules_to_save=["classifier"])
    lora = get_peft_model(base, config)
    with torch.no_grad():  # a trained adapter is not the identity: move its B matrices off zero
        for name, parameter in lora.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    adapter = tmp_path / "adapter"
    lora.save_pretrained(adapter)
    tokenizer.save_pretrained(adapter)
    model, loaded_tokenizer = load_classifier(str(adapter))
    assert type(model).__name__ == "PeftModelForSequenceClassification"
    dataset = load_dataset_dict(str(single_label_data[0]), "all")
    results = evaluate_classifier(
        model, loaded_tokenizer, dataset["test"], baselines=(), model_name_or_path=str(adapter)
    )
    summary = results["model"]
    assert summary["adapter"] == {"peft_type": "LORA", "base_model_name_or_path": str(model_folder)}
    assert 0 < summary["parameters"]["trainable"] < summary["parameters"]["total"]
    texts = [row["text"] for row in single_label_data[2][:8]]
    np.testing.assert_allclose(
        predict_logits(model, loaded_tokenizer, texts), predict_logits(lora.eval(), tokenizer, texts), atol=1e-5
    )


def test_model_task_reads_the_model_type_of_the_checkpoint(tmp_path, model_folder):
    bert4rec = tmp_path / "bert4rec"
    bert4rec.mkdir()
    (bert4rec / "config.json").write_text(json.dumps({"model_type": "bert4rec", "vocab_size": 10}))
    assert model_task(str(bert4rec)) == "sequential-recommendation"
    assert model_task(str(model_folder)) == "text-classification"


def test_bert4rec_checkpoints_are_evaluated_by_the_recommender_code(tmp_path, capsys):
    from mbert_tiny_hub import recsys
    from datasets import Dataset, DatasetDict, Features, Sequence, Value

    rng = random.Random(0)
    histories = [[rng.randint(1, 30) for _ in range(rng.randint(3, 8))] for _ in range(24)]
    types = {"user_id": Value("int64"), "item_ids": Sequence(Value("int64")), "targets": Sequence(Value("int64"))}
    splits = {
        "train": {"user_id": list(range(24)), "item_ids": histories, "targets": [[] for _ in histories]},
        "test": {
            "user_id": list(range(24)), "item_ids": histories, "targets": [[rng.randint(1, 30)] for _ in histories]
        },
    }
    dataset = DatasetDict({name: Dataset.from_dict(data, features=Features(types)) for name, data in splits.items()})
    data_folder = tmp_path / "movies"
    card = ["---", "configs:", "- config_name: sequences", "  data_files:"]
    for name, split in dataset.items():
        (data_folder / "sequences").mkdir(parents=True, exist_ok=True)
        split.to_parquet(str(data_folder / "sequences" / f"{name}-00000-of-00001.parquet"))
        card += [f"  - split: {name}", f"    path: sequences/{name}-00000-of-00001.parquet"]
    (data_folder / "README.md").write_text("\n".join(card + ["---", ""]))
    vocabulary = recsys.build_item_vocabulary(dataset)
    options = recsys.RecommenderConfig(preset="S", config={"max_position_embeddings": 16})
    recsys.build_recommender(vocabulary, options).save_pretrained(tmp_path / "bert4rec")
    assert model_task(str(tmp_path / "bert4rec")) == "sequential-recommendation"

    out = tmp_path / "out"
    assert main(["--model", str(tmp_path / "bert4rec"), "--dataset", str(data_folder), "--output-dir", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["task"] == "sequential-recommendation"
    assert {"full", "sampled_uniform", "sampled_popularity"} <= set(results["results"]["model"])
    assert "Recall@10" in capsys.readouterr().out

    # Options that apply to text classifiers only are refused, never silently ignored; `--baselines none` is honoured.
    recommender = ["--model", str(tmp_path / "bert4rec"), "--dataset", str(data_folder), "--output-dir"]
    assert main(recommender + [str(tmp_path / "latency"), "--latency"]) == 2
    assert "--latency times text classifiers" in capsys.readouterr().err
    assert main(recommender + [str(tmp_path / "tfidf"), "--baselines", "tfidf_svm"]) == 2
    assert "most_popular and item_cooccurrence" in capsys.readouterr().err
    assert not (tmp_path / "latency").exists() and not (tmp_path / "tfidf").exists()
    assert main(recommender + [str(tmp_path / "none"), "--baselines", "none"]) == 0
    assert json.loads((tmp_path / "none" / "results.json").read_text())["results"]["baselines"] == {}


def test_command_line_errors_name_the_problem_and_write_nothing(model_folder, single_label_data, tmp_path, capsys):
    folder = single_label_data[0]
    out = tmp_path / "out"
    common = ["--model", str(model_folder), "--dataset", str(folder), "--config", "all", "--output-dir", str(out)]
    assert main(common + ["--split", "dev"]) == 2
    assert "has no split 'dev' (splits: train, validation, test)" in capsys.readouterr().err
    assert main(common + ["--per-language", "--language-column", "lang"]) == 2
    assert "no 'lang' column" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_status:  # argparse rejects it before anything loads
        main(common + ["--baselines", "bm25"])
    assert exit_status.value.code == 2 and "unknown 'bm25': choose from tfidf_logreg" in capsys.readouterr().err
    other = write_dataset_folder(tmp_path / "other", {"train": make_rows(6, 0), "test": make_rows(6, 1)},
                                 label_names=["joy", "anger", "fear"])
    assert main(["--model", str(model_folder), "--dataset", str(other), "--config", "all",
                 "--output-dir", str(out)]) == 2
    error = capsys.readouterr().err
    assert "do not match the dataset's" in error and "'sadness'" in error and "'fear'" in error
    assert not out.exists()


def test_several_models_share_one_baseline_fit_one_mbert_base_timing_and_a_pareto_plot(
    model_folder, single_label_data, tmp_path, tokenizer, capsys
):
    second = tmp_path / "tiny-emotion-2"
    train_classifier(single_label_data[1], tokenizer, steps=20, seed=1).save_pretrained(second)
    tokenizer.save_pretrained(second)
    out = tmp_path / "out"
    status = main(["--model", str(model_folder), str(second), "--dataset", str(single_label_data[0]), "--config", "all",
                   "--baselines", "tfidf_svm", "--output-dir", str(out), "--latency", "--runtimes", "eager",
                   "--latency-batch-sizes", "1", "--latency-seq-lens", "16", "--latency-iterations", "3",
                   "--threads", "1"])
    assert status == 0
    first, other = (json.loads((out / n / "results.json").read_text()) for n in ("tiny-emotion", "tiny-emotion-2"))
    assert first["results"]["baselines"] == other["results"]["baselines"]
    assert first["command"].startswith("python evaluate.py --model ")
    # mBERT-base is timed once, in the same run, and both models get their ratio to it.
    base_rows = [row for row in first["latency"] if row["model"] == "mbert-base-shape"]
    assert len(base_rows) == 1 and base_rows == [row for row in other["latency"] if row["model"] == "mbert-base-shape"]
    for results, name in ((first, "tiny-emotion"), (other, "tiny-emotion-2")):
        (row,) = [row for row in results["latency"] if row["model"] == name]
        assert row["threads"] == 1
        assert row["ratio_to_mbert_base"] == pytest.approx(base_rows[0]["p50_ms"] / row["p50_ms"], rel=1e-2)
    assert (out / "pareto.png").read_bytes()[:8] == PNG_MAGIC
    comparison = json.loads((out / "comparison.json").read_text())
    assert {point["model"] for point in comparison["pareto"]} == {"tiny-emotion", "tiny-emotion-2", "tfidf_svm"}
    printed = capsys.readouterr().out
    assert "tiny-emotion-2" in printed and "### Latency" in printed


def test_evaluate_reads_the_saved_threshold_or_tunes_one_on_another_split(tmp_path, tokenizer, capsys):
    train, validation = make_rows(150, seed=3, multi_label=True), make_rows(45, seed=5, multi_label=True)
    test = make_rows(45, seed=4, multi_label=True)
    folder = write_dataset_folder(tmp_path / "multi", {"train": train, "validation": validation, "test": test},
                                  multi_label=True)
    model = train_classifier(train, tokenizer, multi_label=True, steps=40)
    model.config.multi_label_threshold = 0.35
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    common = ["--model", str(tmp_path / "model"), "--dataset", str(folder), "--config", "all", "--baselines", "none"]
    assert main(common + ["--output-dir", str(tmp_path / "saved")]) == 0
    assert json.loads((tmp_path / "saved" / "results.json").read_text())["results"]["model"]["threshold"] == 0.35
    assert main(common + ["--tune-threshold-on", "validation", "--output-dir", str(tmp_path / "tuned")]) == 0
    printed = capsys.readouterr().out
    tuned = json.loads((tmp_path / "tuned" / "results.json").read_text())["results"]["model"]["threshold"]
    assert f"threshold {tuned:.2f} chosen on validation" in printed
    assert main(common + ["--tune-threshold-on", "test"]) == 2  # never tuned on the split it reports
    assert "the split being scored" in capsys.readouterr().err


def test_compare_combines_earlier_results_into_a_transfer_matrix(transfer_results, tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(transfer_results))
    assert main(["--compare", str(path), "--output-dir", str(tmp_path / "comparison")]) == 0
    comparison = json.loads((tmp_path / "comparison" / "comparison.json").read_text())
    assert comparison["transfer_matrix"]["columns"] == ["eng", "ita"]
    assert (tmp_path / "comparison" / "transfer_matrix.png").read_bytes()[:8] == PNG_MAGIC
    printed = capsys.readouterr().out
    assert "Cross-lingual transfer" in printed and "### Macro F1 per language" in printed  # the run's own report
    assert "| trained on | eng | ita | zero-shot mean |" in printed
    ita = transfer_results["transfer"]["macro_f1"]["ita"]
    assert f"| tiny-eng-spa (eng+spa) | {transfer_results['transfer']['macro_f1']['eng']:.4f} | {ita:.4f} | {ita:.4f} |" in printed
    # results.json files written before the transfer block carried its baselines still compare (polar_transfer_e5_tiny6).
    older = json.loads(json.dumps(transfer_results))
    del older["transfer"]["baselines"]
    path.write_text(json.dumps(older))
    assert main(["--compare", str(path), "--output-dir", str(tmp_path / "older")]) == 0
    assert f"| tiny-eng-spa (eng+spa) | {transfer_results['transfer']['macro_f1']['eng']:.4f} | {ita:.4f} | {ita:.4f} |" in capsys.readouterr().out
    (tmp_path / "broken.json").write_text("{")
    assert main(["--compare", str(tmp_path / "broken.json")]) == 2
