"""task: lora: a peft LoRA adapter on a classification model, and the adapter merged into its base after training."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from peft import LoraConfig as PeftLoraConfig, TaskType, get_peft_model
from torch import nn

from ..config import ConfigError, ExperimentConfig, save_config
from ..files import atomic_write
from .lifecycle import Run, write_card


logger = logging.getLogger(__name__)


def linear_module_names(model: nn.Module) -> list[str]:
    """The distinct last names of a model's linear layers (what peft's target_modules matches)."""
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)})


def apply_lora(model: nn.Module, config: ExperimentConfig, missing_keys: Sequence[str] = ()):
    """Wrap `model` with a peft LoRA adapter after checking that every target module exists."""
    lora, source = config.lora, config.source
    full_names = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    missing = [t for t in lora.target_modules if not any(n == t or n.endswith("." + t) for n in full_names)]
    if missing:
        raise ConfigError(
            f"{source}: lora.target_modules {missing} do not exist in {type(model).__name__}. Its linear modules: "
            f"{', '.join(linear_module_names(model))}."
        )
    modules_to_save = list(lora.modules_to_save or [])
    if lora.modules_to_save is None and any(".pooler." in f".{key}" for key in missing_keys):
        modules_to_save.append("pooler")  # a base without a trained pooler: train it with the head
    # task_type SEQ_CLS already trains and saves the head (peft adds "classifier" and "score"): never list it twice.
    extra_modules = [name for name in dict.fromkeys(modules_to_save) if name not in ("classifier", "score")]
    head_modules = ["classifier", "score"]
    peft_config = PeftLoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        modules_to_save=list(extra_modules) or None,  # a copy: peft extends this list with the head's names
        bias=lora.bias,
    )
    try:
        peft_model = get_peft_model(model, peft_config)
    except ValueError as error:
        raise ConfigError(f"{source}: lora: {error}") from None
    trainable, total = peft_model.get_nb_trainable_parameters()
    logger.info(
        "LoRA r=%d alpha=%d on %s (+ trained in full: %s): trainable params: %s || all params: %s || trainable%%: %.4f",
        lora.r,
        lora.alpha,
        ", ".join(lora.target_modules),
        ", ".join(extra_modules + [name for name in head_modules if hasattr(model, name)]),
        f"{trainable:,}",
        f"{total:,}",
        100.0 * trainable / total,
    )
    return peft_model


def write_merged_model(trainer, run: Run, tokenizer) -> None:
    """The adapter merged into its base model (`merge_and_unload`), saved as a full model folder."""
    merged_dir = Path(run.config.lora.merged_output_dir or f"{run.output_dir}-merged")
    if trainer.is_world_process_zero():
        merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
        with atomic_write(merged_dir, directory=True) as staging:
            merged.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            save_config(run.config, staging / "train_config.yaml")
            if (run.output_dir / "results.json").exists():
                shutil.copy2(run.output_dir / "results.json", staging / "results.json")
        logger.info("Wrote the merged model (adapter folded into the base weights) to %s", merged_dir)
        if (merged_dir / "results.json").exists():
            write_card(merged_dir, json.loads((merged_dir / "results.json").read_text()), run.config)
    trainer.accelerator.wait_for_everyone()
