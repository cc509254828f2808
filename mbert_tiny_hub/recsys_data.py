"""Sequential recommendation data: the "Sequential recommendation" contract (CONTRIBUTING.md) checked and loaded,
the item vocabulary, histories encoded to vocabulary indexes, the true cold-start split, and the items' content
features (genres, title vectors, co-occurrence initial embeddings). Training and evaluation: `mbert_tiny_hub.recsys`
and `mbert_tiny_hub.recsys_results`."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
import torch
from datasets import Dataset, DatasetDict, Features, Value, get_dataset_config_names
from datasets import Sequence as HFSequence
from scipy import sparse
from scipy.sparse import linalg as _sparse_linalg  # noqa: F401  (makes sparse.linalg available)
from transformers import AutoModel, AutoTokenizer

from data_scripts import load_built_dataset
from modeling.bert4rec import NUM_SPECIAL_ITEMS, ItemVocabulary

from .recsys_baselines import ItemCooccurrence
from .teacher import sentence_embeddings


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
    dataset: DatasetDict,
    items: Dataset | None = None,
    catalogue: str = "sequences",
    held_out: Sequence[int] = (),
) -> ItemVocabulary:
    """The catalogue in ascending item-id order: every item in any split's histories and targets, every item
    `held_out` for cold start (`hold_out_items` took them out of every split; they stay ranking candidates whether
    or not they are someone's cold-start target), plus (with `catalogue="items"`) every item of the `items` table,
    so items nobody interacted with can still be scored through their content features. Titles and genres come
    from `items` when given."""
    item_set: set[int] = {int(item) for item in held_out}
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


def _encoded_eval_split(split: Dataset, name: str, vocabulary: ItemVocabulary) -> Dataset:
    histories = encode_items(_item_lists(split, name, "item_ids"), vocabulary, f"split {name!r}")
    targets = encode_items(_item_lists(split, name, "targets"), vocabulary, f"split {name!r} targets")
    keep = [row for row in range(len(histories)) if histories[row] and targets[row]]
    if not keep:
        raise ValueError(f"Split {name!r} has no row with both a history and a target to evaluate.")
    return Dataset.from_dict(
        {"input_ids": [histories[row] for row in keep], "target_ids": [targets[row] for row in keep]}
    )


__all__ = [
    "COLD_START_SPLIT",
    "TITLE_TEXTS",
    "build_item_vocabulary",
    "cooccurrence_item_embeddings",
    "encode_items",
    "encode_titles",
    "genre_matrix",
    "hold_out_items",
    "item_texts",
    "load_recommendation_dataset",
]
