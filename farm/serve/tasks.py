"""What each served model takes as input, and the checks of a request's input dicts.

An :class:`InputForm` names the fields of one input dict. A model's form is chosen by its
processor (text pairs, QA) and else by its first head's task type; the demo page shows the
form of that name. Adding a task is an entry in ``FORMS`` (if it reads new fields) and in
``FORM_BY_PROCESSOR`` / ``FORM_BY_TASK``, plus a renderer in ``static/app.js``.

Field kinds: ``"text"`` (a non-empty string), ``"texts"`` (a non-empty list of them),
``"questions"`` (a non-empty list of question strings or ``{"question", "id"}`` objects),
``"passages"`` (a non-empty list of passage strings or ``{"title", "text"}`` objects),
``"id"`` (a string or an integer). Every text, questions and passages included, is held to
the server's ``max_text_chars``; every question or passage counts as one input towards
``max_inputs`` (each is a sample of the model).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from farm.errors import did_you_mean


@dataclass(frozen=True)
class InputForm:
    """The fields of one input dict for a kind of model.

    Attributes:
        name (str): Name of the form (the demo page has one per name).
        fields (dict[str, str]): Required field → its kind (see the module).
        optional (dict[str, str]): Optional fields, same kinds (``"id"`` is always allowed).
        help (dict[str, str]): Field → what it holds, for the API docs.
        alternatives (tuple[InputForm, ...]): Other shapes of the same input (QA's SQuAD
            shape); an input dict holding none of this form's required fields is checked
            against the first alternative that has one of them.
    """

    name: str
    fields: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)
    alternatives: tuple[InputForm, ...] = ()

    def describe(self) -> dict[str, Any]:
        """The form as ``GET /models`` shows it."""
        described: dict[str, Any] = {"name": self.name, "fields": dict(self.fields),
                                     "optional": dict(self.optional), "help": dict(self.help)}
        if self.alternatives:
            described["alternatives"] = [a.describe() for a in self.alternatives]
        return described

    def allowed(self) -> dict[str, str]:
        """Every field an input dict of this form may hold, and its kind."""
        return {**self.fields, **self.optional, "id": "id"}

    def shape_of(self, item: dict[str, Any]) -> InputForm:
        """The form (this one or an alternative) that ``item`` is written in: the first
        whose required fields ``item`` has, all of them and no others; else the first that
        has one of its required fields (its problems are then reported against it)."""
        shapes = (self, *self.alternatives)
        complete = next((f for f in shapes if all(k in item for k in f.fields)
                         and all(k in f.allowed() for k in item)), None)
        if complete is not None:
            return complete
        if any(key in item for key in self.fields):
            return self
        return next((a for a in self.alternatives if any(k in item for k in a.fields)), self)


RANKING_HELP = {"query": "the query the passages are ranked for",
                "passages": "the candidate passages (strings, or objects {\"title\", "
                "\"text\"})"}

FORMS: dict[str, InputForm] = {
    "text": InputForm("text", {"text": "text"}, help={"text": "the text to predict for"}),
    "text_pair": InputForm("text_pair", {"text": "text", "text_b": "text"},
                           help={"text": "the first text", "text_b": "the second text"}),
    "qa": InputForm(
        "qa", {"questions": "questions", "text": "text"}, {"document_id": "id"},
        help={"questions": "one or more questions about the text (strings, or objects "
              "{\"question\", \"id\"})",
              "text": "the context the answers are taken from",
              "document_id": "an id for the text, returned with its answers"},
        alternatives=(InputForm(
            "squad", {"qas": "questions", "context": "text"}, {"document_id": "id"},
            help={"qas": "SQuAD-style questions ({\"question\", \"id\"} objects)",
                  "context": "the context the answers are taken from",
                  "document_id": "an id for the context, returned with its answers"}),)),
    "ranking": InputForm("ranking", {"query": "text", "passages": "passages"},
                         help=RANKING_HELP),
    # A dense retriever also embeds queries alone and passages alone (their vectors).
    "retrieval": InputForm(
        "retrieval", {"query": "text", "passages": "passages"}, help=RANKING_HELP,
        alternatives=(
            InputForm("query_vector", {"query": "text"},
                      help={"query": "a query; its vector comes back"}),
            InputForm("passage_vectors", {"passages": "passages"},
                      help={"passages": "passages (strings, or objects {\"title\", "
                            "\"text\"}); their vectors come back"}),
        )),
}
# Keys of the objects in a "questions" / "passages" list, and the key holding their text.
ITEM_KEYS = {"questions": ("question", "id", "answers", "is_impossible"),
             "passages": ("text", "title")}
ITEM_TEXT = {"questions": "question", "passages": "text"}

FORM_BY_PROCESSOR: dict[str, str] = {
    "TextPairClassificationProcessor": "text_pair",
    "TextPairRegressionProcessor": "text_pair",
    "SquadProcessor": "qa",
    "PassageRankingProcessor": "ranking",
    "TextSimilarityProcessor": "retrieval",
}
FORM_BY_TASK: dict[str, str] = {"qa": "qa", "question_answering": "qa",
                                "passage_ranking": "ranking", "text_similarity": "retrieval"}

# Heads that give no inference results, and what to serve instead.
NOT_SERVABLE: dict[str, str] = {
    "lm": "its masked-LM head (BertLMHead) gives no inference results: it is for language-"
          "model training. Fine-tune a task head on the adapted language model, or serve its "
          "vectors with Inferencer.load(folder, task_type=\"embeddings\") passed to "
          "create_app.",
}


def form_for(processor: Any, task_types: list[str]) -> InputForm:
    """The input form of a model with ``processor`` and heads of ``task_types``."""
    name = FORM_BY_PROCESSOR.get(type(processor).__name__)
    if name is None and getattr(processor, "is_pair", False):
        name = "text_pair"
    if name is None:
        name = next((FORM_BY_TASK[t] for t in task_types if t in FORM_BY_TASK), "text")
    return FORMS[name]


def check_inputs(inputs: list[Any], form: InputForm, max_inputs: int, max_text_chars: int
                 ) -> list[dict[str, str]]:
    """Every problem of a request's input dicts, as ``{"loc", "msg"}``; empty if none."""
    if not inputs:
        return [{"loc": "input", "msg": "input is empty; send at least one input dict, e.g. "
                 f"{example(form)}."}]
    if len(inputs) > max_inputs:
        return [{"loc": "input", "msg": f"input has {len(inputs)} items; this server accepts "
                 f"at most {max_inputs} per request (--max-inputs). Split the request."}]
    for kind in ITEM_KEYS:
        n_items = sum(_n_items(item, form, kind) for item in inputs)
        if n_items > max_inputs:
            return [{"loc": "input", "msg": f"input has {n_items} {kind} in all; this server "
                     f"accepts at most {max_inputs} per request (--max-inputs). Split the "
                     "request."}]
    problems = []
    for i, item in enumerate(inputs):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            problems.append({"loc": where, "msg": f"expected an object like {example(form)}; "
                             f"got {type(item).__name__}."})
            continue
        problems += _check_item(where, item, form.shape_of(item), max_text_chars)
    return problems


