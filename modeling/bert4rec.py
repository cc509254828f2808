# Copyright 2026 The mbert-tiny-hub authors. Licensed under the Apache License, Version 2.0.
"""BERT4Rec: a bidirectional transformer over a user's item sequence, trained with a cloze (masked item) objective.

This file is the whole model, config to `recommend`, readable top to bottom. It is also the remote code that a
saved checkpoint carries: `save_pretrained` copies this file next to the weights and points `auto_map` at it, so
it imports nothing from this project. A checkpoint folder holds `config.json`, `model.safetensors`, this file and
`item_vocab.json` (original item ids, titles, genres), so a model from the Hub answers in titles:

```python
>>> from transformers import AutoModelForMaskedLM
>>> model = AutoModelForMaskedLM.from_pretrained("org/bert4rec-ml-1m", trust_remote_code=True)
>>> model.recommend([1198, 1196, 260], k=3)  # MovieLens ids: Raiders, Empire, Star Wars
{'item_ids': [...], 'titles': [...], 'scores': [...]}
```

Vocabulary layout: index 0 is padding, index 1 is `[MASK]`, indexes 2.. are the catalogue items in
`item_vocab.json` order. Positions count back from the most recent item (the last item has position 0), so left- and
right-padded batches of any length compute the same thing. The output layer is the item embedding table itself
(plus an output-only bias), and logits are computed only where they are needed: at masked positions in training, at
the last position in inference, so cost scales with the catalogue, not with catalogue x sequence length.

SASRec+ (`causal=True`) is the same encoder with causal attention: a position attends only to itself and to earlier
items, so the hidden state at every position predicts the item that follows it, and training is next-item
prediction at every position with full-softmax cross-entropy (SASRec trained as in Klenitskiy & Vasilev, "Turning
Dross Into Gold Loss: is BERT4Rec really better than SASRec?", RecSys 2023). In inference it reads the history as is
(no `[MASK]` is appended): the last item's hidden state scores the next one.

Optional content-aware item embeddings (`num_genres`, `title_embedding_size` > 0): a genre multi-hot vector and a
frozen title vector (e.g. from an mBERT-Tiny encoder) are projected to the hidden size and added to each item's
embedding, in the input and in the output layer, so items with few or no interactions still get sensible scores.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from numbers import Integral

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutput, MaskedLMOutput
from transformers.utils import cached_file

PAD_ITEM_INDEX = 0
MASK_ITEM_INDEX = 1
NUM_SPECIAL_ITEMS = 2
ITEM_VOCAB_NAME = "item_vocab.json"

# Presets of the MovieLens study: hidden 64 / 128 / 256, 2 or 4 layers, 2 or 4 heads (head size 32 or 64),
# feed-forward 4x hidden, dropout 0.2. Parameter counts depend on the catalogue (num_items x hidden).
PRESETS = {
    "S": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 256},
    "M": {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 512},
    "L": {"hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 1024},
    "XL": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
}

AUTO_MAP = {
    "AutoConfig": "bert4rec.Bert4RecConfig",
    "AutoModel": "bert4rec.Bert4RecModel",
    "AutoModelForMaskedLM": "bert4rec.Bert4RecForSequentialRecommendation",
}


class Bert4RecConfig(PreTrainedConfig):
    r"""Configuration of a BERT4Rec model.

    Args:
        num_items (`int`): catalogue size, padding and `[MASK]` excluded (the vocabulary has `num_items + 2` rows).
        max_position_embeddings (`int`): the longest history the model reads (older items are dropped).
        mask_probability (`float`): share of a training sequence's items replaced by `[MASK]` (the cloze rate).
        num_genres (`int`): genre multi-hot width of the content-aware item embeddings; 0 turns genres off.
        title_embedding_size (`int`): width of the frozen title vectors; 0 turns titles off.
        causal (`bool`): SASRec+ instead of BERT4Rec: causal attention (a position never attends to later items),
            trained on next-item prediction at every position; `mask_probability` is then unused.
        preset (`str`, *optional*): "S", "M", "L" or "XL" when the shape came from a preset.

    Example:
    ```python
    >>> config = Bert4RecConfig.from_preset("M", num_items=3416)
    >>> model = Bert4RecForSequentialRecommendation(config)
    ```
    """

    model_type = "bert4rec"

    num_items: int = 1
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 256
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.2
    attention_probs_dropout_prob: float = 0.2
    max_position_embeddings: int = 200
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = PAD_ITEM_INDEX
    mask_token_id: int = MASK_ITEM_INDEX
    mask_probability: float = 0.2
    num_genres: int = 0
    title_embedding_size: int = 0
    causal: bool = False
    use_cache: bool = False
    preset: str | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if getattr(self, "auto_map", None) is None:
            self.auto_map = dict(AUTO_MAP)
        if self.num_items < 1:
            raise ValueError(f"num_items must be at least 1 (the catalogue size), got {self.num_items}.")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of num_attention_heads "
                f"({self.num_attention_heads})."
            )
        if not 0.0 < self.mask_probability < 1.0:
            raise ValueError(f"mask_probability must lie strictly between 0 and 1, got {self.mask_probability}.")

    @property
    def vocab_size(self) -> int:
        """Rows of the item embedding table: padding, `[MASK]`, then the catalogue."""
        return self.num_items + NUM_SPECIAL_ITEMS

    @classmethod
    def from_preset(cls, preset: str, **kwargs) -> "Bert4RecConfig":
        """Config of preset "S", "M", "L" or "XL"; keyword arguments (at least `num_items`) override any field."""
        if preset not in PRESETS:
            raise ValueError(f"Unknown BERT4Rec preset {preset!r}: choose one of {', '.join(PRESETS)}.")
        return cls(**{**PRESETS[preset], "preset": preset, **kwargs})


class UnknownItemError(KeyError, ValueError):
    """An item id outside the model's item vocabulary; both a KeyError and a ValueError, so either clause catches it."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ItemVocabulary:
    """Original item ids <-> vocabulary indexes, with titles and genres; saved as `item_vocab.json`.

    `item_ids[i]` has vocabulary index `i + 2` (0 is padding, 1 is `[MASK]`).
    """

    def __init__(
        self,
        item_ids: Sequence[int],
        titles: Sequence[str | None] | None = None,
        genres: Sequence[Sequence[str]] | None = None,
    ):
        self.item_ids = [_as_item_id(item, f"item_ids[{i}]") for i, item in enumerate(item_ids)]
        self._index = {item: i + NUM_SPECIAL_ITEMS for i, item in enumerate(self.item_ids)}
        if len(self._index) != len(self.item_ids):
            raise ValueError("The item vocabulary lists an item id twice; item ids must be unique.")
        self.titles = list(titles) if titles is not None else [None] * len(self.item_ids)
        self.genres = [list(g or ()) for g in genres] if genres is not None else [[] for _ in self.item_ids]
        if not len(self.titles) == len(self.genres) == len(self.item_ids):
            raise ValueError(
                f"{len(self.item_ids)} item ids but {len(self.titles)} titles and {len(self.genres)} genre lists."
            )

    def __len__(self) -> int:
        return len(self.item_ids)

    def __contains__(self, item_id) -> bool:
        return item_id in self._index

    @property
    def genre_names(self) -> list[str]:
        return sorted({genre for genres in self.genres for genre in genres})

    def index(self, item_id, where: str = "history") -> int:
        """Vocabulary index of an original item id; a clear error for a non-integer or unknown id."""
        item_id = _as_item_id(item_id, where)
        if item_id not in self._index:
            raise UnknownItemError(
                f"Item id {item_id} ({where}) is not in this model's item vocabulary of {len(self)} items "
                f"(ids such as {', '.join(map(str, self.item_ids[:3]))}). Pass original item ids the model was "
                "trained on; new items need retraining."
            )
        return self._index[item_id]

    def item_id(self, index: int) -> int:
        return self.item_ids[index - NUM_SPECIAL_ITEMS]

    def title(self, index: int) -> str | None:
        return self.titles[index - NUM_SPECIAL_ITEMS]

    def to_dict(self) -> dict:
        return {
            "format": "bert4rec-item-vocabulary",
            "version": 1,
            "special_items": {"[PAD]": PAD_ITEM_INDEX, "[MASK]": MASK_ITEM_INDEX},
            "item_ids": self.item_ids,
            "titles": self.titles,
            "genres": self.genres,
        }

    def save(self, directory: str | os.PathLike) -> str:
        """Write `item_vocab.json` into `directory` atomically (a temp file moved into place)."""
        path = os.path.join(directory, ITEM_VOCAB_NAME)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".item_vocab.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(self.to_dict(), file, ensure_ascii=False)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ItemVocabulary":
        with open(path, encoding="utf-8") as file:
            try:
                data = json.load(file)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} is not valid JSON ({error}); re-save the model's item vocabulary.") from None
        if "item_ids" not in data:
            raise ValueError(f"{path} has no 'item_ids' list; it is not a BERT4Rec item vocabulary.")
        return cls(data["item_ids"], data.get("titles"), data.get("genres"))


