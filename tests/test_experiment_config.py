"""Experiment configs: whole-config validation messages, grid expansion, --set overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from farm.errors import FarmError
from farm.experiment import ConfigError, build_experiment, load_experiment
from farm.experiment.config import apply_overrides

pytest.importorskip("yaml")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "configs"


def minimal(data_dir: Path, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "data": {"data_dir": str(data_dir)},
        "processor": {"type": "TextClassificationProcessor", "max_seq_len": 32,
                      "label_list": ["negative", "positive"], "metric": "acc"},
        "model": {"language_model": "bert-base-uncased"},
        "heads": [{"type": "TextClassificationHead"}],
    }
    config.update(sections)
    return config


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_configs_are_valid(path: Path) -> None:
    experiment = load_experiment(path)  # its data ships in examples/
    assert experiment.runs
    data_dir = Path(experiment.config["data"]["data_dir"])
    assert data_dir.is_absolute()  # resolved relative to the config file
    if "sentiment" in path.stem or "grid" in path.stem:
        assert data_dir == EXAMPLES.parent / "sentiment"


def test_every_problem_is_listed_with_its_key_path_and_choices(tmp_path: Path) -> None:
    config = {
        "experimnt": {"name": "x"},
        "data": {"data_dir": str(tmp_path / "missing"), "dev_splitt": 0.2},
        "processor": {"type": "TextClassificationProcessor", "max_seq_len": "sixty",
                      "label_list": ["a", "b"], "metric": "accuracy", "data_dir": "x"},
        "model": {"language_model": "./no_such_model"},
        "heads": [{"type": "TextClassificationHead", "num_label": 2},
                  {"type": "RegresionHead"},
                  {"type": "TextClassificationHead", "task_name": "sentiment"}],
        "optimizer": {"learning_rate": -1.0},
        "trainer": {"epochs": [1, "two"], "early_stopping": {"metric": "acc", "mode": "maximum"}},
        "tracking": {"type": "mlfow"},
    }
    with pytest.raises(ConfigError) as error:
        build_experiment(config, "bad.yaml")
    problems = dict(error.value.problems)
    assert problems["experimnt"].startswith("unknown section. Did you mean 'experiment'?")
    assert "Did you mean 'dev_split'?" in problems["data.dev_splitt"]
    assert problems["processor.max_seq_len"] == "expected an integer; got str 'sixty'"
    assert problems["processor.metric"].startswith("unknown metric 'accuracy'.")
    assert "'acc'" in problems["processor.metric"]
    assert problems["processor.data_dir"] == "'data_dir' belongs in the data section"
    assert "folder ./no_such_model not found" in problems["model.language_model"]
    assert "Did you mean 'num_labels'?" in problems["heads.0.num_label"]
    assert "Did you mean 'RegressionHead'?" in problems["heads.1.type"]
    assert problems["heads.2.task_name"].startswith(
        "the processor has no task 'sentiment'; its tasks: ['text_classification']")
    assert problems["optimizer.learning_rate"] == "must be at least 0.0; got -1.0"
    assert problems["trainer.epochs"] == "expected an integer; got str 'two'"
    assert problems["trainer.early_stopping.mode"] == (
        "'maximum' is not a valid choice. Did you mean 'max'? Valid choices: ['min', 'max'].")
    assert "Valid choices: ['none', 'stdout', 'mlflow']" in problems["tracking.type"]
    assert problems["data.data_dir"] == (
        f"folder {tmp_path / 'missing'} not found. {tmp_path} is empty.")
    assert str(error.value).startswith(f"bad.yaml: {len(problems)} problem(s)")


def test_missing_sections_and_required_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        build_experiment({"data": {}, "processor": {"type": "NERProcessor"}}, check_paths=False)
    problems = dict(error.value.problems)
    assert problems["model"].startswith("missing section")
    assert problems["heads"].startswith("missing section")
    assert problems["data.data_dir"] == "missing (required): folder of the data files"
    assert problems["processor.max_seq_len"] == "missing: NERProcessor needs 'max_seq_len'."


def test_lists_expand_into_a_grid_of_runs(tmp_path: Path) -> None:
    config = minimal(tmp_path, optimizer={"learning_rate": [1e-4, 5e-5]},
                     trainer={"epochs": [1, 2], "batch_size": 8})
    config["heads"][0]["layer_dims"] = {"grid": [[32, 2], [32, 16, 2]]}
    experiment = build_experiment(config, check_paths=False)
    assert len(experiment.runs) == 8
    assert [r.grid_values for r in experiment.runs[:3]] == [
        {"optimizer.learning_rate": 1e-4, "trainer.epochs": 1, "heads.0.layer_dims": [32, 2]},
        {"optimizer.learning_rate": 1e-4, "trainer.epochs": 1,
         "heads.0.layer_dims": [32, 16, 2]},
        {"optimizer.learning_rate": 1e-4, "trainer.epochs": 2, "heads.0.layer_dims": [32, 2]},
    ]
    run = experiment.runs[-1]
    assert run.config["optimizer"]["learning_rate"] == 5e-5
    assert run.config["trainer"]["epochs"] == 2
    assert run.config["heads"][0]["layer_dims"] == [32, 16, 2]
    assert run.config["processor"]["label_list"] == ["negative", "positive"]  # not a grid
    assert run.name == "farm-learning_rate=5e-05,epochs=2,layer_dims=[32,16,2]"
    assert len({r.name for r in experiment.runs}) == 8


def test_grid_values_are_checked_one_by_one(tmp_path: Path) -> None:
    config = minimal(tmp_path, trainer={"epochs": [1, 0]}, optimizer={"learning_rate": []})
    with pytest.raises(ConfigError) as error:
        build_experiment(config, check_paths=False)
    assert dict(error.value.problems) == {
        "trainer.epochs": "must be at least 1; got 0",
        "optimizer.learning_rate": "an empty list is not a grid; give one or more values",
    }


def test_files_overrides_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "data").mkdir()
    (tmp_path / "conf" / "data" / "train.tsv").write_text("text\tlabel\n")
    config = minimal(Path("data"))
    config["optimizer"] = {"learning_rate": "1e-4"}  # YAML 1.1 reads 1e-4 as a string
    file = tmp_path / "conf" / "exp.json"
    file.write_text(json.dumps(config))
    experiment = load_experiment(file)
    assert experiment.config["data"]["data_dir"] == str(tmp_path / "conf" / "data")
    assert experiment.config["optimizer"]["learning_rate"] == 1e-4

    monkeypatch.chdir(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "train.tsv").write_text("text\tlabel\n")
    experiment = load_experiment(file, ["data.data_dir=other", "trainer.epochs=[2, 3]",
                                        "heads.0.num_labels=2", "experiment.seed=7"])
    assert experiment.config["data"]["data_dir"] == str(tmp_path / "other")  # from the cwd
    assert [r.config["trainer"]["epochs"] for r in experiment.runs] == [2, 3]
    assert experiment.config["heads"][0]["num_labels"] == 2
    assert experiment.config["experiment"]["seed"] == 7

    with pytest.raises(ConfigError, match="--set takes key=value"):
        load_experiment(file, ["trainer.epochs"])
    problems = apply_overrides({"heads": []}, ["heads.3.type=X"])
    assert problems and problems[0][0] == "heads.3.type"
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(FarmError, match="bad.yaml: not valid YAML"):
        load_experiment(bad)
    with pytest.raises(FarmError, match="not found"):
        load_experiment(tmp_path / "nope.yaml")


def test_task_configs_check_tasks_model_type_and_its_keys(tmp_path: Path) -> None:
    """QA, masked-LM and DPR configs: the processor's own tasks, model.type and the keys
    only a BiAdaptiveModel takes; TextSimilarityProcessor's tokenizers are not asked for."""
    def problems_of(config: dict[str, Any]) -> dict[str, str]:
        with pytest.raises(ConfigError) as error:
            build_experiment(config, check_paths=False)
        return dict(error.value.problems)

    qa = minimal(tmp_path, processor={"type": "SquadProcessor", "max_seq_len": 384,
                                      "doc_stride": 128, "max_samples": 10},
                 heads=[{"type": "QuestionAnsweringHead", "task_name": "qa"}])
    assert problems_of(qa) == {"heads.0.task_name": "the processor has no task 'qa'; its "
                               "tasks: ['question_answering']. Set task_name, or add the task "
                               "under processor.tasks."}
    qa["heads"][0]["task_name"] = "question_answering"
    assert build_experiment(qa, check_paths=False).runs

    lm = minimal(tmp_path, processor={"type": "BertStyleLMProcessor", "max_seq_len": 64,
                                      "next_sent_pred": False},
                 heads=[{"type": "BertLMHead"}, {"type": "NextSentenceHead"}],
                 model={"language_model": "bert-base-uncased", "pooling": "reduce_mean"})
    problems = problems_of(lm)
    assert problems["heads.1.task_name"].startswith(
        "the processor has no task 'nextsentence'; its tasks: ['lm']")
    assert problems["model.pooling"].startswith("only for model.type: BiAdaptiveModel")
    assert len(problems) == 2

    dpr = minimal(tmp_path, processor={"type": "TextSimilarityProcessor",
                                       "max_seq_len_query": 32, "max_seq_len_passage": 64},
                  heads=[{"type": "TextSimilarityHead"}, {"type": "TextClassificationHead"}],
                  model={"language_model": "bert-base-uncased", "type": "BiAdaptiveModel",
                         "pooling": "mean"})
    problems = problems_of(dpr)
    assert problems["model.pooling"] == ("'mean' is not a valid choice. Valid choices: "
                                         "['cls_token', 'reduce_mean', 'pooled'].")
    assert problems["heads.1.type"] == ("a BiAdaptiveModel takes TextSimilarityHead heads; "
                                        "got TextClassificationHead")
    assert problems["heads.1.task_name"].startswith("the processor has no task "
                                                    "'text_classification'")
    assert len(problems) == 3  # no "missing: query_tokenizer"
    dpr["model"] = {"language_model": "bert-base-uncased"}
    dpr["heads"] = dpr["heads"][:1]
    assert problems_of(dpr) == {"model.type": "TextSimilarityProcessor makes query and "
                                "passage features for two encoders: set model.type: "
                                "BiAdaptiveModel"}
    dpr["model"]["type"] = "BiAdaptiveModel"
    experiment = build_experiment(dpr, check_paths=False)
    assert experiment.config["model"]["pooling"] == "cls_token"


def test_the_config_reference_in_the_docs_is_the_schemas() -> None:
    """docs/cli.md lists exactly the schema's keys, defaults and choices (regenerate with
    ``python -m farm.experiment.reference --write docs/cli.md``), and its example config
    uses only keys of the schema."""
    import yaml

    from farm.experiment.reference import config_reference, generated_part
    from farm.experiment.schema import EARLY_STOPPING, SECTIONS

    page = EXAMPLES.parents[1] / "docs" / "cli.md"
    assert generated_part(page) == config_reference()
    for section, keys in SECTIONS.items():
        for name, key in keys.items():
            assert f"| `{name}` | " in config_reference()
            assert key.help, f"{section}.{name} has no help text for the reference"
    example = yaml.safe_load(page.read_text().split("```yaml\n", 1)[1].split("```", 1)[0])
    for section, values in example.items():
        if section in SECTIONS:
            assert set(values) <= set(SECTIONS[section]), section
    assert set(example["trainer"]["early_stopping"]) <= set(EARLY_STOPPING)
    assert set(SECTIONS["trainer"]) <= set(example["trainer"])  # every trainer key shown
