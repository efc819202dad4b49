"""The samples of question answering: each question's passages with their features,
labels, references and provenance (the "sample → features" half of ``SquadProcessor``)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from farm.data_handler.dataset import GROUP_FEATURE, LABEL_PAD_VALUE, FeatureDataset
from farm.data_handler.processors.base import Processor
from farm.data_handler.qa_passages import (
    NOT_CONTEXT,
    PairTemplate,
    answer_tokens,
    passage_starts,
    token_char_spans,
)
from farm.data_handler.samples import Sample, SampleBasket
from farm.data_handler.squad import QADocument, QAQuestion
from farm.qa_features import (
    CONTEXT_OFFSETS,
    NO_ANSWER_POSITION,
    PASSAGE_POSITION,
    UNLOCATED_ANSWER,
)

logger = logging.getLogger(__name__)

QA_TASK = "question_answering"


class PassageBuilder:
    """Collects the samples (passages) of every question, their features and references."""

    def __init__(self, processor: Any, template: PairTemplate, labelled: bool,
                 keep_samples: bool, keep_first: bool):
        self.processor = processor
        self.template = template
        self.labelled = labelled
        self.keep_samples = keep_samples  # every basket's samples (for inference)
        self.keep_first = keep_first  # the first basket's samples (to log one)
        self.label_name = processor.tasks[QA_TASK]["label_tensor_name"] if labelled else None
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
