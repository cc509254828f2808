"""BERT4Rec model: presets, cloze masking, tied output layer, masked-only logits, `recommend`, save/load."""

import json
import os
import subprocess
import sys

import pytest
import torch

from mbert_tiny_hub.recsys import ClozeCollator, NextItemCollator
from modeling.bert4rec import (
    ITEM_VOCAB_NAME,
    MASK_ITEM_INDEX,
    PAD_ITEM_INDEX,
    PRESETS,
    Bert4RecConfig,
    Bert4RecForSequentialRecommendation,
    Bert4RecModel,
    ItemVocabulary,
)

ITEM_IDS = [101, 102, 103, 104, 105, 106, 107, 108]
TITLES = [f"Movie {item}" for item in ITEM_IDS]


def tiny_config(**overrides) -> Bert4RecConfig:
    values = dict(
        num_items=len(ITEM_IDS),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=12,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    values.update(overrides)
    return Bert4RecConfig(**values)


@pytest.fixture
def model() -> Bert4RecForSequentialRecommendation:
    torch.manual_seed(0)
    model = Bert4RecForSequentialRecommendation(tiny_config())
    model.set_item_vocabulary(ItemVocabulary(ITEM_IDS, TITLES, [["Drama"]] * len(ITEM_IDS)))
    return model.eval()


def test_presets_match_the_study_shapes():
    shapes = {name: (c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"]) for name, c in PRESETS.items()}
    assert shapes == {"S": (64, 2, 2), "M": (128, 2, 4), "L": (256, 2, 4), "XL": (256, 4, 4)}
    config = Bert4RecConfig.from_preset("M", num_items=3416)
    assert config.hidden_dropout_prob == config.attention_probs_dropout_prob == 0.2
    assert config.max_position_embeddings == 200 and config.mask_probability == 0.2
    assert config.vocab_size == 3418  # padding and [MASK] first
    with pytest.raises(ValueError, match="Unknown BERT4Rec preset 'XXL'"):
        Bert4RecConfig.from_preset("XXL", num_items=10)


def test_cloze_collator_masks_items_never_padding_and_labels_the_originals():
    torch.manual_seed(0)
    sequences = [list(range(2, 2 + length)) for length in (3, 10, 40, 1)]
    batch = ClozeCollator(mask_probability=0.3, max_length=40)([{"input_ids": s} for s in sequences])
    input_ids, labels, attention_mask = batch["input_ids"], batch["labels"], batch["attention_mask"]
    assert input_ids.shape == labels.shape == (4, 40)
    masked = labels != -100
    assert (input_ids[masked] == MASK_ITEM_INDEX).all()
    assert (attention_mask[masked] == 1).all()  # padding is never masked
    assert masked.any(dim=1).all()  # every sequence has at least one masked item
    for row, sequence in enumerate(sequences):  # left padding: the most recent item is in the last column
        original = torch.where(masked[row], labels[row], input_ids[row])[40 - len(sequence) :]
        assert original.tolist() == sequence
        assert (input_ids[row, : 40 - len(sequence)] == PAD_ITEM_INDEX).all()


def test_cloze_collator_masks_at_the_configured_rate():
    torch.manual_seed(1)
    batch = ClozeCollator(mask_probability=0.2, max_length=50)([{"input_ids": list(range(2, 52))}] * 400)
    rate = (batch["labels"] != -100).float().mean().item()
    assert 0.19 < rate < 0.21


def test_evaluation_collation_appends_one_mask_after_the_most_recent_items():
    sequence = list(range(2, 30))
    batch = ClozeCollator(max_length=10, mask_last=True)([{"input_ids": sequence}, {"input_ids": [5, 6]}])
    assert "labels" not in batch
    assert batch["input_ids"][0].tolist() == sequence[-9:] + [MASK_ITEM_INDEX]
    assert batch["input_ids"][1].tolist() == [PAD_ITEM_INDEX] * 7 + [5, 6, MASK_ITEM_INDEX]


def test_random_crop_reads_a_contiguous_window_of_a_long_history():
    torch.manual_seed(2)
    sequence = list(range(2, 102))
    collator = ClozeCollator(max_length=10, crop="random", mask_probability=0.1)
    starts = set()
    for _ in range(20):
        batch = collator([{"input_ids": sequence}])
        window = torch.where(batch["labels"][0] != -100, batch["labels"][0], batch["input_ids"][0]).tolist()
        assert window == list(range(window[0], window[0] + 10))
        starts.add(window[0])
    assert len(starts) > 1


def test_last_item_masking_asks_exactly_the_inference_question():
    batch = ClozeCollator(max_length=8, last_item_mask_probability=1.0)([{"input_ids": [2, 3, 4, 5]}] * 3)
    assert (batch["labels"][:, :-1] == -100).all()
    assert batch["labels"][:, -1].tolist() == [5, 5, 5]


def test_output_layer_is_tied_to_the_item_embeddings(model):
    head_matrices = [p for p in model.head.parameters() if p.dim() == 2 and p.shape[0] == model.config.vocab_size]
    assert head_matrices == []  # no separate (items x hidden) output matrix
    input_ids = torch.tensor([[2, 3, 4, MASK_ITEM_INDEX]])
    hidden = model.bert4rec(input_ids).last_hidden_state[:, -1]
    head = model.head
    transformed = head.LayerNorm(head.transform_act_fn(head.dense(hidden)))
    table = model.bert4rec.embeddings.item_embeddings.weight
    expected = transformed @ table[2:].T + head.bias[2:]
    assert torch.allclose(model(input_ids).logits[:, 2:], expected, atol=1e-5)

    # Items that never appear in the input still learn through the output layer.
    model.train()
    labels = torch.full_like(input_ids, -100)
    labels[0, -1] = 9
    model(input_ids, labels=labels).loss.backward()
    assert model.bert4rec.embeddings.item_embeddings.weight.grad[9].abs().sum() > 0


def test_logits_are_computed_only_where_needed(model):
    input_ids = torch.tensor([[2, MASK_ITEM_INDEX, 4, MASK_ITEM_INDEX], [0, 5, MASK_ITEM_INDEX, 7]])
    labels = torch.full_like(input_ids, -100)
    labels[0, 1], labels[0, 3], labels[1, 2] = 3, 5, 6
    out = model(input_ids, labels=labels)
    assert out.logits.shape == (3, model.config.vocab_size)
    assert out.loss.item() > 0
    assert model(input_ids).logits.shape == (2, model.config.vocab_size)
    assert model(input_ids, return_all_logits=True).logits.shape == (2, 4, model.config.vocab_size)
    special = model(input_ids).logits[:, :2]
    assert (special == torch.finfo(special.dtype).min).all()  # padding and [MASK] never win


def test_left_and_right_padding_give_the_same_prediction(model):
    left = torch.tensor([[0, 0, 3, 4, 5, MASK_ITEM_INDEX]])
    right = torch.tensor([[3, 4, 5, MASK_ITEM_INDEX, 0, 0]])
    assert torch.allclose(model(left).logits, model(right).logits, atol=1e-5)


@pytest.mark.parametrize("padded", [False, True], ids=["full", "left-padded"])
def test_sasrec_plus_never_attends_to_later_items(padded):
    torch.manual_seed(0)
    causal = Bert4RecModel(tiny_config(causal=True)).eval()
    bidirectional = Bert4RecModel(tiny_config()).eval()
    bidirectional.load_state_dict(causal.state_dict())
    history = torch.tensor([[0, 0, 2, 3, 4, 5, 6, 7]]) if padded else torch.tensor([[2, 3, 4, 5, 6, 7]])
    changed = history.clone()
    changed[0, -2] = 9  # a later item replaced by another
    with torch.no_grad():
        before, after = (causal(ids).last_hidden_state for ids in (history, changed))
        assert torch.equal(before[0, :-2], after[0, :-2])  # every earlier position: bit for bit the same
        assert not torch.allclose(before[0, -2:], after[0, -2:])
        # The same weights without the causal mask do look ahead, so the check above can fail.
        looked_ahead = bidirectional(history).last_hidden_state[0, :-2], bidirectional(changed).last_hidden_state[0, :-2]
        assert not torch.allclose(*looked_ahead)


def test_sasrec_plus_scores_the_next_item_from_the_last_one_without_a_mask():
    torch.manual_seed(0)
    model = Bert4RecForSequentialRecommendation(tiny_config(causal=True)).eval()
    history = [2, 3, 4, 5]
    with torch.no_grad():
        direct = model(torch.tensor([history]), return_all_logits=True).logits[0, -1]
    assert torch.allclose(model.score_histories([history])[0], direct)
    # The longest history it reads fills every position (no slot kept for a [MASK]).
    long = list(range(2, 10)) * 2
    with torch.no_grad():
        cropped = model(torch.tensor([long[-12:]])).logits[0]
    assert torch.allclose(model.score_histories([long])[0], cropped)


def test_next_item_collator_labels_every_position_with_the_item_that_follows():
    batch = NextItemCollator(max_length=4)([{"input_ids": [2, 3, 4]}, {"input_ids": [5, 6, 7, 8, 9, 10]}])
    assert batch["input_ids"].tolist() == [[0, 0, 2, 3], [6, 7, 8, 9]]
    assert batch["labels"].tolist() == [[-100, -100, 3, 4], [7, 8, 9, 10]]
    assert batch["attention_mask"].tolist() == [[0, 0, 1, 1], [1, 1, 1, 1]]


def test_recommend_never_returns_seen_padding_or_mask_items(model):
    history = [101, 102, 103, 104, 105]
    result = model.recommend(history, k=10)
    assert sorted(result["item_ids"]) == [106, 107, 108]  # only the unseen items, k clipped
    assert result["titles"] == [f"Movie {item}" for item in result["item_ids"]]
    assert result["scores"] == sorted(result["scores"], reverse=True)
    with_seen = model.recommend(history, k=10, exclude_seen=False)
    assert sorted(with_seen["item_ids"]) == ITEM_IDS  # all 8 catalogue items, never padding or [MASK]


def test_recommend_takes_a_batch_of_histories(model):
    results = model.recommend([[101, 102], [107], [101, 102]], k=3)
    assert len(results) == 3 and all(len(r["item_ids"]) == 3 for r in results)
    assert results[0] == results[2]
    assert 107 not in results[1]["item_ids"]
    alone = model.recommend([107], k=3)  # padded in the batch, unpadded alone: the same answer
    assert results[1]["item_ids"] == alone["item_ids"]
    assert results[1]["scores"] == pytest.approx(alone["scores"], abs=1e-5)


def test_recommend_reads_only_the_most_recent_items_of_a_long_history(model):
    long_history = ITEM_IDS * 3  # 24 items for 12 positions
    result = model.recommend(long_history, k=3, exclude_seen=False)
    assert len(result["item_ids"]) == 3


def test_recommend_rejects_bad_input_with_a_clear_error(model):
    with pytest.raises(KeyError, match=r"Item id 999 \(history 0, position 1\) is not in this model's item vocabulary"):
        model.recommend([101, 999])
    with pytest.raises(ValueError, match="Item id 999"):  # also a ValueError, for callers that catch bad input
        model.recommend([[101], [999]])
    with pytest.raises(ValueError, match="history is empty"):
        model.recommend([])
    with pytest.raises(ValueError, match="History 1 is empty"):
        model.recommend([[101], []])
    with pytest.raises(TypeError, match=r"Item id '101' \(history 0, position 0\) is not an integer"):
        model.recommend(["101", "102"])
    with pytest.raises(TypeError, match=r"Item id 1.5 \(history 0, position 1\) is not an integer"):
        model.recommend([101, 1.5])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        model.recommend([101], k=0)
    bare = Bert4RecForSequentialRecommendation(tiny_config())
    with pytest.raises(ValueError, match="no item vocabulary"):
        bare.recommend([101])


def test_item_vocabulary_must_match_the_catalogue_size(model):
    with pytest.raises(ValueError, match="3 items but the model was built for config.num_items=8"):
        model.set_item_vocabulary(ItemVocabulary([1, 2, 3]))
    with pytest.raises(ValueError, match="lists an item id twice"):
        ItemVocabulary([1, 2, 2])


def test_content_features_change_item_representations():
    torch.manual_seed(0)
    model = Bert4RecForSequentialRecommendation(tiny_config(num_genres=3, title_embedding_size=5))
    plain_table = model.bert4rec.embeddings.item_table().detach().clone()
    genres = torch.zeros(model.config.vocab_size, 3)
    genres[2:, 0] = 1.0
    model.set_item_features(genres=genres, title_vectors=torch.randn(model.config.vocab_size, 5))
    table = model.bert4rec.embeddings.item_table().detach()
    assert not torch.allclose(table[2:], plain_table[2:])
    assert torch.allclose(table[:2], plain_table[:2])  # padding and [MASK] get no content
    with pytest.raises(ValueError, match="item_genres must have shape"):
        model.set_item_features(genres=torch.zeros(3, 3))


AUTO_LOAD_SCRIPT = """
import json, sys
from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM
folder = sys.argv[1]
config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
model = AutoModelForMaskedLM.from_pretrained(folder, trust_remote_code=True)
bare = AutoModel.from_pretrained(folder, trust_remote_code=True)
assert "modeling" not in sys.modules, "the checkpoint must load without this project on the path"
print(json.dumps({
    "config_class": type(config).__name__, "model_class": type(model).__name__, "bare_class": type(bare).__name__,
    "recommendation": model.recommend([101, 102, 103], k=4),
    "genres": model.bert4rec.embeddings.item_genres.tolist(),
}))
"""


def test_save_and_load_round_trip_through_the_auto_classes_in_a_fresh_process(model, tmp_path):
    torch.manual_seed(3)
    model = Bert4RecForSequentialRecommendation(tiny_config(num_genres=2))
    model.set_item_vocabulary(ItemVocabulary(ITEM_IDS, TITLES, [["Drama"]] * 8))
    genres = torch.zeros(model.config.vocab_size, 2)
    genres[2:5, 1] = 1.0
    model.set_item_features(genres=genres)
    model.eval()
    folder = tmp_path / "bert4rec"
    model.save_pretrained(folder)
    assert {"config.json", "model.safetensors", "bert4rec.py", ITEM_VOCAB_NAME} <= set(os.listdir(folder))
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "bert4rec"
    assert config["auto_map"]["AutoModelForMaskedLM"] == "bert4rec.Bert4RecForSequentialRecommendation"
    vocabulary = json.loads((folder / ITEM_VOCAB_NAME).read_text())
    assert vocabulary["item_ids"] == ITEM_IDS and vocabulary["titles"] == TITLES

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    completed = subprocess.run(
        [sys.executable, "-c", AUTO_LOAD_SCRIPT, str(folder)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    loaded = json.loads(completed.stdout.strip().splitlines()[-1])
    assert loaded["config_class"] == "Bert4RecConfig"
    assert loaded["model_class"] == "Bert4RecForSequentialRecommendation"
    assert loaded["bare_class"] == "Bert4RecModel"
    assert loaded["genres"] == genres.tolist()
    expected = model.recommend([101, 102, 103], k=4)
    assert loaded["recommendation"]["item_ids"] == expected["item_ids"]
    assert loaded["recommendation"]["titles"] == expected["titles"]
    assert loaded["recommendation"]["scores"] == pytest.approx(expected["scores"], abs=1e-5)


def test_the_project_class_loads_a_saved_model_with_its_vocabulary(model, tmp_path):
    model.save_pretrained(tmp_path)
    loaded = Bert4RecForSequentialRecommendation.from_pretrained(tmp_path)
    assert loaded.item_vocabulary.item_ids == ITEM_IDS
    before, after = model.recommend([104, 105], k=3), loaded.recommend([104, 105], k=3)
    assert after["item_ids"] == before["item_ids"] and after["titles"] == before["titles"]
    assert after["scores"] == pytest.approx(before["scores"], abs=1e-6)
    bare = Bert4RecModel.from_pretrained(tmp_path)
    assert bare.item_vocabulary.titles == TITLES


def test_a_broken_item_vocabulary_file_is_named_in_the_error(model, tmp_path):
    model.save_pretrained(tmp_path)
    (tmp_path / ITEM_VOCAB_NAME).write_text("{not json")
    with pytest.raises(ValueError, match=r"item_vocab.json is not valid JSON"):
        Bert4RecForSequentialRecommendation.from_pretrained(tmp_path)


HUB_PUSH_SCRIPT = """
import sys
import torch
from modeling.bert4rec import Bert4RecConfig, Bert4RecForSequentialRecommendation, ItemVocabulary
torch.manual_seed(5)
config = Bert4RecConfig(num_items=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                        max_position_embeddings=12)
model = Bert4RecForSequentialRecommendation(config)
model.set_item_vocabulary(ItemVocabulary(list(range(101, 109)), [f"Movie {i}" for i in range(101, 109)]))
model.push_to_hub("org/bert4rec-tiny")
print(model.eval().recommend([101, 102], k=3)["item_ids"])
"""

HUB_LOAD_SCRIPT = """
import json, sys
from transformers import AutoModelForMaskedLM
model = AutoModelForMaskedLM.from_pretrained("org/bert4rec-tiny", trust_remote_code=True)
assert "modeling" not in sys.modules
print(json.dumps(model.recommend([101, 102], k=3)))
"""


def test_a_model_pushed_to_the_hub_loads_from_it_and_answers_in_titles(tmp_path, repo_root):
    sys.path.insert(0, str(repo_root / "tests"))
    from hub_server import HubServer

    with HubServer() as hub:
        base = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        pushed = subprocess.run(
            [sys.executable, "-c", HUB_PUSH_SCRIPT], cwd=repo_root, env=hub.client_env(base=base),
            capture_output=True, text=True, timeout=180,
        )
        assert pushed.returncode == 0, pushed.stderr
        pushed_files = set(hub.files("org/bert4rec-tiny"))
        assert {"config.json", "model.safetensors", "bert4rec.py", ITEM_VOCAB_NAME} <= pushed_files
        consumer = tmp_path / "consumer"
        consumer.mkdir()
        env = hub.client_env(base={**base, "HF_HOME": str(tmp_path / "hf-home")})
        loaded = subprocess.run(
            [sys.executable, "-c", HUB_LOAD_SCRIPT], cwd=consumer, env=env, capture_output=True, text=True, timeout=180
        )
        assert loaded.returncode == 0, loaded.stderr
    answer = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert answer["item_ids"] == json.loads(pushed.stdout.strip().splitlines()[-1])
    assert answer["titles"] == [f"Movie {item}" for item in answer["item_ids"]]


def test_activation_checkpointing_gives_the_same_gradients(model):
    model.train()
    input_ids = torch.tensor([[2, 3, MASK_ITEM_INDEX, 5], [0, 6, 7, MASK_ITEM_INDEX]])
    labels = torch.full_like(input_ids, -100)
    labels[0, 2], labels[1, 3] = 4, 8

    def gradients():
        model.zero_grad()
        model(input_ids, labels=labels).loss.backward()
        return model.bert4rec.encoder.layer[0].attention.self.query.weight.grad.clone()

    plain = gradients()
    model.activation_checkpointing_enable()
    assert model.bert4rec.encoder.gradient_checkpointing
    torch.testing.assert_close(gradients(), plain)


def test_blocks_marked_copied_from_mbert_tiny_are_in_sync():
    """One model, one file: the encoder blocks repeat mbert_tiny.py's on purpose, marked `# Copied from`;
    an edit to one side must be carried to the other (as transformers' check_copies does)."""
    import inspect
    import re

    import modeling.bert4rec as bert4rec
    import modeling.mbert_tiny as mbert_tiny

    marked = re.findall(
        r"^# Copied from modeling\.mbert_tiny\.(\w+) with MBertTiny->Bert4Rec\nclass (\w+)",
        inspect.getsource(bert4rec),
        flags=re.MULTILINE,
    )
    assert len(marked) >= 7
    for original, copy in marked:
        expected = inspect.getsource(getattr(mbert_tiny, original)).replace("MBertTiny", "Bert4Rec")
        assert inspect.getsource(getattr(bert4rec, copy)) == expected, f"{copy} is out of sync with {original}"
