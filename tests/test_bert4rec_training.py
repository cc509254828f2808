"""BERT4Rec training and evaluation on small synthetic sequences: memorisation, baselines, results JSON, errors."""

import json
import random

import numpy as np
import pytest
import torch
from datasets import Dataset, DatasetDict, Features, Sequence, Value, load_dataset

from mbert_tiny_hub.config import RecommenderConfig
from mbert_tiny_hub.results import SCHEMA_VERSION, environment_summary, weights_size_mb
from mbert_tiny_hub.recsys import build_bert4rec_trainer, train_bert4rec
from mbert_tiny_hub.recsys_baselines import ItemCooccurrence, MostPopular
from mbert_tiny_hub.recsys_data import build_item_vocabulary, cooccurrence_item_embeddings, encode_titles, hold_out_items, item_texts
from mbert_tiny_hub.recsys_results import evaluate_recommender, format_comparison_table, format_results_table
from modeling.bert4rec import Bert4RecForSequentialRecommendation

FEATURES = Features(
    {"user_id": Value("int64"), "item_ids": Sequence(Value("int64")), "targets": Sequence(Value("int64"))}
)
TINY_MODEL = {
    "preset": None,
    "config": {
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 16,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "mask_probability": 0.3,
    },
}


def leave_one_out(sequences: list[list[int]], last_k: int = 1) -> DatasetDict:
    """The data contract: train = all but the last k + 1 items; validation and test hold out the next ones."""
    users = list(range(1, len(sequences) + 1))
    rows = {
        "train": ([s[: -last_k - 1] for s in sequences], [[] for _ in sequences]),
        "validation": ([s[: -last_k - 1] for s in sequences], [[s[-last_k - 1]] for s in sequences]),
        "test": ([s[:-last_k] for s in sequences], [s[-last_k:] for s in sequences]),
    }
    return DatasetDict(
        {
            split: Dataset.from_dict({"user_id": users, "item_ids": items, "targets": targets}, features=FEATURES)
            for split, (items, targets) in rows.items()
        }
    )


def successor_sequences(num_items: int = 30, num_users: int = 48, length: int = 14) -> list[list[int]]:
    """User u reads items start, start + 1, ... (ids 1000 + i, wrapping around): the next item is always
    the successor of the last one, a pattern a tiny model can learn completely."""
    return [[1000 + (u + step) % num_items for step in range(length)] for u in range(num_users)]


def items_table(item_ids, genres=None) -> Dataset:
    return Dataset.from_dict(
        {
            "item_id": list(item_ids),
            "title": [f"Item {item}" for item in item_ids],
            "genres": genres if genres is not None else [["Drama"] for _ in item_ids],
        }
    )


def training_args(output_dir, epochs: int = 60, **overrides) -> dict:
    return {
        "output_dir": str(output_dir),
        "num_train_epochs": epochs,
        "per_device_train_batch_size": 8,
        "learning_rate": 5e-3,
        "warmup_steps": 0,
        "logging_steps": 1000,
        "save_total_limit": 1,
        "disable_tqdm": True,
        "seed": 7,
        **overrides,
    }


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: thread start-up and barriers cost more than they save (20x slower on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_thread):
    output_dir = tmp_path_factory.mktemp("bert4rec-run")
    dataset = leave_one_out(successor_sequences())
    items = items_table(sorted({i for s in successor_sequences() for i in s}))
    model, results = train_bert4rec(
        dataset,
        training_args(output_dir, epochs=50, save_strategy="best"),
        items,
        TINY_MODEL,
        early_stopping_patience=None,
        command="pytest",
    )
    return dataset, model, results, output_dir


def test_a_model_that_learns_a_tiny_dataset_reaches_recall_at_10_of_one(trained):
    dataset, model, results, _ = trained
    full = results["results"]["model"]["full"]
    assert full["recall@10"] == 1.0
    assert full["ndcg@10"] > results["results"]["baselines"]["most_popular"]["full"]["ndcg@10"]
    assert results["results"]["model"]["sampled_uniform"]["recall@10"] == 1.0


