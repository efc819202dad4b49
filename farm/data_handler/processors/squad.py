"""Extractive question answering from SQuAD JSON files, request dicts or ``QAInput``s."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from farm.data_handler.input_checks import check_input_dicts
from farm.data_handler.processors.base import Processor
from farm.data_handler.qa_passages import PairTemplate, pair_template
from farm.data_handler.qa_samples import QA_TASK, PassageBuilder
from farm.data_handler.squad import (
    AnswerRepairs,
    QADocument,
    as_dict,
    read_squad_file,
    repair_answers,
    to_document,
    to_squad_dict,
)
from farm.errors import DataFileError
from farm.qa_features import PASSAGE_POSITION, QA_TASK_TYPE

logger = logging.getLogger(__name__)

DEFAULT_TASK = QA_TASK
_CHUNK = 256  # texts per tokenizer call


class SquadProcessor(Processor):
    """Questions about documents, for extractive question answering (SQuAD 1.1 and 2.0).

    Each question about a document is one basket; its samples are the passages of the
    document: ``[CLS] question [SEP] passage [SEP]`` (the tokenizer's own pair template),
    each passage starting ``doc_stride`` tokens after the one before, as long as
    ``max_seq_len`` allows. A passage that does not contain an answer of its question is a
    no-answer sample (labelled at the first token). Answers are mapped from characters to
    tokens through the fast tokenizer's offsets. See ``docs/question_answering.md``.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer (``Tokenizer.load``).
        max_seq_len (int): Tokens per sample: special tokens, question and passage.
        data_dir (str | Path | None): Folder of the data files.
        label_list (list[str] | None): FARM's ``["start_token", "end_token"]`` (the default).
        metric (Any): Metric of the task (default ``"squad"``: EM, F1, top-n accuracy).
        train_filename (str | Path | None): SQuAD JSON training file.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` off train.
        test_filename (str | Path | None): Test file.
        dev_split (float): Share of the training documents used as dev set without a dev file.
        doc_stride (int): Tokens from the start of one passage to the start of the next; at
            most the shortest passage (``max_seq_len`` minus ``max_query_length`` minus the
            special tokens), so that no token is skipped.
        max_query_length (int): Questions are cut to this many tokens (counted and logged).
        max_answers (int): Gold answers per passage kept as labels (the loss uses the
            first; all gold texts count for the metric).
        encoding (str): Text encoding of the files.
        max_samples (int | None): Read at most this many questions per file (the first
            ones in file order; the paragraph holding the last one keeps only the questions
            up to it). The number read is logged.

    Example:
        >>> processor = SquadProcessor(
        ...     tokenizer=tokenizer, max_seq_len=384, data_dir="data/squad20",
        ...     label_list=["start_token", "end_token"], metric="squad",
        ...     train_filename="train-v2.0.json", dev_filename="dev-v2.0.json",
        ...     doc_stride=128, max_query_length=64, max_answers=1)
    """

    input_example = '{"text": ..., "questions": [...]} or {"context": ..., "qas": [...]}'

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_len: int,
        data_dir: str | Path | None,
        label_list: list[str] | None = None,
        metric: Any = "squad",
        train_filename: str | Path | None = Path("train-v2.0.json"),
        dev_filename: str | Path | None = Path("dev-v2.0.json"),
        test_filename: str | Path | None = None,
        dev_split: float = 0.0,
        doc_stride: int = 128,
        max_query_length: int = 64,
        max_answers: int = 6,
        encoding: str = "utf-8-sig",
        max_samples: int | None = None,
        proxies: Any = None,
        multithreading_rust: bool = True,
    ):
        if max_samples is not None and max_samples < 1:
            raise ValueError(f"max_samples must be at least 1 (or None); got {max_samples}.")
        self.max_samples = max_samples
        self.label_list = list(label_list) if label_list else ["start_token", "end_token"]
        self.metric = metric
        self.doc_stride = doc_stride
        self.max_query_length = max_query_length
        if max_answers < 1:
            raise ValueError(f"max_answers must be at least 1; got {max_answers}.")
        self.max_answers = max_answers
        self.encoding = encoding
        self.answer_repairs: dict[str, AnswerRepairs] = {}
        super().__init__(
            tokenizer=tokenizer, max_seq_len=max_seq_len, train_filename=train_filename,
            dev_filename=dev_filename, test_filename=test_filename, dev_split=dev_split,
            data_dir=data_dir, proxies=proxies, multithreading_rust=multithreading_rust,
        )
        # Labels come from each question's "qas" entry; "qas" is what a labelled dict holds.
        self.add_task(name=DEFAULT_TASK, metric=metric, label_list=self.label_list,
                      label_name="qas", task_type=QA_TASK_TYPE)
        self.check_lengths()

    def check_lengths(self) -> PairTemplate:
        """Check that ``max_seq_len``, ``max_query_length`` and ``doc_stride`` fit together
        (the inferencer may change them after construction); returns the pair template."""
        template = pair_template(self.tokenizer)
        n_special = template.n_special
        shortest = self.max_seq_len - n_special - self.max_query_length
        if self.max_query_length < 1 or shortest < 1:
            raise ValueError(
                f"max_seq_len={self.max_seq_len} leaves no room for a passage: {n_special} "
                f"special tokens and max_query_length={self.max_query_length} question "
                f"tokens. Use 1 <= max_query_length < {self.max_seq_len - n_special}, or "
                "raise max_seq_len."
            )
        if not 1 <= self.doc_stride <= shortest:
            raise ValueError(
                f"doc_stride={self.doc_stride} does not fit: with max_seq_len="
                f"{self.max_seq_len}, max_query_length={self.max_query_length} and "
                f"{n_special} special tokens the shortest passage has {shortest} tokens, and "
                f"a larger stride would skip the tokens between passages. Use doc_stride "
                f"between 1 and {shortest}, or raise max_seq_len / lower max_query_length."
            )
        return template

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        """Read a SQuAD JSON file into one dict per paragraph (``context``, ``qas``,
        ``document_id``, ``title``, ``article``), with answer offsets checked and repaired
        (counted in ``processor.answer_repairs[file]`` and logged).

        Args:
            file (str | Path): The file (a path relative to ``data_dir`` works too).

        Returns:
            list[dict[str, Any]]: The paragraphs.
        """
        path = self.file_path(file)
        if not path.is_file():
            raise DataFileError("file not found. Check data_dir= and the file name.", file=path)
        labelled = self.is_data_file(path)
        repairs = AnswerRepairs()
        dicts: list[dict[str, Any]] = []
        n_questions = 0
        for i, item in enumerate(read_squad_file(path, self.encoding)):
            if self.max_samples is not None and n_questions >= self.max_samples:
                logger.info("%s: read the first %d questions (max_samples=%d).", path,
                            n_questions, self.max_samples)
                break
            document = to_document(item, i, file=path)
            if self.max_samples is not None:
                document.questions = document.questions[:self.max_samples - n_questions]
            n_questions += len(document.questions)
            if labelled:
                _require_answers(document, path)
            repairs.add(repair_answers(document))
            dicts.append(to_squad_dict(document, {"title": item["title"],
                                                  "article": item["article"]}))
        self.answer_repairs[str(path)] = repairs
        repairs.report(str(path))
        return dicts

    def dataset_from_dicts(
        self,
        dicts: list[Any],
        indices: list[int] | None = None,
        return_baskets: bool = False,
        log_sample: bool = True,
    ) -> tuple[Any, ...]:
        """Turn documents with questions into passage samples.

        Args:
            dicts (list[Any]): SQuAD paragraph dicts, ``{"questions": [...], "text": ...}``
                request dicts, or ``QAInput`` objects.
            indices (list[int] | None): Ids of the documents (default: positions).
            return_baskets (bool): Also return the baskets (one per question).
            log_sample (bool): Log one preprocessed sample.

        Returns:
            tuple: ``(dataset, tensor_names, problematic_ids)`` and, if asked, the baskets.
        """
        if not dicts:
            return self.empty_result(return_baskets)
        template = self.check_lengths()
        ids = indices if indices is not None else list(range(len(dicts)))
        dicts = [as_dict(item) for item in dicts]  # QAInput objects
        check_input_dicts(dicts, indices, self.input_example)
        documents = [to_document(item, i) for i, item in enumerate(dicts)]
        repairs = AnswerRepairs()
        for document in documents:
            repairs.add(repair_answers(document))
        repairs.report("input dicts")
        labelled = DEFAULT_TASK in self.tasks and any(
            q.labelled for d in documents for q in d.questions
        )
        builder = PassageBuilder(self, template, labelled, return_baskets, log_sample)
        questions = [q for d in documents for q in d.questions]
        question_ids = _encode(self.tokenizer, [q.text for q in questions])
        n_question = 0
        for begin in range(0, len(documents), _CHUNK):  # documents tokenized in batches
            chunk = documents[begin : begin + _CHUNK]
            encodings = _encode(self.tokenizer, [d.context for d in chunk], keep_encoding=True)
            for i, (document, encoding) in enumerate(zip(chunk, encodings, strict=True)):
                builder.start_document(encoding, document.context)
                for q, question in enumerate(document.questions):
                    builder.add(ids[begin + i], q, document, question, question_ids[n_question])
                    n_question += 1
        dataset = builder.dataset()
        builder.report(len(questions))
        if log_sample and builder.baskets and builder.baskets[0].samples:
            self.log_sample(builder.baskets[0])
        if return_baskets:
            return dataset, dataset.tensor_names, set(), builder.baskets
        return dataset, dataset.tensor_names, set()


    def samples_per_input(self, dicts: list[Any]) -> list[int]:
        """Passages per document: for each of its questions, as many passages as the
        document needs at ``doc_stride`` with that question (a document without questions
        yields none).

        Args:
            dicts (list[Any]): Documents, as for :meth:`dataset_from_dicts`.

        Returns:
            list[int]: One count per document.
        """
        if not dicts:
            return []
        questions = np.cumsum([len(to_document(item, i).questions)
                               for i, item in enumerate(dicts)])
        dataset = self.dataset_from_dicts(dicts, log_sample=False)[0]
        # A passage's position holds its question's place among all questions of the call.
        question = np.fromiter((int(p[0]) for p in dataset.features.get(PASSAGE_POSITION, [])),
                               dtype=np.int64)
        owner = np.searchsorted(questions, question, side="right")
        return np.bincount(owner, minlength=len(dicts)).tolist()


def _require_answers(document: QADocument, path: Path) -> None:
    for question in document.questions:
        if question.answers is None:
            raise DataFileError(
                f"document {document.document_id!r}, question {question.id!r} has no "
                "\"answers\", but training and evaluation files need them (give [] and "
                "\"is_impossible\": true for an unanswerable question).", file=path,
            )


def _encode(tokenizer: PreTrainedTokenizerBase, texts: list[str], keep_encoding: bool = False
            ) -> list[Any]:
    """Token ids (or whole encodings) of texts, without special tokens or truncation."""
    out: list[Any] = []
    for begin in range(0, len(texts), _CHUNK):
        batch = tokenizer(texts[begin : begin + _CHUNK], add_special_tokens=False,
                          truncation=False, verbose=False, return_attention_mask=False,
                          return_token_type_ids=False)
        out += batch.encodings if keep_encoding else [e.ids for e in batch.encodings]
    return out
