"""FARM 0.8's evaluation API: the evaluator's QA candidates and FARM's QA helpers, metric
edge cases, reports, text similarity helpers, the SQuAD and MS MARCO scripts and semantic
answer similarity."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from farm.data_handler.data_silo import DataSilo
from farm.eval import Evaluator
from farm.evaluation import metrics
from farm.evaluation.metrics import (
    compute_metrics,
    compute_report_metrics,
    confidence,
    metrics_per_bin,
    register_report,
    squad_EM,
    squad_EM_start,
    squad_f1,
    text_similarity_acc_and_f1,
    text_similarity_avg_ranks,
    top_n_accuracy,
)
from farm.evaluation.msmarco_passage_official import compute_metrics_from_files
from farm.evaluation.semantic_answer_similarity_evaluation import semantic_answer_similarity
from farm.evaluation.squad_evaluation import EVAL_OPTS, main
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.predictions import QACandidate, QAPred
from tests.qa_helpers import make_qa_model, make_qa_processor, write_qa_data


def span(answer: str, start: int, confidence_value: float = 0.5) -> QACandidate:
    return QACandidate("span", 1.0, start, start + len(answer), answer=answer,
                       confidence=confidence_value)


def no_answer(confidence_value: float = 0.5) -> QACandidate:
    return QACandidate("no_answer", 0.0, 0, 0, answer="", confidence=confidence_value)


def test_evaluator_gives_farms_qa_candidates_and_the_helpers_agree(
        tiny_bert_dir: Path, tmp_path: Path) -> None:
    processor = make_qa_processor(tiny_bert_dir, write_qa_data(tmp_path, 8, 8, 12))
    silo = DataSilo(processor, batch_size=8)
    loader = silo.get_data_loader("test")
    assert loader is not None
    result = Evaluator(loader, processor.tasks, "cpu").eval(
        make_qa_model(tiny_bert_dir), return_preds_and_labels=True)[0]
    preds, labels = result["preds"], result["labels"]
    assert len(preds) == len(labels) == 12
    candidates, gap = preds[0]
    assert isinstance(candidates[0], QACandidate) and isinstance(gap, float | type(None))
    assert all(isinstance(label, list) for label in labels)
    assert squad_EM(preds, labels) == pytest.approx(result["EM"])
    assert squad_f1(preds, labels) == pytest.approx(result["f1"])
    assert top_n_accuracy(preds, labels) == pytest.approx(result["top_n_accuracy"])
    em, conf, count = metrics_per_bin(preds, labels, num_bins=4)
    assert sum(count) == 12 and em.shape == conf.shape == (4,)
    assert confidence(preds) == pytest.approx(
        np.mean([c[0].confidence for c, _ in preds]))


def test_qa_helpers_on_texts_and_on_farms_offsets() -> None:
    preds = [([span("Paris", 10, 0.9), no_answer(0.1)], 1.0),
             ([no_answer(0.7), span("Rome", 3, 0.2)], -1.0),
             ([span("the Alps", 5, 0.35), span("Alps", 9)], 0.5)]
    texts = [["Paris"], [], ["Alps mountains"]]
    assert squad_EM(preds, texts) == pytest.approx(2 / 3)
    assert squad_f1(preds, texts) == pytest.approx((1 + 1 + 2 / 3) / 3)
    offsets = [[(10, 15)], [(-1, -1)], [(9, 13)]]
    assert squad_EM(preds, offsets) == pytest.approx(2 / 3)
    assert squad_EM_start(preds, offsets) == pytest.approx(2 / 3)
    assert top_n_accuracy(preds, offsets) == 1.0  # "the Alps" overlaps (9, 13)
    with pytest.raises(ValueError, match="offsets"):
        squad_EM_start(preds, texts)
    em, conf, count = metrics_per_bin(preds, texts, num_bins=2)
    assert count == [1, 2] and list(em) == [0.0, 1.0]
    assert conf[1] == pytest.approx(0.8)
    assert squad_EM([], []) == 0.0
    pred = QAPred(id="q", prediction=[span("Paris", 10)], context="", question="?")
    assert metrics.squad([pred], [["paris"]])["EM"] == 1.0


def test_compute_metrics_on_nothing_is_nan_as_in_farm() -> None:
    result = compute_metrics("acc", [], [])
    assert list(result) == ["acc"] and math.isnan(result["acc"])
    assert math.isnan(compute_metrics(["acc", "f1_macro"], [], [])["f1_macro"])


def test_registered_report_replaces_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_REPORTS", dict(metrics._REPORTS))
    head = TextClassificationHead(num_labels=2, label_list=["a", "b"])
    default = compute_report_metrics(head, ["a", "b", "b"], ["a", "b", "a"])
    assert "precision" in default
    register_report("per_sequence", lambda y_true, y_pred: f"{y_true}->{y_pred}")
    assert compute_report_metrics(head, ["a", "b"], ["b", "b"]) == "['b', 'b']->['a', 'b']"


def test_text_similarity_helpers_take_scores_or_farms_orderings() -> None:
    scores = [[0.1, 0.9, 0.3], [0.8, 0.1, 0.2], [0.2, 0.3, 0.1]]
    labels = [np.array([0, 1, 0]), np.array([0, 0, 1]), np.array([1, 0, 0])]
    orderings = [np.argsort(-np.asarray(s)) for s in scores]
    for preds in (scores, orderings):
        result = text_similarity_acc_and_f1(preds, labels)
        assert result["acc"] == pytest.approx(5 / 9)
        assert result["f1"] == pytest.approx(1 / 3)
        assert text_similarity_avg_ranks(preds, labels) == pytest.approx((0 + 1 + 1) / 3)


def test_squad_evaluation_script(tmp_path: Path) -> None:
    data = {"data": [{"paragraphs": [{"context": "x", "qas": [
        {"id": "a", "answers": [{"text": "The Eiffel Tower", "answer_start": 0}]},
        {"id": "b", "answers": [{"text": "blue sky", "answer_start": 0}]},
        {"id": "c", "answers": []}]}]}]}
    (tmp_path / "data.json").write_text(json.dumps(data))
    (tmp_path / "preds.json").write_text(json.dumps({"a": "eiffel tower", "b": "sky",
                                                     "c": "something"}))
    (tmp_path / "na.json").write_text(json.dumps({"a": 0.1, "b": 0.2, "c": 0.9}))
    scores = main(EVAL_OPTS(data_file=tmp_path / "data.json", pred_file=tmp_path / "preds.json",
                            out_file=tmp_path / "out.json"))
    assert scores["exact"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)
    assert (scores["HasAns_total"], scores["NoAns_total"]) == (2.0, 1.0)
    assert json.loads((tmp_path / "out.json").read_text()) == scores
    with_na = main(EVAL_OPTS(data_file=tmp_path / "data.json",
                             pred_file=tmp_path / "preds.json",
                             na_prob_file=tmp_path / "na.json", na_prob_thresh=0.5))
    assert with_na["exact"] == pytest.approx(200 / 3)  # c counts as answered "no answer"
    assert with_na["best_exact"] == pytest.approx(200 / 3)
    assert with_na["best_exact_thresh"] == pytest.approx(0.1)


def test_msmarco_mrr_from_files(tmp_path: Path) -> None:
    (tmp_path / "qrels.tsv").write_text("1\t0\t10\t1\n2\t0\t20\t1\n3\t0\t30\t1\n")
    (tmp_path / "run.tsv").write_text("1\t10\t1\n1\t11\t2\n2\t21\t1\n2\t20\t2\n3\t31\t1\n")
    result = compute_metrics_from_files(tmp_path / "qrels.tsv", tmp_path / "run.tsv")
    assert result["MRR @10"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert result["QueriesRanked"] == 3.0


def test_semantic_answer_similarity_with_a_local_model(tiny_bert_dir: Path) -> None:
    gold = [{"text": "Paris", "answer_start": 10}]
    result = [
        QAPred(id="1", prediction=[span("Paris", 10), span("France", 30)], context="",
               question="capital?", ground_truth_answer=gold),
        QAPred(id="2", prediction=[span("Berlin", 40), no_answer()], context="",
               question="where?", ground_truth_answer=[]),
    ]
    top1, topn, scored, debug = semantic_answer_similarity(
        result, sts_model_path_or_string=tiny_bert_dir, debug=True)
    assert scored[0].prediction[0].meta["semantic_answer_score"] == pytest.approx(1.0)
    assert scored[1].prediction[1].meta["semantic_answer_score"] == pytest.approx(1.0)
    assert top1 < 1.0 and topn == pytest.approx(1.0)
    assert debug == []  # the answerable question's prediction overlaps its gold answer


def test_semantic_answer_similarity_needs_a_loadable_model(tmp_path: Path) -> None:
    from farm.errors import FarmError

    with pytest.raises(FarmError, match="local model folder"):
        semantic_answer_similarity([QAPred(id="1", prediction=[span("a", 0)], context="",
                                           question="?", ground_truth_answer=[])],
                                   sts_model_path_or_string=tmp_path / "missing")
