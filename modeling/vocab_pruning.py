"""Vocabulary pruning: shrink a WordPiece tokenizer to the pieces a corpus actually uses.

Multilingual BERT spends 52% of its parameters on a 119,547-row embedding matrix, most of whose rows a
model for a handful of languages never looks up. `prune_vocabulary` keeps
  1. the special tokens,
  2. every single-character piece (`x` and `##x`): WordPiece falls back to them, so any word the original
     tokenizer could encode is still encodable and never becomes `[UNK]`,
  3. the multi-character pieces the corpus uses most, until `vocab_size` is reached,
and writes a tokenizer over the kept pieces. Because the kept vocabulary is a subset, greedy longest-match
WordPiece picks the same pieces as before for every word whose original pieces were all kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast


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


def _wordpiece_backend(tokenizer: PreTrainedTokenizerBase) -> tuple[Tokenizer, dict]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError(
            f"prune_vocabulary needs a fast (tokenizers-backed) tokenizer; got {type(tokenizer).__name__}."
        )
    spec = json.loads(backend.to_str())
    model_type = spec.get("model", {}).get("type")
    if model_type != "WordPiece":
        raise TypeError(
            f"prune_vocabulary needs a WordPiece tokenizer (the BERT family); {type(tokenizer).__name__} "
            f"uses a {model_type} model."
        )
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
) -> PrunedVocabulary:
    """Keep the special tokens, every single-character piece and the corpus's most frequent pieces.

    Args:
        tokenizer: a fast WordPiece tokenizer, e.g. bert-base-multilingual-cased.
        corpus: texts in the languages the model is for (an iterable of strings, read once).
        vocab_size: size of the pruned vocabulary; fewer pieces are kept when the corpus uses fewer.
        min_frequency: a multi-character piece is kept only if the corpus uses it at least this often.

    Returns:
        A `PrunedVocabulary`: the new tokenizer (same normalizer, pre-tokenizer and special tokens) and the
        original id of every kept piece, in the new id order (used to carry embedding rows over).
    """
    backend, spec = _wordpiece_backend(tokenizer)
    vocab: dict[str, int] = spec["model"]["vocab"]
    prefix = spec["model"].get("continuing_subword_prefix") or "##"
    id_to_token = {index: token for token, index in vocab.items()}

    special_ids = {vocab[token] for token in tokenizer.all_special_tokens if token in vocab}
    special_ids |= {entry["id"] for entry in spec.get("added_tokens", []) if entry.get("special")}
    single_ids = {
        index
        for token, index in vocab.items()
        if index not in special_ids and _is_single_character_piece(token, prefix)
    }
    mandatory = special_ids | single_ids
    if vocab_size < len(mandatory):
        raise ValueError(
            f"vocab_size={vocab_size} is smaller than the {len(mandatory)} pieces that must be kept "
            f"({len(special_ids)} special tokens + {len(single_ids)} single-character pieces, which keep every "
            f"encodable word out of [UNK]); pass vocab_size >= {len(mandatory)}."
        )

    counts = count_token_frequencies(tokenizer, corpus)
    candidates = [
        index
        for index in np.argsort(-counts, kind="stable")
        if counts[index] >= max(min_frequency, 1) and int(index) not in mandatory
    ]
    frequent = [int(index) for index in candidates[: vocab_size - len(mandatory)]]
    kept_ids = sorted(mandatory | set(frequent))
    new_vocab = {id_to_token[old]: new for new, old in enumerate(kept_ids)}

    spec["model"]["vocab"] = new_vocab
    for entry in spec.get("added_tokens", []):
        entry["id"] = new_vocab[entry["content"]]
    post_processor = spec.get("post_processor") or {}
    for special in (post_processor.get("special_tokens") or {}).values():
        special["ids"] = [new_vocab[token] for token in special["tokens"]]
    pruned_backend = Tokenizer.from_str(json.dumps(spec))
    if spec.get("padding"):
        pruned_backend.enable_padding(
            pad_id=new_vocab[spec["padding"]["pad_token"]], pad_token=spec["padding"]["pad_token"]
        )

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
        "corpus_pieces_used": int((counts > 0).sum()),
        "corpus_tokens": int(counts.sum()),
        "corpus_tokens_covered": int(counts[kept_ids].sum()),
    }
    return PrunedVocabulary(tokenizer=pruned, kept_ids=kept_ids, stats=stats)
