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
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, DatasetDict, Features, Value, get_dataset_config_names
from datasets import Sequence as HFSequence
from huggingface_hub.utils import tqdm  # honours HF_HUB_DISABLE_PROGRESS_BARS
from scipy import sparse
from scipy.sparse import linalg as _sparse_linalg  # noqa: F401  (makes sparse.linalg available)
from transformers import AutoModel, AutoTokenizer, EarlyStoppingCallback, Trainer, TrainingArguments
from transformers.trainer_utils import speed_metrics

from data_scripts import load_built_dataset
from modeling.bert4rec import (
    MASK_ITEM_INDEX,
    NUM_SPECIAL_ITEMS,
    PAD_ITEM_INDEX,
    Bert4RecConfig,
    Bert4RecForSequentialRecommendation,
    ItemVocabulary,
)

from .config import RecommenderConfig
from .hub import dataset_licence
from .ranking import KS, draw_negatives, rank_recommendations
from .results import RESULTS_FILE, environment_summary, model_summary, results_header, weights_size_mb, write_json
from .teacher import sentence_embeddings

# What `bert4rec.model` can build (RecommenderConfig.model), and the name each goes by in results tables.
MODELS = {"bert4rec": "BERT4Rec", "sasrec_plus": "SASRec+ (causal, full-softmax CE)"}
RECOMMENDER_BASELINES = ("most_popular", "item_cooccurrence")

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
# Data: check the contract, build the item vocabulary, encode histories
# ---------------------------------------------------------------------------------------------------------------


def _check_split(split: Dataset, name: str, needs_targets: bool) -> None:
    required = ["item_ids"] + (["targets"] if needs_targets else [])
    missing = [column for column in required if column not in split.column_names]
    if missing:
        raise ValueError(
            f"Split {name!r} has no column {', '.join(map(repr, missing))} (columns: {', '.join(split.column_names)}). "
            "Sequential recommendation data needs `item_ids` (the history) and, outside train, `targets`; build it "
            "with `python -m data_scripts build movielens_...`."
        )


def _item_lists(split: Dataset, name: str, column: str) -> list[list[int]]:
    """A list column as lists of Python ints; a non-integer item is an error naming split, row, user and value."""
    rows = split[column]
    user_ids = split["user_id"] if "user_id" in split.column_names else None
    checked = []
    for row, items in enumerate(rows):
        if items is None:
            items = []
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
            raise ValueError(_bad_row(name, row, user_ids, column, f"is {items!r}, not a list of item ids"))
        for item in items:
            # JSON readers turn a column into floats when one value is a float: 12.0 is still item 12.
            integral_float = isinstance(item, float) and item.is_integer()
            if isinstance(item, bool) or not (isinstance(item, Integral) or integral_float):
                raise ValueError(
                    _bad_row(name, row, user_ids, column, f"holds {item!r}, which is not an integer item id")
                    + " Item ids must be integers (e.g. MovieLens MovieIDs); fix or drop that row."
                )
        checked.append([int(item) for item in items])
    return checked


def _bad_row(split: str, row: int, user_ids, column: str, problem: str) -> str:
    user = f" (user_id {user_ids[row]})" if user_ids is not None else ""
    return f"Split {split!r}, row {row}{user}: {column} {problem}."


def load_recommendation_dataset(
    name_or_path: str, revision: str | None = None, sequences_config: str = "sequences", items_config: str = "items"
) -> tuple[DatasetDict, Dataset | None]:
    """The `sequences` splits and the `items` table (None when the dataset has no such config) of a dataset
    folder written by `data_scripts` or a Hub dataset id, read fresh (`data_scripts.load_built_dataset`)."""


    configs = get_dataset_config_names(name_or_path, revision=revision)
    if sequences_config not in configs:
        raise ValueError(
            f"{name_or_path} has no {sequences_config!r} config (it has {', '.join(configs)}); build a sequential "
            "recommendation dataset with `python -m data_scripts build movielens_1m_sasrec --source ... --out ...`."
        )
    dataset = load_built_dataset(name_or_path, sequences_config, revision=revision)
    items = None
    if items_config in configs:
        items = load_built_dataset(name_or_path, items_config, revision=revision, split="train")
    return dataset, items


