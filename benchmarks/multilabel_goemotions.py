"""Benchmark: multilabel classification on GoEmotions with all-MiniLM-L6-v2.

Fine-tunes MiniLM with a MultiLabelTextClassificationHead (28 emotions, any number per
Reddit comment) on a seeded random subsample of the training set (the full 43,410 comments
take over ten minutes per epoch on two idle CPU cores) and reports micro and macro F1 on the
full test set (5,427 comments). By default each label's positives are weighted by
negatives / positives (``DataSilo.calculate_class_weights``), which lifts the rare emotions;
these settings were chosen on ``dev.tsv`` (``--eval-file dev.tsv``). Prints one JSON line.
Data: GoEmotions' ``{train,dev,test}.tsv`` (``text<TAB>comma-separated label ids<TAB>id``,
no header), by default from ``../shared/data/goemotions``.

    python benchmarks/multilabel_goemotions.py --data-dir ../shared/data/goemotions
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
from farm.data_handler.processor import TextClassificationProcessor
from farm.modeling.prediction_head import MultiLabelTextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds

N_LABELS = 28


class GoEmotionsProcessor(TrainSubsample, TextClassificationProcessor):
    """GoEmotions' columns: text, label ids joined by commas, comment id."""


def main() -> None:
    cli = parser(__doc__, SHARED_DATA / "goemotions", train_samples=8000, epochs=3,
                 learning_rate=1e-4)
    cli.add_argument("--threshold", type=float, default=0.5,
                     help="probability from which a label is predicted")
    cli.add_argument("--pos-weight", choices=["none", "balanced", "sqrt"], default="balanced",
                     help="loss weight of each label's positives: none; balanced = negatives "
                          "/ positives (DataSilo.calculate_class_weights); sqrt = its root")
    cli.add_argument("--eval-file", default="test.tsv",
                     help="dev.tsv to choose settings, test.tsv (default) to report")
    args = cli.parse_args()
    quiet()
    started = time.perf_counter()
    set_all_seeds(args.seed)
    model_name = args.model or minilm_path()
    GoEmotionsProcessor.train_samples = args.train_samples
    label_ids = [str(i) for i in range(N_LABELS)]
    processor = GoEmotionsProcessor(
        tokenizer=Tokenizer.load(model_name), max_seq_len=args.max_seq_len,
        data_dir=args.data_dir, label_list=label_ids, metric=["f1_micro", "f1_macro"],
        multilabel=True, label_separator=",", train_filename="train.tsv",
        dev_filename=None, test_filename=args.eval_file, dev_split=0.0, quote_char=None,
        header=None, text_column_name=0, label_column_name=1,
    )
    data_silo = DataSilo(processor=processor, batch_size=args.batch_size, eval_batch_size=64,
                         seed=args.seed)
    weights = None
    if args.pos_weight != "none":
        weights = data_silo.calculate_class_weights("text_classification")
        if args.pos_weight == "sqrt":
            weights = [w**0.5 for w in weights]
    head = MultiLabelTextClassificationHead(num_labels=N_LABELS, class_weights=weights,
                                            pred_threshold=args.threshold)
    (result,), train_s, eval_s = train(model_name, [head], data_silo, args.epochs,
                                       args.learning_rate)
    n_train = data_silo.counts["train"]
    emit({
        "benchmark": "multilabel_goemotions",
        "model": args.model or "all-MiniLM-L6-v2",
        "train_samples": n_train,
        "eval_samples": data_silo.counts["test"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "max_seq_len": args.max_seq_len,
        "pred_threshold": head.pred_threshold,
        "pos_weight": args.pos_weight,
        "eval_file": args.eval_file,
        **rounded(result, ["f1_macro", "f1_micro"]),
        "train_samples_per_s": round(n_train * args.epochs / train_s, 1),
        "train_wall_s": round(train_s, 1),
        "eval_s": round(eval_s, 1),
    }, started)


if __name__ == "__main__":
    main()
