"""Regression on texts: one number per text from TSV/CSV files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from farm.data_handler.labels import REGRESSION, REGRESSION_METRICS
from farm.data_handler.processors.delimited import DelimitedProcessor

logger = logging.getLogger(__name__)

DEFAULT_TASK = "regression"


class RegressionProcessor(DelimitedProcessor):
    """Texts with a numeric label in a delimited file, for regression.

    Labels are scaled to zero mean and unit variance: ``(label - scaler_mean) /
    scaler_scale``, with mean and standard deviation of the training set's labels (fitted
    when the data silo featurizes the training set, unless given). The scaler is kept in
    the task (``processor.tasks["regression"]``) and in :attr:`scaler_mean` /
    :attr:`scaler_scale`, saved with the processor and handed to the ``RegressionHead``,
    which predicts in the original scale. A label that is not a number is an error naming
    the file and line.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.
        max_seq_len (int): Maximum tokens per text.
        data_dir (str | Path | None): Folder of the data files.
        label_list (list[str] | None): Not used (FARM kept the scaler here); accepted for
            compatibility.
        metric (Any): Metric of the task (default ``["mse", "r2", "pear_spear"]``).
        train_filename (str | Path | None): Training file.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` off train.
        test_filename (str | Path | None): Test file.
        dev_split (float): Share of train used as dev set when there is no dev file.
        delimiter (str): Field separator.
        quote_char (str | None): Quote character; ``None`` turns quoting off.
        skiprows (int | None): Lines to skip before the header.
        label_column_name (str | int): Column of the numeric labels.
        label_name (str): Key of the label in the dicts.
        scaler_mean (float | None): Mean of the training labels (``None``: fitted).
        scaler_scale (float | None): Their standard deviation (``None``: fitted).
        text_column_name (str | int): Column of the texts.
        header (int | None): Row of the column names; ``None`` if the file has none.
        max_samples (int | None): Read at most this many rows per file.
        encoding (str): Text encoding of the files.
        skip_bad_rows (bool): Skip (and report) malformed rows instead of raising.

    Example:
        >>> processor = RegressionProcessor(tokenizer=tokenizer, max_seq_len=128,
        ...                                 data_dir="data/ratings", label_column_name="score")
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
        delimiter: str = "\t",
        quote_char: str | None = '"',
        skiprows: int | None = None,
        label_column_name: str | int = "label",
        label_name: str = "regression_label",
        scaler_mean: float | None = None,
        scaler_scale: float | None = None,
        text_column_name: str | int = "text",
        header: int | None = 0,
        max_samples: int | None = None,
        encoding: str = "utf-8-sig",
        skip_bad_rows: bool = False,
        proxies: Any = None,
        multithreading_rust: bool = True,
    ):
        if label_list is not None:
            logger.info("RegressionProcessor: label_list is not used; the label scaler is "
                        "kept in scaler_mean and scaler_scale.")
        self.metric = metric
        self.label_column_name = label_column_name
        self.label_name = label_name
        super().__init__(
            tokenizer=tokenizer,
            max_seq_len=max_seq_len,
            data_dir=data_dir,
            train_filename=train_filename,
            dev_filename=dev_filename,
            test_filename=test_filename,
            dev_split=dev_split,
            delimiter=delimiter,
            quote_char=quote_char,
            skiprows=skiprows,
            header=header,
            max_samples=max_samples,
            text_column_name=text_column_name,
            encoding=encoding,
            skip_bad_rows=skip_bad_rows,
            proxies=proxies, multithreading_rust=multithreading_rust,
        )
        self.add_task(
            name=DEFAULT_TASK,
            metric=metric or list(REGRESSION_METRICS),
            label_list=None,
            label_column_name=label_column_name,
            label_name=label_name,
            task_type=REGRESSION,
            text_column_name=text_column_name,
            scaler_mean=scaler_mean,
            scaler_scale=scaler_scale,
        )

    @property
    def scaler_mean(self) -> float | None:
        """Mean of the training labels (None until fitted)."""
        return self.tasks.get(DEFAULT_TASK, {}).get("scaler_mean")

    @property
    def scaler_scale(self) -> float | None:
        """Standard deviation of the training labels (None until fitted)."""
        return self.tasks.get(DEFAULT_TASK, {}).get("scaler_scale")
