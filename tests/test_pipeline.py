"""End to end: FARM's fine-tuning script on every tiny architecture, and that training learns."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModel

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextClassificationProcessor
from farm.eval import Evaluator
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.tracking import set_tracker
from farm.train import EarlyStopping, Trainer
from farm.utils import set_all_seeds
from tests.farm_helpers import (
    LABELS,
    RecordingTracker,
    make_model,
    make_processor,
    make_trainer,
    tokenize_batch,
    write_separable_data,
)
from tests.tiny_models import ARCHITECTURES, TinyModelFactory

# The saved-model files of docs/saved_models.md, besides the tokenizer's own files.
MODEL_FILES = {
    "language_model/config.json",
    "language_model/model.safetensors",
    "language_model/farm_language_model.json",
    "prediction_head_0.safetensors",
    "prediction_head_0_config.json",
    "processor_config.json",
    "farm_model.json",
}
PICKLE_SUFFIXES = {".bin", ".pkl", ".pickle", ".pt", ".pth", ".ckpt"}


def relative_files(folder: Path) -> set[str]:
    """Paths of all files below ``folder``, relative to it."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_fine_tuning_script_saves_the_documented_files(
    arch: str, tiny_model_factory: TinyModelFactory, tmp_path: Path
) -> None:
    """The README's script runs on each architecture and leaves exactly the documented files."""
    model_dir = tiny_model_factory(arch)
    set_all_seeds(42)
    data_dir = write_separable_data(tmp_path / "data", n_train=24, n_test=8)

    tokenizer = Tokenizer.load(model_dir)
    processor = TextClassificationProcessor(
        tokenizer=tokenizer, max_seq_len=32, data_dir=data_dir, label_list=LABELS,
        metric="acc", dev_split=0.25,
    )
    data_silo = DataSilo(processor=processor, batch_size=4)
    language_model = LanguageModel.load(model_dir)
    prediction_head = TextClassificationHead(num_labels=len(LABELS))
    model = AdaptiveModel(
        language_model=language_model, prediction_heads=[prediction_head],
        embeds_dropout_prob=0.1, lm_output_types=["per_sequence"], device="cpu",
    )
    n_batches = len(data_silo.loaders["train"])
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, n_batches=n_batches, n_epochs=2, device="cpu", learning_rate=1e-3,
    )
    save_dir = tmp_path / "saved_model"
    earlystop = EarlyStopping(metric="loss", mode="min", patience=10, save_dir=save_dir)
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=2, n_gpu=0, device="cpu",
        lr_schedule=lr_schedule, evaluate_every=2, early_stopping=earlystop, disable_tqdm=True,
    )
    returned = trainer.train()

    assert trainer.global_step == 2 * n_batches
    reference_tokenizer_dir = tmp_path / "tokenizer_only"
    tokenizer.save_pretrained(str(reference_tokenizer_dir))
    tokenizer_files = relative_files(reference_tokenizer_dir)
    assert "tokenizer.json" in tokenizer_files
    assert relative_files(save_dir) == MODEL_FILES | tokenizer_files
    assert not [f for f in relative_files(save_dir) if Path(f).suffix in PICKLE_SUFFIXES]
    assert AutoModel.from_pretrained(str(save_dir / "language_model")).config.model_type == (
        language_model.config.model_type
    )

    texts = ["good movie with friends at night in paris", "bad food"]
    inferencer = Inferencer.load(save_dir, return_class_probs=True, disable_tqdm=True)
    predictions = inferencer.inference_from_dicts([{"text": t} for t in texts])[0]["predictions"]
    assert [p["context"] for p in predictions] == texts
    assert all(p["label"] in LABELS for p in predictions)
    returned.eval()
    with torch.no_grad():
        expected = torch.softmax(returned(**tokenize_batch(model_dir, texts))[0], dim=-1)
    torch.testing.assert_close(
        torch.tensor([p["probabilities"] for p in predictions]), expected, atol=1e-5, rtol=1e-4
    )


def test_training_learns_separable_data(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Texts with "good" vs "bad": loss falls and the test set is classified correctly."""
    set_all_seeds(42)
    data_dir = write_separable_data(tmp_path, n_train=64, n_test=32)
    processor = make_processor(tiny_bert_dir, data_dir, dev_split=0.0)
    data_silo = DataSilo(processor=processor, batch_size=8)
    model = make_model(tiny_bert_dir)
    model.connect_heads_with_processor(processor.tasks)
    test_loader = data_silo.get_data_loader("test")
    before = Evaluator(test_loader, processor.tasks, "cpu").eval(model)[0]
    tracker = RecordingTracker()
    tracker.init_experiment("learning")
    try:
        trainer = make_trainer(model, data_silo, epochs=8, learning_rate=2e-3, log_loss_every=1)
        trainer.train()
    finally:
        set_tracker(None)

    losses = tracker.values("train_loss")
    assert len(losses) == trainer.global_step == 8 * len(data_silo.loaders["train"])
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    assert last < 0.3 * first, (first, last)
    assert trainer.test_result is not None
    after = trainer.test_result[0]
    assert after["acc"] >= 0.9, after
    assert after["loss"] < 0.3 * before["loss"], (before["loss"], after["loss"])
