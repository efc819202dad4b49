"""What a path given as a model is, and the errors that say so: not found, a data folder,
a checkpoint, a file; no code from a model folder ever runs (every from_pretrained call in
farm/ goes through farm.modeling.hf_loading) and weights come from safetensors only."""

from __future__ import annotations

import ast
import builtins
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import farm
from farm.cli import EXIT_INPUT, main
from farm.errors import ModelFolderError
from farm.infer import Inferencer
from farm.model_folder import FolderKind, inspect_folder
from farm.modeling.biadaptive_model import BiAdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.tokenization import Tokenizer, check_vocabulary
from tests.deploy_helpers import save_task_model


@pytest.fixture(scope="module")
def saved_model(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_task_model("text_classification", tiny_bert_dir,
                           tmp_path_factory.mktemp("saved") / "sentiment")


def test_folder_kinds(saved_model: Path, tiny_bert_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "step_4").mkdir()
    (tmp_path / "step_4" / "trainer_state.json").write_text("{}")
    (tmp_path / "dpr" / "query_encoder").mkdir(parents=True)
    kinds = {
        saved_model: FolderKind.FARM_MODEL,
        tiny_bert_dir: FolderKind.HUGGING_FACE,
        tmp_path / "nowhere": FolderKind.NOT_FOUND,
        saved_model / "farm_model.json": FolderKind.FILE,
        tmp_path / "data": FolderKind.NOTHING,
        tmp_path / "step_4": FolderKind.CHECKPOINT,
        tmp_path: FolderKind.CHECKPOINTS,
        tmp_path / "dpr": FolderKind.DPR_ENCODERS,
    }
    for path, kind in kinds.items():
        assert inspect_folder(path).kind is kind, path


def test_a_model_path_that_does_not_exist_says_not_found(
    saved_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = saved_model.parent / "sentimnt"
    with pytest.raises(ModelFolderError, match=r"sentimnt: not found.*Did you mean 'sentiment'"):
        Inferencer.load(typo)
    inputs = saved_model.parent / "inputs.jsonl"
    inputs.write_text('{"text": "good"}\n')
    assert main(["-q", "predict", str(typo), str(inputs)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "not found" in err and "farm_model.json" not in err
    # A relative path with a task type is not taken for a hub name when it has two slashes.
    with pytest.raises(ModelFolderError, match="not found"):
        Inferencer.load("saved_models/typo/model", task_type="text_classification")


def test_a_data_folder_given_as_a_model_says_what_it_is(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    data = tmp_path / "sentiment"
    data.mkdir()
    (data / "train.tsv").write_text("text\tlabel\ngood\tpositive\n")
    (data / "test.tsv").write_text("text\tlabel\nbad\tnegative\n")
    for task_type in (None, "text_classification", "embeddings"):
        with pytest.raises(ModelFolderError) as error:
            Inferencer.load(data, task_type=task_type)
        message = str(error.value)
        assert "is not a model folder" in message and "data folder (test.tsv, train.tsv)" \
            in message
        assert "sentencepiece" not in message
    assert main(["-q", "predict", str(data), str(data / "test.tsv"),
                 "--task-type", "text_classification"]) == EXIT_INPUT
    assert "It looks like a data folder" in capsys.readouterr().err


def test_a_checkpoint_given_as_a_model_points_to_its_model(tmp_path: Path) -> None:
    step = tmp_path / "checkpoints" / "step_8"
    step.mkdir(parents=True)
    (step / "trainer_state.json").write_text("{}")
    with pytest.raises(ModelFolderError, match=r"training checkpoint: its model is in .*step_8"):
        Inferencer.load(step)
    with pytest.raises(ModelFolderError, match=r"newest one's model is in .*step_8.model"):
        Inferencer.load(tmp_path / "checkpoints")


def test_a_file_given_as_a_model_names_its_folder(saved_model: Path) -> None:
    with pytest.raises(ModelFolderError, match=r"is a file, not a model folder\. Give its "
                                               r"folder .*sentiment instead"):
        Inferencer.load(saved_model / "farm_model.json")


def test_a_hugging_face_folder_without_a_task_type_names_the_option(tiny_bert_dir: Path
                                                                     ) -> None:
    with pytest.raises(ModelFolderError, match="not a saved FARM model .* task_type"):
        from farm.modeling.adaptive_model import AdaptiveModel

        AdaptiveModel.load(tiny_bert_dir)


# ---- safetensors only, no code ------------------------------------------------------------


def test_hugging_face_and_embeddings_paths_refuse_pytorch_model_bin(tiny_bert_dir: Path,
                                                                     tmp_path: Path) -> None:
    folder = shutil.copytree(tiny_bert_dir, tmp_path / "bin_only")
    torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    for load in (lambda: LanguageModel.load(folder),
                 lambda: Inferencer.load(folder, task_type="embeddings"),
                 lambda: Inferencer.load(folder, task_type="text_classification")):
        with pytest.raises(ModelFolderError, match=r"no model.safetensors, only "
                                                   r"pytorch_model.bin.*save_pretrained"):
            load()
    # The explicit opt-in of a caller who trusts the file still works.
    assert LanguageModel.load(folder, use_safetensors=False).hidden_size > 0


def every_from_pretrained_call() -> list[tuple[Path, ast.Call]]:
    calls = []
    for file in Path(farm.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                    node.func.attr == "from_pretrained"):
                calls.append((file, node))
    return calls


def test_every_from_pretrained_call_refuses_remote_code() -> None:
    """All of farm/ loads Hugging Face files through farm.modeling.hf_loading, whose calls
    pass trust_remote_code=False (so transformers never asks, and no folder code runs)."""
    calls = every_from_pretrained_call()
    assert {file.name for file, _ in calls} == {"hf_loading.py"}
    for _, call in calls:
        keywords = {k.arg: k.value for k in call.keywords}
        assert isinstance(keywords.get("trust_remote_code"), ast.Constant)
        assert keywords["trust_remote_code"].value is False  # type: ignore[attr-defined]


def write_custom_code_encoder(folder: Path, tiny_bert_dir: Path, marker: Path) -> None:
    """A DPR-like folder whose config asks transformers to import its own Python file."""
    shutil.copytree(tiny_bert_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="evil_dpr", auto_map={"AutoConfig": "configuration_evil.Config",
                                                   "AutoModel": "configuration_evil.Model"})
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "configuration_evil.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
        "from transformers import BertConfig as Config, BertModel as Model\n")


def test_dpr_conversion_runs_no_code_and_asks_nothing(
    tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = tmp_path / "code_ran"
    source = tmp_path / "dpr"
    write_custom_code_encoder(source / "query_encoder", tiny_bert_dir, marker)
    write_custom_code_encoder(source / "passage_encoder", tiny_bert_dir, marker)
    asked = []
    monkeypatch.setattr(builtins, "input", lambda *args: asked.append(args) or "y")
    with pytest.raises(ModelFolderError, match="never runs code from a model folder"):
        BiAdaptiveModel.convert_from_transformers(source / "query_encoder",
                                                  source / "passage_encoder")
    assert main(["-q", "convert", str(source), str(tmp_path / "out"), "--to", "farm"]) == (
        EXIT_INPUT)
    assert "never runs code" in capsys.readouterr().err
    assert not asked and not marker.exists()


def test_the_tokenizer_must_fit_the_embeddings(tiny_bert_dir: Path) -> None:
    tokenizer = Tokenizer.load(tiny_bert_dir)
    n = len(tokenizer)
    check_vocabulary(tokenizer, n, "model")
    check_vocabulary(tokenizer, n + 64, "model")  # embeddings padded to a round size
    with pytest.raises(ModelFolderError, match=f"has {n} tokens, but the model has embeddings "
                                               f"for only {n - 1}"):
        check_vocabulary(tokenizer, n - 1, "model")
    with pytest.raises(ModelFolderError, match=f"only {n} tokens for the model's {3 * n}"):
        check_vocabulary(tokenizer, 3 * n, "model")


def test_a_tokenizer_of_special_tokens_only_is_refused(tiny_bert_dir: Path,
                                                       tmp_path: Path) -> None:
    """A folder with tokenizer_config.json and an empty vocab.txt: transformers builds a
    tokenizer of the five special tokens, which would turn every word into [UNK]."""
    folder = tmp_path / "no_vocabulary"
    folder.mkdir()
    shutil.copy(tiny_bert_dir / "config.json", folder)
    (folder / "vocab.txt").write_text("")
    with pytest.raises(ModelFolderError, match="only its 5 special tokens and no vocabulary"):
        Tokenizer.load(folder)
