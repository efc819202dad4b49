"""One training loop for every task: set-up, step, evaluate, checkpoint, finish."""

from __future__ import annotations

import contextlib
import logging
import signal
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from tqdm import tqdm

from farm.data_handler.data_silo import DataSilo
from farm.eval import Evaluator
from farm.evaluation.metrics import check_metric
from farm.modeling.adaptive_model import AdaptiveModel
from farm.tracking import get_tracker
from farm.training.amp import resolve_amp
from farm.training.checkpoint import save_checkpoint
from farm.training.early_stopping import EarlyStopping

logger = logging.getLogger(__name__)


class Trainer:
    """Trains an :class:`AdaptiveModel` on a :class:`DataSilo`.

    Every ``evaluate_every`` steps the dev set is evaluated (and early stopping consulted);
    at the end the best model is restored if early stopping saved one, and the test set is
    evaluated (``trainer.test_result``).

    Args:
        model (nn.Module): The model (as returned by ``initialize_optimizer``).
        optimizer (Optimizer): Its optimizer.
        data_silo (DataSilo): The data.
        epochs (int): Passes over the training data.
        n_gpu (int): GPUs in use (informational; multi-GPU training runs under ``torchrun``).
        device (str | torch.device): Device of the model.
        lr_schedule (LRScheduler | None): Stepped after every optimizer step.
        evaluate_every (int): Evaluate on dev every this many steps (0: never during training).
        eval_report (bool): Log per-class reports with dev results.
        use_amp (str | bool | None): Mixed precision (see ``farm.training.amp``).
        grad_acc_steps (int): Batches whose gradients are summed before a step; the last,
            smaller group of an epoch is applied too.
        local_rank (int): Process rank on this node under ``torchrun`` (-1 otherwise).
        early_stopping (EarlyStopping | None): Stops training and keeps the best model.
        log_learning_rate (bool): Track the learning rate with the loss.
        log_loss_every (int): Track the training loss every this many steps.
        checkpoint_on_sigterm (bool): On SIGTERM, save a checkpoint at the next step and exit.
        checkpoint_every (int | None): Save a checkpoint every this many steps.
        checkpoint_root_dir (str | Path | None): Folder of the checkpoints.
        checkpoints_to_keep (int): Most recent checkpoints kept.
        evaluator_test (bool): Evaluate on the test set at the end.
        disable_tqdm (bool): Hide progress bars.
        max_grad_norm (float | None): Clip gradients to this norm (None: no clipping).

    Example:
        >>> trainer = Trainer(model=model, optimizer=optimizer, data_silo=data_silo, epochs=2,
        ...                   n_gpu=n_gpu, lr_schedule=lr_schedule, device=device,
        ...                   evaluate_every=100, early_stopping=earlystop)
        >>> model = trainer.train()
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: Optimizer,
        data_silo: DataSilo,
        epochs: int,
        n_gpu: int,
        device: str | torch.device,
        lr_schedule: LRScheduler | None = None,
        evaluate_every: int = 100,
        eval_report: bool = True,
        use_amp: str | bool | None = None,
        grad_acc_steps: int = 1,
        local_rank: int = -1,
        early_stopping: EarlyStopping | None = None,
        log_learning_rate: bool = False,
        log_loss_every: int = 10,
        checkpoint_on_sigterm: bool = False,
        checkpoint_every: int | None = None,
        checkpoint_root_dir: str | Path | None = None,
        checkpoints_to_keep: int = 3,
        evaluator_test: bool = True,
        disable_tqdm: bool = False,
        max_grad_norm: float | None = 1.0,
    ):
        if (checkpoint_every or checkpoint_on_sigterm) and checkpoint_root_dir is None:
            raise ValueError(
                "checkpoint_every / checkpoint_on_sigterm need checkpoint_root_dir= (the folder "
                "the checkpoints are written to)."
            )
        if grad_acc_steps < 1:
            raise ValueError(f"grad_acc_steps must be at least 1; got {grad_acc_steps}.")
        self.model = model
        self.optimizer = optimizer
        self.data_silo = data_silo
        self.epochs = epochs
        self.n_gpu = n_gpu
        self.device = torch.device(device)
        self.lr_schedule = lr_schedule
        self.evaluate_every = evaluate_every
        self.eval_report = eval_report
        self.amp_dtype = resolve_amp(use_amp, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.grad_acc_steps = grad_acc_steps
        self.local_rank = local_rank
        self.early_stopping = early_stopping
        self.log_learning_rate = log_learning_rate
        self.log_loss_every = log_loss_every
        self.checkpoint_on_sigterm = checkpoint_on_sigterm
        self.checkpoint_every = checkpoint_every
        self.checkpoint_root_dir = Path(checkpoint_root_dir) if checkpoint_root_dir else None
        self.checkpoints_to_keep = checkpoints_to_keep
        self.evaluator_test = evaluator_test
        self.disable_tqdm = disable_tqdm
        self.max_grad_norm = max_grad_norm
        self.global_step = 0
        self.epoch = 0
        self.test_result: list[dict[str, Any]] | None = None
        self._sigterm = False
        self._saved_best = False
        self._last_eval_step = -1

    @property
    def core(self) -> AdaptiveModel:
        """The model without a DistributedDataParallel wrapper."""
        core = cast(AdaptiveModel, getattr(self.model, "module", self.model))
        return core

    def train(self) -> nn.Module:
        """Run training; returns the model (the best one if early stopping saved one)."""
        tasks = self.data_silo.processor.tasks
        self.core.connect_heads_with_processor(tasks, require_labels=True)
        for task in tasks.values():
            check_metric(task["metric"])
        train_loader = self.data_silo.get_data_loader("train")
        if train_loader is None:
            raise ValueError("The data silo has no training data (train_filename is None).")
        dev_loader = self.data_silo.get_data_loader("dev")
        dev_evaluator = Evaluator(dev_loader, tasks, self.device, self.eval_report) if (
            dev_loader is not None) else None
        previous_handler = self._install_sigterm_handler()
        try:
            stopped = self._run_epochs(train_loader, dev_evaluator)
            if dev_evaluator and self.early_stopping and not stopped and (
                self._last_eval_step != self.global_step
            ):
                self._evaluate(dev_evaluator)
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGTERM, previous_handler)
        self._restore_best_model()
        self._evaluate_test()
        return self.model

    def _run_epochs(self, train_loader: Any, dev_evaluator: Evaluator | None) -> bool:
        """The epochs; returns True if early stopping ended training."""
        self.model.train()
        for epoch in range(self.epoch, self.epochs):
            self.epoch = epoch
            sampler = train_loader.batch_sampler if hasattr(
                train_loader.batch_sampler, "set_epoch") else train_loader.sampler
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            n_batches = len(train_loader)
            progress = tqdm(train_loader, desc=f"Train epoch {epoch + 1}/{self.epochs}",
                            disable=self.disable_tqdm or self.local_rank > 0)
            for step, batch in enumerate(progress):
                loss = self._forward_backward(batch)
                if (step + 1) % self.grad_acc_steps == 0 or step + 1 == n_batches:
                    self._optimizer_step()
                self.global_step += 1
                if self.global_step % self.log_loss_every == 0:
                    self._log_loss(loss)
                progress.set_postfix(loss=f"{loss:.4f}")
                if dev_evaluator and self.evaluate_every and (
                    self.global_step % self.evaluate_every == 0
                ) and self._evaluate(dev_evaluator):
                    return True
                if self.checkpoint_every and self.global_step % self.checkpoint_every == 0:
                    self._save_checkpoint(epoch, step + 1)
                if self._sigterm:
                    self._save_checkpoint(epoch, step + 1)
                    raise SystemExit(
                        f"SIGTERM received: saved a checkpoint at step {self.global_step} in "
                        f"{self.checkpoint_root_dir} and stopped training."
                    )
        return False

    def _forward_backward(self, batch: dict[str, torch.Tensor]) -> float:
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        autocast = (
            torch.autocast(self.device.type, dtype=self.amp_dtype)
            if self.amp_dtype else contextlib.nullcontext()
        )
        with autocast:
            logits = self.model(**batch)
            loss = self.core.logits_to_loss(logits=logits, global_step=self.global_step, **batch)
            loss = loss.mean()
        self.scaler.scale(loss / self.grad_acc_steps).backward()
        return float(loss.detach())

    def _optimizer_step(self) -> None:
        if self.max_grad_norm is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.lr_schedule is not None:
            self.lr_schedule.step()

    def _log_loss(self, loss: float) -> None:
        metrics = {"train_loss": loss}
        if self.log_learning_rate:
            metrics["learning_rate"] = self.optimizer.param_groups[0]["lr"]
        get_tracker().log_metrics(metrics, step=self.global_step)

    def _evaluate(self, evaluator: Evaluator) -> bool:
        """Evaluate on dev, consult early stopping; returns True to stop training."""
        self._last_eval_step = self.global_step
        result = evaluator.eval(self.model)
        evaluator.log_results(result, "dev", self.global_step)
        if not self.early_stopping:
            return False
        stop, is_best, value = self.early_stopping.check_stopping(result)
        if is_best and self.early_stopping.save_dir and self.local_rank <= 0:
            self._save_model(self.early_stopping.save_dir)
            self._saved_best = True
            logger.info("Saved the best model so far (%s) to %s", value,
                        self.early_stopping.save_dir)
        return stop

    def _save_model(self, directory: Path) -> None:
        self.core.save(directory)
        self.data_silo.processor.save(directory)

    def _save_checkpoint(self, epoch: int, step_in_epoch: int) -> None:
        if self.local_rank > 0 or self.checkpoint_root_dir is None:
            return
        state = {
            "global_step": self.global_step,
            "epoch": epoch,
            "step_in_epoch": step_in_epoch,
            "lr_schedule": self.lr_schedule.state_dict() if self.lr_schedule else None,
            "early_stopping": self.early_stopping.state_dict() if self.early_stopping else None,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
        }
        save_checkpoint(self.checkpoint_root_dir, self.global_step, self._save_model,
                        self.optimizer, state, keep=self.checkpoints_to_keep)

    def _install_sigterm_handler(self) -> Any:
        if not self.checkpoint_on_sigterm:
            return None

        def handler(signum: int, frame: Any) -> None:
            logger.warning("SIGTERM received: checkpointing at the end of this step.")
            self._sigterm = True

        return signal.signal(signal.SIGTERM, handler)

    def _restore_best_model(self) -> None:
        if self.early_stopping and self.early_stopping.save_dir and self._saved_best:
            logger.info("Loading the best model from %s", self.early_stopping.save_dir)
            self.model = AdaptiveModel.load(self.early_stopping.save_dir, device=self.device)
            self.model.connect_heads_with_processor(self.data_silo.processor.tasks)

    def _evaluate_test(self) -> None:
        test_loader = self.data_silo.get_data_loader("test")
        if not self.evaluator_test or test_loader is None:
            return
        evaluator = Evaluator(test_loader, self.data_silo.processor.tasks, self.device,
                              self.eval_report)
        self.test_result = evaluator.eval(self.model)
        evaluator.log_results(self.test_result, "test", self.global_step)
