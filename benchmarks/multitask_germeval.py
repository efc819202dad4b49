"""Benchmark: multitask learning on GermEval18 with all-MiniLM-L6-v2.

FARM's own multitask example: one language model with two TextClassificationHeads, one for
the coarse label (OTHER, OFFENSE) and one for the fine label (OTHER, ABUSE, INSULT,
PROFANITY) of German tweets, trained together; compared with two single-task runs on the
same data, schedule and seed. Each head uses class weights from the training labels, as the
example did. Reports macro F1 (GermEval's measure) and accuracy per task on the test set.
To keep the three runs to minutes on two CPU cores, training uses a seeded random subsample
of the 5,009 training tweets and evaluation a seeded random subsample of the 3,532 test
tweets (``--train-samples``, ``--test-samples``; 0 means all). Prints one JSON line.
MiniLM's vocabulary is English, so German tweets become long token sequences.
Data: ``germeval2018.{training,test}.txt`` (``tweet<TAB>coarse<TAB>fine``, no header), by
default from ``../shared/data/germeval18``.

    python benchmarks/multitask_germeval.py --data-dir ../shared/data/germeval18
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from bench_utils import SHARED_DATA, TrainSubsample, emit, minilm_path, parser, quiet, train

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextClassificationProcessor
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds

LABELS = {
    "coarse": ["OTHER", "OFFENSE"],
    "fine": ["OTHER", "ABUSE", "INSULT", "PROFANITY"],
}
COLUMNS = {"coarse": 1, "fine": 2}


class GermEvalProcessor(TrainSubsample, TextClassificationProcessor):
    """GermEval18 without header: tweet, coarse label, fine label; subsampled test too."""

    test_samples: int | None = None

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        dicts = super().file_to_dicts(file)
        n = self.test_samples
        if n and len(dicts) > n and self.is_data_file(self.file_path(file), ("test",)):
            keep = sorted(random.Random(self.subsample_seed).sample(range(len(dicts)), n))
            dicts = [dicts[i] for i in keep]
        return dicts


def run(args: Any, model_name: str, tasks: list[str]) -> dict[str, Any]:
    """Train one model with a head per task in ``tasks``; test macro F1 and accuracy."""
    set_all_seeds(args.seed)
    processor = GermEvalProcessor(
        tokenizer=Tokenizer.load(model_name), max_seq_len=args.max_seq_len,
        data_dir=args.data_dir, train_filename="germeval2018.training.txt",
        dev_filename=None, test_filename="germeval2018.test.txt", dev_split=0.0,
        quote_char=None, header=None, text_column_name=0,
    )
    for task in tasks:
        processor.add_task(task, ["f1_macro", "acc"], LABELS[task],
                           label_column_name=COLUMNS[task])
    data_silo = DataSilo(processor=processor, batch_size=args.batch_size, eval_batch_size=64,
                         seed=args.seed)
    heads = [
        TextClassificationHead(num_labels=len(LABELS[task]), task_name=task,
                               class_weights=data_silo.calculate_class_weights(task))
        for task in tasks
    ]
    results, train_s, eval_s = train(model_name, heads, data_silo, args.epochs,
                                     args.learning_rate)
    out: dict[str, Any] = {"train_s": round(train_s, 1), "test_eval_s": round(eval_s, 1)}
    for result in results:
        out[f"{result['task_name']}_f1_macro"] = round(result["f1_macro"], 4)
        out[f"{result['task_name']}_acc"] = round(result["acc"], 4)
    out["counts"] = data_silo.counts
    return out


def main() -> None:
    cli = parser(__doc__, SHARED_DATA / "germeval18", train_samples=3000, epochs=3,
                 max_seq_len=96)
    cli.add_argument("--test-samples", type=int, default=1500)
    args = cli.parse_args()
    quiet()
    started = time.perf_counter()
    model_name = args.model or minilm_path()
    GermEvalProcessor.train_samples = args.train_samples or None
    GermEvalProcessor.test_samples = args.test_samples or None
    runs = {
        "multitask": run(args, model_name, ["coarse", "fine"]),
        "coarse_only": run(args, model_name, ["coarse"]),
        "fine_only": run(args, model_name, ["fine"]),
    }
    counts = runs["multitask"].pop("counts")
    for result in runs.values():
        result.pop("counts", None)
    emit({
        "benchmark": "multitask_germeval18",
        "model": args.model or "all-MiniLM-L6-v2",
        "train_samples": counts["train"],
        "test_samples": counts["test"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "max_seq_len": args.max_seq_len,
        **runs,
    }, started)


if __name__ == "__main__":
    main()
