"""Passage ranking as text-pair classification: is this passage relevant to the query?"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from farm.data_handler.dataset import FeatureDataset
from farm.data_handler.dpr_records import no_usable_records, read_dpr_record
from farm.data_handler.encoding import encode_texts, report_truncation, sequence_features
from farm.data_handler.input_checks import check_input_dicts
from farm.data_handler.json_stream import iter_json_objects
from farm.data_handler.processors.base import Processor
from farm.data_handler.readers import read_delimited
from farm.data_handler.samples import Sample, SampleBasket
from farm.errors import DataFileError

logger = logging.getLogger(__name__)

TASK_NAME = "passage_ranking"
LABEL_LIST = ["0", "1"]
# Per sample: its place among its query's candidates and their number (the head reads it
# under this name to gather a query's candidates for the ranking metric).
CANDIDATE_POSITION = "candidate_position"
JSON_SUFFIXES = (".json", ".jsonl")


class PassageRankingProcessor(Processor):
    """Queries with candidate passages, each pair classified relevant or not (a
    cross-encoder), evaluated by how the candidates of each query rank.

    One input is a query with its candidates, ``{"query": ..., "passages": [{"title": ...,
    "text": ..., "label": "1"}, ...]}`` (a passage may be a plain string; labels only for
    training and evaluation). Each (query, passage) pair is one sample, encoded as the
    tokenizer encodes a text pair (the title, with ``embed_title``, before the text); its
    label is ``label_list[1]`` (relevant) or ``label_list[0]``. Samples carry
    ``candidate_position`` (place among the query's candidates, number of candidates) so the
    metric (``"ranking"``: MRR@10, recall@k, ...) ranks each query's candidates by the
    predicted relevance. A dev set split off train keeps each query's candidates together.

    Files: a TSV/CSV with one row per pair (columns ``query``, ``passage``, ``label``, and
    optionally a query id and a title column; rows of one query, identified by its id or
    else its text, are grouped), or a DPR JSON file (``.json``/``.jsonl``: positives are
    relevant, ``hard_negative_ctxs`` not; records without positive are skipped and counted).

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.
        max_seq_len (int): Maximum tokens per (query, passage) pair.
        data_dir (str | Path | None): Folder of the data files.
        label_list (list[str] | None): Not relevant, relevant (default ``["0", "1"]``).
        metric (Any): Metric of the task (default ``"ranking"``).
        train_filename (str | Path | None): Training file.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` off train.
        test_filename (str | Path | None): Test file.
        dev_split (float): Share of the training queries used as dev set.
        query_column_name (str | int): Column of the queries.
        passage_column_name (str | int): Column of the passages.
        label_column_name (str | int): Column of the labels.
        query_id_column_name (str | int | None): Column identifying a query's rows.
        title_column_name (str | int | None): Column of passage titles.
        embed_title (bool): Put the title before the passage text.
        num_hard_negatives (int | None): DPR files: hard negatives per query at most
            (None: all).
        delimiter (str): Field separator of delimited files.
        quote_char (str | None): Quote character of delimited files.
        max_samples (int | None): Read at most this many rows (DPR: records) per file.
        encoding (str): Text encoding of the files.

    Example:
        >>> processor = PassageRankingProcessor(tokenizer, max_seq_len=256,
        ...     data_dir="data/ranking", train_filename="train.tsv", test_filename="test.tsv")
    """

    input_example = '{"query": ..., "passages": [...]}'

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_len: int,
        data_dir: str | Path | None,
        label_list: list[str] | None = None,
        metric: Any = "ranking",
        train_filename: str | Path | None = "train.tsv",
        dev_filename: str | Path | None = None,
        test_filename: str | Path | None = "test.tsv",
        dev_split: float = 0.1,
        query_column_name: str | int = "query",
        passage_column_name: str | int = "passage",
        label_column_name: str | int = "label",
        query_id_column_name: str | int | None = None,
        title_column_name: str | int | None = None,
        embed_title: bool = True,
        num_hard_negatives: int | None = None,
        delimiter: str = "\t",
        quote_char: str | None = '"',
        max_samples: int | None = None,
        encoding: str = "utf-8-sig",
        proxies: Any = None,
        multithreading_rust: bool = True,
    ):
        labels = [str(x) for x in label_list] if label_list is not None else list(LABEL_LIST)
        if len(labels) != 2:
            raise ValueError(f"label_list needs two labels, not relevant and relevant (default "
                             f"{LABEL_LIST}); got {labels}.")
        super().__init__(tokenizer=tokenizer, max_seq_len=max_seq_len,
                         train_filename=train_filename, dev_filename=dev_filename,
                         test_filename=test_filename, dev_split=dev_split, data_dir=data_dir,
                         proxies=proxies, multithreading_rust=multithreading_rust,)
        self.label_list = labels
        self.metric = metric
        self.query_column_name = query_column_name
        self.passage_column_name = passage_column_name
        self.label_column_name = label_column_name
        self.query_id_column_name = query_id_column_name
        self.title_column_name = title_column_name
        self.embed_title = embed_title
        self.num_hard_negatives = num_hard_negatives
        self.delimiter = delimiter
        self.quote_char = quote_char
        self.max_samples = max_samples
        self.encoding = encoding
        # The labels live in the passages of each input, hence the dicts' label key.
        self.add_task(TASK_NAME, metric, labels, label_name="passages",
                      task_type="passage_ranking")

    # ---- file → dicts -------------------------------------------------------------------

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        """One ``{"query", "passages", "id"}`` dict per query of a TSV/CSV or DPR file."""
        path = self.file_path(file)
        if path.suffix.lower() in JSON_SUFFIXES:
            return list(self._dpr_dicts(path))
        return self._delimited_dicts(path)

    def _delimited_dicts(self, path: Path) -> list[dict[str, Any]]:
        table = read_delimited(path, delimiter=self.delimiter, quote_char=self.quote_char,
                               max_samples=self.max_samples, encoding=self.encoding)
        query_col = table.column_index(self.query_column_name, "query_column_name")
        passage_col = table.column_index(self.passage_column_name, "passage_column_name")
        label_col = (table.column_index(self.label_column_name, "label_column_name")
                     if self.is_data_file(path) or self.label_column_name in table.columns
                     else None)
        id_col = (table.column_index(self.query_id_column_name, "query_id_column_name")
                  if self.query_id_column_name is not None else None)
        title_col = (table.column_index(self.title_column_name, "title_column_name")
                     if self.title_column_name is not None else None)
        groups: dict[str, dict[str, Any]] = {}
        for row, line in zip(table.rows, table.line_numbers, strict=True):
            query, text = row[query_col], row[passage_col]
            if not query.strip() or not text.strip():
                raise DataFileError("the query or the passage is empty. Fill it in or remove "
                                    "the row.", file=path, line=line)
            key = row[id_col] if id_col is not None else query
            group = groups.setdefault(key, {"query": query, "passages": [], "id": key})
            if group["query"] != query:
                raise DataFileError(
                    f"query id {key!r} names two queries: {group['query']!r} and {query!r}. "
                    "Give each query its own id.", file=path, line=line)
            passage = {"title": row[title_col] if title_col is not None else "", "text": text}
            if label_col is not None:
                label = row[label_col].strip()
                if label not in self.label_list:
                    self.label_error(path, line, TASK_NAME, label, self.label_list)
                passage["label"] = label
            group["passages"].append(passage)
        return list(groups.values())

    def _dpr_dicts(self, path: Path) -> Iterator[dict[str, Any]]:
        negative, positive = self.label_list
        skipped: list[tuple[int, str]] = []
        n_used = 0
        for item in iter_json_objects(path, encoding=self.encoding):
            if self.max_samples is not None and n_used >= self.max_samples:
                break
            record = read_dpr_record(item.value, f"record {item.index}", path, item.line)
            if not record.positives:
                skipped.append((item.line, f"record {item.index} has no positive_ctxs"))
                continue
            n_used += 1
            negatives = record.hard_negatives[: self.num_hard_negatives]
            yield {"query": record.question, "id": record.id,
                   "passages": [{**p, "label": positive} for p in record.positives]
                   + [{**p, "label": negative} for p in negatives]}
        self.note_skipped(path, skipped)
        if n_used == 0 and self.max_samples != 0:
            raise no_usable_records(path, skipped)

    # ---- dict → features ----------------------------------------------------------------

    def dataset_from_dicts(
        self,
        dicts: list[dict[str, Any]],
        indices: list[int] | None = None,
        return_baskets: bool = False,
        log_sample: bool = True,
    ) -> tuple[Any, ...]:
        """One sample per (query, passage) pair, one basket per query.

        Args:
            dicts (list[dict[str, Any]]): ``{"query": ..., "passages": [...]}`` dicts.
            indices (list[int] | None): Basket ids (default: positions).
            return_baskets (bool): Also return the baskets.
            log_sample (bool): Log one preprocessed sample.

        Returns:
            tuple: ``(dataset, tensor_names, problematic_ids)`` and, if asked, the baskets.
        """
        if not dicts:
            return self.empty_result(return_baskets)
        check_input_dicts(dicts, indices, self.input_example)
        groups = [self._candidates(d, i) for i, d in enumerate(dicts)]
        labelled = [all("label" in p for p in g[1]) for g in groups]
        if any(labelled) and not all(labelled):
            raise DataFileError(
                f"Input dicts {[i for i, x in enumerate(labelled) if not x][:5]} have passages "
                "without 'label' while others are labelled; label all (training, evaluation) "
                "or none (inference).")
        pairs = [(query, self._passage_text(p)) for query, passages in groups for p in passages]
        encodings, n_truncated = encode_texts(self.tokenizer, [q for q, _ in pairs],
                                              self.max_seq_len, [t for _, t in pairs])
        report_truncation(n_truncated, len(pairs), self.max_seq_len)
        rows = [sequence_features(e) for e in encodings]
        features: dict[str, list[np.ndarray]] = {
            name: [r[name] for r in rows] for name in ("input_ids", "padding_mask", "segment_ids")
        }
        features[CANDIDATE_POSITION] = [np.asarray([j, len(passages)], dtype=np.int64)
                                        for _, passages in groups for j in range(len(passages))]
        if all(labelled):
            features[self.tasks[TASK_NAME]["label_tensor_name"]] = [
                np.asarray([self.label_list.index(p["label"])], dtype=np.int64)
                for _, passages in groups for p in passages]
        dataset = FeatureDataset(features, self.pad_values(self.tokenizer))
        ids = indices if indices is not None else list(range(len(dicts)))
        baskets, row = [], 0
        for i, (query, passages) in enumerate(groups[: len(dicts) if return_baskets else 1]):
            samples = [Sample(id=f"{ids[i]}-{j}", clear_text={
                "query": query, "index": j, "title": p.get("title") or "", "text": p["text"]},
                features=[dataset[row + j]]) for j, p in enumerate(passages)]
            baskets.append(SampleBasket(id_internal=ids[i], raw=dicts[i],
                                        id_external=dicts[i].get("id"), samples=samples))
            row += len(passages)
        if log_sample:
            self.log_sample(baskets[0])
        if return_baskets:
            return dataset, dataset.tensor_names, set(), baskets
        return dataset, dataset.tensor_names, set()

    def samples_per_input(self, dicts: list[dict[str, Any]]) -> list[int]:
        """One sample per candidate passage of each query."""
        return [len(self._candidates(d, i)[1]) for i, d in enumerate(dicts)]

    def _candidates(self, item: Any, position: int) -> tuple[str, list[dict[str, Any]]]:
        """The query and passages of one input dict, checked."""
        where = f"input dict {position}"
        if not isinstance(item, dict) or not isinstance(item.get("query"), str) or not (
                item["query"].strip()):
            keys = sorted(item) if isinstance(item, dict) else type(item).__name__
            raise DataFileError(f"{where} needs a 'query' string and a 'passages' list; it "
                                f"has {keys}.")
        raw = item.get("passages")
        if not isinstance(raw, list) or not raw:
            raise DataFileError(f"{where}: 'passages' must be a non-empty list of candidates.")
        passages = [{"text": p} if isinstance(p, str) else p for p in raw]
        for j, passage in enumerate(passages):
            if not isinstance(passage, dict) or not isinstance(passage.get("text"), str):
                raise DataFileError(f"{where}: passage {j} needs a 'text' string (or is one).")
            if "label" in passage and str(passage["label"]) not in self.label_list:
                raise DataFileError(f"{where}: passage {j} has label {passage['label']!r}; "
                                    f"use one of {self.label_list}.")
        return item["query"], [{**p, "label": str(p["label"])} if "label" in p else p
                               for p in passages]

    def _passage_text(self, passage: dict[str, Any]) -> str:
        title = passage.get("title") or ""
        return f"{title}. {passage['text']}" if self.embed_title and title else passage["text"]
