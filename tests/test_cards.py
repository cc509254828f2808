"""Model cards come from the results JSON: metadata and model-index through huggingface_hub, numbers never typed by
hand, absent sections left out."""

import copy
import json
import re

import pytest
import yaml
from huggingface_hub import ModelCard

from hub_fixtures import LANGUAGES, classification_results
from mbert_tiny_hub.card_validation import card_metadata_problems
from mbert_tiny_hub.cards import build_model_card, started_from_scratch, write_model_card

MODEL_CONFIG = {
    "architectures": ["MBertTinyForSequenceClassification"],
    "model_type": "bert",
    "preset": "tiny4",
    "num_hidden_layers": 4,
    "hidden_size": 256,
    "num_attention_heads": 4,
    "intermediate_size": 1024,
    "vocab_size": 40000,
    "max_position_embeddings": 512,
    "auto_map": {"AutoModel": "mbert_tiny.MBertTinyModel"},
}
SCRATCH_CONFIG = {"task": "classification", "model": {"preset": "tiny4"}, "training": {"learning_rate": 0.001}}


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "mbert-tiny4-emotions"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(MODEL_CONFIG))
    return folder


def card_text(folder, results, train_config=None, **kwargs) -> str:
    return str(build_model_card(folder, results, train_config, repo_id="org/mbert-tiny4-emotions", **kwargs))


def test_model_index_parses_and_holds_the_results_json_numbers(model_dir):
    results = classification_results()
    path = write_model_card(model_dir, results, SCRATCH_CONFIG, repo_id="org/mbert-tiny4-emotions")
    data = ModelCard.load(path).data
    by_name = {r.metric_name: r for r in data.eval_results}
    model = results["results"]["model"]

    assert by_name["Macro F1"].metric_value == model["macro_f1"]
    assert by_name["Accuracy"].metric_value == model["accuracy"]
    assert by_name["Weighted F1"].metric_value == model["weighted_f1"]
    for language in LANGUAGES:
        assert by_name[f"Macro F1 ({language})"].metric_value == model["per_language"][language]["macro_f1"]
    assert {(r.task_type, r.dataset_type, r.dataset_split) for r in data.eval_results} == {
        ("text-classification", "org/emotions", "test")
    }
    assert data.model_name == "mbert-tiny4-emotions"


def test_metadata_carries_library_pipeline_languages_license_datasets_and_tags(model_dir):
    path = write_model_card(model_dir, classification_results(), SCRATCH_CONFIG, repo_id="org/mbert-tiny4-emotions")
    data = ModelCard.load(path).data
    assert data.library_name == "transformers"
    assert data.pipeline_tag == "text-classification"
    assert data.language == ["de", "en", "es"]  # ISO 639-1, from the results' deu / eng / spa
    assert data.license == "apache-2.0"
    assert data.datasets == ["org/emotions"]
    assert {"mbert-tiny", "multilingual", "mbert-tiny4"} <= set(data.tags)
    assert data.get("base_model") is None  # started from scratch: no base model to name


def test_body_numbers_follow_the_results_json(model_dir):
    results = classification_results()
    results["results"]["model"]["macro_f1"] = 0.4321
    results["results"]["baselines"]["tfidf_logreg"]["macro_f1"] = 0.3987
    results["results"]["model"]["per_language"]["spa"]["macro_f1"] = 0.2468
    results["latency"][0]["p50_ms"] = 7.891
    text = card_text(model_dir, results, SCRATCH_CONFIG)

    assert "| Macro F1 | 0.4321 | 0.3987 |" in text
    assert "| spa (30 examples) | 0.2468 |" in text
    assert "| 7.89 |" in text
    assert "123,457" in text  # parameters.total
    assert 'pipeline("text-classification", model="org/mbert-tiny4-emotions"' in text


def test_absent_sections_are_left_out_and_never_rendered_as_none(model_dir):
    results = classification_results(with_latency=False)
    del results["results"]["baselines"], results["environment"], results["command"]
    for key in ("per_language", "per_class"):
        del results["results"]["model"][key]
    results["model"]["size_on_disk_mb"] = None
    text = card_text(model_dir, results)

    assert "## Latency" not in text and "Per language" not in text and "Per class" not in text
    assert "Reproduce the numbers" not in text and "size on disk" not in text
    assert "None" not in text.replace("top_k=None", "") and not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert "| Macro F1 | 0.6173 |" in text


