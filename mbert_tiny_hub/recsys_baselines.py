"""The sequential-recommendation baselines, fitted on the training sequences and scored over the same catalogue
columns as the model: most popular and item-to-item co-occurrence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse

RECOMMENDER_BASELINES = ("most_popular", "item_cooccurrence")


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


__all__ = ["RECOMMENDER_BASELINES", "ItemCooccurrence", "MostPopular", "fit_recommender_baselines"]
