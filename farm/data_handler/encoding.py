"""The one preprocessing path: batched fast tokenization to unpadded, named features.

Every processor turns texts into features here, so that offsets, special tokens, truncation
and segment ids behave the same for every task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from tokenizers import Encoding, Tokenizer
from transformers import PreTrainedTokenizerBase
from transformers.tokenization_utils_base import PaddingStrategy, TruncationStrategy

from farm.data_handler.input_checks import surrogate_problem
from farm.errors import DataFileError
from farm.modeling.tokenization import tokenized_view

logger = logging.getLogger(__name__)

_CHUNK = 4096  # texts per tokenizer call: bounds the memory of Python-side results


def encode_texts(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_seq_len: int,
    texts_b: Sequence[str] | None = None,
) -> tuple[list[Encoding], int]:
    """Tokenize texts (or text pairs) in batches, truncated to ``max_seq_len`` tokens.

    Pairs are truncated longest-first, so the longer text gives up tokens first.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.
        texts (Sequence[str]): The texts.
        max_seq_len (int): Maximum tokens per sample, special tokens included.
        texts_b (Sequence[str] | None): Second texts of pairs.

    Returns:
        tuple[list[Encoding], int]: One encoding per text, and how many were truncated.
    """
    encodings: list[Encoding] = []
    for begin in range(0, len(texts), _CHUNK):
        end = begin + _CHUNK
        encodings += encode_batch(
            tokenizer, texts[begin:end], texts_b[begin:end] if texts_b is not None else None,
            max_seq_len,
        )
    n_truncated = sum(1 for e in encodings if e.overflowing)
    return encodings, n_truncated


def encode_batch(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    texts_b: Sequence[str] | None,
    max_length: int | None,
) -> list[Encoding]:
    """The Rust encodings of ``texts`` (or pairs), unpadded, truncated longest-first to
    ``max_length`` (``None``: not truncated).

    Does what a fast tokenizer's ``__call__`` does before it converts every encoding to
    Python lists (which costs about as much as the tokenization itself and is not needed
    here): the tokenizer's own truncation and padding set-up, then the backend's
    ``encode_batch``. Tokenizers without that interface go through ``__call__``.
    """
    try:
        return _encode_batch(tokenizer, texts, texts_b, max_length)
    except TypeError:
        # The Rust tokenizer refuses a text holding a lone surrogate with a bare TypeError.
        # Processors check their inputs first; this names the text for any other caller.
        for i, text in enumerate([*texts, *(texts_b or [])]):
            problem = surrogate_problem(text)
            if problem is not None:
                raise DataFileError(f"text {i % len(texts)} of a batch to tokenize "
                                    f"{problem}.") from None
        raise


def _encode_batch(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    texts_b: Sequence[str] | None,
    max_length: int | None,
) -> list[Encoding]:
    backend = getattr(tokenizer, "_tokenizer", None)
    setup = getattr(tokenizer, "set_truncation_and_padding", None)
    if not isinstance(backend, Tokenizer) or setup is None:
        return list(tokenizer(
            list(texts), text_pair=list(texts_b) if texts_b is not None else None,
            truncation="longest_first" if max_length is not None else False,
            max_length=max_length, verbose=False,
            return_attention_mask=False, return_token_type_ids=False,
        ).encodings)
    setup(
        padding_strategy=PaddingStrategy.DO_NOT_PAD,
        truncation_strategy=TruncationStrategy.LONGEST_FIRST if max_length is not None
        else TruncationStrategy.DO_NOT_TRUNCATE,
        max_length=max_length, stride=0, pad_to_multiple_of=None, padding_side=None,
    )
    split = bool(getattr(tokenizer, "split_special_tokens", False))
    if backend.encode_special_tokens != split:
        backend.encode_special_tokens = split
    inputs: list[Any] = list(zip(texts, texts_b, strict=True)) if texts_b is not None else list(
        texts)
    return list(backend.encode_batch(inputs, add_special_tokens=True))


def sequence_features(encoding: Encoding) -> dict[str, np.ndarray]:
    """``input_ids``, ``padding_mask`` and ``segment_ids`` of one encoding, unpadded."""
    ids = np.asarray(encoding.ids, dtype=np.int32)
    return {
        "input_ids": ids,
        "padding_mask": np.ones(len(ids), dtype=np.int8),
        "segment_ids": np.asarray(encoding.type_ids, dtype=np.int8),
    }


class LazyTokenizedView(Mapping[str, Any]):
    """:func:`tokenized_view` of an encoding, computed when first read.

    A sample's tokens, offsets and start-of-word flags are read only by some callers (the
    logged sample, span tasks, users inspecting baskets); text classification and
    regression never need them, so they should not pay for the per-token loop. Reads like
    the dict it stands for.

    Args:
        encoding (Encoding): The encoding of ``texts``.
        texts (Sequence[str]): The text(s) the encoding was made from.
    """

    __slots__ = ("_encoding", "_texts", "_view")

    def __init__(self, encoding: Encoding, texts: Sequence[str]):
        self._encoding: Encoding | None = encoding
        self._texts = texts
        self._view: dict[str, Any] | None = None

    def _get(self) -> dict[str, Any]:
        if self._view is None:
            assert self._encoding is not None
            self._view = tokenized_view(self._encoding, self._texts)
            self._encoding = None  # the view replaces it
        return self._view

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return repr(self._get())


def report_truncation(n_truncated: int, n_total: int, max_seq_len: int) -> None:
    """Log how many samples lost tokens to ``max_seq_len``."""
    if n_truncated:
        logger.warning(
            "%d of %d samples were longer than max_seq_len=%d tokens and were truncated; "
            "raise max_seq_len to keep their ends.",
            n_truncated, n_total, max_seq_len,
        )


def encode_untruncated(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> list[Encoding]:
    """Tokenize texts in batches without truncation, for tasks that split long texts into
    windows themselves (NER).

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.
        texts (Sequence[str]): The texts.

    Returns:
        list[Encoding]: One encoding per text, special tokens included.
    """
    encodings: list[Encoding] = []
    for begin in range(0, len(texts), _CHUNK):
        encodings += encode_batch(tokenizer, texts[begin : begin + _CHUNK], None, None)
    return encodings


def special_token_layout(tokenizer: PreTrainedTokenizerBase) -> tuple[int, int]:
    """How many special tokens the tokenizer puts before and after a single text."""
    mask = tokenizer("x", verbose=False).encodings[0].special_tokens_mask
    n_before = next((i for i, special in enumerate(mask) if not special), len(mask))
    n_after = next((i for i, special in enumerate(reversed(mask)) if not special), 0)
    return n_before, n_after
