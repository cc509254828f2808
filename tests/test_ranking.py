"""Ranking metrics against values computed by hand: full, sampled, multi-target, exclusion of seen items, ties."""

import math

import numpy as np
import pytest

from mbert_tiny_hub.ranking import (
    draw_negatives,
    full_ranking_metrics,
    full_ranking_ranks,
    rank_recommendations,
    ranking_metrics,
    sampled_ranking_metrics,
)


def test_full_ranking_matches_hand_computed_values_without_exclusion():
    # Item 2 (score 0.5) is ranked third: behind item 1 (0.9) and item 4 (0.7).
    scores = np.array([[0.1, 0.9, 0.5, 0.3, 0.7]])
    metrics = full_ranking_metrics(scores, [[2]], ks=(1, 2, 5))
    assert metrics["num_examples"] == 1
    assert metrics["recall@1"] == 0.0 and metrics["recall@2"] == 0.0 and metrics["recall@5"] == 1.0
    assert metrics["ndcg@5"] == pytest.approx(1 / math.log2(4))
    assert metrics["mrr"] == pytest.approx(1 / 3)
    assert metrics["mrr@2"] == 0.0 and metrics["mrr@5"] == pytest.approx(1 / 3)


def test_excluding_seen_items_moves_the_target_up():
    scores = np.array([[0.1, 0.9, 0.5, 0.3, 0.7]])
    metrics = full_ranking_metrics(scores, [[2]], exclude=[[1]], ks=(1, 2, 5))
    # Without item 1, item 2 is second: NDCG = 1/log2(3), MRR = 1/2.
    assert metrics["recall@1"] == 0.0 and metrics["recall@2"] == 1.0
    assert metrics["ndcg@2"] == pytest.approx(1 / math.log2(3))
    assert metrics["mrr"] == pytest.approx(0.5)


def test_a_target_that_is_excluded_counts_as_a_miss():
    scores = np.array([[0.1, 0.9, 0.5]])
    metrics = full_ranking_metrics(scores, [[1]], exclude=[[1]], ks=(1, 3))
    assert metrics["recall@3"] == 0.0 and metrics["ndcg@3"] == 0.0
    assert metrics["mrr"] < 1 / 3


def test_ties_never_favour_the_target():
    # A constant scorer ranks items in column order: target 3, with column 1 excluded, is behind columns 0 and 2.
    ranks = full_ranking_ranks(np.zeros((1, 5)), [[3]], exclude=[[1]])
    assert ranks[0].tolist() == [2]
    metrics = full_ranking_metrics(np.zeros((1, 5)), [[0]], ks=(1,))
    assert metrics["recall@1"] == 1.0  # column 0 comes first in a stable sort: what `recommend` would return


def test_multi_target_recall_ndcg_and_mrr_match_hand_computed_values():
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]])
    metrics = full_ranking_metrics(scores, [[1, 4]], ks=(1, 2, 5))  # ranks 1 and 4
    assert metrics["recall@1"] == 0.0
    assert metrics["recall@2"] == pytest.approx(0.5)
    assert metrics["recall@5"] == pytest.approx(1.0)
    assert metrics["ndcg@2"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert metrics["ndcg@5"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3)))
    assert metrics["mrr"] == pytest.approx(0.5)


def test_metrics_are_averaged_over_users():
    scores = np.array([[0.9, 0.1, 0.2], [0.9, 0.1, 0.2]])
    metrics = full_ranking_metrics(scores, [[0], [1]], ks=(1, 3))
    assert metrics["num_examples"] == 2
    assert metrics["recall@1"] == pytest.approx(0.5)  # user 0 hits at rank 0, user 1's target is last
    assert metrics["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert metrics["ndcg@3"] == pytest.approx((1 + 1 / math.log2(4)) / 2)


def test_sampled_ranking_ranks_the_target_among_its_negatives_only():
    # Target 0 (0.5) against negatives 1 (0.9), 2 (0.1), 3 (0.5, tied but a higher column): rank 1.
    scores = np.array([[0.5, 0.9, 0.1, 0.5, 2.0, 3.0]])
    metrics = sampled_ranking_metrics(scores, [[0]], [[1, 2, 3]], ks=(1, 2))
    assert metrics["recall@1"] == 0.0 and metrics["recall@2"] == 1.0
    assert metrics["ndcg@2"] == pytest.approx(1 / math.log2(3))
    # The same target in full ranking is behind items 4, 5 and 1.
    assert full_ranking_metrics(scores, [[0]])["mrr"] == pytest.approx(1 / 4)


def test_sampled_multi_target_ranks_targets_among_targets_and_negatives():
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])
    metrics = sampled_ranking_metrics(scores, [[0, 3]], [[1, 4]], ks=(1, 2, 4))
    # Candidates ordered 0, 1, 3, 4: target ranks 0 and 2.
    assert metrics["recall@1"] == pytest.approx(0.5)
    assert metrics["recall@2"] == pytest.approx(0.5)
    assert metrics["ndcg@4"] == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))


