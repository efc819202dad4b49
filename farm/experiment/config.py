"""Experiment configs: read (YAML or JSON), override (``--set key=value``), validate as a
whole, and expand into a grid of runs.

A list given for a key that takes one value (``learning_rate: [1e-4, 5e-5]``) is a grid
axis; for keys that take lists themselves (``label_list``, ``layer_dims``) a grid is written
``{grid: [[...], [...]]}``. Every combination of the axes is one run.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farm.errors import FarmError, did_you_mean, near_misses
from farm.experiment.schema import (
    ALL_SECTIONS,
    BI_MODEL_KEYS,
    DATA_KEYS_OF_PROCESSOR,
    EARLY_STOPPING,
    NOT_TRAINABLE,
    NOT_TRAINED_HEADS,
    REQUIRED,
    REQUIRED_SECTIONS,
    SECTIONS,
    TOKENIZER_ARGS,
    Key,
    accepts_float,
    accepts_list,
    constructor_hints,
    type_problem,
)

KeyPath = tuple[str | int, ...]
PACKAGE_PREFIX = "package:"
# The task a processor adds by itself (when given labels or a metric), for the head check.
DEFAULT_TASKS = {
    "TextClassificationProcessor": "text_classification",
    "TextPairClassificationProcessor": "text_classification",
    "RegressionProcessor": "regression",
    "TextPairRegressionProcessor": "regression",
    "NERProcessor": "ner",
}
# Processors that always add their task (BertStyleLMProcessor adds "nextsentence" too, with
# next_sent_pred, its default).
OWN_TASKS = {
    "SquadProcessor": "question_answering",
    "BertStyleLMProcessor": "lm",
    "TextSimilarityProcessor": "text_similarity",
}


def dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path)


class ConfigError(FarmError):
    """An experiment config with problems; ``problems`` holds ``(key path, message)``."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = "\n".join(f"  {path or '(top level)'}: {message}" for path, message in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the experiment config:\n"
                         f"{lines}")


@dataclass
class Run:
    """One run of an experiment: its name, its grid values and its complete config."""

    name: str
    grid_values: dict[str, Any]
    config: dict[str, Any]


