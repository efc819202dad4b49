"""The ``farm`` command end to end on a tiny model: train an example config, eval, predict,
export-onnx, convert; QA models (SQuAD files, QA dicts); exit codes and --help; a grid
logged as MLflow runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from farm.cli import EXIT_CONFIG, EXIT_INPUT, EXIT_OK, main
from farm.evaluation.squad_metrics import question_scores
from farm.infer import Inferencer, QAInferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.biadaptive_model import BiAdaptiveModel
from tests.deploy_helpers import save_task_model
from tests.dpr_helpers import dpr_records, write_dpr_data, write_dpr_file
from tests.farm_helpers import write_separable_data
from tests.lm_helpers import write_lm_data
from tests.qa_helpers import squad_articles, write_qa_data, write_squad
from tests.tiny_models import TinyModelFactory

pytest.importorskip("yaml")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "configs" / "text_classification.yaml"
COMMANDS = ["train", "eval", "predict", "serve", "export-onnx", "convert"]
TEXTS = ["good food with friends", "bad movie at night", "good show"]


@pytest.fixture(scope="module")
def trained(tiny_model_factory: TinyModelFactory, tmp_path_factory: pytest.TempPathFactory
            ) -> Path:
    """``farm train`` on the sentiment example config with a tiny model, one epoch."""
    out = tmp_path_factory.mktemp("cli") / "sentiment"
    code = main(["-q", "train", str(EXAMPLE),
                 "--set", f"model.language_model={tiny_model_factory('bert')}",
                 "--set", f"experiment.output_dir={out}", "--set", "trainer.epochs=1",
                 "--set", "trainer.batch_size=32", "--set", "optimizer.learning_rate=1e-3"])
    assert code == EXIT_OK
    return out


def test_train_saves_a_model_with_its_results(trained: Path) -> None:
    summary = json.loads((trained / "experiment.json").read_text())
    assert summary["run"] == "sentiment"
    assert 0.0 <= summary["test"][0]["acc"] <= 1.0
    assert summary["config"]["trainer"]["epochs"] == 1
    assert summary["config"]["heads"][0]["_balanced_class_weights"] is True
    inferencer = Inferencer.load(trained, disable_tqdm=True)
    assert inferencer.model.heads[0].label_list == ["negative", "positive"]
    assert inferencer.model.heads[0].class_weights is not None


def test_eval_gives_the_trainers_test_metrics(trained: Path, tmp_path: Path) -> None:
    test_file = EXAMPLE.parents[1] / "sentiment" / "test.tsv"
    assert main(["-q", "eval", str(trained), str(test_file), "--output",
                 str(tmp_path / "eval.json")]) == EXIT_OK
    (result,) = json.loads((tmp_path / "eval.json").read_text())
    summary = json.loads((trained / "experiment.json").read_text())
    assert result["task_name"] == "text_classification"
    assert result["acc"] == pytest.approx(summary["test"][0]["acc"])


def test_predict_from_jsonl_and_tsv(trained: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    assert main(["-q", "predict", str(trained), str(tmp_path / "in.jsonl"), "--batch-size", "2",
                 "--output", str(tmp_path / "out.json")]) == EXIT_OK
    (result,) = json.loads((tmp_path / "out.json").read_text())
    reference = Inferencer.load(trained, disable_tqdm=True, batch_size=8)
    expected = reference.inference_from_dicts([{"text": t} for t in TEXTS])[0]["predictions"]
    assert [p["label"] for p in result["predictions"]] == [p["label"] for p in expected]
    assert len(result["predictions"]) == 3  # every batch, not only the first

    (tmp_path / "in.tsv").write_text("text\n" + "".join(f"{t}\n" for t in TEXTS))
    capsys.readouterr()
    assert main(["-q", "predict", str(trained), str(tmp_path / "in.tsv")]) == EXIT_OK
    (printed,) = json.loads(capsys.readouterr().out)
    assert [p["context"] for p in printed["predictions"]] == TEXTS


def test_export_onnx_and_convert_round_trip(trained: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    assert main(["-q", "export-onnx", str(trained), str(tmp_path / "onnx")]) == EXIT_OK
    assert main(["-q", "convert", str(trained), str(tmp_path / "hf"),
                 "--to", "transformers"]) == EXIT_OK
    assert main(["-q", "convert", str(tmp_path / "hf"), str(tmp_path / "back"),
                 "--to", "farm"]) == EXIT_OK
    dicts = [{"text": t} for t in TEXTS]

    def probabilities(model_dir: Path) -> torch.Tensor:
        inferencer = Inferencer.load(model_dir, return_class_probs=True, disable_tqdm=True)
        result = inferencer.inference_from_dicts(dicts)[0]["predictions"]
        return torch.tensor([p["probabilities"] for p in result])

    expected = probabilities(trained)
    for folder in ("onnx", "back"):
        assert float((probabilities(tmp_path / folder) - expected).abs().max()) < 1e-5
    hf = AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    encoded = AutoTokenizer.from_pretrained(tmp_path / "hf")(TEXTS, padding=True,
                                                              return_tensors="pt")
    with torch.no_grad():
        hf_probs = hf(**encoded).logits.softmax(-1)
    assert float((hf_probs - expected).abs().max()) < 1e-5
    assert hf.config.id2label == {0: "negative", 1: "positive"}


@pytest.fixture(scope="module")
def qa_model(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_task_model("qa", tiny_bert_dir, tmp_path_factory.mktemp("cli") / "qa")


def test_qa_eval_on_a_squad_file_agrees_with_predict(
    qa_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``farm eval`` of a SQuAD 2.0 file: EM/F1 as the official formulas give them for the
    answers ``farm predict`` returns on the same file (one prediction per question)."""
    squad = squad_articles(12, seed=4, fillers=(2, 14))
    for article in squad["data"]:  # a second gold answer, the whole context: F1 > 0
        paragraph = article["paragraphs"][0]
        for qa in paragraph["qas"]:
            if qa["answers"]:
                qa["answers"].append({"text": paragraph["context"], "answer_start": 0})
    write_squad(tmp_path / "dev.json", squad)
    assert main(["-q", "eval", str(qa_model), str(tmp_path / "dev.json"), "--output",
                 str(tmp_path / "eval.json")]) == EXIT_OK
    (result,) = json.loads((tmp_path / "eval.json").read_text())
    assert result["task_name"] == "question_answering"
    assert result["total"] == 12
    assert result["HasAns_total"] + result["NoAns_total"] == 12

    assert main(["-q", "predict", str(qa_model), str(tmp_path / "dev.json"), "--max-seq-len",
                 "64", "--doc-stride", "16"]) == EXIT_OK
    (printed,) = json.loads(capsys.readouterr().out)
    assert printed["task"] == "qa"
    questions = [qa for a in squad["data"] for p in a["paragraphs"] for qa in p["qas"]]
    by_id = {p["id"]: p for p in printed["predictions"]}
    assert sorted(by_id) == sorted(q["id"] for q in questions)
    scores = [question_scores(by_id[q["id"]]["answers"][0]["answer"],
                              [a["text"] for a in q["answers"]]) for q in questions]
    assert result["EM"] == pytest.approx(sum(em for em, _ in scores) / 12, abs=1e-6)
    assert result["f1"] == pytest.approx(sum(f1 for _, f1 in scores) / 12, abs=1e-6)
    assert 0 < result["HasAns_f1"] < 1  # partial overlaps, different for each question


