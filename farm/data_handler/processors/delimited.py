"""The common base of processors that read one text (or a text pair) per row of a TSV/CSV."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from farm.data_handler.dataset import FeatureDataset
from farm.data_handler.encoding import (
    LazyTokenizedView,
    encode_texts,
    report_truncation,
    sequence_features,
)
from farm.data_handler.input_checks import check_input_dicts
from farm.data_handler.labels import (
    CLASSIFICATION,
    MULTILABEL,
    REGRESSION,
    label_arrays,
    label_missing,
    label_problem,
    split_labels,
    task_type_of,
)
from farm.data_handler.processors.base import Processor
from farm.data_handler.readers import Table, read_delimited
from farm.data_handler.samples import Sample, SampleBasket
from farm.errors import DataFileError

logger = logging.getLogger(__name__)


class DelimitedProcessor(Processor):
    """Rows of a delimited file, each a text (or a text pair) with one label per task.

    Reading a file (row → dict) and featurizing dicts (dict → features) are separate steps:
    request dicts (``{"text": ..., "text_b": ...}``) take the second step only. The label of
    each task is checked and encoded by its ``task_type`` (see ``farm.data_handler.labels``).

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer (``Tokenizer.load``).
        max_seq_len (int): Maximum tokens per sample; longer inputs are truncated (the longer
            text of a pair first) and counted.
        data_dir (str | Path | None): Folder of the data files.
        train_filename (str | Path | None): Training file.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` off train.
        test_filename (str | Path | None): Test file.
        dev_split (float): Share of train used as dev set when there is no dev file.
        dev_stratification (bool): Keep label ratios in that split.
        delimiter (str): Field separator (``"\\t"`` for TSV, ``","`` for CSV).
        quote_char (str | None): Quote character; ``None`` turns quoting off.
        skiprows (int | None): Lines to skip before the header.
        header (int | None): Row of the column names; ``None`` if the file has none.
        max_samples (int | None): Read at most this many rows per file.
        text_column_name (str | int): Column of the (first) texts.
        text_b_column_name (str | int | None): Column of the second texts of pairs; ``None``
            for single texts.
        label_separator (str): Separator of several labels in one multilabel cell.
        encoding (str): Text encoding of the files.
        skip_bad_rows (bool): Skip (and report) malformed rows instead of raising.
    """

    parallel_safe = True

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_len: int,
        data_dir: str | Path | None,
        train_filename: str | Path | None,
        dev_filename: str | Path | None,
        test_filename: str | Path | None,
        dev_split: float,
        dev_stratification: bool = False,
        delimiter: str = "\t",
        quote_char: str | None = '"',
        skiprows: int | None = None,
        header: int | None = 0,
        max_samples: int | None = None,
        text_column_name: str | int = "text",
        text_b_column_name: str | int | None = None,
        label_separator: str = ",",
        encoding: str = "utf-8-sig",
        skip_bad_rows: bool = False,
        proxies: Any = None,
        multithreading_rust: bool = True,
    ):
        self.delimiter = delimiter
        self.quote_char = quote_char
        self.skiprows = skiprows
        self.header = header
        self.max_samples = max_samples
        self.encoding = encoding
        self.skip_bad_rows = skip_bad_rows
        self.text_column_name = text_column_name
        self.text_b_column_name = text_b_column_name
        self.label_separator = label_separator
        super().__init__(
            tokenizer=tokenizer,
            max_seq_len=max_seq_len,
            train_filename=train_filename,
            dev_filename=dev_filename,
            test_filename=test_filename,
            dev_split=dev_split,
            data_dir=data_dir,
            dev_stratification=dev_stratification,
            proxies=proxies, multithreading_rust=multithreading_rust,
        )

    @property
    def is_pair(self) -> bool:
        """Whether each input is a text pair (``text`` and ``text_b``)."""
        return self.text_b_column_name is not None

    # ---- row → dict ----------------------------------------------------------------------

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        """Read a delimited file into ``{"text": ..., ["text_b": ...,] "<label_name>": ...}``.

        Labels are checked by their task's type; an unknown label, a non-numeric regression
        label, an empty text or a malformed row raises an error naming the file and line (or
        is skipped and reported when ``skip_bad_rows`` is True). An empty label cell is an
        error when the processor has one task; with several tasks it masks that task for the
        row (the dict holds ``None``). The processor's train, dev and test files need every
        task's label column; another file without it (texts to predict) gives dicts without
        labels.

        Args:
            file (str | Path): The file (a path relative to ``data_dir`` works too).

        Returns:
            list[dict[str, Any]]: One dict per row.
        """
        path = self.file_path(file)
        table = read_delimited(
            path, delimiter=self.delimiter, quote_char=self.quote_char, skiprows=self.skiprows,
            header=self.header, max_samples=self.max_samples, encoding=self.encoding,
            skip_bad_rows=self.skip_bad_rows,
        )
        text_cols = {"text": self._text_column(table)}
        if self.text_b_column_name is not None:
            text_cols["text_b"] = table.column_index(self.text_b_column_name,
                                                     "text_b_column_name")
        label_cols = self._label_columns(table, path)
        self._fill_label_lists(table, label_cols)
        dicts, skipped = [], list(table.skipped)
        for row, line in zip(table.rows, table.line_numbers, strict=True):
            problem = self._row_problem(row, text_cols, label_cols, path, line)
            if problem:
                skipped.append((line, problem))
                continue
            item: dict[str, Any] = {key: row[col] for key, col in text_cols.items()}
            for name, col in label_cols.items():
                task = self.tasks[name]
                missing = label_missing(task, row[col], self.label_separator)
                item[task["label_name"]] = None if missing else row[col]
            dicts.append(item)
        self.note_skipped(path, skipped)
        masked = {name: sum(d[self.tasks[name]["label_name"]] is None for d in dicts)
                  for name in label_cols}
        if any(masked.values()):
            logger.info("%s: rows without a label, masked per task: %s", path, masked)
        return dicts

    def _text_column(self, table: Table) -> int:
        """Column of the (first) texts: the one the tasks name (``add_task(...,
        text_column_name=...)``, as in FARM), else the processor's ``text_column_name``.
        A row has one text, so tasks naming different columns are an error."""
        named = {
            name: task["text_column_name"] for name, task in self.tasks.items()
            if task.get("text_column_name") is not None
        }
        if not named:
            return table.column_index(self.text_column_name, "text_column_name")
        columns = {name: table.column_index(col, "text_column_name") for name, col in named.items()}
        if len(set(columns.values())) > 1:
            raise DataFileError(
                f"the tasks read their texts from different columns ({named}), but each row "
                "has one text. Give every add_task() the same text_column_name, or leave it "
                f"out (the processor's text_column_name={self.text_column_name!r} is used then).",
                file=table.file,
            )
        return next(iter(columns.values()))

    def _label_columns(self, table: Table, path: Path) -> dict[str, int]:
        """Column of each task's labels; data files need them all, other files may lack them."""
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
        return label_cols

    def _row_problem(
        self, row: list[str], text_cols: dict[str, int], label_cols: dict[str, int], path: Path,
        line: int,
    ) -> str | None:
        """Raise for a bad row, or return the reason when bad rows are skipped."""
        problem = None
        for key, col in text_cols.items():
            if problem is None and not row[col].strip():
                problem = f"the {key} is empty. Remove the row or fill in the {key}."
        for name, col in label_cols.items():
            if problem is not None:
                break
            task = self.tasks[name]
            if label_missing(task, row[col], self.label_separator):
                if len(self.tasks) == 1:
                    cell = row[col].strip()
                    names_none = f" (the cell {cell!r} names no label)" if cell else ""
                    problem = (
                        f"the label of task '{name}' (column {task['label_column_name']!r}) is "
                        f"empty{names_none}. Fill it in or remove the row (with several "
                        "tasks, an empty cell only leaves the row out of that task's loss and "
                        "metrics)."
                    )
                continue
            problem = label_problem(name, task, row[col], self.label_separator)
            if problem and not self.skip_bad_rows and task_type_of(task) == CLASSIFICATION:
                self.label_error(path, line, name, row[col], task["label_list"] or [])
        if problem and not self.skip_bad_rows:
            raise DataFileError(problem, file=path, line=line)
        return problem

    def _fill_label_lists(self, table: Table, label_cols: dict[str, int]) -> None:
        """Take a missing ``label_list`` of a (multilabel) classification task from the
        labels of the train file."""
        for name, col in label_cols.items():
            task = self.tasks[name]
            if task["label_list"] is not None or task_type_of(task) == REGRESSION:
                continue
            if not self.is_data_file(table.file, splits=("train",)):
                raise DataFileError(
                    f"task '{name}' has no label_list yet. Pass label_list= to the processor, "
                    "or load the train file first so the labels can be read from it.",
                    file=table.file,
                )
            cells = [row[col] for row in table.rows
                     if not label_missing(task, row[col], self.label_separator)]
            if task_type_of(task) == MULTILABEL:
                separator = self.label_separator
                labels = sorted({lab for c in cells for lab in split_labels(c, separator)})
            else:
                labels = sorted(set(cells))
            task["label_list"] = labels
            self.on_label_list_read(name, labels)
            logger.info("label_list of task '%s' read from %s: %s", name, table.file, labels)

    # ---- dict → features -----------------------------------------------------------------

    def dataset_from_dicts(
        self,
        dicts: list[dict[str, Any]],
        indices: list[int] | None = None,
        return_baskets: bool = False,
        log_sample: bool = True,
    ) -> tuple[Any, ...]:
        """Tokenize dicts with ``"text"`` (and ``"text_b"`` for pairs; FARM's ``{"text":
        (text_a, text_b)}`` works too) and labels where present into features.

        Args:
            dicts (list[dict[str, Any]]): Inputs. A task's label may be absent from all of
                them (inference); where it is absent (or ``None``) from only some, those
                inputs are masked for that task: no loss, left out of its metrics.
            indices (list[int] | None): Basket ids (defaults to positions).
            return_baskets (bool): Also return the baskets (with tokens and offsets).
            log_sample (bool): Log one preprocessed sample.

        Returns:
            tuple: ``(dataset, tensor_names, problematic_ids)`` and, if asked, the baskets.
        """
        if not dicts:
            return self.empty_result(return_baskets)
        check_input_dicts(dicts, indices, self.input_example)
        tupled = any(isinstance(d.get("text"), (tuple, list)) for d in dicts)
        dicts = [_split_pair(d) for d in dicts] if tupled else dicts
        texts = [_text_of(d, i, "text") for i, d in enumerate(dicts)]
        pair = self.is_pair or tupled
        texts_b = [_text_of(d, i, "text_b") for i, d in enumerate(dicts)] if pair else None
        encodings, n_truncated = encode_texts(self.tokenizer, texts, self.max_seq_len, texts_b)
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
                samples=[Sample(
                    id=f"{ids[i]}-0",
                    clear_text=dicts[i],
                    tokenized=LazyTokenizedView(
                        encodings[i], [texts[i]] if texts_b is None else [texts[i], texts_b[i]]
                    ),
                    features=[dataset[i]],
                )],
            )
            for i in range(n_baskets)
        ]
        if log_sample:
            self.log_sample(baskets[0])
        if return_baskets:
            return dataset, dataset.tensor_names, set(), baskets
        return dataset, dataset.tensor_names, set()

    def samples_per_input(self, dicts: list[dict[str, Any]]) -> list[int]:
        """One sample per input (long texts are truncated, never split)."""
        return [1] * len(dicts)

    def prepare(self, dicts: list[dict[str, Any]]) -> None:
        """Fit the scaler of each regression task that has none on these inputs' labels."""
        for name, task in self.tasks.items():
            unfitted = task.get("scaler_mean") is None or task.get("scaler_scale") is None
            key = task["label_name"]
            if task_type_of(task) == REGRESSION and unfitted and any(key in d for d in dicts):
                label_arrays(name, task, [d.get(key) for d in dicts], self.label_separator)

    def _label_features(self, dicts: list[dict[str, Any]]) -> dict[str, list[np.ndarray]]:
        """``<task>_label_ids`` of every task whose labels at least one dict carries."""
        out = {}
        for name, task in self.tasks.items():
            key = task["label_name"]
            values = [d.get(key) for d in dicts]
            if all(key not in d for d in dicts):
                continue
            out[task["label_tensor_name"]] = label_arrays(name, task, values,
                                                          self.label_separator)
        return out


def _split_pair(item: dict[str, Any]) -> dict[str, Any]:
    """FARM's text-pair convention ``{"text": (text_a, text_b)}`` as ``text`` and
    ``text_b``."""
    text = item.get("text")
    if isinstance(text, (tuple, list)) and len(text) == 2 and "text_b" not in item:
        return {**item, "text": text[0], "text_b": text[1]}
    return item


def _text_of(item: dict[str, Any], position: int, key: str) -> str:
    """The ``key`` text of an input dict, with a clear error if it is missing."""
    text = item.get(key)
    if not isinstance(text, str):
        pair = " (this processor works on text pairs)" if key == "text_b" else ""
        raise DataFileError(
            f"input dict {position} needs a '{key}' string{pair}; it has keys {sorted(item)}."
        )
    return text
