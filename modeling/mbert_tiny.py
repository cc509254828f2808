# Copyright 2026 The mbert-tiny-hub authors. Licensed under the Apache License, Version 2.0.
"""mBERT-Tiny: multilingual BERT compressed into 2, 4 or 6 narrow layers over a pruned vocabulary.

This file is the whole model, config to heads, readable top to bottom. It imports nothing from this project,
so it can also travel with a checkpoint as remote code.

Checkpoints are plain BERT checkpoints: `model_type` is "bert", `architectures` names the stock class
(`BertForSequenceClassification`, `BertForMaskedLM`, `BertModel`) and every parameter keeps the name it has in
`transformers.BertModel`, so a stock `transformers` loads them with `AutoModel` / `AutoModelForSequenceClassification`
and no remote code, and computes the same outputs. Saving inside `with remote_code(model):` is the explicit
opt-in to the other route: `save_pretrained` then copies this file next to the weights and writes `auto_map`, and
with `trust_remote_code=True` the Auto classes return the classes below (which add masked-position-only MLM logits
and the presets).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.activations import ACT2FN
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    SequenceClassifierOutput,
)

# Size of the vocabulary the presets are budgeted for: every special and single-character piece of
# bert-base-multilingual-cased (about 20,000) plus the most frequent multi-character pieces of the corpus.
DEFAULT_VOCAB_SIZE = 40_000

# Presets: depth and width of the student, FFN 4x hidden (the BERT recipe). Built from scratch, heads are 64 wide.
# Derived from a teacher (modeling.derivation), a student keeps whole teacher heads, so the head count follows the
# teacher's head size: mBERT (64) gives the 2/4/6 heads below, multilingual-e5-small (32) gives 4/8/12. Whole heads
# carry the teacher's attention patterns over unchanged, which cut heads would not; at a fixed width the count does
# not change the parameters. Why these widths: Tiny6 keeps e5's full width (384), so its six layers are the
# teacher's own (layers 0,2,4,6,8,10 match translations as well as all twelve, untrained); Tiny4 and Tiny2 spend the
# rest of their budgets on a 40,000-piece vocabulary, which 22-28 language corpora need (a 20,000-piece vocabulary
# would let Tiny4 stay 384 wide, at the cost of splitting the low-resource languages' words into characters).
# Whole-model parameter counts at DEFAULT_VOCAB_SIZE (embeddings included): 5.6M, 13.6M, 26.4M;
# budgets 6.2M, 15M, 28.4M.
PRESETS = {
    "tiny2": {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 512},
    "tiny4": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024},
    "tiny6": {"num_hidden_layers": 6, "hidden_size": 384, "num_attention_heads": 6, "intermediate_size": 1536},
}
PARAMETER_BUDGETS = {"tiny2": 6_200_000, "tiny4": 15_000_000, "tiny6": 28_400_000}

# The stock transformers class each project class saves as: plain checkpoints name these in `architectures`.
STOCK_CLASSES = {
    "MBertTinyModel": "BertModel",
    "MBertTinyForSequenceClassification": "BertForSequenceClassification",
    "MBertTinyForMaskedLM": "BertForMaskedLM",
}
AUTO_MAP = {
    "AutoConfig": "mbert_tiny.MBertTinyConfig",
    "AutoModel": "mbert_tiny.MBertTinyModel",
    "AutoModelForSequenceClassification": "mbert_tiny.MBertTinyForSequenceClassification",
    "AutoModelForMaskedLM": "mbert_tiny.MBertTinyForMaskedLM",
}


class MBertTinyConfig(PreTrainedConfig):
    r"""Configuration of an mBERT-Tiny model. Field names and meanings are BERT's, so the saved `config.json`
    is a valid `BertConfig`.

    Extra fields (kept as plain data in `config.json`; stock BERT ignores them):
        preset (`str`, *optional*): "tiny2", "tiny4" or "tiny6" when the shape came from a preset.
        teacher_name_or_path (`str`, *optional*): the checkpoint the student was derived from.
        teacher_layers (`list[int]`, *optional*): which teacher layers the student's layers started from.
        vocab_source (`str`, *optional*): the tokenizer whose vocabulary was pruned.

    Example:
    ```python
    >>> config = MBertTinyConfig.from_preset("tiny4", vocab_size=40_000, num_labels=6)
    >>> model = MBertTinyForSequenceClassification(config)
    ```
    """

    model_type = "bert"

    vocab_size: int = DEFAULT_VOCAB_SIZE
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    classifier_dropout: float | None = None
    is_decoder: bool = False
    add_cross_attention: bool = False
    use_cache: bool = False
    tie_word_embeddings: bool = True
    preset: str | None = None
    teacher_name_or_path: str | None = None
    teacher_layers: list[int] | None = None
    vocab_source: str | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of num_attention_heads "
                f"({self.num_attention_heads})."
            )

    def to_dict(self):
        output = super().to_dict()
        if type(self)._auto_class is not None and output.get("auto_map"):
            return output  # saved as remote code (see `remote_code`)
        # A plain checkpoint: stock transformers (and the Hub's widgets and tags) read it as the BERT it is.
        output.pop("auto_map", None)
        if output.get("architectures"):
            output["architectures"] = [STOCK_CLASSES.get(name, name) for name in output["architectures"]]
        return output

    @classmethod
    def from_preset(cls, preset: str, **kwargs) -> "MBertTinyConfig":
        """Config of preset `tiny2`, `tiny4` or `tiny6`; keyword arguments override any field."""
        if preset not in PRESETS:
            raise ValueError(f"Unknown mBERT-Tiny preset {preset!r}: choose one of {', '.join(sorted(PRESETS))}.")
        return cls(**{**PRESETS[preset], "preset": preset, **kwargs})


class MBertTinyEmbeddings(nn.Module):
    """Word + learned absolute position + token type embeddings, then LayerNorm and dropout."""

    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
        )

    def forward(self, input_ids, token_type_ids=None, position_ids=None, inputs_embeds=None):
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        seq_length = inputs_embeds.shape[1]
        if position_ids is None:
            position_ids = self.position_ids[:, :seq_length]
        if token_type_ids is None:
            token_type_ids = torch.zeros(inputs_embeds.shape[:2], dtype=torch.long, device=inputs_embeds.device)
        embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class MBertTinySelfAttention(nn.Module):
    """Multi-head self-attention through `scaled_dot_product_attention` (fused kernels on CPU and GPU)."""

    def __init__(self, config: MBertTinyConfig):
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


class MBertTinySelfOutput(nn.Module):
    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class MBertTinyAttention(nn.Module):
    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.self = MBertTinySelfAttention(config)
        self.output = MBertTinySelfOutput(config)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        return self.output(self.self(hidden_states, attention_mask), hidden_states)


class MBertTinyIntermediate(nn.Module):
    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACT2FN[config.hidden_act]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class MBertTinyOutput(nn.Module):
    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class MBertTinyLayer(nn.Module):
    """Post-LayerNorm transformer block: attention, then the feed-forward network, each with a residual."""

    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.attention = MBertTinyAttention(config)
        self.intermediate = MBertTinyIntermediate(config)
        self.output = MBertTinyOutput(config)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        attention_output = self.attention(hidden_states, attention_mask)
        return self.output(self.intermediate(attention_output), attention_output)


class MBertTinyEncoder(nn.Module):
    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.layer = nn.ModuleList([MBertTinyLayer(config) for _ in range(config.num_hidden_layers)])
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


class MBertTinyPooler(nn.Module):
    """tanh(dense(hidden state of [CLS])), as BERT's pooler."""

    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


