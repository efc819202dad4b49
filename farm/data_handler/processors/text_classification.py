"""Text classification (one label, or several with ``multilabel=True``) from TSV/CSV files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from farm.data_handler.labels import CLASSIFICATION, MULTILABEL
from farm.data_handler.processors.delimited import DelimitedProcessor

logger = logging.getLogger(__name__)

DEFAULT_TASK = "text_classification"


class TextClassificationProcessor(DelimitedProcessor):
    """Labelled texts in a delimited file (TSV, CSV) for text classification.

    Each row becomes one basket with one sample holding ``input_ids``, ``padding_mask``,
    ``segment_ids`` and ``<task>_label_ids``: the label's index in ``label_list``, or with
    ``multilabel=True`` a multi-hot ``float32`` vector over ``label_list`` (the labels of a
    row are one cell, separated by ``label_separator``).

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer (``Tokenizer.load``).
        max_seq_len (int): Maximum tokens per text; longer texts are truncated (and counted).
        data_dir (str | Path | None): Folder of the data files.
        label_list (list[str] | None): The labels; ``None`` takes the sorted set of labels in
            the train file.
        metric (Any): Metric of the default task (default ``"acc"``; with ``multilabel``
            ``["f1_micro", "f1_macro"]``).
        train_filename (str | Path | None): Training file.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` off train.
        test_filename (str | Path | None): Test file.
        dev_split (float): Share of train used as dev set when there is no dev file.
        dev_stratification (bool): Keep label ratios in that split.
        delimiter (str): Field separator (``"\\t"`` for TSV, ``","`` for CSV).
        quote_char (str | None): Quote character; ``None`` turns quoting off.
        skiprows (int | None): Lines to skip before the header.
        label_column_name (str | int): Column of the labels.
        multilabel (bool): Several labels per text, in one cell separated by
            ``label_separator``.
        header (int | None): Row of the column names; ``None`` if the file has none (columns
            are then named 0, 1, ...).
        max_samples (int | None): Read at most this many rows per file.
        text_column_name (str | int): Column of the texts.
        encoding (str): Text encoding of the files.
        skip_bad_rows (bool): Skip (and report) malformed rows instead of raising.
        label_separator (str): Separator of the labels in one multilabel cell.

    Example:
        >>> processor = TextClassificationProcessor(
        ...     tokenizer=tokenizer, max_seq_len=128, data_dir="data/sentiment",
        ...     label_list=["negative", "positive"], metric="acc")
        >>> dicts = processor.file_to_dicts("data/sentiment/train.tsv")
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_len: int,
        data_dir: str | Path | None,
        label_list: list[str] | None = None,
        metric: Any = None,
        train_filename: str | Path | None = "train.tsv",
        dev_filename: str | Path | None = None,
        test_filename: str | Path | None = "test.tsv",
        dev_split: float = 0.1,
        dev_stratification: bool = False,
        delimiter: str = "\t",
        quote_char: str | None = '"',
        skiprows: int | None = None,
        label_column_name: str | int = "label",
        multilabel: bool = False,
        header: int | None = 0,
        max_samples: int | None = None,
        text_column_name: str | int = "text",
        encoding: str = "utf-8-sig",
        skip_bad_rows: bool = False,
        label_separator: str = ",",
        proxies: Any = None,
        multithreading_rust: bool = True,
    ):
        self.multilabel = multilabel
        self.label_list = label_list
        self.metric = metric
        self.label_column_name = label_column_name
        super().__init__(
            tokenizer=tokenizer,
            max_seq_len=max_seq_len,
            data_dir=data_dir,
            train_filename=train_filename,
            dev_filename=dev_filename,
            test_filename=test_filename,
            dev_split=dev_split,
            dev_stratification=dev_stratification,
            delimiter=delimiter,
            quote_char=quote_char,
            skiprows=skiprows,
            header=header,
            max_samples=max_samples,
            text_column_name=text_column_name,
            label_separator=label_separator,
            encoding=encoding,
            skip_bad_rows=skip_bad_rows,
            proxies=proxies, multithreading_rust=multithreading_rust,
        )
        if metric is not None or label_list is not None:
            default_metric = ["f1_micro", "f1_macro"] if multilabel else "acc"
            self.add_task(
                name=DEFAULT_TASK,
                metric=metric or default_metric,
                label_list=label_list,
                label_column_name=label_column_name,
                task_type=MULTILABEL if multilabel else CLASSIFICATION,
                text_column_name=text_column_name,
            )
        else:
            logger.info(
                "No task added: pass label_list (and metric) to the processor, or call "
                "processor.add_task(...)."
            )

    def on_label_list_read(self, task_name: str, labels: list[str]) -> None:
        if task_name == DEFAULT_TASK:
            self.label_list = labels
