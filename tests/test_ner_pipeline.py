"""NER end to end: FARM's script on a tiny model, the head's contract, save/load, inference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import NERProcessor, Processor
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import PredictionHead, TokenClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.tagging import WINDOW_POSITION, WORD_STARTS
from farm.train import EarlyStopping, Trainer
from farm.utils import set_all_seeds
from tests.farm_helpers import make_trainer
from tests.ner_helpers import (
    NER_LABELS,
    make_ner_model,
    make_ner_processor,
    write_ner_data,
)
from tests.test_heads import HeadContract
from tests.tiny_models import TinyModelFactory

TEXTS = [
    "Peter  Smith visited New York   today .",
    "yesterday Maria went to Berlin with friends .",
    "Tom works for Acme Corp in Oslo .",
    "Lena  met friends in Rome, naïve café été .",
]
EXPECTED = [
    [("Peter  Smith", "PER"), ("New York", "LOC")],
    [("Maria", "PER"), ("Berlin", "LOC")],
    [("Tom", "PER"), ("Acme Corp", "ORG"), ("Oslo", "LOC")],
    [("Lena", "PER"), ("Rome", "LOC")],
]


@pytest.fixture(scope="module")
def trained_ner(tiny_model_factory: TinyModelFactory, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Path, Trainer]:
    """FARM's script, step by step: NERProcessor → DataSilo → TokenClassificationHead →
    AdaptiveModel(per_token) → Trainer with early stopping; the best model is saved."""
    model_dir = tiny_model_factory("bert", lower_case=False)
    root = tmp_path_factory.mktemp("ner")
    set_all_seeds(42)
    data_dir = write_ner_data(root / "data", n_train=96, n_test=24)
    tokenizer = Tokenizer.load(model_dir)
    processor = NERProcessor(
        tokenizer=tokenizer, max_seq_len=32, data_dir=data_dir, label_list=NER_LABELS,
        metric="seq_f1", train_filename="train.txt", dev_filename=None,
        test_filename="test.txt", dev_split=0.25, delimiter=" ",
    )
    data_silo = DataSilo(processor=processor, batch_size=8, eval_batch_size=16)
    language_model = LanguageModel.load(model_dir)
    prediction_head = TokenClassificationHead(num_labels=len(NER_LABELS))
    model = AdaptiveModel(
        language_model=language_model, prediction_heads=[prediction_head],
        embeds_dropout_prob=0.1, lm_output_types=["per_token"], device="cpu",
    )
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, n_batches=len(data_silo.loaders["train"]), n_epochs=15, device="cpu",
        learning_rate=3e-3,
    )
    save_dir = root / "saved_model"
    earlystop = EarlyStopping(metric="loss", mode="min", patience=20, save_dir=save_dir)
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=15, n_gpu=0,
        device="cpu", lr_schedule=lr_schedule, evaluate_every=6, early_stopping=earlystop,
        disable_tqdm=True,
    )
    trainer.train()
    return save_dir, trainer


def test_training_learns_the_entities(trained_ner: tuple[Path, Trainer]) -> None:
    """The test set's span F1 is high, with a per-entity-type report."""
    _, trainer = trained_ner
    assert trainer.test_result is not None
    result = trainer.test_result[0]
    assert result["task_name"] == "ner"
    assert result["seq_f1"] >= 0.9, result
    assert {"PER", "LOC", "ORG", "micro avg"} <= {
        " ".join(line.split()[:-4]) for line in result["report"].splitlines() if line.strip()
    }


def test_inferencer_returns_spans_that_slice_the_text(trained_ner: tuple[Path, Trainer]) -> None:
    """Inferencer.load(save_dir, task_type="ner"): per input its entities, with offsets into
    the original text (several spaces, non-ASCII), type and mean word probability."""
    save_dir, _ = trained_ner
    inferencer = Inferencer.load(save_dir, task_type="ner", batch_size=3, disable_tqdm=True)
    result = inferencer.inference_from_dicts([{"text": t} for t in TEXTS])
    assert [r["task"] for r in result] == ["ner", "ner"]
    predictions = [p for batch in result for p in batch["predictions"]]
    assert len(predictions) == len(TEXTS)
    for text, entities, expected in zip(TEXTS, predictions, EXPECTED, strict=True):
        for e in entities:
            assert set(e) == {"start", "end", "context", "label", "probability"}
            assert text[e["start"] : e["end"]] == e["context"]
            assert 0 < e["probability"] <= 1
        assert [(e["context"], e["label"]) for e in entities] == expected


