"""task: bert4rec: BERT4Rec or SASRec+ sequential recommendation, trained by `mbert_tiny_hub.recsys`."""

from __future__ import annotations

from transformers import TrainingArguments

from .. import recsys
from ..recsys_data import load_recommendation_dataset
from ..config import ConfigError, ExperimentConfig, save_config
from .arguments import RunTotals, resolve_training, set_process_log_level
from .lifecycle import Run, command_line, start_training


def load_recommendation_data(config: ExperimentConfig):
    """The `sequences` splits and the `items` table of a sequential-recommendation dataset (data_scripts folder or
    Hub id), read fresh (`mbert_tiny_hub.recsys_data.load_recommendation_dataset`)."""
    name, source = config.data.dataset, config.source
    if not name:
        raise ConfigError(f"{source}: task bert4rec needs data.dataset (e.g. data/movielens_1m_sasrec).")
    try:
        return load_recommendation_dataset(name, revision=config.data.revision)
    except ValueError as error:  # no `sequences` config: the message says how to build one
        raise ConfigError(f"{source}: {error}") from None
    except Exception as error:  # noqa: BLE001 - wrapped with the config's context
        raise ConfigError(f"{source}: could not load data.dataset={name!r}: {type(error).__name__}: {error}") from error


def run_bert4rec(config: ExperimentConfig, run: Run) -> dict:
    """BERT4Rec or SASRec+ sequential recommendation: `mbert_tiny_hub.recsys.train_bert4rec` with the `bert4rec:`
    section (`RecommenderConfig`, checked when the config loaded) as its options; it saves the best model and
    results.json (full-ranking and sampled metrics + baselines, and the cold-start split when asked)."""
    dataset, items = load_recommendation_data(config)
    config.training = resolve_training(config, run.output_dir, recsys.DEFAULT_TRAINING_ARGS)
    try:
        args = TrainingArguments(**config.training)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config.source}: training: {error}") from None
    set_process_log_level(args)
    start_training(run, args)
    try:
        _, results = recsys.train_bert4rec(
            dataset,
            args,
            items,
            config.bert4rec,
            early_stopping_patience=config.early_stopping.patience,
            early_stopping_threshold=config.early_stopping.threshold,
            resume_from_checkpoint=run.resume_from,
            callbacks=[RunTotals(), *run.options.callbacks],
            dataset_name_or_path=config.data.dataset,
            command=command_line(run.options),
        )
    except ValueError as error:  # the recommender's data checks (splits, item ids) name the bad row
        raise ConfigError(f"{config.source}: {error}") from None
    if args.should_save:
        save_config(config, run.output_dir / "train_config.yaml")
        (run.output_dir / "training_args.json").write_text(args.to_json_string() + "\n", encoding="utf-8")
    return results
