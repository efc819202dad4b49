"""Text classification from TSV/CSV files or request dicts."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from farm.data_handler.dataset import FeatureDataset
from farm.data_handler.encoding import (
    encode_texts,
    report_truncation,
    sequence_features,
    tokenized_view,
)
from farm.data_handler.processors.base import Processor
from farm.data_handler.readers import Table, read_delimited
from farm.data_handler.samples import Sample, SampleBasket
from farm.errors import DataFileError

logger = logging.getLogger(__name__)

DEFAULT_TASK = "text_classification"


class TextClassificationProcessor(Processor):
    """Labelled texts in a delimited file (TSV, CSV) for text classification.

    Each row becomes one basket with one sample holding ``input_ids``, ``padding_mask``,
    ``segment_ids`` and ``<task>_label_ids`` (the label's index in ``label_list``).

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer (``Tokenizer.load``).
        max_seq_len (int): Maximum tokens per text; longer texts are truncated (and counted).
        data_dir (str | Path | None): Folder of the data files.
        label_list (list[str] | None): The labels; ``None`` takes the sorted set of labels in
            the train file.
        metric (Any): Metric of the default task (default ``"acc"``).
        train_filename (str | Path | None): Training file.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` off train.
        test_filename (str | Path | None): Test file.
        dev_split (float): Share of train used as dev set when there is no dev file.
        dev_stratification (bool): Keep label ratios in that split.
        delimiter (str): Field separator (``"\\t"`` for TSV, ``","`` for CSV).
        quote_char (str | None): Quote character; ``None`` turns quoting off.
        skiprows (int | None): Lines to skip before the header.
        label_column_name (str | int): Column of the labels.
        multilabel (bool): Several labels per text (see the multilabel documentation).
        header (int | None): Row of the column names; ``None`` if the file has none (columns
            are then named 0, 1, ...).
        max_samples (int | None): Read at most this many rows per file.
        text_column_name (str | int): Column of the texts.
        encoding (str): Text encoding of the files.
        skip_bad_rows (bool): Skip (and report) malformed rows instead of raising.

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
    ):
        if multilabel:
            raise NotImplementedError(
                "multilabel=True is not available yet; train one classification task per label."
            )
        self.delimiter = delimiter
        self.quote_char = quote_char
        self.skiprows = skiprows
        self.header = header
        self.max_samples = max_samples
        self.encoding = encoding
        self.skip_bad_rows = skip_bad_rows
        self.multilabel = multilabel
        self.label_list = label_list
        self.metric = metric
        self.label_column_name = label_column_name
        self.text_column_name = text_column_name
        super().__init__(
            tokenizer=tokenizer,
            max_seq_len=max_seq_len,
            train_filename=train_filename,
            dev_filename=dev_filename,
            test_filename=test_filename,
            dev_split=dev_split,
            data_dir=data_dir,
            dev_stratification=dev_stratification,
        )
        if metric is not None or label_list is not None:
            self.add_task(
                name=DEFAULT_TASK,
                metric=metric or "acc",
                label_list=label_list,
                label_column_name=label_column_name,
                task_type="classification",
                text_column_name=text_column_name,
            )
        else:
            logger.info(
                "No task added: pass label_list (and metric) to the processor, or call "
                "processor.add_task(...)."
            )

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        """Read a delimited file into ``{"text": ..., "<label_name>": ...}`` dicts.

        Labels are checked against each task's ``label_list``; an unknown label, an empty
        text or a malformed row raises an error naming the file and line (or is skipped and
        reported when ``skip_bad_rows`` is True). The processor's train, dev and test files
        need every task's label column; another file without it (texts to predict) gives
        dicts without labels.

        Args:
            file (str | Path): The file (a path relative to ``data_dir`` works too).

        Returns:
            list[dict[str, Any]]: One dict per row.
        """
        path = self.file_path(file)
        table = read_delimited(
            path,
            delimiter=self.delimiter,
            quote_char=self.quote_char,
            skiprows=self.skiprows,
            header=self.header,
            max_samples=self.max_samples,
            encoding=self.encoding,
            skip_bad_rows=self.skip_bad_rows,
        )
        text_col = table.column_index(self.text_column_name, "text_column_name")
        labelled = self.is_data_file(path)
        if labelled and not self.tasks:
            raise DataFileError(
                "the processor has no task, so it cannot tell which column holds the labels. "
                "Pass label_list= and metric= to the processor, or call processor.add_task().",
                file=path,
            )
        label_cols = {}
        for name, task in self.tasks.items():
            column = task["label_column_name"]
            if labelled or column in table.columns or str(column) in map(str, table.columns):
                label_cols[name] = table.column_index(column, "label_column_name")
            else:
                logger.info("%s has no column %r: reading it without labels of task '%s'.",
                            path, column, name)
        self._fill_label_lists(table, label_cols)
        dicts, skipped = [], list(table.skipped)
        for row, line in zip(table.rows, table.line_numbers, strict=True):
            problem = self._row_problem(row, text_col, label_cols, path, line)
            if problem:
                skipped.append((line, problem))
                continue
            item = {"text": row[text_col]}
            for name, col in label_cols.items():
                item[self.tasks[name]["label_name"]] = row[col]
            dicts.append(item)
        self.note_skipped(path, skipped)
        return dicts

    def _row_problem(
        self, row: list[str], text_col: int, label_cols: dict[str, int], path: Path, line: int
    ) -> str | None:
        """Raise for a bad row, or return the reason when bad rows are skipped."""
        problem = None
        if not row[text_col].strip():
            problem = "the text is empty. Remove the row or fill in the text."
        for name, col in label_cols.items():
            known = self.tasks[name]["label_list"]
            if problem is None and row[col] not in known:
                if not self.skip_bad_rows:
                    self.label_error(path, line, name, row[col], known)
                problem = f"label {row[col]!r} is not in label_list"
        if problem and not self.skip_bad_rows:
            raise DataFileError(problem, file=path, line=line)
        return problem

    def _fill_label_lists(self, table: Table, label_cols: dict[str, int]) -> None:
        """Take a missing ``label_list`` from the labels of the train file."""
        for name, col in label_cols.items():
            task = self.tasks[name]
            if task["label_list"] is not None:
                continue
            if not self.is_data_file(table.file, splits=("train",)):
                raise DataFileError(
                    f"task '{name}' has no label_list yet. Pass label_list= to the processor, "
                    "or load the train file first so the labels can be read from it.",
                    file=table.file,
                )
            labels = sorted({row[col] for row in table.rows if row[col].strip()})
            task["label_list"] = labels
            if name == DEFAULT_TASK:
                self.label_list = labels
            logger.info("label_list of task '%s' read from %s: %s", name, table.file, labels)

    def dataset_from_dicts(
        self,
        dicts: list[dict[str, Any]],
        indices: list[int] | None = None,
        return_baskets: bool = False,
        log_sample: bool = True,
    ) -> tuple[Any, ...]:
        """Tokenize dicts with ``"text"`` (and labels where present) into features.

        Args:
            dicts (list[dict[str, Any]]): Inputs; a task's label key may be absent from all
                of them (inference) but not from only some.
            indices (list[int] | None): Basket ids (defaults to positions).
            return_baskets (bool): Also return the baskets (with tokens and offsets).
            log_sample (bool): Log one preprocessed sample.

        Returns:
            tuple: ``(dataset, tensor_names, problematic_ids)`` and, if asked, the baskets.
        """
        if not dicts:
            return self.empty_result(return_baskets)
        texts = [_text_of(d, i) for i, d in enumerate(dicts)]
        encodings, n_truncated = encode_texts(self.tokenizer, texts, self.max_seq_len)
        report_truncation(n_truncated, len(texts), self.max_seq_len)
        rows = [sequence_features(e) for e in encodings]
        features: dict[str, list[np.ndarray]] = {
            name: [r[name] for r in rows] for name in ("input_ids", "padding_mask", "segment_ids")
        }
        features.update(self._label_features(dicts))
        dataset = FeatureDataset(features, self.pad_values(self.tokenizer))
        ids = indices if indices is not None else list(range(len(dicts)))
        n_baskets = len(dicts) if return_baskets else int(log_sample)
        baskets = [
            SampleBasket(
                id_internal=ids[i],
                raw=dicts[i],
                id_external=dicts[i].get("id"),
                samples=[
                    Sample(
                        id=f"{ids[i]}-0",
                        clear_text=dicts[i],
                        tokenized=tokenized_view(encodings[i], [texts[i]]),
                        features=[dataset[i]],
                    )
                ],
            )
            for i in range(n_baskets)
        ]
        if log_sample:
            self.log_sample(baskets[0])
        if return_baskets:
            return dataset, dataset.tensor_names, set(), baskets
        return dataset, dataset.tensor_names, set()

    def _label_features(self, dicts: list[dict[str, Any]]) -> dict[str, list[np.ndarray]]:
        """``<task>_label_ids`` per task whose labels the dicts carry."""
        out = {}
        for name, task in self.tasks.items():
            key = task["label_name"]
            have = [key in d for d in dicts]
            if not any(have):
                continue
            if not all(have):
                missing = have.index(False)
                raise DataFileError(
                    f"input dict {missing} has no '{key}' although other inputs have one; "
                    "give every input a label or none."
                )
            index = {label: i for i, label in enumerate(task["label_list"] or [])}
            unknown = Counter(str(d[key]) for d in dicts if str(d[key]) not in index)
            if unknown:
                first = next(i for i, d in enumerate(dicts) if str(d[key]) not in index)
                raise DataFileError(
                    f"input dict {first} has label {dicts[first][key]!r} of task '{name}', "
                    f"which is not in label_list {task['label_list']} (unknown labels: "
                    f"{dict(unknown)})."
                )
            out[task["label_tensor_name"]] = [
                np.array([index[str(d[key])]], dtype=np.int64) for d in dicts
            ]
        return out


def _text_of(item: dict[str, Any], position: int) -> str:
    """The ``"text"`` of an input dict, with a clear error if it is missing."""
    text = item.get("text")
    if not isinstance(text, str):
        raise DataFileError(
            f"input dict {position} needs a 'text' string; it has keys {sorted(item)}."
        )
    return text