def test_qa_predict_from_jsonl_of_qa_dicts(qa_model: Path, tmp_path: Path) -> None:
    texts = ["the answer is blorf. the film was long.", "Zoë  met Anna 🚜 in Paris."]
    dicts = [{"questions": ["what is the answer?", "who?"], "text": texts[0]},
             {"qas": [{"question": "who met Anna?", "id": "z"}], "context": texts[1]}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(d) + "\n" for d in dicts))
    assert main(["-q", "predict", str(qa_model), str(tmp_path / "in.jsonl"), "--batch-size",
                 "1", "--output", str(tmp_path / "out.json")]) == EXIT_OK
    (result,) = json.loads((tmp_path / "out.json").read_text())
    predictions = result["predictions"]
    assert [p["id"] for p in predictions] == ["0-0", "0-1", "z"]
    for prediction, text in zip(predictions, [texts[0], texts[0], texts[1]], strict=True):
        for answer in prediction["answers"]:
            start, end = answer["offset_answer_start"], answer["offset_answer_end"]
            assert text[start:end] == answer["answer"]
    reference = QAInferencer.load(qa_model, disable_tqdm=True).inference_from_dicts(dicts)
    assert [p["answers"][0]["answer"] for p in predictions] == [
        r["predictions"][0]["answers"][0]["answer"] for r in reference]

    pytest.importorskip("onnxruntime")
    assert main(["-q", "export-onnx", str(qa_model), str(tmp_path / "onnx")]) == EXIT_OK
    assert main(["-q", "predict", str(tmp_path / "onnx"), str(tmp_path / "in.jsonl"),
                 "--output", str(tmp_path / "onnx.json")]) == EXIT_OK
    (onnx_result,) = json.loads((tmp_path / "onnx.json").read_text())
    assert [[(a["answer"], a["offset_answer_start"]) for a in p["answers"]]
            for p in onnx_result["predictions"]] == [
        [(a["answer"], a["offset_answer_start"]) for a in p["answers"]] for p in predictions]


