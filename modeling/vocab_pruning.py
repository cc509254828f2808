"""Vocabulary pruning: shrink a WordPiece or SentencePiece-Unigram tokenizer to the pieces a corpus actually uses.

Multilingual BERT spends 52% of its parameters on a 119,547-row embedding matrix (multilingual-e5-small, with
XLM-R's 250,002 Unigram pieces, 82%), most of whose rows a model for a handful of languages never looks up.
`prune_vocabulary` keeps
  1. the special tokens,
  2. the single-character pieces the tokenizer falls back to, so text the original tokenizer could encode never
     becomes unknown: for WordPiece every `x` and `##x`; for Unigram without byte fallback every `x` and `▁x`
     whose letter belongs to a script the corpus uses (all non-letter characters, and `▁`, are always kept;
     `single_characters="all"` keeps every script),
  3. the multi-character pieces the corpus uses most, until `vocab_size` is reached (for Unigram, room the corpus
     leaves is filled with the most probable pieces of its scripts by the tokenizer's own scores),
and writes a tokenizer over the kept pieces. Because the kept vocabulary is a subset, greedy longest-match
WordPiece picks the same pieces as before for every word whose original pieces were all kept, and Unigram's
Viterbi search, scoring each kept piece as before, finds the same best segmentation whenever its pieces were kept.
"""

from __future__ import annotations

import json
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from tokenizers import Tokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

METASPACE = "\u2581"
SUPPORTED_MODELS = ("WordPiece", "Unigram")
LOADING_ONLY_KWARGS = ("is_local", "local_files_only", "_commit_hash", "cache_dir", "token")


@dataclass
class PrunedVocabulary:
    """A pruned tokenizer and, for each of its ids, the id the same piece had in the original tokenizer."""

    tokenizer: PreTrainedTokenizerFast
    kept_ids: list[int]
    stats: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.kept_ids)


def _is_single_character_piece(token: str, prefix: str) -> bool:
    body = token[len(prefix) :] if token.startswith(prefix) and len(token) > len(prefix) else token
    return len(body) == 1


def script_of(character: str) -> str:
    """A character's script, from its Unicode name ("LATIN", "CYRILLIC", "CJK", "ETHIOPIC", ...); "" for
    characters that are not letters (digits, punctuation, symbols belong to every script)."""
    if not unicodedata.category(character).startswith("L"):
        return ""
    return unicodedata.name(character, "UNKNOWN").split(" ")[0]


def _wordpiece_backend(tokenizer: PreTrainedTokenizerBase) -> tuple[Tokenizer, dict]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError(
            f"prune_vocabulary needs a fast (tokenizers-backed) tokenizer; got {type(tokenizer).__name__}."
        )
    spec = json.loads(backend.to_str())
    model_type = spec.get("model", {}).get("type")
    if model_type not in SUPPORTED_MODELS:
        raise TypeError(
            f"prune_vocabulary needs a WordPiece (mBERT) or SentencePiece-Unigram (XLM-R) tokenizer; "
            f"{type(tokenizer).__name__} uses a {model_type} model."
        )
    if model_type == "Unigram" and spec["model"].get("byte_fallback"):
        raise TypeError("prune_vocabulary does not handle Unigram tokenizers with byte fallback yet.")
    return backend, spec


def count_token_frequencies(
    tokenizer: PreTrainedTokenizerBase, corpus: Iterable[str], batch_size: int = 1_000
) -> np.ndarray:
    """How often each id of `tokenizer` occurs when it encodes `corpus` (no special tokens added)."""
    backend, _ = _wordpiece_backend(tokenizer)
    counts = np.zeros(backend.get_vocab_size(), dtype=np.int64)
    batch: list[str] = []

    def flush():
        for encoding in backend.encode_batch(batch, add_special_tokens=False):
            if encoding.ids:
                np.add.at(counts, encoding.ids, 1)
        batch.clear()

    for text in corpus:
        if text:
            batch.append(text)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return counts


