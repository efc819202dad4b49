"""Typed inputs for question answering: a document with its questions (FARM's
``farm.data_handler.inputs``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Question:
    """A question about a document.

    Args:
        text (str): The question.
        uid (str | None): Its id, returned with the prediction.
        answers (list[dict[str, Any]] | None): Gold answers ``{"text", "answer_start"}``
            (``[]``: unanswerable); ``None`` for plain inference.

    Example:
        >>> Question("Who wrote it?", uid="q1").to_dict()
        {'question': 'Who wrote it?', 'id': 'q1'}
    """

    text: str
    uid: str | None = None
    answers: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The question in SQuAD form (``question``, ``id``, and ``answers`` if given)."""
        item: dict[str, Any] = {"question": self.text, "id": self.uid}
        if self.answers is not None:
            item["answers"] = list(self.answers)
        return item


@dataclass
class QAInput:
    """A document and the questions to answer from it.

    Args:
        doc_text (str): The document.
        questions (list[Question] | Question): One question or several.
        doc_id (str | None): Its id, returned as ``document_id`` with every answer.

    Example:
        >>> QAInput(doc_text="Paris is in France.", questions=Question("Where is Paris?"))
    """

    doc_text: str
    questions: list[Question] | Question = field(default_factory=list)
    doc_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The document as a SQuAD paragraph dict (``context``, ``qas``, ``document_id``)."""
        questions = [self.questions] if isinstance(self.questions, Question) else self.questions
        item: dict[str, Any] = {"context": self.doc_text, "qas": [q.to_dict() for q in questions]}
        if self.doc_id is not None:
            item["document_id"] = self.doc_id
        return item
