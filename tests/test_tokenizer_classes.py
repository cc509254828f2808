"""Saved tokenizers name the class they are (BertTokenizer, XLMRobertaTokenizer) and bake in no truncation."""

from __future__ import annotations

import json

import pytest

from mbert_tiny_hub.tokenizer_classes import standard_tokenizer
from test_training_support import corpus_texts

TEXTS = ["Héllo Wörld, ÉMU and Straße", "Привет, МИР", "ሰላም ዓለም", "我爱北京", "¡Qué día TAN feliz!"]


def _saved_config(tokenizer, folder):
    tokenizer.save_pretrained(folder)
    return json.loads((folder / "tokenizer_config.json").read_text()), json.loads((folder / "tokenizer.json").read_text())


def test_pruned_mbert_vocabulary_saves_as_a_cased_bert_tokenizer_with_identical_ids(mbert_tokenizer, tmp_path):
    from transformers import AutoTokenizer, BertTokenizer

    from modeling.vocab_pruning import prune_vocabulary

    pruned = prune_vocabulary(mbert_tokenizer, TEXTS * 3 + corpus_texts(), 20_500).tokenizer
    pruned(TEXTS[0] * 50, truncation=True, max_length=16)  # leaves truncation on the backend
    config, spec = _saved_config(standard_tokenizer(pruned), tmp_path)
    assert config["tokenizer_class"] == "BertTokenizer" and config["do_lower_case"] is False
    assert spec["truncation"] is None and spec["padding"] is None and "max_length" not in config
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(reloaded, BertTokenizer)
    for text in TEXTS:
        assert reloaded(text)["input_ids"] == pruned(text)["input_ids"]
        assert reloaded.tokenize(text) == mbert_tokenizer.tokenize(text)  # same pieces as the full mBERT vocabulary


def test_a_sentencepiece_vocabulary_saves_as_xlm_roberta(shared_data, tmp_path):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast, XLMRobertaTokenizer

    folder = shared_data / "tokenizers" / "xlm-roberta_multilingual-e5-small"
    if not (folder / "tokenizer.json").is_file():
        pytest.skip(f"no SentencePiece tokenizer at {folder}")
    original = AutoTokenizer.from_pretrained(folder)
    # What a rebuilt (e.g. pruned) SentencePiece vocabulary is before it gets its class back.
    generic = PreTrainedTokenizerFast(
        tokenizer_object=original.backend_tokenizer,
        **{name: value for name, value in original.special_tokens_map.items() if isinstance(value, str)},
    )
    config, _ = _saved_config(standard_tokenizer(generic), tmp_path)
    assert config["tokenizer_class"] == "XLMRobertaTokenizer"
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(reloaded, XLMRobertaTokenizer)
    assert all(reloaded(text)["input_ids"] == original(text)["input_ids"] for text in TEXTS)
