"""Passage ranking: reading TSV and DPR files into query groups, pair features, the head's
per-query ranking metric against a hand computation, and a tiny end-to-end run."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from torch import Tensor

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import PassageRankingProcessor
from farm.errors import DataFileError
from farm.evaluation.ranking_metrics import ranking_metrics
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import PassageRankingHead, PredictionHead
from farm.modeling.tokenization import Tokenizer
from farm.train import EarlyStopping, Trainer
from farm.utils import set_all_seeds
from tests.dpr_helpers import dpr_records, write_dpr_data, write_dpr_file
from tests.test_heads import HeadContract

LABELS = "passage_ranking_label_ids"
TSV = (
    "qid\tquery\tpassage\tlabel\n"
    "a\thow is the food in paris\tthe food in paris is great\t1\n"
    "b\thow is the park in berlin\tthe park in tokyo is great\t0\n"
    "a\thow is the food in paris\tthe food in berlin is great\t0\n"
    "b\thow is the park in berlin\tthe park in berlin is great\t1\n"
    "a\thow is the food in paris\tthe film in paris is great\t0\n"
)


def make_processor(model_dir: Path, data_dir: Path | None = None, **kwargs: object
                   ) -> PassageRankingProcessor:
    return PassageRankingProcessor(Tokenizer.load(model_dir), max_seq_len=48,
                                   data_dir=data_dir, **kwargs)  # type: ignore[arg-type]


def test_tsv_rows_are_grouped_by_query(tiny_bert_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text(TSV)
    for id_column in ("qid", None):
        processor = make_processor(tiny_bert_dir, tmp_path, query_id_column_name=id_column)
        dicts = processor.file_to_dicts("train.tsv")
        assert [d["query"] for d in dicts] == ["how is the food in paris",
                                               "how is the park in berlin"]
        assert [[(p["text"].split()[1:4:2], p["label"]) for p in d["passages"]]
                for d in dicts] == [
            [(["food", "paris"], "1"), (["food", "berlin"], "0"), (["film", "paris"], "0")],
            [(["park", "tokyo"], "0"), (["park", "berlin"], "1")]]


def test_bad_rows_name_file_and_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text(TSV.replace("great\t0\n", "great\tmaybe\n", 1))
    with pytest.raises(DataFileError, match=r"train.tsv:3: label 'maybe'.*not in label_list"):
        make_processor(tiny_bert_dir, tmp_path).file_to_dicts("train.tsv")
    (tmp_path / "train.tsv").write_text(TSV.replace("a\thow is the food in paris\tthe film",
                                                    "a\tanother query\tthe film"))
    with pytest.raises(DataFileError, match=r":6: query id 'a' names two queries"):
        make_processor(tiny_bert_dir, tmp_path, query_id_column_name="qid").file_to_dicts(
            "train.tsv")
    with pytest.raises(DataFileError, match="column 'question' \\(query_column_name\\)"):
        make_processor(tiny_bert_dir, tmp_path, query_column_name="question").file_to_dicts(
            "train.tsv")


def test_dpr_files_give_relevant_and_irrelevant_passages(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = dpr_records(4, n_hard_negatives=3)
    records[2]["positive_ctxs"] = []
    write_dpr_file(tmp_path / "train.json", records)
    processor = make_processor(tiny_bert_dir, tmp_path, num_hard_negatives=2)
    with caplog.at_level(logging.WARNING):
        dicts = processor.file_to_dicts("train.json")
    assert "record 2 has no positive_ctxs" in caplog.text
    assert [d["query"] for d in dicts] == [records[i]["question"] for i in (0, 1, 3)]
    assert [[p["label"] for p in d["passages"]] for d in dicts] == [["1", "0", "0"]] * 3


def test_pair_features_and_positions(tiny_bert_dir: Path) -> None:
    processor = make_processor(tiny_bert_dir)
    dicts = [{"query": "how is the food", "passages": [
        {"title": "paris", "text": "the food is great", "label": "1"},
        {"text": "the park", "label": "0"}]},
        {"query": "q", "passages": [{"text": "p", "label": "0"}]}]
    dataset, _, _, baskets = processor.dataset_from_dicts(dicts, return_baskets=True)
    tokenizer = Tokenizer.load(tiny_bert_dir)
    assert dataset[0]["input_ids"].tolist() == tokenizer(
        "how is the food", "paris. the food is great")["input_ids"]
    assert dataset[1]["segment_ids"].tolist() == tokenizer("how is the food", "the park")[
        "token_type_ids"]
    assert [dataset[i]["candidate_position"].tolist() for i in range(3)] == [[0, 2], [1, 2],
                                                                            [0, 1]]
    assert [dataset[i][LABELS].tolist() for i in range(3)] == [[1], [0], [0]]
    assert [len(b.samples) for b in baskets] == [2, 1]
    unlabelled = processor.dataset_from_dicts([{"query": "q", "passages": ["a", "b"]}])[0]
    assert LABELS not in unlabelled.tensor_names
    with pytest.raises(DataFileError, match="passage 0 has label 'yes'"):
        processor.dataset_from_dicts([{"query": "q", "passages": [{"text": "a",
                                                                    "label": "yes"}]}])
    with pytest.raises(DataFileError, match="'passages' must be a non-empty list"):
        processor.dataset_from_dicts([{"query": "q", "passages": []}])


def test_head_ranks_each_querys_candidates(tiny_bert_dir: Path) -> None:
    """Three queries of 3, 2 and 4 candidates, scored by hand-set logits, in two batches
    as the evaluator sees them: the metric is that of the hand-made ranking."""
    head = PassageRankingHead(label_list=["0", "1"])
    # logit difference -> P(relevant) is increasing in it
    margins = [0.5, 2.0, -1.0, 1.0, 3.0, -2.0, 0.0, 4.0, 1.0]
    relevant = [0, 1, 0, 1, 0, 0, 1, 0, 1]
    positions = [(0, 3), (1, 3), (2, 3), (0, 2), (1, 2), (0, 4), (1, 4), (2, 4), (3, 4)]
    preds, labels = [], []
    for rows in (range(0, 4), range(4, 9)):
        logits = torch.tensor([[0.0, margins[r]] for r in rows])
        batch = {"candidate_position": torch.tensor([positions[r] for r in rows]),
                 LABELS: torch.tensor([[relevant[r]] for r in rows])}
        preds += head.logits_to_preds(logits, **batch)
        labels += head.prepare_labels(**batch)
    scores, relevance = head.merge_per_basket(preds, labels)
    assert relevance == [[0, 1, 0], [1, 0], [0, 1, 0, 1]]
    result = ranking_metrics(scores, relevance)
    # Ranks of the best relevant candidate: 1 (2.0 first), 2 (1.0 after 3.0), 2 (1.0 after
    # 4.0; the relevant 0.0 comes 3rd).
    assert result["acc"] == pytest.approx(1 / 3)
    assert result["average_rank"] == pytest.approx(5 / 3)
    assert result["mrr_at_10"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert result["recall_at_1"] == pytest.approx(1 / 3)
    assert result["recall_at_5"] == 1.0
    with pytest.raises(ValueError, match="num_labels"):
        PassageRankingHead(num_labels=3)


class TestPassageRankingHead(HeadContract):
    """The contract every head keeps, for the ranking head."""

    head_class = PassageRankingHead

    def make_head(self) -> PredictionHead:
        return PassageRankingHead(label_list=["0", "1"])

    def make_labels(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        n = batch["input_ids"].shape[0]
        return {LABELS: (torch.arange(n) % 2).view(-1, 1),
                "candidate_position": torch.tensor([[i, n] for i in range(n)])}

    def logits_shape(self, batch: dict[str, Tensor]) -> tuple[int, ...]:
        return (batch["input_ids"].shape[0], 2)


def test_ranking_end_to_end(tiny_bert_dir: Path, tmp_path: Path) -> None:
    set_all_seeds(5)
    data_dir = write_dpr_data(tmp_path / "data", n_train=48, n_dev=12, n_test=12)
    processor = make_processor(tiny_bert_dir, data_dir, train_filename="train.json",
                               dev_filename=None, dev_split=0.25, test_filename="test.json")
    silo = DataSilo(processor=processor, batch_size=8, eval_batch_size=16)
    assert silo.counts == {"train": 36 * 3, "dev": 12 * 3, "test": 12 * 3}  # whole queries
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), [PassageRankingHead()],
                          embeds_dropout_prob=0.1, lm_output_types=["per_sequence"])
    model, optimizer, schedule = initialize_optimizer(
        model=model, n_batches=len(silo.loaders["train"]), n_epochs=4, device="cpu",
        learning_rate=3e-3)
    trainer = Trainer(model=model, optimizer=optimizer, data_silo=silo, epochs=4, n_gpu=0,
                      device="cpu", lr_schedule=schedule, evaluate_every=14, disable_tqdm=True,
                      early_stopping=EarlyStopping(metric="mrr_at_10", mode="max",
                                                   save_dir=tmp_path / "best", patience=10))
    trainer.train()
    assert trainer.test_result is not None
    test = trainer.test_result[0]
    assert test["n_queries"] == 12 and 0 < test["mrr_at_10"] <= 1
    assert test["recall_at_5"] == 1.0  # three candidates per query
    inferencer = Inferencer.load(tmp_path / "best", batch_size=2)
    result = inferencer.inference_from_dicts([
        {"query": "how is the food in paris", "passages": [
            "the food in berlin is great", {"title": "paris", "text": "the food in paris"},
            "the park in paris is great"]},
        {"query": "how is the film in tokyo", "passages": ["the film in tokyo is great"]},
        {"query": "how is the music in vienna", "passages": ["a", "b"]}])
    assert [len(r["predictions"]) for r in result] == [2, 1]
    first = result[0]["predictions"][0]
    assert first["query"] == "how is the food in paris"
    assert sorted(r["index"] for r in first["ranking"]) == [0, 1, 2]
    scores = [r["score"] for r in first["ranking"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert result[1]["predictions"][0]["ranking"][0]["text"] in ("a", "b")
