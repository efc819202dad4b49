"""Extractive question answering from SQuAD JSON files, request dicts or ``QAInput``s."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from farm.data_handler.dataset import GROUP_FEATURE, LABEL_PAD_VALUE, FeatureDataset
from farm.data_handler.processors.base import Processor
from farm.data_handler.qa_passages import (
    NOT_CONTEXT,
    PairTemplate,
    answer_tokens,
    pair_template,
    passage_starts,
    token_char_spans,
)
from farm.data_handler.samples import Sample, SampleBasket
from farm.data_handler.squad import (
    AnswerRepairs,
    QADocument,
    QAQuestion,
    read_squad_file,
    repair_answers,
    to_document,
    to_squad_dict,
)
from farm.errors import DataFileError
from farm.qa_features import (
    CONTEXT_OFFSETS,
    NO_ANSWER_POSITION,
    PASSAGE_POSITION,
    QA_TASK_TYPE,
    UNLOCATED_ANSWER,
)

logger = logging.getLogger(__name__)

DEFAULT_TASK = "question_answering"
_CHUNK = 1024  # texts per tokenizer call


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

    Example:
        >>> processor = SquadProcessor(
        ...     tokenizer=tokenizer, max_seq_len=384, data_dir="data/squad20",
        ...     label_list=["start_token", "end_token"], metric="squad",
        ...     train_filename="train-v2.0.json", dev_filename="dev-v2.0.json",
        ...     doc_stride=128, max_query_length=64, max_answers=1)
    """

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
        encoding: str = "utf-8",
    ):
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
            data_dir=data_dir,
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
        dicts = []
        for i, item in enumerate(read_squad_file(path, self.encoding)):
            document = to_document(item, i, file=path)
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
        documents = [to_document(item, i) for i, item in enumerate(dicts)]
        repairs = AnswerRepairs()
        for document in documents:
            repairs.add(repair_answers(document))
        repairs.report("input dicts")
        labelled = DEFAULT_TASK in self.tasks and any(
            q.labelled for d in documents for q in d.questions
        )
        builder = _PassageBuilder(self, template, labelled, return_baskets, log_sample)
        questions = [q for d in documents for q in d.questions]
        question_ids = _encode(self.tokenizer, [q.text for q in questions])
        n_question = 0
        for i, document in enumerate(documents):
            encoding = _encode(self.tokenizer, [document.context], keep_encoding=True)[0]
            builder.start_document(encoding, document.context)
            for q, question in enumerate(document.questions):
                builder.add(ids[i], q, document, question, question_ids[n_question])
                n_question += 1
        dataset = builder.dataset()
        builder.report(len(questions))
        if log_sample and builder.baskets and builder.baskets[0].samples:
            self.log_sample(builder.baskets[0])
        if return_baskets:
            return dataset, dataset.tensor_names, set(), builder.baskets
        return dataset, dataset.tensor_names, set()


