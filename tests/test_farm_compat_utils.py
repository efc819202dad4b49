"""FARM 0.8's general utilities: farm.compat, tokenization helpers, farm.utils,
farm.file_utils, farm.experiment (FARM's JSON configs), farm.visual, removed features."""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from farm.compat import (
    FeatureRemovedError,
    forget_warnings,
    removed_class,
    removed_function,
    warn_once,
)
from farm.errors import FarmError
from farm.file_utils import (
    download_from_s3,
    fetch_archive_from_http,
    get_file_extension,
    read_config,
    unnestConfig,
)
from farm.modeling.tokenization import (
    EmbeddingTokenizer,
    Tokenizer,
    insert_at_special_tokens_pos,
    tokenize_batch_question_answering,
    tokenize_with_metadata,
    truncate_sequences,
)
from farm.utils import (
    BaseMLLogger,
    Benchmarker,
    GracefulKiller,
    all_gather_list,
    all_reduce,
    calc_chunksize,
    convert_iob_to_simple_tags,
    flatten_list,
    get_dict_checksum,
    reformat_msmarco_train,
    stack,
    to_numpy,
    try_get,
    write_msmarco_results,
)
from tests.farm_helpers import LABELS, separable_rows, write_tsv

UTIL_NAMES = [
    ("farm.utils", ["set_all_seeds", "initialize_device_settings", "calc_chunksize",
                    "BaseMLLogger", "MLFlowLogger", "StdoutLogger", "TensorBoardLogger",
                    "GracefulKiller", "convert_iob_to_simple_tags", "flatten_list",
                    "get_dict_checksum", "reformat_msmarco_train", "reformat_msmarco_dev",
                    "write_msmarco_results", "Benchmarker", "all_reduce", "all_gather_list",
                    "try_get", "stack", "to_numpy", "log_ascii_workers", "format_log"]),
    ("farm.file_utils", ["fetch_archive_from_http", "download_from_s3", "http_get", "s3_get",
                         "load_from_cache", "read_config", "unnestConfig", "get_file_extension",
                         "FARM_CACHE"]),
    ("farm.experiment", ["load_experiments", "run_experiment", "get_adaptive_model",
                         "initialize_optimizer"]),
    ("farm.modeling.tokenization", ["Tokenizer", "EmbeddingTokenizer", "tokenize_with_metadata",
                                    "truncate_sequences", "insert_at_special_tokens_pos",
                                    "tokenize_batch_question_answering"]),
    ("farm.modeling.wordembedding_utils", ["Fasttext_converter", "convert_WordEmbeddings",
                                           "fit_s3e_on_corpus", "s3e_pooling"]),
    ("farm.visual.ascii.images", ["TRACTOR_SMALL", "GROWING_TREE", "WELCOME_BARN", "BUSH_SEP",
                                  "WORKER_M", "WORKER_F", "WORKER_X", "FENCE_SEP"]),
    ("farm.visual.ascii.text", ["FARM_BLUE", "FARM_BANNER"]),
]