def test_from_scratch_models_say_no_pretrained_multilingual_weights_were_used(model_dir):
    text = card_text(model_dir, classification_results(), SCRATCH_CONFIG)
    assert "No pretrained multilingual weights were used" in text


def test_derived_models_name_their_teacher_instead(model_dir):
    config = dict(MODEL_CONFIG, teacher_name_or_path="google-bert/bert-base-multilingual-cased", teacher_layers=[3, 7])
    (model_dir / "config.json").write_text(json.dumps(config))
    train_config = {"model": {"preset": "tiny4", "derive_from": "google-bert/bert-base-multilingual-cased"}}
    card = build_model_card(model_dir, classification_results(), train_config)

    assert "No pretrained multilingual weights" not in str(card)
    assert "`google-bert/bert-base-multilingual-cased` (its layers 3, 7)" in str(card)
    assert card.data.base_model == "google-bert/bert-base-multilingual-cased"


@pytest.mark.parametrize(
    "train_config, expected",
    [
        ({"model": {"preset": "tiny2"}}, True),
        ({"model": {"preset": "tiny2", "derive_from": "bert-base-multilingual-cased"}}, False),
        ({"model": {"name_or_path": "org/mbert-tiny4"}}, False),
        ({"model": {"init": "random"}}, True),
        ({"from_scratch": True}, True),
        (None, False),
    ],
)
def test_started_from_scratch_reads_the_train_config(train_config, expected):
    assert started_from_scratch(train_config) is expected


def test_a_card_without_results_says_so_and_has_no_model_index(model_dir):
    card = build_model_card(model_dir, None, SCRATCH_CONFIG, repo_id="org/m")
    assert "No evaluation results were recorded" in str(card)
    assert "model-index" not in str(card) and card.data.get("eval_results") is None


def test_files_in_the_output_folder_are_read_when_not_passed(model_dir):
    (model_dir / "results.json").write_text(json.dumps(classification_results()))
    (model_dir / "train_config.yaml").write_text(yaml.safe_dump(SCRATCH_CONFIG))
    (model_dir / "training_args.json").write_text(json.dumps({"learning_rate": 0.00071, "num_train_epochs": 7}))
    text = write_model_card(model_dir).read_text()
    assert "| learning_rate | 0.00071 |" in text and "| num_train_epochs | 7 |" in text
    assert "No pretrained multilingual weights were used" in text


def test_adapter_cards_name_the_base_model_and_the_lora_settings(tmp_path):
    folder = tmp_path / "tiny4-lora"
    folder.mkdir()
    adapter = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["value", "query"],
               "task_type": "SEQ_CLS", "base_model_name_or_path": "org/mbert-tiny4"}
    (folder / "adapter_config.json").write_text(json.dumps(adapter))
    results = classification_results()
    results["model"]["parameters"]["trainable"] = 2051
    card = build_model_card(folder, results, repo_id="org/tiny4-lora")

    assert card.data.base_model == "org/mbert-tiny4"
    assert card.data.library_name == "peft"
    assert 'AutoPeftModelForSequenceClassification.from_pretrained(\n    "org/tiny4-lora",' in str(card)
    assert "id2label=dict(enumerate(labels))" in str(card)  # the head's labels travel with the snippet
    assert "| target_modules | query, value |" in str(card) and "| r | 8 |" in str(card)
    assert "| trainable parameters | 2,051 |" in str(card)
    assert card_metadata_problems(card) == []


