"""Ranking metrics against hand computations and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import label_ranking_average_precision_score, top_k_accuracy_score

from farm.evaluation.metrics import compute_metrics
from farm.evaluation.ranking_metrics import ranking_metrics, ranks_of_relevant


def test_hand_computed_example() -> None:
    scores = [
        [0.9, 0.1, 0.5],                 # relevant: 0      -> rank 1
        [0.2, 0.8, 0.3, 0.1],            # relevant: 2      -> rank 2
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6,   # relevant: 9 (0.95) and 10 (0.0) -> ranks 1, 11
         0.7, 0.8, 0.9, 0.95, 0.0],
        [0.3, 0.3, 0.3],                 # no relevant candidate: left out
    ]
    relevant = [
        [1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0],
    ]
    relevant[2][9] = 1
    result = ranking_metrics(scores, relevant, recall_at=(1, 2, 5))
    # Best ranks per query: 1, 2, 1; the third query has half its relevant ones in any top k<11.
    assert ranks_of_relevant(scores[2], relevant[2]).tolist() == [1, 11]
    assert result["n_queries"] == 3
    assert result["n_queries_without_relevant"] == 1
    assert result["acc"] == pytest.approx(2 / 3)
    assert result["average_rank"] == pytest.approx((1 + 2 + 1) / 3)
    assert result["mrr_at_10"] == pytest.approx((1 + 1 / 2 + 1) / 3)
    assert result["recall_at_1"] == pytest.approx((1 + 0 + 1 / 2) / 3)
    assert result["recall_at_2"] == pytest.approx((1 + 1 + 1 / 2) / 3)
    assert result["recall_at_5"] == pytest.approx((1 + 1 + 1 / 2) / 3)


def test_mrr_cut_off_and_ties() -> None:
    # Rank 11 lies beyond MRR@10: it counts 0, but still enters the average rank.
    scores = [[float(20 - i) for i in range(12)]]
    relevant = [[int(i == 10) for i in range(12)]]
    result = ranking_metrics(scores, relevant)
    assert result["mrr_at_10"] == 0.0 and result["average_rank"] == 11
    # Equal scores keep candidate order: a constant model gets no credit it did not earn.
    assert ranks_of_relevant([0.5, 0.5, 0.5], [0, 0, 1]).tolist() == [3]
    assert ranks_of_relevant([0.5, 0.5, 0.5], [1, 0, 0]).tolist() == [1]


def test_agrees_with_scikit_learn_for_one_relevant_candidate() -> None:
    """With one relevant candidate per query (and no ties) recall@k is scikit-learn's
    top-k accuracy and the reciprocal rank its label ranking average precision."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(200, 30))
    target = rng.integers(0, 30, size=200)
    relevant = np.eye(30, dtype=int)[target]
    result = ranking_metrics(scores.tolist(), relevant.tolist(), recall_at=(1, 5, 10),
                             mrr_at=30)
    labels = np.arange(30)
    for k in (1, 5, 10):
        assert result[f"recall_at_{k}"] == pytest.approx(
            top_k_accuracy_score(target, scores, k=k, labels=labels))
    assert result["acc"] == pytest.approx(top_k_accuracy_score(target, scores, k=1))
    assert result["mrr_at_30"] == pytest.approx(
        label_ranking_average_precision_score(relevant, scores))


def test_registered_under_both_names() -> None:
    preds, labels = [[0.1, 0.9]], [[1, 0]]
    for name in ("text_similarity_metric", "ranking"):
        result = compute_metrics(name, preds, labels)
        assert result["average_rank"] == 2 and result["acc"] == 0


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError, match="3 scores but 2 relevance flags"):
        ranking_metrics([[0.1, 0.2, 0.3]], [[1, 0]])
