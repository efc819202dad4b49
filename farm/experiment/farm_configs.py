"""FARM 0.8's JSON experiment runner (``farm.experiment.load_experiments``,
``run_experiment``, ``get_adaptive_model``), for FARM's ``experiments/*.json`` configs.

This FARM's own configs (YAML/JSON, validated whole) are run by ``farm train CONFIG``
(``farm.experiment.runner``); ``run_experiment`` takes either kind.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

import torch

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processors import Processor
from farm.errors import FarmError, did_you_mean
from farm.experiment.config import Experiment
from farm.file_utils import ConfigDict, read_config, unnestConfig
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_heads import PredictionHead
from farm.modeling.tokenization import Tokenizer
from farm.tracking import MLFlowLogger, StdoutLogger, Tracker
from farm.train import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

logger = logging.getLogger(__name__)

# Keys of a FARM config's "task" group that steer the run instead of the processor.
_RUN_KEYS = ("name", "processor_name", "do_train", "do_eval", "train_filename", "dev_filename",
             "test_filename", "dev_split")


def load_experiments(file: str | Path) -> list[ConfigDict]:
    """The runs of a FARM JSON config: :func:`~farm.file_utils.read_config`, then the grid
    of its list values (:func:`~farm.file_utils.unnestConfig`)."""
    return unnestConfig(read_config(file))


def run_experiment(args: ConfigDict | Experiment) -> Any:
    """Train and save the model of one FARM config run (from :func:`load_experiments`), as
    FARM's ``run_experiment`` did; an ``Experiment`` of this FARM's own config format runs
    every run of it (``farm.experiment.runner.run_experiment``).

    A FARM run: tracking (MLflow at ``logging.mlflow_url``, else the log), device and seed,
    ``Tokenizer.load``, ``Processor.load(task.processor_name, ...)``, ``DataSilo`` (class
    weights with ``parameter.balance_classes``), :func:`get_adaptive_model`,
    ``initialize_optimizer`` (linear warm-up over ``parameter.warmup_proportion``),
    ``Trainer``; the model and processor are saved to ``general.output_dir/<model>-<task>``.

    Returns:
        The trained ``AdaptiveModel`` (a list of run results for an ``Experiment``).
    """
    if isinstance(args, Experiment):
        from farm.experiment.runner import run_experiment as run_own  # the CLI's runner

        return run_own(args)
    general, task = args.get("general", ConfigDict()), ConfigDict(args["task"])
    parameter, logs = args["parameter"], args.get("logging", ConfigDict())
    tracker = _tracker(logs)
    tracker.init_experiment(experiment_name=logs.get("mlflow_experiment") or "farm",
                            run_name=logs.get("mlflow_run_name"),
                            nested=bool(logs.get("mlflow_nested", False)))
    grad_acc = int(parameter.get("gradient_accumulation_steps") or 1)
    if grad_acc < 1:
        raise FarmError(f"gradient_accumulation_steps must be at least 1; got {grad_acc}.")
    local_rank = int(general.get("local_rank", -1) if general.get("local_rank") is not None
                     else -1)
    use_amp = general.get("use_amp")
    device, n_gpu = initialize_device_settings(use_cuda=general.get("cuda"),
                                               local_rank=local_rank, use_amp=use_amp)
    set_all_seeds(int(general.get("seed", 42)))
    tokenizer = Tokenizer.load(parameter["model"], do_lower_case=parameter.get("lower_case"))
    processor = Processor.load(
        task["processor_name"], general.get("data_dir"), tokenizer, int(parameter["max_seq_len"]),
        task.get("train_filename"), task.get("dev_filename"), task.get("test_filename"),
        task.get("dev_split", 0.0),
        **_processor_options(task),
    )
    data_silo = DataSilo(processor, batch_size=int(parameter["batch_size"]) // grad_acc,
                         distributed=local_rank != -1)
    class_weights = None
    if parameter.get("balance_classes"):
        class_weights = data_silo.calculate_class_weights(task_name=next(iter(processor.tasks)))
    model = get_adaptive_model(
        lm_output_type=parameter.get("lm_output_type", "per_sequence"),
        prediction_heads=parameter["prediction_head"], layer_dims=parameter.get("layer_dims"),
        model=parameter["model"], device=device,
        embeds_dropout_prob=float(parameter.get("embeds_dropout_prob", 0.1)),
        class_weights=class_weights,
    )
    loader = data_silo.get_data_loader("train")
    if loader is None:
        raise FarmError("The config's task names no training data (train_filename).")
    prepared, optimizer, schedule = initialize_optimizer(
        model=model, n_batches=len(loader), n_epochs=int(parameter["epochs"]), device=device,
        learning_rate=float(parameter["learning_rate"]), grad_acc_steps=grad_acc,
        schedule_opts={"name": "LinearWarmup",
                       "warmup_proportion": float(parameter.get("warmup_proportion", 0.1))},
        use_amp=use_amp,
    )
    trainer = Trainer(model=prepared, optimizer=optimizer, data_silo=data_silo,
                      epochs=int(parameter["epochs"]), n_gpu=n_gpu, device=device,
                      lr_schedule=schedule, evaluate_every=int(logs.get("eval_every", 100)),
                      grad_acc_steps=grad_acc, use_amp=use_amp, disable_tqdm=True)
    trained: Any = trainer.train()
    name = Path(str(parameter["model"])).name or "model"
    save_dir = Path(general.get("output_dir") or "saved_models") / f"{name}-{task['name']}"
    trained.save(save_dir)
    processor.save(save_dir)
    tracker.end_run()
    logger.info("Saved the model of experiment '%s' to %s", task["name"], save_dir)
    return trained


def get_adaptive_model(
    lm_output_type: str | list[str],
    prediction_heads: str | list[str],
    layer_dims: list[int] | None,
    model: str | Path,
    device: str | torch.device,
    embeds_dropout_prob: float,
    class_weights: list[float] | None = None,
) -> AdaptiveModel:
    """FARM's helper: a language model with heads named by class (comma-separated, e.g.
    ``"TextClassificationHead"``), each with ``layer_dims`` (and ``class_weights`` where the
    head takes them).

    Args:
        lm_output_type (str | list[str]): ``"per_sequence"``, ``"per_token"``, ... per head
            (comma-separated or a list).
        prediction_heads (str | list[str]): Head class names.
        layer_dims (list[int] | None): Layer sizes of each head (its first is fitted to the
            language model's width).
        model (str | Path): Language model name or folder.
        device (str | torch.device): Where the model lives.
        embeds_dropout_prob (float): Dropout on the language model's output.
        class_weights (list[float] | None): Class weights of the heads that take them.
    """
    head_names = _names(prediction_heads)
    heads = []
    for name in head_names:
        if name not in PredictionHead.subclasses:
            raise FarmError(f"Unknown prediction head '{name}'."
                            f"{did_you_mean(name, PredictionHead.subclasses)} Known: "
                            f"{sorted(PredictionHead.subclasses)}.")
        head_cls = PredictionHead.subclasses[name]
        accepted = inspect.signature(head_cls.__init__).parameters
        options: dict[str, Any] = {}
        if layer_dims is not None and "layer_dims" in accepted:
            options["layer_dims"] = list(layer_dims)
        if class_weights is not None and "class_weights" in accepted:
            options["class_weights"] = class_weights
        heads.append(head_cls(**options))
    return AdaptiveModel(language_model=LanguageModel.load(model), prediction_heads=heads,
                         embeds_dropout_prob=embeds_dropout_prob,
                         lm_output_types=_names(lm_output_type), device=device)


def _names(value: str | list[str]) -> list[str]:
    return [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)


def _processor_options(task: dict[str, Any]) -> dict[str, Any]:
    """The task entries the processor takes as keyword arguments (FARM configs hold run
    switches such as ``do_train`` in the same group)."""
    return {k: v for k, v in task.items() if k not in _RUN_KEYS and v is not None}


def _tracker(logs: dict[str, Any]) -> Tracker:
    url = logs.get("mlflow_url")
    return MLFlowLogger(tracking_uri=url) if url else StdoutLogger()
