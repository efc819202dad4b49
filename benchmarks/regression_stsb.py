"""Benchmark: text-pair regression on STS-B with all-MiniLM-L6-v2.

Fine-tunes MiniLM as a cross-encoder (both sentences in one input) with a RegressionHead on
the STS-B training pairs and reports Pearson and Spearman correlation on the dev set (STS-B's
test labels are hidden). Prints one JSON line. Data: GLUE's ``STS-B/{train,dev}.tsv``, by
default from ``../shared/data/glue_stsb``.

    python benchmarks/regression_stsb.py --data-dir ../shared/data/glue_stsb
"""

from __future__ import annotations

import time

from bench_utils import (
    SHARED_DATA,
    TrainSubsample,
    emit,
    minilm_path,
    parser,
    quiet,
    rounded,
    train,
)

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextPairRegressionProcessor
from farm.modeling.prediction_head import RegressionHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds


class STSBProcessor(TrainSubsample, TextPairRegressionProcessor):
    """STS-B's columns sentence1, sentence2, score; quotes in sentences are plain text."""


def main() -> None:
    args = parser(__doc__, SHARED_DATA / "glue_stsb").parse_args()
    quiet()
    started = time.perf_counter()
    set_all_seeds(args.seed)
    model_name = args.model or minilm_path()
    STSBProcessor.train_samples = args.train_samples
    processor = STSBProcessor(
        tokenizer=Tokenizer.load(model_name), max_seq_len=args.max_seq_len,
        data_dir=args.data_dir, train_filename="train.tsv", dev_filename=None,
        test_filename="dev.tsv", dev_split=0.0, quote_char=None,
        text_column_name="sentence1", text_b_column_name="sentence2",
        label_column_name="score",
    )
    data_silo = DataSilo(processor=processor, batch_size=args.batch_size, eval_batch_size=64,
                         seed=args.seed)
    (result,), train_s, eval_s = train(model_name, [RegressionHead()], data_silo, args.epochs,
                                       args.learning_rate)
    n_train = data_silo.counts["train"]
    emit({
        "benchmark": "regression_stsb",
        "model": args.model or "all-MiniLM-L6-v2",
        "train_samples": n_train,
        "dev_samples": data_silo.counts["test"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "max_seq_len": args.max_seq_len,
        **{f"dev_{k}": v for k, v in rounded(result, ["pearson", "spearman", "corr", "mse",
                                                      "r2"]).items()},
        "scaler_mean": round(processor.scaler_mean or 0.0, 4),
        "scaler_scale": round(processor.scaler_scale or 0.0, 4),
        "train_samples_per_s": round(n_train * args.epochs / train_s, 1),
        "train_wall_s": round(train_s, 1),
        "dev_eval_s": round(eval_s, 1),
    }, started)


if __name__ == "__main__":
    main()