def build_item_vocabulary(
    dataset: DatasetDict, items: Dataset | None = None, catalogue: str = "sequences"
) -> ItemVocabulary:
    """The catalogue in ascending item-id order: every item in any split's histories and targets, plus (with
    `catalogue="items"`) every item of the `items` table, so items nobody interacted with can still be scored
    through their content features. Titles and genres come from `items` when given."""
    item_set: set[int] = set()
    for name, split in dataset.items():
        for column in ("item_ids", "targets"):
            if column in split.column_names:
                for items_row in _item_lists(split, name, column):
                    item_set.update(items_row)
    metadata: dict[int, tuple[str | None, list[str]]] = {}
    if items is not None:
        if "item_id" not in items.column_names:
            raise ValueError(f"The items table has no `item_id` column (columns: {', '.join(items.column_names)}).")
        titles = items["title"] if "title" in items.column_names else [None] * len(items)
        genres = items["genres"] if "genres" in items.column_names else [[] for _ in range(len(items))]
        for row, item_id in enumerate(items["item_id"]):
            if isinstance(item_id, bool) or not isinstance(item_id, Integral):
                raise ValueError(f"Items table, row {row}: item_id {item_id!r} is not an integer item id.")
            metadata[int(item_id)] = (titles[row], list(genres[row] or []))
        if catalogue == "items":
            item_set.update(metadata)
    if not item_set:
        raise ValueError("The dataset holds no items: every `item_ids` list is empty.")
    item_ids = sorted(item_set)
    return ItemVocabulary(
        item_ids,
        [metadata.get(item, (None, []))[0] for item in item_ids],
        [metadata.get(item, (None, []))[1] for item in item_ids],
    )


def encode_items(lists: Sequence[Sequence[int]], vocabulary: ItemVocabulary, where: str) -> list[list[int]]:
    """Original item ids -> vocabulary indexes; an unknown id names the split and row."""
    return [[vocabulary.index(item, f"{where}, row {row}") for item in items] for row, items in enumerate(lists)]


COLD_START_SPLIT = "test_cold_start"


