"""Samples and baskets: the provenance of every feature a processor makes.

A basket is one input dict (a row of a file or a request); it holds one or more samples (a QA
document, say, becomes several passages). Each sample keeps its clear text, its tokenization
(tokens, character offsets, start-of-word flags) and its named features.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Sample:
    """One model input made from (part of) a basket.

    Args:
        id (str): ``"<basket id>-<sample index>"``.
        clear_text (dict[str, Any]): The text and labels the features were made from.
        tokenized (dict[str, Any] | None): ``tokens``, ``offsets`` (character start of each
            token in the text) and ``start_of_word``, without special tokens.
        features (list[dict[str, np.ndarray]] | None): Named feature arrays, unpadded.
    """

    id: str
    clear_text: dict[str, Any]
    tokenized: Mapping[str, Any] | None = None
    features: list[dict[str, np.ndarray]] | None = None

    def __str__(self) -> str:
        return format_sample(self)


@dataclass
class SampleBasket:
    """All samples made from one input dict.

    Args:
        id_internal (int | str): Position of the input in the data it came from.
        raw (dict[str, Any]): The input dict as given.
        id_external (str | None): An id the user's data carried (e.g. a SQuAD question id).
        samples (list[Sample]): The samples made from it.
    """

    id_internal: int | str
    raw: dict[str, Any]
    id_external: str | None = None
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.samples is None:  # FARM passed samples=None
            self.samples = []


def format_sample(sample: Sample) -> str:
    """A readable multi-line view of a sample, as logged once per preprocessing run."""
    lines = ["", "---- Sample " + "-" * 60, f"ID: {sample.id}", "Clear Text:"]
    lines += [f" \t{key}: {value}" for key, value in sample.clear_text.items()]
    if sample.tokenized:
        lines.append("Tokenized:")
        lines += [f" \t{key}: {value}" for key, value in sample.tokenized.items()]
    for features in sample.features or []:
        lines.append("Features:")
        lines += [f" \t{key}: {np.asarray(value).tolist()}" for key, value in features.items()]
    lines.append("-" * 72)
    return "\n".join(lines)
