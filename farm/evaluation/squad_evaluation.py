"""SQuAD 2.0 evaluation of a predictions file, with the interface of the official script
that FARM 0.8 shipped (``EVAL_OPTS`` and ``main``).

Scores follow the official definitions (see ``farm.evaluation.squad_metrics``) and, like the
script, are percentages. With a file of no-answer probabilities, a question whose
probability exceeds ``na_prob_thresh`` counts as answered "no answer", and the best
thresholds for EM and F1 are searched.

Example:
    >>> from farm.evaluation.squad_evaluation import EVAL_OPTS, main
    >>> scores = main(EVAL_OPTS(data_file="dev-v2.0.json", pred_file="predictions.json"))
    >>> scores["exact"], scores["f1"]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farm.errors import DataFileError
from farm.evaluation.squad_metrics import question_scores


@dataclass
class EVAL_OPTS:  # noqa: N801 (the official script's name)
    """Options of :func:`main`, named as the official script's command-line flags.

    Args:
        data_file (str | Path): SQuAD JSON with the gold answers.
        pred_file (str | Path): JSON object mapping question id to predicted text (``""``:
            no answer).
        out_file (str | Path | None): Where to write the scores as JSON (None or ``""``:
            not written).
        na_prob_file (str | Path | None): JSON object mapping question id to the
            probability that it has no answer (optional).
        na_prob_thresh (float): Above this probability a question counts as "no answer".
        out_image_dir (str | Path | None): The script's precision-recall plots; not
            drawn here (a warning is not needed: the scores are complete without them).
        verbose (bool): Print the scores.
    """

    data_file: str | Path
    pred_file: str | Path
    out_file: str | Path | None = None
    na_prob_file: str | Path | None = None
    na_prob_thresh: float = 1.0
    out_image_dir: str | Path | None = None
    verbose: bool = False


def _read_json(path: str | Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DataFileError(f"cannot read the {what} as JSON ({error}).", file=path) from error


def gold_answers(dataset: dict[str, Any]) -> dict[str, list[str]]:
    """Question id → gold answer texts (``[]`` for an unanswerable question)."""
    answers: dict[str, list[str]] = {}
    for article in dataset.get("data", []):
        for paragraph in article.get("paragraphs", []):
            for qa in paragraph.get("qas", []):
                answers[str(qa["id"])] = [a["text"] for a in qa.get("answers", [])]
    return answers


def _percent_means(scores: dict[str, float], ids: list[str]) -> float:
    return 100.0 * sum(scores[q] for q in ids) / len(ids) if ids else 0.0


def _best_threshold(scores: dict[str, float], preds: dict[str, str],
                    na_probs: dict[str, float], has_answer: dict[str, bool]) -> tuple[float, float]:
    """The score (percent) and no-answer threshold that maximize it: questions are turned
    into "no answer" in order of their no-answer probability."""
    current = best = float(sum(not has for has in has_answer.values()))
    best_threshold = 0.0
    for qid in sorted(na_probs, key=lambda q: na_probs[q]):
        if qid not in scores:
            continue
        if has_answer[qid]:
            current += scores[qid]
        elif preds.get(qid):
            current -= 1  # an answer where there is none
        if current > best:
            best, best_threshold = current, na_probs[qid]
    return 100.0 * best / len(scores), best_threshold


def main(opts: EVAL_OPTS) -> dict[str, float]:
    """Score a predictions file against a SQuAD 2.0 file.

    Returns:
        dict[str, float]: ``exact``, ``f1``, ``total``, ``HasAns_exact``, ``HasAns_f1``,
        ``HasAns_total``, ``NoAns_exact``, ``NoAns_f1``, ``NoAns_total`` (the parts that
        have questions), and with a no-answer probability file ``best_exact``,
        ``best_exact_thresh``, ``best_f1``, ``best_f1_thresh``.
    """
    golds = gold_answers(_read_json(opts.data_file, "SQuAD data file"))
    preds = {str(k): str(v) for k, v in _read_json(opts.pred_file, "predictions file").items()}
    na_probs = ({str(k): float(v) for k, v in
                 _read_json(opts.na_prob_file, "no-answer probability file").items()}
                if opts.na_prob_file and Path(opts.na_prob_file).is_file() else {})
    exact, f1 = {}, {}
    for qid, answers in golds.items():
        pred = preds.get(qid, "")
        if na_probs.get(qid, 0.0) > opts.na_prob_thresh:
            pred = ""
        exact[qid], f1[qid] = map(float, question_scores(pred, answers))
    has_answer = {qid: bool(answers) for qid, answers in golds.items()}
    ids = list(golds)
    result: dict[str, float] = {"exact": _percent_means(exact, ids),
                                "f1": _percent_means(f1, ids), "total": float(len(ids))}
    for name, keep in (("HasAns", True), ("NoAns", False)):
        part = [qid for qid in ids if has_answer[qid] == keep]
        if part:
            result.update({f"{name}_exact": _percent_means(exact, part),
                           f"{name}_f1": _percent_means(f1, part),
                           f"{name}_total": float(len(part))})
    if na_probs and ids:
        raw_exact, raw_f1 = {}, {}
        for qid, answers in golds.items():
            raw_exact[qid], raw_f1[qid] = map(float, question_scores(preds.get(qid, ""), answers))
        result["best_exact"], result["best_exact_thresh"] = _best_threshold(
            raw_exact, preds, na_probs, has_answer)
        result["best_f1"], result["best_f1_thresh"] = _best_threshold(
            raw_f1, preds, na_probs, has_answer)
    if opts.out_file:
        Path(opts.out_file).write_text(json.dumps(result, indent=2))
    if opts.verbose:
        print(json.dumps(result, indent=2))
    return result
