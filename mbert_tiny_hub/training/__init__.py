"""The task runners behind train.py, one module per task, and `run_experiment`, which runs one of them.

`run_experiment(config, ...)` validates everything that can be wrong (config keys, dataset columns, teacher labels,
LoRA targets) before any training starts and before the output folder exists, hands training to a
`transformers.Trainer` (so `accelerate launch` runs it on several processes or GPUs unchanged), evaluates the best
model on the test split, and turns the output folder into a Hub repository with `finalize_output_folder`.

| module | what it holds |
|---|---|
| `lifecycle.py` | `RunOptions`, `Run`; output folder checks, resume, push checks, the final folder, card and push |
| `arguments.py` | TrainingArguments defaults, callbacks, the `training` block of results.json |
| `data.py` | tokenizers, classification datasets, raw-text corpora |
| `models.py` | `build_model` (checkpoint, derived student, or fresh mBERT-Tiny), teacher loading |
| `classification.py` | tasks classification, lora, distillation (`run_classification`) |
| `lora.py`, `distillation.py` | what those two variants add: the adapter, the teacher |
| `mlm.py` | task mlm |
| `general_distillation.py` | task general_distillation |
| `recommendation.py` | task bert4rec |

Tasks are dispatched through `TASK_RUNNERS`; each runner is `runner(config, run) -> results dict`.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from ..config import ConfigError, ExperimentConfig
from .classification import build_hybrid_loss, language_weights_for, run_classification
from .data import LabelInfo, load_classification_data, load_corpus, load_tokenizer, tokenize_classification
from .general_distillation import run_general_distillation
from .lifecycle import (
    Run,
    RunOptions,
    check_before_pushing,
    check_output_dir,
    default_output_dir,
    distributed_state,
    enable_trainer_pushes,
    finalize_output_folder,
    has_run_files,
    hub_repo_id,
    is_main_process,
    push_private,
    resume_checkpoint,
)
from .lora import apply_lora, linear_module_names
from .mlm import run_mlm
from .models import build_model
from .recommendation import run_bert4rec


logger = logging.getLogger(__name__)


TASK_RUNNERS: dict[str, Callable[[ExperimentConfig, Run], dict]] = {
    "classification": run_classification,
    "lora": run_classification,
    "distillation": run_classification,
    "mlm": run_mlm,
    "bert4rec": run_bert4rec,
    "general_distillation": run_general_distillation,
}


def run_experiment(config: ExperimentConfig, options: RunOptions | None = None) -> dict:
    """Validate, train, evaluate and finalize one experiment; returns its results (results.json).

    Nothing is deleted before the config, the data, the tokenizer, the model and (when pushing) the Hub repository
    and token have been checked: --overwrite_output_dir empties the folder only when training starts."""
    options = options or RunOptions()
    output_dir = Path(options.output_dir or config.training.get("output_dir") or default_output_dir(config))
    check_output_dir(output_dir, options.overwrite_output_dir)
    repo_id = hub_repo_id(config, options)
    if repo_id:
        check_before_pushing(config, options, repo_id)  # fail now, not after hours of training
        enable_trainer_pushes(config, options, repo_id)
    resume_from = resume_checkpoint(
        output_dir, options.resume, repo_id, config.hub.revision, distributed_state(config)
    )
    replace = False
    if resume_from is None and has_run_files(output_dir):
        if not options.overwrite_output_dir:
            raise ConfigError(
                f"The output folder {output_dir} already holds files: pass --resume to continue that run, "
                "--overwrite_output_dir to start over in it, or choose another --output_dir."
            )
        replace = True
    if resume_from:
        logger.info("Resuming the run in %s from %s", output_dir, resume_from)
    run = Run(config, options, output_dir, resume_from=resume_from, replace_output_dir=replace)
    existed = output_dir.exists()
    started = time.time()
    try:
        results = TASK_RUNNERS[config.task](config, run)
    except BaseException:
        # A run that failed before its first checkpoint has nothing to resume: leave no output folder behind.
        if not existed and output_dir.exists() and not any(output_dir.glob("checkpoint-*")) and is_main_process():
            shutil.rmtree(output_dir, ignore_errors=True)
        raise
    if is_main_process():
        private = push_private(config, options) if repo_id else options.private
        finalize_output_folder(output_dir, results, config, repo_id, private, options.revision)
        logger.info("Done in %.0f s: %s", time.time() - started, output_dir)
    return results


__all__ = [
    "TASK_RUNNERS",
    "LabelInfo",
    "Run",
    "RunOptions",
    "apply_lora",
    "build_hybrid_loss",
    "build_model",
    "distributed_state",
    "finalize_output_folder",
    "language_weights_for",
    "linear_module_names",
    "load_classification_data",
    "load_corpus",
    "load_tokenizer",
    "run_experiment",
    "tokenize_classification",
]
