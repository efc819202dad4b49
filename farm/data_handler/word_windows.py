"""Words and their sub-tokens: word spans in a text, the alignment of a tokenized sentence
to its words, and the overlapping windows a long sentence is cut into.

Word-level tasks (NER) tokenize each sentence as its words joined by single spaces, so that
every sub-token lies inside one word for every tokenizer family (WordPiece, byte-level BPE,
SentencePiece), and training files and request texts are tokenized alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Encoding

# Request texts are split into words as CoNLL files are: punctuation apart, but dates,
# numbers, hyphenated words and dotted abbreviations whole.
_WORD = re.compile(
    r"(?:[^\W\d_]\.){2,}"  # abbreviations with dots: U.S., e.g.
    r"|\w+(?:[-.,/&:]\w+)*"  # words and numbers: Bonn-based, 1996-08-22, 3,500, 10:30, AT&T
    r"|['’]\w+"  # clitics: 's, 're
    r"|\S"  # any other visible character on its own
)


def split_words(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of a free text, CoNLL style.

    Example:
        >>> text = "Merkel visited the U.S. (again)."
        >>> [text[a:b] for a, b in split_words(text)]
        ['Merkel', 'visited', 'the', 'U.S.', '(', 'again', ')', '.']
    """
    return [m.span() for m in _WORD.finditer(text)]


def whitespace_words(text: str) -> list[tuple[int, int]]:
    """Character spans of the white-space separated words of ``text``."""
    return [m.span() for m in re.finditer(r"\S+", text)]


def locate_words(words: list[str], text: str) -> list[tuple[int, int]] | None:
    """Spans of ``words`` found in order in ``text``, or None if one is missing."""
    spans, cursor = [], 0
    for word in words:
        start = text.find(word, cursor)
        if start < 0:
            return None
        cursor = start + len(word)
        spans.append((start, cursor))
    return spans


@dataclass
class Alignment:
    """How the content tokens (special tokens left out) of a sentence fall on its words.

    Args:
        word_of_token (np.ndarray): ``(n_tokens,)`` the word each token belongs to.
        first_token (np.ndarray): ``(n_words,)`` each word's first token; for a word whose
            characters the tokenizer dropped, the position of the next token.
        n_tokens (np.ndarray): ``(n_words,)`` tokens per word (0: dropped).
    """

    word_of_token: np.ndarray
    first_token: np.ndarray
    n_tokens: np.ndarray


def align(
    encoding: Encoding | Sequence[tuple[int, int]], words: list[str], n_before: int,
    n_after: int,
) -> Alignment:
    """Align the tokenization of ``" ".join(words)`` to ``words`` by character offsets.

    Args:
        encoding (Encoding | Sequence[tuple[int, int]]): The fast tokenizer's encoding of the
            joined words, or its ``offsets`` (read once by the caller: each access of an
            Encoding's property builds a new list).
        words (list[str]): The words.
        n_before (int): Special tokens before the text.
        n_after (int): Special tokens after it.

    Returns:
        Alignment: Token-to-word map and each word's first token and token count.
    """
    joined = " ".join(words)
    word_start = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    all_offsets = encoding.offsets if isinstance(encoding, Encoding) else encoding
    offsets = all_offsets[n_before : len(all_offsets) - n_after]
    starts = np.empty(len(offsets), dtype=np.int64)
    for k, (start, end) in enumerate(offsets):
        # SentencePiece and byte-level tokens may include the space before their word.
        while start < end and joined[start].isspace():
            start += 1
        starts[k] = start
    word_of_token = np.maximum(np.searchsorted(word_start, starts, side="right") - 1, 0)
    if np.any(np.diff(word_of_token) < 0):
        raise ValueError(
            f"the tokenizer's offsets are not in text order for {joined[:80]!r}; word-level "
            "tasks need a tokenizer whose tokens follow the text."
        )
    n_tokens = np.bincount(word_of_token, minlength=len(words))
    first_token = np.concatenate([[0], np.cumsum(n_tokens)[:-1]]).astype(np.int64)
    return Alignment(word_of_token, first_token, n_tokens)


@dataclass
class Window:
    """A part of a sentence that fits into one sample.

    Args:
        token_start (int): First content token in the window.
        token_end (int): End (exclusive) of its content tokens.
        word_start (int): First word the window owns (predicts for).
        word_end (int): End (exclusive) of the words it owns.
    """

    token_start: int
    token_end: int
    word_start: int
    word_end: int


def plan_windows(alignment: Alignment, capacity: int, overlap: int) -> list[Window]:
    """Cut a sentence into windows of at most ``capacity`` tokens that begin at word starts.

    Consecutive windows share words worth at most ``overlap`` tokens; each word is owned by
    exactly one window, the shared words being split between the two windows at their middle,
    so that every owned word has context on both sides. A single word longer than
    ``capacity`` keeps only its first ``capacity`` sub-tokens (its label sits on the first).

    Args:
        alignment (Alignment): The sentence's alignment.
        capacity (int): Content tokens per window (``max_seq_len`` minus special tokens).
        overlap (int): Tokens consecutive windows may share, below ``capacity``.

    Returns:
        list[Window]: The windows in order; their owned words cover the sentence once.
    """
    first, counts = alignment.first_token, alignment.n_tokens
    n_words, ends = len(counts), first + counts
    total = int(counts.sum())
    if total <= capacity:
        return [Window(0, total, 0, n_words)]
    spans: list[tuple[int, int]] = []  # word ranges [start, end) of the windows
    start = 0
    while True:
        end = start + 1
        # Add words while they fit; words without tokens always fit, and a word longer than
        # the window is added (cut) when the window has no token yet.
        while end < n_words and (
            ends[end] - first[start] <= capacity or counts[end] == 0
            or ends[end - 1] == first[start]
        ):
            end += 1
        spans.append((start, end))
        if end == n_words:
            break
        # The next window starts at the first word after this window's first token from
        # which at most `overlap` tokens of this window are repeated.
        shared_from = start + 1
        while ends[end - 1] - first[shared_from] > overlap or first[shared_from] == first[start]:
            shared_from += 1
        start = shared_from
    owners = [0]
    for (next_start, _), (_, prev_end) in zip(spans[1:], spans[:-1], strict=True):
        middle = next_start + (prev_end - next_start + 1) // 2
        owners.append(max(middle, owners[-1]))
    owners.append(n_words)
    return [
        Window(
            token_start=int(first[a]),
            token_end=int(min(ends[b - 1], first[a] + capacity)),
            word_start=owners[i],
            word_end=owners[i + 1],
        )
        for i, (a, b) in enumerate(spans)
    ]
