"""Building blocks shared by the model, training, inference and tracking tests.

Tiny, easily separable sentiment data ("good ..." is positive, "bad ..." negative), the FARM
objects of the fine-tuning script built on a tiny model folder, and a tracker that records
what it is given.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextClassificationProcessor
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.tracking import Tracker
from farm.train import EarlyStopping, Trainer

LABELS = ["negative", "positive"]
TASK = "text_classification"
MAX_SEQ_LEN = 32
NOUNS = ["movie", "film", "food", "music", "book", "day", "show", "place", "service", "trip"]
FILLERS = ["today", "again", "here", "with friends", "at night", "in paris", "this week"]


def separable_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (text, label) rows: texts with "good" are positive, with "bad" negative.

    Both labels occur equally often and the texts vary in length.

    Args:
        n (int): Number of rows.
        seed (int): Seed of the random word choice.
    """
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = LABELS[i % 2]
        cue = "good" if label == "positive" else "bad"
        words = [cue, rng.choice(NOUNS)] + rng.sample(FILLERS, rng.randint(0, 3))
        rows.append((" ".join(words), label))
    rng.shuffle(rows)
    return rows


def write_tsv(path: Path, rows: list[tuple[str, str]]) -> Path:
    """Write ``rows`` as a TSV file with the columns text and label."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in rows))
    return path


def write_separable_data(data_dir: Path, n_train: int = 32, n_test: int = 16) -> Path:
    """Write ``train.tsv`` and ``test.tsv`` of separable rows into ``data_dir``."""
    write_tsv(data_dir / "train.tsv", separable_rows(n_train, seed=1))
    write_tsv(data_dir / "test.tsv", separable_rows(n_test, seed=2))
    return data_dir


def make_processor(model_dir: Path, data_dir: Path, **kwargs: Any) -> TextClassificationProcessor:
    """The sentiment processor of FARM's fine-tuning script on a tiny model's tokenizer."""
    options: dict[str, Any] = {
        "max_seq_len": MAX_SEQ_LEN, "label_list": LABELS, "metric": "acc", "dev_split": 0.25,
    }
    options.update(kwargs)
    return TextClassificationProcessor(
        tokenizer=Tokenizer.load(model_dir), data_dir=data_dir, **options
    )


def make_model(model_dir: Path, **head_kwargs: Any) -> AdaptiveModel:
    """A tiny language model with a two-label text classification head."""
    head_kwargs.setdefault("num_labels", len(LABELS))
    return AdaptiveModel(
        language_model=LanguageModel.load(model_dir),
        prediction_heads=[TextClassificationHead(**head_kwargs)],
        embeds_dropout_prob=0.1,
        lm_output_types=["per_sequence"],
        device="cpu",
    )


def make_trainer(
    model: nn.Module,
    data_silo: DataSilo,
    epochs: int = 1,
    learning_rate: float = 1e-3,
    early_stopping: EarlyStopping | None = None,
    optimizer_opts: dict[str, Any] | None = None,
    **trainer_kwargs: Any,
) -> Trainer:
    """``initialize_optimizer`` and a quiet CPU ``Trainer``, as FARM's script does."""
    grad_acc_steps = trainer_kwargs.get("grad_acc_steps", 1)
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, n_batches=len(data_silo.loaders["train"]), n_epochs=epochs, device="cpu",
        learning_rate=learning_rate, optimizer_opts=optimizer_opts,
        grad_acc_steps=grad_acc_steps,
    )
    trainer_kwargs.setdefault("evaluate_every", 0)
    trainer_kwargs.setdefault("disable_tqdm", True)
    return Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=epochs, n_gpu=0,
        device="cpu", lr_schedule=lr_schedule, early_stopping=early_stopping, **trainer_kwargs,
    )


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of a model's weights."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Whether two state dicts hold the same names and exactly equal tensors."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def tokenize_batch(model_dir: Path, texts: list[str], labels: list[int] | None = None
                   ) -> dict[str, torch.Tensor]:
    """A batch of named tensors for ``texts``, made with the tokenizer directly."""
    encoded = Tokenizer.load(model_dir)(texts, padding=True, return_tensors="pt")
    batch = {
        "input_ids": encoded["input_ids"],  # (batch, seq_len)
        "padding_mask": encoded["attention_mask"],  # (batch, seq_len)
        "segment_ids": torch.zeros_like(encoded["input_ids"]),  # (batch, seq_len)
    }
    if labels is not None:
        batch[f"{TASK}_label_ids"] = torch.tensor(labels).view(-1, 1)  # (batch, 1)
    return batch


class RecordingTracker(Tracker):
    """A tracker that keeps every parameter and metric it is given."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.metrics: list[tuple[int | None, dict[str, float]]] = []

    def log_params(self, params: dict[str, Any]) -> None:
        self.params.update(params)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.metrics.append((step, dict(metrics)))

    def values(self, name: str) -> list[float]:
        """All logged values of metric ``name``, in logging order."""
        return [m[name] for _, m in self.metrics if name in m]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch on ``n`` CPU threads inside the block.

    Tiny models spend most of a multi-threaded step synchronising threads, which on a busy
    machine makes them many times slower than on one thread.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
