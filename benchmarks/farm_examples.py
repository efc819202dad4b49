"""Benchmark: every FARM-style example script (examples/farm_style/) end to end on
all-MiniLM-L6-v2, with the scripts' own sample data and a small budget.

It shows that FARM 0.8-style code runs unchanged apart from the model name and data paths
on a real model; the sample data sets are small and synthetic, so the scores say that the
scripts learn, not how good MiniLM is at these tasks (the task benchmarks measure that).
Prints one JSON line per script, then a summary line.

    python benchmarks/farm_examples.py                       # all scripts
    python benchmarks/farm_examples.py --only ner dpr --epochs 2
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench_utils import emit, minilm_path, quiet

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "farm_style"

# script, function, sample data folder, whether it takes n_epochs
SCRIPTS = [
    ("doc_classification", "doc_classification", "doc_class", True),
    ("doc_regression", "doc_regression", "doc_regr", True),
    ("text_pair_classification", "text_pair_classification", "text_pair", True),
    ("ner", "ner", "ner", True),
    ("mtl_doc_classification", "mtl_doc_classification", "doc_class", True),
    ("question_answering", "question_answering", "squad20", True),
    ("lm_finetuning", "lm_finetuning", "lm_finetune", True),
    ("embeddings_extraction", "embeddings_extraction", None, False),
    ("dpr", "dense_passage_retrieval", "dpr", True),
    ("conversion_huggingface_models", "conversion", None, False),
    ("onnx_question_answering", "onnx_question_answering", None, False),
]
# These two start from a Hugging Face QA model: the one question_answering.py trained.
NEEDS_QA_MODEL = {"conversion_huggingface_models", "onnx_question_answering"}


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"farm_style_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hugging_face_qa_model(farm_qa_dir: Path, output_dir: Path) -> Path:
    """The FARM QA model trained by question_answering.py as a Hugging Face folder."""
    from farm.modeling.adaptive_model import AdaptiveModel
    from farm.modeling.tokenization import Tokenizer

    model = AdaptiveModel.load(farm_qa_dir)
    model.convert_to_transformers()[0].save_pretrained(output_dir)
    Tokenizer.load(farm_qa_dir).save_pretrained(output_dir)
    return output_dir


def summary(result: Any) -> Any:
    """The script's result without reports and long prediction lists."""
    if isinstance(result, dict):
        return {k: summary(v) for k, v in result.items() if k not in ("report", "squad_eval")}
    if isinstance(result, list):
        return [summary(v) for v in result[:3]]
    return round(result, 4) if isinstance(result, float) else result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="default: all-MiniLM-L6-v2 (PyPI)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--only", nargs="*", default=None, help="script names to run")
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    quiet()
    started = time.perf_counter()
    model = args.model or minilm_path()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="farm-examples-"))
    data = load_script("sample_data").write_all(work / "data")
    chosen = [s for s in SCRIPTS if args.only is None or s[0] in args.only]
    if any(name in NEEDS_QA_MODEL for name, *_ in chosen) and not any(
            name == "question_answering" for name, *_ in chosen):
        chosen.insert(0, SCRIPTS[5])  # the QA model the conversion scripts start from
    passed = 0
    for name, function, folder, takes_epochs in chosen:
        lang_model = model
        if name in NEEDS_QA_MODEL:
            lang_model = str(hugging_face_qa_model(work / "question_answering",
                                                   work / "hf_question_answering"))
        budget = {"n_epochs": args.epochs} if takes_epochs else {}
        start = time.perf_counter()
        record: dict[str, Any] = {"benchmark": "farm_examples", "script": name}
        try:
            result = getattr(load_script(name), function)(
                lang_model=lang_model, data_dir=data / folder if folder else None,
                save_dir=work / name, **budget)
            record.update(ok=True, result=summary(result))
            passed += 1
        except Exception as error:  # report every script, then the summary
            record.update(ok=False, error=f"{type(error).__name__}: {error}")
        record["wall_s"] = round(time.perf_counter() - start, 1)
        print(json.dumps(record, default=str))
    emit({"benchmark": "farm_examples", "model": args.model or "all-MiniLM-L6-v2",
          "epochs": args.epochs,
          "scripts": len(chosen), "passed": passed}, started)


if __name__ == "__main__":
    main()
