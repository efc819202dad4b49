"""One training loop for every task: set-up, step, evaluate, checkpoint, finish."""

from __future__ import annotations

import contextlib
import logging
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torch.utils.data import DataLoader
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from farm import distributed
from farm.data_handler.data_silo import DataSilo
from farm.errors import FarmError, ModelFolderError
from farm.eval import Evaluator
from farm.evaluation.metrics import check_metric
from farm.model_folder import FolderKind, inspect_folder, kept_beside_a_model
from farm.modeling.adaptive_model import AdaptiveModel
from farm.serialization import atomic_directory, check_writable, sweep_stale_writes
from farm.tracking import get_tracker
from farm.training.amp import resolve_amp
from farm.training.checkpoint import (
    Checkpoint,
    find_checkpoint,
    restore_optimizer,
    restore_rng,
    save_checkpoint,
)
from farm.training.early_stopping import EarlyStopping
from farm.training.progress import ProgressClock
from farm.training.run_record import RunRecord

logger = logging.getLogger(__name__)

SAVED_MODELS = (FolderKind.FARM_MODEL, FolderKind.BI_ADAPTIVE_MODEL)


class Trainer:
    """Trains an :class:`AdaptiveModel` on a :class:`DataSilo`.

    Every ``evaluate_every`` steps the dev set is evaluated (and early stopping consulted);
    at the end the best model is restored if early stopping saved one, and the test set is
    evaluated (``trainer.test_result``). A step is one batch.

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
        grad_acc_steps (int): Batches whose gradients are averaged into one optimizer step;
            the last, smaller group of an epoch is applied too.
        local_rank (int): Process rank on this node under ``torchrun`` (-1 otherwise).
        early_stopping (EarlyStopping | None): Stops training and keeps the best model.
        log_learning_rate (bool): Track the learning rate with the loss.
        log_loss_every (int): Track the training loss every this many steps.
        checkpoint_on_sigterm (bool): On SIGTERM, save a checkpoint after the current step and
            exit (for spot instances).
        checkpoint_every (int | None): Save a checkpoint every this many steps.
        checkpoint_root_dir (str | Path | None): Folder of the checkpoints.
        checkpoints_to_keep (int): Most recent checkpoints kept.
        evaluator_test (bool): Evaluate on the test set at the end.
        disable_tqdm (bool | None): Hide the progress bar; ``None`` shows it only when
            stderr is a terminal. Either way, each evaluation and the end of each epoch but
            the last log the step, steps per second and the time left.
        max_grad_norm (float | None): Clip gradients to this norm (None: no clipping).
        freeze_lm_steps (int): Keep the language model's weights fixed for the first this
            many steps (only the heads learn).
        freeze_lm_epochs (int): The same, counted in epochs.
        from_epoch (int): Start at this epoch (0-based), as FARM's resume did; the earlier
            epochs are not trained. ``create_or_load_checkpoint`` sets the position itself.
        from_step (int): Start at this batch of ``from_epoch`` (the batches before it are
            skipped).
        global_step (int): The step count to continue from (for schedules of evaluation,
            checkpoints and logging).

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
        disable_tqdm: bool | None = False,
        max_grad_norm: float | None = 1.0,
        freeze_lm_steps: int = 0,
        freeze_lm_epochs: int = 0,
        from_epoch: int = 0,
        from_step: int = 0,
        global_step: int = 0,
    ):
        if (checkpoint_every or checkpoint_on_sigterm) and checkpoint_root_dir is None:
            raise ValueError(
                "checkpoint_every / checkpoint_on_sigterm need checkpoint_root_dir= (the folder "
                "the checkpoints are written to)."
            )
        if grad_acc_steps < 1:
            raise ValueError(f"grad_acc_steps must be at least 1; got {grad_acc_steps}.")
        if freeze_lm_steps and freeze_lm_epochs:
            raise ValueError("Give freeze_lm_steps or freeze_lm_epochs, not both.")
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
        self.freeze_lm_steps = freeze_lm_steps
        self.freeze_lm_epochs = freeze_lm_epochs
        if min(from_epoch, from_step, global_step) < 0:
            raise ValueError(f"from_epoch, from_step and global_step must not be negative; got "
                             f"{from_epoch}, {from_step}, {global_step}.")
        self.global_step = global_step
        self.epoch = from_epoch
        self.step_in_epoch = from_step
        self.test_result: list[dict[str, Any]] | None = None
        self._sigterm = False
        self._saved_best = False
        self._last_eval_step = -1
        self._unlogged_loss: float | None = None  # loss of the last step, if not logged yet
        self._pending_rng: Checkpoint | None = None
        self._clock: ProgressClock | None = None
        self._is_main = distributed.is_main_process()
        self.record = RunRecord()
        if self._is_main:
            self._prepare_output_folders()

    @property
    def core(self) -> AdaptiveModel:
        """The model without a DistributedDataParallel wrapper."""
        return cast(AdaptiveModel, getattr(self.model, "module", self.model))

    def _prepare_output_folders(self) -> None:
        """Clean up what a killed run left half-written, and find a folder that cannot be
        written (or a disk too full for one save) now rather than at the first save."""
        weight_bytes = sum(p.numel() * p.element_size() for p in self.core.parameters())
        save_dir = self.early_stopping.save_dir if self.early_stopping else None
        if save_dir is not None:  # first: checkpoints may be kept inside it
            sweep_stale_writes(save_dir.parent, re.escape(save_dir.name),
                               carry_over=kept_beside_a_model)
            check_writable(save_dir.parent, "folder of EarlyStopping.save_dir",
                           needed_bytes=weight_bytes)
        if self.checkpoint_root_dir is not None:
            sweep_stale_writes(self.checkpoint_root_dir, r"step_\d+")
            # model, model state, optimizer moments (AdamW: two per weight)
            check_writable(self.checkpoint_root_dir, "checkpoint_root_dir",
                           needed_bytes=4 * weight_bytes)

    @classmethod
    def create_or_load_checkpoint(
        cls,
        data_silo: DataSilo,
        checkpoint_root_dir: str | Path,
        model: nn.Module,
        optimizer: Optimizer,
        local_rank: int = -1,
        resume_from_checkpoint: str | None = "latest",
        **kwargs: Any,
    ) -> Trainer:
        """A trainer that continues from a checkpoint if there is one, else starts afresh.

        The resumed run continues exactly where the checkpoint was taken (same batches,
        same random numbers, same optimizer and schedule state), without running the batches
        it had already trained on: on the CPU with a fixed seed it ends with the same weights
        as an uninterrupted run.

        Args:
            data_silo (DataSilo): The same data as the interrupted run.
            checkpoint_root_dir (str | Path): Folder of the checkpoints.
            model (nn.Module): A model built as for the interrupted run; its weights are
                replaced by the checkpoint's.
            optimizer (Optimizer): Its optimizer; its state is replaced too.
            local_rank (int): Process rank on this node under ``torchrun``.
            resume_from_checkpoint (str | None): ``"latest"`` (the newest intact checkpoint),
                a folder name like ``"step_400"``, or None to start afresh.
            **kwargs: The other :class:`Trainer` arguments (``epochs``, ``n_gpu``,
                ``device``, ``lr_schedule``, ``evaluate_every``, ...).

        Returns:
            Trainer: Ready to ``train()``.
        """
        trainer = cls(model=model, optimizer=optimizer, data_silo=data_silo,
                      checkpoint_root_dir=checkpoint_root_dir, local_rank=local_rank, **kwargs)
        checkpoint = None
        if resume_from_checkpoint:
            checkpoint = find_checkpoint(Path(checkpoint_root_dir), resume_from_checkpoint)
        if checkpoint is None:
            logger.info("No checkpoint in %s: training from the start.", checkpoint_root_dir)
        else:
            trainer._resume_from(checkpoint)
        return trainer

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
        if self.early_stopping is not None and dev_evaluator is None:
            logger.warning(
                "early_stopping is set, but the data silo has no dev set: training runs all "
                "%d epochs and no model is saved to EarlyStopping.save_dir (%s). Give the "
                "processor a dev_filename or dev_split > 0.", self.epochs,
                self.early_stopping.save_dir,
            )
        if self._is_main:
            get_tracker().log_params(self._params())
        if self._pending_rng is not None:
            restore_rng(self._pending_rng.rng_tensors, self._pending_rng.state["rng"])
            self._pending_rng = None
        with self._sigterm_flag(), self._logs_above_progress_bar():
            stopped = self._run_epochs(train_loader, dev_evaluator)
            if self._unlogged_loss is not None:
                self._log_loss(self._unlogged_loss)
            if dev_evaluator and self.early_stopping and not stopped and (
                self._last_eval_step != self.global_step
            ):
                self._evaluate(dev_evaluator)
        self._restore_best_model()
        self._evaluate_test()
        if self._is_main:
            saved = self._saved_best and self.early_stopping and self.early_stopping.save_dir
            self.record.send_artifacts(saved or None)
        return self.model

    def _params(self) -> dict[str, Any]:
        """What this run trains, and how, for the tracker."""
        return {
            "model": RunRecord.model_params(self.core),
            "trainer": {
                "epochs": self.epochs, "evaluate_every": self.evaluate_every,
                "grad_acc_steps": self.grad_acc_steps, "max_grad_norm": self.max_grad_norm,
                "amp": str(self.amp_dtype), "device": str(self.device), "n_gpu": self.n_gpu,
                "world_size": distributed.world_size(),
                "freeze_lm_steps": self.freeze_lm_steps,
                "freeze_lm_epochs": self.freeze_lm_epochs,
                "early_stopping_metric": str(self.early_stopping.metric)
                if self.early_stopping else None,
            },
        }

    def _run_epochs(self, train_loader: DataLoader, dev_evaluator: Evaluator | None) -> bool:
        """The epochs; returns True if early stopping ended training."""
        self.model.train()
        sampler: Any = train_loader.batch_sampler
        n_batches = len(train_loader)
        self._clock = ProgressClock(self.epochs * n_batches, start_step=self.global_step)
        for epoch in range(self.epoch, self.epochs):
            self.epoch = epoch
            start = self.step_in_epoch
            shuffled_parts: tuple[Any, ...] = (sampler, train_loader.dataset)
            for shuffled in shuffled_parts:  # a batch sampler or a stream
                if hasattr(shuffled, "set_epoch"):
                    shuffled.set_epoch(epoch)
            resumable = hasattr(sampler, "set_start")
            if resumable:
                sampler.set_start(start)  # skips the batches trained before the checkpoint
            batches = iter(train_loader)
            for _ in range(0 if resumable else start):
                next(batches)  # a sampler that cannot skip: load and drop the seen batches
            progress = tqdm(batches, total=n_batches, initial=start,
                            desc=f"Train epoch {epoch + 1}/{self.epochs}",
                            disable=self.disable_tqdm if self._is_main else True)
            for step, batch in enumerate(progress, start=start):
                group_start = step - step % self.grad_acc_steps
                group_size = min(self.grad_acc_steps, n_batches - group_start)
                loss = self._forward_backward(batch, group_size)
                self.step_in_epoch = step + 1
                if step + 1 == group_start + group_size:
                    self._optimizer_step()
                self.global_step += 1
                self._unlogged_loss = loss  # the curve always ends at the last step
                if self.global_step % self.log_loss_every == 0:
                    self._log_loss(loss)
                progress.set_postfix(loss=f"{loss:.4f}")
                if dev_evaluator and self.evaluate_every and (
                    self.global_step % self.evaluate_every == 0
                ) and self._evaluate(dev_evaluator):
                    return True
                if self.checkpoint_every and self.global_step % self.checkpoint_every == 0:
                    self._save_checkpoint()
                if self._sigterm:
                    self._save_checkpoint()
                    raise SystemExit(
                        f"SIGTERM received: saved a checkpoint at step {self.global_step} in "
                        f"{self.checkpoint_root_dir} and stopped. Resume with "
                        "Trainer.create_or_load_checkpoint(...)."
                    )
            self.step_in_epoch = 0
            if epoch + 1 < self.epochs:
                self._log_progress(f"Epoch {epoch + 1}/{self.epochs} done")
        return False

    def _forward_backward(self, batch: dict[str, Tensor], group_size: int) -> float:
        """Forward and backward of one batch; returns the batch's mean loss."""
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        autocast = (
            torch.autocast(self.device.type, dtype=self.amp_dtype)
            if self.amp_dtype else contextlib.nullcontext()
        )
        with autocast:
            logits = self.model(**batch)
            per_sample = self.core.logits_to_loss(
                logits=logits, global_step=self.global_step, **batch
            )  # (batch,)
        # Sum over this process's samples divided by the global batch size: averaged over
        # processes by DDP, this is exactly the mean over the global batch.
        n_global = distributed.all_reduce_sum(float(per_sample.numel()), self.device)
        loss = per_sample.sum() * distributed.world_size() / n_global
        self.scaler.scale(loss / group_size).backward()
        return float(per_sample.detach().mean())

    def _optimizer_step(self) -> None:
        if self._lm_frozen():
            for language_model in self.core.language_models:
                for param in language_model.parameters():
                    param.grad = None  # AdamW leaves parameters without gradients untouched
        if self.max_grad_norm is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.lr_schedule is not None:
            self.lr_schedule.step()

    def _lm_frozen(self) -> bool:
        return self.global_step < self.freeze_lm_steps or self.epoch < self.freeze_lm_epochs

    def _log_loss(self, loss: float) -> None:
        self._unlogged_loss = None
        if not self._is_main:
            return
        metrics = {"train_loss": loss}
        self.record.add("train_loss", self.global_step, loss)
        if self.log_learning_rate:
            metrics["learning_rate"] = self.optimizer.param_groups[0]["lr"]
        get_tracker().log_metrics(metrics, step=self.global_step)

    def _evaluate(self, evaluator: Evaluator) -> bool:
        """Evaluate on dev (on the main process), consult early stopping; True to stop."""
        self._last_eval_step = self.global_step
        stop = False
        self._log_progress("Evaluating on dev")
        if self._is_main:
            result = evaluator.eval(self.core)  # not through DDP: only this process evaluates
            evaluator.log_results(result, "dev", self.global_step)
            self.record.add_results("dev", self.global_step, result)
            if self.early_stopping:
                stop, is_best, value = self.early_stopping.check_stopping(result)
                if is_best and self.early_stopping.save_dir:
                    # Written aside and renamed into place: a kill never leaves it half-written.
                    with atomic_directory(self.early_stopping.save_dir,
                                          carry_over=kept_beside_a_model) as folder:
                        self._save_model(folder)
                    self._saved_best = True
                    logger.info("Saved the best model so far (%s) to %s", value,
                                self.early_stopping.save_dir)
        return distributed.broadcast_flag(stop, self.device)

    def _logs_above_progress_bar(self) -> contextlib.AbstractContextManager[Any]:
        """While a progress bar may be shown, console log lines are printed above it
        instead of into it."""
        if self.disable_tqdm is True or not self._is_main:
            return contextlib.nullcontext()
        return logging_redirect_tqdm()

    def _log_progress(self, what: str) -> None:
        """A log line with the step, steps per second and the time left (which a progress
        bar shows too, but not in a log file)."""
        if self._is_main and self._clock is not None:
            logger.info("%s at %s", what, self._clock.summary(self.global_step))

    def _save_model(self, directory: Path) -> None:
        self.core.save(directory)
        self.data_silo.processor.save(directory)

    def _save_checkpoint(self) -> None:
        if not self._is_main or self.checkpoint_root_dir is None:
            return
        state = {
            "global_step": self.global_step,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "lr_schedule": self.lr_schedule.state_dict() if self.lr_schedule else None,
            "early_stopping": self.early_stopping.state_dict() if self.early_stopping else None,
            "saved_best": self._saved_best,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "tracking_run_id": getattr(get_tracker(), "run_id", None),
            "history": self.record.history,  # so the curves' plot covers the whole run
        }
        save_checkpoint(self.checkpoint_root_dir, self.global_step, self._save_model,
                        self.core, self.optimizer, state, keep=self.checkpoints_to_keep)

    def _resume_from(self, checkpoint: Checkpoint) -> None:
        """Take over model, optimizer and trainer state from ``checkpoint``."""
        state = checkpoint.state
        self._check_position(checkpoint)
        checkpoint.restore_model(self.core)
        restore_optimizer(self.optimizer, checkpoint.optimizer_tensors, state["optimizer"])
        if self.lr_schedule is not None and state["lr_schedule"] is not None:
            self.lr_schedule.load_state_dict(state["lr_schedule"])
        if self.early_stopping is not None and state["early_stopping"] is not None:
            self.early_stopping.load_state_dict(state["early_stopping"])
        if state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.global_step = state["global_step"]
        self.epoch = state["epoch"]
        self.step_in_epoch = state["step_in_epoch"]
        self._saved_best = state["saved_best"]
        self._last_eval_step = self.global_step
        self._check_saved_best()
        self._pending_rng = checkpoint
        self.record.history = {
            name: [(int(step), float(value)) for step, value in points]
            for name, points in state.get("history", {}).items()
        }
        run_id = state.get("tracking_run_id")
        tracker = get_tracker()
        if run_id and hasattr(tracker, "resume_run"):
            tracker.resume_run(run_id)
        logger.info("Resuming from %s at step %d (epoch %d, batch %d)", checkpoint.path,
                    self.global_step, self.epoch + 1, self.step_in_epoch)

    def _check_position(self, checkpoint: Checkpoint) -> None:
        """Refuse a checkpoint whose position lies beyond this run's schedule (it would
        "resume" into zero steps and report success)."""
        loader = self.data_silo.get_data_loader("train")
        if loader is None:
            return
        n_batches = len(loader)
        state = checkpoint.state
        step, epoch, in_epoch = state["global_step"], state["epoch"], state["step_in_epoch"]
        if step > self.epochs * n_batches or epoch >= self.epochs or in_epoch > n_batches:
            raise FarmError(
                f"Checkpoint {checkpoint.path} is at step {step} (epoch {epoch + 1}, batch "
                f"{in_epoch}), beyond this run's {self.epochs} epochs of {n_batches} batches "
                f"({self.epochs * n_batches} steps): it belongs to another run or its "
                f"{checkpoint.path / 'trainer_state.json'} is damaged. Resume with the data "
                "and epochs it was trained with, or start afresh with another "
                "checkpoint_root_dir (or resume_from_checkpoint=None)."
            )

    def _check_saved_best(self) -> None:
        """If the checkpoint says a best model was saved but ``save_dir`` holds no complete
        model (a run killed while writing it, before saves were atomic), start early
        stopping's record over so the next evaluation writes it again."""
        save_dir = self.early_stopping.save_dir if self.early_stopping else None
        if not (self._saved_best and save_dir is not None and self._is_main):
            return
        try:
            if inspect_folder(save_dir).kind in SAVED_MODELS:
                return
        except ModelFolderError:  # its farm_model.json is damaged
            pass
        logger.warning(
            "The checkpoint says the best model so far was saved to %s, but that folder "
            "holds no complete saved model; early stopping starts its record over, and the "
            "next evaluation saves the best model again.", save_dir)
        assert self.early_stopping is not None
        self.early_stopping.best_so_far = None
        self.early_stopping.n_since_best = 0
        self._saved_best = False
        self._last_eval_step = -1  # evaluate at the end even if no evaluation is due

    @contextlib.contextmanager
    def _sigterm_flag(self) -> Iterator[None]:
        """While training, a SIGTERM only sets a flag the loop checks after each step."""
        if not self.checkpoint_on_sigterm:
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            logger.warning("SIGTERM received: checkpointing at the end of this step.")
            self._sigterm = True

        previous = signal.signal(signal.SIGTERM, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _restore_best_model(self) -> None:
        if not (self.early_stopping and self.early_stopping.save_dir):
            return
        # Only the main process saves, so it decides for all (and has finished writing).
        if not distributed.broadcast_flag(self._saved_best, self.device):
            return
        logger.info("Loading the best model from %s", self.early_stopping.save_dir)
        self.model = type(self.core).load(self.early_stopping.save_dir, device=self.device)
        self.model.connect_heads_with_processor(self.data_silo.processor.tasks)

    def _evaluate_test(self) -> None:
        test_loader = self.data_silo.get_data_loader("test")
        if not self.evaluator_test or test_loader is None or not self._is_main:
            return
        evaluator = Evaluator(test_loader, self.data_silo.processor.tasks, self.device,
                              self.eval_report)
        self.test_result = evaluator.eval(self.core)
        evaluator.log_results(self.test_result, "test", self.global_step)
