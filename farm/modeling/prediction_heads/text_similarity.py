"""The DPR head: query-passage similarity, trained with in-batch and hard negatives."""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from farm import distributed
from farm.errors import FarmError, check_choice
from farm.modeling.prediction_heads.base import PredictionHead

logger = logging.getLogger(__name__)

SIMILARITY_FUNCTIONS = ("dot_product", "cosine")
COSINE_SCALE = 20.0
CONTENT_IDS = "passage_content_ids"
PASSAGE_MASK = "passage_padding_mask"

Vectors = tuple[Tensor | None, Tensor | None]


class TextSimilarityHead(PredictionHead):
    """Scores passages for queries by the similarity of their vectors (DPR).

    The head has no weights: its input, the "logits", are the pair ``(query_vectors
    (batch, hidden), passage_vectors (batch, n_passages, hidden))`` from a
    ``BiAdaptiveModel``. The loss is the negative log-likelihood of each query's positive
    passage among all passages of the batch: its own hard negatives, and every other
    query's positive and hard negatives (in-batch negatives). A passage with the same text
    as the query's positive (two questions about one paragraph in a batch) is not counted as
    a negative. Under ``torchrun`` the vectors of all processes are gathered, so every query
    competes against the passages of the global batch, and the gradient is exactly that of
    the loss over the global batch.

    Batch tensors read: ``passage_padding_mask`` ``(batch, n_passages, passage_len)``
    (all-zero rows are absent passages), ``passage_content_ids`` ``(batch, n_passages)``
    and the label tensor ``text_similarity_label_ids`` ``(batch, n_passages)`` (1 for the
    positive).

    Args:
        similarity_function (str): ``"dot_product"`` (DPR) or ``"cosine"``.
        global_loss_buffer_size (int): Accepted for FARM compatibility; gathering vectors
            across processes sizes its buffers itself.
        scale (float | None): Factor on the similarities before the softmax; default 1 for
            the dot product and 20 for cosine (cosine lies in [-1, 1], too flat a softmax
            unscaled).
        task_name (str): Name of the task (``"text_similarity"``).
        label_list (list[str] | None): Set from the processor when training.
        metric (Any): Set from the processor when training.

    Example:
        >>> head = TextSimilarityHead(similarity_function="dot_product")
        >>> model = BiAdaptiveModel(query_lm, passage_lm, [head], embeds_dropout_prob=0.1)
    """

    task_type = "text_similarity"
    model_type = "text_similarity"
    ph_output_type = "per_sequence"
    processor_task_types = ("text_similarity",)

    def __init__(
        self,
        similarity_function: str = "dot_product",
        global_loss_buffer_size: int = 150000,
        scale: float | None = None,
        task_name: str = "text_similarity",
        label_list: list[str] | None = None,
        metric: Any = None,
    ):
        check_choice(similarity_function, SIMILARITY_FUNCTIONS, "similarity_function")
        super().__init__(task_name=task_name, label_list=label_list, metric=metric)
        self.similarity_function = similarity_function
        self.scale = scale
        self.global_loss_buffer_size = global_loss_buffer_size

    @property
    def score_scale(self) -> float:
        """The factor actually applied to the similarities."""
        if self.scale is not None:
            return float(self.scale)
        return COSINE_SCALE if self.similarity_function == "cosine" else 1.0

    def forward(self, query_vectors: Tensor | None = None,
                passage_vectors: Tensor | None = None) -> Vectors:
        return query_vectors, passage_vectors

    def similarity(self, query_vectors: Tensor, passage_vectors: Tensor) -> Tensor:
        """Scores ``(n_queries, n_passages)`` of ``(n_queries, hidden)`` query and
        ``(n_passages, hidden)`` passage vectors."""
        if self.similarity_function == "cosine":
            query_vectors = F.normalize(query_vectors, dim=-1)
            passage_vectors = F.normalize(passage_vectors, dim=-1)
        return (query_vectors @ passage_vectors.T).float() * self.score_scale

    # ---- training -------------------------------------------------------------------

    def logits_to_loss(self, logits: Vectors, **kwargs: Tensor) -> Tensor:  # type: ignore[override]
        """Per-query loss ``(batch,)``: cross-entropy of the positive among the batch's
        passages (of the global batch under ``torchrun`` while training)."""
        if self.label_tensor_name not in kwargs:
            raise FarmError(
                f"The batch has no '{self.label_tensor_name}': the loss needs passages "
                "labelled positive and hard_negative (training or evaluation data)."
            )
        queries, passages, targets, ids = self._candidates(logits, kwargs)
        target_ids = ids[targets]  # (batch,)
        gather = self.training and distributed.is_distributed()
        n_local = queries.shape[0]
        if gather:
            queries, query_counts = distributed.all_gather_rows(queries)
            passages, passage_counts = distributed.all_gather_rows(passages)
            ids, _ = distributed.all_gather_rows(ids)
            targets, _ = distributed.all_gather_rows(targets)
            target_ids, _ = distributed.all_gather_rows(target_ids)
            # Each process numbered its passages from 0: shift by the passages before it.
            starts = torch.tensor([0, *passage_counts[:-1]], device=targets.device).cumsum(0)
            targets = targets + starts.repeat_interleave(
                torch.tensor(query_counts, device=targets.device))
        scores = self.similarity(queries, passages)  # (n_queries, n_passages)
        duplicates = ids.unsqueeze(0) == target_ids.unsqueeze(1)  # (n_queries, n_passages)
        duplicates[torch.arange(len(targets), device=targets.device), targets] = False
        scores = scores.masked_fill(duplicates, float("-inf"))
        per_query = F.cross_entropy(scores, targets, reduction="none")  # (n_queries,)
        if not gather:
            return per_query
        start = sum(query_counts[: distributed.rank()])
        # Values: this process's queries. Gradient: the whole global loss through this
        # process's vectors; the trainer's sum over processes then gives the exact gradient
        # of the mean loss over the global batch.
        total = per_query.sum()
        return per_query[start : start + n_local].detach() + (total - total.detach()) / n_local

    def _candidates(self, logits: Vectors, batch: dict[str, Tensor]
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Query vectors ``(batch, hidden)``, the batch's passage vectors flattened
        ``(n_passages, hidden)``, each query's positive among them ``(batch,)`` and the
        passages' content ids ``(n_passages,)``."""
        queries, passages = logits
        if queries is None or passages is None:
            raise FarmError("TextSimilarityHead needs query and passage vectors to score; "
                            "the batch lacks query_input_ids or passage_input_ids.")
        present = batch[PASSAGE_MASK].amax(dim=-1) > 0  # (batch, n_passages)
        flat_passages = passages[present]  # (n_passages_in_batch, hidden)
        ids = batch[CONTENT_IDS][present]  # (n_passages_in_batch,)
        if self.label_tensor_name in batch:
            positive = (batch[self.label_tensor_name] == 1) & present
            if not bool(positive.any(dim=1).all()):
                raise FarmError("Every query of a batch needs a positive passage (label 1).")
            position = present.flatten().cumsum(0).view(present.shape) - 1  # flat index
            targets = position.masked_fill(~positive, position.numel()).min(dim=1).values
        else:
            targets = torch.zeros(0, dtype=torch.long, device=passages.device)
        return queries, flat_passages, targets, ids

    def logits_to_preds(self, logits: Vectors, **kwargs: Any) -> list[list[float]]:  # type: ignore[override]
        """Per query the scores of the batch's distinct passages.

        A passage that occurs several times in the batch (two questions about one
        paragraph) is one candidate, scored by its best copy, in the order of its first
        occurrence; :meth:`prepare_labels` lists the same candidates. Counted once per
        copy, a shared positive would fill a query's top k with copies of itself and
        lower its recall@k.
        """
        queries, passages, _, ids = self._candidates(logits, kwargs)
        scores = self.similarity(queries, passages)  # (batch, n_passages_in_batch)
        first, inverse = _distinct(ids)
        best = scores.new_full((scores.shape[0], len(first)), float("-inf"))
        best = best.scatter_reduce(1, inverse.expand_as(scores), scores, reduce="amax")
        return best.tolist()  # (batch, n_distinct)

    def prepare_labels(self, **kwargs: Tensor) -> list[list[int]]:
        """Per query, for each distinct passage of the batch (see :meth:`logits_to_preds`),
        1 if it is the query's positive (or has the positive's title and text), else 0."""
        present = kwargs[PASSAGE_MASK].amax(dim=-1) > 0  # (batch, n_passages)
        labels = kwargs[self.label_tensor_name]
        ids = kwargs[CONTENT_IDS]  # (batch, n_passages)
        positive_ids = ids.masked_fill(labels != 1, 0).amax(dim=1)  # (batch,)
        first, _ = _distinct(ids[present])
        distinct_ids = ids[present][first]  # (n_distinct,)
        relevant = distinct_ids.unsqueeze(0) == positive_ids.unsqueeze(1)  # (batch, n)
        return relevant.int().tolist()

    # ---- inference --------------------------------------------------------------------

    def formatted_preds(self, logits: Vectors, baskets: list[Any],  # type: ignore[override]
                        **kwargs: Any) -> list[dict[str, Any]]:
        """Per basket: ``{"query", "vec"}`` for a query, ``{"passages": [{"title", "text",
        "vec"}, ...]}`` for passages, and for a query with passages ``{"query",
        "ranking": [{"index", "title", "text", "score"}, ...]}``, best first (``index``:
        position among the given passages)."""
        queries, passages = logits
        results = []
        for i, basket in enumerate(baskets):
            clear = basket.samples[0].clear_text
            given = clear.get("passages", [])
            if passages is not None and queries is not None:
                scores = self.similarity(queries[i : i + 1], passages[i, : len(given)])[0]
                order = torch.argsort(scores, descending=True, stable=True).tolist()
                ranking = [{"index": j, "title": given[j]["title"], "text": given[j]["text"],
                            "score": float(scores[j])} for j in order]
                results.append({"query": clear["query"], "ranking": ranking})
            elif queries is not None:
                results.append({"query": clear["query"], "vec": queries[i].tolist()})
            elif passages is not None:
                results.append({"passages": [
                    {"title": p["title"], "text": p["text"], "vec": passages[i, j].tolist()}
                    for j, p in enumerate(given)]})
        return results


def _distinct(ids: Tensor) -> tuple[Tensor, Tensor]:
    """The distinct passages among ``ids`` ``(n,)``: the position of each one's first
    occurrence ``(n_distinct,)``, in order, and for every passage the index of its
    distinct passage ``(n,)``."""
    values, inverse = torch.unique(ids, return_inverse=True)  # sorted by id
    positions = torch.arange(len(ids), device=ids.device)
    first = torch.full((len(values),), len(ids), dtype=torch.long, device=ids.device)
    first = first.scatter_reduce(0, inverse, positions, reduce="amin")  # (n_values,)
    order = torch.argsort(first)  # distinct passages in order of first occurrence
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order), device=ids.device)
    return first[order], rank[inverse]
