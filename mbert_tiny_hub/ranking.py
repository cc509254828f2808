"""Ranking metrics for recommenders: Recall@K, NDCG@K and MRR in full and sampled ranking, one or many targets.

Every function works on a score matrix of shape `(users, num_items)` whose columns are catalogue items
`0 .. num_items - 1` (the caller maps its own item ids to columns), so a model and its baselines go through
exactly the same code.

Conventions (the same for every protocol):
- A target's rank is its 0-based position in the user's candidate list sorted by score, highest first; equal
  scores are ordered by column index (what a stable sort, and so `recommend`, returns). Never in the target's favour
  by construction: a constant scorer gets the rank of the target's column, not 0.
- Full ranking: every catalogue item is a candidate except the user's `exclude` items (their history). A target that
  is itself excluded can never be recommended and counts as a miss.
- Sampled ranking: the candidates are the targets plus `num_negatives` items drawn (uniformly or by popularity)
  from the catalogue minus the user's history and targets, as older papers report (e.g. BERT4Rec: 100 negatives).
- Multi-target (the last k items as a set): Recall@K = hits in the top K / number of targets; NDCG@K = DCG / ideal
  DCG for min(targets, K) hits; MRR = 1 / (rank of the best-ranked target + 1). With one target, Recall@K is the hit
  rate (HR@K) and all three reduce to the usual leave-one-out metrics.
- Metrics are averaged over users (each user weighs the same whatever their number of targets).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .metrics import load_metric

KS = (1, 5, 10, 20)
SAMPLING = ("uniform", "popularity")


def _as_rows(values: Sequence[Sequence[int]] | None, num_rows: int, name: str) -> list[np.ndarray]:
    if values is None:
        return [np.zeros(0, dtype=np.int64) for _ in range(num_rows)]
    if len(values) != num_rows:
        raise ValueError(f"{name} has {len(values)} rows but the score matrix has {num_rows}.")
    return [np.asarray(row if isinstance(row, np.ndarray) else list(row), dtype=np.int64).reshape(-1) for row in values]


def _check_columns(row: np.ndarray, num_items: int, name: str, user: int) -> None:
    if row.size and (row.min() < 0 or row.max() >= num_items):
        bad = row[(row < 0) | (row >= num_items)][0]
        raise ValueError(f"Row {user}: {name} item {bad} is outside the catalogue columns 0..{num_items - 1}.")


def _ranks_among(candidate_scores: np.ndarray, candidate_items: np.ndarray, target_positions: np.ndarray) -> np.ndarray:
    """0-based ranks of the candidates at `target_positions`: higher score first, ties by item index."""
    target_scores = candidate_scores[target_positions][:, None]
    target_items = candidate_items[target_positions][:, None]
    higher = (candidate_scores[None, :] > target_scores).sum(axis=1)
    tied_before = ((candidate_scores[None, :] == target_scores) & (candidate_items[None, :] < target_items)).sum(axis=1)
    return (higher + tied_before).astype(np.int64)


def full_ranking_ranks(
    scores: np.ndarray, targets: Sequence[Sequence[int]], exclude: Sequence[Sequence[int]] | None = None
) -> list[np.ndarray]:
    """Per user, the rank of each target among all catalogue items except that user's `exclude` items."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a (users, num_items) matrix, got shape {scores.shape}.")
    num_users, num_items = scores.shape
    targets, exclude = _as_rows(targets, num_users, "targets"), _as_rows(exclude, num_users, "exclude")
    all_items = np.arange(num_items)
    ranks = []
    for user in range(num_users):
        _check_columns(targets[user], num_items, "target", user)
        _check_columns(exclude[user], num_items, "excluded", user)
        if targets[user].size == 0:
            raise ValueError(f"Row {user} has no target item; every evaluated user needs at least one.")
        row = scores[user].copy()
        row[np.isnan(row)] = -np.inf
        keep = np.ones(num_items, dtype=bool)
        keep[exclude[user]] = False
        candidate_scores, candidate_items = row[keep], all_items[keep]
        user_ranks = np.full(targets[user].size, num_items, dtype=np.int64)  # excluded target: a certain miss
        kept_targets = keep[targets[user]]
        if kept_targets.any():
            positions = np.searchsorted(candidate_items, targets[user][kept_targets])
            user_ranks[kept_targets] = _ranks_among(candidate_scores, candidate_items, positions)
        ranks.append(user_ranks)
    return ranks


