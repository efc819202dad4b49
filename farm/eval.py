"""Evaluation of a model on one data loader (FARM's ``farm.eval.Evaluator``)."""

from __future__ import annotations

import logging
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from farm.compat import log_once
from farm.evaluation.metrics import compute_metrics, report_for
from farm.modeling.adaptive_model import AdaptiveModel
from farm.tracking import get_tracker

logger = logging.getLogger(__name__)


class Evaluator:
    """Runs a model over a data loader and computes every head's loss and metrics.

    Args:
        data_loader (DataLoader): Batches of named tensors with labels.
        tasks (dict[str, dict[str, Any]]): ``processor.tasks`` (metric and labels per task).
        device (str | torch.device): Device of the model.
        report (bool): Add a per-class report (``"report"``) to each head's result.

    Example:
        >>> evaluator = Evaluator(data_silo.get_data_loader("test"), processor.tasks, "cpu")
        >>> results = evaluator.eval(model)  # one dict per head
        >>> results[0]["acc"]
    """

    def __init__(
        self,
        data_loader: DataLoader,
        tasks: dict[str, dict[str, Any]],
        device: str | torch.device,
        report: bool = True,
    ):
        self.data_loader = data_loader
        self.tasks = tasks
        self.device = torch.device(device)
        self.report = report

    def eval(
        self, model: nn.Module, return_preds_and_labels: bool = False,
        calibrate_conf_scores: bool = False,
        use_confidence_scores_for_ranking: bool | None = None,
        use_no_answer_legacy_confidence: bool = False,
    ) -> list[dict[str, Any]]:
        """Evaluate; the model's train/eval mode is restored afterwards.

        Args:
            model (nn.Module): An ``AdaptiveModel`` (or one wrapped in DDP).
            return_preds_and_labels (bool): Add ``"preds"`` and ``"labels"`` to each result
                (for question answering, per question FARM's pair ``(candidates,
                no_ans_gap)`` of ``QACandidate`` objects and the gold answer texts).
            calibrate_conf_scores (bool): Before computing the metrics, let every head that
                has confidence scores (``calibrate_conf``, e.g. question answering) fit
                their temperature on this data.
            use_confidence_scores_for_ranking (bool | None): Set the question answering
                heads' ranking by confidence (True) or by score (False) before evaluating;
                None keeps each head's setting.
            use_no_answer_legacy_confidence (bool): FARM's option for an old no-answer
                confidence formula; accepted with a warning, no effect.

        Returns:
            list[dict[str, Any]]: Per head ``{"loss", "task_name", <metrics>, "report"}``.
        """
        core = cast(AdaptiveModel, getattr(model, "module", model))
        heads = core.heads
        if use_no_answer_legacy_confidence:
            log_once("Evaluator.eval:use_no_answer_legacy_confidence",
                      "Evaluator.eval(use_no_answer_legacy_confidence=True) has no effect: "
                      "there is one confidence for spans and no-answers alike.")
        if use_confidence_scores_for_ranking is not None:
            for head in heads:
                if hasattr(head, "use_confidence_scores_for_ranking"):
                    cast(Any, head).use_confidence_scores_for_ranking = (
                        use_confidence_scores_for_ranking)
        losses: list[list[np.ndarray]] = [[] for _ in heads]
        preds: list[list[Any]] = [[] for _ in heads]
        labels: list[list[Any]] = [[] for _ in heads]
        calibrated = [calibrate_conf_scores and hasattr(h, "calibrate_conf") for h in heads]
        collected: list[list[Any]] = [[] for _ in heads]  # (logits, batch) for calibration
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                for batch in self.data_loader:
                    batch = {k: v.to(self.device) for k, v in batch.items()}
                    logits = model(**batch)
                    for i, (head, head_logits) in enumerate(zip(heads, logits, strict=True)):
                        loss = head.logits_to_loss(logits=head_logits, **batch)
                        losses[i].append(loss.float().cpu().numpy())
                        if calibrated[i]:
                            collected[i].append((head_logits.float().cpu(),
                                                 {k: v.cpu() for k, v in batch.items()}))
                        preds[i] += head.logits_to_preds(logits=head_logits, **batch)
                        labels[i] += head.prepare_labels(**batch)
        finally:
            model.train(was_training)
        for i, head in enumerate(heads):
            if calibrated[i]:
                head.calibrate_conf(collected[i])  # type: ignore[operator]
                # Predictions again, with the confidences of the new temperature.
                preds[i] = [p for head_logits, batch in collected[i]
                            for p in head.logits_to_preds(logits=head_logits, **batch)]
        references = getattr(self.data_loader.dataset, "references", None)
        results = []
        for i, head in enumerate(heads):
            task = self.tasks.get(head.task_name, {})
            metric = task.get("metric", head.metric)
            # A sample whose label is masked (None: missing in multitask data) has no loss
            # and takes no part in the metrics.
            keep = [j for j, label in enumerate(labels[i]) if label is not None]
            preds[i], labels[i] = [preds[i][j] for j in keep], [labels[i][j] for j in keep]
            head_losses = np.concatenate(losses[i])[keep] if losses[i] else np.zeros(0)
            # One entry per basket for the metric (e.g. a long sentence's windows joined).
            refs = [references[j] for j in keep] if references is not None else None
            preds[i], labels[i] = head.merge_per_basket(preds[i], labels[i], references=refs)
            result: dict[str, Any] = {
                "task_name": head.task_name,
                "loss": float(head_losses.mean()) if len(head_losses) else float("nan"),
            }
            if metric is not None and keep:
                result.update(compute_metrics(metric, preds[i], labels[i]))
            report = report_for(task.get("task_type"))
            if self.report and report is not None and keep:
                result["report"] = report(
                    preds[i], labels[i], task.get("label_list", head.label_list)
                )
            if return_preds_and_labels:
                result["preds"], result["labels"] = preds[i], labels[i]
            results.append(result)
        return results

    @staticmethod
    def log_results(
        results: list[dict[str, Any]], dataset_name: str, steps: int, logging: bool = True,
        print: bool = True, num_fold: int | None = None,
    ) -> None:
        """Log the results and send their numbers to the active tracker.

        Args:
            results (list[dict[str, Any]]): What :meth:`eval` returned.
            dataset_name (str): ``"dev"`` or ``"test"``, used in the metric names.
            steps (int): Training step the results belong to.
            logging (bool): Send the numbers to the tracker.
            print (bool): Write the results (and reports) to the log.
            num_fold (int | None): Fold number in cross-validation.
        """
        fold = f" (fold {num_fold})" if num_fold is not None else ""
        for head in results:
            numbers = {
                k: v for k, v in head.items() if isinstance(v, int | float) and k != "task_name"
            }
            if print:
                shown = ", ".join(f"{k}: {v:.4f}" for k, v in numbers.items())
                logger.info("%s%s, step %d, task %s: %s", dataset_name.capitalize(), fold,
                            steps, head["task_name"], shown)
                if head.get("report"):
                    logger.info("\n%s", head["report"])
            if logging:
                prefix = f"{dataset_name}_" + (f"fold{num_fold}_" if num_fold is not None else "")
                get_tracker().log_metrics(
                    {f"{prefix}{k}_{head['task_name']}": v for k, v in numbers.items()},
                    step=steps,
                )
