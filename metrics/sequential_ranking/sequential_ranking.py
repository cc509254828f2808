# Copyright 2026 The mbert-tiny-hub authors. Licensed under the Apache License, Version 2.0.
"""Sequential-recommendation ranking metrics: Recall@K, NDCG@K, MRR@K and MRR over the full catalogue, with each
user's already-seen items excluded, one or several targets per user.

Self-contained (an `evaluate` community metric): load it by path, offline, or from the Hub once pushed:

    import evaluate
    metric = evaluate.load("metrics/sequential_ranking")
    metric.compute(predictions=scores, references=[[12], [7]], seen=[[3, 5], [12]], ks=[10, 20])

`predictions` holds one score per catalogue item (columns 0 .. num_items - 1) for each user; `references` the
target columns; `seen` the user's history, which can never be recommended (a seen target counts as a miss).
A target's rank is its 0-based position among the candidates sorted by score, highest first, equal scores ordered
by column (never in the target's favour). Recall@K = hits in the top K / targets; NDCG@K = DCG / ideal DCG;
MRR = 1 / (rank of the best-ranked target + 1); every user weighs the same.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = __doc__
_CITATION = ""
_KWARGS_DESCRIPTION = """
Args:
    predictions: per user, a score for every catalogue item (list of floats, all the same length).
    references: per user, the target item columns (list of ints).
    seen: per user, the item columns already in the history: excluded from the ranking (default: none).
    ks: the cut-offs (default 1, 5, 10, 20).
Returns:
    num_examples, recall@K, ndcg@K, mrr@K for each K, and the uncut mrr.
"""


def target_ranks(scores, targets, seen):
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64).reshape(-1)
    seen = np.asarray(seen, dtype=np.int64).reshape(-1)
    if targets.size == 0:
        raise ValueError("A user without a target cannot be ranked.")
    num_items = scores.shape[0]
    for name, row in (("target", targets), ("seen", seen)):
        if row.size and (row.min() < 0 or row.max() >= num_items):
            raise ValueError(f"a {name} item is outside the catalogue columns 0..{num_items - 1}.")
    candidate = np.ones(num_items, dtype=bool)
    candidate[seen] = False
    ranks = []
    for target in targets:
        if not candidate[target]:
            ranks.append(num_items)  # a seen target can never be recommended: a miss at every K
            continue
        higher = np.sum(candidate & (scores > scores[target]))
        tied_before = np.sum(candidate[:target] & (scores[:target] == scores[target]))
        ranks.append(int(higher + tied_before))
    return np.asarray(ranks, dtype=np.int64)


def metrics_from_ranks(all_ranks, ks):
    sums = {f"{name}@{k}": 0.0 for k in ks for name in ("recall", "ndcg", "mrr")}
    sums["mrr"] = 0.0
    for ranks in all_ranks:
        best = int(ranks.min())
        discounts = 1.0 / np.log2(ranks + 2.0)
        for k in ks:
            hit = ranks < k
            ideal = (1.0 / np.log2(np.arange(min(ranks.size, k)) + 2.0)).sum()
            sums[f"recall@{k}"] += hit.sum() / ranks.size
            sums[f"ndcg@{k}"] += discounts[hit].sum() / ideal
            sums[f"mrr@{k}"] += 1.0 / (best + 1) if best < k else 0.0
        sums["mrr"] += 1.0 / (best + 1)
    return {"num_examples": len(all_ranks), **{key: float(value / len(all_ranks)) for key, value in sums.items()}}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SequentialRanking(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("float32")),
                    "references": datasets.Sequence(datasets.Value("int64")),
                }
            ),
        )

    def _compute(self, predictions, references, seen=None, ks=(1, 5, 10, 20)):
        if len(predictions) == 0:
            raise ValueError("Cannot compute ranking metrics on an empty set of users.")
        seen = seen if seen is not None else [[] for _ in predictions]
        if len(seen) != len(predictions):
            raise ValueError(f"seen has {len(seen)} rows for {len(predictions)} users.")
        ranks = [target_ranks(s, t, h) for s, t, h in zip(predictions, references, seen)]
        return metrics_from_ranks(ranks, list(ks))
