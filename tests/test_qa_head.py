"""QuestionAnsweringHead: shapes, loss, the best valid spans, aggregation across passages
with no_ans_boost and no_ans_gap, temperature calibration, save/load."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from farm.modeling.prediction_head import QuestionAnsweringHead
from farm.modeling.prediction_heads import PredictionHead
from farm.modeling.prediction_heads.qa_spans import (
    PassageSpans,
    Span,
    aggregate,
    fit_temperature,
    group_passages,
    passage_spans,
)
from farm.qa_features import CONTEXT_OFFSETS, PASSAGE_POSITION
from tests.test_heads import HeadContract

LABELS = "question_answering_label_ids"


def offsets_for(seq_len: int, context: range) -> torch.Tensor:
    """``(seq_len, 2)``: token k of ``context`` covers characters [10k, 10k + 5)."""
    out = torch.full((seq_len, 2), -1, dtype=torch.long)
    for k, position in enumerate(context):
        out[position] = torch.tensor([10 * k, 10 * k + 5])
    return out


def test_forward_shape_and_resize() -> None:
    head = QuestionAnsweringHead(layer_dims=[768, 2])
    head.resize_input(32)
    assert head.layer_dims == [32, 2]
    assert head(torch.randn(3, 11, 32)).shape == (3, 11, 2)
    with pytest.raises(ValueError, match="must end in 2"):
        QuestionAnsweringHead(layer_dims=[768, 3])
    with pytest.raises(TypeError):
        QuestionAnsweringHead(n_bset=3)  # type: ignore[call-arg]


def test_loss_is_cross_entropy_on_the_passage() -> None:
    head = QuestionAnsweringHead(layer_dims=[4, 2])
    torch.manual_seed(0)
    logits = torch.randn(3, 8, 2)
    offsets = torch.stack([offsets_for(8, range(4, 7))] * 3)
    labels = torch.tensor([[5, 6, 4, 4], [0, 0, -100, -100], [-1, -1, -100, -100]])
    batch = {CONTEXT_OFFSETS: offsets.view(3, -1), LABELS: labels}
    loss = head.logits_to_loss(logits, **batch)
    keep = [0, 4, 5, 6]  # the no-answer position and the context tokens
    start = -F.log_softmax(logits[0, keep, 0], dim=0)[keep.index(5)]
    end = -F.log_softmax(logits[0, keep, 1], dim=0)[keep.index(6)]
    assert loss[0] == pytest.approx(float((start + end) / 2), abs=1e-5)
    no_answer = -(F.log_softmax(logits[1, keep, 0], dim=0)[0]
                  + F.log_softmax(logits[1, keep, 1], dim=0)[0]) / 2
    assert loss[1] == pytest.approx(float(no_answer), abs=1e-5)
    assert loss[2] == 0  # an answer that could not be located teaches nothing


def test_best_spans_equal_brute_force() -> None:
    torch.manual_seed(1)
    seq_len, context = 12, range(3, 11)
    logits = torch.randn(2, seq_len, 2)
    offsets = torch.stack([offsets_for(seq_len, context)] * 2)
    positions = torch.tensor([[0, 0, 2], [0, 1, 2]])
    spans = passage_spans(logits, offsets, positions, n_best=4, max_answer_length=3)
    for row, found in enumerate(spans):
        brute = sorted(
            ((float(logits[row, s, 0] + logits[row, e, 1]), s, e)
             for s, e in itertools.product(context, context) if s <= e < s + 3),
            reverse=True)[:4]
        assert [round(s.score, 5) for s in found.spans] == [round(b[0], 5) for b in brute]
        assert [(s.start, s.end) for s in found.spans] == [
            (10 * (b[1] - 3), 10 * (b[2] - 3) + 5) for b in brute]
        assert found.no_answer_score == pytest.approx(float(logits[row, 0].sum()))
        assert (found.basket, found.passage, found.n_passages) == (0, row, 2)
    probs = torch.softmax(logits[0, [0, *context]], dim=0)
    best = spans[0].spans[0]
    s, e = best.start // 10 + 1, (best.end - 5) // 10 + 1  # rows of `probs`
    assert best.confidence == pytest.approx(float(probs[s, 0] * probs[e, 1]), rel=1e-5)


def passage(p: int, n: int, best: list[tuple[float, int, int]], no_answer: float
            ) -> PassageSpans:
    spans = [Span(score, 0.5, start, end, p) for score, start, end in best]
    return PassageSpans(basket=0, passage=p, n_passages=n, spans=spans,
                        no_answer_score=no_answer, no_answer_confidence=0.1 * (p + 1))


def test_aggregation_across_passages() -> None:
    passages = [
        passage(0, 3, [(2.0, 0, 4), (1.0, 10, 14)], no_answer=3.0),  # prefers no answer
        passage(1, 3, [(5.0, 40, 44), (4.0, 10, 14)], no_answer=1.0),  # span by 4.0
        passage(2, 3, [(6.0, 80, 90)], no_answer=5.5),  # best span, but only by 0.5
    ]
    result = aggregate(passages, n_best=4)
    assert result.no_ans_gap == pytest.approx(4.0)
    assert [(a.start, a.end) for a in result.answers] == [(80, 90), (40, 44), (10, 14), (0, 0)]
    assert result.answers[3].is_no_answer and result.answers[3].score == pytest.approx(2.0)
    assert result.answers[3].confidence == pytest.approx(0.1)  # the smallest of the passages
    # (10, 14) was found in two overlapping passages: counted once, with its best score
    assert result.answers[2].score == 4.0


def test_no_answer_only_when_every_passage_prefers_it() -> None:
    passages = [passage(0, 2, [(2.0, 0, 4)], 3.0), passage(1, 2, [(1.0, 9, 12)], 4.0)]
    result = aggregate(passages, n_best=2)
    assert result.answers[0].is_no_answer and result.no_ans_gap == pytest.approx(-1.0)
    # lowering no_ans_boost by more than the gap turns the top answer into the span ...
    assert not aggregate(passages, 2, no_ans_boost=-1.01).answers[0].is_no_answer
    assert aggregate(passages, 2, no_ans_boost=-0.99).answers[0].is_no_answer
    # ... and raising it on an answered question makes it "no answer"
    answered = [passage(0, 1, [(5.0, 0, 4)], 2.0)]
    assert aggregate(answered, 2).no_ans_gap == pytest.approx(3.0)
    assert aggregate(answered, 2, no_ans_boost=3.01).answers[0].is_no_answer
    assert not aggregate(answered, 2, no_ans_boost=2.99).answers[0].is_no_answer


def test_duplicate_filtering_and_empty_documents() -> None:
    spans = [(5.0, 10, 20), (4.9, 11, 21), (4.0, 30, 33)]
    assert len(aggregate([passage(0, 1, spans, 0.0)], 5).answers) == 4
    filtered = aggregate([passage(0, 1, spans, 0.0)], 5, duplicate_filtering=1).answers
    assert [(a.start, a.end) for a in filtered] == [(10, 20), (30, 33), (0, 0)]
    # FARM's rule: start OR end close to a better answer's (0: no shared start or end).
    sharing = [(5.0, 10, 20), (4.9, 10, 25), (4.8, 12, 20), (4.0, 30, 33)]
    kept = aggregate([passage(0, 1, sharing, 0.0)], 5, duplicate_filtering=0).answers
    assert [(a.start, a.end) for a in kept] == [(10, 20), (30, 33), (0, 0)]
    everything = aggregate([passage(0, 1, sharing, 0.0)], 5, duplicate_filtering=-1).answers
    assert len(everything) == 5
    empty = aggregate([passage(0, 1, [], 1.0)], 5)
    assert empty.no_ans_gap is None and [a.is_no_answer for a in empty.answers] == [True]


def test_group_passages_needs_dataset_order() -> None:
    items = [passage(0, 2, [], 0), passage(1, 2, [], 0), passage(0, 1, [], 0)]
    items[2].basket = 1
    assert [len(g) for g in group_passages(items)] == [2, 1]
    with pytest.raises(ValueError, match="keeps the dataset's order"):
        group_passages([items[1], items[0]])


def test_calibration_lowers_the_nll_of_overconfident_logits() -> None:
    """Labels drawn from softmax(z); the head sees 4 z (too sure): the fitted temperature
    is close to 4 and the NLL drops."""
    generator = torch.Generator().manual_seed(3)
    true_logits = torch.randn(4000, 10, 2, generator=generator)
    probs = torch.softmax(true_logits, dim=1)  # (n, seq_len, 2)
    labels = torch.stack([torch.multinomial(probs[..., i], 1, generator=generator)[:, 0]
                          for i in (0, 1)], dim=1)  # (n, 2)
    overconfident = 4 * true_logits
    temperature, before, after = fit_temperature(
        [overconfident[..., 0]], [overconfident[..., 1]], [labels])
    assert 3.6 < temperature < 4.4
    assert after < before - 0.5
    truth = float(F.cross_entropy(true_logits[..., 0], labels[:, 0])
                  + F.cross_entropy(true_logits[..., 1], labels[:, 1])) / 2
    assert after == pytest.approx(truth, abs=0.02)


def test_calibrate_conf_sets_the_temperature_and_confidences() -> None:
    head = QuestionAnsweringHead(layer_dims=[4, 2])
    generator = torch.Generator().manual_seed(4)
    logits = 5 * torch.randn(64, 9, 2, generator=generator)
    offsets = torch.stack([offsets_for(9, range(2, 9))] * 64).view(64, -1)
    labels = torch.randint(2, 9, (64, 2), generator=generator)
    batch = {CONTEXT_OFFSETS: offsets, LABELS: labels,
             PASSAGE_POSITION: torch.tensor([[i, 0, 1] for i in range(64)])}
    def most_confident() -> float:
        return max(s.confidence for p in head.logits_to_preds(logits, **batch) for s in p.spans)

    before = most_confident()
    temperature = head.calibrate_conf([(logits, batch)])  # random labels: flatten a lot
    assert temperature > 1.5 and head.temperature_for_confidence == temperature
    assert most_confident() < before / 2


def test_save_and_load_keep_every_setting(tmp_path: Path) -> None:
    head = QuestionAnsweringHead(layer_dims=[768, 2], no_ans_boost=-1.5, n_best=3,
                                 context_window_size=40, duplicate_filtering=2,
                                 temperature_for_confidence=1.7, max_answer_length=12)
    head.resize_input(16)
    head.save(tmp_path, head_num=0)
    loaded = PredictionHead.load(tmp_path / "prediction_head_0_config.json")
    assert isinstance(loaded, QuestionAnsweringHead)
    assert loaded.generate_config() == head.generate_config()
    x = torch.randn(2, 5, 16)
    assert torch.equal(loaded(x), head(x))
    assert not math.isnan(loaded.temperature_for_confidence)


class TestQuestionAnsweringHead(HeadContract):
    """QuestionAnsweringHead passes the contract every head inherits."""

    head_class = QuestionAnsweringHead
    reads_pooler = False

    def make_head(self) -> PredictionHead:
        return QuestionAnsweringHead(layer_dims=[768, 2],
                                     label_list=["start_token", "end_token"])

    def make_labels(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        n, seq_len = batch["input_ids"].shape
        offsets = torch.stack([offsets_for(seq_len, range(1, seq_len - 1))] * n)
        labels = torch.tensor([[1, 2], [0, 0], [2, 2]])[:n]  # (n, 2): one no-answer
        positions = torch.tensor([[i, 0, 1] for i in range(n)])  # (n, 3)
        return {CONTEXT_OFFSETS: offsets.view(n, -1), LABELS: labels, PASSAGE_POSITION: positions}

    def logits_shape(self, batch: dict[str, torch.Tensor]) -> tuple[int, ...]:
        return (*batch["input_ids"].shape, 2)
