"""ONNX Runtime against PyTorch for inference with all-MiniLM-L6-v2 (+ a classification head).

    python benchmarks/onnx_speed.py --data-dir ../shared/data/sst2_sentences

Builds a MiniLM model with a two-label text classification head (its weights are random:
this measures speed and agreement, not accuracy), exports it with ``convert_to_onnx``, and
runs ``Inferencer.load`` on both folders over the SST-2 dev sentences. The two backends
alternate over ``--rounds`` rounds at each batch size; the median sentences/s is reported,
with the export time, the largest logit difference and the share of identical labels.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from bench_utils import SHARED_DATA, emit, minilm_path, per_second, quiet, save_and_export

from farm.data_handler.dataset import Collator
from farm.data_handler.processor import TextClassificationProcessor
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds


def read_sentences(path: Path, limit: int | None) -> list[str]:
    """The sentences of an SST-2 file (``label sentence`` per line)."""
    lines = path.read_text(encoding="utf-8").splitlines()[:limit]
    return [line.partition(" ")[2] for line in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA / "sst2_sentences")
    parser.add_argument("--file", default="stsa.binary.dev")
    parser.add_argument("--limit", type=int, default=None, help="first N sentences")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--max-seq-len", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    quiet()
    started = time.perf_counter()
    set_all_seeds(42)
    model_name = minilm_path()
    texts = read_sentences(args.data_dir / args.file, args.limit)
    dicts = [{"text": t} for t in texts]
    tokenizer = Tokenizer.load(model_name)
    processor = TextClassificationProcessor(
        tokenizer, args.max_seq_len, data_dir=None, label_list=["0", "1"], metric="acc",
        train_filename=None, test_filename=None, dev_split=0.0)
    model = AdaptiveModel(LanguageModel.load(model_name), [TextClassificationHead(num_labels=2)],
                          embeds_dropout_prob=0.1)
    work, export_s = save_and_export(model, processor, "farm-onnx-bench-")

    loaded = {name: Inferencer.load(work / name, max_seq_len=args.max_seq_len,
                                    return_class_probs=True, disable_tqdm=True)
              for name in ("torch", "onnx")}
    dataset = processor.dataset_from_dicts(dicts[:128], log_sample=False)[0]
    batch = Collator(dataset.pad_values)([dataset[i] for i in range(len(dataset))])
    with torch.inference_mode():
        logits = {name: inf.model(**batch)[0] for name, inf in loaded.items()}
    difference = float((logits["torch"] - logits["onnx"]).abs().max())
    predictions = {name: [p["label"] for r in inf.inference_from_dicts(dicts)
                          for p in r["predictions"]] for name, inf in loaded.items()}
    same = sum(a == b for a, b in zip(predictions["torch"], predictions["onnx"], strict=True))

    speed: dict[str, dict[str, float]] = {}
    for batch_size in args.batch_sizes:
        measured: dict[str, list[float]] = {"torch": [], "onnx": []}
        for inferencer in loaded.values():
            inferencer.batch_size = batch_size
            inferencer.inference_from_dicts(dicts[:64])  # warm-up
        for _ in range(args.rounds):
            for name, inferencer in loaded.items():
                measured[name].append(per_second(
                    lambda i=inferencer: i.inference_from_dicts(dicts), len(dicts)))
        torch_sps = statistics.median(measured["torch"])
        onnx_sps = statistics.median(measured["onnx"])
        speed[f"batch_{batch_size}"] = {
            "pytorch_sentences_per_s": round(torch_sps, 1),
            "onnxruntime_sentences_per_s": round(onnx_sps, 1),
            "onnx_speedup": round(onnx_sps / torch_sps, 2),
        }
    emit({
        "benchmark": "onnx_speed", "model": "all-MiniLM-L6-v2 + TextClassificationHead",
        "sentences": len(dicts), "max_seq_len": args.max_seq_len, "rounds": args.rounds,
        "export_s": round(export_s, 1), "max_logit_difference": difference,
        "identical_labels": f"{same}/{len(dicts)}", "speed": speed,
        "torch": torch.__version__, "onnxruntime": _ort_version(),
    }, started)


def _ort_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


if __name__ == "__main__":
    main()
