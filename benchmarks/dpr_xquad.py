"""Benchmark: dense passage retrieval (DPR) with all-MiniLM-L6-v2 on a retrieval set built
from XQuAD-en; recall@1/5 and MRR@10 on held-out articles before and after training.

The retrieval set: every XQuAD question is a query whose positive passage is its own
paragraph (titled with the article's title); the other paragraphs of the same article are
its hard negatives. Articles are split with a seed: ``--test-articles`` of the 48 are held
out, the rest train. Retrieval on the held-out side searches all paragraphs of all held-out
articles for each held-out question (candidates from the same article are the hard ones).

FARM's DPR script end to end: the records are written as a DPR JSON file →
TextSimilarityProcessor → DataSilo → BiAdaptiveModel (MiniLM; one encoder shared by
queries and passages by default, ``--separate-encoders`` for two) + TextSimilarityHead
(in-batch and hard negatives) → Trainer → save → Inferencer.load → retrieval. Nothing is
tuned on the held-out articles. Prints one JSON line.

    python benchmarks/dpr_xquad.py --data-dir ../shared/data/xquad

``--write-data DIR`` only writes the split as DPR JSON files, ``DIR/train.json`` and
``DIR/test.json`` (held-out articles), for ``examples/configs/dense_retrieval.yaml``.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_utils import SHARED_DATA, emit, minilm_path, parser, quiet  # noqa: E402

from farm.data_handler.data_silo import DataSilo  # noqa: E402
from farm.data_handler.processor import TextSimilarityProcessor  # noqa: E402
from farm.evaluation.ranking_metrics import ranking_metrics  # noqa: E402
from farm.infer import Inferencer  # noqa: E402
from farm.infer_similarity import TextSimilarityInferencer  # noqa: E402
from farm.modeling.adaptive_model import BiAdaptiveModel  # noqa: E402
from farm.modeling.language_model import LanguageModel  # noqa: E402
from farm.modeling.optimization import initialize_optimizer  # noqa: E402
from farm.modeling.prediction_head import TextSimilarityHead  # noqa: E402
from farm.modeling.tokenization import Tokenizer  # noqa: E402
from farm.train import Trainer  # noqa: E402
from farm.utils import set_all_seeds  # noqa: E402

REPORTED = ["acc", "recall_at_1", "recall_at_5", "recall_at_10", "mrr_at_10", "average_rank"]


def split_articles(xquad_file: Path, n_test: int, seed: int
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The articles of a SQuAD-format file, split into train and held-out test by seed."""
    articles = json.loads(xquad_file.read_text(encoding="utf-8"))["data"]
    order = list(range(len(articles)))
    random.Random(seed).shuffle(order)
    test = [articles[i] for i in sorted(order[:n_test])]
    train = [articles[i] for i in sorted(order[n_test:])]
    return train, test