def test_save_and_load_round_trip(trained_ner: tuple[Path, Trainer], tmp_path: Path) -> None:
    """Inferencer.save → load keeps processor settings and gives identical predictions."""
    save_dir, _ = trained_ner
    inferencer = Inferencer.load(save_dir, disable_tqdm=True)
    assert inferencer.task_type == "ner"
    dicts = [{"text": t} for t in TEXTS]
    before = inferencer.inference_from_dicts(dicts)
    inferencer.save(tmp_path / "copy")
    config = json.loads((tmp_path / "copy" / "processor_config.json").read_text())
    assert config["processor"] == "NERProcessor"
    assert config["delimiter"] == " " and config["tag_column"] == -1
    assert config["tasks"]["ner"]["label_list"] == NER_LABELS
    head_config = json.loads((tmp_path / "copy" / "prediction_head_0_config.json").read_text())
    assert head_config["name"] == "TokenClassificationHead"
    assert head_config["label_list"] == NER_LABELS
    loaded = Inferencer.load(tmp_path / "copy", disable_tqdm=True)
    assert isinstance(loaded.processor, NERProcessor)
    assert loaded.inference_from_dicts(dicts) == before


def test_inference_from_a_conll_file(trained_ner: tuple[Path, Trainer], tmp_path: Path) -> None:
    """A file of tokens (one per line) is read with the model's processor."""
    save_dir, _ = trained_ner
    path = tmp_path / "to_tag.txt"
    path.write_text("Tom\nvisited\nParis\n.\n\nAnna\nliked\nRome\n")
    inferencer = Inferencer.load(save_dir, disable_tqdm=True)
    predictions = inferencer.inference_from_file(path)[0]["predictions"]
    assert [[(e["context"], e["label"]) for e in p] for p in predictions] == [
        [("Tom", "PER"), ("Paris", "LOC")], [("Anna", "PER"), ("Rome", "LOC")]]


def test_hugging_face_folder_loads_with_task_type_ner(tiny_model_factory: TinyModelFactory
                                                      ) -> None:
    """A plain Hugging Face folder gets an untrained token classification head."""
    inferencer = Inferencer.load(tiny_model_factory("bert"), task_type="ner", disable_tqdm=True)
    assert isinstance(inferencer.model.heads[0], TokenClassificationHead)
    (result,) = inferencer.inference_from_dicts([{"text": "Anna visited Rome"}])
    assert isinstance(result["predictions"][0], list)


def test_processor_saves_and_loads_itself(tiny_bert_dir: Path, tmp_path: Path) -> None:
    processor = make_ner_processor(tiny_bert_dir, tmp_path, tag_column=2, window_overlap=5,
                                   label_list=["[PAD]", "X", *NER_LABELS])
    processor.save(tmp_path / "saved")
    loaded = Processor.load_from_dir(tmp_path / "saved")
    assert isinstance(loaded, NERProcessor)
    assert loaded.generate_config() == processor.generate_config()
    assert loaded.tasks == processor.tasks
    with pytest.raises(TypeError, match="delimeter"):
        NERProcessor(Tokenizer.load(tiny_bert_dir), 32, None, delimeter=" ")  # type: ignore[call-arg]