def test_sasrec_plus_is_selected_by_the_config_and_learns_the_same_data(tmp_path):
    dataset = leave_one_out(successor_sequences())
    options = {**TINY_MODEL, "model": "sasrec_plus"}
    model, results = train_bert4rec(
        dataset, training_args(tmp_path, epochs=30), None, options, early_stopping_patience=None, command="pytest"
    )
    assert model.config.causal
    assert results["model"]["architecture"] == "sasrec_plus"
    assert results["results"]["model"]["full"]["recall@10"] == 1.0
    assert format_results_table(results).splitlines()[2].startswith("| SASRec+ (causal, full-softmax CE) |")
    assert "\nSASRec+ (causal, full-softmax CE): " in format_results_table(results)  # the training-time line
    reloaded = Bert4RecForSequentialRecommendation.from_pretrained(tmp_path)
    assert reloaded.config.causal  # the saved config says which model it is


def test_validation_during_training_and_the_final_evaluation_rank_through_one_function(tmp_path):
    dataset = leave_one_out(successor_sequences(num_users=12))
    trainer = build_bert4rec_trainer(dataset, training_args(tmp_path), None, TINY_MODEL)
    during_training = trainer.evaluate()
    final = evaluate_recommender(trainer.model, dataset, "validation", baselines=())["results"]["model"]["full"]
    assert {key: during_training[f"eval_{key}"] for key in final if key != "num_examples"} == {
        key: value for key, value in final.items() if key != "num_examples"
    }


def test_training_keeps_the_best_checkpoint_by_validation_ndcg(trained):
    _, _, results, output_dir = trained
    training = results["training"]
    assert training["best_validation_ndcg@10"] is not None and training["best_validation_ndcg@10"] > 0.9
    assert training["best_checkpoint"] is not None and training["epochs"] == 50
    elapsed = training["validation_elapsed_s"]  # ElapsedTraining: wall seconds at each validation, for time-to-quality
    assert len(elapsed) == len(training["validation_ndcg@10"]) == 50
    assert all(isinstance(value, float) and value >= 0 for value in elapsed) and elapsed == sorted(elapsed)
    assert elapsed[-1] <= training["train_runtime_s"] + 1


def test_training_stops_early_when_validation_ndcg_stops_improving(tmp_path):
    # A learning rate of zero never changes the model: NDCG@10 cannot improve after the first evaluation.
    dataset = leave_one_out(successor_sequences(num_users=16))
    args = training_args(tmp_path, epochs=20, learning_rate=0.0)
    _, results = train_bert4rec(dataset, args, None, TINY_MODEL, early_stopping_patience=2)
    assert results["training"]["epochs"] == 3  # the first evaluation, then two without improvement


def test_the_output_folder_is_a_loadable_model_that_answers_in_titles(trained):
    dataset, _, results, output_dir = trained
    on_disk = json.loads((output_dir / "results.json").read_text())
    assert on_disk["results"] == json.loads(json.dumps(results["results"]))
    loaded = Bert4RecForSequentialRecommendation.from_pretrained(output_dir)
    history = dataset["test"][0]["item_ids"]
    answer = loaded.recommend(history, k=3)
    assert dataset["test"][0]["targets"][0] in answer["item_ids"]
    assert answer["titles"][0].startswith("Item ")
    assert not set(answer["item_ids"]) & set(history)


def test_results_follow_the_contributing_schema(trained):
    _, _, results, output_dir = trained
    assert results["schema_version"] == SCHEMA_VERSION and results["task"] == "sequential-recommendation"
    assert results["command"] == "pytest"
    assert results["model"]["class"] == "Bert4RecForSequentialRecommendation"
    assert results["model"]["parameters"]["total"] > results["model"]["parameters"]["embeddings"] > 0
    assert results["dataset"]["protocol"] == "leave_one_out" and results["dataset"]["num_examples"] == 48
    for report in [results["results"]["model"], *results["results"]["baselines"].values()]:
        assert set(report) >= {"full", "sampled_uniform", "sampled_popularity"}
        for k in (1, 5, 10, 20):
            assert {f"recall@{k}", f"ndcg@{k}", f"mrr@{k}"} <= set(report["full"])
    assert set(results["results"]["baselines"]) == {"most_popular", "item_cooccurrence"}
    assert "| BERT4Rec |" in format_results_table(results)
    # The header, model and environment blocks come from mbert_tiny_hub.results, like a classifier's.
    assert set(results["environment"]) == set(environment_summary())
    assert results["model"]["size_on_disk_mb"] == weights_size_mb(output_dir)


