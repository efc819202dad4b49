"""How many tokens of preprocessed data are the tokenizer's unknown token, and why.

A tokenizer whose vocabulary does not fit the texts turns many words into its unknown token
(``[UNK]``): a model then learns little, quietly. The usual causes are a tokenizer that keeps
upper case (``do_lower_case=False``) on an uncased vocabulary, or a model for another
language or script. :func:`report_unknown_tokens` measures the share per split and warns
above :data:`WARN_RATE`, naming an example and the likely cause.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

WARN_RATE = 0.10
"""Share of unknown tokens in a split above which a warning is logged."""

_CHUNK = 8192  # samples whose ids are counted together
_EXAMPLE_TOKENS = 24  # tokens shown around the first unknown token of the example


@dataclass
class UnknownTokens:
    """Unknown tokens among the content tokens (special tokens left out) of some samples.

    Args:
        n_unknown (int): Unknown tokens.
        n_tokens (int): Content tokens, unknown ones included.
        example (str): Tokens of the first sample holding unknown tokens, around the first.
        tokenizer (Any): The tokenizer of that sample's feature (for the likely causes).
    """

    n_unknown: int = 0
    n_tokens: int = 0
    example: str = ""
    tokenizer: Any = field(default=None, repr=False)

    @property
    def rate(self) -> float:
        """``n_unknown / n_tokens`` (0 without tokens)."""
        return self.n_unknown / self.n_tokens if self.n_tokens else 0.0

    def describe(self) -> str:
        """``"3 of 12 tokens (25.0%)"``."""
        return f"{self.n_unknown} of {self.n_tokens} tokens ({self.rate:.1%})"


def count_unknown(features: Mapping[str, Sequence[np.ndarray]], processor: Any
                  ) -> UnknownTokens:
    """Count the unknown tokens of every ``*input_ids`` feature.

    Each feature is read with the tokenizer that made it: ``query_input_ids`` with the
    processor's ``query_tokenizer``, ``input_ids`` with its ``tokenizer``.

    Args:
        features (Mapping[str, Sequence[np.ndarray]]): Feature name → one array per sample.
        processor (Any): The processor that made them.

    Returns:
        UnknownTokens: The counts and an example.
    """
    counts = UnknownTokens()
    for name, arrays in features.items():
        if not name.endswith("input_ids") or not len(arrays):
            continue
        tokenizer = getattr(processor, f"{name[: -len('input_ids')]}tokenizer", None)
        unk = getattr(tokenizer, "unk_token_id", None)
        if tokenizer is None or unk is None:
            continue
        others = np.asarray(sorted(set(tokenizer.all_special_ids) - {unk}), dtype=np.int64)
        for begin in range(0, len(arrays), _CHUNK):
            chunk = arrays[begin : begin + _CHUNK]
            ids = np.concatenate([np.ravel(a) for a in chunk])
            counts.n_tokens += int(ids.size - np.isin(ids, others).sum())
            n_unknown = int(np.count_nonzero(ids == unk))
            counts.n_unknown += n_unknown
            if n_unknown and not counts.example:
                sample = next(np.ravel(a) for a in chunk if np.any(a == unk))
                counts.example = _example(sample, unk, tokenizer)
                counts.tokenizer = tokenizer
    return counts


def report_unknown_tokens(split: str, features: Mapping[str, Sequence[np.ndarray]],
                          processor: Any) -> UnknownTokens:
    """Log the share of unknown tokens in a split; warn above :data:`WARN_RATE` with an
    example and the likely causes.

    Args:
        split (str): The split's name (``"train"``, ...).
        features (Mapping[str, Sequence[np.ndarray]]): Its features.
        processor (Any): The processor that made them.

    Returns:
        UnknownTokens: The counts.
    """
    counts = count_unknown(features, processor)
    if counts.rate > WARN_RATE:
        logger.warning(
            "%s split: %s are the tokenizer's unknown token %r, so the model sees little of "
            "these texts. Example: %s. Likely causes: %s",
            split, counts.describe(), getattr(counts.tokenizer, "unk_token", None),
            counts.example, " ".join(likely_causes(counts.tokenizer)),
        )
    elif counts.n_tokens:
        logger.info("%s split: %s are the unknown token.", split, counts.describe())
    return counts


def likely_causes(tokenizer: Any) -> list[str]:
    """Why a tokenizer may not know many of the tokens, most specific first.

    Args:
        tokenizer (Any): A fast tokenizer.

    Returns:
        list[str]: One sentence per cause.
    """
    casing, lowers = vocabulary_casing(tokenizer), lower_cases(tokenizer)
    causes = []
    if casing == "uncased" and lowers is False:
        causes.append(
            "the tokenizer keeps upper case (do_lower_case=False) but its vocabulary is "
            "uncased (no token has an upper-case letter): load it with "
            "Tokenizer.load(..., do_lower_case=True)."
        )
    elif casing == "cased" and lowers is True:
        causes.append(
            "the tokenizer lower-cases (do_lower_case=True) but its vocabulary is cased: "
            "load it with Tokenizer.load(..., do_lower_case=False)."
        )
    causes.append(
        "the model's vocabulary does not cover the language or script of the texts: use a "
        "model trained on that language, or a multilingual one."
    )
    if casing == "unknown":
        causes.append("do_lower_case= of Tokenizer.load does not match the vocabulary's "
                      "casing.")
    return [f"({i}) {cause}" for i, cause in enumerate(causes, start=1)]


def lower_cases(tokenizer: Any) -> bool | None:
    """Whether the tokenizer lower-cases its input (``None`` if it cannot be told)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    normalizer = getattr(backend, "normalizer", None)
    if backend is None:
        return None
    return normalizer is not None and normalizer.normalize_str("A") == "a"


def vocabulary_casing(tokenizer: Any) -> str:
    """``"uncased"`` when (almost) no token of the vocabulary has an upper-case letter,
    ``"cased"`` when many have, else ``"unknown"``."""
    try:
        vocab = tokenizer.get_vocab()
    except (AttributeError, NotImplementedError):
        return "unknown"
    special = set(getattr(tokenizer, "all_special_tokens", []))
    cased = [t for t in vocab if t not in special and any(c.lower() != c.upper() for c in t)]
    if not cased:
        return "unknown"
    upper = sum(any(c.isupper() for c in t) for t in cased) / len(cased)
    return "uncased" if upper < 0.01 else "cased" if upper > 0.05 else "unknown"


def _example(ids: np.ndarray, unk: int, tokenizer: Any) -> str:
    first = int(np.flatnonzero(ids == unk)[0])
    begin = max(0, first - _EXAMPLE_TOKENS // 2)
    window = ids[begin : begin + _EXAMPLE_TOKENS]
    tokens = tokenizer.convert_ids_to_tokens([int(i) for i in window])
    more = "" if begin + _EXAMPLE_TOKENS >= len(ids) else " ..."
    return ("... " if begin else "") + " ".join(tokens) + more
