"""Vocabulary pruning on the real mBERT tokenizer and on a small WordPiece tokenizer built here."""

import csv
import itertools

import pytest
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from modeling import prune_vocabulary

# Several scripts, a right-to-left one among them; every language here is in the real corpora.
BRIGHTER_LANGUAGES = ["deu", "eng", "esp", "hin", "rus", "chn", "ptbr", "ukr", "swe", "arq"]
POLAR_LANGUAGES = ["arb", "fas", "ita", "pol", "tur", "urd", "zho", "ben"]


def _real_texts(shared_data, per_language=400):
    """The first `per_language` texts of several BRIGHTER and POLAR languages, by language."""
    texts = {}
    for language in BRIGHTER_LANGUAGES:
        path = shared_data / "brighter_semeval2025_task11" / "track_a" / "train" / f"{language}.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            texts[language] = [row["text"] for row in itertools.islice(csv.DictReader(handle), per_language)]
    for language in POLAR_LANGUAGES:
        path = shared_data / "polar_semeval2026" / "subtask1" / "train" / f"{language}.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            texts[language] = [row["text"] for row in itertools.islice(csv.DictReader(handle), per_language)]
    return texts


@pytest.fixture(scope="module")
def real_split(shared_data):
    texts = _real_texts(shared_data)
    corpus = [text for rows in texts.values() for text in rows[::2]]
    held_out = [text for rows in texts.values() for text in rows[1::2]]
    return corpus, held_out


@pytest.fixture(scope="module")
def pruned_real(mbert_tokenizer, real_split):
    corpus, _ = real_split
    return prune_vocabulary(mbert_tokenizer, corpus, vocab_size=30_000)


@pytest.mark.shared_data
def test_pruned_tokenizer_never_adds_unk_on_held_out_multilingual_text(mbert_tokenizer, pruned_real, real_split):
    _, held_out = real_split
    unknown_original = sum(mbert_tokenizer.tokenize(text).count("[UNK]") for text in held_out)
    unknown_pruned = sum(pruned_real.tokenizer.tokenize(text).count("[UNK]") for text in held_out)
    assert unknown_pruned <= unknown_original


@pytest.mark.shared_data
def test_words_made_of_kept_pieces_tokenize_as_before(mbert_tokenizer, pruned_real, real_split):
    _, held_out = real_split
    kept = set(pruned_real.tokenizer.get_vocab())
    pre_tokenize = mbert_tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str
    normalize = mbert_tokenizer.backend_tokenizer.normalizer.normalize_str
    checked = changed = 0
    for text in held_out:
        for word, _ in pre_tokenize(normalize(text)):
            original = mbert_tokenizer.tokenize(word)
            if original and all(piece in kept for piece in original):
                checked += 1
                changed += pruned_real.tokenizer.tokenize(word) != original
    assert checked > 10_000
    assert changed == 0


@pytest.mark.shared_data
def test_pruned_words_fall_back_to_smaller_kept_pieces(mbert_tokenizer, pruned_real, real_split):
    # The vocabulary shrank to a quarter, so some held-out words lose pieces; they must re-segment, not vanish.
    _, held_out = real_split
    kept = set(pruned_real.tokenizer.get_vocab())
    resegmented = 0
    for text in held_out[:2000]:
        for piece_original, word in ((mbert_tokenizer.tokenize(w), w) for w in text.split()):
            if any(piece not in kept for piece in piece_original):
                pruned = pruned_real.tokenizer.tokenize(word)
                assert "[UNK]" not in pruned or "[UNK]" in piece_original
                assert "".join(p.removeprefix("##") for p in pruned) == "".join(
                    p.removeprefix("##") for p in piece_original
                )
                resegmented += 1
    assert resegmented > 0