def test_the_results_table_of_a_finished_run_prints_from_its_results_json(trained, capsys):
    from mbert_tiny_hub.recsys import main

    _, _, results, output_dir = trained
    assert main([str(output_dir / "results.json")]) == 0
    printed = capsys.readouterr().out
    assert format_results_table(results) in printed and "sampled HR@10 (100 popularity negatives)" in printed


def test_multi_target_evaluation_ranks_the_last_k_items_as_a_set(trained):
    _, model, _, _ = trained
    last_three = leave_one_out(successor_sequences(), last_k=3)
    results = evaluate_recommender(model, last_three, "test", rare_item_threshold=None)
    assert results["dataset"]["protocol"] == "last_k (k = 3)"
    full = results["results"]["model"]["full"]
    assert 0.0 < full["recall@1"] <= 1 / 3 + 1e-9  # one hit at most among three targets at K = 1
    assert full["recall@20"] >= full["recall@10"] >= full["recall@5"]


def test_most_popular_scores_items_by_training_frequency():
    baseline = MostPopular(4).fit([[0, 1, 1], [1, 2]])
    assert baseline.score([[3], [0]]).tolist() == [[1, 3, 1, 0], [1, 3, 1, 0]]


def test_item_cooccurrence_matches_hand_computed_scores():
    baseline = ItemCooccurrence(4, window=2, history_length=2, decay=0.5).fit([[0, 1, 2], [1, 2, 3]])
    # C[0,1] = 1, C[0,2] = 1/2; C[1,2] = 1 + 1, C[1,3] = 1/2; C[2,3] = 1. History [0, 1]: 1 weighs 1, 0 weighs 0.5.
    scores = baseline.score([[0, 1]])[0]
    expected = np.array([0.0, 0.5 * 1.0, 0.5 * 0.5 + 2.0, 0.5])
    assert scores == pytest.approx(expected, abs=0.15)  # plus a popularity tie-break smaller than any rule weight
    assert np.argsort(-scores).tolist()[:2] == [2, 1]
    assert scores[3] > scores[0]  # 3 co-occurs with 1; 0 only breaks the tie by popularity


def test_content_features_let_cold_items_follow_their_genre(tmp_path):
    random.seed(0)
    drama, comedy = list(range(1, 11)), list(range(11, 21))
    cold_drama, cold_comedy = 21, 22  # in the catalogue, never in any sequence
    sequences = [random.sample(drama if u % 2 == 0 else comedy, 8) for u in range(60)]
    dataset = leave_one_out(sequences)
    genres = [["Drama"]] * 10 + [["Comedy"]] * 10 + [["Drama"], ["Comedy"]]
    items = items_table(range(1, 23), genres)
    options = {**TINY_MODEL, "genres": True, "catalogue": "items", "evaluate_test": False}
    model, results = train_bert4rec(
        dataset, training_args(tmp_path, epochs=25, save_strategy="no", load_best_model_at_end=False), items, options,
        early_stopping_patience=None,
    )
    assert results is None
    assert model.config.num_items == 22 and model.config.num_genres == 2
    prefers_own_genre = []
    for sequence in sequences[:20]:
        scores = model.recommend(sequence[:-2], k=22, exclude_seen=False)
        rank = {item: position for position, item in enumerate(scores["item_ids"])}
        own, other = (cold_drama, cold_comedy) if sequence[0] in drama else (cold_comedy, cold_drama)
        prefers_own_genre.append(rank[own] < rank[other])
    assert sum(prefers_own_genre) >= 18


def test_cold_start_items_never_appear_in_training_or_as_input_for_validation():
    random.seed(1)
    sequences = [random.sample(range(1, 41), 12) for _ in range(50)]
    dataset = leave_one_out(sequences)
    split, held_out = hold_out_items(dataset, 0.2, seed=3)
    assert len(held_out) == 8 and set(held_out) <= set(range(1, 41))
    cold = set(held_out)
    for name in ("train", "validation", "test"):
        for row in split[name]:
            assert not cold & set(row["item_ids"]), f"held-out item in {name} history of user {row['user_id']}"
            assert not cold & set(row["targets"]), f"held-out item in {name} targets of user {row['user_id']}"
    assert all(len(row["targets"]) == 1 for row in split["validation"]) and len(split["train"]) == 50
    # Every user who ever met a held-out item is asked for their last one, after the items before it.
    last_cold = {u + 1: max(i for i, item in enumerate(s) if item in cold) for u, s in enumerate(sequences) if cold & set(s)}
    asked = [u for u, last in last_cold.items() if set(sequences[u - 1][:last]) - cold]  # with some history before it
    assert split["test_cold_start"]["user_id"] == asked and len(asked) > 20
    for row in split["test_cold_start"]:
        sequence, last = sequences[row["user_id"] - 1], last_cold[row["user_id"]]
        assert row["targets"] == [sequence[last]]
        assert row["item_ids"] == [item for item in sequence[:last] if item not in cold]
    # The same seed holds out the same items; the original data is untouched.
    assert hold_out_items(dataset, 0.2, seed=3)[1] == held_out
    assert dataset["train"][0]["item_ids"] == sequences[0][:-2]