def hold_out_items(
    dataset: DatasetDict, fraction: float, seed: int = 0, test_split: str = "test"
) -> tuple[DatasetDict, list[int]]:
    """True cold start: a seeded random `fraction` of the catalogue (every item in any split) is taken out of the
    data entirely, and a `test_cold_start` split asks for those items.

    In `train`, `validation` and `test` the held-out items are removed from every history (and its aligned
    `timestamps` / `ratings`) and from every target list; rows left without a target are dropped, so no held-out
    item is ever trained on, validated on, or read as input. `test_cold_start` has one row per user of `test_split`
    whose full sequence (history + targets) holds a held-out item: the target is the user's last held-out item, the
    history the items before it with the held-out ones removed. (That user's later interactions with other items
    may be in training; the held-out item never is.) Returns the new DatasetDict and the held-out item ids."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"The share of items held out for cold start must lie strictly between 0 and 1, got {fraction}.")
    if test_split not in dataset:
        raise ValueError(f"The dataset has no {test_split!r} split to draw cold-start targets from.")
    catalogue: set[int] = set()
    lists = {}
    for name, split in dataset.items():
        for column in ("item_ids", "targets"):
            if column in split.column_names:
                lists[name, column] = _item_lists(split, name, column)
                catalogue.update(item for row in lists[name, column] for item in row)
    items = sorted(catalogue)
    count = max(1, round(fraction * len(items)))
    held_out = sorted(int(item) for item in np.random.default_rng(seed).choice(items, size=count, replace=False))
    cold = set(held_out)

    splits = {}
    for name, split in dataset.items():
        histories = lists[name, "item_ids"]
        keep_positions = [[i for i, item in enumerate(row) if item not in cold] for row in histories]
        columns = {column: split[column] for column in split.column_names}
        for column in ("item_ids", "timestamps", "ratings"):  # the columns aligned with item_ids
            if column in columns:
                columns[column] = [[row[i] for i in keep] for row, keep in zip(columns[column], keep_positions)]
        rows = range(len(split))
        if (name, "targets") in lists:
            columns["targets"] = [[item for item in row if item not in cold] for row in lists[name, "targets"]]
            if name != "train":
                rows = [row for row in rows if columns["targets"][row]]
        splits[name] = Dataset.from_dict({c: [v[row] for row in rows] for c, v in columns.items()}, features=split.features)

    test = dataset[test_split]
    cold_rows = {"user_id": [], "item_ids": [], "targets": []}
    test_targets = lists[test_split, "targets"] if (test_split, "targets") in lists else [[] for _ in range(len(test))]
    user_ids = test["user_id"] if "user_id" in test.column_names else list(range(len(test)))
    for row, (history, targets) in enumerate(zip(lists[test_split, "item_ids"], test_targets)):
        sequence = history + targets
        positions = [i for i, item in enumerate(sequence) if item in cold]
        if not positions:
            continue
        before = [item for item in sequence[: positions[-1]] if item not in cold]
        if before:
            cold_rows["user_id"].append(int(user_ids[row]))
            cold_rows["item_ids"].append(before)
            cold_rows["targets"].append([sequence[positions[-1]]])
    if not cold_rows["user_id"]:
        raise ValueError(f"No user of split {test_split!r} has a held-out item after some other item; hold out more.")
    features = Features({"user_id": Value("int64"), "item_ids": HFSequence(Value("int64")), "targets": HFSequence(Value("int64"))})
    splits[COLD_START_SPLIT] = Dataset.from_dict(cold_rows, features=features)
    return DatasetDict(splits), held_out


def genre_matrix(vocabulary: ItemVocabulary) -> tuple[torch.Tensor, list[str]]:
    """(vocab_size, num_genres) multi-hot genres, one row per vocabulary index (padding and [MASK] rows zero)."""
    names = vocabulary.genre_names
    column = {name: j for j, name in enumerate(names)}
    matrix = torch.zeros(len(vocabulary) + NUM_SPECIAL_ITEMS, len(names))
    for i, genres in enumerate(vocabulary.genres):
        for genre in genres:
            matrix[i + NUM_SPECIAL_ITEMS, column[genre]] = 1.0
    return matrix, names


def cooccurrence_item_embeddings(
    sequences: Sequence[Sequence[int]], num_items: int, dim: int, window: int = 5, std: float = 0.02, seed: int = 0
) -> torch.Tensor:
    """(num_items, dim) item vectors from the truncated SVD of the positive pointwise mutual information of item
    co-occurrence within `window` steps of the (catalogue-column) training sequences, scaled to standard deviation
    `std`. Items that co-occur get nearby vectors; items without co-occurrence get small random vectors."""
    counts = ItemCooccurrence(num_items, window=window, directed=False).fit(sequences).matrix.tocoo()
    generator = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(num_items, dim, generator=generator) * std
    if counts.nnz == 0 or num_items < 3:
        return embeddings
    total = counts.data.sum()
    row_sums = np.asarray(counts.sum(axis=1)).ravel()
    pmi = np.log(counts.data * total / (row_sums[counts.row] * row_sums[counts.col]))
    positive = pmi > 0
    ppmi = sparse.csr_matrix((pmi[positive], (counts.row[positive], counts.col[positive])), shape=counts.shape)
    rank = min(dim, num_items - 2)
    if ppmi.nnz == 0 or rank < 1:
        return embeddings
    left, singular, _ = sparse.linalg.svds(ppmi, k=rank, random_state=seed)
    vectors = left * np.sqrt(singular)
    vectors *= std / max(vectors.std(), 1e-12)
    seen = torch.as_tensor(np.asarray((ppmi != 0).sum(axis=1)).ravel() > 0)
    embeddings[seen] = 0.0  # the SVD carries everything known about these items; the others stay random
    embeddings[seen, :rank] = torch.as_tensor(vectors, dtype=torch.float32)[seen]
    return embeddings


TITLE_TEXTS = ("title", "title_and_genres")


def item_texts(vocabulary: ItemVocabulary, text: str = "title") -> list[str | None]:
    """What the title encoder reads for each item: its title, or its title and genres as a sentence
    ("Toy Story (1995). Genres: Animation, Children's, Comedy."); None for an item with neither."""
    if text not in TITLE_TEXTS:
        raise ValueError(f"bert4rec.title_text must be one of {', '.join(TITLE_TEXTS)}, got {text!r}.")
    texts = []
    for title, genres in zip(vocabulary.titles, vocabulary.genres):
        if text == "title_and_genres" and genres:
            title = f"{title}. Genres: {', '.join(genres)}." if title else f"Genres: {', '.join(genres)}."
        texts.append(title or None)
    return texts


def encode_titles(
    titles: Sequence[str | None],
    encoder: str,
    tokenizer: str | None = None,
    batch_size: int = 128,
    max_length: int = 32,
    prefix: str = "",
) -> torch.Tensor:
    """Sentence vectors of a BERT-like encoder for each item text (`item_texts`): `prefix` + text, mean-pooled last
    hidden states, L2-normalised (`mbert_tiny_hub.teacher.sentence_embeddings`, the e5 recipe: the teacher
    `teachers/multilingual-e5-small` with prefix "query: ", or an mBERT-Tiny folder); a missing text gets a zero
    vector. Computed once; the vectors are frozen features of the recommender."""


    tokenizer_source = tokenizer or encoder
    try:
        title_tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"Could not load a tokenizer for the title encoder from {tokenizer_source!r} ({error}); set "
            "bert4rec.title_tokenizer to the tokenizer the encoder was trained with."
        ) from None
    model = AutoModel.from_pretrained(encoder).eval()
    vectors = torch.zeros(len(titles), model.config.hidden_size)
    present = [i for i, title in enumerate(titles) if title]
    with torch.no_grad():
        encoded = sentence_embeddings(
            model, title_tokenizer, [titles[i] for i in present], prefix, max_length, batch_size, normalize=True
        )
    vectors[present] = torch.as_tensor(encoded, dtype=torch.float32)
    return vectors


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


class Bert4RecTrainer(Trainer):
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


def _to_columns(indexes: Sequence[int]) -> list[int]:
    """Vocabulary indexes -> catalogue columns (what the ranking metrics index)."""
    return [index - NUM_SPECIAL_ITEMS for index in indexes]


def _model_scores(model: Bert4RecForSequentialRecommendation, histories: Sequence[Sequence[int]], batch_size: int):
    """Yield (scores over catalogue columns, rows) batch by batch, model in eval mode. Rows are batched by history
    length (shortest first) so that little compute goes to padding."""
    keep = model.config.max_position_embeddings - 1
    order = sorted(range(len(histories)), key=lambda row: min(len(histories[row]), keep))
    was_training = model.training
    model.eval()

    try:
        starts = range(0, len(order), batch_size)
        for start in tqdm(starts, desc=f"Scoring {len(order):,} users", unit="batch", leave=False):
            rows = order[start : start + batch_size]
            scores = model.score_histories([histories[row] for row in rows], batch_size=batch_size)
            yield scores[:, NUM_SPECIAL_ITEMS:].cpu().numpy(), rows
    finally:
        model.train(was_training)


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
) -> Bert4RecTrainer:
    """Everything `train_bert4rec` sets up before `trainer.train()`: the item vocabulary, the model (with content
    features), the encoded splits, the cloze collator and a `Bert4RecTrainer` with early stopping. For callers that
    run the training loop and write the output folder themselves."""
    options = options if isinstance(options, RecommenderConfig) else RecommenderConfig.from_dict(options)
    args = _training_arguments(training_args)
    for name, needs_targets in (("train", False), ("validation", True)):
        if name not in dataset:
            raise ValueError(f"The dataset has no {name!r} split (splits: {', '.join(dataset)}).")
        _check_split(dataset[name], name, needs_targets)

    vocabulary = build_item_vocabulary(dataset, items, options.catalogue)
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
    callbacks = list(callbacks or [])
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


def _encoded_eval_split(split: Dataset, name: str, vocabulary: ItemVocabulary) -> Dataset:
    histories = encode_items(_item_lists(split, name, "item_ids"), vocabulary, f"split {name!r}")
    targets = encode_items(_item_lists(split, name, "targets"), vocabulary, f"split {name!r} targets")
    keep = [row for row in range(len(histories)) if histories[row] and targets[row]]
    if not keep:
        raise ValueError(f"Split {name!r} has no row with both a history and a target to evaluate.")
    return Dataset.from_dict(
        {"input_ids": [histories[row] for row in keep], "target_ids": [targets[row] for row in keep]}
    )


# ---------------------------------------------------------------------------------------------------------------
# Baselines: fitted on the training sequences, scored over the same catalogue columns as the model
# ---------------------------------------------------------------------------------------------------------------


class MostPopular:
    """Every user gets the items with the most training interactions (seen items are excluded by the metrics)."""

    name = "most_popular"

    def __init__(self, num_items: int):
        self.num_items = num_items
        self.counts = np.zeros(num_items, dtype=np.float64)

    def fit(self, sequences: Sequence[Sequence[int]]) -> "MostPopular":
        for sequence in sequences:
            np.add.at(self.counts, np.asarray(sequence, dtype=np.int64), 1.0)
        return self

    def score(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(histories), self.num_items))


class ItemCooccurrence:
    """Item-to-item co-occurrence ("sequential rules"): C[i, j] sums 1/d over training sequences in which j follows
    i at distance d <= `window` (both directions when `directed` is false). A user's score for j is
    sum_i decay^age(i) * C[i, j] over their `history_length` most recent items (age 0 = the latest); items with no
    co-occurrence fall back to popularity order."""

    name = "item_cooccurrence"

    def __init__(
        self, num_items: int, window: int = 5, history_length: int = 10, decay: float = 0.8, directed: bool = True
    ):
        self.num_items, self.window, self.history_length = num_items, window, history_length
        self.decay, self.directed = decay, directed
        self.matrix = sparse.csr_matrix((num_items, num_items))
        self.popularity = np.zeros(num_items)

    def fit(self, sequences: Sequence[Sequence[int]]) -> "ItemCooccurrence":
        rows, cols, values = [], [], []
        matrix = sparse.csr_matrix((self.num_items, self.num_items))
        for number, sequence in enumerate(sequences):
            sequence = np.asarray(sequence, dtype=np.int64)
            np.add.at(self.popularity, sequence, 1.0)
            for distance in range(1, min(self.window, len(sequence) - 1) + 1):
                rows.append(sequence[:-distance])
                cols.append(sequence[distance:])
                values.append(np.full(len(sequence) - distance, 1.0 / distance))
            if (number + 1) % 1000 == 0 or number == len(sequences) - 1:
                if rows:  # sum in chunks so memory stays bounded on long histories
                    chunk = sparse.coo_matrix(
                        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(self.num_items, self.num_items),
                    ).tocsr()
                    matrix = matrix + chunk
                rows, cols, values = [], [], []
        self.matrix = (matrix + matrix.T).tocsr() if not self.directed else matrix.tocsr()
        return self

    def score(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        rows, cols, weights = [], [], []
        for row, history in enumerate(histories):
            recent = list(history)[-self.history_length :]
            for age, item in enumerate(reversed(recent)):
                rows.append(row)
                cols.append(item)
                weights.append(self.decay**age)
        user_weights = sparse.csr_matrix((weights, (rows, cols)), shape=(len(histories), self.num_items))
        scores = np.asarray((user_weights @ self.matrix).todense())
        # Popularity breaks ties (and ranks items that never co-occurred) without reordering any co-occurrence.
        smallest = self.matrix.data.min() * self.decay ** (self.history_length - 1) if self.matrix.nnz else 1.0
        return scores + 0.5 * smallest * self.popularity / max(self.popularity.max(), 1.0)


def fit_recommender_baselines(
    names: Sequence[str], num_items: int, train_sequences: Sequence[Sequence[int]], cooccurrence: Mapping | None = None
) -> dict[str, Any]:
    baselines = {}
    for name in names:
        if name == "most_popular":
            baselines[name] = MostPopular(num_items).fit(train_sequences)
        elif name == "item_cooccurrence":
            baselines[name] = ItemCooccurrence(num_items, **dict(cooccurrence or {})).fit(train_sequences)
        else:
            raise ValueError(f"Unknown baseline {name!r}: choose from {', '.join(RECOMMENDER_BASELINES)}.")
    return baselines


# ---------------------------------------------------------------------------------------------------------------
# Evaluation: model + baselines, full and sampled ranking, results JSON
# ---------------------------------------------------------------------------------------------------------------


def evaluate_recommender(
    model_or_path: Bert4RecForSequentialRecommendation | str | os.PathLike,
    dataset: DatasetDict,
    split: str = "test",
    *,
    train_split: str = "train",
    ks: Sequence[int] = KS,
    num_negatives: int = 100,
    seed: int = 0,
    rare_item_threshold: int | None = 10,
    baselines: Sequence[str] = RECOMMENDER_BASELINES,
    cooccurrence: Mapping[str, Any] | None = None,
    batch_size: int = 256,
    dataset_name_or_path: str | None = None,
    command: str | None = None,
) -> dict:
    """Full-ranking and sampled (uniform and popularity, `num_negatives` each) Recall@K / NDCG@K / MRR of the model
    and the baselines on `split`, seen items excluded; one target (leave-one-out) or several (last k) per user.
    Users whose targets all have at most `rare_item_threshold` training interactions are also reported apart
    (`full_rare_targets`). Returns CONTRIBUTING.md's results JSON (task "sequential-recommendation")."""
    if isinstance(model_or_path, (str, os.PathLike)):
        name_or_path = str(model_or_path)
        model = Bert4RecForSequentialRecommendation.from_pretrained(name_or_path)
    else:
        model = model_or_path
        name_or_path = getattr(model, "name_or_path", "") or ""
    vocabulary = model.item_vocabulary
    if vocabulary is None:
        raise ValueError(f"Model {name_or_path!r} has no item vocabulary (item_vocab.json); cannot map item ids.")
    for name, needs_targets in ((train_split, False), (split, True)):
        if name not in dataset:
            raise ValueError(f"The dataset has no {name!r} split (splits: {', '.join(dataset)}).")
        _check_split(dataset[name], name, needs_targets)

    num_items = len(vocabulary)
    evaluated = _encoded_eval_split(dataset[split], split, vocabulary)
    histories = [_to_columns(row) for row in evaluated["input_ids"]]
    targets = [_to_columns(row) for row in evaluated["target_ids"]]
    train_sequences = [
        [i - NUM_SPECIAL_ITEMS for i in row]
        for row in encode_items(_item_lists(dataset[train_split], train_split, "item_ids"), vocabulary, train_split)
    ]
    fitted = fit_recommender_baselines(baselines, num_items, train_sequences, cooccurrence)
    popularity = MostPopular(num_items).fit(train_sequences).counts
    negatives = {
        "sampled_uniform": draw_negatives(targets, histories, num_items, num_negatives, "uniform", seed=seed),
        "sampled_popularity": draw_negatives(
            targets, histories, num_items, num_negatives, "popularity", popularity, seed=seed + 1
        ),
    }
    rare_rows = None
    if rare_item_threshold is not None:
        rare_rows = [
            row for row, items in enumerate(targets) if all(popularity[t] <= rare_item_threshold for t in items)
        ]

    def batches_of(scorer: Callable[[list[list[int]]], np.ndarray]):
        for start in range(0, len(histories), batch_size):
            rows = list(range(start, min(start + batch_size, len(histories))))
            yield scorer([histories[row] for row in rows]), rows

    started = time.time()
    model_batches = _model_scores(model, list(evaluated["input_ids"]), batch_size)
    report = {"model": rank_recommendations(model_batches, targets, histories, negatives, rare_rows, ks)}
    model_seconds = time.time() - started
    report["baselines"] = {
        name: rank_recommendations(batches_of(baseline.score), targets, histories, negatives, rare_rows, ks)
        for name, baseline in fitted.items()
    }
    target_counts = sorted({len(row) for row in targets})
    protocol = "leave_one_out" if target_counts == [1] else f"last_k (k = {', '.join(map(str, target_counts))})"
    summary = model_summary(model, name_or_path or None)
    summary.update(architecture="sasrec_plus" if model.config.causal else "bert4rec", preset=model.config.preset)
    return {
        **results_header("sequential-recommendation", command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])),
        "model": summary,  # architecture: a key of MODELS
        "dataset": {
            "name_or_path": dataset_name_or_path,
            "config": "sequences",
            "split": split,
            "train_split": train_split,
            "protocol": protocol,
            "num_examples": len(histories),
            "num_items": num_items,
            "history": f"the {split} split's item_ids; items in it are excluded from the ranking",
            **_dataset_licence(dataset_name_or_path),
        },
        "evaluation": {
            "ks": list(ks),
            "num_negatives": num_negatives,
            "negative_sampling": ["uniform", "popularity (training interaction counts)"],
            "seed": seed,
            "exclude_seen": True,
            "rare_item_threshold": rare_item_threshold,
            "num_rare_target_examples": len(rare_rows) if rare_rows is not None else None,
            "ties": "equal scores ordered by item index",
            "model_scoring_seconds": round(model_seconds, 1),
        },
        "results": report,
        "environment": environment_summary(model.device),
    }


