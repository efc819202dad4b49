"""Benchmarks: extractive question answering with all-MiniLM-L6-v2, one JSON line each.

``--task shifts``  train on a seeded subsample of SQuADShifts ``new_wiki`` (Wikipedia
    questions written like SQuAD's), test EM/F1 on all of XQuAD-en (1,190 questions).
``--task squad2``  SQuAD 2.0 with unanswerable questions: ``squad2_dev_half`` split by
    article (seeded); train on the training articles (two of them held out as dev, where
    ``no_ans_boost`` is chosen), EM/F1 overall, has-answer and no-answer on the held-out
    test articles, with the default and with the dev-chosen ``no_ans_boost``.
``--task covid``  the long papers of ``covid_qa`` (``offsetfixed`` copy): preprocessing and
    inference time per document for seeded random documents (their first questions), EM/F1
    on them, and the answer-offset repairs the processor makes on the raw file.

Data from ``--data-dir`` (default ``../shared/data``). Examples:

    python benchmarks/question_answering.py --task shifts
    python benchmarks/question_answering.py --task squad2 --init-model benchmarks/results/qa_shifts
    python benchmarks/question_answering.py --task covid --model-dir benchmarks/results/qa_shifts
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_utils import SHARED_DATA, emit, minilm_path

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import SquadProcessor
from farm.eval import Evaluator
from farm.evaluation.squad_metrics import squad
from farm.infer import Inferencer, QAInferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import QuestionAnsweringHead
from farm.modeling.tokenization import Tokenizer
from farm.train import Trainer
from farm.utils import set_all_seeds

RESULTS = Path("benchmarks/results")


def subsample_questions(source: Path, target: Path, n: int | None, seed: int,
                        exclude: set[str] | None = None) -> set[str]:
    """Write a SQuAD file with ``n`` random questions of ``source`` (paragraphs keep only
    the chosen ones); returns the chosen ids."""
    data = json.loads(source.read_text(encoding="utf-8"))
    ids = [q["id"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]
           if q["id"] not in (exclude or set())]
    chosen = set(random.Random(seed).sample(ids, n) if n and n < len(ids) else ids)
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            paragraph["qas"] = [q for q in paragraph["qas"] if q["id"] in chosen]
        article["paragraphs"] = [p for p in article["paragraphs"] if p["qas"]]
    data["data"] = [a for a in data["data"] if a["paragraphs"]]
    target.write_text(json.dumps(data), encoding="utf-8")
    return chosen


def split_articles(source: Path, folder: Path, seed: int, n_test: int, n_dev: int
                   ) -> dict[str, list[str]]:
    """Write ``train.json``, ``dev.json`` and ``test.json`` of whole articles."""
    data = json.loads(source.read_text(encoding="utf-8"))
    titles = [a["title"] for a in data["data"]]
    random.Random(seed).shuffle(titles)
    parts = {"test": titles[:n_test], "dev": titles[n_test : n_test + n_dev],
             "train": titles[n_test + n_dev :]}
    for name, chosen in parts.items():
        articles = [a for a in data["data"] if a["title"] in chosen]
        (folder / f"{name}.json").write_text(json.dumps({"version": data.get("version"),
                                                         "data": articles}))
    return parts


def processor_for(tokenizer: Any, data_dir: Path, args: argparse.Namespace, **files: Any
                  ) -> SquadProcessor:
    return SquadProcessor(
        tokenizer=tokenizer, max_seq_len=args.max_seq_len, data_dir=data_dir,
        label_list=["start_token", "end_token"], metric="squad", doc_stride=args.doc_stride,
        max_query_length=args.max_query_length, max_answers=1, **files,
    )


def train(model_name: str, data_silo: DataSilo, args: argparse.Namespace) -> AdaptiveModel:
    """Fine-tune a span head (no dev evaluations: nothing is tuned on the reported split);
    ``model_name`` may be a saved FARM QA model to train on."""
    if (Path(model_name) / "farm_model.json").is_file():
        model = AdaptiveModel.load(model_name)
    else:
        head = QuestionAnsweringHead(layer_dims=[768, 2], task_name="question_answering")
        model = AdaptiveModel(LanguageModel.load(model_name), [head], embeds_dropout_prob=0.1,
                              lm_output_types=["per_token"], device="cpu")
    model, optimizer, schedule = initialize_optimizer(
        model=model, device="cpu", learning_rate=args.learning_rate,
        n_batches=len(data_silo.loaders["train"]), n_epochs=args.epochs,
    )
    trainer = Trainer(model=model, optimizer=optimizer, lr_schedule=schedule,
                      data_silo=data_silo, epochs=args.epochs, n_gpu=0, device="cpu",
                      evaluate_every=0, disable_tqdm=True, evaluator_test=False)
    return trainer.train()  # type: ignore[return-value]


def evaluate(model: AdaptiveModel, data_silo: DataSilo, split: str) -> dict[str, Any]:
    loader = data_silo.get_data_loader(split)
    assert loader is not None
    result = Evaluator(loader, data_silo.processor.tasks, "cpu").eval(
        model, return_preds_and_labels=True)[0]
    return result


def scores(result: dict[str, Any]) -> dict[str, Any]:
    keys = ["EM", "f1", "top_n_accuracy", "HasAns_EM", "HasAns_f1", "NoAns_EM", "NoAns_f1"]
    out = {k: round(float(result[k]), 4) for k in keys if k in result}
    out.update(questions=int(result["total"]), has_answer=int(result["HasAns_total"]),
               no_answer=int(result["NoAns_total"]))
    return out


def run_shifts(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    model_name = args.model or minilm_path()
    work = Path(tempfile.mkdtemp(prefix="farm-qa-bench-"))
    source = args.data_dir / "squadshifts" / "new_wiki_v1.0.json"
    chosen = subsample_questions(source, work / "train.json", args.train_questions, args.seed)
    dev_file = None
    if args.dev_questions:  # other new_wiki questions, to compare settings without XQuAD
        subsample_questions(source, work / "dev.json", args.dev_questions, args.seed + 1,
                            exclude=chosen)
        dev_file = "dev.json"
    processor = processor_for(Tokenizer.load(model_name), work, args,
                              train_filename="train.json", dev_filename=dev_file,
                              test_filename=args.data_dir / "xquad" / "xquad.en.json")
    data_silo = DataSilo(processor=processor, batch_size=args.batch_size, eval_batch_size=32,
                         seed=args.seed)
    preprocess_s = time.perf_counter() - started
    start = time.perf_counter()
    model = train(model_name, data_silo, args)
    train_s = time.perf_counter() - start
    dev = scores(evaluate(model, data_silo, "dev")) if dev_file else None
    start = time.perf_counter()
    test = evaluate(model, data_silo, "test")
    test_s = time.perf_counter() - start
    model.save(args.save_dir)
    processor.save(args.save_dir)
    emit({
        "benchmark": "qa_squadshifts_new_wiki_to_xquad_en", "model": args.model or
        "all-MiniLM-L6-v2", "train_questions": len(chosen), "train_passages":
        data_silo.counts["train"], "test_passages": data_silo.counts["test"],
        "epochs": args.epochs, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "max_seq_len": args.max_seq_len,
        "doc_stride": args.doc_stride, "dev_new_wiki_held_out": dev,
        "test_xquad_en": scores(test),
        "train_samples_per_s": round(data_silo.counts["train"] * args.epochs / train_s, 2),
        "train_s": round(train_s, 1), "test_eval_s": round(test_s, 1),
        "preprocess_s": round(preprocess_s, 1), "saved": str(args.save_dir),
    }, started)


def answers_at(predictions: list[dict[str, Any]], boost: float) -> list[str]:
    """Each question's answer had ``no_ans_boost`` been ``boost``: its best span when its
    ``no_ans_gap`` (computed at boost 0) is above ``boost``, else "no answer" (a tie goes to
    "no answer", as in the head)."""
    out = []
    for p in predictions:
        span = next((a["answer"] for a in p["answers"] if a["answer"]), "")
        gap = p["no_ans_gap"]
        out.append(span if gap is not None and gap > boost else "")
    return out


def squad_of(predictions: list[dict[str, Any]], boost: float) -> dict[str, Any]:
    """The squad metric of inference results at ``no_ans_boost`` ``boost``."""
    golds = [[a["text"] for a in p["ground_truth"]] for p in predictions]
    result = scores(squad(answers_at(predictions, boost), golds))
    del result["top_n_accuracy"]  # one answer per question here: it would equal EM
    return result


def best_boost(predictions: list[dict[str, Any]]) -> tuple[float, float]:
    """The ``no_ans_boost`` (among quantiles of the gaps, and 0) with the best F1."""
    gaps = [p["no_ans_gap"] for p in predictions if p["no_ans_gap"] is not None]
    candidates = sorted({0.0, *np.quantile(gaps, np.linspace(0, 1, 41)).round(3).tolist()})
    results = [(float(b), squad_of(predictions, b)["f1"]) for b in candidates]
    return max(results, key=lambda item: (item[1], -abs(item[0])))


def run_squad2(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    model_name = args.init_model or args.model or minilm_path()
    work = Path(tempfile.mkdtemp(prefix="farm-qa-bench-"))
    parts = split_articles(args.data_dir / "squad2_dev_half" / "dev-v2.0-half.noXQuAD.json",
                           work, args.seed, n_test=args.test_articles, n_dev=args.dev_articles)
    # CPU time: seeded subsamples of the training and dev articles' questions
    n_train = len(subsample_questions(work / "train.json", work / "train.json",
                                      args.train_questions, args.seed))
    n_dev = len(subsample_questions(work / "dev.json", work / "dev.json", args.dev_questions,
                                    args.seed))
    processor = processor_for(Tokenizer.load(model_name), work, args,
                              train_filename="train.json", dev_filename="dev.json",
                              test_filename="test.json")
    data_silo = DataSilo(processor=processor, batch_size=args.batch_size, eval_batch_size=32,
                         seed=args.seed)
    start = time.perf_counter()
    model = train(model_name, data_silo, args)
    train_s = time.perf_counter() - start
    # One inference pass per split; the squad metric of its answers at any no_ans_boost
    # (tests/test_qa_pipeline.py checks that this equals the evaluator's).
    inferencer = Inferencer(model, processor, batch_size=32, disable_tqdm=True)
    dev = [r["predictions"][0] for r in inferencer.inference_from_file("dev.json")]
    boost, dev_f1 = best_boost(dev)
    start = time.perf_counter()
    test = [r["predictions"][0] for r in inferencer.inference_from_file("test.json")]
    test_s = time.perf_counter() - start
    emit({
        "benchmark": "qa_squad2_dev_half_by_article", "init": args.init_model or "MiniLM",
        "articles": {k: sorted(v) for k, v in parts.items()}, "train_questions": n_train,
        "dev_questions": n_dev, "train_passages": data_silo.counts["train"],
        "epochs": args.epochs,
        "learning_rate": args.learning_rate, "batch_size": args.batch_size,
        "dev_f1_at_boost_0": squad_of(dev, 0.0)["f1"], "no_ans_boost_chosen_on_dev": boost,
        "dev_f1_at_chosen_boost": round(dev_f1, 4),
        "test_no_ans_boost_0": squad_of(test, 0.0),
        "test_no_ans_boost_from_dev": squad_of(test, boost),
        "test_always_answering": squad_of(test, -math.inf),
        "train_s": round(train_s, 1), "test_inference_s": round(test_s, 1),
    }, started)


def run_covid(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    raw = args.data_dir / "covid_qa" / "200423_covidQA.json"
    fixed = args.data_dir / "covid_qa" / "200423_covidQA.offsetfixed.json"
    if args.model_dir:
        inferencer = QAInferencer.load(args.model_dir, task_type="question_answering",
                                       batch_size=args.infer_batch_size,
                                       max_seq_len=args.max_seq_len, doc_stride=args.doc_stride,
                                       disable_tqdm=True)
    else:
        inferencer = QAInferencer.load(args.model or minilm_path(),
                                       task_type="question_answering",
                                       batch_size=args.infer_batch_size,
                                       max_seq_len=args.max_seq_len, doc_stride=args.doc_stride,
                                       disable_tqdm=True)
    processor = inferencer.processor
    assert isinstance(processor, SquadProcessor)
    processor.train_filename = raw  # a labelled file: answers are checked and repaired
    processor.file_to_dicts(raw)
    repairs = processor.answer_repairs[str(raw)]
    documents = processor.file_to_dicts(fixed)
    if args.covid_docs and args.covid_docs < len(documents):
        documents = random.Random(args.seed).sample(documents, args.covid_docs)
    for document in documents:
        if args.covid_questions:
            document["qas"] = document["qas"][: args.covid_questions]
    rows, preds, golds = [], [], []
    for document in documents:
        start = time.perf_counter()
        dataset, *_ = processor.dataset_from_dicts([document], log_sample=False)
        preprocess = time.perf_counter() - start
        start = time.perf_counter()
        result = inferencer.inference_from_dicts([document])
        total = time.perf_counter() - start
        rows.append({"chars": len(document["context"]), "questions": len(document["qas"]),
                     "passages": len(dataset), "preprocess_s": preprocess,
                     "inference_s": max(total - preprocess, 0.0),
                     "inference_s_per_question": max(total - preprocess, 0.0)
                     / max(len(document["qas"]), 1)})
        for item, question in zip(result, document["qas"], strict=True):
            preds.append([a["answer"] for a in item["predictions"][0]["answers"]])
            golds.append([a["text"] for a in question["answers"]])
    quality = squad(preds, golds)

    def stat(key: str) -> dict[str, float]:
        values = [r[key] for r in rows]
        return {"mean": round(statistics.mean(values), 3),
                "median": round(statistics.median(values), 3), "max": round(max(values), 3)}

    emit({
        "benchmark": "qa_covid_long_documents", "model": str(args.model_dir or "MiniLM "
                                                              "(untrained head)"),
        "documents": len(rows), "questions": len(preds),
        "questions_per_document_cap": args.covid_questions or "all",
        "max_seq_len": args.max_seq_len,
        "doc_stride": args.doc_stride, "raw_file_answer_repairs": {
            "fixed": repairs.fixed, "unlocated": repairs.unlocated},
        "chars_per_document": stat("chars"), "passages_per_document": stat("passages"),
        "preprocess_s_per_document": stat("preprocess_s"),
        "inference_s_per_document": stat("inference_s"),
        "inference_s_per_question": stat("inference_s_per_question"),
        "inference_passages_per_s": round(sum(r["passages"] for r in rows)
                                          / sum(r["inference_s"] for r in rows), 1),
        "EM": round(quality["EM"], 4), "f1": round(quality["f1"], 4),
    }, started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["shifts", "squad2", "covid"], required=True)
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA)
    parser.add_argument("--model", default=None, help="default: all-MiniLM-L6-v2 (PyPI)")
    parser.add_argument("--train-questions", type=int, default=800,
                        help="seeded random training questions (shifts: of new_wiki's 7,938; "
                        "squad2: of the training articles'); 0: all")
    parser.add_argument("--dev-questions", type=int, default=300,
                        help="seeded random dev questions (shifts: other new_wiki questions, "
                        "0: no dev set; squad2: of the dev articles, 0: all)")
    parser.add_argument("--init-model", default=None,
                        help="squad2: start from this saved FARM QA model")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="covid: the saved QA model to time (default: MiniLM, untrained)")
    parser.add_argument("--test-articles", type=int, default=4)
    parser.add_argument("--dev-articles", type=int, default=2)
    parser.add_argument("--covid-docs", type=int, default=5,
                        help="covid: N seeded random documents (0: all 98)")
    parser.add_argument("--covid-questions", type=int, default=3,
                        help="covid: first N questions per document (0: all)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=4,
                        help="4 gave a better held-out new_wiki dev F1 than 8 (more steps)")
    parser.add_argument("--infer-batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-seq-len", type=int, default=384)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--max-query-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save-dir", type=Path, default=RESULTS / "qa_shifts")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not (args.data_dir / "squadshifts").is_dir():
        parser.error(f"{args.data_dir} has no squadshifts/; pass --data-dir (the shared data)")
    if args.threads:
        torch.set_num_threads(args.threads)
    set_all_seeds(args.seed)
    {"shifts": run_shifts, "squad2": run_squad2, "covid": run_covid}[args.task](args)


if __name__ == "__main__":
    main()
