"""Vocabulary pruning on the real mBERT tokenizer and on a small WordPiece tokenizer built here."""

import csv
import json
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


def test_a_bpe_tokenizer_is_rejected_with_the_models_it_handles():
    backend = Tokenizer(models.BPE(vocab={"a": 0, "b": 1, "ab": 2, "<unk>": 3}, merges=[("a", "b")], unk_token="<unk>"))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")
    with pytest.raises(TypeError, match="WordPiece.*Unigram.*uses a BPE model"):
        prune_vocabulary(tokenizer, ["ab"], vocab_size=3)


# ---- SentencePiece Unigram (XLM-R / multilingual-e5-small) --------------------------------------------------------
# Languages of ten scripts for held-out text; the corpus half and the held-out half come from the same files.
E5_LANGUAGES = BRIGHTER_LANGUAGES + ["amh", "tir", "mar", "hau", "yor"]


@pytest.fixture(scope="module")
def e5_tokenizer(shared_data):
    return AutoTokenizer.from_pretrained(shared_data / "tokenizers" / "xlm-roberta_multilingual-e5-small")


@pytest.fixture(scope="module")
def e5_split(shared_data):
    texts = _real_texts(shared_data, per_language=300)
    for language in ["amh", "tir", "mar", "hau", "yor"]:
        path = shared_data / "brighter_semeval2025_task11" / "track_a" / "train" / f"{language}.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            texts[language] = [row["text"] for row in itertools.islice(csv.DictReader(handle), 300)]
    corpus = [text for rows in texts.values() for text in rows[::2]]
    held_out = {language: rows[1::2] for language, rows in texts.items()}
    return corpus, held_out


@pytest.fixture(scope="module")
def e5_pruned(e5_tokenizer, e5_split):
    corpus, _ = e5_split
    return prune_vocabulary(e5_tokenizer, corpus, vocab_size=30_000)


@pytest.mark.shared_data
def test_unigram_pruning_keeps_the_class_and_shrinks_xlmr_to_the_corpus(e5_tokenizer, e5_pruned):
    assert type(e5_pruned.tokenizer).__name__ == "XLMRobertaTokenizer"
    assert e5_pruned.stats["original_vocab_size"] == 250_002
    assert len(e5_pruned.tokenizer) == len(e5_pruned.kept_ids) <= 30_000
    pieces = e5_tokenizer.convert_ids_to_tokens(e5_pruned.kept_ids)
    assert e5_pruned.tokenizer.convert_ids_to_tokens(list(range(len(pieces)))) == pieces
    for token in ("<s>", "</s>", "<pad>", "<unk>", "<mask>"):
        assert token in e5_pruned.tokenizer.get_vocab()


@pytest.mark.shared_data
def test_unigram_text_made_of_kept_pieces_tokenizes_as_before(e5_tokenizer, e5_pruned, e5_split):
    _, held_out = e5_split
    kept = set(e5_pruned.kept_ids)
    checked = 0
    for rows in held_out.values():
        for text in rows:
            original = e5_tokenizer(text)["input_ids"]
            if set(original) <= kept:
                pruned = e5_pruned.tokenizer(text)["input_ids"]
                assert [e5_pruned.kept_ids[i] for i in pruned] == original, text
                checked += 1
    assert checked >= 200


@pytest.mark.shared_data
def test_unigram_pruning_adds_no_unknown_pieces_on_held_out_text_of_ten_languages(e5_tokenizer, e5_pruned, e5_split):
    _, held_out = e5_split
    assert len(held_out) >= 10
    for language, rows in held_out.items():
        original = sum(e5_tokenizer(text)["input_ids"].count(e5_tokenizer.unk_token_id) for text in rows)
        pruned = sum(e5_pruned.tokenizer(text)["input_ids"].count(e5_pruned.tokenizer.unk_token_id) for text in rows)
        assert pruned <= original, language


@pytest.mark.shared_data
def test_unigram_pruned_tokenizer_reloads_with_stock_autotokenizer_to_the_same_ids(e5_pruned, e5_split, tmp_path):
    _, held_out = e5_split
    e5_pruned.tokenizer.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "XLMRobertaTokenizer" and "local_files_only" not in config
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    for rows in held_out.values():
        for text in rows[:20]:
            assert reloaded(text)["input_ids"] == e5_pruned.tokenizer(text)["input_ids"]


@pytest.mark.shared_data
def test_unigram_single_characters_are_kept_for_the_scripts_the_corpus_uses(e5_tokenizer):
    latin = prune_vocabulary(e5_tokenizer, ["The weather is lovely today.", "Das Wetter ist schön."], 20_000)
    every = prune_vocabulary(e5_tokenizer, ["The weather is lovely today."], 20_000, single_characters="all")
    kept = set(latin.tokenizer.get_vocab())
    assert {"é", "ß", "\u2581"} <= kept  # Latin letters unseen in the corpus are still kept
    assert "漢" not in kept and "ж" not in kept  # scripts the corpus never writes are not
    assert "漢" in every.tokenizer.get_vocab()
    assert latin.tokenizer.convert_ids_to_tokens(latin.tokenizer("Schöße")["input_ids"]).count("<unk>") == 0


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


@pytest.mark.shared_data
def test_unigram_room_a_small_corpus_leaves_goes_to_the_most_probable_pieces_of_its_scripts(e5_tokenizer, e5_split):
    corpus, held_out = e5_split
    small = corpus[:100]  # a few-shot training set: most held-out words never appear in it
    bare = prune_vocabulary(e5_tokenizer, small, 20_000, fill_with_scores=False)
    filled = prune_vocabulary(e5_tokenizer, small, 20_000)
    assert filled.stats["probable"] > 0 and len(filled) == 20_000 > len(bare)
    assert "漢" not in filled.tokenizer.get_vocab() or any("漢" in text for text in small)  # only the corpus's scripts

    def pieces_per_text(pruned):
        return sum(len(pruned.tokenizer(text)["input_ids"]) for rows in held_out.values() for text in rows[:30])

    original = sum(len(e5_tokenizer(text)["input_ids"]) for rows in held_out.values() for text in rows[:30])
    assert pieces_per_text(filled) < pieces_per_text(bare)
    assert pieces_per_text(filled) < 1.3 * original  # close to the original segmentation on unseen text
