"""Reading question-answering inputs: SQuAD 1.1/2.0 JSON files, request dicts and
:class:`~farm.data_handler.inputs.QAInput` objects, checked and turned into documents with
questions and located answers.

Three input shapes are understood (one dict is one document):

- SQuAD paragraphs: ``{"context": ..., "qas": [{"question", "id", "answers": [{"text",
  "answer_start"}], "is_impossible"}, ...]}``; a question may also be a plain string.
- FARM's request dicts: ``{"text": ..., "questions": ["...", ...]}``.
- ``QAInput`` objects (converted with ``to_dict``).

An answer whose ``answer_start`` does not point at its text is searched for within
``OFFSET_SEARCH_CHARS`` characters and moved to the nearest occurrence; if the text is not
there, the answer keeps its text (for the metric) but loses its position (no training
label). Both are counted and reported.
"""

from __future__ import annotations

import json
import logging
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farm.data_handler.input_checks import surrogate_problem
from farm.data_handler.json_stream import SURROGATE_ESCAPE, TOO_DEEP
from farm.errors import DataFileError

logger = logging.getLogger(__name__)

OFFSET_SEARCH_CHARS = 30
"""How far (in characters, either way) an answer's text is searched for when its
``answer_start`` does not point at it."""


@dataclass
class QAAnswer:
    """A gold answer.

    Args:
        text (str): The answer text.
        start (int | None): Its first character in the context; ``None`` when the text could
            not be found where the data said (it still counts as a gold text).
    """

    text: str
    start: int | None

    @property
    def end(self) -> int | None:
        """End character (exclusive), or ``None``."""
        return None if self.start is None else self.start + len(self.text)


@dataclass
class QAQuestion:
    """A question with its gold answers.

    Args:
        id (str): The question's id (given, or ``"<document>-<question>"``).
        text (str): The question.
        answers (list[QAAnswer] | None): Gold answers; ``[]`` for an unanswerable question,
            ``None`` when the input carries no answers (inference).
    """

    id: str
    text: str
    answers: list[QAAnswer] | None

    @property
    def labelled(self) -> bool:
        return self.answers is not None


@dataclass
class QADocument:
    """A context and its questions.

    Args:
        context (str): The document text.
        questions (list[QAQuestion]): Its questions.
        document_id (str): An id for the results (given, or the input position).
        group (int): Documents of one group stay in one cross-validation fold (a SQuAD
            article's paragraphs share a group).
    """

    context: str
    questions: list[QAQuestion]
    document_id: str
    group: int


@dataclass
class AnswerRepairs:
    """What :func:`repair_answers` did: answers moved to their text, and answers whose text
    was not found near their ``answer_start``, with a few examples of each."""

    fixed: int = 0
    unlocated: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, other: AnswerRepairs) -> None:
        self.fixed += other.fixed
        self.unlocated += other.unlocated
        self.examples += other.examples[: max(0, 5 - len(self.examples))]

    def report(self, source: str) -> None:
        """Log a warning with the counts and first examples (nothing when all was fine)."""
        if self.fixed or self.unlocated:
            logger.warning(
                "%s: %d answers had an answer_start that does not point at their text: %d "
                "were moved to the nearest occurrence within %d characters, %d were not found "
                "there and keep only their text (no training label, still a gold answer for "
                "the metric). First: %s", source, self.fixed + self.unlocated, self.fixed,
                OFFSET_SEARCH_CHARS, self.unlocated, "; ".join(self.examples),
            )


