"""Passage ranking head: a relevance classifier of (query, passage) pairs whose
probabilities rank each query's candidates."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from farm.modeling.prediction_heads.text_classification import TextClassificationHead

# The feature the processor gives every pair: [place among its query's candidates, their
# number].
CANDIDATE_POSITION = "candidate_position"

Candidate = tuple[int, int, float]


class PassageRankingHead(TextClassificationHead):
    """Classifies a (query, passage) pair as relevant (label 1) or not (label 0), trained
    with cross-entropy as a two-label text-pair classifier; the probability of "relevant"
    is the passage's score, and the metric ranks each query's candidates by it.

    Expects ``(batch, hidden)`` pair vectors and returns logits ``(batch, 2)``. Reads
    ``candidate_position`` ``(batch, 2)`` from the batch to gather the candidates of each
    query (which the evaluator sees in order).

    Args:
        layer_dims (list[int] | None): Widths of the feed-forward layers, ending in 2.
        num_labels (int): 2.
        class_weights (list[float] | None): Loss weight of not relevant / relevant (see
            ``DataSilo.calculate_class_weights``; relevant pairs are usually rare).
        loss_ignore_index (int): Label id that contributes no loss.
        task_name (str): Name of the task (``"passage_ranking"``).
        label_list (list[str] | None): Set from the processor when training.
        metric (Any): Set from the processor when training (``"ranking"``).

    Example:
        >>> head = PassageRankingHead()
        >>> model = AdaptiveModel(LanguageModel.load(name), [head], 0.1, "per_sequence")
    """

    task_type = "passage_ranking"
    model_type = "passage_ranking"
    hf_task_type: ClassVar[str | None] = None
    processor_task_types = ("passage_ranking",)

    def __init__(
        self,
        layer_dims: list[int] | None = None,
        num_labels: int = 2,
        class_weights: list[float] | None = None,
        loss_ignore_index: int = -100,
        task_name: str = "passage_ranking",
        label_list: list[str] | None = None,
        metric: Any = None,
    ):
        if num_labels != 2 or (layer_dims is not None and layer_dims[-1] != 2):
            raise ValueError("PassageRankingHead classifies pairs as not relevant / relevant: "
                             "num_labels (and the last of layer_dims) must be 2.")
        super().__init__(layer_dims=layer_dims, num_labels=num_labels,
                         class_weights=class_weights, loss_ignore_index=loss_ignore_index,
                         task_name=task_name, label_list=label_list, metric=metric)

    def relevance(self, logits: Tensor) -> Tensor:
        """Probability that each pair is relevant: ``(batch,)``."""
        return self.logits_to_probs(logits)[:, 1]

    def logits_to_preds(self, logits: Tensor, **kwargs: Any) -> list[Candidate]:  # type: ignore[override]
        """Per pair ``(place, n_candidates, relevance probability)``."""
        positions = kwargs[CANDIDATE_POSITION].tolist()  # (batch, 2)
        return [(p[0], p[1], s) for p, s in zip(positions, self.relevance(logits).tolist(),
                                                 strict=True)]

    def prepare_labels(self, **kwargs: Tensor) -> list[Candidate | None]:  # type: ignore[override]
        """Per pair ``(place, n_candidates, 1 if relevant else 0)``; None where masked."""
        positions = kwargs[CANDIDATE_POSITION].tolist()
        labels = kwargs[self.label_tensor_name].view(-1).tolist()
        return [None if label == self.loss_ignore_index else (p[0], p[1], float(label == 1))
                for p, label in zip(positions, labels, strict=True)]

    def merge_per_basket(self, preds: list[Any], labels: list[Any],
                         references: list[Any] | None = None
                         ) -> tuple[list[Any], list[Any]]:
        """Per query the scores of its candidates and which are relevant."""
        return _per_query(preds), [[int(x) for x in q] for q in _per_query(labels)]

    def formatted_preds(self, logits: Tensor, baskets: list[Any],  # type: ignore[override]
                        **kwargs: Any) -> list[dict[str, Any]]:
        """Per query ``{"query", "ranking": [{"index", "title", "text", "score"}, ...]}``,
        best first; ``score`` is the probability that the passage is relevant and
        ``index`` its position among the given passages."""
        scores = self.relevance(logits)  # (n_pairs,)
        results, row = [], 0
        for basket in baskets:
            n = len(basket.samples)
            order = torch.argsort(scores[row : row + n], descending=True, stable=True).tolist()
            ranking = []
            for j in order:
                clear = basket.samples[j].clear_text
                ranking.append({"index": clear["index"], "title": clear["title"],
                                "text": clear["text"], "score": float(scores[row + j])})
            results.append({"query": basket.samples[0].clear_text["query"],
                            "ranking": ranking})
            row += n
        return results


def _per_query(items: list[Candidate]) -> list[list[float]]:
    """Group consecutive ``(place, n, value)`` entries into one list per query."""
    groups: list[list[float]] = []
    for place, _, value in items:
        if place == 0 or not groups:
            groups.append([])
        groups[-1].append(value)
    return groups
