"""Tokenizers saved as the class they are, so that every `transformers` version and tool can load them.

A tokenizer rebuilt from a `tokenizers` object (a pruned vocabulary, a from-scratch vocabulary) is a
`PreTrainedTokenizerFast`, which transformers 5 saves as `"tokenizer_class": "TokenizersBackend"`: transformers 4.x and
other tools cannot load that. `standard_tokenizer` gives it back its family's class: `BertTokenizer` for a WordPiece
vocabulary (with `do_lower_case` read from its normalizer: False for mBERT, so reloading never lowercases or strips
accents) and `XLMRobertaTokenizer` for a SentencePiece (Unigram) one. It also clears the truncation and padding
that calling a tokenizer leaves on its backend, so neither is baked into the saved `tokenizer.json`: callers pass
`truncation=True`, and `model_max_length` says where it cuts.
"""

from __future__ import annotations

import json

from tokenizers import Tokenizer
from transformers import BertTokenizer, PreTrainedTokenizerBase, XLMRobertaTokenizer

FAMILIES = {"WordPiece": BertTokenizer, "Unigram": XLMRobertaTokenizer}


def standard_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """`tokenizer` as its family's class (see the module docstring), without truncation or padding baked in. Slow
    tokenizers, and fast ones of another model type (BPE), keep their class."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return tokenizer
    spec = json.loads(backend.to_str())
    family = FAMILIES.get((spec.get("model") or {}).get("type"))
    if family is None or isinstance(tokenizer, family):
        # Already the right class (a loaded mBERT / XLM-R tokenizer): only the backend's state is cleared.
        backend.no_truncation()
        backend.no_padding()
        return tokenizer
    spec["truncation"] = spec["padding"] = None
    backend = Tokenizer.from_str(json.dumps(spec))
    kwargs = {
        "tokenizer_object": backend,
        "model_max_length": tokenizer.model_max_length,
        "padding_side": tokenizer.padding_side,
        "truncation_side": tokenizer.truncation_side,
        **{name: value for name, value in tokenizer.special_tokens_map.items() if isinstance(value, str)},
    }
    if family is BertTokenizer:
        normalizer = spec.get("normalizer") or {}
        kwargs["do_lower_case"] = bool(normalizer.get("lowercase", False))
        kwargs["strip_accents"] = normalizer.get("strip_accents")
    return family(**kwargs)


__all__ = ["standard_tokenizer"]