def read_squad_file(path: Path, encoding: str = "utf-8-sig") -> list[dict[str, Any]]:
    """Read a SQuAD JSON file into one paragraph dict per context.

    Each dict is ``{"context", "qas", "document_id", "title", "article"}`` where
    ``article`` is the position of its article in the file (its group).

    Args:
        path (Path): The file.
        encoding (str): Its text encoding.

    Returns:
        list[dict[str, Any]]: The paragraphs, in file order.
    """
    try:
        text = path.read_text(encoding=encoding)
        data = json.loads(text)
    except RecursionError:
        raise DataFileError(f"the JSON is {TOO_DEEP}.", file=path) from None
    except json.JSONDecodeError as error:
        raise DataFileError(
            f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}). "
            "A SQuAD file is one JSON object {\"data\": [{\"title\", \"paragraphs\": [...]}]}.",
            file=path, line=error.lineno,
        ) from None
    except UnicodeDecodeError as error:
        raise DataFileError(f"not {encoding} text ({error}); pass encoding=.", file=path) from None
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise DataFileError(
            f"expected a SQuAD object with a list under \"data\"; found {found}.", file=path
        )
    paragraphs: list[dict[str, Any]] = []
    has_escapes = SURROGATE_ESCAPE.search(text) is not None  # only then can one be lone
    for a, article in enumerate(articles):
        title = article.get("title") if isinstance(article, dict) else None
        where = f"article {a}" + (f" ({reprlib.repr(title)})" if title else "")
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise DataFileError(f"{where} has no list of \"paragraphs\".", file=path)
        if has_escapes and (problem := surrogate_problem(article)):
            raise DataFileError(f"{where} {problem}.", file=path)
        for p, paragraph in enumerate(article["paragraphs"]):
            if not isinstance(paragraph, dict):
                raise DataFileError(f"{where}, paragraph {p} is not an object.", file=path)
            item = dict(paragraph)
            named = title if isinstance(title, str | int) and title else a
            item.setdefault("document_id", f"{named}-{p}")
            item.update(title=title, article=a)
            paragraphs.append(item)
    return paragraphs


def as_dict(item: Any) -> Any:
    """A ``QAInput`` (or any object with ``to_dict``) as its dict; anything else as given."""
    if hasattr(item, "to_dict") and not isinstance(item, dict):
        return item.to_dict()
    return item


def to_document(item: Any, index: int, file: Path | None = None) -> QADocument:
    """Check one input (any of the three shapes) and turn it into a :class:`QADocument`.

    Args:
        item (Any): A SQuAD paragraph dict, a request dict or a ``QAInput``.
        index (int): Its position in the input (names it in errors, and is its group and
            document id unless it carries its own).
        file (Path | None): The file it came from, for error messages.

    Returns:
        QADocument: The document; answers are not checked against the context yet (see
        :func:`repair_answers`).
    """
    item = as_dict(item)
    if not isinstance(item, dict):
        raise _error(f"input {index} is a {type(item).__name__}; expected a dict such as "
                     "{\"questions\": [...], \"text\": ...} or {\"qas\": [...], \"context\": ...}",
                     file)
    document_id = str(item.get("document_id", item.get("id", index)))
    where = f"document {document_id!r} (input {index})"
    if "context" in item and "qas" in item:
        context, questions = item["context"], item["qas"]
    elif "text" in item and "questions" in item:
        context, questions = item["text"], item["questions"]
    else:
        keys = sorted(k for k in item if k not in ("document_id", "title", "article"))
        raise _error(f"{where} has keys {keys}; a document needs \"context\" and "
                     "\"qas\" (SQuAD) or \"text\" and \"questions\" (FARM request)", file)
    if not isinstance(context, str):
        raise _error(f"{where}: the context is a {type(context).__name__}, not a string", file)
    if not isinstance(questions, list):
        raise _error(f"{where}: the questions are a {type(questions).__name__}, not a list", file)
    parsed = [_question(q, f"{index}-{i}", where, file) for i, q in enumerate(questions)]
    group = item.get("article", index)
    return QADocument(context, parsed, document_id, int(group) if isinstance(group, int) else index)