def test_recommender_cards_report_every_protocol_and_the_baselines(tmp_path):
    def ranking(scale):
        return {protocol: {"recall@10": 0.1 * scale + i / 100, "ndcg@10": 0.05 * scale, "mrr": 0.04 * scale}
                for i, protocol in enumerate(("full", "sampled_uniform", "sampled_popularity"))}

    results = {
        "task": "sequential-recommendation",
        "dataset": {"name_or_path": "org/ml-1m", "config": "sequences", "split": "test", "protocol": "leave_one_out"},
        "model": {"parameters": {"total": 1_234_567, "embeddings": 240_000, "trainable": 1_234_567}},
        "results": {"model": ranking(1.5), "baselines": {"most_popular": ranking(0.5)}},
        "evaluation": {"num_negatives": 100},
    }
    folder = tmp_path / "bert4rec"
    folder.mkdir()
    card = build_model_card(folder, results, {"task": "bert4rec"}, repo_id="org/bert4rec-ml1m")
    by_name = {r.metric_name: r.metric_value for r in card.data.eval_results}

    model = results["results"]["model"]
    assert by_name["Recall@10 (full ranking)"] == model["full"]["recall@10"]
    assert by_name["MRR (sampled, popularity negatives)"] == model["sampled_popularity"]["mrr"]
    assert "| Recall@10 | 0.1500 | 0.1600 | 0.1700 |" in str(card)
    assert "| NDCG@10 | 0.0750 | 0.0250 |" in str(card)  # model next to the most-popular baseline
    assert "| metric | full ranking | 100 sampled uniform negatives | 100 sampled popularity negatives |" in str(card)
    assert 'trust_remote_code=True' in str(card) and card.data.get("pipeline_tag") == "other"
    assert card_metadata_problems(card) == []


def test_a_template_that_prints_none_fails_instead_of_publishing_it(model_dir, tmp_path):
    template = tmp_path / "bad.md"
    template.write_text("---\n{{ card_data }}\n---\nSize: {{ size_on_disk_mb }}\n")
    results = copy.deepcopy(classification_results())
    results["model"]["size_on_disk_mb"] = None
    with pytest.raises(ValueError, match="printed None"):
        build_model_card(model_dir, results, template=template)


def test_results_without_a_model_report_are_refused_with_the_schema_named(model_dir):
    with pytest.raises(ValueError, match="CONTRIBUTING.md"):
        build_model_card(model_dir, {"task": "text-classification", "dataset": {}, "results": {}})


def test_a_token_in_the_train_config_never_reaches_the_card(model_dir):
    train_config = {**SCRATCH_CONFIG, "training": {"hub_token": "hf_secretValue123", "learning_rate": 0.001}}
    text = card_text(model_dir, classification_results(), train_config)
    assert "hf_secretValue123" not in text and "hub_token: <redacted>" in text


def test_pointing_a_hand_written_card_at_a_hub_base_replaces_the_local_path(tmp_path):
    from mbert_tiny_hub.cards import set_card_base_model

    card = tmp_path / "README.md"
    card.write_text("---\ntags:\n- base_model:adapter:/tmp/run/base\n---\nTrained on /tmp/run/base.\n")
    set_card_base_model(card, "org/mbert-tiny4", replace="/tmp/run/base")
    loaded = ModelCard.load(card)
    assert loaded.data.base_model == "org/mbert-tiny4" and "/tmp/run/base" not in str(loaded)


def test_pretrained_masked_lm_gets_a_fill_mask_card_with_its_perplexity(tmp_path):
    from modeling import MBertTinyConfig, MBertTinyForMaskedLM

    MBertTinyForMaskedLM(MBertTinyConfig.from_preset("tiny2", vocab_size=300)).save_pretrained(tmp_path)
    results = {
        "schema_version": 1, "task": "fill-mask",
        "model": {"name_or_path": "org/mbert-tiny2-mlm", "parameters": {"total": 10, "embeddings": 5, "trainable": 10},
                  "size_on_disk_mb": 1.5},
        "dataset": {"corpus": [{"dataset": "data/brighter", "config_name": "all"}, {"path": "raw/*.txt"}],
                    "num_texts": 1234, "train_blocks": 90, "held_out_blocks": 10, "block_size": 128},
        "results": {"model": {"eval_loss": 6.5, "perplexity": 665.14, "first_eval_loss": 10.6}},
    }
    write_model_card(tmp_path, results, {"task": "mlm", "model": {"preset": "tiny2"}}, repo_id="org/mbert-tiny2-mlm")
    text = (tmp_path / "README.md").read_text()
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.pipeline_tag == "fill-mask"
    assert [(e.metric_type, e.metric_value) for e in card.data.eval_results] == [("perplexity", 665.14)]
    assert "1,234 texts" in text and "10.6000" in text and "665.1" in text
    assert 'pipeline("fill-mask", model="org/mbert-tiny2-mlm")' in text
    assert "no pretrained multilingual weights were used" in text
    assert card_metadata_problems(card) == []
    assert "None" not in text


