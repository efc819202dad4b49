"""Benchmark: passage ranking (a cross-encoder) with all-MiniLM-L6-v2 on the XQuAD-en
retrieval set of ``dpr_xquad.py``: each held-out question's candidates are all paragraphs
of its own article; MRR@10 and accuracy (its paragraph ranked first).

The same seeded article split as ``dpr_xquad.py``. Training pairs: each training
question with its paragraph (relevant) and ``--num-hard-negatives`` other paragraphs of its
article (not relevant), from a DPR JSON file → PassageRankingProcessor → DataSilo →
AdaptiveModel + PassageRankingHead → Trainer; the test file holds every held-out question
with all paragraphs of its article, evaluated by the trainer at the end (metric
``ranking``). Then the saved model re-ranks one question through ``Inferencer.load``.
Nothing is tuned on the held-out articles. Prints one JSON line; compare its
``within_article`` figures with the ones ``dpr_xquad.py`` prints.

    python benchmarks/ranking_xquad.py --data-dir ../shared/data/xquad
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_utils import SHARED_DATA, emit, minilm_path, parser, quiet  # noqa: E402
from dpr_xquad import dpr_records, split_articles  # noqa: E402

from farm.data_handler.data_silo import DataSilo  # noqa: E402
from farm.data_handler.processor import PassageRankingProcessor  # noqa: E402
from farm.infer import Inferencer  # noqa: E402
from farm.modeling.adaptive_model import AdaptiveModel  # noqa: E402
from farm.modeling.language_model import LanguageModel  # noqa: E402
from farm.modeling.optimization import initialize_optimizer  # noqa: E402
from farm.modeling.prediction_head import PassageRankingHead  # noqa: E402
from farm.modeling.tokenization import Tokenizer  # noqa: E402
from farm.train import Trainer  # noqa: E402
from farm.utils import set_all_seeds  # noqa: E402


def main() -> None:
    args = parser(__doc__ or "", SHARED_DATA / "xquad", epochs=1, batch_size=16,
                  learning_rate=2e-5, max_seq_len=256)
    args.add_argument("--test-articles", type=int, default=12)
    args.add_argument("--num-hard-negatives", type=int, default=1)
    opts = args.parse_args()
    quiet()
    started = time.perf_counter()
    set_all_seeds(opts.seed)
    model_name = opts.model or minilm_path()
    train_articles, test_articles = split_articles(opts.data_dir / "xquad.en.json",
                                                   opts.test_articles, opts.seed)
    work = Path(tempfile.mkdtemp(prefix="ranking-xquad-"))
    train_records, test_records = dpr_records(train_articles), dpr_records(test_articles)
    rng = random.Random(opts.seed)
    for record in train_records:  # a seeded choice of hard negatives per training question
        negatives = record["hard_negative_ctxs"]
        record["hard_negative_ctxs"] = rng.sample(negatives, min(opts.num_hard_negatives,
                                                                 len(negatives)))
    for name, records in (("train.json", train_records), ("test.json", test_records)):
        (work / name).write_text(json.dumps(records), encoding="utf-8")
    processor = PassageRankingProcessor(
        Tokenizer.load(model_name), max_seq_len=opts.max_seq_len, data_dir=work,
        train_filename="train.json", dev_filename=None, dev_split=0.0,
        test_filename="test.json")
    data_silo = DataSilo(processor=processor, batch_size=opts.batch_size,
                         eval_batch_size=64, seed=opts.seed)
    model = AdaptiveModel(LanguageModel.load(model_name), [PassageRankingHead()],
                          embeds_dropout_prob=0.1, lm_output_types=["per_sequence"],
                          device="cpu")
    model, optimizer, schedule = initialize_optimizer(
        model=model, device="cpu", learning_rate=opts.learning_rate,
        n_batches=len(data_silo.loaders["train"]), n_epochs=opts.epochs)
    trainer = Trainer(model=model, optimizer=optimizer, lr_schedule=schedule,
                      data_silo=data_silo, epochs=opts.epochs, n_gpu=0, device="cpu",
                      evaluate_every=0, disable_tqdm=True)
    start = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - start
    assert trainer.test_result is not None
    test = trainer.test_result[0]
    trainer.core.save(work / "model")
    processor.save(work / "model")
    ranker = Inferencer.load(work / "model", batch_size=8, disable_tqdm=True)
    example = test_records[0]
    candidates = [example["positive_ctxs"][0], *example["hard_negative_ctxs"]]
    ranked = ranker.inference_from_dicts([{"query": example["question"],
                                           "passages": candidates}])
    emit({
        "benchmark": "ranking_xquad", "model": opts.model or "all-MiniLM-L6-v2",
        "num_hard_negatives": opts.num_hard_negatives,
        "train_articles": len(train_articles), "train_pairs": data_silo.counts["train"],
        "test_articles": len(test_articles), "test_questions": int(test["n_queries"]),
        "test_pairs": data_silo.counts["test"], "epochs": opts.epochs,
        "within_article": {k: round(test[k], 4) for k in ("acc", "mrr_at_10",
                                                           "average_rank")},
        "example_top_is_positive": ranked[0]["predictions"][0]["ranking"][0]["index"] == 0,
        "train_s": round(train_s, 1), "seed": opts.seed,
    }, started)


if __name__ == "__main__":
    main()
