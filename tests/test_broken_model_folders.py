"""Broken model folders: every kind gives a ModelFolderError naming the file at fault (never
a SafetensorError, KeyError, TypeError or ONNX Runtime error from deep inside), and
`farm predict` exits 4 with that message and no traceback, as docs/cli.md promises."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from farm.cli import EXIT_INPUT, main
from farm.errors import ModelFolderError
from farm.infer import Inferencer
from farm.modeling.prediction_heads import TextClassificationHead
from tests.deploy_helpers import save_task_model


def edit_json(file: Path, change: Callable[[Any], Any]) -> None:
    data = json.loads(file.read_text())
    file.write_text(json.dumps(change(data)))


def cut_in_half(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def as_pickle(folder: Path) -> None:
    """Replace the encoder's safetensors by the same weights as pytorch_model.bin."""
    weights = folder / "language_model" / "model.safetensors"
    torch.save(load_file(str(weights)), folder / "language_model" / "pytorch_model.bin")
    weights.unlink()


def keep_tokens(file: Path, n: int) -> None:
    """A tokenizer.json with only its first ``n`` vocabulary entries (another tokenizer)."""
    def cut(data: dict[str, Any]) -> dict[str, Any]:
        vocab = data["model"]["vocab"]
        data["model"]["vocab"] = {k: v for k, v in vocab.items() if v < n}
        return data
    edit_json(file, cut)


