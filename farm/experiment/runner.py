"""Runs an experiment: for each run of the grid, FARM's fine-tuning script built from the
config (processor → data silo → language model + heads → optimizer → trainer), the model
saved, its test results written to ``experiment.json`` and (optionally) MLflow."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processors import Processor
from farm.errors import FarmError
from farm.experiment.config import PACKAGE_PREFIX, Experiment, Run, package_model_path
from farm.experiment.schema import PRETRAINED_HEADS
from farm.modeling.adaptive_model import MODEL_META, AdaptiveModel
from farm.modeling.biadaptive_model import BiAdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_heads import PredictionHead
from farm.modeling.tokenization import Tokenizer
from farm.tracking import MLFlowLogger, StdoutLogger, Tracker, get_tracker, set_tracker
from farm.training.early_stopping import EarlyStopping
from farm.training.trainer import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

logger = logging.getLogger(__name__)

SUMMARY_FILE = "experiment.json"


@dataclass
class RunResult:
    """What one run produced.

    Attributes:
        name (str): The run's name.
        output_dir (Path): Where its model was saved.
        grid_values (dict[str, Any]): Its values of the grid axes.
        test_result (list[dict[str, Any]] | None): Test metrics per head (no reports).
        best_dev (float | None): Best early-stopping value on dev, if early stopping ran.
    """

    name: str
    output_dir: Path
    grid_values: dict[str, Any]
    test_result: list[dict[str, Any]] | None
    best_dev: float | None

    def summary(self) -> dict[str, Any]:
        return {"run": self.name, "output_dir": str(self.output_dir), "grid": self.grid_values,
                "best_dev": self.best_dev, "test": self.test_result}


def run_experiment(experiment: Experiment, overwrite: bool = False) -> list[RunResult]:
    """Train every run of ``experiment`` in turn.

    Args:
        experiment (Experiment): The validated experiment.
        overwrite (bool): Replace models that earlier runs saved in the runs' output
            folders; without it such a folder stops the experiment before any training.

    Raises:
        FarmError: An output folder holds a model and ``overwrite`` is False.
    """
    taken = [folder for folder in (output_dir(experiment, run) for run in experiment.runs)
             if holds_model(folder)]
    if taken and not overwrite:
        what = f"{taken[0]} holds" if len(taken) == 1 else (
            f"{len(taken)} run folders hold ({', '.join(str(folder) for folder in taken)})")
        raise FarmError(
            f"experiment.output_dir: {what} a model saved by an earlier run, which this "
            "experiment would overwrite. Pass overwrite=True to replace it, or set "
            "experiment.output_dir to another folder.")
    return [run_one(run, output_dir(experiment, run)) for run in experiment.runs]


def holds_model(folder: Path) -> bool:
    """Whether ``folder`` holds a model saved by a run (or its run summary)."""
    return (folder / MODEL_META).is_file() or (folder / SUMMARY_FILE).is_file()


def output_dir(experiment: Experiment, run: Run) -> Path:
    """``experiment.output_dir``, with one sub-folder per run when there is a grid."""
    base = Path(run.config["experiment"]["output_dir"])
    if len(experiment.runs) == 1:
        return base
    return base / re.sub(r"[^A-Za-z0-9_.=,-]+", "_", run.name)


def model_source(name: str) -> str:
    return package_model_path(name) if name.startswith(PACKAGE_PREFIX) else name


def run_one(run: Run, save_dir: Path) -> RunResult:
    """FARM's fine-tuning script for one run's config; the model ends up in ``save_dir``."""
    config = run.config
    experiment, data, trainer_opts = config["experiment"], config["data"], config["trainer"]
    tracker = _start_tracking(config, run)
    earlier_model = _saved_at(save_dir)  # a model replaced with --overwrite
    try:
        set_all_seeds(experiment["seed"])
        use_cuda = {"auto": None, "cpu": False, "cuda": True}[experiment["device"]]
        device, n_gpu = initialize_device_settings(use_cuda=use_cuda)
        if use_cuda and device.type != "cuda":
            logger.warning("experiment.device is cuda, but there is no CUDA device: training "
                           "on the CPU.")
        lm_source = model_source(config["model"]["language_model"])
        tokenizer_opts = {k: v for k, v in [("do_lower_case", config["model"]["do_lower_case"])]
                          if v is not None}
        tokenizer = Tokenizer.load(lm_source, **tokenizer_opts)
        passage_name = config["model"]["passage_language_model"]
        passage_source = model_source(passage_name) if passage_name else None
        passage_tokenizer = (Tokenizer.load(passage_source, **tokenizer_opts)
                             if passage_source else tokenizer)
        processor = build_processor(config["processor"], data, tokenizer, passage_tokenizer)
        data_silo = DataSilo(processor=processor, batch_size=trainer_opts["batch_size"],
                             eval_batch_size=trainer_opts["eval_batch_size"],
                             caching=data["caching"], cache_path=data["cache_path"],
                             seed=experiment["seed"])
        heads = [build_head(h, data_silo, lm_source) for h in config["heads"]]
        model = build_model(config["model"], lm_source, passage_source, heads, device)
        opt = config["optimizer"]
        wrapped, optimizer, schedule = initialize_optimizer(
            model=model, n_batches=len(data_silo.loaders["train"] or []),
            n_epochs=trainer_opts["epochs"], device=device, learning_rate=opt["learning_rate"],
            optimizer_opts=opt["optimizer_opts"], schedule_opts=opt["schedule_opts"],
            grad_acc_steps=opt["grad_acc_steps"], use_amp=opt["use_amp"],
        )
        early = trainer_opts["early_stopping"]
        early_stopping = EarlyStopping(save_dir=save_dir, **early) if early else None
        trainer = Trainer(
            model=wrapped, optimizer=optimizer, data_silo=data_silo,
            epochs=trainer_opts["epochs"], n_gpu=n_gpu, device=device, lr_schedule=schedule,
            evaluate_every=trainer_opts["evaluate_every"], early_stopping=early_stopping,
            use_amp=opt["use_amp"], grad_acc_steps=opt["grad_acc_steps"],
            max_grad_norm=trainer_opts["max_grad_norm"],
            log_loss_every=trainer_opts["log_loss_every"],
            checkpoint_every=trainer_opts["checkpoint_every"],
            checkpoint_root_dir=trainer_opts["checkpoint_root_dir"],
            checkpoints_to_keep=trainer_opts["checkpoints_to_keep"],
            evaluator_test=trainer_opts["evaluator_test"],
            disable_tqdm=trainer_opts["disable_tqdm"],
        )
        trained = trainer.train()
        if early_stopping is None or not _saved_since(save_dir, earlier_model):
            core = getattr(trained, "module", trained)
            assert isinstance(core, AdaptiveModel | BiAdaptiveModel)
            core.save(save_dir)
            processor.save(save_dir)
        test = [{k: v for k, v in r.items() if k not in ("report", "preds", "labels")}
                for r in trainer.test_result] if trainer.test_result else None
        best = early_stopping.best_so_far if early_stopping else None
        result = RunResult(run.name, save_dir, run.grid_values, test, best)
        (save_dir / SUMMARY_FILE).write_text(json.dumps(
            {**result.summary(), "config": config}, indent=2, default=str))
        return result
    finally:
        tracker.end_run()
        set_tracker(None)


def _saved_at(folder: Path) -> int | None:
    meta = folder / MODEL_META
    return meta.stat().st_mtime_ns if meta.is_file() else None


def _saved_since(folder: Path, earlier: int | None) -> bool:
    """Whether a model was saved in ``folder`` (by early stopping) during this run."""
    saved = _saved_at(folder)
    return saved is not None and saved != earlier


def build_model(section: dict[str, Any], lm_source: str, passage_source: str | None,
                heads: list[PredictionHead], device: Any) -> AdaptiveModel | BiAdaptiveModel:
    """The ``AdaptiveModel`` (or, for ``type: BiAdaptiveModel``, query and passage
    encoders) of the model section."""
    language_model = LanguageModel.load(lm_source, language=section["language"])
    if section["type"] == "BiAdaptiveModel":
        passage_model = None if section["shared_encoder"] else LanguageModel.load(
            passage_source or lm_source, language=section["language"])
        return BiAdaptiveModel(language_model, passage_model, heads,
                               embeds_dropout_prob=section["embeds_dropout_prob"],
                               device=device, loss_weights=section["loss_weights"],
                               pooling=section["pooling"])
    return AdaptiveModel(language_model, heads,
                         embeds_dropout_prob=section["embeds_dropout_prob"], device=device,
                         loss_weights=section["loss_weights"])


def build_processor(section: dict[str, Any], data: dict[str, Any], tokenizer: Any,
                    passage_tokenizer: Any = None) -> Processor:
    """The processor named by ``section["type"]`` with the data section's files (and, for
    processors with query and passage tokenizers, the tokenizers of both encoders)."""
    kwargs = {k: v for k, v in section.items() if k not in ("type", "tasks")}
    data_kwargs = {k: data[k] for k in ("data_dir", "train_filename", "dev_filename",
                                        "test_filename", "dev_split", "dev_stratification")}
    cls = Processor.subclasses[section["type"]]
    accepted = _accepted(cls)
    if "query_tokenizer" in accepted:
        kwargs.update(query_tokenizer=tokenizer,
                      passage_tokenizer=passage_tokenizer or tokenizer)
    else:
        kwargs["tokenizer"] = tokenizer
    processor = cls(**kwargs, **{k: v for k, v in data_kwargs.items() if k in accepted})
    for task in section.get("tasks", []):
        processor.add_task(**task)
    return processor


def _accepted(cls: type) -> set[str]:
    from farm.experiment.schema import constructor_hints

    return set(constructor_hints(cls))


def build_head(section: dict[str, Any], data_silo: DataSilo, lm_source: str | None = None
               ) -> PredictionHead:
    """A head from its config; ``num_labels`` defaults to its task's label count and
    ``class_weights: balanced`` is computed from the training data. A ``BertLMHead`` or
    ``NextSentenceHead`` without shape arguments is the language model's own pretrained
    head where it has one, else a new head of its architecture (``cls.load(lm_source)``)."""
    kwargs = {k: v for k, v in section.items() if k != "type" and not k.startswith("_")}
    cls = PredictionHead.subclasses[section["type"]]
    if lm_source and section["type"] in PRETRAINED_HEADS and set(kwargs) <= {"task_name"}:
        return cls.load(lm_source, **kwargs)
    head_args = _accepted(cls)
    task_name = kwargs.get("task_name") or _default_task_name(cls)
    task = data_silo.processor.tasks.get(task_name, {})
    labels = task.get("label_list")
    if labels and "num_labels" in head_args and "num_labels" not in kwargs and (
            "layer_dims" not in kwargs):
        kwargs["num_labels"] = len(labels)
    if section.get("_balanced_class_weights"):
        kwargs["class_weights"] = data_silo.calculate_class_weights(task_name=task_name)
    return cls(**kwargs)


def _default_task_name(cls: type) -> str:
    from farm.experiment.schema import constructor_hints

    return str(constructor_hints(cls).get("task_name", (None, ""))[1])


def _start_tracking(config: dict[str, Any], run: Run) -> Tracker:
    tracking = config["tracking"]
    kind = tracking["type"]
    name = tracking["experiment_name"] or config["experiment"]["name"]
    tracker: Tracker
    if kind == "mlflow":
        tracker = MLFlowLogger(tracking_uri=tracking["tracking_uri"])
    elif kind == "stdout":
        tracker = StdoutLogger()
    else:
        set_tracker(None)
        return get_tracker()
    tracker.init_experiment(experiment_name=name, run_name=run.name)
    tracker.log_params({"config": config, "grid": run.grid_values})
    return tracker