def test_a_cold_start_run_reports_the_held_out_items_beside_the_warm_test(tmp_path):
    random.seed(0)
    drama, comedy = list(range(1, 21)), list(range(21, 41))
    sequences = [random.sample(drama if u % 2 == 0 else comedy, 10) for u in range(60)]
    genres = [["Drama"]] * 20 + [["Comedy"]] * 20
    options = {**TINY_MODEL, "genres": True, "cold_start_items": 0.1, "cold_start_seed": 0}
    model, results = train_bert4rec(
        leave_one_out(sequences), training_args(tmp_path, epochs=3), items_table(range(1, 41), genres), options,
        early_stopping_patience=None, command="pytest",
    )
    cold = results["cold_start"]
    assert cold["num_held_out_items"] == 4 and len(cold["held_out_item_ids"]) == 4
    assert cold["num_examples"] > 0 and set(cold["results"]) == {"model", "baselines"}
    assert all(item in model.item_vocabulary for item in cold["held_out_item_ids"])  # scored, never trained on
    # Never trained on: no baseline can rank a held-out item above any item it has seen.
    assert cold["results"]["baselines"]["most_popular"]["full"]["recall@20"] == 0.0
    table = format_results_table(results)
    assert "cold-start targets (4 held-out items" in table and "| most_popular, cold start |" in table
    assert "rare targets" not in table
    rare = results["results"]["model"]["full_rare_targets"]
    with_rare = format_results_table(results, rare_targets=True)
    assert f"*rare targets (full ranking; {rare['num_examples']} users whose targets have at most 10" in with_rare
    assert f"{rare['ndcg@10']:.4f} | {rare['ndcg@20']:.4f} | {rare['mrr']:.4f} |  |  |" in with_rare
    line = format_comparison_table({"run-a": results}).splitlines()[-1]
    model, cold_model = results["results"]["model"]["full"], cold["results"]["model"]["full"]
    assert line.startswith(f"| run-a | BERT4Rec | {model['ndcg@10']:.4f} | {model['recall@10']:.4f} | {rare['ndcg@10']:.4f} | "
                           f"{cold_model['ndcg@10']:.4f} | {cold_model['mrr']:.4f} |")


def test_the_same_seed_builds_the_same_initial_model(tmp_path):
    dataset = leave_one_out(successor_sequences())
    first, second = (
        build_bert4rec_trainer(dataset, training_args(tmp_path / name), None, TINY_MODEL).model for name in "ab"
    )
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name


def test_every_held_out_item_stays_a_ranking_candidate_even_when_nobody_is_asked_for_it(tmp_path):
    # Items 101-120 each open one user's sequence and appear nowhere else: held out, they are nobody's cold-start
    # target (no history before them), yet they were drawn from the catalogue and must still be ranked.
    random.seed(2)
    sequences = [[101 + u] + random.sample(range(1, 21), 9) for u in range(20)]
    catalogue = set(range(1, 21)) | set(range(101, 121))
    split, held_out = hold_out_items(leave_one_out(sequences), 0.25, seed=0)
    never_asked = set(held_out) - set(item for row in split["test_cold_start"]["targets"] for item in row)
    assert never_asked & set(range(101, 121)), "the seed must hold out at least one opener for this test to bite"
    options = {**TINY_MODEL, "cold_start_items": 0.25, "cold_start_seed": 0, "catalogue": "sequences"}
    model, results = train_bert4rec(
        leave_one_out(sequences), training_args(tmp_path, epochs=1, save_strategy="no", load_best_model_at_end=False),
        None, options, early_stopping_patience=None, command="pytest",
    )
    assert results["cold_start"]["held_out_item_ids"] == held_out
    assert set(model.item_vocabulary.item_ids) == catalogue and results["dataset"]["num_items"] == len(catalogue)