def test_class_weights_weight_the_loss_as_torch_does(tiny_bert_dir: Path, tmp_path: Path
                                                     ) -> None:
    """calculate_class_weights counts words; the batch mean of the per-sample loss is
    torch's weighted cross-entropy over the words' first sub-tokens."""
    processor = make_ner_processor(tiny_bert_dir, write_ner_data(tmp_path, 24, 8))
    silo = DataSilo(processor, batch_size=5)
    weights = silo.calculate_class_weights("ner")
    assert len(weights) == len(NER_LABELS) and weights[0] < min(weights[1:])
    head = TokenClassificationHead(num_labels=len(NER_LABELS), class_weights=weights)
    batch = next(iter(silo.get_data_loader("train")))
    logits = torch.randn(*batch["input_ids"].shape, len(NER_LABELS))
    loss = head.logits_to_loss(logits, **batch)
    assert loss.shape == (batch["input_ids"].shape[0],)
    valid = batch[WORD_STARTS] >= 0
    rows = torch.arange(len(valid)).unsqueeze(1).expand_as(valid)[valid]
    expected = F.cross_entropy(logits[rows, batch[WORD_STARTS][valid]],
                               batch["ner_label_ids"][valid], weight=torch.tensor(weights))
    torch.testing.assert_close(loss.mean(), expected)


def test_cached_data_silo_gives_the_same_batches(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """NER features (and their pad values) survive the safetensors cache."""
    data_dir = write_ner_data(tmp_path / "data", 16, 8)
    silos = [DataSilo(make_ner_processor(tiny_bert_dir, data_dir, max_seq_len=12), batch_size=4,
                      caching=True, cache_path=tmp_path / "cache") for _ in range(2)]
    first, second = (list(s.get_data_loader("test")) for s in silos)
    assert len(first) == len(second) > 0
    for a, b in zip(first, second, strict=True):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (first[0][WORD_STARTS] == -2).any()  # padded with the value the head skips


def test_trainer_runs_with_class_weights_and_a_deeper_head(tiny_bert_dir: Path,
                                                           tmp_path: Path) -> None:
    processor = make_ner_processor(tiny_bert_dir, write_ner_data(tmp_path, 16, 8),
                                   dev_split=0.25)
    silo = DataSilo(processor, batch_size=4)
    model = make_ner_model(tiny_bert_dir, layer_dims=[768, 16, len(NER_LABELS)],
                           class_weights=silo.calculate_class_weights("ner"))
    earlystop = EarlyStopping(metric="seq_f1", mode="max", save_dir=tmp_path / "best")
    trainer = make_trainer(model, silo, epochs=2, evaluate_every=2, early_stopping=earlystop)
    trainer.train()
    assert trainer.test_result is not None and 0 <= trainer.test_result[0]["seq_f1"] <= 1
    assert earlystop.best_so_far is not None
    assert (tmp_path / "best" / "prediction_head_0.safetensors").is_file()


class TestTokenClassificationHead(HeadContract):
    """TokenClassificationHead passes the contract every head inherits."""

    head_class = TokenClassificationHead
    reads_pooler = False

    def make_head(self) -> PredictionHead:
        return TokenClassificationHead(num_labels=len(NER_LABELS), label_list=NER_LABELS)

    def make_labels(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        n = batch["input_ids"].shape[0]
        starts = torch.tensor([[1, 2], [1, -2], [2, 1]])[:n]  # (n, n_words): -2 is padding
        labels = torch.tensor([[1, 2], [3, -100], [0, 5]])[:n]  # (n, n_words)
        positions = torch.tensor([[i, 0, 1] for i in range(n)])  # (n, 3)
        return {WORD_STARTS: starts, "ner_label_ids": labels, WINDOW_POSITION: positions}

    def logits_shape(self, batch: dict[str, Tensor]) -> tuple[int, ...]:
        return (*batch["input_ids"].shape, len(NER_LABELS))

    def test_sample_without_tags_adds_no_loss_and_no_labels(self) -> None:
        """Multitask data: a sample whose tag ids are all -100 is left out of loss and
        metric."""
        head = self.make_head()
        batch = {
            WORD_STARTS: torch.tensor([[1, 2], [1, 2]]),  # (2, 2)
            "ner_label_ids": torch.tensor([[1, 0], [-100, -100]]),  # (2, 2)
            WINDOW_POSITION: torch.tensor([[0, 0, 1], [1, 0, 1]]),  # (2, 3)
        }
        logits = torch.randn(2, 4, len(NER_LABELS), requires_grad=True)
        loss = head.logits_to_loss(logits, **batch)
        assert loss[1] == 0 and loss[0] > 0
        labels = head.prepare_labels(**batch)
        assert labels[1] is None and labels[0] is not None
        assert labels[0].tags == ["B-PER", "O"]
