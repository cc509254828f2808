"""Derive an mBERT-Tiny student from a BERT teacher: vocabulary pruning, layer selection, width reduction.

The student starts from the teacher's weights wherever a weight has a counterpart:
  - embedding rows of the kept vocabulary (`PrunedVocabulary.kept_ids`),
  - the teacher layers chosen by `layers` ("uniform" spreads them over the depth, ending at the top layer),
  - for a narrower student, the most important hidden dimensions, attention heads and feed-forward neurons
    (largest weight norms), the same residual dimensions in every layer so the residual stream lines up
    (the "weight subcloning" recipe).
With the teacher's width and all of its layers, the student computes exactly the teacher's function on text
inside the kept vocabulary. Distillation (see `modeling.trainers.DistillationTrainer`) then closes the gap
a smaller student opens.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification, PreTrainedModel

from .mbert_tiny import (
    MBertTinyConfig,
    MBertTinyForMaskedLM,
    MBertTinyForSequenceClassification,
    MBertTinyModel,
    MBertTinyPreTrainedModel,
)

# Config fields the student copies from the teacher so that the two compute the same function.
_INHERITED_FIELDS = (
    "hidden_act",
    "layer_norm_eps",
    "max_position_embeddings",
    "type_vocab_size",
    "pad_token_id",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "initializer_range",
)
_SHAPE_FIELDS = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size")


def load_teacher(name_or_path: str, **kwargs) -> PreTrainedModel:
    """Load a BERT-like checkpoint with the head its `architectures` names (MLM, classifier, or bare)."""
    config = AutoConfig.from_pretrained(name_or_path, **kwargs)
    if getattr(config, "model_type", None) != "bert":
        raise ValueError(
            f"Teacher {name_or_path!r} is a {getattr(config, 'model_type', 'unknown')!r} model; derive_student "
            "needs a BERT-like checkpoint (model_type 'bert', e.g. bert-base-multilingual-cased)."
        )
    architectures = " ".join(config.architectures or [])
    if "SequenceClassification" in architectures:
        auto_class = AutoModelForSequenceClassification
    elif "MaskedLM" in architectures or "PreTraining" in architectures:
        auto_class = AutoModelForMaskedLM
    else:
        auto_class = AutoModel
    return auto_class.from_pretrained(name_or_path, **kwargs)


def _teacher_state(teacher: PreTrainedModel) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], object]:
    """Split a teacher into (encoder weights keyed like `BertModel`, head weights, config); check it is BERT-like."""
    if not isinstance(teacher, PreTrainedModel):
        raise TypeError(f"The teacher must be a transformers PreTrainedModel; got {type(teacher).__name__}.")
    config = teacher.config
    state = teacher.state_dict()
    prefix = f"{teacher.base_model_prefix}." if any(k.startswith(f"{teacher.base_model_prefix}.") for k in state) else ""
    required = ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight")
    if getattr(config, "model_type", None) != "bert" or any(prefix + key not in state for key in required):
        raise ValueError(
            f"The teacher ({type(teacher).__name__}, model_type {getattr(config, 'model_type', None)!r}) is not "
            "BERT-like: derive_student needs BERT parameter names (embeddings.word_embeddings, "
            "encoder.layer.N.attention.self.query, ...)."
        )
    base = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    heads = {key: value for key, value in state.items() if not key.startswith(prefix) or not prefix}
    return base, heads, config


def select_layers(num_teacher_layers: int, num_student_layers: int, layers: str | Sequence[int] = "uniform") -> list[int]:
    """Teacher layer index for each student layer. "uniform": evenly spaced, ending at the top layer
    (12 -> 4 keeps 2, 5, 8, 11); "bottom": the first ones; or an explicit list."""
    if num_student_layers > num_teacher_layers:
        raise ValueError(
            f"The student has {num_student_layers} layers but the teacher only {num_teacher_layers}: "
            "a student can only keep teacher layers."
        )
    if isinstance(layers, str):
        if layers == "uniform":
            step = num_teacher_layers / num_student_layers
            return [round(step * (index + 1)) - 1 for index in range(num_student_layers)]
        if layers == "bottom":
            return list(range(num_student_layers))
        raise ValueError(f"Unknown layer selection {layers!r}: use 'uniform', 'bottom' or a list of layer indices.")
    chosen = [int(index) for index in layers]
    if len(chosen) != num_student_layers:
        raise ValueError(f"layers lists {len(chosen)} teacher layers for a student with {num_student_layers} layers.")
    if any(not 0 <= index < num_teacher_layers for index in chosen):
        raise ValueError(f"layers {chosen} has indices outside the teacher's 0..{num_teacher_layers - 1}.")
    return chosen


def _top_indices(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k largest scores, in ascending index order (so keeping everything keeps the order)."""
    return torch.sort(torch.topk(scores, k).indices).values


