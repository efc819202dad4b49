"""Ranking metrics: how high each query's relevant candidates are ranked.

One definition serves dense retrieval (``text_similarity_metric``: the candidates of a query
are the passages of its batch, or a whole passage collection) and passage ranking
(``ranking``: the candidates are the passages given with the query).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RECALL_AT = (1, 5, 10, 20)
MRR_AT = 10


def ranks_of_relevant(scores: Sequence[float], relevant: Sequence[int | bool]) -> np.ndarray:
    """1-based ranks of the relevant candidates when candidates are sorted by score.

    Candidates with equal scores keep their order (a stable sort), so a model that scores
    all candidates alike is not credited with ranking the relevant one first unless it
    comes first.

    Args:
        scores (Sequence[float]): One score per candidate, higher is better.
        relevant (Sequence[int | bool]): 1 (or True) for each relevant candidate.

    Returns:
        np.ndarray: The sorted ranks of the relevant candidates.
    """
    scores_array = np.asarray(scores, dtype=np.float64)
    relevant_array = np.asarray(relevant, dtype=bool)
    if scores_array.shape != relevant_array.shape:
        raise ValueError(
            f"{scores_array.size} scores but {relevant_array.size} relevance flags for one "
            "query; give one of each per candidate."
        )
    order = np.argsort(-scores_array, kind="stable")
    return np.sort(np.flatnonzero(relevant_array[order]) + 1)


def ranking_metrics(
    scores: Sequence[Sequence[float]],
    relevant: Sequence[Sequence[int | bool]],
    recall_at: Sequence[int] = RECALL_AT,
    mrr_at: int = MRR_AT,
) -> dict[str, float]:
    """Ranking quality over queries, each with its own candidates.

    Per query, the rank is the position of its best-ranked relevant candidate. Then

    - ``acc``: share of queries whose top candidate is relevant,
    - ``average_rank``: mean rank,
    - ``mrr_at_10``: mean of 1 / rank, counting 0 where the rank is above 10,
    - ``recall_at_k``: mean share of a query's relevant candidates among its top k (with one
      relevant candidate per query, the share of queries that have it in the top k),
    - ``n_queries``: queries evaluated; queries without a relevant candidate cannot be
      ranked and are left out (counted in ``n_queries_without_relevant`` when there are any).

    Args:
        scores (Sequence[Sequence[float]]): Per query, one score per candidate.
        relevant (Sequence[Sequence[int | bool]]): Per query, 1 for each relevant candidate.
        recall_at (Sequence[int]): The k of ``recall_at_k``.
        mrr_at (int): The cut-off of the reciprocal rank.

    Returns:
        dict[str, float]: The metrics by name.
    """
    if len(scores) != len(relevant):
        raise ValueError(f"{len(scores)} score lists but {len(relevant)} relevance lists.")
    first_ranks, recalls = [], {k: [] for k in recall_at}  # type: ignore[var-annotated]
    without_relevant = 0
    for query_scores, query_relevant in zip(scores, relevant, strict=True):
        ranks = ranks_of_relevant(query_scores, query_relevant)
        if not len(ranks):
            without_relevant += 1
            continue
        first_ranks.append(ranks[0])
        for k in recall_at:
            recalls[k].append(float(np.sum(ranks <= k)) / len(ranks))
    result: dict[str, float] = {"n_queries": float(len(first_ranks))}
    if without_relevant:
        result["n_queries_without_relevant"] = float(without_relevant)
    if not first_ranks:
        return result
    ranks_array = np.asarray(first_ranks, dtype=np.float64)
    result["acc"] = float(np.mean(ranks_array == 1))
    result["average_rank"] = float(np.mean(ranks_array))
    result[f"mrr_at_{mrr_at}"] = float(np.mean(np.where(ranks_array <= mrr_at,
                                                        1.0 / ranks_array, 0.0)))
    for k in recall_at:
        result[f"recall_at_{k}"] = float(np.mean(recalls[k]))
    return result


def text_similarity_metric(
    preds: Sequence[Sequence[float]], labels: Sequence[Sequence[int]]
) -> dict[str, float]:
    """The metric of ``TextSimilarityHead`` (and ``PassageRankingHead``): per query the
    scores of its candidates (``preds``) and which candidates are relevant (``labels``);
    see :func:`ranking_metrics`."""
    return ranking_metrics(preds, labels)
