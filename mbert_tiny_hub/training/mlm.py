"""task: mlm: masked-language-model pretraining of mBERT-Tiny on raw text, optionally distilling a masked-LM teacher.

    python train.py --config configs/mlm_tiny4.yaml
"""

from __future__ import annotations

import logging
import math
from typing import Any

from transformers import DataCollatorForLanguageModeling, set_seed

from modeling.trainers import DistillationTrainer, HubCheckpointTrainer

from ..config import ConfigError, ExperimentConfig
from ..results import environment_summary, model_summary, results_header
from ..tokenizer_classes import standard_tokenizer
from .arguments import RunTotals, make_training_arguments, training_summary
from .data import load_corpus
from .lifecycle import Run, command_line, hub_repo_id, start_training, write_final_folder
from .models import build_model, describe_parameters, load_bert_like


logger = logging.getLogger(__name__)


MLM_TRAINING_DEFAULTS: dict[str, Any] = {
    "eval_strategy": "steps",
    "eval_steps": 500,
    "save_strategy": "steps",
    "save_steps": 500,
    "prediction_loss_only": True,
    "learning_rate": 5e-4,
    "per_device_train_batch_size": 32,
    "num_train_epochs": 1,
    "warmup_steps": 0.05,
}


def group_into_blocks(corpus, tokenizer, block_size: int):
    """Tokenize every text ([CLS] text [SEP]), concatenate, cut into blocks of `block_size` tokens."""
    def tokenize(batch):
        return tokenizer(
            batch["text"], add_special_tokens=True, return_attention_mask=False, return_token_type_ids=False
        )

    def group(batch):
        ids = [token for row in batch["input_ids"] for token in row]
        usable = (len(ids) // block_size) * block_size
        blocks = [ids[i : i + block_size] for i in range(0, usable, block_size)]
        return {
            "input_ids": blocks,
            "special_tokens_mask": [
                tokenizer.get_special_tokens_mask(b, already_has_special_tokens=True) for b in blocks
            ],
        }

    tokenized = corpus.map(tokenize, batched=True, remove_columns=["text"], desc="Tokenizing the corpus")
    return tokenized.map(group, batched=True, batch_size=1000, desc=f"Grouping into blocks of {block_size}")


def run_mlm(config: ExperimentConfig, run: Run) -> dict:
    """Masked-language-model pretraining of mBERT-Tiny (from scratch, derived from a teacher, or continued from a
    checkpoint) on raw text; with distillation.teacher set, the teacher's MLM distribution is distilled too."""
    args = make_training_arguments(config, run.output_dir, MLM_TRAINING_DEFAULTS)
    set_seed(args.seed)
    with args.main_process_first(desc="loading the corpus"):
        corpus = load_corpus(config)
    teacher = None
    if config.distillation.teacher:
        teacher = load_bert_like(
            config.distillation.teacher, config.source, config.distillation.teacher_trust_remote_code
        )
        architectures = " ".join(teacher.config.architectures or [])
        if "MaskedLM" not in architectures and "PreTraining" not in architectures:
            raise ConfigError(
                f"{config.source}: MLM distillation needs a masked-LM teacher; {config.distillation.teacher!r} is "
                f"{architectures or type(teacher).__name__}."
            )
        if config.model.name_or_path is None and config.model.derive_from is None:
            config.model.derive_from = config.distillation.teacher
    same_teacher = teacher if teacher is not None and config.model.derive_from == config.distillation.teacher else None
    model, tokenizer, provenance = build_model(config, "masked_lm", None, lambda: corpus["text"], same_teacher)
    if tokenizer.mask_token is None:
        raise ConfigError(
            f"{config.source}: the tokenizer {provenance['tokenizer']!r} has no mask token; MLM needs one."
        )
    describe_parameters(model)
    with args.main_process_first(desc="tokenizing the corpus"):
        blocks = group_into_blocks(corpus, tokenizer, config.model.max_length)
    tokenizer = standard_tokenizer(tokenizer)
    if len(blocks) < 2:
        raise ConfigError(
            f"{config.source}: the corpus gives {len(blocks)} block(s) of {config.model.max_length} tokens; "
            "it needs more text."
        )
    held_out = min(
        max(1, int(len(blocks) * config.mlm.validation_size)), config.mlm.max_validation_blocks, len(blocks) - 1
    )
    split = blocks.train_test_split(test_size=held_out, seed=args.seed)
    logger.info(
        "MLM corpus: %d texts -> %d training blocks and %d held-out blocks of %d tokens.",
        len(corpus),
        len(split["train"]),
        len(split["test"]),
        config.model.max_length,
    )
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=config.mlm.mlm_probability)
    common = {
        "model": model,
        "args": args,
        "train_dataset": split["train"],
        "eval_dataset": split["test"],
        "processing_class": tokenizer,
        "data_collator": collator,
        "callbacks": [RunTotals(), *run.options.callbacks],
    }
    if teacher is not None:
        trainer = DistillationTrainer(
            **common,
            teacher_model=teacher,
            objective="mlm",
            temperature=config.distillation.temperature,
            alpha=config.distillation.alpha,
            hidden_weight=config.distillation.hidden_weight,
            hidden_layers=config.distillation.hidden_layers,
            teacher_token_ids=provenance.get("kept_token_ids"),
        )
    else:
        trainer = HubCheckpointTrainer(**common)
        # mBERT-Tiny's MLM loss is a per-batch mean: never scale it as if it were normalised by num_items_in_batch.
        trainer.model_accepts_loss_kwargs = False

    start_training(run, args)
    train_output = trainer.train(resume_from_checkpoint=run.resume_from)
    metrics = trainer.evaluate(metric_key_prefix="eval")
    if teacher is not None:
        trainer.remove_projection()  # training-only: the published student has no projection
    first_eval = next((entry["eval_loss"] for entry in trainer.state.log_history if "eval_loss" in entry), None)
    results = {
        **results_header("fill-mask", command_line(run.options)),
        "model": model_summary(
            trainer.accelerator.unwrap_model(trainer.model),
            hub_repo_id(config, run.options) or str(run.output_dir),
            measure_size=False,
        ),
        "dataset": {
            "corpus": config.data.corpus or config.data.dataset,
            "num_texts": len(corpus),
            "train_blocks": len(split["train"]),
            "held_out_blocks": len(split["test"]),
            "block_size": config.model.max_length,
        },
        "results": {
            "model": {
                "eval_loss": metrics["eval_loss"],
                "perplexity": math.exp(min(metrics["eval_loss"], 50.0)),
                "first_eval_loss": first_eval,
            }
        },
        "training": training_summary(trainer, train_output),
        "environment": environment_summary(num_processes=args.world_size),
    }
    logger.info(
        "Held-out MLM loss %.4f (perplexity %.1f)", metrics["eval_loss"], results["results"]["model"]["perplexity"]
    )
    write_final_folder(trainer, run, results)
    return results