class _PassageBuilder:
    """Collects the samples (passages) of every question, their features and references."""

    def __init__(self, processor: SquadProcessor, template: PairTemplate, labelled: bool,
                 keep_samples: bool, keep_first: bool):
        self.processor = processor
        self.template = template
        self.labelled = labelled
        self.keep_samples = keep_samples  # every basket's samples (for inference)
        self.keep_first = keep_first  # the first basket's samples (to log one)
        self.label_name = processor.tasks[DEFAULT_TASK]["label_tensor_name"] if labelled else None
        names = ["input_ids", "padding_mask", "segment_ids", CONTEXT_OFFSETS, PASSAGE_POSITION,
                 GROUP_FEATURE] + ([self.label_name] if self.label_name else [])
        self.features: dict[str, list[np.ndarray]] = {name: [] for name in names}
        self.references: list[Any] = []
        self.baskets: list[SampleBasket] = []
        self.n_truncated = 0
        self.empty: list[str] = []
        self.unlocated: list[str] = []
        # The document being built: its token spans, ids and tokens.
        self._doc: tuple[np.ndarray, np.ndarray, list[str]] = (
            np.zeros((0, 2), np.int64), np.zeros(0, np.int32), [])

    def start_document(self, encoding: Any, context: str) -> None:
        """Read a document's tokenization once for all its questions."""
        self._doc = (token_char_spans(encoding, context),
                     np.asarray(encoding.ids, dtype=np.int32), encoding.tokens)

    def add(self, doc_id: int, q: int, document: QADocument, question: QAQuestion,
            question_ids: list[int]) -> None:
        """The passages of one question about the current document."""
        processor, template = self.processor, self.template
        spans, doc_ids, tokens = self._doc
        if len(question_ids) > processor.max_query_length:
            self.n_truncated += 1
        q_ids = np.asarray(question_ids[: processor.max_query_length], dtype=np.int32)
        if q == 0 and not len(doc_ids):
            self.empty.append(document.document_id)
        passage_len = processor.max_seq_len - template.n_special - len(q_ids)
        starts = passage_starts(len(doc_ids), passage_len, processor.doc_stride)
        answers = self._answer_tokens(document, question, spans)
        basket = SampleBasket(id_internal=f"{doc_id}-{q}", raw=_basket_raw(document, question),
                              id_external=question.id)
        self.baskets.append(basket)
        reference = _reference(document, question) if self.labelled else None
        offset = template.passage_offset(len(q_ids))
        for p, start in enumerate(starts):
            end = min(start + passage_len, len(doc_ids))
            input_ids, segment_ids = template.build(q_ids, doc_ids[start:end])
            offsets = np.full((len(input_ids), 2), NOT_CONTEXT, dtype=np.int32)
            offsets[offset : offset + end - start] = spans[start:end]
            arrays = {
                "input_ids": input_ids,
                "padding_mask": np.ones(len(input_ids), dtype=np.int8),
                "segment_ids": segment_ids,
                CONTEXT_OFFSETS: offsets.reshape(-1),
                PASSAGE_POSITION: np.array([len(self.baskets) - 1, p, len(starts)], np.int64),
                GROUP_FEATURE: np.array([document.group], np.int64),
            }
            if self.label_name:
                arrays[self.label_name] = self._labels(question, answers, start, end, offset)
            for name, array in arrays.items():
                self.features[name].append(array)
            self.references.append(reference)
            if self.keep_samples or (self.keep_first and len(self.baskets) == 1):
                basket.samples.append(_sample(f"{doc_id}-{q}-{p}", document, question, tokens,
                                              spans, start, end, arrays))

    def _answer_tokens(self, document: QADocument, question: QAQuestion, spans: np.ndarray
                       ) -> list[tuple[int, int]]:
        """The distinct token spans of the question's located answers."""
        found: list[tuple[int, int]] = []
        for answer in question.answers or []:
            if answer.start is None or answer.end is None:
                continue
            span = answer_tokens(spans, answer.start, answer.end)
            if span is not None and span not in found:
                found.append(span)
        if question.answers and not found:
            self.unlocated.append(f"{document.document_id}/{question.id}")
        return found

    def _labels(self, question: QAQuestion, answers: list[tuple[int, int]], start: int, end: int,
                offset: int) -> np.ndarray:
        """Start and end position of each answer inside the passage (flattened pairs)."""
        if question.answers is None:
            pairs = [(LABEL_PAD_VALUE, LABEL_PAD_VALUE)]  # unlabelled among labelled questions
        elif question.answers and not answers:
            pairs = [(UNLOCATED_ANSWER, UNLOCATED_ANSWER)]
        else:
            inside = [(s - start + offset, e - start + offset) for s, e in answers
                      if start <= s and e < end]
            pairs = inside[: self.processor.max_answers] or [(NO_ANSWER_POSITION,) * 2]
        return np.asarray(pairs, dtype=np.int64).reshape(-1)

    def dataset(self) -> FeatureDataset:
        pad_values = {**Processor.pad_values(self.processor.tokenizer),
                      CONTEXT_OFFSETS: NOT_CONTEXT}
        if self.label_name:
            pad_values[self.label_name] = LABEL_PAD_VALUE
        references = self.references if self.labelled else None
        return FeatureDataset(self.features, pad_values, references)

    def report(self, n_questions: int) -> None:
        n_samples = len(self.features["input_ids"])
        logger.info("%d questions about %d documents became %d passages.", n_questions,
                    len({str(b.id_internal).split("-")[0] for b in self.baskets}), n_samples)
        if self.n_truncated:
            logger.warning("%d of %d questions are longer than max_query_length=%d tokens and "
                           "were cut to that length; raise max_query_length to keep them whole.",
                           self.n_truncated, n_questions, self.processor.max_query_length)
        if self.empty:
            logger.warning("%d documents have an empty context (first: %s); their questions "
                           "are answered with no answer.", len(self.empty), self.empty[:3])
        if self.unlocated:
            logger.warning("%d answerable questions have no answer that could be located in "
                           "their context (first: %s); they give no training signal but are "
                           "evaluated on their gold texts.", len(self.unlocated),
                           self.unlocated[:3])


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


def _require_answers(document: QADocument, path: Path) -> None:
    for question in document.questions:
        if question.answers is None:
            raise DataFileError(
                f"document {document.document_id!r}, question {question.id!r} has no "
                "\"answers\", but training and evaluation files need them (give [] and "
                "\"is_impossible\": true for an unanswerable question).", file=path,
            )


def _basket_raw(document: QADocument, question: QAQuestion) -> dict[str, Any]:
    """One question about a document, as the basket's input."""
    answers = None if question.answers is None else [
        {"text": a.text, "answer_start": a.start} for a in question.answers
    ]
    return {"context": document.context, "question": question.text, "id": question.id,
            "document_id": document.document_id, "answers": answers}


def _reference(document: QADocument, question: QAQuestion) -> dict[str, Any] | None:
    """What the evaluator needs to score a question's answer: context and gold texts."""
    if question.answers is None:
        return None
    return {"id": question.id, "context": document.context,
            "answers": [a.text for a in question.answers]}


def _sample(sample_id: str, document: QADocument, question: QAQuestion, tokens: list[str],
            spans: np.ndarray, start: int, end: int, arrays: dict[str, np.ndarray]) -> Sample:
    """A passage's sample: its place in the document, its tokens and its features."""
    valid = spans[start:end, 0] >= 0
    chars = spans[start:end][valid]
    first = int(chars[0, 0]) if len(chars) else 0
    last = int(chars[-1, 1]) if len(chars) else 0
    return Sample(
        id=sample_id,
        clear_text={"question": question.text, "question_id": question.id,
                    "document_id": document.document_id, "passage_start_char": first,
                    "passage_end_char": last, "passage": document.context[first:last]},
        tokenized={"tokens": tokens[start:end],
                   "offsets": spans[start:end, 0].tolist()},
        features=[arrays],
    )