def test_title_vectors_from_a_bert_encoder_become_frozen_item_features(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from modeling.mbert_tiny import MBertTinyConfig, MBertTinyModel

    words = ["[PAD]", "[UNK]", "Item"] + [str(i) for i in range(1000, 1030)]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]")
    encoder_dir = tmp_path / "title-encoder"
    torch.manual_seed(0)
    encoder = MBertTinyModel(
        MBertTinyConfig(
            vocab_size=len(words), hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=48
        )
    )
    encoder.save_pretrained(encoder_dir)
    tokenizer.save_pretrained(encoder_dir)

    options = {**TINY_MODEL, "title_encoder": str(encoder_dir), "evaluate_test": False}
    sequences = successor_sequences(num_users=20)
    items = items_table(sorted({i for s in sequences for i in s}))
    model, _ = train_bert4rec(
        leave_one_out(sequences),
        training_args(tmp_path / "run", epochs=1, save_strategy="no", load_best_model_at_end=False),
        items,
        options,
        early_stopping_patience=None,
    )
    vectors = model.bert4rec.embeddings.item_title_vectors
    assert model.config.title_embedding_size == 24
    assert vectors[:2].abs().sum() == 0 and (vectors[2:].abs().sum(dim=1) > 0).all()
    assert not vectors.requires_grad
    assert torch.allclose(vectors[2:].norm(dim=1), torch.ones(len(vectors) - 2), atol=1e-5)  # e5 recipe: unit vectors

    # Genres as text: the encoder reads "<title>. Genres: <g1>, <g2>." after the prefix; other texts, other vectors.
    vocabulary = model.item_vocabulary
    texts = item_texts(vocabulary, "title_and_genres")
    assert texts[0] == f"Item {vocabulary.item_ids[0]}. Genres: Drama."
    with_genres = encode_titles(texts, str(encoder_dir), prefix="Item ")
    prefix_read = tokenizer(["Item " + texts[0]], return_tensors="pt")["input_ids"][0].tolist()
    assert prefix_read[:3] == [2, 2, 3 + vocabulary.item_ids[0] - 1000]  # "Item Item 10xx" (then [UNK]s)
    assert not torch.allclose(with_genres, vectors[2:])
    assert encode_titles([None, texts[1]], str(encoder_dir))[0].abs().sum() == 0  # no text, zero vector


def test_a_sequence_file_with_a_non_integer_item_names_the_row(tmp_path):
    rows = [
        {"user_id": 1, "item_ids": [1, 2, 3, 4], "targets": []},
        {"user_id": 2, "item_ids": [2, 3, 4, 5], "targets": []},
        {"user_id": 3, "item_ids": [3, 3.5, 5], "targets": []},
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows))
    dataset = load_dataset("json", data_files={"train": str(path), "validation": str(path)})
    message = r"Split 'train', row 2 \(user_id 3\): item_ids holds 3.5, which is not an integer item id"
    with pytest.raises(ValueError, match=message):
        train_bert4rec(dataset, training_args(tmp_path / "run"), None, TINY_MODEL)

    path.write_text(json.dumps({"user_id": 1, "item_ids": ["tt0111161", "tt0068646"], "targets": []}))
    dataset = load_dataset("json", data_files={"train": str(path), "validation": str(path)})
    with pytest.raises(ValueError, match=r"row 0 \(user_id 1\): item_ids holds 'tt0111161'"):
        build_item_vocabulary(dataset)


def test_missing_columns_splits_and_unknown_options_are_clear_errors(tmp_path):
    dataset = leave_one_out(successor_sequences(num_users=4))
    with pytest.raises(ValueError, match="no 'validation' split"):
        train_bert4rec(DatasetDict({"train": dataset["train"]}), training_args(tmp_path), None, TINY_MODEL)
    no_targets = DatasetDict({"train": dataset["train"], "validation": dataset["validation"].remove_columns("targets")})
    with pytest.raises(ValueError, match="Split 'validation' has no column 'targets'"):
        train_bert4rec(no_targets, training_args(tmp_path), None, TINY_MODEL)
    with pytest.raises(ValueError, match=r"unknown config key 'bert4rec.mask_probabilty'"):
        RecommenderConfig.from_dict({"mask_probabilty": 0.2})
    with pytest.raises(ValueError, match="unknown config key 'bert4rec.config.mask_probabilty' \\(did you mean "
                       "'mask_probability'"):
        train_bert4rec(dataset, training_args(tmp_path), None, {**TINY_MODEL, "config": {"mask_probabilty": 0.2}})
    with pytest.raises(ValueError, match="bert4rec.model must be one of 'bert4rec', 'sasrec_plus'; got 'sasrec'"):
        RecommenderConfig.from_dict({"model": "sasrec"})
    with pytest.raises(ValueError, match="genres is on but no item has genres"):
        train_bert4rec(dataset, training_args(tmp_path), None, {**TINY_MODEL, "genres": True})