class MBertTinyPreTrainedModel(PreTrainedModel):
    config_class = MBertTinyConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["MBertTinyEmbeddings", "MBertTinyLayer"]
    # forward() takes **kwargs only to ignore extra inputs: its losses are plain means, so the Trainer must
    # average them itself over gradient accumulation steps and processes.
    accepts_loss_kwargs = False

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, MBertTinyLMPredictionHead):
            module.bias.zero_()
        elif isinstance(module, MBertTinyEmbeddings):
            module.position_ids.copy_(torch.arange(module.position_ids.shape[-1]).expand((1, -1)))


def _expand_attention_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """(batch, seq) 1/0 padding mask -> additive (batch, 1, 1, seq) mask for SDPA; None when nothing is padded."""
    if attention_mask is None:
        return None
    if attention_mask.dim() == 4:
        return attention_mask
    inverted = 1.0 - attention_mask[:, None, None, :].to(dtype)
    return inverted * torch.finfo(dtype).min


class MBertTinyModel(MBertTinyPreTrainedModel):
    """The bare encoder: `last_hidden_state` for every token and the `[CLS]` pooler output."""

    def __init__(self, config: MBertTinyConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = MBertTinyEmbeddings(config)
        self.encoder = MBertTinyEncoder(config)
        self.pooler = MBertTinyPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.word_embeddings = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPooling | tuple:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids or inputs_embeds.")
        output_hidden_states = bool(output_hidden_states or self.config.output_hidden_states)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        embedding_output = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        mask = _expand_attention_mask(attention_mask, embedding_output.dtype)
        sequence_output, hidden_states = self.encoder(embedding_output, mask, output_hidden_states)
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:
            return tuple(v for v in (sequence_output, pooled_output, hidden_states) if v is not None)
        return BaseModelOutputWithPooling(
            last_hidden_state=sequence_output, pooler_output=pooled_output, hidden_states=hidden_states
        )


class MBertTinyForSequenceClassification(MBertTinyPreTrainedModel):
    """Pooled `[CLS]` -> dropout -> linear. `config.problem_type` picks the built-in loss:
    "single_label_classification" (softmax CE), "multi_label_classification" (sigmoid BCE) or "regression"."""

    def __init__(self, config: MBertTinyConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = MBertTinyModel(config)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput | tuple:
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output))

        loss = None
        if labels is not None:
            if self.config.problem_type is None:
                if self.num_labels == 1:
                    self.config.problem_type = "regression"
                elif labels.dtype in (torch.long, torch.int):
                    self.config.problem_type = "single_label_classification"
                else:
                    self.config.problem_type = "multi_label_classification"
            if self.config.problem_type == "regression":
                loss = F.mse_loss(logits.squeeze(-1), labels.squeeze(-1).to(logits.dtype))
            elif self.config.problem_type == "single_label_classification":
                loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))

        if not return_dict:
            output = (logits,) + ((outputs.hidden_states,) if outputs.hidden_states is not None else ())
            return ((loss,) + output) if loss is not None else output
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states)