def _as_item_id(value, where: str) -> int:
    """An original item id as a Python int; strings, floats and booleans are refused with a clear error."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(
            f"Item id {value!r} ({where}) is not an integer; item ids are integers (e.g. MovieLens MovieIDs)."
        )
    return int(value)


class Bert4RecEmbeddings(nn.Module):
    """Item embeddings (+ optional genre and title projections) + learned recency positions, LayerNorm, dropout."""

    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.item_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        if config.num_genres:
            # Frozen item features live in the checkpoint next to the weights, so no data is needed to load a model.
            self.register_buffer("item_genres", torch.zeros(config.vocab_size, config.num_genres))
            self.genre_projection = nn.Linear(config.num_genres, config.hidden_size, bias=False)
        if config.title_embedding_size:
            self.register_buffer("item_title_vectors", torch.zeros(config.vocab_size, config.title_embedding_size))
            self.title_projection = nn.Linear(config.title_embedding_size, config.hidden_size, bias=False)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def item_table(self) -> torch.Tensor:
        """(vocab_size, hidden) representation of every item: the input embedding and the output layer."""
        table = self.item_embeddings.weight
        if hasattr(self, "genre_projection"):
            table = table + self.genre_projection(self.item_genres)
        if hasattr(self, "title_projection"):
            table = table + self.title_projection(self.item_title_vectors)
        return table

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor, item_table: torch.Tensor) -> torch.Tensor:
        embeddings = F.embedding(input_ids, item_table) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


# Copied from modeling.mbert_tiny.MBertTinySelfAttention with MBertTiny->Bert4Rec
class Bert4RecSelfAttention(nn.Module):
    """Multi-head self-attention through `scaled_dot_product_attention` (fused kernels on CPU and GPU)."""

    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_prob = config.attention_probs_dropout_prob

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        batch_size, seq_length, _ = hidden_states.shape
        shape = (batch_size, seq_length, self.num_attention_heads, self.attention_head_size)
        query = self.query(hidden_states).view(shape).transpose(1, 2)
        key = self.key(hidden_states).view(shape).transpose(1, 2)
        value = self.value(hidden_states).view(shape).transpose(1, 2)
        context = F.scaled_dot_product_attention(
            query, key, value, attn_mask=attention_mask, dropout_p=self.dropout_prob if self.training else 0.0
        )
        return context.transpose(1, 2).reshape(batch_size, seq_length, -1)


# Copied from modeling.mbert_tiny.MBertTinySelfOutput with MBertTiny->Bert4Rec
class Bert4RecSelfOutput(nn.Module):
    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


# Copied from modeling.mbert_tiny.MBertTinyAttention with MBertTiny->Bert4Rec
class Bert4RecAttention(nn.Module):
    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.self = Bert4RecSelfAttention(config)
        self.output = Bert4RecSelfOutput(config)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        return self.output(self.self(hidden_states, attention_mask), hidden_states)


# Copied from modeling.mbert_tiny.MBertTinyIntermediate with MBertTiny->Bert4Rec
class Bert4RecIntermediate(nn.Module):
    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACT2FN[config.hidden_act]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


# Copied from modeling.mbert_tiny.MBertTinyOutput with MBertTiny->Bert4Rec
class Bert4RecOutput(nn.Module):
    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


# Copied from modeling.mbert_tiny.MBertTinyLayer with MBertTiny->Bert4Rec
class Bert4RecLayer(nn.Module):
    """Post-LayerNorm transformer block: attention, then the feed-forward network, each with a residual."""

    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.attention = Bert4RecAttention(config)
        self.intermediate = Bert4RecIntermediate(config)
        self.output = Bert4RecOutput(config)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        attention_output = self.attention(hidden_states, attention_mask)
        return self.output(self.intermediate(attention_output), attention_output)


# Copied from modeling.mbert_tiny.MBertTinyEncoder with MBertTiny->Bert4Rec
class Bert4RecEncoder(nn.Module):
    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.layer = nn.ModuleList([Bert4RecLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states, attention_mask, output_hidden_states: bool = False):
        all_hidden_states = (hidden_states,) if output_hidden_states else None
        for layer_module in self.layer:
            if self.gradient_checkpointing and self.training:
                # `_gradient_checkpointing_func` is set by PreTrainedModel.activation_checkpointing_enable().
                hidden_states = self._gradient_checkpointing_func(layer_module.__call__, hidden_states, attention_mask)
            else:
                hidden_states = layer_module(hidden_states, attention_mask)
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
        return hidden_states, all_hidden_states


class Bert4RecPreTrainedModel(PreTrainedModel):
    """Weight init, and the item vocabulary saved beside the weights (`item_vocab.json`)."""

    config_class = Bert4RecConfig
    base_model_prefix = "bert4rec"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["Bert4RecEmbeddings", "Bert4RecLayer"]

    item_vocabulary: ItemVocabulary | None = None

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, Bert4RecItemPredictionHead):
            module.bias.zero_()

    def set_item_vocabulary(self, vocabulary: ItemVocabulary) -> None:
        if len(vocabulary) != self.config.num_items:
            raise ValueError(
                f"The item vocabulary has {len(vocabulary)} items but the model was built for "
                f"config.num_items={self.config.num_items}."
            )
        self.item_vocabulary = vocabulary

    def set_item_features(self, genres: torch.Tensor | None = None, title_vectors: torch.Tensor | None = None):
        """Fill the frozen content features, one row per vocabulary index (rows 0 and 1 stay zero)."""
        embeddings = self.base_model.embeddings
        for name, values, width in (
            ("item_genres", genres, self.config.num_genres),
            ("item_title_vectors", title_vectors, self.config.title_embedding_size),
        ):
            if values is None:
                continue
            if not width:
                raise ValueError(f"This model has no {name} (its config sets that feature's width to 0).")
            values = torch.as_tensor(values, dtype=torch.float32)
            expected = (self.config.vocab_size, width)
            if tuple(values.shape) != expected:
                raise ValueError(
                    f"{name} must have shape {expected} (one row per vocabulary index), got {tuple(values.shape)}."
                )
            values = values.clone()
            values[:NUM_SPECIAL_ITEMS] = 0.0
            getattr(embeddings, name).copy_(values)

    def save_pretrained(self, save_directory, *args, **kwargs):
        super().save_pretrained(save_directory, *args, **kwargs)
        if self.item_vocabulary is not None and kwargs.get("is_main_process", True):
            self.item_vocabulary.save(save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        loaded = super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        hub_kwargs = {
            key: kwargs[key]
            for key in ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "proxies")
            if key in kwargs
        }
        vocabulary_file = cached_file(
            pretrained_model_name_or_path,
            ITEM_VOCAB_NAME,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
            **hub_kwargs,
        )
        if vocabulary_file is not None:
            model.set_item_vocabulary(ItemVocabulary.load(vocabulary_file))
        return loaded


def _recency_positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position 0 for the most recent real item, 1 for the one before, ...; padding gets 0 (it is masked anyway)."""
    from_the_end = attention_mask.flip(-1).cumsum(-1).flip(-1) - 1
    return from_the_end.clamp(min=0)


