"""TextSimilarityHead: the in-batch negative loss against a hand computation, absent and
duplicate passages, cosine scaling, predictions and labels for the metric."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from farm.errors import FarmError
from farm.evaluation.metrics import compute_metrics
from farm.modeling.prediction_head import PredictionHead, TextSimilarityHead

LABELS = "text_similarity_label_ids"


def batch_of(present: list[list[int]], labels: list[list[int]], ids: list[list[int]]
             ) -> dict[str, torch.Tensor]:
    """Batch tensors the head reads: a 3-token padding mask per passage (all zero where
    absent), content ids and labels."""
    mask = torch.tensor(present).unsqueeze(-1).expand(-1, -1, 3).contiguous()
    return {"passage_padding_mask": mask, "passage_content_ids": torch.tensor(ids),
            LABELS: torch.tensor(labels)}


QUERIES = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
PASSAGES = torch.tensor([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 2.0], [1.0, 1.0]]])


def nll(scores: list[float], target: int) -> float:
    """-log softmax(scores)[target], written out."""
    return -(scores[target] - math.log(sum(math.exp(s) for s in scores)))


def test_in_batch_loss_matches_hand_computation() -> None:
    head = TextSimilarityHead()
    batch = batch_of([[1, 1], [1, 1]], [[1, 0], [1, 0]], [[11, 12], [13, 14]])
    loss = head.logits_to_loss((QUERIES, PASSAGES), **batch)
    # Candidates, flattened: p0=(1,0) p1=(.5,.5) p2=(0,2) p3=(1,1); positives p0 and p2.
    expected = [nll([1.0, 0.5, 0.0, 1.0], 0), nll([0.0, 0.5, 2.0, 1.0], 2)]
    torch.testing.assert_close(loss, torch.tensor(expected), rtol=0, atol=1e-6)


def test_absent_and_duplicate_passages_are_not_negatives() -> None:
    """Query 1 has no hard negative (padding row) and its positive has the same text as
    query 0's hard negative: that passage is no negative for query 1, but stays one for
    query 0, whose question it does not answer."""
    head = TextSimilarityHead()
    passages = PASSAGES.clone()
    passages[1, 1] = 9.0  # padding row: its vector must not matter
    batch = batch_of([[1, 1], [1, 0]], [[1, 0], [1, -100]], [[11, 12], [12, 0]])
    loss = head.logits_to_loss((QUERIES, passages), **batch)
    # Candidates: p0=(1,0) p1=(.5,.5) p2=(0,2); p1 and p2 share a text.
    expected = [nll([1.0, 0.5, 0.0], 0), nll([0.0, 2.0], 1)]
    torch.testing.assert_close(loss, torch.tensor(expected), rtol=0, atol=1e-6)
    # For the metric p1 and p2 are one candidate, scored by its better copy.
    assert head.prepare_labels(**batch) == [[1, 0], [0, 1]]
    preds = head.logits_to_preds((QUERIES, passages), **batch)
    expected_preds = torch.tensor([[1.0, 0.5], [0.0, 2.0]])
    torch.testing.assert_close(torch.tensor(preds), expected_preds)


def test_a_passage_shared_by_queries_is_one_candidate_for_recall() -> None:
    """Three questions about one paragraph: its three copies in the batch are one
    candidate, so a query that ranks it first has recall@1 = 1, not 1/3; a hard negative
    that two queries share is one candidate too."""
    head = TextSimilarityHead()
    queries = torch.tensor([[1.0, 0.0], [1.0, 0.1], [1.0, 0.2]])
    positive, negative = [1.0, 0.0], [0.0, 1.0]
    passages = torch.tensor([[positive, negative], [positive, negative], [positive, [0.5, 0.5]]])
    batch = batch_of([[1, 1], [1, 1], [1, 1]], [[1, 0], [1, 0], [1, 0]],
                     [[7, 8], [7, 8], [7, 9]])
    preds = head.logits_to_preds((queries, passages), **batch)
    labels = head.prepare_labels(**batch)
    assert labels == [[1, 0, 0]] * 3  # candidates: the paragraph, negative 8, negative 9
    assert [len(p) for p in preds] == [3, 3, 3]
    result = compute_metrics("text_similarity_metric", preds, labels)
    assert result["acc"] == 1.0
    assert result["recall_at_1"] == 1.0 and result["average_rank"] == 1.0


def test_cosine_similarity_is_scaled() -> None:
    batch = batch_of([[1, 1], [1, 1]], [[1, 0], [1, 0]], [[1, 2], [3, 4]])
    c = 1 / math.sqrt(2)
    cosines = [[1.0, c, 0.0, c], [0.0, c, 1.0, c]]
    for scale, factor in ((None, 20.0), (5.0, 5.0)):
        head = TextSimilarityHead(similarity_function="cosine", scale=scale)
        loss = head.logits_to_loss((QUERIES, PASSAGES), **batch)
        expected = [nll([factor * x for x in cosines[0]], 0),
                    nll([factor * x for x in cosines[1]], 2)]
        torch.testing.assert_close(loss, torch.tensor(expected), rtol=0, atol=1e-5)


def test_gradient_reaches_queries_and_passages() -> None:
    queries = QUERIES.clone().requires_grad_()
    passages = PASSAGES.clone().requires_grad_()
    batch = batch_of([[1, 1], [1, 1]], [[1, 0], [1, 0]], [[1, 2], [3, 4]])
    TextSimilarityHead().logits_to_loss((queries, passages), **batch).sum().backward()
    assert queries.grad is not None and passages.grad is not None
    assert (queries.grad.abs().sum(dim=1) > 0).all()
    assert (passages.grad.abs().sum(dim=2) > 0).all()


def test_bad_batches_raise_clear_errors() -> None:
    head = TextSimilarityHead()
    batch = batch_of([[1, 1], [1, 1]], [[1, 0], [0, 0]], [[1, 2], [3, 4]])
    with pytest.raises(FarmError, match="needs a positive passage"):
        head.logits_to_loss((QUERIES, PASSAGES), **batch)
    del batch[LABELS]
    with pytest.raises(FarmError, match="no 'text_similarity_label_ids'"):
        head.logits_to_loss((QUERIES, PASSAGES), **batch)
    with pytest.raises(ValueError, match="Unknown similarity_function 'dot'"):
        TextSimilarityHead(similarity_function="dot")


def test_config_round_trip(tmp_path: Path) -> None:
    head = TextSimilarityHead(similarity_function="cosine", scale=7.5)
    head.save(tmp_path, head_num=0)
    loaded = PredictionHead.load(tmp_path / "prediction_head_0_config.json")
    assert isinstance(loaded, TextSimilarityHead)
    assert loaded.generate_config() == head.generate_config()
    assert loaded.score_scale == 7.5
