"""QA answers widened to whole words (``QuestionAnsweringHead(snap_to_words=True)``): the
character rule, and spans that become the same counting once."""

from __future__ import annotations

import pytest

from farm.modeling.prediction_heads import QuestionAnsweringHead
from farm.modeling.prediction_heads.qa_spans import (
    PassageSpans,
    Span,
    aggregate,
    snap_passages,
    snap_to_words,
)

TEXT = "FARM was archived in 2024. Zoe\u0301's state-of-the-art café; 北京是中国的首都."


def words(start: int, end: int) -> str:
    a, b = snap_to_words(TEXT, start, end)
    assert TEXT[a:b] == TEXT[a:b].strip()
    return TEXT[a:b]


@pytest.mark.parametrize(("part", "whole"), [
    ("archived in 202", "archived in 2024"),  # the end inside a number
    ("rchived", "archived"),  # the start inside a word
    ("2024", "2024"),  # whole already: the full stop stays out
    ("Zoe", "Zoe\u0301"),  # a combining accent belongs to its letter
    ("state-of", "state-of"),  # hyphen and apostrophe end a word
    ("caf", "café"),
    ("中国", "中国"),  # no spaces between Chinese words: not widened
])
def test_answers_are_widened_to_whole_words(part: str, whole: str) -> None:
    start = TEXT.index(part)
    assert words(start, start + len(part)) == whole


def test_no_answer_and_empty_spans_stay() -> None:
    assert snap_to_words(TEXT, 0, 0) == (0, 0)
    assert snap_to_words(TEXT, 7, 7) == (7, 7)


def test_spans_that_become_the_same_count_once() -> None:
    """"archived in 202" and "archived in 2024" are one answer after widening, with the
    better score; the next best answer takes the free place among the n best."""
    start = TEXT.index("archived")
    end_202 = TEXT.index("2024") + 3
    passage = PassageSpans(basket=0, passage=0, n_passages=1, spans=[
        Span(5.0, 0.5, start, end_202, 0), Span(4.0, 0.3, start, end_202 + 1, 0),
        Span(3.0, 0.1, 0, 4, 0)], no_answer_score=-10.0, no_answer_confidence=0.01)
    (snapped,) = snap_passages([passage], TEXT)
    assert [(s.score, TEXT[s.start:s.end]) for s in snapped.spans] == [
        (5.0, "archived in 2024"), (3.0, "FARM")]
    answers = aggregate([snapped], n_best=2).answers
    assert [TEXT[a.start:a.end] for a in answers] == ["archived in 2024", "FARM"]
    assert [TEXT[a.start:a.end] for a in aggregate([passage], n_best=2).answers] == [
        "archived in 202", "archived in 2024"]


def test_the_option_is_saved_with_the_head() -> None:
    assert QuestionAnsweringHead().snap_to_words is False
    config = QuestionAnsweringHead(snap_to_words=True).generate_config()
    assert config["snap_to_words"] is True
