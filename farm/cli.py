"""The ``farm`` command: train from a config, evaluate, predict, serve, export, convert.

Exit codes: 0 success; 1 unexpected error (with traceback); 2 wrong command line; 3 invalid
experiment config (every problem listed); 4 a model, data file or input FARM cannot use
(the message says which and why); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from farm import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFIG, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

EPILOG = ("Exit codes: 0 ok, 1 unexpected error, 2 bad command line, 3 invalid config, "
          "4 unusable model/data/input, 130 interrupted. See docs/cli.md.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="farm", description="FARM: fine-tune, evaluate, serve and convert transformer "
        "models.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"farm {__version__}")
    _verbosity_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser("train", help="train the runs of an experiment config",
                                description="Validate CONFIG (YAML or JSON) as a whole, "
                                "expand list values into a grid, and train each run.",
                                epilog=EPILOG)
    train.add_argument("config", type=Path, help="experiment config (.yaml, .yml, .json)")
    train.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="override a config value, e.g. "
                       "trainer.epochs=3 or optimizer.learning_rate=[1e-4,5e-5] (repeatable)")
    train.add_argument("--dry-run", action="store_true",
                       help="validate and list the runs without training")
    train.add_argument("--overwrite", action="store_true", help="replace the models of "
                       "earlier runs in the output folders (default: refuse)")

    evaluate = commands.add_parser("eval", help="evaluate a saved model on a labelled file",
                                   description="Metrics of each head of MODEL_DIR on "
                                   "DATA_FILE, read with the model's processor: the format "
                                   "it was trained on (TSV/CSV, CoNLL, a SQuAD JSON file "
                                   "for QA: EM, F1 and top-n accuracy, has-answer and "
                                   "no-answer parts; DPR JSON for retrieval).", epilog=EPILOG)
    evaluate.add_argument("model_dir", type=Path, help="FARM model, or Hugging Face folder "
                          "(with --task-type)")
    evaluate.add_argument("data_file", type=Path)
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--report", action="store_true", help="per-class reports: printed "
                          "as tables (the JSON, with the reports, goes to --output)")
    evaluate.add_argument("--output", type=Path, help="write the JSON here (default: stdout)")
    evaluate.add_argument("--task-type", default=None, help="for a Hugging Face folder: "
                          "text_classification, ner, question_answering, ... (see "
                          "docs/cli.md)")
    _column_options(evaluate, labels=True)

    predict = commands.add_parser("predict", help="predict for the inputs of a file",
                                  description="Predictions of MODEL_DIR for INPUT_FILE: .jsonl "
                                  "(one input dict per line), .json (a list of input dicts, or "
                                  '{"input": [...]}) or a file in the model\'s data format '
                                  "(TSV, CoNLL, a SQuAD JSON file). Input dicts: "
                                  '{"text": ...}; text pairs {"text", "text_b"}; QA '
                                  '{"questions": [...], "text": ...} or {"qas": [...], '
                                  '"context": ...} (one prediction per question); ranking '
                                  '{"query", "passages": [...]}. Prints one result per head '
                                  "with every prediction.", epilog=EPILOG)
    predict.add_argument("model_dir", help="FARM model, ONNX export, or Hugging Face folder "
                         "(with --task-type)")
    predict.add_argument("input_file", type=Path)
    predict.add_argument("--output", type=Path, help="write the JSON here (default: stdout)")
    _inference_options(predict)
    _column_options(predict, labels=False)

    serve = commands.add_parser("serve", help="serve models over HTTP with a demo page",
                                description="Load each MODEL_DIR once and answer REST "
                                "requests; the demo page is at http://HOST:PORT/.", epilog=EPILOG)
    serve.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: this machine "
                       "only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--batch-size", type=int, default=32)
    serve.add_argument("--max-body-bytes", type=int, default=1_000_000)
    serve.add_argument("--max-inputs", type=int, default=256, help="input dicts per request")
    serve.add_argument("--max-text-chars", type=int, default=20_000,
                       help="characters per text field")
    serve.add_argument("--max-passages", type=int, default=512, help="QA: passages read "
                       "per request, over every question (a long text is several)")
    serve.add_argument("--task-type", default=None, help="for Hugging Face folders among "
                       "the MODEL_DIRs: text_classification, ner, ... (see docs/cli.md); "
                       "embeddings: every MODEL_DIR's language-model vectors, as farm predict")
    serve.add_argument("--extraction-strategy", default=None,
                       help="embeddings: cls_token, reduce_mean, reduce_max, per_token, pooled")
    serve.add_argument("--max-seq-len", type=int, default=256, help="tokens per sample "
                       "(capped at what each model supports)")
    serve.add_argument("--doc-stride", type=int, default=128, help="QA: tokens from one "
                       "passage of a long text to the next")
    serve.add_argument("--workers", type=int, default=1, help="requests per model that run "
                       "at the same time (default 1)")
    serve.add_argument("--threads", type=int, default=None, help="torch threads per worker "
                       "(default 1; 0: torch's default, every core)")
    serve.add_argument("--max-queue", type=int, default=16, help="requests per model that "
                       "may wait for a worker; more are answered 503 (default 16)")
    serve.add_argument("--timeout", type=float, default=60.0, help="seconds a request may "
                       "wait and run before it is answered 504 (default 60)")
    serve.add_argument("--body-timeout", type=float, default=30.0, help="seconds a request "
                       "body may take to arrive before it is answered 408 (default 30)")
    serve.add_argument("--allowed-hosts", nargs="+", default=None, metavar="HOST",
                       help="host names to answer to besides localhost, 127.0.0.1 and "
                       "--host ('*': any); others are refused (DNS rebinding)")
    serve.add_argument("--no-snap-answers", action="store_true", help="QA: answers as the "
                       "model's token spans found them, not widened to whole words")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug"])

    export = commands.add_parser("export-onnx", help="export a model to ONNX",
                                 description="Write MODEL_DIR as an ONNX folder that "
                                 "Inferencer.load and farm serve run on ONNX Runtime.",
                                 epilog=EPILOG)
    export.add_argument("model_dir", help="FARM model, or Hugging Face folder with --task-type")
    export.add_argument("output_dir", type=Path)
    export.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the "
                        "exporter's)")
    export.add_argument("--no-verify", action="store_true",
                        help="skip the ONNX Runtime vs PyTorch check")
    _inference_options(export, batch=False)

    convert = commands.add_parser("convert", help="convert to or from Hugging Face format",
                                  description="--to transformers: a FARM model to one "
                                  "Hugging Face folder per head (save_pretrained); a DPR "
                                  "BiAdaptiveModel to query_encoder/ and passage_encoder/. "
                                  "--to farm: a Hugging Face folder (or a folder holding "
                                  "query_encoder/ and passage_encoder/) to a FARM model folder.",
                                  epilog=EPILOG)
    convert.add_argument("source", help="the model folder to convert")
    convert.add_argument("output_dir", type=Path)
    convert.add_argument("--to", required=True, choices=["transformers", "farm"])
    convert.add_argument("--task-type", default=None,
                         help="--to farm: text_classification, regression, ner, ... "
                         "(default: from the folder's config)")
    convert.add_argument("--no-verify", action="store_true",
                         help="skip the check that both models give the same outputs")
    for command in commands.choices.values():
        _verbosity_options(command, in_command=True)
    return parser


def _verbosity_options(parser: argparse.ArgumentParser, in_command: bool = False) -> None:
    """``-q``/``-v``, accepted before and after the command (given after it, they do not
    reset what was given before: their defaults are only the main parser's)."""
    quiet_default: Any = argparse.SUPPRESS if in_command else False
    verbose_default: Any = argparse.SUPPRESS if in_command else 0
    parser.add_argument("-q", "--quiet", action="store_true", default=quiet_default,
                        help="only warnings and errors (no progress bars)")
    parser.add_argument("-v", "--verbose", action="count", default=verbose_default,
                        help="the libraries' log lines and progress bars too (-vv: debug)")


def _column_options(parser: argparse.ArgumentParser, labels: bool) -> None:
    parser.add_argument("--text-column", default=None, metavar="COLUMN",
                        help="column (TSV/CSV) or key (JSON lines) of the texts (default: "
                        "the model's, e.g. text)")
    if labels:
        parser.add_argument("--label-column", action="append", default=None,
                            metavar="[TASK=]COLUMN", help="column of the labels (default: "
                            "the model's, e.g. label); TASK=COLUMN for each task of a "
                            "multitask model")


def _inference_options(parser: argparse.ArgumentParser, batch: bool = True) -> None:
    if batch:
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--return-class-probs", action="store_true",
                            help="every label's probability")
    parser.add_argument("--task-type", default=None, help="for Hugging Face folders: "
                        "text_classification, ner, question_answering, ..., or embeddings")
    parser.add_argument("--extraction-strategy", default=None,
                        help="embeddings: cls_token, reduce_mean, reduce_max, per_token, pooled")
    parser.add_argument("--max-seq-len", type=int, default=256)
    parser.add_argument("--doc-stride", type=int, default=128, help="QA: tokens from one "
                        "passage of a long text to the next")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``farm`` command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quiet and args.verbose:
        parser.error("-q and -v contradict each other: give one of them")
    from farm.cli_logging import cli_logging, verbosity_level

    with cli_logging(verbosity_level(args.quiet, args.verbose)):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from farm.cli_messages import flags_of, in_cli_words
    from farm.errors import FarmError
    from farm.experiment.config import ConfigError

    handler = COMMANDS[args.command]
    try:
        return handler(args)
    except ConfigError as error:
        print(f"farm {args.command}: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except (FarmError, FileNotFoundError, ValueError, OSError) as error:
        message = in_cli_words(str(error), flags_of(vars(args)))
        print(f"farm {args.command}: error: {message}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print(f"farm {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        print(f"farm {args.command}: unexpected error (see the traceback above)",
              file=sys.stderr)
        return EXIT_ERROR


def _write_json(data: Any, output: Path | None) -> None:
    text = json.dumps(data, indent=2, default=str)
    if output is None:
        print(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text + "\n")
        logging.getLogger("farm.cli").info("Wrote %s", output)


def cmd_train(args: argparse.Namespace) -> int:
    from farm.experiment.config import load_experiment
    from farm.experiment.runner import holds_model, output_dir, run_experiment

    experiment = load_experiment(args.config, args.overrides)
    if args.quiet:  # no progress bars, unless the config shows them explicitly
        for run in experiment.runs:
            if run.config["trainer"]["disable_tqdm"] is None:
                run.config["trainer"]["disable_tqdm"] = True
    if args.dry_run:
        _write_json([{"run": r.name, "grid": r.grid_values,
                      "output_dir": str(output_dir(experiment, r)),
                      "overwrites": holds_model(output_dir(experiment, r))}
                     for r in experiment.runs], None)
        return EXIT_OK
    for result in run_experiment(experiment, overwrite=args.overwrite):
        print(json.dumps(result.summary(), default=str))
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    import torch
    from torch.utils.data import DataLoader

    from farm.data_handler.dataset import Collator
    from farm.errors import FarmError
    from farm.eval import Evaluator

    if not args.data_file.is_file():
        raise FarmError(f"Data file {args.data_file} not found.")
    model, processor = _model_for_eval(args)
    set_columns(processor, args.text_column, args.label_column)
    dicts = processor.file_to_dicts(args.data_file.resolve())
    dataset = processor.dataset_from_dicts(dicts, log_sample=False)[0]
    loader = DataLoader(dataset, batch_size=args.batch_size,
                        collate_fn=Collator(dataset.pad_values))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    results = Evaluator(loader, processor.tasks, device, report=args.report).eval(model.to(device))
    if args.report:  # the tables to read; the JSON (reports included) only to a file
        if args.output is not None:
            _write_json(results, args.output)
        print(report_text(results))
    else:
        _write_json(results, args.output)
    return EXIT_OK


def _model_for_eval(args: argparse.Namespace) -> tuple[Any, Any]:
    """The model and processor of ``farm eval``: a saved FARM model (a dense retriever as
    a ``BiAdaptiveModel``), or with ``--task-type`` a Hugging Face folder."""
    from farm.errors import FarmError
    from farm.infer import load_saved_model
    from farm.model_folder import FARM_KINDS, FolderKind, inspect_folder

    kind = inspect_folder(args.model_dir).kind
    if args.task_type is not None and kind not in FARM_KINDS:
        from farm.conversion.hf_inference import load_hugging_face

        return load_hugging_face(args.model_dir, args.task_type)
    if kind in (FolderKind.ONNX_EXPORT, FolderKind.ONNX_BI_EXPORT):
        raise FarmError(f"{args.model_dir} is an ONNX export: farm eval evaluates the PyTorch "
                        "model it was exported from (farm predict and farm serve run the "
                        "export).")
    return load_saved_model(args.model_dir)


def set_columns(processor: Any, text_column: str | None,
                label_columns: list[str] | None) -> None:
    """Point the processor of a TSV/CSV model at other columns (``--text-column``,
    ``--label-column COLUMN`` or, for a multitask model, ``--label-column TASK=COLUMN``)."""
    from farm.data_handler.processors.delimited import DelimitedProcessor
    from farm.errors import FarmError, did_you_mean

    if text_column is None and not label_columns:
        return
    if not isinstance(processor, DelimitedProcessor):
        raise FarmError(f"--text-column and --label-column name columns of TSV/CSV files; "
                        f"this model's {type(processor).__name__} reads another format.")
    if text_column is not None:
        processor.text_column_name = text_column
        for task in processor.tasks.values():
            if task.get("text_column_name") is not None:
                task["text_column_name"] = text_column
    tasks = processor.tasks
    for item in label_columns or []:
        name, sep, column = item.partition("=")
        if sep and name in tasks:
            tasks[name]["label_column_name"] = column
        elif len(tasks) == 1:
            next(iter(tasks.values()))["label_column_name"] = item
        else:
            hint = did_you_mean(name, tasks) if sep else ""
            raise FarmError(f"--label-column {item}: the model has {len(tasks)} tasks "
                            f"({', '.join(tasks)}), each with its label column: give "
                            f"TASK=COLUMN, e.g. --label-column {next(iter(tasks), 'task')}="
                            f"{column if sep else item}.{hint}")


def report_text(results: list[dict[str, Any]]) -> str:
    """Each head's metrics on one line, and its per-class report as the table it is."""
    parts = []
    for result in results:
        metrics = ", ".join(f"{key} {_number(value)}" for key, value in result.items()
                            if key not in ("task_name", "report"))
        parts.append(f"{result.get('task_name', 'head')}: {metrics}")
        if result.get("report"):
            parts.append(str(result["report"]).rstrip("\n"))
    return "\n\n".join(parts)


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _load_inferencer(args: argparse.Namespace, **kwargs: Any) -> Any:
    from farm.infer import Inferencer

    return Inferencer.load(args.model_dir, task_type=args.task_type,
                           extraction_strategy=args.extraction_strategy,
                           max_seq_len=args.max_seq_len, doc_stride=args.doc_stride,
                           disable_tqdm=True, **kwargs)


def read_inputs(path: Path) -> list[dict[str, Any]] | None:
    """Input dicts of a ``.jsonl`` or ``.json`` file; ``None`` for other formats and for a
    SQuAD JSON file (``{"data": [...]}``), which the model's processor reads."""
    from farm.data_handler.input_files import read_input_file

    return read_input_file(path)


def cmd_predict(args: argparse.Namespace) -> int:
    from farm.errors import FarmError
    from farm.serve.app import merge_batches

    if not args.input_file.is_file():
        raise FarmError(f"Input file {args.input_file} not found.")
    inferencer = _load_inferencer(args, batch_size=args.batch_size,
                                  return_class_probs=args.return_class_probs)
    dicts = read_inputs(args.input_file)
    if dicts is None:
        set_columns(inferencer.processor, args.text_column, None)
    elif args.text_column is not None:
        dicts = texts_from_key(dicts, args.text_column, args.input_file)
    results = (inferencer.inference_from_dicts(dicts) if dicts is not None
               else inferencer.inference_from_file(args.input_file.resolve()))
    _write_json(merge_batches(results), args.output)
    return EXIT_OK


def texts_from_key(dicts: list[dict[str, Any]], key: str, path: Path
                   ) -> list[dict[str, Any]]:
    """Input dicts with their text under ``key`` (``--text-column``) moved to ``"text"``."""
    from farm.errors import DataFileError

    moved = []
    for number, item in enumerate(dicts, 1):
        if key not in item:
            raise DataFileError(f"input {number} has no key {key!r} (--text-column); its keys: "
                                f"{sorted(item)}", path)
        moved.append({**{k: v for k, v in item.items() if k not in (key, "text")},
                      "text": item[key]})
    return moved


def cmd_serve(args: argparse.Namespace) -> int:
    from farm.serve import DEFAULT_THREADS, ServerLimits, serve

    limits = ServerLimits(max_body_bytes=args.max_body_bytes, max_inputs=args.max_inputs,
                          max_text_chars=args.max_text_chars, max_passages=args.max_passages,
                          max_queue=args.max_queue, timeout=args.timeout,
                          body_timeout=args.body_timeout)
    serve(args.model_dirs, host=args.host, port=args.port, limits=limits,
          batch_size=args.batch_size, log_level=args.log_level, task_type=args.task_type,
          max_seq_len=args.max_seq_len, doc_stride=args.doc_stride,
          extraction_strategy=args.extraction_strategy, workers=args.workers,
          threads=DEFAULT_THREADS if args.threads is None else (args.threads or None),
          allowed_hosts=args.allowed_hosts, snap_answers=not args.no_snap_answers)
    return EXIT_OK


def cmd_export_onnx(args: argparse.Namespace) -> int:
    inferencer = _load_inferencer(args)
    path = inferencer.model.convert_to_onnx(args.output_dir, processor=inferencer.processor,
                                            opset_version=args.opset, verify=not args.no_verify)
    print(path)
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    from farm.conversion.transformers import save_transformers
    from farm.data_handler.processors import Processor
    from farm.infer import Inferencer
    from farm.modeling.adaptive_model import AdaptiveModel

    if _convert_dpr(args):
        return EXIT_OK
    if args.to == "transformers":
        model = AdaptiveModel.load(args.source)
        tokenizer = Processor.load_from_dir(args.source).tokenizer
        for folder in save_transformers(model, args.output_dir, tokenizer=tokenizer,
                                        verify=not args.no_verify):
            print(folder)
        return EXIT_OK
    from farm.conversion.hf_inference import load_hugging_face

    if args.task_type is None:
        from farm.conversion.hf_heads import converter_for
        from farm.modeling.hf_loading import load_config

        config = load_config(args.source)
        args.task_type = converter_for(None, config)[0]
    model, processor = load_hugging_face(args.source, args.task_type)
    Inferencer(model, processor).save(args.output_dir)
    print(args.output_dir)
    return EXIT_OK


def _convert_dpr(args: argparse.Namespace) -> bool:
    """``farm convert`` for dense retrievers; ``False`` if the source is no DPR model."""
    from farm.data_handler.processors import Processor, TextSimilarityProcessor
    from farm.model_folder import FolderKind, inspect_folder
    from farm.modeling.biadaptive_model import BiAdaptiveModel
    from farm.modeling.tokenization import Tokenizer

    source = Path(args.source)
    if args.to == "transformers":
        if inspect_folder(source).kind is not FolderKind.BI_ADAPTIVE_MODEL:
            return False
        processor = Processor.load_from_dir(source)
        for folder in BiAdaptiveModel.load(source).save_transformers(
                args.output_dir, getattr(processor, "query_tokenizer", processor.tokenizer),
                getattr(processor, "passage_tokenizer", None), verify=not args.no_verify):
            print(folder)
        return True
    query_dir, passage_dir = source / "query_encoder", source / "passage_encoder"
    if not query_dir.is_dir():
        return False
    model = BiAdaptiveModel.convert_from_transformers(
        query_dir, passage_dir if passage_dir.is_dir() else None)
    query_tokenizer = Tokenizer.load(query_dir)
    passage_tokenizer = Tokenizer.load(passage_dir) if passage_dir.is_dir() else query_tokenizer
    processor = TextSimilarityProcessor(
        query_tokenizer=query_tokenizer, passage_tokenizer=passage_tokenizer,
        max_seq_len_query=64, max_seq_len_passage=256, data_dir=None, train_filename=None,
        test_filename=None, dev_split=0.0)
    model.save(args.output_dir)
    processor.save(args.output_dir)
    print(args.output_dir)
    return True


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict, "serve": cmd_serve,
            "export-onnx": cmd_export_onnx, "convert": cmd_convert}