class MBertTinyPredictionHeadTransform(nn.Module):
    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACT2FN[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class MBertTinyLMPredictionHead(nn.Module):
    """Transform, then a decoder tied to the word embeddings plus an output-only bias."""

    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.transform = MBertTinyPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=True)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden_states))


class MBertTinyOnlyMLMHead(nn.Module):
    def __init__(self, config: MBertTinyConfig):
        super().__init__()
        self.predictions = MBertTinyLMPredictionHead(config)

    def forward(self, sequence_output: torch.Tensor) -> torch.Tensor:
        return self.predictions(sequence_output)


class MBertTinyForMaskedLM(MBertTinyPreTrainedModel):
    """Masked language model for pretraining and distillation.

    With `labels`, logits are computed only where `labels != -100` (shape `(num_masked, vocab_size)`): the
    vocabulary projection is most of an MLM step's cost, and unmasked positions never enter the loss. Pass
    `return_all_logits=True` for `(batch, seq, vocab_size)` logits as stock BERT returns them.
    """

    _tied_weights_keys = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: MBertTinyConfig):
        super().__init__(config)
        self.bert = MBertTinyModel(config, add_pooling_layer=False)
        self.cls = MBertTinyOnlyMLMHead(config)
        self.post_init()

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings):
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        return_all_logits: bool = False,
        **kwargs,
    ) -> MaskedLMOutput | tuple:
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        sequence_output = outputs.last_hidden_state
        loss = None
        if labels is not None and not return_all_logits:
            selected = labels != -100
            logits = self.cls(sequence_output[selected])
            target = labels[selected]
            # An all-unmasked batch still yields a (zero) loss connected to the graph.
            loss = F.cross_entropy(logits, target) if target.numel() else logits.sum() * 0.0
        else:
            logits = self.cls(sequence_output)
            if labels is not None:
                loss = F.cross_entropy(logits.view(-1, self.config.vocab_size), labels.view(-1))

        if not return_dict:
            output = (logits,) + ((outputs.hidden_states,) if outputs.hidden_states is not None else ())
            return ((loss,) + output) if loss is not None else output
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Total, embedding (word + position + token type) and trainable parameter counts; tied weights once."""
    seen, total, trainable, embeddings = set(), 0, 0, 0
    for name, parameter in model.named_parameters(remove_duplicate=True):
        if id(parameter) in seen:
            continue
        seen.add(id(parameter))
        total += parameter.numel()
        trainable += parameter.numel() if parameter.requires_grad else 0
        if ".embeddings." in f".{name}" and "LayerNorm" not in name:
            embeddings += parameter.numel()
    return {"total": total, "embeddings": embeddings, "trainable": trainable}


@contextlib.contextmanager
def remote_code(model: MBertTinyPreTrainedModel):
    """Within this block `model.save_pretrained` also copies this file and writes `auto_map` into config.json, so
    `trust_remote_code=True` returns the project's classes; outside it, checkpoints are plain BERT."""
    classes = {
        MBertTinyConfig: "AutoConfig",
        MBertTinyModel: "AutoModel",
        MBertTinyForSequenceClassification: "AutoModelForSequenceClassification",
        MBertTinyForMaskedLM: "AutoModelForMaskedLM",
    }
    previous = getattr(model.config, "auto_map", None)
    model.config.auto_map = dict(AUTO_MAP)  # every Auto class resolves to this file, whichever head was saved
    for cls, auto_class in classes.items():
        cls.register_for_auto_class(auto_class)
    try:
        yield model
    finally:
        for cls in classes:
            cls._auto_class = None
        model.config.auto_map = previous


__all__ = [
    "DEFAULT_VOCAB_SIZE",
    "PARAMETER_BUDGETS",
    "PRESETS",
    "STOCK_CLASSES",
    "MBertTinyConfig",
    "MBertTinyForMaskedLM",
    "MBertTinyForSequenceClassification",
    "MBertTinyModel",
    "MBertTinyPreTrainedModel",
    "count_parameters",
    "remote_code",
]
