"""Semantic answer similarity (SAS): how close predicted answers are in meaning to the gold
answers, measured by the cosine similarity of sentence vectors (FARM's
``semantic_answer_similarity``).

The sentence vectors come from FARM's own embedding inference (mean of the token vectors,
as sentence-transformers models such as all-MiniLM-L6-v2 or
paraphrase-multilingual-MiniLM-L12-v2 are trained), so the ``sentence-transformers``
package is not needed. Pass a local model folder; a hub name needs network access.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from farm.errors import FarmError

NO_ANSWER_TEXT = "no_answer"


def semantic_answer_similarity(
    result: list[Any],
    sts_model_path_or_string: str | Path = "paraphrase-xlm-r-multilingual-v1",
    debug: bool = False,
    batch_size: int = 32,
) -> tuple[float, float, list[Any], list[dict[str, Any]]]:
    """Similarity of each question's predictions to its gold answers.

    Args:
        result (list[Any]): ``QAPred`` objects with gold answers, e.g. from
            ``QAInferencer.inference_from_file(squad_file, return_json=False)``.
        sts_model_path_or_string (str | Path): A sentence embedding model: a local Hugging
            Face folder (such as the all-MiniLM-L6-v2 folder) or a hub name.
        debug (bool): Also collect the questions where no prediction overlaps a gold answer.
        batch_size (int): Texts per model batch.

    Returns:
        tuple: ``(best_pred_similarity, all_preds_highest_similarity, result, debug_info)``:
        the mean over questions of the top prediction's highest similarity to a gold answer,
        the mean of the highest similarity of any prediction, ``result`` with
        ``candidate.meta["semantic_answer_score"]`` set on every prediction, and the debug
        entries. A no-answer (prediction or unanswerable question) counts as the text
        ``"no_answer"``, as in FARM.
    """
    from farm.infer import Inferencer  # evaluation runs the inferencer, not the reverse

    pred_texts = [[_text(c) for c in r.prediction] for r in result]
    gold_texts = [[g["text"] for g in (r.ground_truth_answer or [])] or [NO_ANSWER_TEXT]
                  for r in result]
    try:
        inferencer = Inferencer.load(sts_model_path_or_string, task_type="embeddings",
                                     extraction_strategy="reduce_mean", batch_size=batch_size)
    except (OSError, FarmError) as error:
        raise FarmError(
            f"Cannot load the sentence model {str(sts_model_path_or_string)!r} ({error}). Pass "
            "sts_model_path_or_string= a local model folder, e.g. the all-MiniLM-L6-v2 folder."
        ) from error
    texts = [t for preds, golds in zip(pred_texts, gold_texts, strict=True) for t in preds + golds]
    vectors = _unit_vectors(inferencer, texts)
    top1, topn, debug_info = [], [], []
    position = 0
    for i, (preds, golds) in enumerate(zip(pred_texts, gold_texts, strict=True)):
        pred_vectors = vectors[position : position + len(preds)]
        position += len(preds)
        gold_vectors = vectors[position : position + len(golds)]
        position += len(golds)
        similarity = pred_vectors @ gold_vectors.T  # (n_preds, n_golds)
        top1.append(float(similarity[0].max()))
        topn.append(float(similarity.max()))
        for j, candidate in enumerate(result[i].prediction):
            candidate.meta = {**(candidate.meta or {}),
                              "semantic_answer_score": float(similarity[j].max())}
        if debug and (info := _debug_entry(result[i], similarity)) is not None:
            debug_info.append(info)
    return float(np.mean(top1)), float(np.mean(topn)), result, debug_info


def _text(candidate: Any) -> str:
    return NO_ANSWER_TEXT if candidate.answer_type == "no_answer" else str(candidate.answer)


def _unit_vectors(inferencer: Any, texts: list[str]) -> np.ndarray:
    """``(len(texts), hidden)`` sentence vectors scaled to length 1."""
    results = inferencer.inference_from_dicts([{"text": t} for t in texts])
    vectors = np.asarray([p["vec"] for r in results for p in r["predictions"]], dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _debug_entry(pred: Any, similarity: np.ndarray) -> dict[str, Any] | None:
    """A question whose predictions overlap none of its gold answers (unanswerable
    questions are left out)."""
    golds = pred.ground_truth_answer or []
    if not golds:
        return None
    gold_ranges = [(g["answer_start"], g["answer_start"] + len(g["text"])) for g in golds]
    for candidate in pred.prediction:
        if candidate.answer_type == "no_answer":
            continue
        start, end = candidate.offset_answer_start, candidate.offset_answer_end
        if any(start < gold_end and gold_start < end for gold_start, gold_end in gold_ranges):
            return None
    best_pred, best_gold = np.unravel_index(int(similarity.argmax()), similarity.shape)
    return {
        "question": pred.question,
        "top1_sim": float(similarity[0].max()),
        "top1_label": golds[int(similarity[0].argmax())]["text"],
        "top1_pred": _text(pred.prediction[0]),
        "topn_sim": float(similarity.max()),
        "topn_label": golds[int(best_gold)]["text"],
        "topn_pred": _text(pred.prediction[int(best_pred)]),
    }