def dpr_records(articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One DPR record per question: its paragraph positive, the article's others hard."""
    records = []
    for article in articles:
        contexts = [{"title": article["title"], "text": p["context"],
                     "passage_id": f"{article['title']}-{j}"}
                    for j, p in enumerate(article["paragraphs"])]
        for j, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                records.append({
                    "id": qa["id"], "question": qa["question"],
                    "answers": [a["text"] for a in qa["answers"]],
                    "positive_ctxs": [contexts[j]],
                    "hard_negative_ctxs": contexts[:j] + contexts[j + 1:],
                })
    return records


def held_out_set(articles: list[dict[str, Any]]
                 ) -> tuple[list[str], list[dict[str, str]], list[int], list[int]]:
    """Questions, all paragraphs, each question's paragraph and each paragraph's article."""
    passages, questions, gold, article_of = [], [], [], []
    for a, article in enumerate(articles):
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                questions.append(qa["question"])
                gold.append(len(passages))
            passages.append({"title": article["title"], "text": paragraph["context"]})
            article_of.append(a)
    return questions, passages, gold, article_of


def retrieval(inferencer: TextSimilarityInferencer, articles: list[dict[str, Any]]
              ) -> dict[str, Any]:
    """Ranking metrics of every question against all paragraphs of ``articles``, and
    against the paragraphs of its own article only (the hard candidates)."""
    questions, passages, gold, article_of = held_out_set(articles)
    scores = inferencer.similarity_scores(questions, passages)
    relevant = [[int(j == g) for j in range(len(passages))] for g in gold]
    result = ranking_metrics(scores.tolist(), relevant, recall_at=(1, 5, 10, 20))
    own = [[j for j in range(len(passages)) if article_of[j] == article_of[g]] for g in gold]
    within = ranking_metrics([[float(scores[i, j]) for j in cands] for i, cands in
                              enumerate(own)],
                             [[int(j == g) for j in cands] for g, cands in zip(gold, own,
                                                                                strict=True)])
    return {"n_questions": len(questions), "n_passages": len(passages),
            **{k: round(result[k], 4) for k in REPORTED},
            "within_article": {k: round(within[k], 4) for k in ("acc", "mrr_at_10")}}


def main() -> None:
    args = parser(__doc__ or "", SHARED_DATA / "xquad", epochs=1, batch_size=16,
                  learning_rate=2e-5, max_seq_len=256)
    args.add_argument("--max-seq-len-query", type=int, default=64)
    args.add_argument("--test-articles", type=int, default=12)
    args.add_argument("--num-hard-negatives", type=int, default=1)
    args.add_argument("--separate-encoders", action="store_true",
                      help="two encoders (query and passage) instead of one shared")
    args.add_argument("--pooling", default="reduce_mean",
                      help="reduce_mean (MiniLM's own pooling) or cls_token (DPR's)")
    args.add_argument("--similarity", default="cosine", help="cosine or dot_product")
    args.add_argument("--write-data", type=Path, default=None, metavar="DIR",
                      help="write DIR/train.json and DIR/test.json (DPR JSON) and stop")
    opts = args.parse_args()
    quiet()
    if opts.write_data:
        train_part, test_part = split_articles(opts.data_dir / "xquad.en.json",
                                               opts.test_articles, opts.seed)
        opts.write_data.mkdir(parents=True, exist_ok=True)
        for name, part in (("train.json", train_part), ("test.json", test_part)):
            (opts.write_data / name).write_text(json.dumps(dpr_records(part)), encoding="utf-8")
        print(f"Wrote {opts.write_data}/train.json and test.json")
        return
    started = time.perf_counter()
    set_all_seeds(opts.seed)
    model_name = opts.model or minilm_path()
    train_articles, test_articles = split_articles(opts.data_dir / "xquad.en.json",
                                                   opts.test_articles, opts.seed)
    work = Path(tempfile.mkdtemp(prefix="dpr-xquad-"))
    records = dpr_records(train_articles)
    (work / "train.json").write_text(json.dumps(records), encoding="utf-8")

    tokenizer = Tokenizer.load(model_name)
    processor = TextSimilarityProcessor(
        query_tokenizer=tokenizer, passage_tokenizer=tokenizer,
        max_seq_len_query=opts.max_seq_len_query, max_seq_len_passage=opts.max_seq_len,
        data_dir=work, train_filename="train.json", dev_filename=None, dev_split=0.0,
        test_filename=None, embed_title=True, num_hard_negatives=opts.num_hard_negatives,
        seed=opts.seed)
    data_silo = DataSilo(processor=processor, batch_size=opts.batch_size, seed=opts.seed)
    query_lm = LanguageModel.load(model_name)
    passage_lm = LanguageModel.load(model_name) if opts.separate_encoders else None
    model = BiAdaptiveModel(
        query_lm, passage_lm, [TextSimilarityHead(similarity_function=opts.similarity)],
        embeds_dropout_prob=0.0, device="cpu", pooling=opts.pooling)
    before = retrieval(TextSimilarityInferencer(model, processor, batch_size=32,
                                                disable_tqdm=True), test_articles)

    model, optimizer, schedule = initialize_optimizer(
        model=model, device="cpu", learning_rate=opts.learning_rate,
        n_batches=len(data_silo.loaders["train"]), n_epochs=opts.epochs)
    trainer = Trainer(model=model, optimizer=optimizer, lr_schedule=schedule,
                      data_silo=data_silo, epochs=opts.epochs, n_gpu=0, device="cpu",
                      evaluate_every=0, evaluator_test=False, disable_tqdm=True)
    start = time.perf_counter()
    trained = trainer.train()
    train_s = time.perf_counter() - start
    trained.save(work / "model")
    processor.save(work / "model")
    inferencer = Inferencer.load(work / "model", batch_size=32, disable_tqdm=True)
    assert isinstance(inferencer, TextSimilarityInferencer)
    start = time.perf_counter()
    after = retrieval(inferencer, test_articles)
    emit({
        "benchmark": "dpr_xquad", "model": opts.model or "all-MiniLM-L6-v2",
        "shared_encoder": not opts.separate_encoders, "pooling": opts.pooling,
        "similarity": opts.similarity, "num_hard_negatives": opts.num_hard_negatives,
        "train_articles": len(train_articles), "train_questions": len(records),
        "test_articles": len(test_articles), "test_questions": before["n_questions"],
        "test_passages": before["n_passages"], "epochs": opts.epochs,
        "batch_size": opts.batch_size, "learning_rate": opts.learning_rate,
        "before": before, "after": after, "train_s": round(train_s, 1),
        "retrieval_s": round(time.perf_counter() - start, 1), "seed": opts.seed,
    }, started)


if __name__ == "__main__":
    main()