def draw_negatives(
    targets: Sequence[Sequence[int]],
    seen: Sequence[Sequence[int]] | None,
    num_items: int,
    num_negatives: int = 100,
    sampling: str = "uniform",
    popularity: np.ndarray | None = None,
    seed: int = 0,
) -> list[np.ndarray]:
    """Per user, `num_negatives` distinct items that are neither seen nor targets, drawn uniformly or in
    proportion to `popularity` (e.g. training interaction counts). Same seed, same negatives: draw them once and
    score the model and every baseline against them. A user with fewer eligible items gets all of them."""
    if sampling not in SAMPLING:
        raise ValueError(f"Unknown negative sampling {sampling!r}: choose one of {', '.join(SAMPLING)}.")
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be positive, got {num_negatives}.")
    if sampling == "popularity":
        if popularity is None:
            raise ValueError("Popularity sampling needs `popularity` (one non-negative count per catalogue item).")
        weights = np.asarray(popularity, dtype=np.float64)
        if weights.shape != (num_items,) or (weights < 0).any():
            raise ValueError(f"popularity must hold {num_items} non-negative counts, got shape {weights.shape}.")
    else:
        weights = np.ones(num_items, dtype=np.float64)
    targets = _as_rows(targets, len(targets), "targets")
    seen = _as_rows(seen, len(targets), "seen")
    rng = np.random.default_rng(seed)
    negatives = []
    for user, (user_targets, user_seen) in enumerate(zip(targets, seen)):
        _check_columns(user_targets, num_items, "target", user)
        _check_columns(user_seen, num_items, "seen", user)
        forbidden = np.zeros(num_items, dtype=bool)
        forbidden[user_targets] = True
        forbidden[user_seen] = True
        eligible = (~forbidden) & (weights > 0)
        if eligible.sum() <= num_negatives:
            negatives.append(np.flatnonzero(eligible))
            continue
        chosen: list[int] = []
        # Rejection sampling with replacement: cheap when the catalogue is much larger than the history.
        while len(chosen) < num_negatives:
            probabilities = weights / weights.sum()
            for item in rng.choice(num_items, size=2 * (num_negatives - len(chosen)) + 8, p=probabilities):
                if not forbidden[item]:
                    forbidden[item] = True
                    chosen.append(int(item))
                    if len(chosen) == num_negatives:
                        break
            if len(chosen) < num_negatives and weights[~forbidden].sum() < 0.05 * weights.sum():
                # Most of the mass is forbidden (a heavy user under popularity sampling): draw exactly instead.
                rest = np.flatnonzero((~forbidden) & (weights > 0))
                size, probabilities = num_negatives - len(chosen), weights[rest] / weights[rest].sum()
                extra = rng.choice(rest, size=size, replace=False, p=probabilities)
                chosen.extend(int(item) for item in extra)
        negatives.append(np.asarray(chosen, dtype=np.int64))
    return negatives


def sampled_ranking_ranks(
    scores: np.ndarray, targets: Sequence[Sequence[int]], negatives: Sequence[Sequence[int]]
) -> list[np.ndarray]:
    """Per user, the rank of each target among that user's targets + negatives (see `draw_negatives`)."""
    scores = np.asarray(scores, dtype=np.float64)
    num_users, num_items = scores.shape
    targets, negatives = _as_rows(targets, num_users, "targets"), _as_rows(negatives, num_users, "negatives")
    ranks = []
    for user in range(num_users):
        _check_columns(targets[user], num_items, "target", user)
        _check_columns(negatives[user], num_items, "negative", user)
        if targets[user].size == 0:
            raise ValueError(f"Row {user} has no target item; every evaluated user needs at least one.")
        candidate_items = np.concatenate([targets[user], negatives[user]])
        candidate_scores = scores[user, candidate_items]
        candidate_scores = np.where(np.isnan(candidate_scores), -np.inf, candidate_scores)
        ranks.append(_ranks_among(candidate_scores, candidate_items, np.arange(targets[user].size)))
    return ranks


