"""The one preprocessing path: batched fast tokenization to unpadded, named features.

Every processor turns texts into features here, so that offsets, special tokens, truncation
and segment ids behave the same for every task.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from tokenizers import Encoding
from transformers import PreTrainedTokenizerBase

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
        batch = tokenizer(
            list(texts[begin:end]),
            text_pair=list(texts_b[begin:end]) if texts_b is not None else None,
            truncation="longest_first",
            max_length=max_seq_len,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        encodings += batch.encodings
    n_truncated = sum(1 for e in encodings if e.overflowing)
    return encodings, n_truncated


def sequence_features(encoding: Encoding) -> dict[str, np.ndarray]:
    """``input_ids``, ``padding_mask`` and ``segment_ids`` of one encoding, unpadded."""
    ids = np.asarray(encoding.ids, dtype=np.int32)
    return {
        "input_ids": ids,
        "padding_mask": np.ones(len(ids), dtype=np.int8),
        "segment_ids": np.asarray(encoding.type_ids, dtype=np.int8),
    }


def tokenized_view(encoding: Encoding, texts: Sequence[str]) -> dict[str, Any]:
    """Tokens, character offsets and start-of-word flags of the non-special tokens.

    Args:
        encoding (Encoding): The encoding of ``texts`` (one text, or a pair).
        texts (Sequence[str]): The text(s) the encoding was made from.

    Returns:
        dict[str, Any]: ``tokens``, ``offsets`` (start character of each token in its text),
        ``start_of_word`` (the first token covering a word's first character, a word being
        delimited by white space), and for pairs ``sequence_ids`` (0 or 1: which text each
        token belongs to).
    """
    tokens, offsets, start_of_word, sequence_ids = [], [], [], []
    covered = {0: 0, 1: 0}  # per text: end of the characters earlier tokens covered
    for token, (start, end), special, seq in zip(
        encoding.tokens, encoding.offsets, encoding.special_tokens_mask, encoding.sequence_ids,
        strict=True,
    ):
        if special or seq is None:
            continue
        text = texts[seq]
        # SentencePiece-style tokens ("▁word") may include the space before the word.
        while start < end and text[start].isspace():
            start += 1
        tokens.append(token)
        offsets.append(start)
        start_of_word.append(
            end > start
            and start >= covered[seq]
            and (start == 0 or text[start - 1].isspace())
        )
        covered[seq] = max(covered[seq], end)
        sequence_ids.append(seq)
    view: dict[str, Any] = {"tokens": tokens, "offsets": offsets, "start_of_word": start_of_word}
    if len(texts) > 1:
        view["sequence_ids"] = sequence_ids
    return view


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
        batch = tokenizer(
            list(texts[begin : begin + _CHUNK]),
            truncation=False,
            verbose=False,  # no "longer than the model's maximum" warning: callers window
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        encodings += batch.encodings
    return encodings


def special_token_layout(tokenizer: PreTrainedTokenizerBase) -> tuple[int, int]:
    """How many special tokens the tokenizer puts before and after a single text."""
    mask = tokenizer("x", verbose=False).encodings[0].special_tokens_mask
    n_before = next((i for i, special in enumerate(mask) if not special), len(mask))
    n_after = next((i for i, special in enumerate(reversed(mask)) if not special), 0)
    return n_before, n_after
