"""Check: ONNX export of a dense retriever for every architecture and pooling, on tiny random
models (the test suite keeps three of these 21 cases to save time).

For each of the seven test architectures and each pooling (``cls_token`` with separate
encoders, ``reduce_mean`` with a shared one, ``pooled`` with separate encoders; separate
encoders get different weights), the retriever of ``tests/test_onnx_dpr.py`` is saved,
exported and opened with ``Inferencer.load`` on both folders; printed per case: the largest
query and passage vector difference and whether ``retrieve`` ranks the passages the same.
One JSON line per case, then a summary line.

    python benchmarks/onnx_dpr_architectures.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from farm.infer import Inferencer  # noqa: E402
from farm.infer_similarity import TextSimilarityInferencer  # noqa: E402
from tests.test_onnx_dpr import PASSAGES, QUERIES, retriever  # noqa: E402
from tests.tiny_models import ARCHITECTURES, make_tiny_model_dir  # noqa: E402

CASES = [(False, "cls_token"), (True, "reduce_mean"), (False, "pooled")]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="farm-onnx-dpr-archs-"))
    worst, failures = 0.0, []
    for arch in ARCHITECTURES:
        model_dir = make_tiny_model_dir(arch, work / arch)
        for shared, pooling in CASES:
            started = time.perf_counter()
            case = work / f"{arch}-{pooling}"
            model, processor = retriever(model_dir, shared, pooling, "dot_product")
            model.save(case / "torch")
            processor.save(case / "torch")
            model.convert_to_onnx(case / "onnx", processor=processor)
            ours, theirs = (Inferencer.load(case / name, disable_tqdm=True)
                            for name in ("onnx", "torch"))
            assert isinstance(ours, TextSimilarityInferencer)
            assert isinstance(theirs, TextSimilarityInferencer)
            query = float(np.abs(ours.embed_queries(QUERIES)
                                 - theirs.embed_queries(QUERIES)).max())
            passage = float(np.abs(ours.embed_passages(PASSAGES)
                                   - theirs.embed_passages(PASSAGES)).max())
            rankings = [[[hit["index"] for hit in hits] for hits in
                         inferencer.retrieve(QUERIES, PASSAGES)] for inferencer in (ours, theirs)]
            same = rankings[0] == rankings[1]
            worst = max(worst, query, passage)
            if not same or max(query, passage) > 1e-4:
                failures.append(f"{arch}/{pooling}")
            print(json.dumps({"architecture": arch, "shared_encoder": shared,
                              "pooling": pooling, "max_query_vector_difference": query,
                              "max_passage_vector_difference": passage,
                              "same_rankings": same,
                              "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    print(json.dumps({"cases": len(ARCHITECTURES) * len(CASES), "failed": failures,
                      "max_vector_difference": worst}))


if __name__ == "__main__":
    main()