def _attention_mask(attention_mask: torch.Tensor, causal: bool) -> torch.Tensor | None:
    """SDPA's boolean "may attend" mask, `(batch, 1, seq, seq)` or broadcastable; None when nothing is padded and
    attention is bidirectional, which lets SDPA pick its fastest kernel. Causal (SASRec+): a query attends to real
    items at or before its own position, and every position to itself, so a padding row is never empty (NaN)."""
    real = attention_mask.bool()
    if not causal:
        return None if bool(real.all()) else real[:, None, None, :]
    length = real.shape[-1]
    # Comparisons of positions rather than tril / eye: ONNX Runtime has no boolean EyeLike (the recommender exports).
    positions = torch.arange(length, device=real.device)
    earlier = positions[:, None] >= positions[None, :]
    itself = positions[:, None] == positions[None, :]
    return ((earlier & real[:, None, :]) | itself)[:, None]


class Bert4RecModel(Bert4RecPreTrainedModel):
    """The bare encoder: one hidden state per history position."""

    def __init__(self, config: Bert4RecConfig):
        super().__init__(config)
        self.embeddings = Bert4RecEmbeddings(config)
        self.encoder = Bert4RecEncoder(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.item_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.item_embeddings = value

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        item_table: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BaseModelOutput | tuple:
        output_hidden_states = bool(output_hidden_states or self.config.output_hidden_states)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        if input_ids.shape[-1] > self.config.max_position_embeddings:
            raise ValueError(
                f"Sequences of {input_ids.shape[-1]} items exceed max_position_embeddings="
                f"{self.config.max_position_embeddings}; keep the most recent items only."
            )
        if position_ids is None:
            position_ids = _recency_positions(attention_mask)
        if item_table is None:
            item_table = self.embeddings.item_table()
        hidden_states = self.embeddings(input_ids, position_ids, item_table)
        mask = _attention_mask(attention_mask, self.config.causal)
        sequence_output, all_hidden_states = self.encoder(hidden_states, mask, output_hidden_states)
        if not return_dict:
            return tuple(v for v in (sequence_output, all_hidden_states) if v is not None)
        return BaseModelOutput(last_hidden_state=sequence_output, hidden_states=all_hidden_states)


class Bert4RecItemPredictionHead(nn.Module):
    """dense -> activation -> LayerNorm, then a dot product with every catalogue item's representation + a bias."""

    def __init__(self, config: Bert4RecConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACT2FN[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states: torch.Tensor, item_table: torch.Tensor) -> torch.Tensor:
        hidden_states = self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))
        # Score catalogue rows only; padding and [MASK] get the lowest logit so they never win.
        logits = F.linear(hidden_states, item_table[NUM_SPECIAL_ITEMS:], self.bias[NUM_SPECIAL_ITEMS:])
        return F.pad(logits, (NUM_SPECIAL_ITEMS, 0), value=torch.finfo(logits.dtype).min)