@pytest.mark.shared_data
def test_special_tokens_and_every_single_character_piece_are_kept(mbert_tokenizer, pruned_real):
    original = mbert_tokenizer.get_vocab()
    kept = pruned_real.tokenizer.get_vocab()
    singles = [t for t in original if len(t) == 1 or (t.startswith("##") and len(t) == 3)]
    assert len(singles) > 19_000
    assert all(token in kept for token in singles)
    assert all(token in kept for token in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    assert pruned_real.stats["single_character"] == len(singles)
    assert len(pruned_real) == len(kept) == 30_000


@pytest.mark.shared_data
def test_kept_ids_map_each_new_id_to_the_same_piece_in_the_original(mbert_tokenizer, pruned_real):
    original = mbert_tokenizer.convert_ids_to_tokens(pruned_real.kept_ids)
    pruned = pruned_real.tokenizer.convert_ids_to_tokens(list(range(len(pruned_real))))
    assert original == pruned


@pytest.mark.shared_data
def test_pruned_tokenizer_survives_save_and_reload_without_lowercasing(pruned_real, tmp_path):
    pruned_real.tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    text = "Ça va très bien, Øystein! Привет, как дела? 你好 مرحبا"
    assert reloaded(text).input_ids == pruned_real.tokenizer(text).input_ids
    tokens = reloaded.tokenize(text)
    assert "Ç" in tokens and "Ø" in "".join(tokens) and "[UNK]" not in tokens
    ids = reloaded("Hallo Welt").input_ids
    assert ids[0] == reloaded.cls_token_id and ids[-1] == reloaded.sep_token_id


@pytest.mark.shared_data
def test_vocabulary_smaller_than_the_mandatory_pieces_is_rejected(mbert_tokenizer):
    with pytest.raises(ValueError, match=r"vocab_size=5000 is smaller than the 20001 pieces that must be kept"):
        prune_vocabulary(mbert_tokenizer, ["hello world"], vocab_size=5000)


@pytest.mark.shared_data
def test_non_wordpiece_tokenizer_is_rejected(shared_data):
    xlmr = shared_data / "tokenizers" / "xlm-roberta_multilingual-e5-small"
    tokenizer = AutoTokenizer.from_pretrained(xlmr)
    with pytest.raises(TypeError, match="WordPiece"):
        prune_vocabulary(tokenizer, ["hello"], vocab_size=1000)


# A tokenizer small enough to reason about by hand, for runs without ../shared.
def _toy_tokenizer():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "##a", "##b", "##c", "##d",
             "ab", "abc", "##cd", "cab", "dd", "##bd"]
    backend = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=False)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def test_multi_character_pieces_are_kept_by_corpus_frequency():
    tokenizer = _toy_tokenizer()
    corpus = ["abc abc abc cab", "abc dd dd", "ab"]  # abc x4, dd x2, cab x1, ab x1; ##cd and ##bd unused
    pruned = prune_vocabulary(tokenizer, corpus, vocab_size=13 + 2)
    multi_character = {t for t in pruned.tokenizer.get_vocab() if len(t.removeprefix("##")) > 1 and t[0] != "["}
    assert multi_character == {"abc", "dd"}
    assert {k: pruned.stats[k] for k in ("special", "single_character", "frequent", "vocab_size")} == {
        "special": 5, "single_character": 8, "frequent": 2, "vocab_size": 15}
    everything = prune_vocabulary(tokenizer, corpus, vocab_size=100)
    assert {t for t in everything.tokenizer.get_vocab() if len(t.removeprefix("##")) > 1 and t[0] != "["} == {
        "abc", "dd", "cab", "ab"}


def test_toy_pruning_resegments_dropped_pieces_without_unk():
    tokenizer = _toy_tokenizer()
    pruned = prune_vocabulary(tokenizer, ["abc"], vocab_size=14)
    assert tokenizer.tokenize("cab dd") == ["cab", "dd"]
    assert pruned.tokenizer.tokenize("cab dd") == ["c", "##a", "##b", "d", "##d"]
    assert pruned.tokenizer.tokenize("abc") == ["abc"]
    assert pruned.tokenizer("abc").input_ids[0] == pruned.tokenizer.cls_token_id
