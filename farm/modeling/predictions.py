"""Typed question answering predictions, as FARM 0.8 returned them (``QAPred`` holding
``QACandidate`` objects).

``QAInferencer.inference_from_dicts(dicts, return_json=False)`` returns one :class:`QAPred`
per question; ``pred.to_json()`` gives exactly the dict that ``return_json=True`` returns
for it. ``Evaluator.eval(model, return_preds_and_labels=True)`` gives, per question, FARM's
pair ``(candidates, no_ans_gap)``.

Offsets are character offsets in the document (``offset_unit="char"``,
``aggregation_level="document"``). A no-answer candidate has ``answer_type="no_answer"``,
empty ``answer`` text and offsets 0 (FARM's text was ``"no_answer"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Pred:
    """The base of FARM's typed predictions: an id, the predictions, the input context.

    Args:
        id (str): Id of the input (e.g. the question id).
        prediction (list[Any]): The predictions, best first.
        context (str): The input text they refer to.
    """

    def __init__(self, id: str, prediction: list[Any], context: str):
        self.id = id
        self.prediction = prediction
        self.context = context

    def to_json(self) -> dict[str, Any]:
        """The prediction as the JSON-able dict the REST API returns."""
        raise NotImplementedError


@dataclass
class QACandidate:
    """One answer to a question: a span of the document or "no answer".

    Args:
        answer_type (str): ``"span"`` or ``"no_answer"``.
        score (float): Start plus end logit (comparable across passages).
        offset_answer_start (int): First character of the answer in the document.
        offset_answer_end (int): End character (exclusive): ``context[start:end]`` is the
            answer.
        offset_unit (str): ``"char"``.
        aggregation_level (str): ``"document"``.
        probability (float | None): The answer's confidence (what the JSON results call
            ``probability``).
        n_passages_in_doc (int | None): Passages the document was split into.
        passage_id (str | None): The passage the answer was found in (None for no answer).
        confidence (float | None): Probability of the span in its passage, at the head's
            ``temperature_for_confidence``.
        answer (str | None): The answer text (empty for no answer).
        context_window (str | None): Document text around the answer.
        offset_context_window_start (int | None): Where the window starts.
        offset_context_window_end (int | None): Where it ends (exclusive).
        document_id (str | None): Id of the document, if the input gave one.
        answer_support (str | None): FARM's text behind a yes/no answer (see
            :meth:`add_cls`).
        offset_answer_support_start (int | None): Its start.
        offset_answer_support_end (int | None): Its end.
        meta (dict[str, Any] | None): Anything else to carry along.
    """

    answer_type: str
    score: float
    offset_answer_start: int
    offset_answer_end: int
    offset_unit: str = "char"
    aggregation_level: str = "document"
    probability: float | None = None
    n_passages_in_doc: int | None = None
    passage_id: str | None = None
    confidence: float | None = None
    answer: str | None = None
    context_window: str | None = None
    offset_context_window_start: int | None = None
    offset_context_window_end: int | None = None
    document_id: str | None = None
    answer_support: str | None = None
    offset_answer_support_start: int | None = None
    offset_answer_support_end: int | None = None
    meta: dict[str, Any] | None = None

    def to_doc_level(self, start: int, end: int) -> None:
        """Set the offsets at document level (FARM's step after aggregation; candidates made
        here are already at document level)."""
        self.offset_answer_start = start
        self.offset_answer_end = end
        self.aggregation_level = "document"

    def add_cls(self, predicted_class: str) -> None:
        """Turn a span into a ``"yes"``/``"no"`` answer when a classification head says so,
        keeping the span as ``answer_support`` (FARM's Natural Questions step)."""
        if predicted_class in ("yes", "no") and self.answer_type != "no_answer":
            self.answer_support = self.answer
            self.offset_answer_support_start = self.offset_answer_start
            self.offset_answer_support_end = self.offset_answer_end
            self.answer = predicted_class
            self.answer_type = predicted_class

    def to_list(self) -> list[Any]:
        """``[answer, start, end, score, passage_id]`` (FARM's SQuAD-eval row)."""
        return [self.answer, self.offset_answer_start, self.offset_answer_end, self.score,
                self.passage_id]

    def to_answer_dict(self) -> dict[str, Any]:
        """The candidate as an entry of the JSON results' ``answers``."""
        return {
            "score": self.score, "probability": self.probability, "answer": self.answer,
            "offset_answer_start": self.offset_answer_start,
            "offset_answer_end": self.offset_answer_end, "context": self.context_window,
            "offset_context_start": self.offset_context_window_start,
            "offset_context_end": self.offset_context_window_end,
            "document_id": self.document_id,
        }


@dataclass
class QAPred(Pred):
    """The answers to one question about one document.

    Args:
        id (str): The question's id.
        prediction (list[QACandidate]): The answers, best first (a no-answer among them).
        context (str): The document.
        question (str): The question.
        token_offsets (list[int]): Start character of each document token the model saw.
        context_window_size (int): Characters of context around each answer.
        aggregation_level (str): ``"document"``.
        no_answer_gap (float | None): How far ``no_ans_boost`` would have to move to change
            the top answer between a span and "no answer" (JSON: ``no_ans_gap``).
        ground_truth_answer (Any): The gold answers given with the input, if any.
        answer_types (list[str]): FARM's answer type classes (Natural Questions); empty.
        n_passages (int | None): Passages the document was split into.
        task_name (str): The head's task (JSON: ``task_name``).
    """

    id: str
    prediction: list[QACandidate]
    context: str
    question: str
    token_offsets: list[int] = field(default_factory=list)
    context_window_size: int = 100
    aggregation_level: str = "document"
    no_answer_gap: float | None = None
    ground_truth_answer: Any = None
    answer_types: list[str] = field(default_factory=list)
    n_passages: int | None = None
    task_name: str = "question_answering"

    def to_json(self, squad: bool = False) -> dict[str, Any]:
        """The JSON result of this question, the same dict ``return_json=True`` gives:
        ``{"task": "qa", "task_name", "predictions": [{"question", "id", "ground_truth",
        "answers", "no_ans_gap"}]}``.

        Args:
            squad (bool): FARM's SQuAD flavour: ``question_id`` in place of ``id``.
        """
        prediction: dict[str, Any] = {
            "question": self.question, "id": self.id, "ground_truth": self.ground_truth_answer,
            "answers": [c.to_answer_dict() for c in self.prediction],
            "no_ans_gap": self.no_answer_gap,
        }
        if squad:
            prediction["question_id"] = prediction.pop("id")
        return {"task": "qa", "task_name": self.task_name, "predictions": [prediction]}

    def to_squad_eval(self) -> dict[str, Any]:
        """``{"id", "preds": [[answer, start, end, score, passage_id], ...]}`` (FARM's input
        of the SQuAD evaluation script)."""
        return {"id": self.id, "preds": [c.to_list() for c in self.prediction]}
