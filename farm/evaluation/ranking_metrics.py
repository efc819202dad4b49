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


def _orderings(preds: Sequence[Sequence[float]]) -> list[np.ndarray]:
    """Per query the candidate indices, best first: ``preds`` are FARM's orderings (integer
    arrays) or scores (floats, higher is better)."""
    orders = []
    for pred in preds:
        array = np.asarray(pred)
        orders.append(array.astype(int) if np.issubdtype(array.dtype, np.integer)
                      else np.argsort(-array.astype(np.float64), kind="stable"))
    return orders


def text_similarity_acc_and_f1(
    preds: Sequence[Sequence[float]], labels: Sequence[Sequence[int]]
) -> dict[str, float]:
    """FARM's accuracy and F1 of the top-ranked passage per query: each query's candidates
    become one 0/1 decision each (1 for the top-ranked one), compared with the labels
    (binary F1 of the relevant class).

    Args:
        preds (Sequence[Sequence[float]]): Per query the candidates' scores, or FARM's
            ordering of candidate indices (integers, best first).
        labels (Sequence[Sequence[int]]): Per query 1 for each relevant candidate.
    """
    chosen, truth = [], []
    for order, label in zip(_orderings(preds), labels, strict=True):
        one_hot = np.zeros(len(label), dtype=int)
        one_hot[order[0]] = 1
        chosen += one_hot.tolist()
        truth += np.asarray(label, dtype=int).tolist()
    chosen_array, truth_array = np.asarray(chosen), np.asarray(truth)
    acc = float(np.mean(chosen_array == truth_array)) if len(truth_array) else float("nan")
    true_pos = float(np.sum((chosen_array == 1) & (truth_array == 1)))
    denominator = float(np.sum(chosen_array == 1) + np.sum(truth_array == 1))
    f1 = 2 * true_pos / denominator if denominator else 0.0
    return {"acc": acc, "f1": f1, "acc_and_f1": (acc + f1) / 2}


def text_similarity_avg_ranks(
    preds: Sequence[Sequence[float]], labels: Sequence[Sequence[int]]
) -> float:
    """FARM's mean 0-based rank of each query's (first) relevant candidate (0: ranked
    first). ``preds`` as in :func:`text_similarity_acc_and_f1`."""
    ranks = []
    for order, label in zip(_orderings(preds), labels, strict=True):
        relevant = np.flatnonzero(np.asarray(label) == 1)
        if len(relevant):
            ranks.append(int(np.flatnonzero(order == relevant[0])[0]))
    return float(np.mean(ranks)) if ranks else float("nan")