def set_key(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(data: dict[str, Any]) -> dict[str, Any]:
        data[key] = value
        return data
    return change


def drop_key(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(data: dict[str, Any]) -> dict[str, Any]:
        data.pop(key)
        return data
    return change


HEAD_CONFIG = "prediction_head_0_config.json"
HEAD_WEIGHTS = "prediction_head_0.safetensors"
LM_CONFIG = "language_model/config.json"
LM_WEIGHTS = "language_model/model.safetensors"

# (id, how to break a saved text classification model, what the message must name)
BROKEN: list[tuple[str, Callable[[Path], Any], list[str]]] = [
    ("meta-not-json", lambda d: (d / "farm_model.json").write_text("{\"format"),
     ["farm_model.json", "not valid JSON"]),
    ("meta-a-list", lambda d: (d / "farm_model.json").write_text("[1, 2]"),
     ["farm_model.json", "holds a list"]),
    ("meta-missing-key", lambda d: edit_json(d / "farm_model.json", drop_key("lm_output_types")),
     ["farm_model.json", "'lm_output_types'"]),
    ("meta-wrong-type", lambda d: edit_json(d / "farm_model.json",
                                            set_key("embeds_dropout_prob", "high")),
     ["farm_model.json", "'embeds_dropout_prob'"]),
    ("meta-unknown-model", lambda d: edit_json(d / "farm_model.json", set_key("model", "Evil")),
     ["farm_model.json", "'Evil'"]),
    ("meta-output-types-per-head", lambda d: edit_json(
        d / "farm_model.json", set_key("lm_output_types", ["per_sequence"] * 2)),
     ["farm_model.json", "one entry per head"]),
    ("no-language-model", lambda d: shutil.rmtree(d / "language_model"),
     ["language_model", "not found"]),
    ("lm-config-missing", lambda d: (d / LM_CONFIG).unlink(), ["language_model", "config.json"]),
    ("lm-config-a-list", lambda d: (d / LM_CONFIG).write_text("[]"),
     [LM_CONFIG, "holds a list"]),
    ("lm-config-no-model-type", lambda d: edit_json(d / LM_CONFIG, drop_key("model_type")),
     [LM_CONFIG, "model_type"]),
    ("lm-config-wrong-size", lambda d: edit_json(d / LM_CONFIG, set_key("hidden_size", 64)),
     ["language_model"]),
    ("lm-config-wrong-type", lambda d: edit_json(d / LM_CONFIG, set_key("hidden_size", "wide")),
     ["language_model", "hidden_size"]),
    ("lm-weights-truncated", lambda d: cut_in_half(d / LM_WEIGHTS),
     [LM_WEIGHTS, "cut short"]),
    ("lm-weights-pickle-only", as_pickle,
     ["language_model", "pytorch_model.bin", "safetensors only", "save_pretrained"]),
    ("head-config-missing", lambda d: (d / HEAD_CONFIG).unlink(), [HEAD_WEIGHTS, HEAD_CONFIG]),
    ("head-weights-missing", lambda d: (d / HEAD_WEIGHTS).unlink(), [HEAD_WEIGHTS, "not found"]),
    ("head-weights-truncated", lambda d: cut_in_half(d / HEAD_WEIGHTS),
     [HEAD_WEIGHTS, "cut short"]),
    ("head-config-no-name", lambda d: edit_json(d / HEAD_CONFIG, drop_key("name")),
     [HEAD_CONFIG, "'name'"]),
    ("head-config-a-list", lambda d: (d / HEAD_CONFIG).write_text("[\"name\"]"),
     [HEAD_CONFIG, "holds a list"]),
    ("head-config-unknown-argument", lambda d: edit_json(d / HEAD_CONFIG, set_key("depth", 3)),
     [HEAD_CONFIG, "depth"]),
    ("head-config-wrong-sizes", lambda d: edit_json(d / HEAD_CONFIG,
                                                     set_key("layer_dims", [300, 300, 2])),
     [HEAD_WEIGHTS, "(300, 300)"]),
    ("head-config-other-width", lambda d: edit_json(d / HEAD_CONFIG, set_key("layer_dims",
                                                                              [48, 2])),
     [HEAD_WEIGHTS, "(2, 48)"]),
    ("processor-config-missing", lambda d: (d / "processor_config.json").unlink(),
     ["processor_config.json", "not found"]),
    ("processor-config-not-json", lambda d: (d / "processor_config.json").write_text("{"),
     ["processor_config.json", "not valid JSON"]),
    ("processor-config-no-class", lambda d: edit_json(d / "processor_config.json",
                                                      drop_key("processor")),
     ["processor_config.json", "'processor'"]),
    ("tokenizer-missing", lambda d: (d / "tokenizer.json").unlink(),
     ["no tokenizer files", "tokenizer.json"]),
    ("tokenizer-damaged", lambda d: cut_in_half(d / "tokenizer.json"),
     ["tokenizer cannot be read"]),
    ("tokenizer-of-another-model", lambda d: keep_tokens(d / "tokenizer.json", 100),
     ["only 100 tokens", "embeddings"]),
]


@pytest.fixture(scope="module")
def saved_model(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_task_model("text_classification", tiny_bert_dir,
                           tmp_path_factory.mktemp("saved") / "model")


@pytest.fixture(scope="module")
def input_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    file = tmp_path_factory.mktemp("inputs") / "inputs.jsonl"
    file.write_text('{"text": "good movie"}\n')
    return file


def check_cli(folder: Path, input_file: Path, expected: list[str],
              capsys: pytest.CaptureFixture[str]) -> None:
    """`farm predict` on ``folder`` exits 4 and names the problem, without a traceback."""
    capsys.readouterr()
    assert main(["-q", "predict", str(folder), str(input_file)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for text in expected:
        assert text in err


@pytest.mark.parametrize(("breakage", "expected"), [(b, e) for _, b, e in BROKEN],
                         ids=[name for name, _, _ in BROKEN])
def test_a_broken_model_folder_is_a_clear_error(
    breakage: Callable[[Path], Any], expected: list[str], saved_model: Path, input_file: Path,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = shutil.copytree(saved_model, tmp_path / "model")
    Inferencer.load(folder, disable_tqdm=True)  # the unbroken copy loads
    breakage(folder)
    with pytest.raises(ModelFolderError) as error:
        Inferencer.load(folder, disable_tqdm=True)
    for text in expected:
        assert text in str(error.value)
    check_cli(folder, input_file, expected, capsys)


def test_head_sizes_are_checked_before_anything_is_allocated(
    saved_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tiny config asking for a 60000 x 60000 layer (14 GB) is refused from the weights
    file's header: the head is built only on the meta device, which allocates nothing."""
    folder = shutil.copytree(saved_model, tmp_path / "model")
    edit_json(folder / HEAD_CONFIG, set_key("layer_dims", [60000, 60000, 2]))
    devices = []
    build = TextClassificationHead.__init__

    def spy(self: TextClassificationHead, *args: Any, **kwargs: Any) -> None:
        devices.append(torch.empty(0).device.type)
        build(self, *args, **kwargs)

    monkeypatch.setattr(TextClassificationHead, "__init__", spy)
    with pytest.raises(ModelFolderError, match=r"config gives \(60000, 60000\)"):
        Inferencer.load(folder, disable_tqdm=True)
    assert devices == ["meta"]


# ---- ONNX exports and dense retrievers ---------------------------------------------------


@pytest.fixture(scope="module")
def onnx_export(saved_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnxruntime")
    output = tmp_path_factory.mktemp("onnx") / "export"
    Inferencer.load(saved_model, disable_tqdm=True).model.convert_to_onnx(
        output, processor=Inferencer.load(saved_model).processor, verify=False)
    return output


ONNX_BROKEN: list[tuple[str, Callable[[Path], Any], list[str]]] = [
    ("onnx-corrupt", lambda d: (d / "model.onnx").write_bytes(b"not a graph"),
     ["model.onnx", "ONNX Runtime cannot open"]),
    ("onnx-missing", lambda d: (d / "model.onnx").unlink(), ["model.onnx", "not found"]),
    ("onnx-file-outside", lambda d: edit_json(d / "farm_model.json",
                                              set_key("onnx_file", "../model.onnx")),
     ["farm_model.json", "'onnx_file'", "leads out of"]),
    ("onnx-meta-missing-key", lambda d: edit_json(d / "farm_model.json", drop_key("onnx_file")),
     ["farm_model.json", "'onnx_file'"]),
    ("onnx-head-missing", lambda d: (d / HEAD_CONFIG).unlink(), [HEAD_CONFIG]),
]


@pytest.mark.parametrize(("breakage", "expected"), [(b, e) for _, b, e in ONNX_BROKEN],
                         ids=[name for name, _, _ in ONNX_BROKEN])
def test_a_broken_onnx_export_is_a_clear_error(
    breakage: Callable[[Path], Any], expected: list[str], onnx_export: Path, input_file: Path,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = shutil.copytree(onnx_export, tmp_path / "export")
    breakage(folder)
    with pytest.raises(ModelFolderError) as error:
        Inferencer.load(folder, disable_tqdm=True)
    for text in expected:
        assert text in str(error.value)
    check_cli(folder, input_file, expected, capsys)


@pytest.fixture(scope="module")
def saved_retriever(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_task_model("text_similarity", tiny_bert_dir,
                           tmp_path_factory.mktemp("saved") / "retriever")


@pytest.mark.parametrize("name", ["../outside", "/etc", "lm1/../../outside"])
def test_encoder_names_stay_inside_the_folder(saved_retriever: Path, tmp_path: Path,
                                              name: str) -> None:
    """lm1_name/lm2_name in farm_model.json cannot make the loader read another folder
    (here a copy of the real encoder beside the model folder would load)."""
    folder = shutil.copytree(saved_retriever, tmp_path / "retriever")
    shutil.copytree(folder / "lm1", tmp_path / "outside")
    edit_json(folder / "farm_model.json", set_key("lm1_name", name))
    with pytest.raises(ModelFolderError, match=r"farm_model.json: 'lm1_name' is .* leads out"):
        Inferencer.load(folder, disable_tqdm=True)


def test_a_missing_encoder_of_a_retriever_is_named(saved_retriever: Path,
                                                   tmp_path: Path) -> None:
    folder = shutil.copytree(saved_retriever, tmp_path / "retriever")
    shutil.rmtree(folder / "lm2")
    with pytest.raises(ModelFolderError, match="names the encoder folder 'lm2', which is "
                                               "missing"):
        Inferencer.load(folder, disable_tqdm=True)
