"""Models of mbert-tiny-hub: mBERT-Tiny (modeling/mbert_tiny.py) and BERT4Rec (modeling/bert4rec.py),
and the compression tools that build mBERT-Tiny students from BERT teachers."""

from .derivation import derive_student, load_teacher, select_layers
from .mbert_tiny import (
    DEFAULT_VOCAB_SIZE,
    PARAMETER_BUDGETS,
    PRESETS,
    MBertTinyConfig,
    MBertTinyForMaskedLM,
    MBertTinyForSequenceClassification,
    MBertTinyModel,
    MBertTinyPreTrainedModel,
    count_parameters,
)
from .vocab_pruning import PrunedVocabulary, count_token_frequencies, prune_vocabulary
from .losses import HybridLoss, class_weights_from_counts, distillation_kl, hybrid_loss, language_weights_from_counts


def __getattr__(name):
    # The Trainer subclasses import transformers.Trainer (accelerate, peft: seconds): load them on first use.
    if name in ("HybridLossTrainer", "DistillationTrainer"):
        from . import trainers

        return getattr(trainers, name)
    raise AttributeError(f"module 'modeling' has no attribute {name!r}")
