"""task: classification (and its variants lora, distillation): fine-tune a text classifier with the hybrid CE +
focal loss, early stopping on validation macro-F1, the best checkpoint evaluated on the test split.

    python train.py --config configs/quickstart.yaml
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import torch
from transformers import DataCollatorWithPadding, set_seed

from modeling.losses import HybridLoss, class_weights_from_counts, label_counts, language_weights_from_counts
from modeling.trainers import DistillationTrainer, HybridLossTrainer

from ..config import ConfigError, ExperimentConfig
from ..evaluation import evaluate_classifier
from ..metrics import log_prior, make_compute_metrics, tune_logit_adjustment, tune_threshold
from ..results import is_peft, model_summary
from ..tokenizer_classes import standard_tokenizer
from .arguments import RunTotals, early_stopping_callbacks, make_training_arguments, training_summary
from .data import LabelInfo, load_classification_data, tokenize_classification
from .distillation import add_teacher_logits, logits_reader, prepare_teacher
from .lifecycle import Run, command_line, hub_repo_id, start_training, write_final_folder
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
    if config.model.freeze_input_embeddings:
        model.get_input_embeddings().requires_grad_(False)
    describe_parameters(model)

    language_weights = language_weights_for(config, train_split, has_language)
    if language_weights:
        logger.info("Language weights: %s", {k: round(v, 3) for k, v in language_weights.items()})
    loss = build_hybrid_loss(config, labels, train_split)
    check_logit_adjustment(config, labels, model)
    with args.main_process_first(desc="tokenizing"):
        tokenized = tokenize_classification(dataset, tokenizer, config, labels, language_weights)
    if teacher is not None and distillation_kwargs["distil_logits"]:
        kept = provenance.get("kept_token_ids")
        reader = logits_reader(config, tokenizer, kept, distillation_kwargs["hidden_weight"])
        if reader is not None:  # logits alone: computed once, up front (and cached), not at every step
            with args.main_process_first(desc="the teacher's logits"):
                tokenized = add_teacher_logits(tokenized, dataset, teacher, reader, config, kept, args.device)
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

    threshold = choose_threshold(trainer, tokenized[config.data.validation_split], labels)
    adjustment = apply_logit_adjustment(trainer, tokenized[config.data.validation_split], labels, config, train_split)
    results = evaluate_on_test_split(trainer, run, tokenizer, dataset, labels, threshold)
    if adjustment is not None:
        results["results"]["model"]["logit_adjustment"] = adjustment
    results["training"] = training_summary(trainer, train_output)
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


def choose_threshold(trainer, validation, labels: LabelInfo) -> float:
    """A multi-label model's sigmoid threshold, chosen on the validation split (best macro-F1 over 0.05..0.95) and
    saved as `config.multi_label_threshold`, which evaluate.py, pipelines and the Space read; 0.5 for single-label
    models and for LoRA adapters (an adapter folder has no config.json to carry it; `python evaluate.py
    --tune-threshold-on validation` tunes one for them)."""
    if not labels.multi_label or is_peft(trainer.model):
        return 0.5
    output = trainer.predict(validation, metric_key_prefix="threshold")
    logits = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    references = (output.label_ids >= 0.5).astype("int64")
    threshold, macro_f1 = tune_threshold(logits, references, labels.names)
    logger.info("Multi-label threshold %.2f chosen on the validation split (macro-F1 %.4f there).", threshold, macro_f1)
    trainer.accelerator.unwrap_model(trainer.model).config.multi_label_threshold = threshold
    return threshold


def check_logit_adjustment(config: ExperimentConfig, labels: LabelInfo, model) -> None:
    """loss.logit_adjustment is folded into a single-label classifier's bias: refuse it up front elsewhere, and
    find that bias before training rather than after."""
    if config.loss.logit_adjustment in (None, "none"):
        return
    if labels.multi_label:
        raise ConfigError(
            f"{config.source}: loss.logit_adjustment is for single-label classifiers; a multi-label model gets its "
            "sigmoid threshold chosen on the validation split instead."
        )
    if config.task == "lora":
        raise ConfigError(f"{config.source}: loss.logit_adjustment is not supported for LoRA adapters.")
    classifier_output_layer(model)


def classifier_output_layer(model) -> torch.nn.Linear:
    """The last linear layer of a sequence classifier's head (BERT: `classifier`; XLM-R: `classifier.out_proj`)."""
    head = getattr(model, "classifier", None) or getattr(model, "score", None)
    layers = [
        module
        for module in (head.modules() if head is not None else ())
        if isinstance(module, torch.nn.Linear) and module.out_features == model.config.num_labels
    ]
    if not layers or layers[-1].bias is None:
        raise ConfigError(f"{type(model).__name__} has no classifier output layer with a bias to adjust.")
    return layers[-1]


def apply_logit_adjustment(trainer, validation, labels: LabelInfo, config: ExperimentConfig, train_split) -> dict | None:
    """Post-hoc logit adjustment (`loss.logit_adjustment`): τ, given or chosen on the validation split, folded into
    the classifier's bias as -τ·log π, so the saved model, pipelines, evaluate.py and the Space all predict
    argmax(logits - τ·log π) with no extra code; recorded as `config.logit_adjustment_tau`."""
    setting = config.loss.logit_adjustment
    if setting in (None, "none"):
        return None
    prior = log_prior(label_counts(train_split[labels.column], len(labels.names), False))
    report = {"log_prior": [round(float(p), 6) for p in prior]}
    if isinstance(setting, str):
        output = trainer.predict(validation, metric_key_prefix="logit_adjustment")
        logits = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
        tau, best, unadjusted = tune_logit_adjustment(logits, output.label_ids, prior, labels.names, setting)
        logger.info(
            "Logit adjustment τ = %.1f chosen on the validation split: %s %.4f there (%.4f unadjusted).",
            tau, setting, best, unadjusted,
        )
        report.update(
            tau=tau, chosen_on=config.data.validation_split, metric=setting,
            validation_score=best, validation_score_unadjusted=unadjusted,
        )
    else:
        tau = float(setting)
        report.update(tau=tau, chosen_on=None)
    model = trainer.accelerator.unwrap_model(trainer.model)
    layer = classifier_output_layer(model)
    with torch.no_grad():
        layer.bias -= tau * torch.as_tensor(prior, dtype=layer.bias.dtype, device=layer.bias.device)
    model.config.logit_adjustment_tau = tau
    return report


def evaluate_on_test_split(trainer, run: Run, tokenizer, dataset, labels: LabelInfo, threshold: float = 0.5) -> dict:
    """The best model scored on the test split by evaluate.py's evaluator (`evaluate_classifier`): the same keys
    and numbers as `python evaluate.py --model <output folder>`, the baselines fitted on the same training rows."""
    config, data = run.config, run.config.data
    model = trainer.accelerator.unwrap_model(trainer.model)
    model_name = hub_repo_id(config, run.options) or str(run.output_dir)
    return evaluate_classifier(
        model,
        tokenizer,
        dataset[data.test_split],
        labels.column,
        text_column=data.text_column,
        language_column=data.language_column,
        threshold=threshold,
        batch_size=trainer.args.per_device_eval_batch_size,
        max_length=config.model.max_length,
        baselines_train_split=dataset[data.train_split] if data.baselines else None,
        baselines=data.baselines or (),
        train_languages=data.train_languages,
        model_name_or_path=model_name,
        model_info=model_summary(model, model_name, measure_size=False),  # the size once the weights are written
        dataset_name_or_path=data.dataset,
        dataset_config=data.config_name,
        split_name=data.test_split,
        command=command_line(run.options),
    )


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
