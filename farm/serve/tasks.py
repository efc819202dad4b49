"""What each served model takes as input, and the checks of a request's input dicts.

An :class:`InputForm` names the fields of one input dict. A model's form is chosen by its
processor (text pairs, QA) and else by its first head's task type; the demo page shows the
form of that name. Adding a task is an entry in ``FORMS`` (if it reads new fields) and in
``FORM_BY_PROCESSOR`` / ``FORM_BY_TASK``, plus a renderer in ``static/app.js``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from farm.errors import did_you_mean


@dataclass(frozen=True)
class InputForm:
    """The fields of one input dict for a kind of model.

    Attributes:
        name (str): Name of the form (the demo page has one per name).
        fields (dict[str, str]): Required field → ``"text"`` (a string) or ``"texts"`` (a
            non-empty list of strings).
        optional (dict[str, str]): Optional fields, same kinds (``"id"`` is always allowed).
        help (dict[str, str]): Field → what it holds, for the API docs.
    """

    name: str
    fields: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The form as ``GET /models`` shows it."""
        return {"name": self.name, "fields": dict(self.fields), "optional": dict(self.optional),
                "help": dict(self.help)}


FORMS: dict[str, InputForm] = {
    "text": InputForm("text", {"text": "text"}, help={"text": "the text to predict for"}),
    "text_pair": InputForm("text_pair", {"text": "text", "text_b": "text"},
                           help={"text": "the first text", "text_b": "the second text"}),
    "qa": InputForm("qa", {"questions": "texts", "text": "text"},
                    help={"questions": "one or more questions about the text",
                          "text": "the context the answers are taken from"}),
}

FORM_BY_PROCESSOR: dict[str, str] = {
    "TextPairClassificationProcessor": "text_pair",
    "TextPairRegressionProcessor": "text_pair",
    "SquadProcessor": "qa",
}
FORM_BY_TASK: dict[str, str] = {"qa": "qa", "question_answering": "qa"}


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
    problems = []
    allowed = {**form.fields, **form.optional, "id": "id"}
    for i, item in enumerate(inputs):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            problems.append({"loc": where, "msg": f"expected an object like {example(form)}; "
                             f"got {type(item).__name__}."})
            continue
        for key in item:
            if key not in allowed:
                problems.append({"loc": f"{where}.{key}", "msg": (
                    f"unknown field '{key}'.{did_you_mean(key, allowed)} This model takes "
                    f"{sorted(allowed)}.")})
        for key, kind in form.fields.items():
            if key not in item:
                problems.append({"loc": f"{where}.{key}", "msg": f"missing field '{key}' "
                                 f"({form.help.get(key, kind)})."})
        for key, kind in {**form.fields, **form.optional}.items():
            if key in item:
                problems += _check_value(f"{where}.{key}", item[key], kind, max_text_chars)
    return problems


def _check_value(where: str, value: Any, kind: str, max_chars: int) -> list[dict[str, str]]:
    values = value if kind == "texts" else [value]
    if kind == "texts" and (not isinstance(value, list) or not value):
        return [{"loc": where, "msg": "expected a non-empty list of strings; got "
                 f"{type(value).__name__}."}]
    problems = []
    for j, text in enumerate(values):
        loc = f"{where}[{j}]" if kind == "texts" else where
        if not isinstance(text, str):
            problems.append({"loc": loc, "msg": f"expected a string; got {type(text).__name__}."})
        elif not text.strip():
            problems.append({"loc": loc, "msg": "the text is empty."})
        elif len(text) > max_chars:
            problems.append({"loc": loc, "msg": f"the text has {len(text)} characters; this "
                             f"server accepts at most {max_chars} (--max-text-chars)."})
    return problems


def example(form: InputForm) -> str:
    """A one-line example input dict of ``form``."""
    parts = [f'"{k}": ' + ('["..."]' if kind == "texts" else '"..."')
             for k, kind in form.fields.items()]
    return "{" + ", ".join(parts) + "}"
