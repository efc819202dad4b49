"""Passages of a document for question answering: the tokenizer's question/passage template,
character spans of the document's tokens, answers mapped from characters to tokens, and the
overlapping passages a long document is cut into.

A document is tokenized once (without special tokens); every question's passages are slices
of that tokenization, put between the tokenizer's own special tokens for a text pair, so
``[CLS] question [SEP] passage [SEP]`` for BERT and ``<s> question </s></s> passage </s>``
for RoBERTa come from the tokenizer's template, not from rules per architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Encoding
from transformers import PreTrainedTokenizerBase

NOT_CONTEXT = -1
"""Character offset recorded for tokens that are not part of the passage (question, special
tokens) and for passage tokens that cover only white space."""


@dataclass
class PairTemplate:
    """Where a tokenizer puts its special tokens around a question and a passage.

    Args:
        prefix (list[int]): Token ids before the question (``[CLS]``).
        middle (list[int]): Between question and passage (``[SEP]``, or ``</s></s>``).
        suffix (list[int]): After the passage.
        prefix_types (list[int]): Their segment ids, and likewise for the other parts.
        middle_types (list[int]): Segment ids of ``middle``.
        suffix_types (list[int]): Segment ids of ``suffix``.
        question_type (int): Segment id of question tokens.
        passage_type (int): Segment id of passage tokens.
    """

    prefix: list[int]
    middle: list[int]
    suffix: list[int]
    prefix_types: list[int]
    middle_types: list[int]
    suffix_types: list[int]
    question_type: int
    passage_type: int

    @property
    def n_special(self) -> int:
        """Number of special tokens in one sample."""
        return len(self.prefix) + len(self.middle) + len(self.suffix)

    def build(self, question: np.ndarray, passage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and segment ids of ``question`` and ``passage`` in the template."""
        ids = np.concatenate([self.prefix, question, self.middle, passage, self.suffix])
        types = np.concatenate([
            self.prefix_types, np.full(len(question), self.question_type), self.middle_types,
            np.full(len(passage), self.passage_type), self.suffix_types,
        ])
        return ids.astype(np.int32), types.astype(np.int8)

    def passage_offset(self, n_question: int) -> int:
        """Position of the first passage token in a sample with ``n_question`` tokens."""
        return len(self.prefix) + n_question + len(self.middle)


def pair_template(tokenizer: PreTrainedTokenizerBase) -> PairTemplate:
    """Read the tokenizer's text-pair template from the encoding of a tiny pair.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.

    Returns:
        PairTemplate: Its special tokens and segment ids around the two texts.
    """
    encoding = tokenizer("a", "a", verbose=False).encodings[0]
    seq = encoding.sequence_ids
    first = [i for i, s in enumerate(seq) if s == 0]
    second = [i for i, s in enumerate(seq) if s == 1]
    if not first or not second:
        raise ValueError(
            f"{type(tokenizer).__name__} gives no tokens for a short text pair; question "
            "answering needs a tokenizer that encodes text pairs."
        )
    ids, types = encoding.ids, encoding.type_ids
    parts = [range(0, first[0]), range(first[-1] + 1, second[0]), range(second[-1] + 1, len(ids))]
    return PairTemplate(
        prefix=[ids[i] for i in parts[0]], middle=[ids[i] for i in parts[1]],
        suffix=[ids[i] for i in parts[2]], prefix_types=[types[i] for i in parts[0]],
        middle_types=[types[i] for i in parts[1]], suffix_types=[types[i] for i in parts[2]],
        question_type=types[first[0]], passage_type=types[second[0]],
    )


def token_char_spans(encoding: Encoding, text: str) -> np.ndarray:
    """Character span ``[start, end)`` of every token of ``text``'s encoding.

    White space that SentencePiece and byte-level tokens carry before their word is left
    out; a token that covers only white space gets ``NOT_CONTEXT`` for both ends, so no
    answer starts or ends on it.

    Args:
        encoding (Encoding): The encoding of ``text`` (without special tokens).
        text (str): The text.

    Returns:
        np.ndarray: ``(n_tokens, 2)`` int64.
    """
    spans = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    for k, (start, end) in enumerate(spans):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        spans[k] = (start, end) if start < end else (NOT_CONTEXT, NOT_CONTEXT)
    return spans


def answer_tokens(spans: np.ndarray, start: int, end: int) -> tuple[int, int] | None:
    """First and last token (inclusive) of the answer at characters ``[start, end)``.

    The first token is the first one ending after ``start``, the last one the last that
    begins before ``end``, so an answer starting or ending inside a token includes it.

    Args:
        spans (np.ndarray): ``(n_tokens, 2)`` from :func:`token_char_spans`.
        start (int): The answer's first character.
        end (int): Its end (exclusive).

    Returns:
        tuple[int, int] | None: The token span, or ``None`` when no token covers a character
        of the answer (an answer of white space only, or characters the tokenizer drops).
    """
    valid = spans[:, 0] >= 0
    inside = np.flatnonzero(valid & (spans[:, 1] > start) & (spans[:, 0] < end))
    if not len(inside):
        return None
    return int(inside[0]), int(inside[-1])


def passage_starts(n_tokens: int, passage_len: int, stride: int) -> list[int]:
    """First document token of each passage: every ``stride`` tokens, until one reaches
    the end. A document without tokens has one empty passage.

    Example:
        >>> passage_starts(10, passage_len=4, stride=3)
        [0, 3, 6]
    """
    starts = [0]
    while starts[-1] + passage_len < n_tokens:
        starts.append(starts[-1] + stride)
    return starts