def _n_items(item: Any, form: InputForm, kind: str) -> int:
    """How many questions (or passages: ``kind``) an input dict holds."""
    if not isinstance(item, dict):
        return 0
    shape = form.shape_of(item)
    return sum(len(item[key]) for key, field_kind in shape.fields.items()
               if field_kind == kind and isinstance(item.get(key), list))


def _check_item(where: str, item: dict[str, Any], form: InputForm, max_text_chars: int
                ) -> list[dict[str, str]]:
    problems = []
    allowed = form.allowed()
    for key in item:
        if key not in allowed:
            problems.append({"loc": f"{where}.{shown(key)}", "msg": (
                f"unknown field '{shown(key)}'.{_did_you_mean(key, allowed)} This model "
                f"takes {sorted(allowed)}.")})
    for key, kind in form.fields.items():
        if key not in item:
            problems.append({"loc": f"{where}.{key}", "msg": f"missing field '{key}' "
                             f"({form.help.get(key, kind)})."})
    for key, kind in allowed.items():
        if key in item:
            problems += _check_value(f"{where}.{key}", item[key], kind, max_text_chars)
    return problems


def shown(name: str, limit: int = 40) -> str:
    """``name`` as echoed in an error: at most ``limit`` characters, so that an answer does
    not repeat a long field name of the request several times."""
    return name if len(name) <= limit else name[:limit] + "…"


