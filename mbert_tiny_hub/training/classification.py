"""task: classification (and its variants lora, distillation): fine-tune a text classifier with the hybrid CE +
focal loss, early stopping on validation macro-F1, the best checkpoint evaluated on the test split.

    python train.py --config configs/quickstart.yaml
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch
from transformers import DataCollatorWithPadding, set_seed

from modeling.losses import HybridLoss, class_weights_from_counts, label_counts, language_weights_from_counts
from modeling.trainers import DistillationTrainer, HybridLossTrainer

from ..config import ConfigError, ExperimentConfig
from ..evaluation import fit_split_baselines, score_baselines
from ..hub import dataset_licence
from ..metrics import classification_report, confusion_matrix, make_compute_metrics, predictions_from_logits
from ..tokenizer_classes import standard_tokenizer
from .arguments import RunTotals, early_stopping_callbacks, make_training_arguments, training_summary
from .data import LabelInfo, load_classification_data, tokenize_classification
from .distillation import add_teacher_logits, prepare_teacher, teacher_tokenizer_if_different
from .lifecycle import (
    RESULTS_SCHEMA_VERSION,
    Run,
    command_line,
    environment_info,
    hub_repo_id,
    start_training,
    write_final_folder,
)
from .lora import apply_lora, write_merged_model
from .models import build_model, describe_parameters


logger = logging.getLogger(__name__)


CLASSIFICATION_TRAINING_DEFAULTS: dict[str, Any] = {
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "load_best_model_at_end": True,
    "metric_for_best_model": "macro_f1",
    "greater_is_better": True,
    "learning_rate": 5e-5,
    "per_device_train_batch_size": 32,
    "num_train_epochs": 3,
    "warmup_steps": 0.1,
}


def run_classification(config: ExperimentConfig, run: Run) -> dict:
    """Fine-tune a text classifier with the hybrid loss (task: classification), a LoRA adapter (task: lora) or a
    distilled student (task: distillation); early stopping on validation macro-F1, best checkpoint kept."""
    args = make_training_arguments(config, run.output_dir, CLASSIFICATION_TRAINING_DEFAULTS)
    set_seed(args.seed)
    with args.main_process_first(desc="loading the dataset"):
        dataset, labels, has_language = load_classification_data(config, args.seed)
    train_split = dataset[config.data.train_split]

    teacher, distillation_kwargs = None, {}
    if config.task == "distillation":
        teacher, distillation_kwargs = prepare_teacher(config, labels)
        if config.model.name_or_path is None and config.model.derive_from is None:
            config.model.derive_from = config.distillation.teacher
    same_teacher = teacher if config.model.derive_from == config.distillation.teacher else None
    model, tokenizer, provenance = build_model(
        config, "sequence_classification", labels, lambda: train_split[config.data.text_column], same_teacher
    )
    if teacher is not None:
        distillation_kwargs["teacher_token_ids"] = provenance.get("kept_token_ids")
        if distillation_kwargs["hidden_weight"] > 0 and distillation_kwargs["hidden_layers"] is None:
            distillation_kwargs["hidden_layers"] = getattr(model.config, "teacher_layers", None)
    if config.task == "lora":
        model = apply_lora(model, config, provenance.get("missing_keys", ()))
    parameters = describe_parameters(model)

    language_weights = language_weights_for(config, train_split, has_language)
    if language_weights:
        logger.info("Language weights: %s", {k: round(v, 3) for k, v in language_weights.items()})
    loss = build_hybrid_loss(config, labels, train_split)
    with args.main_process_first(desc="tokenizing"):
        tokenized = tokenize_classification(dataset, tokenizer, config, labels, language_weights)
    if teacher is not None and distillation_kwargs["distil_logits"] and provenance.get("kept_token_ids") is None:
        teacher_tokenizer = teacher_tokenizer_if_different(config, tokenizer)
        if teacher_tokenizer is not None:  # the teacher reads other pieces: its logits are computed once, up front
            with args.main_process_first(desc="the teacher's logits"):
                tokenized = add_teacher_logits(tokenized, dataset, teacher, teacher_tokenizer, config)
    tokenizer = standard_tokenizer(tokenizer)  # saved as BertTokenizer / XLMRobertaTokenizer, no truncation baked in

    trainer_class, extra = HybridLossTrainer, {}
    if teacher is not None:
        trainer_class, extra = DistillationTrainer, {"teacher_model": teacher, **distillation_kwargs}
    try:
        trainer = trainer_class(
            model=model,
            args=args,
            train_dataset=tokenized[config.data.train_split],
            eval_dataset=tokenized[config.data.validation_split],
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
            compute_metrics=make_compute_metrics(labels.names, labels.multi_label),
            callbacks=early_stopping_callbacks(config, args) + [RunTotals()] + list(run.options.callbacks),
            loss=loss,
            **extra,
        )
    except ValueError as error:
        raise ConfigError(f"{config.source}: {error}") from None

    start_training(run, args)
    train_output = trainer.train(resume_from_checkpoint=run.resume_from)

    unwrapped = trainer.accelerator.unwrap_model(trainer.model)
    model_class = type(unwrapped.get_base_model() if config.task == "lora" else unwrapped).__name__
    model_name = hub_repo_id(config, run.options) or str(run.output_dir)
    results = classification_results(
        trainer,
        run,
        tokenized[config.data.test_split],
        dataset[config.data.test_split],
        dataset[config.data.train_split],
        labels,
        has_language,
        model_name,
        model_class,
        parameters,
        train_output,
    )
    if config.task == "lora":
        results["model"]["adapter"] = {
            "method": "lora",
            "base_model": config.model.name_or_path,
            "r": config.lora.r,
            "alpha": config.lora.alpha,
            "target_modules": list(config.lora.target_modules),
        }
    if teacher is not None:
        results["model"]["teacher"] = config.distillation.teacher
    _log_test_metrics(results)
    if teacher is not None:
        trainer.remove_projection()  # training-only: the published student has no projection
    write_final_folder(trainer, run, results)
    if config.task == "lora" and config.lora.merge:
        write_merged_model(trainer, run, tokenizer)
    return results


def language_weights_for(config: ExperimentConfig, train_split, has_language: bool) -> dict[str, float] | None:
    setting = config.loss.language_weights
    if setting in (None, "none"):
        return None
    if not has_language:
        raise ConfigError(
            f"{config.source}: loss.language_weights needs a {config.data.language_column!r} column in the dataset."
        )
    counts = Counter(train_split[config.data.language_column])
    if isinstance(setting, dict):
        missing = sorted(set(counts) - set(setting))
        if missing:
            raise ConfigError(f"{config.source}: loss.language_weights has no weight for languages {missing}.")
        return {language: float(setting[language]) for language in counts}
    try:
        return language_weights_from_counts(counts, setting)
    except ValueError as error:
        raise ConfigError(f"{config.source}: loss.language_weights: {error}") from None


def build_hybrid_loss(config: ExperimentConfig, labels: LabelInfo, train_split):
    setting, class_weights = config.loss.class_weights, None
    if isinstance(setting, list):
        if len(setting) != len(labels.names):
            raise ConfigError(
                f"{config.source}: loss.class_weights lists {len(setting)} weights for {len(labels.names)} classes "
                f"({', '.join(labels.names)})."
            )
        class_weights = torch.tensor(setting, dtype=torch.float32)
    elif setting not in (None, "none"):
        counts = label_counts(train_split[labels.column], len(labels.names), labels.multi_label)
        try:
            class_weights = class_weights_from_counts(counts, setting, config.loss.class_weights_beta)
        except ValueError as error:
            raise ConfigError(f"{config.source}: loss.class_weights: {error}") from None
        logger.info(
            "Class weights (%s): %s", setting, {n: round(float(w), 3) for n, w in zip(labels.names, class_weights)}
        )
    try:
        return HybridLoss(
            focal_weight=config.loss.focal_weight,
            gamma=config.loss.gamma,
            class_weights=class_weights,
            label_smoothing=config.loss.label_smoothing,
            multi_label=labels.multi_label,
        )
    except ValueError as error:
        raise ConfigError(f"{config.source}: loss: {error}") from None


def _dataset_block(config: ExperimentConfig, labels: LabelInfo, split_name: str, num_examples: int, languages) -> dict:
    block = {
        "name_or_path": config.data.dataset,
        "config": config.data.config_name,
        "split": split_name,
        "num_examples": num_examples,
        "label_column": labels.column,
        "label_names": labels.names,
        "multi_label": labels.multi_label,
    }
    if languages is not None:
        block["languages"] = sorted(set(languages))
    block.update(dataset_licence(config.data.dataset))  # the card states the training data's terms
    return block


def classification_results(
    trainer,
    run: Run,
    tokenized_test,
    raw_test,
    raw_train,
    labels: LabelInfo,
    has_language: bool,
    model_name: str,
    model_class: str,
    parameters: dict,
    train_output,
) -> dict:
    """Predict the test split (gathered over every process) and build the results JSON (CONTRIBUTING.md)."""
    config = run.config
    prediction = trainer.predict(tokenized_test, metric_key_prefix="test")
    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    if len(logits) != len(raw_test):
        raise RuntimeError(f"Got {len(logits)} test predictions for {len(raw_test)} test examples.")
    y_pred = predictions_from_logits(logits, labels.multi_label)
    y_true = np.asarray(prediction.label_ids)
    if labels.multi_label:
        y_true = (y_true >= 0.5).astype(np.int64)
    languages = raw_test[config.data.language_column] if has_language else None
    report = classification_report(
        y_true, y_pred, labels.names, labels.multi_label, languages=languages,
        train_languages=config.data.train_languages,
    )
    transfer = report.pop("transfer", None)
    report["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels.names, labels.multi_label)
    baselines = {}
    if trainer.is_world_process_zero() and config.data.baselines:
        # The classic baselines of the same run (fitted on the same training rows), so every card compares.
        fitted = fit_split_baselines(
            raw_train, labels.column, labels.names, labels.multi_label,
            text_column=config.data.text_column, language_column=config.data.language_column,
            baselines=config.data.baselines,
        )
        baselines = score_baselines(
            fitted, raw_test[config.data.text_column], y_true, labels.names, labels.multi_label, languages
        )
    results = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "task": "text-classification",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command_line(run.options),
        "model": {"name_or_path": model_name, "class": model_class, "parameters": parameters, "size_on_disk_mb": None},
        "dataset": _dataset_block(config, labels, config.data.test_split, len(raw_test), languages),
        "results": {"model": report, "baselines": baselines},
        "training": training_summary(trainer, train_output),
        "environment": environment_info(trainer.args.world_size),
    }
    if transfer and config.data.train_languages:
        # The evaluate module's transfer block, on the zero-shot languages (those never trained on).
        zero_shot = transfer["zero_shot"]
        results["transfer"] = {
            "train_languages": transfer["train_languages"],
            "test_languages": zero_shot,
            "zero_shot": zero_shot,
            "accuracy": {language: transfer["accuracy"][language] for language in zero_shot},
            "macro_f1": {language: transfer["macro_f1"][language] for language in zero_shot},
        }
    return results


def _log_test_metrics(results: dict) -> None:
    report = results["results"]["model"]
    logger.info(
        "Test (%d examples): accuracy %.4f, macro-F1 %.4f, weighted-F1 %.4f",
        report["num_examples"],
        report["accuracy"],
        report["macro_f1"],
        report["weighted_f1"],
    )
    for language, scores in (report.get("per_language") or {}).items():
        logger.info("  %s: macro-F1 %.4f (%d examples)", language, scores["macro_f1"], scores["num_examples"])
