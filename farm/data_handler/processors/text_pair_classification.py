"""Classification of text pairs (paraphrase, entailment, ...) from TSV/CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from farm.data_handler.processors.text_classification import TextClassificationProcessor


class TextPairClassificationProcessor(TextClassificationProcessor):
    """Rows with two texts and a label (by default columns ``text``, ``text_b``, ``label``).

    Both texts are encoded as the tokenizer encodes a pair (``[CLS] a [SEP] b [SEP]`` for
    BERT, ``<s> a </s></s> b </s>`` for RoBERTa); ``segment_ids`` are the pair encoding's
    token type ids (0 for the first text, 1 for the second where the architecture has
    them, all 0 where it has not). A pair longer than ``max_seq_len`` is truncated from the
    longer text first; truncated pairs are counted and reported. Request dicts are
    ``{"text": ..., "text_b": ...}``.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.
        max_seq_len (int): Maximum tokens per pair, special tokens included.
        data_dir (str | Path | None): Folder of the data files.
        text_b_column_name (str | int): Column of the second texts.
        **kwargs: Every other argument of :class:`TextClassificationProcessor`
            (``label_list``, ``metric``, ``text_column_name``, ``label_column_name``,
            ``delimiter``, ``multilabel``, ...).

    Example:
        >>> processor = TextPairClassificationProcessor(
        ...     tokenizer=tokenizer, max_seq_len=128, data_dir="data/mrpc",
        ...     label_list=["0", "1"], metric="acc_f1", text_column_name="#1 String",
        ...     text_b_column_name="#2 String", label_column_name="Quality")
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
