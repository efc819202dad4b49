"""ONNX Runtime against PyTorch for extractive QA with all-MiniLM-L6-v2 (+ a QA head).

    python benchmarks/onnx_qa.py --data-dir ../shared/data --questions 240

Builds MiniLM with the tutorial's ``QuestionAnsweringHead`` (random head weights: this
measures agreement and speed, not accuracy), exports it with ``convert_to_onnx``, and runs
``QAInferencer.load`` on both folders over the first ``--questions`` questions of XQuAD-en
(real Wikipedia paragraphs, several passages each at ``--max-seq-len``). Reports the export
time, the largest start/end logit difference over the passages, how many questions get the
same best answer (text and character offsets) and the same n-best list, whether every
answer slices its context exactly, and questions/s of each backend (median of ``--rounds``
alternating rounds). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from bench_utils import SHARED_DATA, emit, minilm_path, per_second, quiet, save_and_export

from farm.data_handler.dataset import Collator
from farm.data_handler.processor import SquadProcessor
from farm.infer import QAInferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import QuestionAnsweringHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds


def xquad_requests(path: Path, n_questions: int) -> list[dict[str, Any]]:
    """Request dicts ``{"questions": [...], "text": ...}`` of the first paragraphs of a
    SQuAD-format file, ``n_questions`` questions in all."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    requests: list[dict[str, Any]] = []
    left = n_questions
    for article in data:
        for paragraph in article["paragraphs"]:
            if left <= 0:
                return requests
            questions = [{"question": qa["question"], "id": qa["id"]}
                         for qa in paragraph["qas"][:left]]
            requests.append({"questions": questions, "text": paragraph["context"]})
            left -= len(questions)
    return requests


def answers(results: list[dict[str, Any]]) -> list[list[tuple[str, int, int]]]:
    return [[(a["answer"], a["offset_answer_start"], a["offset_answer_end"])
             for a in p["answers"]] for r in results for p in r["predictions"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA)
    parser.add_argument("--questions", type=int, default=240)
    parser.add_argument("--max-seq-len", type=int, default=256)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    quiet()
    started = time.perf_counter()
    set_all_seeds(42)
    model_name = minilm_path()
    requests = xquad_requests(args.data_dir / "xquad" / "xquad.en.json", args.questions)
    n_questions = sum(len(r["questions"]) for r in requests)
    processor = SquadProcessor(
        Tokenizer.load(model_name), args.max_seq_len, data_dir=None,
        label_list=["start_token", "end_token"], metric="squad", train_filename=None,
        dev_filename=None, doc_stride=args.doc_stride, max_query_length=64)
    head = QuestionAnsweringHead(layer_dims=[768, 2], task_name="question_answering")
    model = AdaptiveModel(LanguageModel.load(model_name), [head], embeds_dropout_prob=0.1,
                          lm_output_types=["per_token"]).eval()
    work, export_s = save_and_export(model, processor, "farm-onnx-qa-bench-")

    loaded = {name: QAInferencer.load(work / name, max_seq_len=args.max_seq_len,
                                      doc_stride=args.doc_stride, disable_tqdm=True)
              for name in ("torch", "onnx")}
    dataset = processor.dataset_from_dicts(requests, log_sample=False)[0]
    difference = 0.0
    collate = Collator(dataset.pad_values)
    with torch.inference_mode():
        for begin in range(0, len(dataset), 16):
            batch = collate([dataset[i] for i in range(begin, min(begin + 16, len(dataset)))])
            (ours,), (theirs,) = (inf.model(**batch) for inf in loaded.values())
            difference = max(difference, float((ours - theirs).abs().max()))
    results = {name: inf.inference_from_dicts(requests) for name, inf in loaded.items()}
    got = {name: answers(r) for name, r in results.items()}
    same_best = sum(a[0] == b[0] for a, b in zip(got["torch"], got["onnx"], strict=True))
    same_lists = sum(a == b for a, b in zip(got["torch"], got["onnx"], strict=True))
    contexts = [r["text"] for r in requests for _ in r["questions"]]
    slices = all(context[s:e] == text for answer_list, context in
                 zip(got["onnx"], contexts, strict=True) for text, s, e in answer_list)

    speed: dict[str, list[float]] = {"torch": [], "onnx": []}
    for _ in range(args.rounds):
        for name, inferencer in loaded.items():
            speed[name].append(per_second(
                lambda i=inferencer: i.inference_from_dicts(requests), n_questions))
    torch_qps, onnx_qps = statistics.median(speed["torch"]), statistics.median(speed["onnx"])
    emit({
        "benchmark": "onnx_qa", "model": "all-MiniLM-L6-v2 + QuestionAnsweringHead (random)",
        "data": "xquad.en.json", "questions": n_questions, "paragraphs": len(requests),
        "passages": len(dataset), "max_seq_len": args.max_seq_len,
        "doc_stride": args.doc_stride, "export_s": round(export_s, 1),
        "max_logit_difference": difference,
        "identical_best_answers": f"{same_best}/{n_questions}",
        "identical_n_best_lists": f"{same_lists}/{n_questions}",
        "answers_slice_context": slices,
        "pytorch_questions_per_s": round(torch_qps, 2),
        "onnxruntime_questions_per_s": round(onnx_qps, 2),
        "onnx_speedup": round(onnx_qps / torch_qps, 2), "rounds": args.rounds,
        "torch": torch.__version__,
    }, started)


if __name__ == "__main__":
    main()