def _did_you_mean(key: str, choices: Iterable[str]) -> str:
    return did_you_mean(key, choices) if len(key) <= 40 else ""


def _check_value(where: str, value: Any, kind: str, max_chars: int) -> list[dict[str, str]]:
    if kind == "id":
        return _check_id(where, value)
    listed = kind in ("texts", *ITEM_KEYS)
    if listed and (not isinstance(value, list) or not value):
        what = "strings" if kind == "texts" else (
            f'{kind} (strings or {{"{ITEM_TEXT[kind]}": ...}})')
        found = "an empty list" if isinstance(value, list) else type(value).__name__
        return [{"loc": where, "msg": f"expected a non-empty list of {what}; got {found}."}]
    values = value if listed else [value]
    problems = []
    for j, text in enumerate(values):
        loc = f"{where}[{j}]" if listed else where
        if kind in ITEM_KEYS and isinstance(text, dict):
            problems += _check_item_object(loc, text, kind)
            key = ITEM_TEXT[kind]
            text, loc = text.get(key), f"{loc}.{key}"
            if not isinstance(text, str):
                continue
        if not isinstance(text, str):
            problems.append({"loc": loc, "msg": f"expected a string; got {type(text).__name__}."})
        elif not text.strip():
            problems.append({"loc": loc, "msg": "the text is empty."})
        elif len(text) > max_chars:
            problems.append({"loc": loc, "msg": f"the text has {len(text)} characters; this "
                             f"server accepts at most {max_chars} (--max-text-chars)."})
    return problems


def _check_item_object(where: str, item: dict[str, Any], kind: str) -> list[dict[str, str]]:
    """Problems of a question (``kind="questions"``) or passage object."""
    keys, text_key, noun = ITEM_KEYS[kind], ITEM_TEXT[kind], kind[:-1]
    problems = [{"loc": f"{where}.{shown(key)}", "msg": f"unknown field '{shown(key)}' of a "
                 f"{noun}.{_did_you_mean(key, keys)} A {noun} takes "
                 f"{list(keys)}."}
                for key in item if key not in keys]
    if "id" in keys and "id" in item:
        problems += _check_id(f"{where}.id", item["id"])
    if not isinstance(item.get(text_key), str):
        found = "nothing" if text_key not in item else type(item[text_key]).__name__
        problems.append({"loc": f"{where}.{text_key}", "msg": f"expected the {noun} text (a "
                         f"string); got {found}."})
    if kind == "passages" and "title" in item and not isinstance(item["title"], str):
        problems.append({"loc": f"{where}.title", "msg": "expected a string; got "
                         f"{type(item['title']).__name__}."})
    return problems


def _check_id(where: str, value: Any) -> list[dict[str, str]]:
    """An id is a string or an integer (not a boolean, a float, null, a list or an object)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        found = "null" if value is None else type(value).__name__
        return [{"loc": where, "msg": f"expected a string or an integer; got {found}."}]
    return []


def example(form: InputForm) -> str:
    """A one-line example input dict of ``form``."""
    parts = [f'"{k}": ' + ('["..."]' if kind in ("texts", *ITEM_KEYS) else '"..."')
             for k, kind in form.fields.items()]
    return "{" + ", ".join(parts) + "}"
