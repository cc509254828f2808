"""Sequential recommendation with BERT4Rec or SASRec+ (its causal variant): data preparation, the cloze and
next-item collators, the true cold-start split, baselines, training and evaluation.

Data is a `datasets.DatasetDict` in the project's "Sequential recommendation" contract (CONTRIBUTING.md): splits
`train` / `validation` / `test` with `item_ids` (the history, oldest first, original item ids) and `targets` (empty
in `train`; the held-out next item(s) elsewhere), and optionally an `items` table (`item_id`, `title`, `genres`).

    train_bert4rec(dataset, training_args, items, options)   -> (model, results)   # what train.py calls
    evaluate_recommender(model_or_path, dataset, "test")     -> results            # what evaluate.py calls

Training runs through `transformers.Trainer` (so `accelerate launch` works): AdamW with linear warm-up/decay from
`TrainingArguments`, early stopping on validation NDCG@10 in full ranking, best checkpoint kept. Evaluation reports
the model and two baselines fitted on the same training sequences (most popular; item-to-item co-occurrence),
scored by the same code (`mbert_tiny_hub.ranking.rank_recommendations`, which also ranks every validation) with the same exclusion of seen items and the same sampled
negatives. Results follow CONTRIBUTING.md's results JSON (task "sequential-recommendation").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset, DatasetDict
from transformers import EarlyStoppingCallback, TrainerCallback, TrainingArguments, set_seed
from transformers.trainer_utils import speed_metrics

from modeling.trainers import HubCheckpointTrainer
from modeling.bert4rec import (
    MASK_ITEM_INDEX,
    NUM_SPECIAL_ITEMS,
    PAD_ITEM_INDEX,
    Bert4RecConfig,
    Bert4RecForSequentialRecommendation,
    ItemVocabulary,
)

from .config import RecommenderConfig
from .ranking import KS, rank_recommendations
from .recsys_data import (
    COLD_START_SPLIT,
    _check_split,
    _encoded_eval_split,
    _item_lists,
    build_item_vocabulary,
    cooccurrence_item_embeddings,
    encode_items,
    encode_titles,
    genre_matrix,
    hold_out_items,
    item_texts,
)
from .recsys_results import (
    _model_scores,
    _to_columns,
    evaluate_recommender,
    format_comparison_table,
    format_results_table,
)
from .results import RESULTS_FILE, weights_size_mb, write_json

# TrainingArguments the BERT4Rec recipe starts from; a config's `training:` section overrides any of them.
DEFAULT_TRAINING_ARGS = {
    "learning_rate": 2e-3,
    "weight_decay": 0.01,
    # Small batches: BERT4Rec first learns popularity and needs some hundreds of updates to start using the
    # history; on a CPU the budget buys steps, so more, cheaper steps get there sooner.
    "per_device_train_batch_size": 32,
    "per_device_eval_batch_size": 256,
    "num_train_epochs": 100,
    "warmup_steps": 0.02,
    "lr_scheduler_type": "linear",
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "save_total_limit": 2,
    "load_best_model_at_end": True,
    "metric_for_best_model": "ndcg@10",
    "greater_is_better": True,
    "logging_steps": 50,
    "report_to": [],
    "seed": 42,
    "remove_unused_columns": False,
    # Batches of similar history lengths: ML-1M's median history is 91 items against 200 positions, so random
    # batches would spend about half their compute on padding.
    "train_sampling_strategy": "group_by_length",
    "length_column_name": "length",
}




# ---------------------------------------------------------------------------------------------------------------
# Training: the cloze collator and the Trainer that early-stops on full-ranking NDCG@10
# ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ClozeCollator:
    """Batches of `input_ids` (vocabulary indexes, oldest first) -> left-padded `input_ids`, `attention_mask` and
    `labels` for the cloze objective: each item is replaced by `[MASK]` with `mask_probability` (at least one per
    sequence) and its label is the original item; everything else is labelled -100.

    With `mask_last=True` (evaluation), a `[MASK]` is appended after the history instead and nothing else is masked:
    the model's logits at that position rank the next item. Histories longer than `max_length` keep their most recent
    items (`crop="recent"`) or a random window of `max_length` items, drawn afresh each time (`crop="random"`).
    """

    mask_probability: float = 0.2
    max_length: int = 200
    mask_token_id: int = MASK_ITEM_INDEX
    pad_token_id: int = PAD_ITEM_INDEX
    crop: str = "recent"
    last_item_mask_probability: float = 0.0
    mask_last: bool = False

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        keep = self.max_length - 1 if self.mask_last else self.max_length
        sequences = []
        for feature in features:
            sequence = list(feature["input_ids"])
            if len(sequence) > keep:
                start = len(sequence) - keep
                if self.crop == "random" and not self.mask_last:
                    start = int(torch.randint(0, start + 1, ()))
                sequence = sequence[start : start + keep]
            sequences.append(sequence + [self.mask_token_id] if self.mask_last else sequence)
        width = max(1, max(len(sequence) for sequence in sequences))
        input_ids = torch.full((len(sequences), width), self.pad_token_id, dtype=torch.long)
        for row, sequence in enumerate(sequences):
            if sequence:
                input_ids[row, width - len(sequence) :] = torch.tensor(sequence, dtype=torch.long)
        attention_mask = (input_ids != self.pad_token_id).long()
        if self.mask_last:
            return {"input_ids": input_ids, "attention_mask": attention_mask}

        real = attention_mask.bool()
        masked = (torch.rand(input_ids.shape) < self.mask_probability) & real
        if self.last_item_mask_probability > 0:
            # Some sequences mask only their most recent item: exactly the question asked at inference.
            last_only = torch.rand(len(sequences)) < self.last_item_mask_probability
            masked[last_only] = False
            masked[last_only, -1] = real[last_only, -1]
        # Every non-empty sequence contributes at least one masked item (a random one when the draw chose none).
        empty = ~masked.any(dim=1) & real.any(dim=1)
        if empty.any():
            pick = (torch.rand(input_ids.shape) * real).argmax(dim=1)
            masked[empty, pick[empty]] = True
        labels = torch.where(masked, input_ids, torch.full_like(input_ids, -100))
        input_ids = input_ids.masked_fill(masked, self.mask_token_id)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


@dataclasses.dataclass
class NextItemCollator:
    """SASRec+ training batches: each history (vocabulary indexes, oldest first) is its own input shifted by one,
    `input_ids = history[:-1]`, `labels = history[1:]`, so every position is labelled with the item that follows it
    (full-softmax cross-entropy at every position). Left-padded; padding is labelled -100. Histories longer than
    `max_length + 1` keep their most recent items (`crop="recent"`) or a random window (`crop="random"`)."""

    max_length: int = 200
    pad_token_id: int = PAD_ITEM_INDEX
    crop: str = "recent"

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        keep = self.max_length + 1
        sequences = []
        for feature in features:
            sequence = list(feature["input_ids"])
            if len(sequence) > keep:
                start = len(sequence) - keep
                if self.crop == "random":
                    start = int(torch.randint(0, start + 1, ()))
                sequence = sequence[start : start + keep]
            sequences.append(sequence)
        width = max(1, max(len(sequence) - 1 for sequence in sequences))
        input_ids = torch.full((len(sequences), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(sequences), width), -100, dtype=torch.long)
        for row, sequence in enumerate(sequences):
            if len(sequence) > 1:
                input_ids[row, width - len(sequence) + 1 :] = torch.tensor(sequence[:-1], dtype=torch.long)
                labels[row, width - len(sequence) + 1 :] = torch.tensor(sequence[1:], dtype=torch.long)
        attention_mask = (input_ids != self.pad_token_id).long()
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


class ElapsedTraining(TrainerCallback):
    """Writes `train_elapsed_s` (wall seconds since training began, evaluations included) into each evaluation's
    log_history entry, so time-to-quality can be read back (`benchmarks/recsys_time_to_quality.py`). After a resume
    it continues from the last value in the restored log history. An evaluation outside training gets nothing."""

    def __init__(self):
        self._offset, self._started = 0.0, None

    def on_train_begin(self, args, state, control, **kwargs):
        before = [entry["train_elapsed_s"] for entry in state.log_history if "train_elapsed_s" in entry]
        self._offset = before[-1] if before else 0.0
        self._started = time.time()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        entry = state.log_history[-1] if state.log_history else {}
        if self._started is not None and metrics and all(key in entry for key in metrics):
            state.log_history[-1]["train_elapsed_s"] = round(self._offset + time.time() - self._started, 1)


class Bert4RecTrainer(HubCheckpointTrainer):
    """A `Trainer` whose evaluation is full-ranking Recall/NDCG/MRR of the next item (seen items excluded).

    The eval dataset has `input_ids` (history, vocabulary indexes) and `target_ids` (vocabulary indexes); the
    metrics (`eval_ndcg@10`, ...) drive `metric_for_best_model`, early stopping and the best checkpoint.
    """

    def __init__(self, *args, ranking_ks: Sequence[int] = KS, **kwargs):
        super().__init__(*args, **kwargs)
        self.ranking_ks = tuple(ranking_ks)

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        eval_dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if isinstance(eval_dataset, str):
            eval_dataset = self.eval_dataset[eval_dataset]
        if isinstance(eval_dataset, Mapping):
            metrics = {}
            for name, split in eval_dataset.items():
                metrics.update(self.evaluate(split, ignore_keys, f"{metric_key_prefix}_{name}"))
            return metrics
        start_time = time.time()
        model = self.accelerator.unwrap_model(self.model)
        histories = [_to_columns(row) for row in eval_dataset["input_ids"]]
        targets = [_to_columns(row) for row in eval_dataset["target_ids"]]
        # The same function ranks the test split in evaluate_recommender: one evaluator for validation and test.
        batches = _model_scores(model, eval_dataset["input_ids"], self.args.per_device_eval_batch_size)
        report = rank_recommendations(batches, targets, histories, ks=self.ranking_ks)["full"]
        metrics = {f"{metric_key_prefix}_{key}": value for key, value in report.items() if key != "num_examples"}
        steps = math.ceil(len(histories) / self.args.per_device_eval_batch_size)
        metrics.update(speed_metrics(metric_key_prefix, start_time, num_samples=len(histories), num_steps=steps))
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


def _training_arguments(training_args: TrainingArguments | Mapping[str, Any] | None) -> TrainingArguments:
    if isinstance(training_args, TrainingArguments):
        return training_args
    values = {**DEFAULT_TRAINING_ARGS, **dict(training_args or {})}
    if "output_dir" not in values:
        raise ValueError("training_args needs an `output_dir` (where checkpoints and the final model go).")
    return TrainingArguments(**values)


def build_recommender(
    vocabulary: ItemVocabulary,
    options: RecommenderConfig,
    title_vectors: torch.Tensor | None = None,
    train_histories: Sequence[Sequence[int]] | None = None,
) -> Bert4RecForSequentialRecommendation:
    """A fresh BERT4Rec for this catalogue (or `options.init_from`), with its item vocabulary and content features;
    `train_histories` (vocabulary indexes) feed `item_embedding_init: cooccurrence`."""
    genres, genre_names = genre_matrix(vocabulary) if options.genres else (None, [])
    if options.genres and not genre_names:
        raise ValueError(
            "bert4rec.genres is on but no item has genres: pass the `items` table (item_id, title, genres)."
        )
    if options.init_from:
        model = Bert4RecForSequentialRecommendation.from_pretrained(options.init_from)
        if model.item_vocabulary is None or model.item_vocabulary.item_ids != vocabulary.item_ids:
            raise ValueError(
                f"bert4rec.init_from={options.init_from!r} was trained on another item catalogue than this dataset; "
                "continue training only on the data it was built for."
            )
        return model
    overrides = dict(options.config)
    overrides.update(num_items=len(vocabulary), num_genres=len(genre_names), causal=options.model == "sasrec_plus")
    if title_vectors is not None:
        overrides["title_embedding_size"] = int(title_vectors.shape[1])
    if options.preset:
        config = Bert4RecConfig.from_preset(options.preset, **overrides)
    else:
        config = Bert4RecConfig(**overrides)
    model = Bert4RecForSequentialRecommendation(config)
    model.set_item_vocabulary(vocabulary)
    if title_vectors is not None:
        padded = torch.zeros(config.vocab_size, title_vectors.shape[1])
        padded[NUM_SPECIAL_ITEMS:] = title_vectors
        title_vectors = padded
    model.set_item_features(genres=genres, title_vectors=title_vectors)
    if options.item_embedding_init == "cooccurrence":
        if train_histories is None:
            raise ValueError("item_embedding_init 'cooccurrence' needs the training histories.")
        columns = [[index - NUM_SPECIAL_ITEMS for index in history] for history in train_histories]
        vectors = cooccurrence_item_embeddings(
            columns, len(vocabulary), config.hidden_size, std=config.initializer_range, seed=0
        )
        with torch.no_grad():
            model.bert4rec.embeddings.item_embeddings.weight[NUM_SPECIAL_ITEMS:] = vectors
    return model


def build_bert4rec_trainer(
    dataset: DatasetDict,
    training_args: TrainingArguments | Mapping[str, Any] | None,
    items: Dataset | None = None,
    options: RecommenderConfig | Mapping[str, Any] | None = None,
    *,
    early_stopping_patience: int | None = 10,
    early_stopping_threshold: float = 0.0,
    callbacks: Sequence | None = None,
    held_out_items: Sequence[int] = (),
) -> Bert4RecTrainer:
    """Everything `train_bert4rec` sets up before `trainer.train()`: the item vocabulary, the model (with content
    features), the encoded splits, the cloze collator and a `Bert4RecTrainer` with early stopping. For callers that
    run the training loop and write the output folder themselves. `held_out_items` (from `hold_out_items`) join
    the catalogue although no split holds them any more."""
    options = options if isinstance(options, RecommenderConfig) else RecommenderConfig.from_dict(options)
    args = _training_arguments(training_args)
    for name, needs_targets in (("train", False), ("validation", True)):
        if name not in dataset:
            raise ValueError(f"The dataset has no {name!r} split (splits: {', '.join(dataset)}).")
        _check_split(dataset[name], name, needs_targets)

    set_seed(args.seed)  # the model's initial weights too (the Trainer seeds only after they are drawn)
    vocabulary = build_item_vocabulary(dataset, items, options.catalogue, held_out_items)
    title_vectors = None
    if options.title_encoder and not options.init_from:
        texts = item_texts(vocabulary, options.title_text)
        title_vectors = encode_titles(texts, options.title_encoder, options.title_tokenizer, prefix=options.title_prefix)
    train_histories = encode_items(_item_lists(dataset["train"], "train", "item_ids"), vocabulary, "split 'train'")
    train_histories = [history for history in train_histories if history]
    model = build_recommender(vocabulary, options, title_vectors, train_histories)

    causal = model.config.causal
    if causal:  # next-item prediction needs an item to predict from and one to predict
        train_histories = [history for history in train_histories if len(history) > 1]
    max_length = model.config.max_position_embeddings
    train_dataset = Dataset.from_dict(
        {
            "input_ids": train_histories,
            "length": [min(len(history) - causal, max_length) for history in train_histories],
        }
    )
    validation = _encoded_eval_split(dataset["validation"], "validation", vocabulary)
    if causal:
        collator = NextItemCollator(max_length=max_length, crop=options.crop)
    else:
        collator = ClozeCollator(
            mask_probability=model.config.mask_probability,
            max_length=max_length,
            crop=options.crop,
            last_item_mask_probability=options.last_item_mask_probability,
        )
    callbacks = [ElapsedTraining(), *(callbacks or [])]
    if early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience, early_stopping_threshold))
    return Bert4RecTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=validation,
        data_collator=collator,
        callbacks=callbacks,
    )


def train_bert4rec(
    dataset: DatasetDict,
    training_args: TrainingArguments | Mapping[str, Any] | None,
    items: Dataset | None = None,
    options: RecommenderConfig | Mapping[str, Any] | None = None,
    *,
    early_stopping_patience: int | None = 10,
    early_stopping_threshold: float = 0.0,
    resume_from_checkpoint: str | bool | None = None,
    callbacks: Sequence | None = None,
    dataset_name_or_path: str | None = None,
    command: str | None = None,
) -> tuple[Bert4RecForSequentialRecommendation, dict | None]:
    """Train BERT4Rec on `dataset["train"]`, early-stop on validation NDCG@10, keep the best checkpoint, save it
    (weights, config, code, `item_vocab.json`) to `training_args.output_dir`, and evaluate it with the baselines on
    the test split (`results.json` in the output folder). Returns the model and the results (None without a test
    split or with `evaluate_test: false`)."""
    options = options if isinstance(options, RecommenderConfig) else RecommenderConfig.from_dict(options)
    held_out = None
    if options.cold_start_items:
        dataset, held_out = hold_out_items(dataset, options.cold_start_items, options.cold_start_seed)
    trainer = build_bert4rec_trainer(
        dataset,
        training_args,
        items,
        options,
        early_stopping_patience=early_stopping_patience,
        early_stopping_threshold=early_stopping_threshold,
        callbacks=callbacks,
        held_out_items=held_out or (),
    )
    args = trainer.args
    started = time.time()
    train_output = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    # A resumed run: the time before the resume, restored from the checkpoint by train.py's RunTotals callback.
    training_seconds = time.time() - started + sum(
        getattr(callback, "runtime_before_s", 0.0) for callback in trainer.callback_handler.callbacks
    )
    model = trainer.model
    # _internal_call: with push_to_hub the Trainer would push its own card here; train.py pushes the finished folder.
    trainer.save_model(args.output_dir, _internal_call=True)  # the best checkpoint (load_best_model_at_end) + item_vocab.json + code

    results = None
    if options.evaluate_test and "test" in dataset:
        results = evaluate_recommender(
            model,
            dataset,
            "test",
            dataset_name_or_path=dataset_name_or_path,
            command=command,
            **options.evaluation,
        )
        results["training"] = {
            "train_runtime_s": round(training_seconds, 1),
            "epochs": round(float(trainer.state.epoch or 0.0), 2),
            "global_steps": int(train_output.global_step),
            "best_checkpoint": trainer.state.best_model_checkpoint,
            "best_validation_ndcg@10": trainer.state.best_metric,
            "validation_ndcg@10": [
                [round(entry["epoch"], 2), round(entry["eval_ndcg@10"], 4)]
                for entry in trainer.state.log_history
                if "eval_ndcg@10" in entry
            ],
            # wall seconds of training (evaluations included) at each of those validations
            "validation_elapsed_s": [
                entry.get("train_elapsed_s") for entry in trainer.state.log_history if "eval_ndcg@10" in entry
            ],
            "threads": torch.get_num_threads(),
        }
        results["model"]["name_or_path"] = str(args.output_dir)
        if args.should_save:  # the weights just written, as evaluate.py would measure them
            results["model"]["size_on_disk_mb"] = weights_size_mb(args.output_dir)
        if held_out is not None:
            evaluation = {**options.evaluation, "rare_item_threshold": None}
            cold = evaluate_recommender(model, dataset, COLD_START_SPLIT, command=command, **evaluation)
            results["cold_start"] = {
                "split": COLD_START_SPLIT,
                "held_out_share": options.cold_start_items,
                "seed": options.cold_start_seed,
                "num_held_out_items": len(held_out),
                "num_examples": cold["dataset"]["num_examples"],
                "held_out_item_ids": held_out,
                "results": cold["results"],
            }
        if args.should_save:
            write_json(Path(args.output_dir) / RESULTS_FILE, results)
    return model, results


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m mbert_tiny_hub.recsys RESULTS_JSON...`: print the results table of each finished run."""

    parser = argparse.ArgumentParser(description=main.__doc__.split(": ", 1)[1])
    parser.add_argument("results", nargs="+", help="results.json of a recommender run (train.py or evaluate.py)")
    parser.add_argument("--rare-targets", action="store_true", help="add the rare-target rows (full ranking)")
    parser.add_argument("--compare", action="store_true", help="one line per run instead: the model's key figures")
    args = parser.parse_args(argv)
    if args.compare:
        runs = {path: json.loads(Path(path).read_text(encoding="utf-8")) for path in args.results}
        print(format_comparison_table(runs))
        return 0
    for path in args.results:
        table = format_results_table(json.loads(Path(path).read_text(encoding="utf-8")), rare_targets=args.rare_targets)
        print(f"{path}\n\n{table}\n")
    return 0


__all__ = [
    "DEFAULT_TRAINING_ARGS",
    "Bert4RecTrainer",
    "ClozeCollator",
    "NextItemCollator",
    "build_bert4rec_trainer",
    "build_recommender",
    "train_bert4rec",
]


if __name__ == "__main__":
    sys.exit(main())
