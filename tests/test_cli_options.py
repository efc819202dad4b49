"""The ``farm`` command's options and messages: eval of converted and Hugging Face models,
column flags, messages naming flags, -q/-v anywhere, --report tables, --overwrite, missing
data paths, and the Makefile's DATA."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from farm.cli import EXIT_CONFIG, EXIT_INPUT, EXIT_OK, EXIT_USAGE, main
from farm.cli_messages import in_cli_words
from farm.errors import DataFileError
from tests.deploy_helpers import TAGS, save_task_model
from tests.farm_helpers import separable_rows, write_separable_data, write_tsv
from tests.ner_helpers import ner_sentences, write_conll

pytest.importorskip("yaml")
REPO = Path(__file__).resolve().parents[1]


def labelled_file(task: str, folder: Path) -> Path:
    """A small labelled file in the format FARM trains ``task`` on."""
    rows = separable_rows(12, seed=5)
    folder.mkdir(parents=True, exist_ok=True)
    if task == "ner":
        sentences = [s for s in ner_sentences(12, seed=5) if all(t in TAGS for _, t in s)]
        return write_conll(folder / "test.txt", sentences, delimiter="\t", docstart=False,
                           extra_columns=False)
    path = folder / "test.tsv"
    if task == "regression":
        path.write_text("text\tlabel\n" + "".join(
            f"{text}\t{2.0 + 0.5 * i}\n" for i, (text, _) in enumerate(rows)))
    elif task == "multilabel":
        topics = ["food", "music,travel", "travel", "food,music"]
        path.write_text("text\tlabel\n" + "".join(
            f"{text}\t{topics[i % 4]}\n" for i, (text, _) in enumerate(rows)))
    elif task == "text_pair":
        path.write_text("text\ttext_b\tlabel\n" + "".join(
            f"{text}\t{rows[-i][0]}\t{i % 2}\n" for i, (text, _) in enumerate(rows)))
    else:
        write_tsv(path, rows)
    return path


HF_TASK_TYPES = {"text_classification": "text_classification", "regression": "regression",
                 "multilabel": "multilabel_text_classification",
                 "text_pair": "text_pair_classification", "ner": "ner"}


def evaluate(model: Path, data: Path, *options: str) -> list[dict]:
    """``farm eval``'s results."""
    output = data.parent / "eval.json"
    assert main(["-q", "eval", str(model), str(data), *options, "--output", str(output)]
                ) == EXIT_OK
    return json.loads(output.read_text())


@pytest.mark.parametrize("task", list(HF_TASK_TYPES))
def test_models_converted_from_hugging_face_evaluate_as_the_original(
    task: str, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    """FARM model → Hugging Face → FARM, and the Hugging Face folder itself with
    --task-type: the same metrics as the original on the same labelled file."""
    original = save_task_model(task, tiny_bert_dir, tmp_path / "original")
    data = labelled_file(task, tmp_path / "data")
    assert main(["-q", "convert", str(original), str(tmp_path / "hf"), "--to",
                 "transformers"]) == EXIT_OK
    # A Hugging Face folder does not say that its model reads text pairs.
    pairs = ["--task-type", HF_TASK_TYPES[task]] if task == "text_pair" else []
    assert main(["-q", "convert", str(tmp_path / "hf"), str(tmp_path / "back"), "--to",
                 "farm", *pairs]) == EXIT_OK
    (expected,) = evaluate(original, data)
    (converted,) = evaluate(tmp_path / "back", data)
    (from_hf,) = evaluate(tmp_path / "hf", data, "--task-type", HF_TASK_TYPES[task])
    # The converted regression head predicts in label scale (its scaler folded in), so its
    # loss is on another scale; a multilabel task gets the class's default metrics.
    shared = set(expected) & set(converted) - ({"loss"} if task == "regression" else set())
    assert len(shared) > 1 and shared <= set(from_hf)
    for key in shared:
        # An untrained regression head predicts nearly one value for every text, so the
        # correlations amplify the rounding of the scaler folded into the head.
        tolerance = 1e-3 if task == "regression" else 1e-5
        assert converted[key] == pytest.approx(expected[key], abs=tolerance), key
        assert from_hf[key] == pytest.approx(expected[key], abs=tolerance), key


def test_eval_and_predict_take_other_columns(tiny_bert_dir: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    model = save_task_model("text_classification", tiny_bert_dir, tmp_path / "model")
    standard = labelled_file("text_classification", tmp_path)
    renamed = tmp_path / "renamed.tsv"
    lines = standard.read_text().splitlines()
    renamed.write_text("\n".join(["review\tstars", *lines[1:]]) + "\n")
    (expected,) = evaluate(model, standard)
    (result,) = evaluate(model, renamed, "--text-column", "review", "--label-column", "stars")
    assert result == expected

    assert main(["eval", str(model), str(renamed), "--label-column", "stars"]) == EXIT_INPUT
    error = capsys.readouterr().err
    assert "column 'text' (--text-column) not found" in error
    assert "Pass --text-column one of them" in error and "text_column_name" not in error

    texts = [text for text, _ in separable_rows(3, seed=8)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"review": t}) + "\n" for t in texts))
    (tmp_path / "in.tsv").write_text("id\treview\n" + "".join(f"{i}\t{t}\n"
                                                              for i, t in enumerate(texts)))
    predicted = []
    for name in ("in.jsonl", "in.tsv"):
        capsys.readouterr()
        assert main(["-q", "predict", str(model), str(tmp_path / name), "--text-column",
                     "review"]) == EXIT_OK
        (printed,) = json.loads(capsys.readouterr().out)
        predicted.append([(p["context"], p["label"]) for p in printed["predictions"]])
    assert predicted[0] == predicted[1] and [c for c, _ in predicted[0]] == texts
    assert main(["predict", str(model), str(tmp_path / "in.jsonl")]) == EXIT_INPUT
    assert main(["predict", str(model), str(tmp_path / "in.jsonl"), "--text-column",
                 "body"]) == EXIT_INPUT
    assert "input 1 has no key 'body' (--text-column); its keys: ['review']" in (
        capsys.readouterr().err)


