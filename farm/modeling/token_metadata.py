"""Tokens with their character offsets and start-of-word flags, and FARM's token-level
helpers (``tokenize_with_metadata``, ``truncate_sequences``, ``insert_at_special_tokens_pos``),
importable from ``farm.modeling.tokenization``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenizers import Encoding
from transformers import PreTrainedTokenizerBase

from farm.errors import check_choice

TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")


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


def tokenize_with_metadata(text: str, tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """FARM's helper: a text's tokens (no special tokens), the start character of each token
    and whether it starts a (white-space delimited) word.

    Args:
        text (str): The text.
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.

    Returns:
        dict[str, Any]: ``tokens`` (token strings), ``offsets`` and ``start_of_word``.

    Example:
        >>> tokenize_with_metadata("Hello world", tokenizer)["start_of_word"]
        [True, True]
    """
    encoding = tokenizer(text, add_special_tokens=False, verbose=False).encodings[0]
    return tokenized_view(encoding, [text])


def truncate_sequences(
    seq_a: list[Any],
    seq_b: list[Any] | None,
    tokenizer: PreTrainedTokenizerBase,
    max_seq_len: int,
    truncation_strategy: str = "longest_first",
    with_special_tokens: bool = True,
    stride: int = 0,
) -> tuple[list[Any], list[Any] | None, list[Any]]:
    """FARM's helper: cut one sequence or a pair (of tokens, offsets, labels, ...) to fit
    ``max_seq_len`` together with the tokenizer's special tokens.

    Elements are removed from the end: ``longest_first`` from the longer sequence one at a
    time (the second on a tie), ``only_first`` / ``only_second`` from that one only,
    ``do_not_truncate`` refuses sequences too long.

    Args:
        seq_a (list[Any]): First sequence.
        seq_b (list[Any] | None): Second sequence, or None.
        tokenizer (PreTrainedTokenizerBase): Tells how many special tokens are added.
        max_seq_len (int): Length to fit, special tokens included.
        truncation_strategy (str): One of ``TRUNCATION_STRATEGIES``.
        with_special_tokens (bool): Leave room for the special tokens.
        stride (int): Put this many kept elements before the overflow (context for a next
            window).

    Returns:
        tuple: The two sequences shortened, and the overflow (elements removed from the
        first sequence; for ``only_second``, from the second), after up to ``stride`` kept
        elements.

    Raises:
        ValueError: An unknown strategy, or sequences that cannot be made to fit.
    """
    check_choice(truncation_strategy, TRUNCATION_STRATEGIES, "truncation_strategy")
    a, b = list(seq_a), list(seq_b) if seq_b is not None else None
    n_special = tokenizer.num_special_tokens_to_add(pair=b is not None) if with_special_tokens \
        else 0
    excess = len(a) + len(b or []) + n_special - max_seq_len
    if excess <= 0:
        return a, b, []
    if truncation_strategy == "do_not_truncate":
        raise ValueError(f"The sequences have {excess} elements too many for max_seq_len="
                         f"{max_seq_len} and truncation_strategy='do_not_truncate'.")
    cut_a = cut_b = 0
    if truncation_strategy == "only_first":
        cut_a = excess
    elif truncation_strategy == "only_second":
        cut_b = excess
    else:
        for _ in range(excess):
            if b is not None and len(b) - cut_b >= len(a) - cut_a:
                cut_b += 1
            else:
                cut_a += 1
    if cut_a > len(a) or (b is not None and cut_b > len(b)) or (b is None and cut_b):
        raise ValueError(f"truncation_strategy={truncation_strategy!r} cannot remove {excess} "
                         f"elements: the sequence to cut is too short (max_seq_len="
                         f"{max_seq_len}).")
    source, cut = (b, cut_b) if truncation_strategy == "only_second" else (a, cut_a)
    assert source is not None
    overflow = source[max(len(source) - cut - stride, 0):] if cut else []
    a = a[: len(a) - cut_a]
    if b is not None:
        b = b[: len(b) - cut_b]
    return a, b, overflow


def insert_at_special_tokens_pos(seq: Sequence[Any], special_tokens_mask: Sequence[int],
                                 insert_element: Any) -> list[Any]:
    """FARM's helper: ``seq`` (one element per non-special token) with ``insert_element`` at
    each position where ``special_tokens_mask`` is 1, so it lines up with the token ids.

    Example:
        >>> insert_at_special_tokens_pos(["O", "B-PER"], [1, 0, 0, 1], "X")
        ['X', 'O', 'B-PER', 'X']
    """
    n_plain = sum(1 for special in special_tokens_mask if not special)
    if n_plain != len(seq):
        raise ValueError(f"seq has {len(seq)} elements but special_tokens_mask has {n_plain} "
                         "non-special positions; they must match.")
    elements = iter(seq)
    return [insert_element if special else next(elements) for special in special_tokens_mask]