def test_source_language_codes_become_the_hubs_codes_through_results_json(model_dir, tmp_path):
    """BRIGHTER's language column keeps the organisers' codes (esp, chn, ptbr); the Hub wants ISO 639 codes. The
    mapping is read from the dataset card once, into results.json; the card generator never reads the dataset card."""
    import shutil

    from mbert_tiny_hub.hub_checks import dataset_card_facts

    data_dir = tmp_path / "brighter-like"
    data_dir.mkdir()
    (data_dir / "README.md").write_text(
        "---\nlanguage:\n- es\n- zh\n- pt\ndata_scripts:\n  language_codes:\n    esp: es\n    chn: zh\n"
        "    ptbr: pt\n    ptmz: pt\n---\n# BRIGHTER-like\n"
    )
    languages = ["chn", "deu", "esp", "ptbr", "ptmz"]
    results = classification_results()
    results["dataset"].update(name_or_path=str(data_dir), languages=languages)
    results["dataset"].update(dataset_card_facts(data_dir, languages))
    assert results["dataset"]["language_codes"] == {"chn": "zh", "deu": "deu", "esp": "es", "ptbr": "pt", "ptmz": "pt"}
    shutil.rmtree(data_dir)  # a card pushed from elsewhere: the dataset's folder is not there any more
    card = ModelCard(card_text(model_dir, results, SCRATCH_CONFIG))
    assert card.data.language == ["zh", "de", "es", "pt"]


# ----- metadata completeness and the Hub's rules ---------------------------------------------------------------


def test_every_generated_card_passes_the_hubs_metadata_checks(model_dir, tmp_path):
    from mbert_tiny_hub.card_validation import card_metadata_problems

    classifier = write_model_card(model_dir, classification_results(), SCRATCH_CONFIG, repo_id="org/x")
    assert card_metadata_problems(classifier) == []
    data = ModelCard.load(classifier).data
    assert data.language == ["de", "en", "es"] and data.datasets == ["org/emotions"]
    assert {r.dataset_type for r in data.eval_results} == {"org/emotions"}


@pytest.mark.parametrize(
    "metadata, problem",
    [
        ({"language": ["eng"]}, "write 'en'"),
        ({"language": ["xx-klingon"]}, "not an ISO 639 code"),
        ({"license": "apache2"}, "not a Hub licence identifier"),
        ({"license": "other"}, "needs license_name"),
        ({"pipeline_tag": "sequential-recommendation"}, "not a Hub task"),
        ({"datasets": ["/data/brighter"]}, "local path"),
        ({"base_model": "../teacher"}, "local path"),
        ({"widget": ["just a string"]}, "widget must be a list"),
        ({"model-index": [{"results": "nope"}]}, "does not parse"),
    ],
)
def test_metadata_the_hub_would_reject_is_named(metadata, problem):
    from mbert_tiny_hub.card_validation import card_metadata_problems

    base = {"language": ["en"], "license": "apache-2.0", "library_name": "transformers"}
    card = f"---\n{yaml.safe_dump({**base, **metadata})}---\n# card\n"
    problems = card_metadata_problems(card)
    assert any(problem in entry for entry in problems), problems


def test_a_card_with_invalid_metadata_is_never_written(model_dir):
    from mbert_tiny_hub.card_validation import CardValidationError

    with pytest.raises(CardValidationError, match="not a Hub licence identifier"):
        write_model_card(model_dir, classification_results(), SCRATCH_CONFIG, repo_id="org/x", license="apache2")
    assert not (model_dir / "README.md").exists()