def _dataset_licence(name_or_path: str | None) -> dict:
    """The dataset card's licence (`mbert_tiny_hub.hub.dataset_licence`): a public push of a recommender whose item
    vocabulary (titles, genres) comes from a dataset that may not be redistributed is refused."""

    return dataset_licence(name_or_path)


def format_results_table(results: dict, ks: Sequence[int] = (10, 20)) -> str:
    """A Markdown table of full-ranking Recall@K / NDCG@K / MRR and sampled HR@10 / NDCG@10 (popularity negatives),
    model and baselines, with the cold-start rows when the run held items out, and the training time when known."""
    header = [f"Recall@{k}" for k in ks] + [f"NDCG@{k}" for k in ks]
    negatives = results.get("evaluation", {}).get("num_negatives", 100)
    header += ["MRR", f"sampled HR@10 ({negatives} popularity negatives)", f"sampled NDCG@10 ({negatives} popularity negatives)"]
    lines = ["| recommender | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    model_name = MODELS[results["model"].get("architecture", "bert4rec")]
    rows = [(model_name, results["results"]["model"])] + list(results["results"]["baselines"].items())
    cold = results.get("cold_start")
    if cold:
        where = f"cold-start targets ({cold['num_held_out_items']:,} held-out items, {cold['num_examples']:,} users)"
        rows.append((f"*{where}*", None))
        rows += [(f"{model_name}, cold start", cold["results"]["model"])]
        rows += [(f"{baseline}, cold start", report) for baseline, report in cold["results"]["baselines"].items()]
    for name, report in rows:
        if report is None:
            lines.append(f"| {name} |" + " |" * len(header))
            continue
        full, sampled = report["full"], report.get("sampled_popularity", {})
        values = [full[f"recall@{k}"] for k in ks] + [full[f"ndcg@{k}"] for k in ks] + [full["mrr"]]
        values += [sampled.get("recall@10", float("nan")), sampled.get("ndcg@10", float("nan"))]
        lines.append(f"| {name} | " + " | ".join(f"{value:.4f}" for value in values) + " |")
    training = results.get("training")
    if training:
        lines.append(
            f"\n{model_name}: {training['train_runtime_s']:,} s of training, {training['epochs']} epochs, "
            f"{training['global_steps']:,} steps, {training.get('threads')} threads; "
            f"{results['dataset']['num_examples']:,} test users, {results['dataset']['protocol']}."
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m mbert_tiny_hub.recsys RESULTS_JSON...`: print the results table of each finished run."""

    parser = argparse.ArgumentParser(description=main.__doc__.split(": ", 1)[1])
    parser.add_argument("results", nargs="+", help="results.json of a recommender run (train.py or evaluate.py)")
    for path in parser.parse_args(argv).results:
        print(f"{path}\n\n{format_results_table(json.loads(Path(path).read_text(encoding='utf-8')))}\n")
    return 0


__all__ = [
    "RECOMMENDER_BASELINES",
    "DEFAULT_TRAINING_ARGS",
    "Bert4RecTrainer",
    "COLD_START_SPLIT",
    "ClozeCollator",
    "ItemCooccurrence",
    "MODELS",
    "MostPopular",
    "NextItemCollator",
    "build_bert4rec_trainer",
    "build_item_vocabulary",
    "build_recommender",
    "cooccurrence_item_embeddings",
    "encode_items",
    "encode_titles",
    "evaluate_recommender",
    "fit_recommender_baselines",
    "format_results_table",
    "genre_matrix",
    "hold_out_items",
    "item_texts",
    "load_recommendation_dataset",
    "train_bert4rec",
]


if __name__ == "__main__":
    sys.exit(main())
