"""DPR end to end on a tiny model: FARM's script (processor, data silo, BiAdaptiveModel,
trainer with early stopping), the saved folder, the inferencer, and exact resumption."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextSimilarityProcessor
from farm.errors import FarmError
from farm.eval import Evaluator
from farm.infer import Inferencer
from farm.infer_similarity import TextSimilarityInferencer
from farm.modeling.adaptive_model import BiAdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextSimilarityHead
from farm.modeling.tokenization import Tokenizer
from farm.train import EarlyStopping, Trainer
from farm.utils import set_all_seeds
from tests.dpr_helpers import write_dpr_data
from tests.farm_helpers import model_state, same_weights

QUERY = "how is the food in paris"
CANDIDATES = ["the food in berlin is great", {"title": "paris", "text": "the food in paris is "
              "great"}, "the park in paris is great", "the music in tokyo is great"]


def build(model_dir: Path, data_dir: Path, shared: bool = False) -> tuple[DataSilo, Any]:
    set_all_seeds(3)
    tokenizer = Tokenizer.load(model_dir)
    processor = TextSimilarityProcessor(
        query_tokenizer=tokenizer, passage_tokenizer=tokenizer, max_seq_len_query=16,
        max_seq_len_passage=32, data_dir=data_dir, metric="text_similarity_metric",
        train_filename="train.json", dev_filename="dev.json", test_filename="test.json",
        embed_title=True, num_hard_negatives=1)
    silo = DataSilo(processor=processor, batch_size=8, eval_batch_size=16)
    query_lm = LanguageModel.load(model_dir)
    passage_lm = query_lm if shared else LanguageModel.load(model_dir)
    model = BiAdaptiveModel(
        language_model1=query_lm, language_model2=passage_lm,
        prediction_heads=[TextSimilarityHead(similarity_function="cosine")],
        embeds_dropout_prob=0.0, lm1_output_types=["per_sequence"],
        lm2_output_types=["per_sequence"], device="cpu", pooling="reduce_mean")
    return silo, model


@pytest.fixture(scope="module")
def trained(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, Trainer, dict[str, Any]]:
    root = tmp_path_factory.mktemp("dpr")
    data_dir = write_dpr_data(root / "data", n_train=64, n_dev=16, n_test=16)
    silo, model = build(tiny_bert_dir, data_dir)
    dev_loader = silo.get_data_loader("dev")
    assert dev_loader is not None
    model.connect_heads_with_processor(silo.processor.tasks)
    before = Evaluator(dev_loader, silo.processor.tasks, "cpu").eval(model)[0]
    model, optimizer, schedule = initialize_optimizer(
        model=model, n_batches=len(silo.loaders["train"]), n_epochs=6, device="cpu",
        learning_rate=2e-3)
    save_dir = root / "best"
    trainer = Trainer(model=model, optimizer=optimizer, data_silo=silo, epochs=6, n_gpu=0,
                      device="cpu", lr_schedule=schedule, evaluate_every=8, disable_tqdm=True,
                      early_stopping=EarlyStopping(metric="mrr_at_10", mode="max",
                                                   save_dir=save_dir, patience=20))
    trainer.train()
    return save_dir, trainer, before


def test_training_improves_retrieval(trained: tuple[Path, Trainer, dict[str, Any]]) -> None:
    save_dir, trainer, before = trained
    assert trainer.test_result is not None
    test = trainer.test_result[0]
    assert test["task_name"] == "text_similarity"
    for key in ("loss", "acc", "average_rank", "mrr_at_10", "recall_at_1", "recall_at_5"):
        assert key in test
    assert trainer.early_stopping is not None
    best = trainer.early_stopping.best_so_far  # dev MRR@10 of the saved model
    assert best is not None and best > before["mrr_at_10"] + 0.2
    assert test["mrr_at_10"] > before["mrr_at_10"]
    assert isinstance(trainer.model, BiAdaptiveModel)


def test_saved_folder_and_inferencer(trained: tuple[Path, Trainer, dict[str, Any]]) -> None:
    save_dir, trainer, _ = trained
    names = sorted(p.name for p in save_dir.iterdir())
    for expected in ("farm_model.json", "lm1", "lm2", "passage_tokenizer",
                     "prediction_head_0_config.json", "processor_config.json",
                     "tokenizer.json"):
        assert expected in names
    inferencer = Inferencer.load(save_dir, batch_size=3)
    assert isinstance(inferencer, TextSimilarityInferencer)
    result = inferencer.inference_from_dicts([{"query": QUERY, "passages": CANDIDATES}])
    assert result[0]["task"] == "text_similarity"
    ranking = result[0]["predictions"][0]["ranking"]
    assert sorted(r["index"] for r in ranking) == [0, 1, 2, 3]
    scores = [r["score"] for r in ranking]
    assert scores == sorted(scores, reverse=True)
    assert ranking[0]["index"] == 1 and ranking[0]["title"] == "paris"
    # Vectors three ways: per query dict, per passage dict, and embed_*: all the same.
    queries = inferencer.inference_from_dicts([{"query": QUERY}, {"query": "q2"},
                                               {"query": "how is the park"}, {"query": "q4"}])
    assert len(queries) == 2 and len(queries[0]["predictions"]) == 3
    vectors = inferencer.embed_queries([QUERY, "q2", "how is the park", "q4"])
    np.testing.assert_allclose(queries[0]["predictions"][0]["vec"], vectors[0], atol=1e-5)
    np.testing.assert_allclose(queries[1]["predictions"][0]["vec"], vectors[3], atol=1e-5)
    passages = inferencer.inference_from_dicts([{"passages": CANDIDATES}])
    passage_vectors = inferencer.embed_passages(CANDIDATES)
    for j, passage in enumerate(passages[0]["predictions"][0]["passages"]):
        np.testing.assert_allclose(passage["vec"], passage_vectors[j], atol=1e-5)
    top = inferencer.retrieve([QUERY], CANDIDATES, top_k=2, passage_vectors=passage_vectors)
    assert [t["index"] for t in top[0]] == [r["index"] for r in ranking[:2]]
    assert top[0][0]["score"] == pytest.approx(ranking[0]["score"], abs=1e-4)
    # A query that cannot be encoded is skipped by the processor (as FARM did); vectors in
    # input order would then be shifted, so embed_* refuses.
    with pytest.raises(FarmError, match=r"queries at positions \[1\] cannot be encoded"):
        inferencer.embed_queries([QUERY, "  "])


def test_interrupted_run_resumes_exactly(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """One encoder shared by queries and passages: its tensors appear twice in the state;
    checkpoint and resumption still give the uninterrupted run's weights."""
    data_dir = write_dpr_data(tmp_path / "data", n_train=24, n_dev=4, n_test=4)

    def run(resume_from: str | None) -> Trainer:
        silo, model = build(tiny_bert_dir, data_dir, shared=True)
        model, optimizer, schedule = initialize_optimizer(
            model=model, n_batches=len(silo.loaders["train"]), n_epochs=2, device="cpu",
            learning_rate=2e-3)
        trainer = Trainer.create_or_load_checkpoint(
            data_silo=silo, checkpoint_root_dir=tmp_path / "checkpoints", model=model,
            optimizer=optimizer, resume_from_checkpoint=resume_from, lr_schedule=schedule,
            epochs=2, n_gpu=0, device="cpu", disable_tqdm=True, evaluate_every=0,
            checkpoint_every=2, checkpoints_to_keep=0)
        trainer.train()
        return trainer

    uninterrupted = run(None)
    assert (tmp_path / "checkpoints" / "step_4").is_dir()
    resumed = run("step_4")
    assert resumed.global_step == uninterrupted.global_step == 6
    assert same_weights(model_state(resumed.model), model_state(uninterrupted.model))
    model = resumed.core
    assert model.language_model1 is model.language_model2  # still one shared encoder
    assert torch.isfinite(torch.tensor(resumed.test_result[0]["loss"]))  # type: ignore[index]