@dataclass
class Experiment:
    """A validated experiment config and its runs."""

    source: str
    config: dict[str, Any]
    runs: list[Run]


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a ``.yaml``/``.yml`` or ``.json`` file."""
    path = Path(path)
    if not path.is_file():
        raise FarmError(f"Config file {path} not found.")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as error:
            raise FarmError("YAML configs need PyYAML: pip install 'farm[yaml]' (or write "
                            "the config as JSON).") from error
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise FarmError(f"{path}: not valid YAML: {error}") from error
    elif path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise FarmError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from error
    else:
        raise FarmError(f"{path}: configs are .yaml, .yml or .json files.")
    if not isinstance(data, dict):
        raise FarmError(f"{path}: the config must be a mapping of sections (data, processor, "
                        f"model, heads, ...); got {type(data).__name__}.")
    return data


def parse_value(text: str) -> Any:
    """A ``--set`` value as YAML would read it (numbers, true/false, null, [lists])."""
    try:
        import yaml
    except ImportError:  # without PyYAML: JSON values, else the plain string
        return _json_or_text(text)
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return _json_or_text(text)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(config: dict[str, Any], overrides: list[str]) -> list[tuple[str, str]]:
    """Set ``key.path=value`` items in place; relative paths are taken from the working
    directory. Returns the problems of malformed items."""
    problems = []
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            problems.append((item, "--set takes key=value, e.g. trainer.epochs=3"))
            continue
        path: KeyPath = tuple(int(p) if p.isdigit() else p for p in key.strip().split("."))
        value = _resolve_path_value(path, parse_value(text), Path.cwd())
        target: Any = config
        try:
            for part in path[:-1]:
                target = target.setdefault(part, {}) if isinstance(target, dict) else (
                    target[part])
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            problems.append((key, f"cannot set {key}: {dotted(path[:-1])} is not a mapping "
                             "or list with that key"))
    return problems


def _is_path_key(path: KeyPath) -> bool:
    if len(path) == 2 and path[0] in SECTIONS and isinstance(path[1], str):
        key = SECTIONS[str(path[0])].get(path[1])
        return bool(key and key.path)
    return False


def _resolve_path_value(path: KeyPath, value: Any, base: Path) -> Any:
    """Relative paths of path keys (and local language models) made absolute from ``base``."""
    def resolve(v: Any) -> Any:
        if not isinstance(v, str) or not v or Path(v).is_absolute():
            return v
        if _is_path_key(path):
            return str((base / v).resolve())
        if path in (("model", "language_model"), ("model", "passage_language_model")) and (
                base / v).exists():
            return str((base / v).resolve())
        return v

    if isinstance(value, list):
        return [resolve(v) for v in value]
    if isinstance(value, dict) and set(value) == {"grid"} and isinstance(value["grid"], list):
        return {"grid": [resolve(v) for v in value["grid"]]}
    return resolve(value)


def load_experiment(path: str | Path, overrides: list[str] | None = None,
                    check_paths: bool = True) -> Experiment:
    """Read, override, validate and expand an experiment config.

    Args:
        path (str | Path): The config file.
        overrides (list[str] | None): ``key.path=value`` items (``--set``).
        check_paths (bool): Check that data files and local models exist.

    Raises:
        ConfigError: With every problem found, each with its key path.
    """
    config = read_config_file(path)
    base = Path(path).resolve().parent
    for section in SECTIONS:
        if isinstance(config.get(section), dict):
            for name, value in config[section].items():
                config[section][name] = _resolve_path_value((section, name), value, base)
    model = config.get("model")
    for key in ("language_model", "passage_language_model"):
        if isinstance(model, dict) and key in model:
            model[key] = _resolve_path_value(("model", key), model[key], base)
    problems = apply_overrides(config, overrides or [])
    return build_experiment(config, str(path), check_paths=check_paths, problems=problems)


def build_experiment(config: dict[str, Any], source: str = "config", check_paths: bool = True,
                     problems: list[tuple[str, str]] | None = None) -> Experiment:
    """Validate an experiment config (a mapping) and expand it into runs."""
    validator = _Validator(config, check_paths)
    found = (problems or []) + validator.run()
    if found:
        raise ConfigError(source, found)
    runs = expand_grid(validator.config, validator.axes)
    return Experiment(source=source, config=validator.config, runs=runs)


def expand_grid(config: dict[str, Any], axes: list[tuple[KeyPath, list[Any]]]) -> list[Run]:
    """One run per combination of the grid axes (in the order they appear)."""
    name = config["experiment"]["name"]
    runs = []
    for combination in itertools.product(*[values for _, values in axes]):
        run_config = copy.deepcopy(config)
        grid_values = {}
        for (path, _), value in zip(axes, combination, strict=True):
            target: Any = run_config
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = copy.deepcopy(value)
            grid_values[dotted(path)] = value
        suffix = ",".join(f"{str(k).split('.')[-1]}={_short(v)}" for k, v in grid_values.items())
        run_name = run_config["tracking"]["run_name"] or (f"{name}-{suffix}" if suffix else name)
        if axes and run_config["tracking"]["run_name"]:
            run_name = f"{run_name}-{suffix}"
        runs.append(Run(name=run_name, grid_values=grid_values, config=run_config))
    return runs


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else Path(value).name or value
    return text.replace(" ", "")


class _Validator:
    """Collects every problem of a config, fills defaults, and finds the grid axes."""

    def __init__(self, config: dict[str, Any], check_paths: bool):
        self.config = copy.deepcopy(config)
        self.check_paths = check_paths
        self.problems: list[tuple[str, str]] = []
        self.axes: list[tuple[KeyPath, list[Any]]] = []

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append((dotted(path), message))

    def run(self) -> list[tuple[str, str]]:
        for section in self.config:
            if section not in ALL_SECTIONS:
                self.problem((section,), f"unknown section.{did_you_mean(section, ALL_SECTIONS)}"
                             f" Valid sections: {list(ALL_SECTIONS)}.")
        for section in REQUIRED_SECTIONS:
            if section not in self.config:
                self.problem((section,), "missing section (required: "
                             f"{', '.join(REQUIRED_SECTIONS)}).")
        model = self.config.get("model")
        given_model_keys = set(model) if isinstance(model, dict) else set()
        for section, keys in SECTIONS.items():
            self.config[section] = self.fixed_section((section,), self.config.get(section), keys)
        early = self.config["trainer"].get("early_stopping")
        if isinstance(early, dict):
            self.config["trainer"]["early_stopping"] = self.fixed_section(
                ("trainer", "early_stopping"), early, EARLY_STOPPING)
        self.processor()
        self.heads()
        self.model_kind(given_model_keys)
        self.tracking()
        if self.check_paths:
            self.paths()
        return self.problems

    def value(self, path: KeyPath, value: Any, hint: Any, key: Key | None = None) -> Any:
        """Check one value (each grid value for a grid axis); returns it (coerced)."""
        grid = None
        if isinstance(value, dict) and set(value) == {"grid"}:
            grid = value["grid"]
            if not isinstance(grid, list) or not grid:
                self.problem(path, "grid: needs a non-empty list of values")
                return value
        elif isinstance(value, list) and not accepts_list(hint):
            if not value:
                self.problem(path, "an empty list is not a grid; give one or more values")
                return value
            grid = value
        if grid is not None:
            values = [self.single(path, v, hint, key) for v in grid]
            self.axes.append((path, values))
            return values[0]
        return self.single(path, value, hint, key)

    def single(self, path: KeyPath, value: Any, hint: Any, key: Key | None) -> Any:
        if isinstance(value, str) and accepts_float(hint) and type_problem(value, hint):
            with contextlib.suppress(ValueError):  # YAML reads 1e-4 (no dot) as a string
                value = float(value)
        problem = type_problem(value, hint)
        if problem:
            self.problem(path, problem)
            return value
        if key and key.choices and value not in key.choices:
            hint = did_you_mean(str(value), [str(c) for c in key.choices])
            self.problem(path, f"{value!r} is not a valid choice.{hint} Valid choices: "
                         f"{list(key.choices)}.")
        if key and key.minimum is not None and isinstance(value, int | float) and (
                value < key.minimum):
            self.problem(path, f"must be at least {key.minimum}; got {value}")
        return value

    def fixed_section(self, path: KeyPath, section: Any, keys: dict[str, Key]) -> dict[str, Any]:
        if section is None:
            section = {}
        if not isinstance(section, dict):
            self.problem(path, f"expected a mapping of {sorted(keys)}; got "
                         f"{type(section).__name__}")
            return {k: (None if key.default is REQUIRED else key.default)
                    for k, key in keys.items()}
        out = {}
        for name in section:
            if name not in keys:
                self.problem((*path, name), f"unknown key.{did_you_mean(name, keys)} Valid "
                             f"keys: {sorted(keys)}.")
        for name, key in keys.items():
            if name not in section:
                if key.default is REQUIRED:
                    self.problem((*path, name), f"missing (required): {key.help}")
                out[name] = None if key.default is REQUIRED else key.default
                continue
            out[name] = self.value((*path, name), section[name], key.type, key)
        return out

    def kwargs(self, path: KeyPath, given: dict[str, Any], cls: Any,
               exclude: tuple[str, ...] = (), moved: dict[str, str] | None = None) -> None:
        """Check constructor arguments of ``cls`` given in a mapping (names and types)."""
        hints = constructor_hints(cls)
        for name in list(given):
            if name in ("type", "tasks") or name.startswith("_"):
                continue
            if moved and name in moved:
                self.problem((*path, name), moved[name])
            elif name not in hints or name in exclude:
                valid = sorted(n for n in hints if n not in exclude)
                self.problem((*path, name), f"{cls.__name__} has no argument '{name}'."
                             f"{did_you_mean(name, valid)} Valid: {valid}.")
            else:
                given[name] = self.value((*path, name), given[name], hints[name][0])
        for name, (_, default) in hints.items():
            if default is REQUIRED and name not in given and name not in exclude and not (
                    moved and name in moved):
                self.problem((*path, name), f"missing: {cls.__name__} needs '{name}'.")

    def metric(self, path: KeyPath, metric: Any) -> None:
        from farm.evaluation.metrics import available_metrics

        names = metric if isinstance(metric, list) else [metric]
        for name in names:
            if isinstance(name, str) and name not in available_metrics():
                hint = did_you_mean(name, available_metrics())
                self.problem(path, f"unknown metric '{name}'.{hint} Valid: "
                             f"{available_metrics()}.")

    def processor(self) -> None:
        from farm.data_handler.processors import Processor

        section = self.config.get("processor")
        path: KeyPath = ("processor",)
        if not isinstance(section, dict):
            if section is not None:
                self.problem(path, "expected a mapping with 'type' and the processor's "
                             "arguments")
            return
        valid = sorted(n for n in Processor.subclasses if n not in NOT_TRAINABLE)
        name = section.get("type")
        if name not in valid:
            self.problem((*path, "type"), ("missing" if name is None else f"unknown processor "
                         f"{name!r}.{did_you_mean(str(name), valid)}") + f" Valid: {valid}.")
            return
        moved = {k: f"'{k}' belongs in the data section" for k in DATA_KEYS_OF_PROCESSOR}
        self.kwargs(path, section, Processor.subclasses[name], exclude=TOKENIZER_ARGS,
                    moved=moved)
        if "metric" in section:
            self.metric((*path, "metric"), section["metric"])
        tasks = section.get("tasks", [])
        if not isinstance(tasks, list):
            self.problem((*path, "tasks"), "expected a list of tasks (name, metric, "
                         "label_list, ...)")
            return
        add_task = Processor.add_task
        for i, task in enumerate(tasks):
            task_path = (*path, "tasks", i)
            if not isinstance(task, dict):
                self.problem(task_path, "expected a mapping: name, metric, label_list, ...")
                continue
            self.kwargs(task_path, task, _Signature(add_task))
            if "metric" in task:
                self.metric((*task_path, "metric"), task["metric"])

    def task_names(self) -> set[str] | None:
        section = self.config.get("processor")
        if not isinstance(section, dict):
            return None
        names = {t.get("name") for t in section.get("tasks", []) if isinstance(t, dict)}
        kind = str(section.get("type"))
        if kind in OWN_TASKS:
            names.add(OWN_TASKS[kind])
            if kind == "BertStyleLMProcessor" and section.get("next_sent_pred", True):
                names.add("nextsentence")
            return {str(n) for n in names if n}
        default = DEFAULT_TASKS.get(kind)
        if default is None:
            return None
        if section.get("type") in ("RegressionProcessor", "TextPairRegressionProcessor",
                                   "NERProcessor") or "label_list" in section or (
                "metric" in section):
            names.add(default)
        return {str(n) for n in names if n}

    def heads(self) -> None:
        from farm.modeling.prediction_heads import PredictionHead

        heads = self.config.get("heads")
        if heads is None:
            return
        if not isinstance(heads, list) or not heads:
            self.problem(("heads",), "expected a non-empty list of heads, each with 'type'")
            return
        valid = sorted(n for n in PredictionHead.subclasses if n not in NOT_TRAINED_HEADS)
        tasks = self.task_names()
        for i, head in enumerate(heads):
            path: KeyPath = ("heads", i)
            if not isinstance(head, dict):
                self.problem(path, "expected a mapping with 'type' and the head's arguments")
                continue
            name = head.get("type")
            if name not in valid:
                self.problem((*path, "type"), ("missing" if name is None else
                             f"unknown head {name!r}.{did_you_mean(str(name), valid)}") +
                             f" Valid: {valid}.")
                continue
            cls = PredictionHead.subclasses[name]
            if head.get("class_weights") == "balanced":
                head.pop("class_weights")
                head["_balanced_class_weights"] = True
            self.kwargs(path, head, cls,
                        exclude=("label_list", "metric", "scaler_mean", "scaler_scale"))
            task_name = head.get("task_name", constructor_hints(cls).get("task_name",
                                                                           (None, None))[1])
            if tasks is not None and task_name not in tasks:
                self.problem((*path, "task_name"), f"the processor has no task {task_name!r}; "
                             f"its tasks: {sorted(tasks)}. Set task_name, or add the task "
                             "under processor.tasks.")

    def model_kind(self, given: set[str]) -> None:
        """A BiAdaptiveModel (dense retrieval) goes with a TextSimilarityProcessor and
        TextSimilarityHeads, and only it takes the BiAdaptiveModel keys."""
        kind = self.config["model"].get("type")
        processor = self.config.get("processor")
        processor_type = processor.get("type") if isinstance(processor, dict) else None
        heads = self.config.get("heads")
        if kind == "BiAdaptiveModel":
            if processor_type not in (None, "TextSimilarityProcessor"):
                self.problem(("processor", "type"), f"a BiAdaptiveModel reads the query and "
                             f"passage features of TextSimilarityProcessor, not "
                             f"{processor_type}; or set model.type: AdaptiveModel")
            for i, head in enumerate(heads if isinstance(heads, list) else []):
                if isinstance(head, dict) and head.get("type") not in (None,
                                                                       "TextSimilarityHead"):
                    self.problem(("heads", i, "type"), f"a BiAdaptiveModel takes "
                                 f"TextSimilarityHead heads; got {head.get('type')}")
            return
        for key in sorted(given & set(BI_MODEL_KEYS)):
            self.problem(("model", key), "only for model.type: BiAdaptiveModel (dense "
                         "retrieval); remove it, or set model.type: BiAdaptiveModel")
        if processor_type == "TextSimilarityProcessor":
            self.problem(("model", "type"), "TextSimilarityProcessor makes query and passage "
                         "features for two encoders: set model.type: BiAdaptiveModel")

    def tracking(self) -> None:
        tracking = self.config["tracking"]
        if tracking.get("type") == "mlflow":
            if not tracking.get("tracking_uri"):
                self.problem(("tracking", "tracking_uri"), "required for type mlflow, e.g. "
                             "sqlite:///mlflow.db")
            if importlib.util.find_spec("mlflow") is None:
                self.problem(("tracking", "type"), "mlflow is not installed: pip install "
                             "'farm[mlflow]'")

    def paths(self) -> None:
        data = self.config["data"]
        data_dir = data.get("data_dir")
        if isinstance(data_dir, str):
            if not Path(data_dir).is_dir():
                self.problem(("data", "data_dir"), f"folder {data_dir} not found."
                             f"{near_misses(data_dir)}")
            else:
                for key in ("train_filename", "dev_filename", "test_filename"):
                    name = data.get(key)
                    if isinstance(name, str) and not (Path(data_dir) / name).is_file() and (
                            not Path(name).is_file()):
                        self.problem(("data", key), f"file {name} not found in {data_dir}."
                                     f"{near_misses(Path(data_dir) / name)}")
        for key in ("language_model", "passage_language_model"):
            self.model_path(key)

    def model_path(self, key: str) -> None:
        lm = self.config["model"].get(key)
        if isinstance(lm, str):
            if lm.startswith(PACKAGE_PREFIX):
                if importlib.util.find_spec(lm[len(PACKAGE_PREFIX):]) is None:
                    self.problem(("model", key), f"package "
                                 f"{lm[len(PACKAGE_PREFIX):]!r} is not installed")
            elif not Path(lm).expanduser().exists() and (
                    lm.startswith((".", "/", "~")) or lm.count("/") > 1):
                self.problem(("model", key), f"folder {lm} not found (a hub "
                             "name looks like 'bert-base-cased' or 'org/name')")


class _Signature:
    """Makes a function's signature look like a class for :func:`constructor_hints`."""

    def __init__(self, function: Any):
        self.__name__ = function.__name__
        self.__mro__ = (type("_S", (), {"__init__": function}),)


def package_model_path(name: str) -> str:
    """``package:NAME``: the model folder of an installed package (its ``get_model_path()``)."""
    module = importlib.import_module(name[len(PACKAGE_PREFIX):])
    getter = getattr(module, "get_model_path", None)
    if getter is None:
        raise FarmError(f"{name}: the package has no get_model_path(); give a folder instead.")
    return str(getter())