def test_qa_input_errors_name_the_input(qa_model: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.jsonl").write_text(json.dumps({"questions": ["a?"], "text": "a"}) + "\n"
                                        + json.dumps({"question": "typo?", "text": "a"}) + "\n")
    assert main(["-q", "predict", str(qa_model), str(tmp_path / "bad.jsonl")]) == EXIT_INPUT
    assert "document '1' (input 1) has keys ['question', 'text']" in capsys.readouterr().err
    assert main(["-q", "predict", str(qa_model), str(tmp_path / "bad.jsonl"), "--max-seq-len",
                 "64"]) == EXIT_INPUT
    error = capsys.readouterr().err  # in the words of the command line: flags
    assert "--doc-stride 128 does not fit: with --max-seq-len 64" in error
    assert "Use --doc-stride between 1 and" in error and "raise --max-seq-len" in error


def test_eval_of_rankers_on_a_dpr_file(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A passage ranker (AdaptiveModel) and a dense retriever (BiAdaptiveModel)."""
    write_dpr_file(tmp_path / "dev.json", dpr_records(6, seed=3))
    for task in ("passage_ranking", "text_similarity"):
        model_dir = save_task_model(task, tiny_bert_dir, tmp_path / task)
        assert main(["-q", "eval", str(model_dir), str(tmp_path / "dev.json"), "--output",
                     str(tmp_path / f"{task}.json")]) == EXIT_OK
        (result,) = json.loads((tmp_path / f"{task}.json").read_text())
        assert result["task_name"] == task
        assert result["n_queries"] == 6 and 0 < result["mrr_at_10"] <= 1


def test_exit_codes_and_help(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in COMMANDS:
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0
        help_text = capsys.readouterr().out
        assert f"usage: farm {command}" in help_text
        if command == "predict":
            assert '{"questions": [...], "text": ...}' in " ".join(help_text.split())
        if command == "eval":
            assert "SQuAD JSON file for QA" in " ".join(help_text.split())
    with pytest.raises(SystemExit) as done:
        main(["trian"])
    assert done.value.code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {data_dir: nowhere}\nprocessor: {type: Nope}\n")
    assert main(["train", str(bad)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "problem(s) in the experiment config" in err and "processor.type" in err
    assert main(["eval", str(tmp_path / "no_model"), str(bad)]) == EXIT_INPUT
    assert "no_model: not found" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), str(tmp_path / "missing.jsonl")]) == EXIT_INPUT
    assert "missing.jsonl not found" in capsys.readouterr().err


def test_a_grid_is_one_mlflow_run_per_combination(tiny_model_factory: TinyModelFactory,
                                                  tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    write_separable_data(tmp_path / "data", n_train=16, n_test=4)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    config = {
        "experiment": {"name": "grid", "output_dir": "out"},
        "data": {"data_dir": "data", "test_filename": "test.tsv", "dev_split": 0.25},
        "processor": {"type": "TextClassificationProcessor", "max_seq_len": 16,
                      "label_list": ["negative", "positive"], "metric": "acc"},
        "model": {"language_model": str(tiny_model_factory("bert"))},
        "heads": [{"type": "TextClassificationHead"}],
        "optimizer": {"learning_rate": [1e-3, 1e-4]},
        "trainer": {"epochs": 1, "batch_size": 8, "evaluate_every": 0},
        "tracking": {"type": "mlflow", "tracking_uri": uri},
    }
    (tmp_path / "grid.json").write_text(json.dumps(config))
    try:
        assert main(["-q", "train", str(tmp_path / "grid.json")]) == EXIT_OK
    finally:
        mlflow.set_tracking_uri(None)
    names = ["grid-learning_rate=0.001", "grid-learning_rate=0.0001"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)
    client = mlflow.tracking.MlflowClient(uri)
    experiment = client.get_experiment_by_name("grid")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == sorted(names)
    by_name = {r.info.run_name: r for r in runs}
    assert by_name[names[0]].data.params["learning_rate"] == "0.001"
    assert "test_acc_text_classification" in by_name[names[1]].data.metrics


CONFIGS = EXAMPLE.parent


def _task_data(task: str, data_dir: Path) -> list[str]:
    """Tiny data for an example config, and the --set items that point it there."""
    if task == "question_answering":
        write_qa_data(data_dir, n_train=24, n_dev=8, n_test=8)
        return ["data.train_filename=train.json", "data.dev_filename=dev.json",
                "data.test_filename=test.json", "processor.max_seq_len=64",
                "processor.doc_stride=16", "processor.max_query_length=16",
                "processor.max_samples=20", "trainer.evaluate_every=3"]
    if task == "language_model":
        write_lm_data(data_dir, n_train=12, n_test=4)
        return ["data.train_filename=train.txt", "data.test_filename=test.txt",
                "data.dev_filename=null", "data.dev_split=0.2",
                "processor.one_doc_per_line=false",
                "processor.max_seq_len=32", "trainer.evaluate_every=2"]
    write_dpr_data(data_dir, n_train=24, n_dev=8, n_test=8)
    return ["data.dev_filename=dev.json", "processor.max_seq_len_query=16",
            "processor.max_seq_len_passage=32", "model.shared_encoder=false",
            "model.pooling=cls_token", "trainer.evaluate_every=2"]


@pytest.mark.parametrize("task", ["question_answering", "language_model", "dense_retrieval"])
def test_task_example_configs_train_end_to_end(task: str, tiny_model_factory: TinyModelFactory,
                                               tmp_path: Path) -> None:
    """The QA, masked-LM and DPR example configs, on a tiny model and tiny data: trained,
    early-stopped on their metric, saved, and loadable."""
    data_dir = tmp_path / "data"
    overrides = _task_data(task, data_dir)
    out = tmp_path / "out"
    args = ["-q", "train", str(CONFIGS / f"{task}.yaml"),
            "--set", f"model.language_model={tiny_model_factory('bert')}",
            "--set", f"data.data_dir={data_dir}", "--set", f"experiment.output_dir={out}",
            "--set", "trainer.batch_size=4", "--set", "optimizer.learning_rate=1e-3"]
    for item in overrides:
        args += ["--set", item]
    assert main(args) == EXIT_OK
    summary = json.loads((out / "experiment.json").read_text())
    (test,) = summary["test"] if task != "language_model" else summary["test"][:1]
    metric = {"question_answering": "f1", "language_model": "perplexity",
              "dense_retrieval": "mrr_at_10"}[task]
    assert isinstance(test[metric], float) and summary["best_dev"] is not None
    if task == "dense_retrieval":
        model = BiAdaptiveModel.load(out)
        assert not model.shared_encoder and model.pooling == "cls_token"
        return
    model = AdaptiveModel.load(out)
    heads = [type(h).__name__ for h in model.heads]
    if task == "question_answering":
        assert heads == ["QuestionAnsweringHead"]
        answers = Inferencer.load(out, disable_tqdm=True).inference_from_dicts(
            [{"questions": ["where is it"], "text": "the museum is in paris"}])
        answer = answers[0]["predictions"][0]["answers"][0]
        assert "the museum is in paris"[answer["offset_answer_start"]:
                                         answer["offset_answer_end"]] == answer["answer"]
    else:
        assert heads == ["BertLMHead", "NextSentenceHead"]
        assert summary["test"][1]["task_name"] == "nextsentence"
        assert main(["-q", "convert", str(out), str(tmp_path / "hf"), "--to", "transformers"]
                    ) == EXIT_OK
        assert json.loads((tmp_path / "hf" / "config.json").read_text())["architectures"] == [
            "BertForPreTraining"]