def ranking_metrics(ranks: Sequence[np.ndarray], ks: Sequence[int] = KS) -> dict[str, float]:
    """Recall@K, NDCG@K, MRR@K for each K and the uncut MRR, averaged over users; plus `num_examples`."""
    if len(ranks) == 0:
        raise ValueError("Cannot compute ranking metrics on an empty set of users.")
    # The `metrics/sequential_ranking` evaluate module's own code: one definition of the metrics for the model,
    # its baselines and anyone who loads the module (the ranks come from here, over whole score matrices).
    module = sys.modules[type(load_metric("sequential_ranking")).__module__]
    return module.metrics_from_ranks([np.asarray(user_ranks) for user_ranks in ranks], list(ks))


def full_ranking_metrics(
    scores: np.ndarray,
    targets: Sequence[Sequence[int]],
    exclude: Sequence[Sequence[int]] | None = None,
    ks: Sequence[int] = KS,
) -> dict[str, float]:
    """Full-ranking metrics: every catalogue item but the excluded ones is a candidate."""
    return ranking_metrics(full_ranking_ranks(scores, targets, exclude), ks)


def sampled_ranking_metrics(
    scores: np.ndarray,
    targets: Sequence[Sequence[int]],
    negatives: Sequence[Sequence[int]],
    ks: Sequence[int] = KS,
) -> dict[str, float]:
    """Sampled-ranking metrics: each target ranked among the user's targets and sampled negatives."""
    return ranking_metrics(sampled_ranking_ranks(scores, targets, negatives), ks)


def rank_recommendations(
    batches: Iterable[tuple[np.ndarray, Sequence[int]]],
    targets: Sequence[Sequence[int]],
    histories: Sequence[Sequence[int]],
    negatives: Mapping[str, Sequence[np.ndarray]] | None = None,
    rare_rows: Sequence[int] | None = None,
    ks: Sequence[int] = KS,
) -> dict:
    """The one evaluator of recommenders, for validation (every epoch) and test, model and baselines alike.

    `batches` yields `(scores over catalogue columns, rows)` in any row order; `targets` and `histories` are catalogue
    columns per row (the history is excluded from the ranking). Returns `{"full": metrics}` plus, for each entry of
    `negatives` (e.g. "sampled_popularity": the drawn negatives per row), that sampled protocol's metrics, and
    `full_rare_targets` over `rare_rows`."""
    negatives = dict(negatives or {})
    full = [None] * len(targets)
    sampled = {protocol: [None] * len(targets) for protocol in negatives}
    for scores, rows in batches:
        batch_targets = [targets[row] for row in rows]
        for row, ranks in zip(rows, full_ranking_ranks(scores, batch_targets, [histories[row] for row in rows])):
            full[row] = ranks
        for protocol, drawn in negatives.items():
            for row, ranks in zip(rows, sampled_ranking_ranks(scores, batch_targets, [drawn[row] for row in rows])):
                sampled[protocol][row] = ranks
    result = {"full": ranking_metrics(full, ks)}
    result.update({protocol: ranking_metrics(ranks, ks) for protocol, ranks in sampled.items()})
    if rare_rows:
        result["full_rare_targets"] = ranking_metrics([full[row] for row in rare_rows], ks)
    return result


__all__ = [
    "KS",
    "SAMPLING",
    "draw_negatives",
    "full_ranking_metrics",
    "full_ranking_ranks",
    "rank_recommendations",
    "ranking_metrics",
    "sampled_ranking_metrics",
    "sampled_ranking_ranks",
]
