"""Benchmark: a dense retriever (BiAdaptiveModel on all-MiniLM-L6-v2) on ONNX Runtime vs
PyTorch, on XQuAD-en retrieval (every question against all paragraphs).

The retriever is MiniLM as it ships (no training: its mean-pooled, cosine-compared vectors
already retrieve well), one encoder shared by queries and passages, or two with
``--separate-encoders``. It is saved, exported with ``convert_to_onnx`` and both folders are
opened with ``Inferencer.load`` (a TextSimilarityInferencer each). Measured: the largest
difference of the query and passage vectors, how many questions get the same top-1 and the
same top-10 list, recall@1 / MRR@10 on each backend, and queries/passages per second
(median of ``--rounds``). Prints one JSON line.

    python benchmarks/onnx_dpr.py --data-dir ../shared/data/xquad
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_utils import (  # noqa: E402
    SHARED_DATA,
    emit,
    minilm_path,
    per_second,
    quiet,
    save_and_export,
)
from dpr_xquad import held_out_set, split_articles  # noqa: E402

from farm.data_handler.processor import TextSimilarityProcessor  # noqa: E402
from farm.evaluation.ranking_metrics import ranking_metrics  # noqa: E402
from farm.infer import Inferencer  # noqa: E402
from farm.infer_similarity import TextSimilarityInferencer  # noqa: E402
from farm.modeling.adaptive_model import BiAdaptiveModel  # noqa: E402
from farm.modeling.language_model import LanguageModel  # noqa: E402
from farm.modeling.prediction_head import TextSimilarityHead  # noqa: E402
from farm.modeling.tokenization import Tokenizer  # noqa: E402
from farm.utils import set_all_seeds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA / "xquad")
    parser.add_argument("--articles", type=int, default=48,
                        help="articles of XQuAD-en to search (all 48 by default)")
    parser.add_argument("--separate-encoders", action="store_true")
    parser.add_argument("--pooling", default="reduce_mean")
    parser.add_argument("--similarity", default="cosine")
    parser.add_argument("--max-seq-len", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    quiet()
    started = time.perf_counter()
    set_all_seeds(args.seed)
    model_name = minilm_path()
    _, articles = split_articles(args.data_dir / "xquad.en.json", args.articles, args.seed)
    questions, passages, gold, _ = held_out_set(articles)
    tokenizer = Tokenizer.load(model_name)
    processor = TextSimilarityProcessor(
        query_tokenizer=tokenizer, passage_tokenizer=tokenizer, max_seq_len_query=64,
        max_seq_len_passage=args.max_seq_len, data_dir=None, train_filename=None,
        dev_filename=None, test_filename=None, embed_title=True)
    model = BiAdaptiveModel(
        LanguageModel.load(model_name),
        LanguageModel.load(model_name) if args.separate_encoders else None,
        [TextSimilarityHead(similarity_function=args.similarity)], embeds_dropout_prob=0.0,
        pooling=args.pooling).eval()
    work, export_s = save_and_export(model, processor, "farm-onnx-dpr-bench-")

    loaded = {}
    for name in ("torch", "onnx"):
        inferencer = Inferencer.load(work / name, batch_size=args.batch_size, disable_tqdm=True)
        assert isinstance(inferencer, TextSimilarityInferencer)
        loaded[name] = inferencer
    vectors = {name: (inf.embed_queries(questions), inf.embed_passages(passages))
               for name, inf in loaded.items()}
    query_diff = float(np.abs(vectors["torch"][0] - vectors["onnx"][0]).max())
    passage_diff = float(np.abs(vectors["torch"][1] - vectors["onnx"][1]).max())
    relevant = [[int(j == g) for j in range(len(passages))] for g in gold]
    top10, metrics = {}, {}
    for name, inf in loaded.items():
        scores = inf.similarity_scores(questions, passages, passage_vectors=vectors[name][1])
        top10[name] = np.argsort(-scores, axis=1, kind="stable")[:, :10]
        result = ranking_metrics(scores.tolist(), relevant, recall_at=(1, 5))
        metrics[name] = {k: round(result[k], 4) for k in ("recall_at_1", "recall_at_5",
                                                         "mrr_at_10")}
    same_top1 = int((top10["torch"][:, 0] == top10["onnx"][:, 0]).sum())
    same_top10 = int((top10["torch"] == top10["onnx"]).all(axis=1).sum())

    speed: dict[str, dict[str, list[float]]] = {n: {"q": [], "p": []} for n in loaded}
    for _ in range(args.rounds):
        for name, inf in loaded.items():
            speed[name]["q"].append(per_second(lambda i=inf: i.embed_queries(questions),
                                               len(questions)))
            speed[name]["p"].append(per_second(lambda i=inf: i.embed_passages(passages),
                                               len(passages)))
    rate = {name: {k: round(statistics.median(v), 1) for k, v in s.items()}
            for name, s in speed.items()}
    emit({
        "benchmark": "onnx_dpr", "model": "all-MiniLM-L6-v2 (as shipped)",
        "shared_encoder": not args.separate_encoders, "pooling": args.pooling,
        "similarity": args.similarity, "articles": len(articles),
        "questions": len(questions), "passages": len(passages),
        "export_s": round(export_s, 1),
        "max_query_vector_difference": query_diff,
        "max_passage_vector_difference": passage_diff,
        "identical_top1": f"{same_top1}/{len(questions)}",
        "identical_top10_lists": f"{same_top10}/{len(questions)}",
        "pytorch": metrics["torch"], "onnxruntime": metrics["onnx"],
        "pytorch_queries_per_s": rate["torch"]["q"],
        "onnxruntime_queries_per_s": rate["onnx"]["q"],
        "pytorch_passages_per_s": rate["torch"]["p"],
        "onnxruntime_passages_per_s": rate["onnx"]["p"],
        "rounds": args.rounds, "batch_size": args.batch_size, "torch": torch.__version__,
    }, started)


if __name__ == "__main__":
    main()