@pytest.mark.parametrize("module, names", UTIL_NAMES)
def test_farm_names_import_from_farms_paths(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    for name in names:
        assert getattr(imported, name) is not None


# ---- farm.compat ---------------------------------------------------------------------------

def test_warn_once_warns_once_per_name(caplog: pytest.LogCaptureFixture) -> None:
    forget_warnings()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            warn_once("Thing(option=...)", "it does nothing here")
        warn_once("Other(x=...)", "neither does this")
    assert caplog.text.count("Thing(option=...) is accepted for FARM compatibility but has no "
                             "effect: it does nothing here") == 1
    assert caplog.text.count("Other(x=...)") == 1
    forget_warnings()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        warn_once("Thing(option=...)", "it does nothing here")
    assert "Thing(option=...)" in caplog.text


def test_removed_names_raise_a_farm_error_naming_the_replacement() -> None:
    gone = removed_function("farm.x.gone", "it needed S3", "use a local folder")
    assert gone.__name__ == "gone"
    with pytest.raises(FeatureRemovedError,
                       match=r"farm.x.gone is not available.*it needed S3\. Instead: use a"):
        gone(1, key=2)
    cls = removed_class("OldModel", "word embeddings are gone", "a transformer")
    with pytest.raises(FarmError, match="OldModel is not available"):
        cls()
    with pytest.raises(FeatureRemovedError, match="Instead: a transformer"):
        cls.load("path")
    assert issubclass(FeatureRemovedError, FarmError)
    with pytest.raises(FeatureRemovedError, match="fasttext"):
        EmbeddingTokenizer(vocab_file="vocab.txt")
    from farm.modeling.wordembedding_utils import Fasttext_converter, fit_s3e_on_corpus

    with pytest.raises(FeatureRemovedError, match="embeddings"):
        fit_s3e_on_corpus(None, None, "corpus.txt")
    with pytest.raises(FeatureRemovedError):
        Fasttext_converter("model", True, "data", "train.tsv", "out").convert_on_data()
    with pytest.raises(FeatureRemovedError, match="Hugging Face's cache"):
        download_from_s3("s3://bucket/model")


@pytest.fixture()
def archive_server(tmp_path: Path) -> Any:
    """A loopback HTTP server over a folder of archives: a good .tar.gz, a good .zip and a
    .zip whose member climbs out of the output folder."""
    import functools
    import http.server
    import io
    import tarfile
    import threading
    import zipfile

    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "data.tar.gz", "w:gz") as tarred:
        payload = b"text\tlabel\ngood\tpositive\n"
        info = tarfile.TarInfo("corpus/train.tsv")
        info.size = len(payload)
        tarred.addfile(info, io.BytesIO(payload))
    with zipfile.ZipFile(served / "data.zip", "w") as zipped:
        zipped.writestr("corpus/test.tsv", "text\tlabel\n")
    with zipfile.ZipFile(served / "evil.zip", "w") as zipped:
        zipped.writestr("../escaped.txt", "no")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_archive_from_http_unpacks_once_and_refuses_unsafe_members(
        archive_server: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert fetch_archive_from_http(f"{archive_server}/data.tar.gz", out) is True
    assert (out / "corpus" / "train.tsv").read_text() == "text\tlabel\ngood\tpositive\n"
    # FARM's behaviour: a folder that already holds files is not fetched again.
    assert fetch_archive_from_http(f"{archive_server}/data.zip", out) is False
    assert not (out / "corpus" / "test.tsv").exists()
    assert fetch_archive_from_http(f"{archive_server}/data.zip", tmp_path / "z") is True
    assert (tmp_path / "z" / "corpus" / "test.tsv").is_file()
    with pytest.raises(FarmError, match="outside"):
        fetch_archive_from_http(f"{archive_server}/evil.zip", tmp_path / "evil")
    assert not (tmp_path / "escaped.txt").exists()
    with pytest.raises(FarmError, match="Could not download"):
        fetch_archive_from_http(f"{archive_server}/missing.zip", tmp_path / "missing")
    with pytest.raises(FarmError, match="archives"):
        fetch_archive_from_http(f"{archive_server}/notes.txt", tmp_path / "txt")


# ---- tokenization helpers ----------------------------------------------------------------

@pytest.fixture()
def tokenizer(tiny_bert_dir: Path) -> Any:
    return Tokenizer.load(tiny_bert_dir)


def test_tokenize_with_metadata(tokenizer: Any) -> None:
    text = "Good movie,  goodness"
    tokenized = tokenize_with_metadata(text, tokenizer)
    tokens, offsets = tokenized["tokens"], tokenized["offsets"]
    assert tokens == tokenizer.tokenize(text)
    for token, offset in zip(tokens, offsets, strict=True):
        assert text[offset:].lower().startswith(token.removeprefix("##"))
    words = [text[o:] for o, start in zip(offsets, tokenized["start_of_word"], strict=True)
             if start]  # words are delimited by white space, as in FARM
    assert [w.split()[0] for w in words] == ["Good", "movie,", "goodness"]


def test_truncate_sequences(tokenizer: Any) -> None:
    a, b = list(range(10)), list(range(100, 104))
    # a pair of BERT takes three special tokens: 10 + 4 + 3 = 17 > 12 -> cut 5 from the longer
    cut_a, cut_b, overflow = truncate_sequences(a, b, tokenizer, max_seq_len=12)
    assert (cut_a, cut_b, overflow) == (list(range(5)), b, [5, 6, 7, 8, 9])
    cut_a, cut_b, overflow = truncate_sequences(a, b, tokenizer, 8, stride=2)
    assert len(cut_a) + len(cut_b) == 5 and len(cut_a) - len(cut_b) in (-1, 0, 1)
    assert overflow == a[len(cut_a) - 2 :]  # the cut part, after 2 kept elements
    assert truncate_sequences(a, b, tokenizer, 15, "only_second") == (a, [100, 101], [102, 103])
    assert truncate_sequences(a, None, tokenizer, 20) == (a, None, [])
    assert truncate_sequences(a, None, tokenizer, 10, with_special_tokens=False) == (a, None, [])
    with pytest.raises(ValueError, match="do_not_truncate"):
        truncate_sequences(a, b, tokenizer, 12, "do_not_truncate")
    with pytest.raises(ValueError, match="only_second.*too short"):
        truncate_sequences(a, b, tokenizer, 8, "only_second")


def test_insert_at_special_tokens_pos(tokenizer: Any) -> None:
    encoded = tokenizer("good movie", return_special_tokens_mask=True)
    mask = encoded["special_tokens_mask"]
    labels = insert_at_special_tokens_pos(["B", "I"], mask, "X")
    assert labels == ["X", "B", "I", "X"] and len(labels) == len(encoded["input_ids"])
    with pytest.raises(ValueError, match="must match"):
        insert_at_special_tokens_pos(["B"], mask, "X")


def test_tokenize_batch_question_answering(tokenizer: Any) -> None:
    docs = [{"context": "Paris is in France.", "qas": [
        {"question": "Where is Paris?", "id": "q1", "answers": [{"text": "France",
                                                                 "answer_start": 12}]},
        {"question": "What is Paris?", "id": "q2", "answers": []}]}]
    baskets = tokenize_batch_question_answering(docs, tokenizer, indices=[5])
    assert [(b.id_internal, b.id_external) for b in baskets] == [("5-0", "q1"), ("5-1", "q2")]
    raw = baskets[0].raw
    assert raw["document_tokens"] == tokenizer("Paris is in France.",
                                               add_special_tokens=False)["input_ids"]
    starts = [int(o) for o in raw["document_offsets"]]
    assert [raw["document_text"][s:].split()[0] for s, w in
            zip(starts, raw["document_start_of_word"], strict=True) if w][:3] == [
        "Paris", "is", "in"]
    assert raw["question_text"] == "Where is Paris?" and raw["answers"][0]["text"] == "France"
    with pytest.raises(ValueError, match="indices"):
        tokenize_batch_question_answering(docs, tokenizer, indices=[])


def test_tokenizer_load_takes_farms_arguments(tiny_bert_dir: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    forget_warnings()
    with caplog.at_level(logging.WARNING):
        loaded = Tokenizer.load(tiny_bert_dir, tokenizer_class="BertTokenizer", use_fast=False)
        Tokenizer.load(tiny_bert_dir, tokenizer_class="BertTokenizer", use_fast=False)
    assert loaded.is_fast
    assert caplog.text.count("Tokenizer.load(tokenizer_class=...)") == 1
    assert caplog.text.count("Tokenizer.load(use_fast=False)") == 1


# ---- farm.utils ------------------------------------------------------------------------

def test_calc_chunksize_never_leaves_a_single_input_alone() -> None:
    for n in (1, 2, 5, 9, 101, 4001, 100_000):
        chunksize, n_processes = calc_chunksize(n, max_processes=4)
        assert 4 <= chunksize <= 2000 and 1 <= n_processes <= 4
        assert n == 1 or n % chunksize != 1
    assert calc_chunksize(100_000, max_chunksize=50)[0] == 50


def test_convert_iob_to_simple_tags() -> None:
    preds = ["O", "B-PER", "I-PER", "I-LOC", "B-LOC", "O", "I-ORG"]
    spans = [(0, 2), (3, 8), (9, 12), (13, 15), (16, 20), (21, 22), (23, 26)]
    assert convert_iob_to_simple_tags(preds, spans) == (["PER", "LOC"], [(3, 12), (16, 20)])


def test_small_helpers() -> None:
    assert list(flatten_list([1, [2, [3, [[4]]]], [], 5])) == [1, 2, 3, 4, 5]
    assert get_dict_checksum({"a": 1, "b": [2]}) == get_dict_checksum({"b": [2], "a": 1})
    assert get_dict_checksum({"a": 1}) != get_dict_checksum({"a": 2})
    assert try_get(["x", "answer", "text"], {"answer": ["Paris", "Rome"]}) == "Paris"
    assert try_get(["x"], {"y": 1}) is None
    assert stack([[[1], [2]], [[3], [4, 5]]]) == [[1, 3], [2, 4, 5]]
    assert to_numpy(torch.tensor([1.5])).tolist() == [1.5] and to_numpy([1]) == [1]
    tensor = torch.tensor([2.0])
    all_reduce(tensor)  # a single process: unchanged
    assert tensor.item() == 2.0 and all_gather_list({"loss": 1}) == [{"loss": 1}]
    timer = Benchmarker()
    timer.record("dataset_single_proc")
    timer.record("formatted_preds")
    preprocessing, model = timer.summary()
    assert preprocessing >= 0 and model >= 0


def test_graceful_killer_flags_sigterm() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    try:
        killer = GracefulKiller()
        assert not killer.kill_now
        os.kill(os.getpid(), signal.SIGTERM)
        assert killer.kill_now
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_base_ml_logger_is_a_tracker_with_a_tracking_uri() -> None:
    class Recorder(BaseMLLogger):
        def __init__(self, tracking_uri: str):
            super().__init__(tracking_uri)
            self.metrics: list[dict[str, float]] = []

        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            self.metrics.append(metrics)

    recorder = Recorder("file:./logs")
    recorder.log_metrics({"loss": 0.5}, step=1)
    assert recorder.tracking_uri == "file:./logs" and recorder.metrics == [{"loss": 0.5}]


def test_msmarco_helpers(tmp_path: Path) -> None:
    (tmp_path / "triples.tsv").write_text("what is x\tx is y\tz is w\n")
    reformat_msmarco_train(tmp_path / "triples.tsv", tmp_path / "train.tsv")
    assert (tmp_path / "train.tsv").read_text() == (
        "text\ttext_b\tlabel\nwhat is x\tx is y\t1\nwhat is x\tz is w\t0\n")
    results = [{"predictions": [{"label": "1", "probability": 0.75},
                                {"label": "0", "probability": 0.75}]}]
    write_msmarco_results(results, tmp_path / "scores.txt")
    assert [float(x) for x in (tmp_path / "scores.txt").read_text().split()] == [0.75, 0.25]


# ---- farm.file_utils and farm.experiment (FARM's JSON configs) -----------------------------

def entry(value: Any, default: Any = None) -> dict[str, Any]:
    return {"value": value, "default": default, "desc": ""}


def farm_config(model_dir: Path, data_dir: Path, output_dir: Path) -> dict[str, Any]:
    """A FARM 0.8 experiment config (as in FARM's experiments/ folder) on tiny data."""
    return {
        "general": {"cache_dir": entry(None), "data_dir": entry(str(data_dir)),
                    "output_dir": entry(str(output_dir)), "seed": entry(None, 42),
                    "cuda": entry(False), "local_rank": entry(-1), "use_amp": entry(None)},
        "task": {"name": entry("sentiment"), "processor_name": entry(
            "TextClassificationProcessor"), "do_train": entry(True), "do_eval": entry(True),
            "train_filename": entry("train.tsv"), "dev_filename": entry(None),
            "test_filename": entry("test.tsv"), "dev_split": entry(0.25),
            "label_list": entry(LABELS), "metric": entry("acc"),
            "label_column_name": entry("label")},
        "parameter": {"model": entry(str(model_dir)), "lower_case": entry(True),
                      "max_seq_len": entry(32), "balance_classes": entry(True),
                      "layer_dims": entry([768, 2]), "lm_output_type": entry("per_sequence"),
                      "prediction_head": entry("TextClassificationHead"),
                      "embeds_dropout_prob": entry(0.1), "epochs": entry(1),
                      "batch_size": entry(8), "gradient_accumulation_steps": entry(1),
                      "learning_rate": entry([1e-3, 3e-4]), "warmup_proportion": entry(0.1)},
        "logging": {"eval_every": entry(100), "mlflow_url": entry(None),
                    "mlflow_experiment": entry("tests"), "mlflow_run_name": entry("tiny"),
                    "mlflow_nested": entry(True)},
    }


def test_read_config_and_unnest_config(tmp_path: Path) -> None:
    config = {"general": {"seed": entry(None, 7)},
              "task": {"label_list": entry(["a", "b"])},
              "parameter": {"learning_rate": entry([1e-4, 2e-5]), "epochs": entry([1, 2, 3]),
                            "layer_dims": entry([768, 2])},
              "logging": {"layer_dims": entry([[768, 2], [768, 3]])}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    args = read_config(tmp_path / "config.json")
    assert args.general.seed == 7 and args.parameter.learning_rate == [1e-4, 2e-5]
    assert args.toDict()["task"] == {"label_list": ["a", "b"]}
    grid = unnestConfig(args)
    assert len(grid) == 2 * 3 * 2  # task lists and a flat layer_dims are not grid axes
    assert {(g.parameter.learning_rate, g.parameter.epochs) for g in grid} == {
        (lr, ep) for lr in (1e-4, 2e-5) for ep in (1, 2, 3)}
    assert all(g.task.label_list == ["a", "b"] and g.parameter.layer_dims == [768, 2]
               for g in grid)
    assert args.parameter.learning_rate == [1e-4, 2e-5]  # the original is left as it was
    assert get_file_extension("data/Train.JSON") == ".json"
    assert get_file_extension("a.tar.gz", dot=False) == "gz"
    with pytest.raises(FarmError, match="config file not found"):
        read_config(tmp_path / "missing.json")


def test_farm_json_experiment_runs_end_to_end(tiny_bert_dir: Path, tmp_path: Path) -> None:
    from farm.experiment import get_adaptive_model, load_experiments, run_experiment
    from farm.infer import Inferencer

    write_tsv(tmp_path / "data" / "train.tsv", separable_rows(24, seed=1))
    write_tsv(tmp_path / "data" / "test.tsv", separable_rows(8, seed=2))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(farm_config(tiny_bert_dir, tmp_path / "data", tmp_path / "out")))
    experiments = load_experiments(path)
    assert [e.parameter.learning_rate for e in experiments] == [1e-3, 3e-4]
    model = run_experiment(experiments[0])
    saved = tmp_path / "out" / f"{tiny_bert_dir.name}-sentiment"
    assert (saved / "farm_model.json").is_file() and (saved / "processor_config.json").is_file()
    assert model.prediction_heads[0].class_weights is not None  # balance_classes
    result = Inferencer.load(saved).inference_from_dicts([{"text": "good film"}])
    assert result[0]["predictions"][0]["label"] in LABELS
    two = get_adaptive_model("per_sequence,per_token", "TextClassificationHead,"
                             "TokenClassificationHead", [768, 3], tiny_bert_dir, "cpu", 0.1)
    assert [type(h).__name__ for h in two.prediction_heads] == [
        "TextClassificationHead", "TokenClassificationHead"]
    with pytest.raises(FarmError, match="Did you mean 'TextClassificationHead'"):
        get_adaptive_model("per_sequence", "TextClasificationHead", None, tiny_bert_dir, "cpu",
                           0.1)


def test_initialize_optimizer_from_farm_experiment_is_the_optimizer_module_one() -> None:
    from farm.experiment import initialize_optimizer
    from farm.modeling import optimization

    assert initialize_optimizer is optimization.initialize_optimizer


def test_visual_constants_are_strings() -> None:
    from farm.visual.ascii import images, text

    for name in ("TRACTOR_SMALL", "GROWING_TREE", "WELCOME_BARN", "BUSH_SEP", "WORKER_M"):
        assert isinstance(getattr(images, name), str) and getattr(images, name).strip()
    assert text.FARM_BLUE == text.FARM_BANNER
    with pytest.raises(AttributeError):
        text.NOT_A_BANNER  # noqa: B018


def test_numpy_helpers_are_plain() -> None:
    assert np.array_equal(to_numpy(torch.arange(3)), np.arange(3))