def prune_vocabulary(
    tokenizer: PreTrainedTokenizerBase,
    corpus: Iterable[str],
    vocab_size: int,
    min_frequency: int = 1,
    single_characters: str = "scripts",
    fill_with_scores: bool = True,
) -> PrunedVocabulary:
    """Keep the special tokens, the single-character fallback pieces and the corpus's most frequent pieces.

    Args:
        tokenizer: a fast WordPiece tokenizer (bert-base-multilingual-cased) or SentencePiece-Unigram tokenizer
            (XLM-R, multilingual-e5-small).
        corpus: texts in the languages the model is for (an iterable of strings, read once).
        vocab_size: size of the pruned vocabulary; fewer pieces are kept when the corpus uses fewer.
        min_frequency: a multi-character piece is kept only if the corpus uses it at least this often.
        single_characters: Unigram only: "scripts" keeps the single-character pieces of the scripts the corpus
            uses (plus every non-letter one), "all" keeps all of them. WordPiece always keeps all of them.
        fill_with_scores: Unigram only: when the corpus uses fewer pieces than `vocab_size` allows, fill the rest
            with the pieces of its scripts that the tokenizer's own scores rate most probable (a few hundred
            training sentences then still get a vocabulary that covers their languages' unseen words).

    Returns:
        A `PrunedVocabulary`: the new tokenizer (same class, normalizer, pre-tokenizer and special tokens) and the
        original id of every kept piece, in the new id order (used to carry embedding rows over).
    """
    if single_characters not in ("scripts", "all"):
        raise ValueError(f"single_characters={single_characters!r}: use 'scripts' or 'all'.")
    backend, spec = _wordpiece_backend(tokenizer)
    unigram = spec["model"]["type"] == "Unigram"
    if unigram:
        id_to_token = {index: piece for index, (piece, _score) in enumerate(spec["model"]["vocab"])}
        vocab = {piece: index for index, piece in id_to_token.items()}
    else:
        vocab = spec["model"]["vocab"]
        id_to_token = {index: token for token, index in vocab.items()}
    prefix = METASPACE if unigram else (spec["model"].get("continuing_subword_prefix") or "##")

    special_ids = {vocab[token] for token in tokenizer.all_special_tokens if token in vocab}
    special_ids |= {entry["id"] for entry in spec.get("added_tokens", []) if entry.get("special")}

    scripts: set[str] = set()

    def reading(texts):  # notes the scripts the corpus writes in while the counter reads it
        for text in texts:
            if text:
                scripts.update(script_of(character) for character in set(text))
            yield text

    counts = count_token_frequencies(tokenizer, reading(corpus))
    keep_all_scripts = not unigram or single_characters == "all"
    single_ids = {
        index
        for token, index in vocab.items()
        if index not in special_ids
        and (token == prefix or _is_single_character_piece(token, prefix))
        and (keep_all_scripts or script_of(token[-1]) in scripts or script_of(token[-1]) == "")
    }
    mandatory = special_ids | single_ids
    if vocab_size < len(mandatory):
        raise ValueError(
            f"vocab_size={vocab_size} is smaller than the {len(mandatory)} pieces that must be kept "
            f"({len(special_ids)} special tokens + {len(single_ids)} single-character pieces, which keep every "
            f"encodable word out of {tokenizer.unk_token}); pass vocab_size >= {len(mandatory)}."
        )
    candidates = [
        index
        for index in np.argsort(-counts, kind="stable")
        if counts[index] >= max(min_frequency, 1) and int(index) not in mandatory
    ]
    frequent = [int(index) for index in candidates[: vocab_size - len(mandatory)]]
    probable: list[int] = []
    if unigram and fill_with_scores and len(mandatory) + len(frequent) < vocab_size:
        # A small corpus leaves room: fill it with the pieces the tokenizer itself rates most probable (its Unigram
        # log-probabilities, learned on a web-scale corpus) among those written in the corpus's scripts, so words
        # the corpus never showed still keep their pieces instead of falling apart into characters.
        taken = mandatory | set(frequent)
        scores = spec["model"]["vocab"]
        ranked = sorted(
            (index for index in range(len(scores)) if index not in taken and index not in special_ids),
            key=lambda index: -scores[index][1],
        )
        room = vocab_size - len(taken)
        for index in ranked:
            if len(probable) >= room:
                break
            body = scores[index][0].replace(prefix, "")
            if body and all(script_of(character) in scripts or script_of(character) == "" for character in body):
                probable.append(index)
    kept_ids = sorted(mandatory | set(frequent) | set(probable))
    new_vocab = {id_to_token[old]: new for new, old in enumerate(kept_ids)}

    if unigram:
        scores = spec["model"]["vocab"]
        spec["model"]["vocab"] = [scores[old] for old in kept_ids]
        spec["model"]["unk_id"] = new_vocab[id_to_token[spec["model"]["unk_id"]]]
    else:
        spec["model"]["vocab"] = new_vocab
    for entry in spec.get("added_tokens", []):
        entry["id"] = new_vocab[entry["content"]]
    post_processor = spec.get("post_processor") or {}
    for special in (post_processor.get("special_tokens") or {}).values():
        special["ids"] = [new_vocab[token] for token in special["tokens"]]
    for key in ("sep", "cls"):  # RobertaProcessing / BertProcessing: [token, id]
        if isinstance(post_processor.get(key), list):
            post_processor[key] = [post_processor[key][0], new_vocab[post_processor[key][0]]]
    pruned_backend = Tokenizer.from_str(json.dumps(spec))
    if spec.get("padding"):
        pruned_backend.enable_padding(
            pad_id=new_vocab[spec["padding"]["pad_token"]], pad_token=spec["padding"]["pad_token"]
        )

    if unigram:
        # The tokenizer's own class (XLMRobertaTokenizer), reloaded from the pruned tokenizer.json with the
        # original tokenizer_config.json, so the saved folder loads with stock AutoTokenizer to the same ids.
        with tempfile.TemporaryDirectory() as folder:
            tokenizer.save_pretrained(folder)
            pruned_backend.save(f"{folder}/tokenizer.json")
            pruned = AutoTokenizer.from_pretrained(folder)
        for key in LOADING_ONLY_KWARGS:  # how this process loaded it, not a property of the tokenizer
            pruned.init_kwargs.pop(key, None)
        if pruned.convert_tokens_to_ids(id_to_token[kept_ids[-1]]) != len(kept_ids) - 1 or len(pruned) != len(kept_ids):
            raise RuntimeError("the pruned Unigram tokenizer did not reload with the pruned vocabulary")
    else:
        # PreTrainedTokenizerFast loads tokenizer.json as written: no do_lower_case/strip_accents re-derivation.
        pruned = PreTrainedTokenizerFast(
            tokenizer_object=pruned_backend,
            model_max_length=tokenizer.model_max_length,
            padding_side=tokenizer.padding_side,
            **{name: value for name, value in tokenizer.special_tokens_map.items() if isinstance(value, str)},
        )
    stats = {
        "original_vocab_size": len(vocab),
        "vocab_size": len(kept_ids),
        "special": len(special_ids),
        "single_character": len(single_ids),
        "frequent": len(frequent),
        "probable": len(probable),
        "corpus_pieces_used": int((counts > 0).sum()),
        "corpus_tokens": int(counts.sum()),
        "corpus_tokens_covered": int(counts[kept_ids].sum()),
    }
    return PrunedVocabulary(tokenizer=pruned, kept_ids=kept_ids, stats=stats)