def _question(raw: Any, default_id: str, where: str, file: Path | None) -> QAQuestion:
    if isinstance(raw, str):
        raw = {"question": raw}
    if not isinstance(raw, dict):
        raise _error(f"{where}: question {default_id} is a {type(raw).__name__}; expected a "
                     "string or {\"question\", \"id\", \"answers\"}", file)
    qid = str(raw["id"]) if raw.get("id") is not None else default_id
    text = raw.get("question")
    if not isinstance(text, str) or not text.strip():
        raise _error(f"{where}, question {qid!r}: \"question\" is missing or empty; give the "
                     "question text", file)
    answers = raw.get("answers")
    if raw.get("is_impossible") is True:
        return QAQuestion(qid, text, [])  # SQuAD 2.0: unanswerable, whatever "answers" says
    if answers is None:
        return QAQuestion(qid, text, None)
    if not isinstance(answers, list):
        raise _error(f"{where}, question {qid!r}: \"answers\" is a {type(answers).__name__}, "
                     "not a list", file)
    if not answers and raw.get("is_impossible") is False:
        raise _error(f"{where}, question {qid!r}: is_impossible is false but there are no "
                     "answers; add its answers or set is_impossible to true", file)
    return QAQuestion(qid, text, [_answer(a, qid, where, file) for a in answers])


def _answer(raw: Any, qid: str, where: str, file: Path | None) -> QAAnswer:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise _error(f"{where}, question {qid!r}: an answer needs \"text\" (a string) and "
                     f"\"answer_start\" (a character offset); found {reprlib.repr(raw)}", file)
    start = raw.get("answer_start")
    if start is not None and (not isinstance(start, int) or isinstance(start, bool)):
        raise _error(f"{where}, question {qid!r}: answer_start {start!r} of answer "
                     f"{raw['text']!r} is not an integer character offset", file)
    return QAAnswer(raw["text"], start)


def _error(message: str, file: Path | None) -> DataFileError:
    return DataFileError(message + ".", file=file)


def repair_answers(document: QADocument) -> AnswerRepairs:
    """Make every answer's ``start`` point at its text, in place.

    A wrong ``start`` is moved to the nearest occurrence of the text within
    ``OFFSET_SEARCH_CHARS`` characters; without one it becomes ``None``.

    Args:
        document (QADocument): The document (changed in place).

    Returns:
        AnswerRepairs: The counts and examples.
    """
    repairs = AnswerRepairs()
    context = document.context
    for question in document.questions:
        for answer in question.answers or []:
            if answer.start is None or context[answer.start : answer.end] == answer.text:
                continue
            where = f"document {document.document_id!r} question {question.id!r}"
            found = nearest_occurrence(context, answer.text, answer.start)
            if found is None:
                repairs.unlocated += 1
                example = f"{where}: {answer.text[:40]!r} not near {answer.start}"
            else:
                repairs.fixed += 1
                example = f"{where}: moved by {found - answer.start:+d}"
            if len(repairs.examples) < 5:
                repairs.examples.append(example)
            answer.start = found
    return repairs


def nearest_occurrence(context: str, text: str, start: int) -> int | None:
    """The start of the occurrence of ``text`` in ``context`` nearest to ``start``, within
    ``OFFSET_SEARCH_CHARS`` characters; ``None`` if there is none (or ``text`` is empty)."""
    if not text:
        return None
    begin = max(0, start - OFFSET_SEARCH_CHARS)
    best: int | None = None
    position = context.find(text, begin, start + OFFSET_SEARCH_CHARS + len(text))
    while position >= 0:
        if best is None or abs(position - start) < abs(best - start):
            best = position
        position = context.find(text, position + 1, start + OFFSET_SEARCH_CHARS + len(text))
    return best


def to_squad_dict(document: QADocument, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A document as a SQuAD paragraph dict again (after repairs), with ``extra`` keys."""
    qas = []
    for q in document.questions:
        item: dict[str, Any] = {"question": q.text, "id": q.id}
        if q.answers is not None:
            item["answers"] = [{"text": a.text, "answer_start": a.start} for a in q.answers]
            item["is_impossible"] = not q.answers
        qas.append(item)
    return {"context": document.context, "qas": qas, "document_id": document.document_id,
            **(extra or {})}