def test_ranking_metrics_from_ranks_cover_every_k_and_mrr():
    metrics = ranking_metrics([np.array([0]), np.array([9]), np.array([25])])
    expected_keys = {f"{name}@{k}" for name in ("recall", "ndcg", "mrr") for k in (1, 5, 10, 20)}
    assert set(metrics) == {"num_examples", "mrr"} | expected_keys
    assert metrics["recall@10"] == pytest.approx(2 / 3)
    assert metrics["recall@20"] == pytest.approx(2 / 3)
    assert metrics["ndcg@10"] == pytest.approx((1 + 1 / math.log2(11)) / 3)
    assert metrics["mrr"] == pytest.approx((1 + 1 / 10 + 1 / 26) / 3)


def test_uniform_negatives_are_distinct_and_never_seen_or_targets():
    targets, seen = [[0], [5]], [[1, 2, 3], [6, 7]]
    negatives = draw_negatives(targets, seen, num_items=50, num_negatives=20, seed=3)
    for user_negatives, user_targets, user_seen in zip(negatives, targets, seen):
        assert len(user_negatives) == 20 == len(set(user_negatives.tolist()))
        assert not set(user_negatives.tolist()) & (set(user_targets) | set(user_seen))
    again = draw_negatives(targets, seen, num_items=50, num_negatives=20, seed=3)
    assert all((a == b).all() for a, b in zip(negatives, again))


def test_popularity_negatives_follow_popularity_and_skip_unseen_items():
    popularity = np.ones(200)
    popularity[10] = 10_000.0
    popularity[20] = 0.0  # never interacted with: never a negative
    negatives = draw_negatives([[0]] * 200, None, 200, num_negatives=5, sampling="popularity", popularity=popularity)
    drawn = np.concatenate(negatives)
    assert (drawn == 10).sum() >= 190
    assert (drawn != 20).all()


def test_a_user_with_fewer_eligible_items_than_asked_gets_all_of_them():
    negatives = draw_negatives([[0]], [[1, 2]], num_items=6, num_negatives=100)
    assert sorted(negatives[0].tolist()) == [3, 4, 5]


def test_bad_inputs_name_the_row_and_what_is_wrong():
    with pytest.raises(ValueError, match="Row 0: target item 7 is outside"):
        full_ranking_metrics(np.zeros((1, 5)), [[7]])
    with pytest.raises(ValueError, match="Row 1 has no target"):
        full_ranking_metrics(np.zeros((2, 5)), [[1], []])
    with pytest.raises(ValueError, match="targets has 1 rows but the score matrix has 2"):
        full_ranking_metrics(np.zeros((2, 5)), [[1]])
    with pytest.raises(ValueError, match="Unknown negative sampling"):
        draw_negatives([[0]], None, 5, sampling="random")
    with pytest.raises(ValueError, match="needs `popularity`"):
        draw_negatives([[0]], None, 5, sampling="popularity")


def test_the_recommender_evaluator_gives_the_same_metrics_whatever_the_batch_order():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(7, 12))
    targets = [[int(rng.integers(12))] for _ in range(7)]
    histories = [[(t[0] + 1) % 12, (t[0] + 2) % 12] for t in targets]
    negatives = {"sampled_uniform": draw_negatives(targets, histories, 12, 4, seed=1)}
    shuffled = [(scores[rows], rows) for rows in ([6, 2], [0, 5, 1], [4, 3])]
    report = rank_recommendations(shuffled, targets, histories, negatives, rare_rows=[1, 3])
    assert report["full"] == full_ranking_metrics(scores, targets, histories)
    assert report["sampled_uniform"] == sampled_ranking_metrics(scores, targets, negatives["sampled_uniform"])
    assert report["full_rare_targets"] == full_ranking_metrics(scores[[1, 3]], [targets[1], targets[3]],
                                                               [histories[1], histories[3]])
