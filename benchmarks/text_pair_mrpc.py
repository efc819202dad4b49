"""Benchmark: text-pair classification on MRPC with all-MiniLM-L6-v2.

Fine-tunes MiniLM on the MRPC training pairs (paraphrase or not; both sentences in one
input) and reports accuracy and F1 on the dev set (MRPC's GLUE test labels are hidden). F1
is GLUE's: of the positive class ("paraphrase"); the macro F1 is given as well. Prints one
JSON line. Data: GLUE's ``MRPC/{train,dev}.tsv`` (this copy's train has 3,667 pairs, one
fewer than GLUE's), by default from ``../shared/data/glue_mrpc``.

    python benchmarks/text_pair_mrpc.py --data-dir ../shared/data/glue_mrpc
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
from sklearn.metrics import f1_score

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextPairClassificationProcessor
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds


class MRPCProcessor(TrainSubsample, TextPairClassificationProcessor):
    """MRPC's columns Quality, #1 String, #2 String; quotes in sentences are plain text."""


def main() -> None:
    args = parser(__doc__, SHARED_DATA / "glue_mrpc").parse_args()
    quiet()
    started = time.perf_counter()
    set_all_seeds(args.seed)
    model_name = args.model or minilm_path()
    MRPCProcessor.train_samples = args.train_samples
    processor = MRPCProcessor(
        tokenizer=Tokenizer.load(model_name), max_seq_len=args.max_seq_len,
        data_dir=args.data_dir, label_list=["0", "1"], metric="acc_f1",
        train_filename="train.tsv", dev_filename=None, test_filename="dev.tsv",
        dev_split=0.0, quote_char=None, text_column_name="#1 String",
        text_b_column_name="#2 String", label_column_name="Quality",
    )
    data_silo = DataSilo(processor=processor, batch_size=args.batch_size, eval_batch_size=64,
                         seed=args.seed)
    (result,), train_s, eval_s = train(model_name, [TextClassificationHead(num_labels=2)],
                                       data_silo, args.epochs, args.learning_rate)
    n_train = data_silo.counts["train"]
    emit({
        "benchmark": "text_pair_mrpc",
        "model": args.model or "all-MiniLM-L6-v2",
        "train_samples": n_train,
        "dev_samples": data_silo.counts["test"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "max_seq_len": args.max_seq_len,
        "dev_acc": rounded(result, ["acc"])["acc"],
        "dev_f1": round(float(f1_score(result["labels"], result["preds"], pos_label="1")), 4),
        "dev_f1_macro": rounded(result, ["f1"])["f1"],
        "train_samples_per_s": round(n_train * args.epochs / train_s, 1),
        "train_wall_s": round(train_s, 1),
        "dev_eval_s": round(eval_s, 1),
    }, started)


if __name__ == "__main__":
    main()