def test_the_hub_section_sets_datasets_language_license_tags_and_base_model(model_dir):
    from mbert_tiny_hub.config import config_from_dict

    hub = {"datasets": ["org/brighter"], "language": ["eng", "am"], "license": "cc-by-4.0", "tags": ["emotion"],
           "base_model": "google-bert/bert-base-multilingual-cased"}
    config = config_from_dict({"task": "classification", "hub": hub})
    train_config = {**SCRATCH_CONFIG, "hub": config.to_dict()["hub"]}
    card = build_model_card(model_dir, classification_results(), train_config, repo_id="org/x")
    assert card.data.datasets == ["org/brighter"] and card.data.language == ["en", "am"]
    assert card.data.license == "cc-by-4.0" and "emotion" in card.data.tags
    assert card.data.base_model == "google-bert/bert-base-multilingual-cased"
    assert {r.dataset_type for r in card.data.eval_results} == {"org/brighter"}


def test_widget_has_one_test_split_example_per_language_and_the_plots_are_embedded(model_dir, tmp_path):
    from datasets import load_dataset

    from test_training_support import make_classification_dataset

    from mbert_tiny_hub.hub_checks import dataset_card_facts

    data_dir = make_classification_dataset(tmp_path / "emotions")
    results = classification_results(name_or_path=str(data_dir))
    results["dataset"].update(config="all", split="test", languages=["eng", "spa"])
    results["dataset"].update(dataset_card_facts(data_dir, ["eng", "spa"]))  # as evaluate.py writes it
    (model_dir / "per_class_f1.png").write_bytes(b"\x89PNG\r\n")
    (model_dir / "confusion_matrix.png").write_bytes(b"\x89PNG\r\n")
    card = build_model_card(model_dir, results, SCRATCH_CONFIG, repo_id="org/x")

    test_split = load_dataset(str(data_dir), "all", split="test")
    first = {}
    for row in test_split:
        first.setdefault(row["language"], row["text"])
    assert card.data.widget == [
        {"text": first["eng"], "example_title": "en"},
        {"text": first["spa"], "example_title": "es"},
    ]
    assert "![F1 per class, this model next to the baselines](per_class_f1.png)" in str(card)
    assert "(confusion_matrix.png)" in str(card) and "(transfer.png)" not in str(card)
    # The model-index names the dataset, never the folder's path on this machine.
    assert {r.dataset_type for r in card.data.eval_results} == {"emotions"}
    assert str(tmp_path) not in yaml.safe_dump(card.data.to_dict())


def test_texts_of_a_dataset_that_may_not_be_redistributed_never_become_widget_examples(model_dir, tmp_path):
    from mbert_tiny_hub.hub_checks import dataset_card_facts
    from test_training_support import make_classification_dataset

    data_dir = make_classification_dataset(tmp_path / "private-data")
    readme = data_dir / "README.md"
    text = readme.read_text()
    readme.write_text(text.replace("---\n", "---\nredistributable: false\n", 1))
    results = classification_results(name_or_path=str(data_dir))
    results["dataset"].update(config="all", split="test")
    results["dataset"].update(dataset_card_facts(data_dir, ["eng", "spa"]))  # as evaluate.py writes it
    assert results["dataset"]["redistributable"] is False
    assert build_model_card(model_dir, results, SCRATCH_CONFIG, repo_id="org/x").data.get("widget") is None


def test_a_bare_dataset_name_is_not_taken_for_a_local_path_wherever_the_check_runs(tmp_path, monkeypatch):
    """Cards name a local dataset by its folder name ("data"); the check must not depend on the working directory,
    while "data/polar" that is a folder here is still a local path."""
    from mbert_tiny_hub.card_validation import card_metadata_problems

    (tmp_path / "data" / "polar").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert card_metadata_problems(ModelCard("---\nlicense: mit\ndatasets:\n- data\n---\n")) == []
    problems = card_metadata_problems(ModelCard("---\nlicense: mit\ndatasets:\n- data/polar\n---\n"))
    assert any("local path" in problem for problem in problems), problems
