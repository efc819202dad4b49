"""Regression on text pairs (semantic similarity scores, ...) from TSV/CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from farm.data_handler.processors.regression import RegressionProcessor


class TextPairRegressionProcessor(RegressionProcessor):
    """Rows with two texts and a number (by default columns ``text``, ``text_b``, ``label``).

    Pairs are encoded and truncated as by ``TextPairClassificationProcessor``; labels are
    scaled as by :class:`RegressionProcessor`. Request dicts are
    ``{"text": ..., "text_b": ...}``.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.
        max_seq_len (int): Maximum tokens per pair, special tokens included.
        data_dir (str | Path | None): Folder of the data files.
        text_b_column_name (str | int): Column of the second texts.
        **kwargs: Every other argument of :class:`RegressionProcessor`.

    Example:
        >>> processor = TextPairRegressionProcessor(
        ...     tokenizer=tokenizer, max_seq_len=128, data_dir="data/stsb", quote_char=None,
        ...     text_column_name="sentence1", text_b_column_name="sentence2",
        ...     label_column_name="score", train_filename="train.tsv", dev_filename="dev.tsv",
        ...     test_filename=None)
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_len: int,
        data_dir: str | Path | None,
        text_b_column_name: str | int = "text_b",
        **kwargs: Any,
    ):
        super().__init__(tokenizer=tokenizer, max_seq_len=max_seq_len, data_dir=data_dir,
                         **kwargs)
        self.text_b_column_name = text_b_column_name
