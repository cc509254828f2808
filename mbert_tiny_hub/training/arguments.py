"""TrainingArguments for a run (common defaults < task defaults < the config's `training:`), the callbacks every
runner adds, and the `training` block of results.json (whole-run totals, a resumed run included).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import datasets
import torch
import transformers
from transformers import EarlyStoppingCallback, TrainerCallback, TrainingArguments
from transformers.trainer_callback import ExportableState
from transformers.training_args import trainer_log_levels

from ..config import ConfigError, ExperimentConfig


COMMON_TRAINING_DEFAULTS: dict[str, Any] = {
    "report_to": "none",
    "seed": 42,
    "save_total_limit": 2,
    "logging_steps": 50,
    "per_device_eval_batch_size": 64,
    "restore_callback_states_from_checkpoint": True,
    "weight_decay": 0.01,
    "dataloader_pin_memory": torch.cuda.is_available(),  # pinning is for GPUs; on CPU it only warns
    "ddp_find_unused_parameters": False,  # every parameter of these models takes part in the loss
}


def resolve_training(config: ExperimentConfig, output_dir: Path, task_defaults: dict[str, Any]) -> dict[str, Any]:
    """The TrainingArguments values of a run: common defaults < task defaults < the config's `training:`."""
    common = {k: v for k, v in COMMON_TRAINING_DEFAULTS.items() if k not in task_defaults}
    values = {**common, **task_defaults, **config.training, "output_dir": str(output_dir)}
    if (
        int(os.environ.get("WORLD_SIZE", "1")) > 1
        and not torch.cuda.is_available()
        and "use_cpu" not in config.training
    ):
        # Several processes and no GPU (`accelerate launch --multi_gpu` or torchrun on a CPU machine): CPU DDP (gloo).
        values["use_cpu"] = True
    if values.get("eval_strategy") == "no":
        values["load_best_model_at_end"] = False
    report_to = values.get("report_to")
    if report_to == "trackio" or isinstance(report_to, list) and "trackio" in report_to:
        # trackio's database goes into the run's folder (pushed with it; trackio reads TRACKIO_DIR when first
        # imported, by the Trainer's callback), and no Space is created unless the config names one.
        os.environ.setdefault("TRACKIO_DIR", str(output_dir / "trackio"))
        values.setdefault("trackio_static_space_id", False)
    return values


def make_training_arguments(config: ExperimentConfig, output_dir: Path, task_defaults: dict[str, Any]):
    """TrainingArguments for the run. The config's `training:` section becomes the resolved values, so
    train_config.yaml records every argument the run used."""
    config.training = resolve_training(config, output_dir, task_defaults)
    try:
        args = TrainingArguments(**config.training)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config.source}: training: {error}") from None
    set_process_log_level(args)
    return args


def set_process_log_level(args) -> None:
    """The Trainer's per-process log level (training.log_level on the main process, training.log_level_replica on
    the others; "passive" leaves train.py's INFO / WARNING) for this project's, transformers' and datasets' loggers,
    as the Hugging Face example scripts do."""
    if trainer_log_levels[args.log_level if args.should_log else args.log_level_replica] == -1:
        return  # passive: the levels train.py set stay
    level = args.get_process_log_level()
    logging.getLogger("mbert_tiny_hub").setLevel(level)
    transformers.utils.logging.set_verbosity(level)
    datasets.utils.logging.set_verbosity(level)


def early_stopping_callbacks(config: ExperimentConfig, args) -> list:
    patience = config.early_stopping.patience
    if patience is None or args.eval_strategy == "no" or not args.load_best_model_at_end:
        return []
    return [EarlyStoppingCallback(patience, config.early_stopping.threshold)]


class RunTotals(TrainerCallback, ExportableState):
    """Training time before this session, kept in every checkpoint: Trainer's own `train_runtime` and `train_loss`
    cover only the steps since a resume, and the results must describe the whole run."""

    def __init__(self, runtime_before_s: float = 0.0):
        self.runtime_before_s = runtime_before_s
        self._started = time.time()

    def on_train_begin(self, args, state, control, **kwargs):
        self._started = time.time()

    def state(self) -> dict:
        return {"args": {}, "attributes": {"runtime_before_s": self.runtime_before_s + time.time() - self._started}}


def _whole_run_totals(trainer, metrics: dict) -> tuple[float | None, float | None]:
    """(training seconds, mean training loss) of the whole run, a resumed one included: the steps before the resume
    come from the restored log history (each logged loss is the mean since the previous log), the rest from this
    session's metrics."""
    runtime, loss = metrics.get("train_runtime"), metrics.get("train_loss")
    start = getattr(trainer, "_initial_global_step", 0) or 0
    totals = next((c for c in trainer.callback_handler.callbacks if isinstance(c, RunTotals)), None)
    if start <= 0:
        return runtime, loss
    if runtime is not None and totals is not None:
        runtime = round(totals.runtime_before_s + runtime, 4)
    previous_step, loss_sum, steps = 0, 0.0, 0
    for entry in trainer.state.log_history:
        if "loss" in entry and "step" in entry and previous_step < entry["step"] <= start:
            loss_sum += entry["loss"] * (entry["step"] - previous_step)
            steps += entry["step"] - previous_step
            previous_step = entry["step"]
    if loss is not None:
        session_steps = trainer.state.global_step - start
        loss = (loss_sum + loss * session_steps) / max(steps + session_steps, 1)
    return runtime, loss


def training_summary(trainer, train_output) -> dict:
    state = trainer.state
    metrics = dict(getattr(train_output, "metrics", {}) or {})
    runtime, loss = _whole_run_totals(trainer, metrics)
    return {
        "global_steps": state.global_step,
        "epochs": round(float(state.epoch or 0.0), 4),
        "train_runtime_s": runtime,
        "train_loss": loss,
        "best_metric": state.best_metric,
        "metric_for_best_model": trainer.args.metric_for_best_model,
        "best_checkpoint": Path(state.best_model_checkpoint).name if state.best_model_checkpoint else None,
        "log_history": [entry for entry in state.log_history if "eval_loss" in entry or "loss" in entry],
    }
