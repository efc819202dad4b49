"""Dense passage retrieval (DPR) data: questions with positive and hard negative passages."""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from farm.data_handler.cache import tokenizer_state
from farm.data_handler.dataset import LABEL_PAD_VALUE, FeatureDataset
from farm.data_handler.dpr_records import no_usable_records, read_dpr_record
from farm.data_handler.encoding import encode_texts, report_truncation, sequence_features
from farm.data_handler.input_checks import check_input_dicts
from farm.data_handler.json_stream import iter_json_objects
from farm.data_handler.processors.base import Processor
from farm.data_handler.samples import Sample, SampleBasket
from farm.errors import DataFileError, FarmError
from farm.modeling.tokenization import Tokenizer

logger = logging.getLogger(__name__)

TASK_NAME = "text_similarity"
LABEL_LIST = ["hard_negative", "positive"]
PASSAGE_TOKENIZER_DIR = "passage_tokenizer"
QUERY_FEATURES = ("query_input_ids", "query_padding_mask", "query_segment_ids")
PASSAGE_FEATURES = ("passage_input_ids", "passage_padding_mask", "passage_segment_ids")
CONTENT_IDS = "passage_content_ids"


class TextSimilarityProcessor(Processor):
    """DPR JSON files (or request dicts) to the features of a query and a passage encoder.

    A DPR file is a JSON array (or JSON Lines) of records ``{"question": ..., "answers":
    [...], "positive_ctxs": [{"title": ..., "text": ...}, ...], "hard_negative_ctxs":
    [...]}``. It is read record by record (see ``farm.data_handler.json_stream``), so with a
    ``StreamingDataSilo`` a file of gigabytes never sits in memory as Python objects. Each
    record becomes ``{"query": question, "passages": [...]}`` holding one positive passage
    (the first, or a random one with ``shuffle_positives``) and up to
    ``num_hard_negatives`` hard negatives (the first ones, or a random choice with
    ``shuffle_negatives``; the choice is seeded by ``seed`` and the question, so it is the
    same on every run). A record without positive passage cannot be trained on: it is
    skipped, counted and reported (``processor.skipped_rows``). ``negative_ctxs`` (DPR's
    random negatives) are not used: the other passages of a batch serve as negatives.

    Features, per sample: ``query_input_ids``, ``query_padding_mask``,
    ``query_segment_ids`` ``(query_len,)``; ``passage_input_ids``,
    ``passage_padding_mask``, ``passage_segment_ids`` ``(n_passages, passage_len)``;
    ``passage_content_ids`` ``(n_passages,)`` (a hash of each passage's text, so that a
    passage that is another query's positive too is not counted as a negative) and, where
    passages carry labels, ``text_similarity_label_ids`` ``(n_passages,)`` (1 positive,
    0 hard negative). With ``embed_title`` a passage is encoded as the pair (title, text),
    as DPR does.

    Request dicts: ``{"query": ...}`` (query vectors), ``{"passages": [{"title": ...,
    "text": ...}, ...]}`` (passage vectors; a plain string is a passage without title) or
    both (the passages ranked for the query). DPR records work as dicts too.

    Args:
        query_tokenizer (PreTrainedTokenizerBase): Tokenizer of the query encoder.
        passage_tokenizer (PreTrainedTokenizerBase): Tokenizer of the passage encoder.
        max_seq_len_query (int): Maximum tokens per query.
        max_seq_len_passage (int): Maximum tokens per passage (title included).
        data_dir (str | Path | None): Folder of the data files.
        metric (str): Metric of the task (``"text_similarity_metric"``).
        train_filename (str | Path | None): Training file.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` off train.
        test_filename (str | Path | None): Test file.
        dev_split (float): Share of train used as dev set when there is no dev file.
        max_samples (int | None): Read at most this many usable records per file.
        embed_title (bool): Encode each passage's title with its text.
        num_positives (int): Positive passages per query; DPR's loss uses one (only 1 works).
        num_hard_negatives (int): Hard negatives per query, at most (0: in-batch only).
        shuffle_negatives (bool): Choose the hard negatives at random, not the first ones.
        shuffle_positives (bool): Choose the positive at random, not the first one.
        label_list (list[str] | None): Names of negative and positive passages in the
            dicts' ``"label"`` (default ``["hard_negative", "positive"]``).
        seed (int): Seed of the random choices.
        encoding (str): Text encoding of the files.

    Example:
        >>> processor = TextSimilarityProcessor(
        ...     query_tokenizer=tokenizer, passage_tokenizer=tokenizer, max_seq_len_query=64,
        ...     max_seq_len_passage=256, data_dir="data/retriever", train_filename="train.json",
        ...     dev_filename="dev.json", test_filename=None, num_hard_negatives=1)
    """

    input_example = '{"query": ...} or {"passages": [{"title": ..., "text": ...}]}'

    def __init__(
        self,
        query_tokenizer: PreTrainedTokenizerBase,
        passage_tokenizer: PreTrainedTokenizerBase,
        max_seq_len_query: int,
        max_seq_len_passage: int,
        data_dir: str | Path | None = "",
        metric: str = "text_similarity_metric",
        train_filename: str | Path | None = "train.json",
        dev_filename: str | Path | None = None,
        test_filename: str | Path | None = "test.json",
        dev_split: float = 0.1,
        max_samples: int | None = None,
        embed_title: bool = True,
        num_positives: int = 1,
        num_hard_negatives: int = 1,
        shuffle_negatives: bool = True,
        shuffle_positives: bool = False,
        label_list: list[str] | None = None,
        seed: int = 42,
        encoding: str = "utf-8-sig",
        proxies: Any = None,
        multithreading_rust: bool = True,
    ):
        if num_positives != 1:
            raise ValueError(
                f"num_positives={num_positives}: the in-batch negative loss scores one "
                "positive passage per query. Use num_positives=1 (more positives of a "
                "question can be separate records)."
            )
        if num_hard_negatives < 0:
            raise ValueError(f"num_hard_negatives must be 0 or more; got {num_hard_negatives}.")
        labels = list(label_list) if label_list is not None else list(LABEL_LIST)
        if len(labels) != 2:
            raise ValueError(
                f"label_list needs two names, the negative's and the positive's (default "
                f"{LABEL_LIST}); got {labels}."
            )
        super().__init__(
            tokenizer=query_tokenizer, max_seq_len=max_seq_len_passage,
            train_filename=train_filename, dev_filename=dev_filename,
            test_filename=test_filename, dev_split=dev_split, data_dir=data_dir or None,
            proxies=proxies, multithreading_rust=multithreading_rust,
        )
        self.query_tokenizer = query_tokenizer
        self.passage_tokenizer = passage_tokenizer
        self.max_seq_len_query = max_seq_len_query
        self.max_seq_len_passage = max_seq_len_passage
        self.max_samples = max_samples
        self.embed_title = embed_title
        self.num_positives = num_positives
        self.num_hard_negatives = num_hard_negatives
        self.shuffle_negatives = shuffle_negatives
        self.shuffle_positives = shuffle_positives
        self.label_list = labels
        self.seed = seed
        self.encoding = encoding
        self.metric = metric
        # The labels live in the "label" of each passage, so the dicts' label key is
        # "passages" (the data silo checks that training dicts carry it).
        self.add_task(TASK_NAME, metric, labels, label_name="passages",
                      task_type="text_similarity")

    # ---- saving -------------------------------------------------------------------------

    def generate_config(self) -> dict[str, Any]:
        config = super().generate_config()
        for name in ("query_tokenizer", "passage_tokenizer"):
            config.pop(name, None)
        return config

    def save(self, save_dir: str | Path) -> None:
        """Write the config and the query tokenizer to ``save_dir`` and the passage
        tokenizer to ``save_dir/passage_tokenizer``."""
        super().save(save_dir)
        self.passage_tokenizer.save_pretrained(str(Path(save_dir) / PASSAGE_TOKENIZER_DIR))

    @classmethod
    def load_tokenizers(cls, load_dir: Path) -> dict[str, Any]:
        passage_dir = load_dir / PASSAGE_TOKENIZER_DIR
        query_tokenizer = Tokenizer.load(load_dir)
        passage_tokenizer = Tokenizer.load(passage_dir) if passage_dir.is_dir() else (
            query_tokenizer)
        return {"query_tokenizer": query_tokenizer, "passage_tokenizer": passage_tokenizer}

    def tokenizer_state(self) -> str:
        return tokenizer_state(self.query_tokenizer) + tokenizer_state(self.passage_tokenizer)

    # ---- record → dict ------------------------------------------------------------------

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        """Read a DPR file into ``{"query", "answers", "passages"}`` dicts (all in memory;
        :meth:`iter_dicts` streams them)."""
        return list(self.iter_dicts(file))

    def iter_dicts(self, file: str | Path) -> Iterator[dict[str, Any]]:
        """The dicts of a DPR file, one record at a time.

        Args:
            file (str | Path): A JSON array or JSON Lines file of DPR records.

        Yields:
            dict[str, Any]: ``{"query", "answers", "passages"}`` per usable record; each
            passage ``{"title", "text", "label", "external_id"}``.
        """
        path = self.file_path(file)
        skipped: list[tuple[int, str]] = []
        n_used = 0
        for record in iter_json_objects(path, encoding=self.encoding):
            if self.max_samples is not None and n_used >= self.max_samples:
                break
            item = self._record_to_dict(record.value, f"record {record.index}", path,
                                        record.line)
            if item is None:
                skipped.append((record.line, f"record {record.index} has no positive_ctxs; "
                                             "it cannot be trained on"))
                continue
            n_used += 1
            yield item
        self.note_skipped(path, skipped)
        if n_used == 0 and self.max_samples != 0:
            raise no_usable_records(path, skipped)

    def _record_to_dict(self, value: Any, where: str, path: Path | None = None,
                        line: int | None = None) -> dict[str, Any] | None:
        """A DPR record as a dict of selected passages; None if it has no positive."""
        record = read_dpr_record(value, where, path, line)
        if not record.positives:
            return None
        negative, positive = self.label_list
        passages = ([{**p, "label": positive} for p in record.positives]
                    + [{**p, "label": negative} for p in record.hard_negatives])
        item = {"query": record.question, "answers": record.answers,
                "passages": self._select(record.question, passages)}
        if record.id is not None:
            item["id"] = record.id
        return item

    def _select(self, query: str, passages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One positive and up to ``num_hard_negatives`` negatives, positive first."""
        rng = random.Random(f"{self.seed}\0{query}")
        positives = [p for p in passages if p["label"] == self.label_list[1]]
        negatives = [p for p in passages if p["label"] == self.label_list[0]]
        positive = rng.choice(positives) if self.shuffle_positives else positives[0]
        k = min(self.num_hard_negatives, len(negatives))
        chosen = rng.sample(negatives, k) if self.shuffle_negatives else negatives[:k]
        return [positive, *chosen]

    # ---- dict → features ----------------------------------------------------------------

    def dataset_from_dicts(
        self,
        dicts: list[dict[str, Any]],
        indices: list[int] | None = None,
        return_baskets: bool = False,
        log_sample: bool = True,
    ) -> tuple[Any, ...]:
        """Tokenize queries and/or passages into features (see the class docstring).

        Args:
            dicts (list[dict[str, Any]]): ``{"query": ..., "passages": [...]}`` dicts (or
                only one of the two keys, the same in all dicts), or DPR records.
            indices (list[int] | None): Basket ids (default: positions).
            return_baskets (bool): Also return the baskets.
            log_sample (bool): Log one preprocessed sample.

        Returns:
            tuple: ``(dataset, tensor_names, problematic_ids)`` and, if asked, the baskets.
        """
        if not dicts:
            return self.empty_result(return_baskets)
        check_input_dicts(dicts, indices, self.input_example)
        ids = indices if indices is not None else list(range(len(dicts)))
        items: list[dict[str, Any]] = []
        kept: list[int] = []
        problematic: set[Any] = set()
        reasons: list[str] = []
        for i, d in enumerate(dicts):
            try:
                items.append(self._normalise(d, i))
                kept.append(i)
            except DataFileError as error:  # skipped and reported, as FARM did
                problematic.add(ids[i])
                reasons.append(str(error))
        self.log_problematic(problematic, reasons)
        left_out: Counter[str] = sum((it.get("left_out", Counter()) for it in items), Counter())
        if left_out:
            logger.warning("Left out %d passages labelled %s: only passages labelled %s are "
                           "used.", sum(left_out.values()), sorted(left_out), self.label_list)
        if not items:
            return self.empty_result(return_baskets, problematic)
        dicts, ids = [dicts[i] for i in kept], [ids[i] for i in kept]
        has_query = _same_for_all(items, "query", "a 'query'")
        has_passages = _same_for_all(items, "passages", "'passages'")
        has_labels = has_passages and _same_for_all(items, "labels", "passage labels")
        features: dict[str, list[np.ndarray]] = {}
        if has_query:
            features.update(self._query_features([it["query"] for it in items]))
        if has_passages:
            features.update(self._passage_features([it["passages"] for it in items]))
        if has_labels:
            features[self.tasks[TASK_NAME]["label_tensor_name"]] = [
                np.asarray(it["labels"], dtype=np.int64) for it in items]
        pad_values = {
            "query_input_ids": int(self.query_tokenizer.pad_token_id or 0),
            "passage_input_ids": int(self.passage_tokenizer.pad_token_id or 0),
            self.tasks[TASK_NAME]["label_tensor_name"]: LABEL_PAD_VALUE,
        }
        dataset = FeatureDataset(features, pad_values)
        n_baskets = len(dicts) if return_baskets else int(log_sample)
        baskets = [
            SampleBasket(
                id_internal=ids[i], raw=items[i]["raw"], id_external=dicts[i].get("id"),
                samples=[Sample(id=f"{ids[i]}-0", clear_text=items[i]["clear"],
                                features=[dataset[i]])],
            )
            for i in range(n_baskets)
        ]
        if log_sample:
            self.log_sample(baskets[0])
        if return_baskets:
            return dataset, dataset.tensor_names, problematic, baskets
        return dataset, dataset.tensor_names, problematic

    def samples_per_input(self, dicts: list[dict[str, Any]]) -> list[int]:
        """One sample per input; none for an input that is skipped as problematic."""
        counts = []
        for i, d in enumerate(dicts):
            try:
                self._normalise(d, i)
                counts.append(1)
            except DataFileError:
                counts.append(0)
        return counts

    def _normalise(self, item: Any, position: int) -> dict[str, Any]:
        """Query, passages ``(title, text)`` and labels of one input dict."""
        where = f"input dict {position}"
        if isinstance(item, dict) and "question" in item and "positive_ctxs" in item:
            converted = self._record_to_dict(item, where)
            if converted is None:
                raise DataFileError(f"{where} has no positive_ctxs; a DPR record needs one.")
            item = converted
        if not isinstance(item, dict) or not ({"query", "passages"} & set(item)):
            keys = sorted(item) if isinstance(item, dict) else type(item).__name__
            raise DataFileError(
                f"{where} needs a 'query' string and/or a 'passages' list; it has {keys}."
            )
        out: dict[str, Any] = {"raw": item, "clear": {}}
        if "query" in item:
            if not isinstance(item["query"], str) or not item["query"].strip():
                raise DataFileError(f"{where}: 'query' must be a non-empty string.")
            out["query"] = out["clear"]["query"] = item["query"]
        if "passages" in item:
            out.update(self._normalise_passages(item, where))
            out["clear"]["passages"] = out.pop("selected")
        return out

    def _normalise_passages(self, item: dict[str, Any], where: str) -> dict[str, Any]:
        raw = item["passages"]
        if not isinstance(raw, list) or not raw:
            raise DataFileError(f"{where}: 'passages' must be a non-empty list.")
        passages = [{"text": p} if isinstance(p, str) else p for p in raw]
        for j, passage in enumerate(passages):
            if not isinstance(passage, dict) or not isinstance(passage.get("text"), str):
                raise DataFileError(f"{where}: passage {j} needs a 'text' string (or is one).")
        labelled = ["label" in p for p in passages]
        if any(labelled) and not all(labelled):
            raise DataFileError(
                f"{where}: passages {[j for j, x in enumerate(labelled) if not x]} have no "
                "'label' while others have; label all passages (training, evaluation) or none "
                "(inference)."
            )
        out: dict[str, Any] = {}
        if all(labelled):
            # As FARM, only passages labelled as in label_list are used (DPR files have
            # "negative" ones too); the others are left out and counted.
            out["left_out"] = Counter(str(p["label"]) for p in passages
                                      if p["label"] not in self.label_list)
            passages = [p for p in passages if p["label"] in self.label_list]
            if not any(p["label"] == self.label_list[1] for p in passages):
                raise DataFileError(f"{where} has no passage labelled "
                                    f"{self.label_list[1]!r}; training needs one per query.")
            passages = self._select(item.get("query", ""), passages)
            out["labels"] = [int(p["label"] == self.label_list[1]) for p in passages]
        out["passages"] = [((p.get("title") or "") if self.embed_title else "", p["text"])
                           for p in passages]
        out["selected"] = [{"title": p.get("title") or "", "text": p["text"]} for p in passages]
        return out

    def _query_features(self, queries: list[str]) -> dict[str, list[np.ndarray]]:
        encodings, n_truncated = encode_texts(self.query_tokenizer, queries,
                                              self.max_seq_len_query)
        report_truncation(n_truncated, len(queries), self.max_seq_len_query)
        rows = [sequence_features(e) for e in encodings]
        return {f"query_{name}": [r[name] for r in rows]
                for name in ("input_ids", "padding_mask", "segment_ids")}

    def _passage_features(self, groups: list[list[tuple[str, str]]]
                          ) -> dict[str, list[np.ndarray]]:
        """2-D features ``(n_passages, width)`` per sample, padded to its longest passage."""
        flat = [p for group in groups for p in group]
        texts = [text for _, text in flat]
        if self.embed_title:
            encodings, n_truncated = encode_texts(self.passage_tokenizer, [t for t, _ in flat],
                                                  self.max_seq_len_passage, texts_b=texts)
        else:
            encodings, n_truncated = encode_texts(self.passage_tokenizer, texts,
                                                  self.max_seq_len_passage)
        report_truncation(n_truncated, len(flat), self.max_seq_len_passage)
        rows = [sequence_features(e) for e in encodings]
        pad_id = int(self.passage_tokenizer.pad_token_id or 0)
        out: dict[str, list[np.ndarray]] = {name: [] for name in (*PASSAGE_FEATURES, CONTENT_IDS)}
        begin = 0
        for group in groups:
            members = rows[begin : begin + len(group)]
            width = max(len(r["input_ids"]) for r in members)
            for name, pad in (("input_ids", pad_id), ("padding_mask", 0), ("segment_ids", 0)):
                array = np.full((len(group), width), pad, dtype=members[0][name].dtype)
                for j, row in enumerate(members):
                    array[j, : len(row[name])] = row[name]
                out[f"passage_{name}"].append(array)
            out[CONTENT_IDS].append(np.asarray([content_id(t, x) for t, x in group],
                                               dtype=np.int64))
            begin += len(group)
        return out


def content_id(title: str, text: str) -> int:
    """A positive 63-bit hash of a passage's title and text (never 0, the padding)."""
    digest = hashlib.blake2b(f"{title}\0{text}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "little") >> 1) | 1


def _same_for_all(items: list[dict[str, Any]], key: str, what: str) -> bool:
    """Whether every item has ``key``; an error if only some have it."""
    present = [key in item for item in items]
    if any(present) and not all(present):
        missing = [i for i, p in enumerate(present) if not p][:5]
        raise FarmError(
            f"Some input dicts have {what} and others (e.g. {missing}) have not; give "
            "queries, passages, or query-passage groups in separate calls."
        )
    return all(present)