def derive_student(
    teacher: PreTrainedModel | str,
    preset: str | None = None,
    kept_token_ids: Sequence[int] | None = None,
    layers: str | Sequence[int] = "uniform",
    head: str = "masked_lm",
    **config_overrides,
) -> MBertTinyPreTrainedModel:
    """Build an mBERT-Tiny student initialised from `teacher`.

    Args:
        teacher: a BERT-like model or checkpoint name/path (bare, masked LM or sequence classifier).
        preset: "tiny2", "tiny4" or "tiny6"; None keeps the teacher's width and depth unless overridden.
        kept_token_ids: original ids of the kept vocabulary (`PrunedVocabulary.kept_ids`); None keeps all.
        layers: which teacher layers the student's layers start from (see `select_layers`).
        head: "masked_lm", "sequence_classification" or "base".
        **config_overrides: any `MBertTinyConfig` field (num_labels, id2label, hidden_size, ...).
    """
    teacher_name = teacher if isinstance(teacher, str) else None
    if isinstance(teacher, str):
        teacher = load_teacher(teacher)
    base, heads, teacher_config = _teacher_state(teacher)
    teacher_name = teacher_name or getattr(teacher_config, "_name_or_path", None) or None

    shape = {field: getattr(teacher_config, field) for field in _SHAPE_FIELDS}
    if preset is not None:
        shape = MBertTinyConfig.from_preset(preset).to_dict()
        shape = {field: shape[field] for field in _SHAPE_FIELDS}
        # A derived student keeps whole teacher heads: the preset fixes depth and width, the teacher the head
        # size (mBERT's 64 gives the presets' 2/4/6 heads; multilingual-e5-small's 32 gives 4/8/12).
        teacher_head_size = teacher_config.hidden_size // teacher_config.num_attention_heads
        if shape["hidden_size"] % teacher_head_size == 0:
            shape["num_attention_heads"] = shape["hidden_size"] // teacher_head_size
    shape.update({key: config_overrides.pop(key) for key in _SHAPE_FIELDS if key in config_overrides})
    inherited = {field: getattr(teacher_config, field) for field in _INHERITED_FIELDS if hasattr(teacher_config, field)}
    vocab_ids = torch.tensor(
        list(kept_token_ids) if kept_token_ids is not None else range(teacher_config.vocab_size), dtype=torch.long
    )
    teacher_layers = select_layers(teacher_config.num_hidden_layers, shape["num_hidden_layers"], layers)
    pad_id = inherited.get("pad_token_id")
    if pad_id is not None and kept_token_ids is not None:
        # The padding row moves with the pruned vocabulary (it must stay the row the tokenizer pads with).
        kept = vocab_ids.tolist()
        inherited["pad_token_id"] = kept.index(pad_id) if pad_id in kept else None
    config = MBertTinyConfig(
        **{**inherited, **shape},
        vocab_size=len(vocab_ids),
        preset=preset,
        teacher_name_or_path=teacher_name,
        teacher_layers=teacher_layers,
        **config_overrides,
    )

    hidden_t, hidden_s = teacher_config.hidden_size, config.hidden_size
    heads_t, heads_s = teacher_config.num_attention_heads, config.num_attention_heads
    head_size_t, head_size_s = hidden_t // heads_t, hidden_s // heads_s
    if hidden_s > hidden_t or heads_s > heads_t or head_size_s > head_size_t:
        raise ValueError(
            f"The student ({hidden_s} hidden, {heads_s} heads of {head_size_s}) must not be wider than the teacher "
            f"({hidden_t} hidden, {heads_t} heads of {head_size_t})."
        )
    if config.intermediate_size > teacher_config.intermediate_size:
        raise ValueError("The student's intermediate_size must not exceed the teacher's.")

    word = base["embeddings.word_embeddings.weight"]
    if int(vocab_ids.max()) >= word.shape[0]:
        raise ValueError(f"kept_token_ids reach id {int(vocab_ids.max())} but the teacher has {word.shape[0]} rows.")
    # Residual dimensions: the largest-norm columns of the kept word embeddings.
    dims = _top_indices(word[vocab_ids].norm(dim=0), hidden_s)

    student_state: dict[str, torch.Tensor] = {
        "embeddings.word_embeddings.weight": word[vocab_ids][:, dims],
        "embeddings.position_embeddings.weight": base["embeddings.position_embeddings.weight"][
            : config.max_position_embeddings
        ][:, dims],
        "embeddings.token_type_embeddings.weight": base["embeddings.token_type_embeddings.weight"][:, dims],
        "embeddings.LayerNorm.weight": base["embeddings.LayerNorm.weight"][dims],
        "embeddings.LayerNorm.bias": base["embeddings.LayerNorm.bias"][dims],
    }
    for student_index, teacher_index in enumerate(teacher_layers):
        t, s = f"encoder.layer.{teacher_index}.", f"encoder.layer.{student_index}."
        # Heads ranked by the norm of their slice of the attention output projection.
        out_weight = base[t + "attention.output.dense.weight"]
        head_scores = out_weight.view(hidden_t, heads_t, head_size_t).norm(dim=(0, 2))
        kept_heads = _top_indices(head_scores, heads_s)
        head_dims = (kept_heads[:, None] * head_size_t + torch.arange(head_size_s)[None, :]).reshape(-1)
        for name in ("query", "key", "value"):
            student_state[s + f"attention.self.{name}.weight"] = base[t + f"attention.self.{name}.weight"][head_dims][:, dims]
            student_state[s + f"attention.self.{name}.bias"] = base[t + f"attention.self.{name}.bias"][head_dims]
        student_state[s + "attention.output.dense.weight"] = out_weight[dims][:, head_dims]
        student_state[s + "attention.output.dense.bias"] = base[t + "attention.output.dense.bias"][dims]
        # Feed-forward neurons ranked by |input weights| * |output weights|.
        ffn_in, ffn_out = base[t + "intermediate.dense.weight"], base[t + "output.dense.weight"]
        neurons = _top_indices(ffn_in.norm(dim=1) * ffn_out.norm(dim=0), config.intermediate_size)
        student_state[s + "intermediate.dense.weight"] = ffn_in[neurons][:, dims]
        student_state[s + "intermediate.dense.bias"] = base[t + "intermediate.dense.bias"][neurons]
        student_state[s + "output.dense.weight"] = ffn_out[dims][:, neurons]
        student_state[s + "output.dense.bias"] = base[t + "output.dense.bias"][dims]
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            student_state[s + f"{norm}.weight"] = base[t + f"{norm}.weight"][dims]
            student_state[s + f"{norm}.bias"] = base[t + f"{norm}.bias"][dims]
    if "pooler.dense.weight" in base:
        student_state["pooler.dense.weight"] = base["pooler.dense.weight"][dims][:, dims]
        student_state["pooler.dense.bias"] = base["pooler.dense.bias"][dims]

    if head == "masked_lm":
        student = MBertTinyForMaskedLM(config)
        prefixed = {f"bert.{key}": value for key, value in student_state.items() if not key.startswith("pooler.")}
        if "cls.predictions.transform.dense.weight" in heads:
            transform = "cls.predictions.transform."
            prefixed[transform + "dense.weight"] = heads[transform + "dense.weight"][dims][:, dims]
            prefixed[transform + "dense.bias"] = heads[transform + "dense.bias"][dims]
            prefixed[transform + "LayerNorm.weight"] = heads[transform + "LayerNorm.weight"][dims]
            prefixed[transform + "LayerNorm.bias"] = heads[transform + "LayerNorm.bias"][dims]
            prefixed["cls.predictions.bias"] = heads["cls.predictions.bias"][vocab_ids]
    elif head == "sequence_classification":
        student = MBertTinyForSequenceClassification(config)
        prefixed = {f"bert.{key}": value for key, value in student_state.items()}
        same_labels = getattr(teacher_config, "id2label", None) == config.id2label
        if "classifier.weight" in heads and same_labels and heads["classifier.weight"].shape[0] == config.num_labels:
            prefixed["classifier.weight"] = heads["classifier.weight"][:, dims]
            prefixed["classifier.bias"] = heads["classifier.bias"]
    elif head == "base":
        student = MBertTinyModel(config)
        prefixed = student_state
    else:
        raise ValueError(f"Unknown head {head!r}: use 'masked_lm', 'sequence_classification' or 'base'.")

    missing, unexpected = student.load_state_dict({k: v.clone() for k, v in prefixed.items()}, strict=False)
    if unexpected:
        raise RuntimeError(f"derive_student produced weights the student does not have: {unexpected}")
    student.tie_weights()
    return student