class Bert4RecForSequentialRecommendation(Bert4RecPreTrainedModel):
    """BERT4Rec with its item-prediction head (tied to the item embeddings) and `recommend`.

    `forward` with `labels` (vocabulary indexes at masked positions, -100 elsewhere) returns the cloze loss and
    logits of shape `(num_masked, vocab_size)`; without labels it returns `(batch, vocab_size)` logits for the last
    position of each history (append `[MASK]` to ask for the next item); `return_all_logits=True` gives
    `(batch, seq, vocab_size)`. With `config.causal` (SASRec+) the labels are the next item at every position and
    the history is read without a `[MASK]`.
    """

    def __init__(self, config: Bert4RecConfig):
        super().__init__(config)
        self.bert4rec = Bert4RecModel(config)
        self.head = Bert4RecItemPredictionHead(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.bert4rec.embeddings.item_embeddings

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        return_all_logits: bool = False,
        **kwargs,
    ) -> MaskedLMOutput | tuple:
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        item_table = self.bert4rec.embeddings.item_table()
        outputs = self.bert4rec(
            input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            item_table=item_table,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        sequence_output = outputs.last_hidden_state
        loss = None
        if return_all_logits:
            logits = self.head(sequence_output, item_table)
            if labels is not None:
                loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1))
        elif labels is not None:
            selected = labels != -100
            logits = self.head(sequence_output[selected], item_table)
            target = labels[selected]
            # A batch with nothing masked still yields a (zero) loss connected to the graph.
            loss = F.cross_entropy(logits, target) if target.numel() else logits.sum() * 0.0
        else:
            positions = torch.arange(attention_mask.shape[-1], device=attention_mask.device)
            last = (attention_mask.bool() * (positions + 1)).argmax(-1)
            logits = self.head(sequence_output[torch.arange(len(last), device=last.device), last], item_table)

        if not return_dict:
            output = (logits,) + ((outputs.hidden_states,) if outputs.hidden_states is not None else ())
            return ((loss,) + output) if loss is not None else output
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states)

    def encode_histories(self, histories: Sequence[Sequence[int]]) -> list[list[int]]:
        """Original item ids -> vocabulary indexes, with errors that name the bad history and position."""
        if self.item_vocabulary is None:
            raise ValueError(
                f"This model has no item vocabulary ({ITEM_VOCAB_NAME} was not saved with it): set one with "
                "model.set_item_vocabulary(ItemVocabulary(item_ids, titles)) or load a complete checkpoint."
            )
        encoded = []
        for row, history in enumerate(histories):
            if len(history) == 0:
                raise ValueError(f"History {row} is empty: recommend needs at least one item the user interacted with.")
            encoded.append(
                [self.item_vocabulary.index(item, f"history {row}, position {pos}") for pos, item in enumerate(history)]
            )
        return encoded

    @torch.no_grad()
    def score_histories(
        self, histories: Sequence[Sequence[int]], batch_size: int = 256, scorer=None
    ) -> torch.Tensor:
        """Next-item logits `(len(histories), vocab_size)` for histories of vocabulary indexes (most recent last).
        `scorer` (input_ids, attention_mask) -> logits replaces the model's own forward, e.g. an ONNX Runtime
        session of its export (`mbert_tiny_hub.latency.recommend_scorer`)."""
        # BERT4Rec asks for the next item with a [MASK] after the history; SASRec+ reads it from the last item.
        ask = [] if self.config.causal else [self.config.mask_token_id]
        keep = self.config.max_position_embeddings - len(ask)
        device = self.device
        scores = []
        for start in range(0, len(histories), batch_size):
            batch = [list(h[-keep:]) + ask for h in histories[start : start + batch_size]]
            width = max(len(h) for h in batch)
            input_ids = torch.full((len(batch), width), self.config.pad_token_id, dtype=torch.long)
            for row, history in enumerate(batch):
                input_ids[row, width - len(history) :] = torch.tensor(history)
            input_ids = input_ids.to(device)
            attention_mask = (input_ids != self.config.pad_token_id).long()
            if scorer is None:
                scores.append(self(input_ids=input_ids, attention_mask=attention_mask).logits.float())
            else:
                scores.append(torch.as_tensor(scorer(input_ids, attention_mask)).float())
        return torch.cat(scores)

    def recommend(self, history, k: int = 10, exclude_seen: bool = True, batch_size: int = 256, scorer=None):
        """Top-`k` next items for one history (a list of original item ids, oldest first) or a batch of them.

        Returns `{"item_ids": [...], "titles": [...], "scores": [...]}` for one history, a list of those for a batch.
        Padding and `[MASK]` are never returned; items in the history are not either when `exclude_seen` is true.
        `scorer` runs the network instead of PyTorch (see `score_histories`).
        """
        if isinstance(history, (str, bytes)) or not isinstance(history, Sequence) and not hasattr(history, "__len__"):
            raise TypeError(
                f"history must be a list of item ids or a list of such lists, got {type(history).__name__}."
            )
        if len(history) == 0:
            raise ValueError("The history is empty: recommend needs at least one item the user interacted with.")
        # A string is one (bad) item id, not a history: it falls through to the item check and its clear error.
        single = isinstance(history[0], (str, bytes)) or not hasattr(history[0], "__len__")
        histories = [history] if single else list(history)
        if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}.")
        was_training = self.training
        self.eval()
        try:
            encoded = self.encode_histories(histories)
            scores = self.score_histories(encoded, batch_size=batch_size, scorer=scorer)
        finally:
            self.train(was_training)
        scores[:, :NUM_SPECIAL_ITEMS] = float("-inf")
        if exclude_seen:
            for row, indexes in enumerate(encoded):
                scores[row, indexes] = float("-inf")
        results = []
        for row in range(len(encoded)):
            available = int(torch.isfinite(scores[row]).sum())
            top = torch.topk(scores[row], min(k, available))
            indexes = top.indices.tolist()
            results.append(
                {
                    "item_ids": [self.item_vocabulary.item_id(i) for i in indexes],
                    "titles": [self.item_vocabulary.title(i) for i in indexes],
                    "scores": top.values.tolist(),
                }
            )
        return results[0] if single else results


# Registering makes `save_pretrained` copy this file into the checkpoint and write `auto_map` into config.json.
Bert4RecConfig.register_for_auto_class()
Bert4RecModel.register_for_auto_class("AutoModel")
Bert4RecForSequentialRecommendation.register_for_auto_class("AutoModelForMaskedLM")

__all__ = [
    "ITEM_VOCAB_NAME",
    "MASK_ITEM_INDEX",
    "NUM_SPECIAL_ITEMS",
    "PAD_ITEM_INDEX",
    "PRESETS",
    "Bert4RecConfig",
    "Bert4RecForSequentialRecommendation",
    "Bert4RecModel",
    "Bert4RecPreTrainedModel",
    "ItemVocabulary",
    "UnknownItemError",
]