def test_label_columns_of_a_multitask_model(tiny_bert_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    model = save_task_model("multitask", tiny_bert_dir, tmp_path / "model")
    rows = separable_rows(8, seed=3)
    coarse, fine = ["OTHER", "OFFENSE"], ["OTHER", "ABUSE", "INSULT"]
    body = "".join(f"{t}\t{coarse[i % 2]}\t{fine[i % 3]}\n" for i, (t, _) in enumerate(rows))
    (tmp_path / "a.tsv").write_text("text\tc1\tc2\n" + body)
    results = evaluate(model, tmp_path / "a.tsv", "--label-column", "coarse=c1",
                       "--label-column", "fine=c2")
    assert [r["task_name"] for r in results] == ["coarse", "fine"]
    assert main(["eval", str(model), str(tmp_path / "a.tsv"), "--label-column",
                 "c1"]) == EXIT_INPUT
    assert "the model has 2 tasks (coarse, fine), each with its label column: give " \
           "TASK=COLUMN" in capsys.readouterr().err


def test_messages_name_the_flags_of_the_command() -> None:
    flags = {"--task-type", "--doc-stride", "--max-seq-len", "--text-column"}
    assert in_cli_words("x is not a saved FARM model. To load a Hugging Face model, pass "
                        "task_type= one of ['ner'].", flags) == (
        "x is not a saved FARM model. To load a Hugging Face model, pass --task-type one "
        "of ['ner'].")
    assert in_cli_words("doc_stride=128 does not fit: with max_seq_len=64 ... Use doc_stride "
                        "between 1 and 45, or raise max_seq_len.", flags) == (
        "--doc-stride 128 does not fit: with --max-seq-len 64 ... Use --doc-stride between 1 "
        "and 45, or raise --max-seq-len.")
    assert in_cli_words("task 'x' has task_type 'ner'", flags) == "task 'x' has task_type 'ner'"
    assert in_cli_words("For a Hugging Face model folder use Inferencer.load(path, "
                        "task_type=...).", flags) == (
        "For a Hugging Face model folder use --task-type.")
    assert in_cli_words('serve its vectors with Inferencer.load(folder, task_type='
                        '"embeddings") passed to create_app.', flags) == (
        "serve its vectors with --task-type embeddings.")
    assert in_cli_words("Unknown task_type 'x'. Pass overwrite=True.", {"--overwrite"}) == (
        "Unknown task_type 'x'. Pass --overwrite.")  # no --task-type flag: left as it is
    assert in_cli_words("column 'a' (label_column_name) not found", flags) == (
        "column 'a' (label_column_name) not found")  # this command has no --label-column


def test_hugging_face_folders_without_task_type(tiny_bert_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps({"text": "good"}) + "\n")
    data = labelled_file("text_classification", tmp_path)
    assert main(["predict", str(tiny_bert_dir), str(tmp_path / "in.jsonl")]) == EXIT_INPUT
    assert main(["eval", str(tiny_bert_dir), str(data)]) == EXIT_INPUT
    for error in capsys.readouterr().err.splitlines():
        assert "--task-type" in error and "task_type=" not in error, error
        assert "Inferencer.load" not in error, error


def test_global_flags_anywhere(tiny_bert_dir: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    model = save_task_model("text_classification", tiny_bert_dir, tmp_path / "model")
    data = labelled_file("text_classification", tmp_path)
    for args in (["-q", "eval", model, data], ["eval", model, data, "-q"],
                 ["eval", "-v", model, data], ["-v", "eval", model, data]):
        assert main([str(a) for a in args]) == EXIT_OK, args
    with pytest.raises(SystemExit) as done:
        main(["eval", str(model), str(data), "-q", "-v"])
    assert done.value.code == EXIT_USAGE
    assert "-q and -v contradict" in capsys.readouterr().err


def test_report_prints_tables(tiny_bert_dir: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    model = save_task_model("text_classification", tiny_bert_dir, tmp_path / "model")
    data = labelled_file("text_classification", tmp_path)
    capsys.readouterr()
    assert main(["-q", "eval", str(model), str(data), "--report"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "\\n" not in printed and not printed.lstrip().startswith("[")
    first, table = printed.split("\n\n", 1)
    assert first.startswith("text_classification: loss 0.") and ", acc 0." in first
    assert table.split()[:4] == ["precision", "recall", "f1-score", "support"]
    assert "negative" in table and "positive" in table
    assert main(["-q", "eval", str(model), str(data), "--report", "--output",
                 str(tmp_path / "eval.json")]) == EXIT_OK
    assert capsys.readouterr().out == printed
    (saved,) = json.loads((tmp_path / "eval.json").read_text())
    assert "precision" in saved["report"]


def test_train_refuses_to_overwrite_a_model(tiny_bert_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    data = write_separable_data(tmp_path / "data", n_train=12, n_test=4)
    out = tmp_path / "out"
    config = {
        "experiment": {"name": "twice", "output_dir": str(out)},
        "data": {"data_dir": str(data), "test_filename": "test.tsv", "dev_split": 0.25},
        "processor": {"type": "TextClassificationProcessor", "max_seq_len": 16,
                      "label_list": ["negative", "positive"], "metric": "acc"},
        "model": {"language_model": str(tiny_bert_dir)},
        "heads": [{"type": "TextClassificationHead"}],
        "trainer": {"epochs": 1, "batch_size": 4, "evaluate_every": 0},
    }
    (tmp_path / "c.json").write_text(json.dumps(config))
    assert main(["-q", "train", str(tmp_path / "c.json")]) == EXIT_OK
    first = (out / "prediction_head_0.safetensors").read_bytes()
    capsys.readouterr()
    assert main(["-q", "train", str(tmp_path / "c.json")]) == EXIT_INPUT
    error = capsys.readouterr().err
    assert f"experiment.output_dir: {out} holds a model saved by an earlier run" in error
    assert "Pass --overwrite to replace it" in error
    assert (out / "prediction_head_0.safetensors").read_bytes() == first
    assert main(["-q", "train", str(tmp_path / "c.json"), "--dry-run"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)[0]["overwrites"] is True
    # Early stopping without a dev set saves nothing: the run must still save its model
    # over the earlier one.
    assert main(["-q", "train", str(tmp_path / "c.json"), "--overwrite", "--set",
                 "experiment.seed=7", "--set", "data.dev_split=0.0", "--set",
                 "trainer.early_stopping={metric: loss}"]) == EXIT_OK
    assert (out / "prediction_head_0.safetensors").read_bytes() != first


def test_missing_data_paths_are_shown_once_with_near_misses(
    tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    from farm.data_handler.data_silo import DataSilo
    from farm.errors import near_misses
    from tests.farm_helpers import make_processor

    write_separable_data(tmp_path / "examples" / "sentiment")
    monkeypatch.chdir(tmp_path)
    processor = make_processor(tiny_bert_dir, Path("examples/sentimnt"))
    with pytest.raises(DataFileError) as raised:
        DataSilo(processor=processor, batch_size=4)
    message = str(raised.value)
    assert message.startswith("examples/sentimnt/train.tsv: file not found. Did you mean "
                              "'examples/sentiment/train.tsv'? In examples: sentiment/.")
    assert message.count("sentimnt") == 1

    assert near_misses("examples/sentiment/tarin.tsv") == (
        " Did you mean 'examples/sentiment/train.tsv'? In examples/sentiment: test.tsv, "
        "train.tsv.")
    assert near_misses("examples/sentiment/train.tsv") == ""  # it exists

    example = REPO / "examples" / "configs" / "text_classification.yaml"
    monkeypatch.chdir(REPO)
    assert main(["train", str(example), "--set", "data.data_dir=examples/sentimnt"]) == (
        EXIT_CONFIG)
    error = capsys.readouterr().err
    assert f"data.data_dir: folder {REPO / 'examples' / 'sentimnt'} not found. Did you mean " \
           f"'{REPO / 'examples' / 'sentiment'}'?" in error


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_takes_data_from_the_command_line_only() -> None:
    def demo_command(*args: str, env_data: str | None = None) -> str:
        env = {"PATH": "/usr/bin:/bin", **({"DATA": env_data} if env_data else {})}
        done = subprocess.run(["make", "-n", "demo", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, check=True)
        return done.stdout.strip().splitlines()[-1]

    assert demo_command(env_data="/somewhere/else").endswith("examples/demo.py")
    assert demo_command("DATA=my/folder").endswith("examples/demo.py --data-dir my/folder")
    assert demo_command("DATA=my/folder", env_data="/elsewhere").endswith(
        "--data-dir my/folder")
