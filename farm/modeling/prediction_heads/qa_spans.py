"""Answer spans from start/end logits: the best spans of each passage, their aggregation into
a document's answers, and the temperature that calibrates their confidence.

A span's score is ``start_logit + end_logit`` (comparable across passages); its confidence is
``p_start * p_end`` with ``p`` the softmax, at the head's temperature, over the passage's
context tokens and the no-answer position.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from farm.qa_features import NO_ANSWER_POSITION


@dataclass
class Span:
    """A candidate answer.

    Args:
        score (float): ``start_logit + end_logit`` (for a no-answer: see :func:`aggregate`).
        confidence (float): Probability of the span in its passage.
        start (int): First character in the document (0 for no answer).
        end (int): End character, exclusive (0 for no answer).
        passage (int): The passage it was found in (-1 for the document's no-answer).
    """

    score: float
    confidence: float
    start: int
    end: int
    passage: int

    @property
    def is_no_answer(self) -> bool:
        return self.passage < 0


@dataclass
class PassageSpans:
    """The best spans of one passage (sample).

    Args:
        basket (int): The question-document pair (basket) the passage belongs to.
        passage (int): Its position among the basket's passages.
        n_passages (int): How many passages the basket has.
        spans (list[Span]): Best valid spans, best first.
        no_answer_score (float): Start plus end logit at the no-answer position.
        no_answer_confidence (float): Probability of no answer in this passage.
    """

    basket: int
    passage: int
    n_passages: int
    spans: list[Span] = field(default_factory=list)
    no_answer_score: float = 0.0
    no_answer_confidence: float = 0.0


@dataclass
class DocumentAnswers:
    """A question's ranked answers over all passages of its document.

    Args:
        answers (list[Span]): Best first; a no-answer (``passage`` -1) is among them.
        no_ans_gap (float | None): How much ``no_ans_boost`` would have to fall (a positive
            gap) or rise (a negative one) to change the top answer between "no answer" and a
            span: the largest ``best span score - no-answer score`` over the passages.
            ``None`` when the document has no valid span at all (an empty context).
    """

    answers: list[Span]
    no_ans_gap: float | None


def valid_positions(offsets: Tensor) -> Tensor:
    """``(batch, seq_len)`` True at context tokens (those an answer may use)."""
    return offsets[..., 0] >= 0


def masked_logits(logits: Tensor, offsets: Tensor) -> Tensor:
    """Logits ``(batch, seq_len, 2)`` in float32 with every position but the context tokens
    and the no-answer position set to a large negative value."""
    keep = valid_positions(offsets).clone()  # (batch, seq_len)
    keep[:, NO_ANSWER_POSITION] = True
    return logits.float().masked_fill(~keep.unsqueeze(-1), -1e4)


def passage_spans(
    logits: Tensor, offsets: Tensor, positions: Tensor, n_best: int, max_answer_length: int,
    temperature: float = 1.0,
) -> list[PassageSpans]:
    """The ``n_best`` highest-scoring valid spans of each passage of a batch.

    A span is valid when it starts and ends on context tokens, its start is not after its
    end, and it has at most ``max_answer_length`` tokens. The search over all such pairs is
    exact; token spans that cover the same characters count once (with the best score).

    Args:
        logits (Tensor): ``(batch, seq_len, 2)`` start and end logits.
        offsets (Tensor): ``(batch, seq_len, 2)`` character span of each token in the
            document, ``-1`` where a token is not context.
        positions (Tensor): ``(batch, 3)`` basket, passage, number of passages.
        n_best (int): Spans to keep per passage.
        max_answer_length (int): Longest answer, in tokens.
        temperature (float): Softmax temperature of the confidences.

    Returns:
        list[PassageSpans]: One per passage of the batch.
    """
    logits = masked_logits(logits, offsets)  # (batch, seq_len, 2)
    start, end = logits[..., 0], logits[..., 1]  # (batch, seq_len) each
    probs = torch.softmax(logits / temperature, dim=1)  # (batch, seq_len, 2)
    valid = valid_positions(offsets)  # (batch, seq_len)
    seq_len = logits.shape[1]
    band = torch.ones(seq_len, seq_len, dtype=torch.bool).triu()
    band &= ~torch.ones(seq_len, seq_len, dtype=torch.bool).triu(max_answer_length)
    allowed = band & valid.unsqueeze(2) & valid.unsqueeze(1)  # (batch, start, end)
    scores = (start.unsqueeze(2) + end.unsqueeze(1)).masked_fill(~allowed, -math.inf)
    # More pairs than needed: several token spans may cover the same characters (the
    # byte tokens of one character), and each character span counts once.
    k = min(4 * n_best + 8, seq_len * seq_len)
    top_scores, top_index = scores.flatten(1).topk(k, dim=1)  # (batch, k)
    starts, ends = top_index // seq_len, top_index % seq_len  # (batch, k) token positions
    confidences = (probs[..., 0].gather(1, starts) * probs[..., 1].gather(1, ends)).tolist()
    char_starts = offsets[..., 0].gather(1, starts).tolist()  # (batch, k)
    char_ends = offsets[..., 1].gather(1, ends).tolist()  # (batch, k)
    no_answer_scores = (start[:, NO_ANSWER_POSITION] + end[:, NO_ANSWER_POSITION]).tolist()
    no_answer_confidences = probs[:, NO_ANSWER_POSITION].prod(dim=1).tolist()  # (batch,)
    results = []
    for row, (basket, passage, n_passages) in enumerate(positions.tolist()):
        item = PassageSpans(
            basket=basket, passage=passage, n_passages=n_passages,
            no_answer_score=no_answer_scores[row],
            no_answer_confidence=no_answer_confidences[row],
        )
        seen = set()
        for score, confidence, a, b in zip(top_scores[row].tolist(), confidences[row],
                                           char_starts[row], char_ends[row], strict=True):
            if score == -math.inf or len(item.spans) == n_best:
                break
            if (a, b) in seen:
                continue
            seen.add((a, b))
            item.spans.append(Span(score=score, confidence=confidence, start=a, end=b,
                                   passage=passage))
        results.append(item)
    return results


def _duplicate(span: Span, better: Span, distance: int) -> bool:
    """Whether ``span`` is filtered as a near-duplicate of ``better`` (see :func:`aggregate`)."""
    if distance < 0:
        return (span.start, span.end) == (better.start, better.end)
    return abs(span.start - better.start) <= distance or abs(span.end - better.end) <= distance


def aggregate(
    passages: list[PassageSpans], n_best: int, no_ans_boost: float = 0.0,
    duplicate_filtering: int = -1, rank_by_confidence: bool = False,
) -> DocumentAnswers:
    """Join the spans of a question's passages into the document's ranked answers.

    The answer is "no answer" only when every passage prefers no answer: the no-answer
    candidate scores ``best span score - no_ans_gap`` (see :class:`DocumentAnswers`), with
    ``no_ans_boost`` added to every passage's no-answer score first. Its confidence is the
    smallest no-answer probability of the passages. The same character span found in
    overlapping passages counts once (its best score); with ``duplicate_filtering`` >= 0,
    a span whose start or end is within that many characters of a better span's start or
    end is dropped too (FARM's rule, in characters where FARM counted tokens; 0: no two
    answers share a start or an end).

    Args:
        passages (list[PassageSpans]): All passages of one question.
        n_best (int): Answers to return.
        no_ans_boost (float): Added to the no-answer scores (higher: more "no answer").
        duplicate_filtering (int): Character distance of near-duplicates (-1: identical
            spans only).
        rank_by_confidence (bool): Rank by confidence instead of score.

    Returns:
        DocumentAnswers: Ranked answers and the no-answer gap.
    """
    key = (lambda s: s.confidence) if rank_by_confidence else (lambda s: s.score)
    spans = sorted((s for p in passages for s in p.spans), key=key, reverse=True)
    kept: list[Span] = []
    for span in spans:
        if len(kept) == n_best:  # more are never returned, whatever the no-answer's rank
            break
        if any(_duplicate(span, k, duplicate_filtering) for k in kept):
            continue
        kept.append(span)
    no_answer_confidence = min((p.no_answer_confidence for p in passages), default=1.0)
    gaps = [p.spans[0].score - (p.no_answer_score + no_ans_boost) for p in passages if p.spans]
    if not gaps:
        return DocumentAnswers([Span(0.0, no_answer_confidence, 0, 0, -1)], None)
    gap = max(gaps)
    no_answer = Span(kept[0].score - gap, no_answer_confidence, 0, 0, -1)
    # A stable sort: on a tie (a gap of 0) "no answer" stays first.
    ranked = sorted([no_answer, *kept], key=key, reverse=True)
    return DocumentAnswers(ranked[:n_best], gap)


# Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer,
# Myanmar): a run of their letters is not one word, so answers are not widened across it.
UNSPACED_SCRIPTS = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x2E80, 0x9FFF),
                    (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x3FFFF))


def _in_word(char: str) -> bool:
    """A letter, digit or combining mark of a script that separates words by spaces."""
    if unicodedata.category(char)[0] not in "LNM":
        return False
    code = ord(char)
    return not any(low <= code <= high for low, high in UNSPACED_SCRIPTS)


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen the characters ``[start, end)`` of ``text`` to whole words: a start or end
    inside a word (a run of letters, digits and combining marks) moves to the word's edge,
    so that ``"archived in 202"`` becomes ``"archived in 2024"``. Punctuation and white
    space end a word; so does every character of scripts written without spaces.

    Example:
        >>> snap_to_words("It was archived in 2024.", 7, 22)
        (7, 23)
    """
    if start >= end:
        return start, end
    while start > 0 and _in_word(text[start - 1]) and _in_word(text[start]):
        start -= 1
    while end < len(text) and _in_word(text[end]) and _in_word(text[end - 1]):
        end += 1
    return start, end


def snap_passages(passages: list[PassageSpans], text: str) -> list[PassageSpans]:
    """Each passage's spans widened to whole words of ``text`` (:func:`snap_to_words`); of
    spans that become the same, the best is kept. Scores and confidences are the model's
    for the token span found."""
    snapped = []
    for item in passages:
        spans, seen = [], set()
        for span in item.spans:
            start, end = snap_to_words(text, span.start, span.end)
            if (start, end) not in seen:
                seen.add((start, end))
                spans.append(replace(span, start=start, end=end))
        snapped.append(replace(item, spans=spans))
    return snapped


def group_passages(items: list[PassageSpans]) -> list[list[PassageSpans]]:
    """Consecutive passages of each basket, in order; they must come in dataset order."""
    groups: list[list[PassageSpans]] = []
    for item in items:
        follows = bool(groups) and groups[-1][-1].basket == item.basket and (
            groups[-1][-1].passage == item.passage - 1)
        if item.passage == 0 and (not groups or len(groups[-1]) == groups[-1][-1].n_passages):
            groups.append([item])
        elif item.passage > 0 and follows:
            groups[-1].append(item)
        else:
            raise ValueError(
                f"passage {item.passage} of basket {item.basket} does not follow the passages "
                "before it: evaluate question answering on a data loader that keeps the "
                "dataset's order (no shuffling), so a document's passages can be joined."
            )
    return groups


def fit_temperature(start_logits: list[Tensor], end_logits: list[Tensor],
                    labels: list[Tensor]) -> tuple[float, float, float]:
    """The softmax temperature that minimizes the negative log-likelihood of the true start
    and end positions.

    Args:
        start_logits (list[Tensor]): Per batch ``(batch, seq_len)`` masked start logits.
        end_logits (list[Tensor]): Per batch the end logits, likewise.
        labels (list[Tensor]): Per batch ``(batch, 2)`` true start and end (negative: not
            used).

    Returns:
        tuple[float, float, float]: The temperature, and the mean NLL (of start and end,
        averaged) at temperature 1 and at the fitted temperature.
    """
    rows = []
    for start, end, label in zip(start_logits, end_logits, labels, strict=True):
        keep = (label >= 0).all(dim=1)
        rows.append((start[keep], end[keep], label[keep]))
    n = sum(len(r[2]) for r in rows)
    if n == 0:
        raise ValueError("No labelled passages to calibrate the confidence on.")

    def nll(log_t: float) -> float:
        t = float(np.exp(log_t))
        total = 0.0
        for start, end, label in rows:
            for logits, target in ((start, label[:, 0]), (end, label[:, 1])):
                total += float(torch.nn.functional.cross_entropy(
                    logits / t, target, reduction="sum"))
        return total / (2 * n)

    from scipy.optimize import minimize_scalar  # on first use: scipy is large

    fitted = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded",
                             options={"xatol": 1e-4})
    before = nll(0.0)
    log_t, after = float(fitted.x), float(fitted.fun)
    if after > before:  # the bounded search may end a hair above 1's value
        log_t, after = 0.0, before
    return float(np.exp(log_t)), before, after