def test_cooccurrence_init_puts_items_that_co_occur_close_together():
    sequences = [[0, 1, 2, 3, 0, 1, 2, 3]] * 5 + [[4, 5, 6, 7, 4, 5, 6, 7]] * 5
    vectors = cooccurrence_item_embeddings(sequences, num_items=9, dim=4, std=0.02)
    cosine = torch.nn.functional.normalize(vectors, dim=1) @ torch.nn.functional.normalize(vectors, dim=1).T
    assert vectors.std().item() == pytest.approx(0.02, rel=0.2)
    assert cosine[0, 2] > 0.9 and cosine[4, 6] > 0.9  # neighbours of the same items, same cluster
    assert abs(cosine[0, 4]) < 0.1 and abs(cosine[1, 7]) < 0.1  # never seen together
    assert vectors[8].abs().sum() > 0  # an item without co-occurrence keeps a random vector


def test_cooccurrence_init_starts_the_model_from_those_vectors(tmp_path):
    dataset = leave_one_out(successor_sequences(num_users=12))
    options = RecommenderConfig.from_dict({**TINY_MODEL, "item_embedding_init": "cooccurrence"})
    trainer = build_bert4rec_trainer(dataset, training_args(tmp_path), None, options)
    vocabulary = trainer.model.item_vocabulary
    columns = [[vocabulary.index(item) - 2 for item in row] for row in dataset["train"]["item_ids"]]
    expected = cooccurrence_item_embeddings(columns, len(vocabulary), 32, std=0.02)
    assert torch.allclose(trainer.model.bert4rec.embeddings.item_embeddings.weight[2:], expected)
    with pytest.raises(ValueError, match="item_embedding_init must be one of 'random', 'cooccurrence'; got 'svd'"):
        RecommenderConfig.from_dict({"item_embedding_init": "svd"})


def test_a_recommender_trained_on_data_that_may_not_be_redistributed_stays_off_public_repos(trained, tmp_path):
    """item_vocab.json copies the training data's titles and genres: a MovieLens-like licence keeps it private."""
    import shutil

    from huggingface_hub import constants

    from hub_server import HubServer
    from mbert_tiny_hub.hub import PublishError, push_model

    dataset, model, _, output_dir = trained
    data_dir = tmp_path / "movielens-like"
    for split, rows in dataset.items():
        rows.to_parquet(str(data_dir / "sequences" / f"{split}.parquet"))
    data_files = "\n".join(f"  - split: {s}\n    path: sequences/{s}.parquet" for s in dataset)
    (data_dir / "README.md").write_text(
        "---\nlicense: other\nlicense_name: movielens-research-only\nredistributable: false\n"
        f"configs:\n- config_name: sequences\n  data_files:\n{data_files}\n---\n# MovieLens-like\n"
    )
    results = evaluate_recommender(model, dataset, "test", dataset_name_or_path=str(data_dir), num_negatives=10)
    assert results["dataset"]["redistributable"] is False
    assert results["dataset"]["license_name"] == "movielens-research-only"

    folder = tmp_path / "bert4rec"
    shutil.copytree(output_dir, folder, ignore=shutil.ignore_patterns("checkpoint-*"))
    (folder / "results.json").write_text(json.dumps(results))
    with pytest.MonkeyPatch.context() as patch, HubServer() as hub:
        patch.setattr(constants, "HF_HUB_OFFLINE", False)
        with pytest.raises(PublishError, match=r"item_vocab.json.*redistributable: false.*movielens-research-only"):
            push_model(folder, "org/bert4rec-ml", endpoint=hub.url, token=hub.token)
        assert ("model", "org/bert4rec-ml") not in hub.repos
        push_model(folder, "org/bert4rec-ml", private=True, endpoint=hub.url, token=hub.token)
        assert hub.repo("org/bert4rec-ml").private and "item_vocab.json" in hub.files("org/bert4rec-ml")
