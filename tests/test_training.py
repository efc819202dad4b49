"""Training: early stopping, the trainer loop, checkpoints, optimizer set-up, metrics."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
from torch import nn

from farm.data_handler.data_silo import DataSilo
from farm.eval import Evaluator
from farm.evaluation import metrics
from farm.evaluation.metrics import available_metrics, compute_metrics, register_metrics
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.optimization import initialize_optimizer
from farm.train import EarlyStopping, Trainer
from farm.training.checkpoint import optimizer_state, read_checkpoint, restore_optimizer
from farm.utils import set_all_seeds
from tests.farm_helpers import (
    LABELS,
    make_model,
    make_processor,
    make_trainer,
    model_state,
    same_weights,
    tokenize_batch,
    write_separable_data,
)


def make_silo(model_dir: Path, data_dir: Path, n_train: int = 24, n_test: int = 8,
              batch_size: int = 4, **processor_kwargs: Any) -> DataSilo:
    """Separable data in ``data_dir`` and its data silo (a quarter of train is dev)."""
    set_all_seeds(42)
    write_separable_data(data_dir, n_train=n_train, n_test=n_test)
    return DataSilo(make_processor(model_dir, data_dir, **processor_kwargs),
                    batch_size=batch_size)


def dev_result(**values: Any) -> list[dict[str, Any]]:
    """A one-head dev result as the Evaluator returns it."""
    return [{"task_name": "text_classification", "report": "...", **values}]


# ---------------------------------------------------------------- early stopping


def check_all(earlystop: EarlyStopping, name: str, values: list[float]
              ) -> list[tuple[bool, bool]]:
    """``(stop, is_best)`` after each of ``values``."""
    return [earlystop.check_stopping(dev_result(**{name: v}))[:2] for v in values]


def test_early_stopping_min_mode_counts_evaluations_without_improvement() -> None:
    earlystop = EarlyStopping(metric="loss", mode="min", patience=2)
    assert check_all(earlystop, "loss", [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.8, 0.9]) == [
        (False, True), (False, True), (False, False), (False, False),
        (False, True), (False, False), (False, False), (True, False),
    ]
    assert earlystop.best_so_far == 0.7
    assert earlystop.eval_values == [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.8, 0.9]


def test_early_stopping_max_mode_with_zero_patience_stops_at_the_first_miss() -> None:
    earlystop = EarlyStopping(metric="acc", mode="max", patience=0)
    assert check_all(earlystop, "acc", [0.5, 0.6, 0.6]) == [
        (False, True), (False, True), (True, False),
    ]


def test_early_stopping_ignores_changes_within_min_delta() -> None:
    earlystop = EarlyStopping(metric="acc", mode="max", patience=5, min_delta=0.05)
    assert check_all(earlystop, "acc", [0.5, 0.54, 0.56, 0.6]) == [
        (False, True), (False, False), (False, True), (False, False),
    ]
    assert earlystop.best_so_far == 0.56
    low = EarlyStopping(metric="loss", mode="min", patience=5, min_delta=0.001)
    assert check_all(low, "loss", [1.0, 0.9995, 0.998]) == [
        (False, True), (False, False), (False, True),
    ]


def test_early_stopping_never_stops_before_min_evals() -> None:
    earlystop = EarlyStopping(metric="loss", mode="min", patience=0, min_evals=3)
    assert check_all(earlystop, "loss", [1.0, 1.1, 1.2]) == [
        (False, True), (False, False), (True, False),
    ]


def test_early_stopping_reads_the_chosen_head_or_a_function() -> None:
    results = [{"task_name": "a", "acc": 0.1}, {"task_name": "b", "acc": 0.9}]
    assert EarlyStopping(metric="acc", mode="max", head=1).check_stopping(results)[2] == 0.9
    mean_acc = EarlyStopping(metric=lambda r: sum(h["acc"] for h in r) / len(r), mode="max")
    assert mean_acc.check_stopping(results)[2] == pytest.approx(0.5)


def test_early_stopping_head_that_the_model_lacks_names_the_heads() -> None:
    results = [{"task_name": "a", "acc": 0.1}, {"task_name": "b", "acc": 0.9}]
    with pytest.raises(IndexError, match=r"head=2.*2 head\(s\): \['a', 'b'\]"):
        EarlyStopping(metric="acc", mode="max", head=2).check_stopping(results)


def test_early_stopping_without_a_dev_set_is_warned(tiny_bert_dir: Path, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """No dev set: nothing can be saved to save_dir, and the user is told so."""
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data", dev_split=0.0)
    assert data_silo.get_data_loader("dev") is None
    earlystop = EarlyStopping(metric="acc", mode="max", save_dir=tmp_path / "best")
    trainer = make_trainer(make_model(tiny_bert_dir), data_silo, epochs=1,
                           early_stopping=earlystop, evaluate_every=2, evaluator_test=False)
    with caplog.at_level("WARNING", logger="farm"):
        trainer.train()
    assert "the data silo has no dev set" in caplog.text and str(tmp_path / "best") in caplog.text
    assert not (tmp_path / "best").exists()


def test_early_stopping_unknown_metric_lists_the_available_ones() -> None:
    earlystop = EarlyStopping(metric="f1_marco", mode="max")
    with pytest.raises(KeyError, match="f1_marco") as error:
        earlystop.check_stopping(dev_result(loss=0.3, acc=0.8, f1_macro=0.7))
    message = str(error.value)
    assert "Did you mean 'f1_macro'" in message
    assert "Available: ['loss', 'acc', 'f1_macro']" in message


def test_early_stopping_mode_must_be_min_or_max() -> None:
    with pytest.raises(ValueError, match="'min' or 'max'"):
        EarlyStopping(mode="maximum")


# ---------------------------------------------------------------- the trainer


def test_trainer_returns_the_best_model_not_the_last(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """The dev metric peaks at the first evaluation: that model is returned and tested."""
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data")
    model = make_model(tiny_bert_dir)
    snapshots: list[dict[str, torch.Tensor]] = []

    def peaks_first(results: list[dict[str, Any]]) -> float:
        snapshots.append(model_state(model))
        return -len(snapshots)

    save_dir = tmp_path / "best"
    earlystop = EarlyStopping(metric=peaks_first, mode="max", patience=100, save_dir=save_dir)
    trainer = make_trainer(model, data_silo, epochs=2, learning_rate=1e-2, evaluate_every=2,
                           early_stopping=earlystop)
    returned = trainer.train()

    assert len(snapshots) >= 3
    best = model_state(returned)
    assert same_weights(best, snapshots[0])
    assert same_weights(best, model_state(AdaptiveModel.load(save_dir)))
    assert not same_weights(best, model_state(model))
    assert returned.prediction_heads[0].label_list == LABELS

    assert trainer.test_result is not None
    assert [set(r) for r in trainer.test_result] == [{"loss", "acc", "task_name", "report"}]
    result = trainer.test_result[0]
    assert result["task_name"] == "text_classification"
    assert all(label in result["report"] for label in LABELS)
    tasks = data_silo.processor.tasks
    expected = Evaluator(data_silo.get_data_loader("test"), tasks, "cpu").eval(returned)[0]
    assert result["loss"] == pytest.approx(expected["loss"])
    assert result["acc"] == pytest.approx(expected["acc"])


def test_early_stopping_ends_training(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """With a worsening metric and patience 1, training ends after the third evaluation."""
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data")
    model = make_model(tiny_bert_dir)
    calls: list[int] = []

    def worsening(results: list[dict[str, Any]]) -> float:
        calls.append(1)
        return -len(calls)

    earlystop = EarlyStopping(metric=worsening, mode="max", patience=1)
    trainer = make_trainer(model, data_silo, epochs=3, evaluate_every=1, early_stopping=earlystop)
    returned = trainer.train()
    assert trainer.global_step == 3
    assert len(calls) == 3
    assert returned is model  # nothing was saved, so the trained model itself is returned


def test_model_is_back_in_train_mode_after_a_dev_evaluation(tiny_bert_dir: Path,
                                                            tmp_path: Path) -> None:
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data")
    model = make_model(tiny_bert_dir)
    modes: list[bool] = []
    model.register_forward_pre_hook(lambda module, args: modes.append(module.training))
    trainer = make_trainer(model, data_silo, epochs=1, evaluate_every=1, evaluator_test=False)
    trainer.train()
    n_steps = len(data_silo.loaders["train"])
    assert trainer.global_step == n_steps > 1
    assert modes.count(True) == n_steps
    assert modes.count(False) >= n_steps  # at least one dev batch per step


def test_checkpoints_keep_the_newest_and_can_be_loaded(tiny_bert_dir: Path,
                                                       tmp_path: Path) -> None:
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data", n_train=32, dev_split=0.0)
    assert len(data_silo.loaders["train"]) == 8
    root = tmp_path / "checkpoints"
    trainer = make_trainer(make_model(tiny_bert_dir), data_silo, epochs=1, checkpoint_every=2,
                           checkpoint_root_dir=root, checkpoints_to_keep=2)
    returned = trainer.train()

    assert sorted(p.name for p in root.iterdir()) == ["step_6", "step_8"]
    for step in (6, 8):
        folder = root / f"step_{step}"
        assert {p.name for p in folder.iterdir()} == {
            "model", "model_state.safetensors", "optimizer.safetensors",
            "gradients.safetensors", "rng.safetensors", "trainer_state.json",
        }
        state = json.loads((folder / "trainer_state.json").read_text())
        assert (state["global_step"], state["epoch"], state["step_in_epoch"]) == (step, 0, step)
        assert state["lr_schedule"]["last_epoch"] == step
        inferencer = Inferencer.load(folder / "model", disable_tqdm=True)
        prediction = inferencer.inference_from_dicts([{"text": "good film"}])[0]["predictions"][0]
        assert prediction["label"] in LABELS

    last = root / "step_8"
    assert same_weights(model_state(AdaptiveModel.load(last / "model")), model_state(returned))
    checkpoint = read_checkpoint(last)
    fresh_model = make_model(tiny_bert_dir)
    _, fresh, _ = initialize_optimizer(fresh_model, 8, 1, "cpu", 1e-3)
    restore_optimizer(fresh, checkpoint.optimizer_tensors, checkpoint.state["optimizer"])
    assert_same_optimizer_state(fresh, trainer.optimizer)


def test_checkpoint_every_needs_a_root_dir(tiny_bert_dir: Path, tmp_path: Path) -> None:
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data")
    with pytest.raises(ValueError, match="checkpoint_root_dir"):
        make_trainer(make_model(tiny_bert_dir), data_silo, checkpoint_every=2)


def assert_same_optimizer_state(a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
    """Both optimizers hold equal per-parameter state and hyperparameters."""
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a["param_groups"] == state_b["param_groups"]
    assert state_a["state"].keys() == state_b["state"].keys()
    assert state_a["state"]
    for param_id, values in state_a["state"].items():
        assert values.keys() == state_b["state"][param_id].keys()
        for key, value in values.items():
            other = state_b["state"][param_id][key]
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, other), (param_id, key)
            else:
                assert value == other, (param_id, key)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda groups: torch.optim.AdamW(groups, lr=0.01),
        lambda groups: torch.optim.SGD(groups, lr=0.01, momentum=0.9),
    ],
    ids=["AdamW", "SGD-momentum"],
)
def test_optimizer_state_round_trips_through_safetensors_and_json(
    make_optimizer: Any, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3), nn.Linear(3, 2))
    twin = copy.deepcopy(net)

    def groups(module: nn.Module) -> list[dict[str, Any]]:
        params = list(module.parameters())
        return [{"params": params[:2], "weight_decay": 0.01},
                {"params": params[2:], "weight_decay": 0.0}]

    def step(module: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor) -> None:
        optimizer.zero_grad()
        module(x).pow(2).sum().backward()
        optimizer.step()

    optimizer = make_optimizer(groups(net))
    inputs = [torch.randn(5, 4) for _ in range(3)]
    for x in inputs[:2]:
        step(net, optimizer, x)
    tensors, meta = optimizer_state(optimizer)
    save_file(tensors, str(tmp_path / "optimizer.safetensors"))
    (tmp_path / "state.json").write_text(json.dumps(meta))

    twin.load_state_dict(net.state_dict())
    restored = make_optimizer(groups(twin))
    restore_optimizer(restored, load_file(str(tmp_path / "optimizer.safetensors")),
                      json.loads((tmp_path / "state.json").read_text()))
    assert_same_optimizer_state(restored, optimizer)
    step(net, optimizer, inputs[2])
    step(twin, restored, inputs[2])
    assert same_weights(model_state(twin), model_state(net))


@pytest.mark.parametrize(("grad_acc_steps", "expected_steps"), [(1, 10), (2, 6), (3, 4)])
def test_gradient_accumulation_applies_the_last_partial_group(
    grad_acc_steps: int, expected_steps: int, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    """Five batches per epoch, two epochs: ceil(5 / grad_acc_steps) steps per epoch."""
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data", n_train=20, dev_split=0.0)
    assert len(data_silo.loaders["train"]) == 5
    model = make_model(tiny_bert_dir)
    trainer = make_trainer(model, data_silo, epochs=2, grad_acc_steps=grad_acc_steps,
                           evaluator_test=False)
    steps: list[int] = []
    trainer.optimizer.register_step_post_hook(lambda *_: steps.append(trainer.global_step))
    trainer.train()
    assert len(steps) == expected_steps
    assert steps[-1] == 9  # the epoch's last batch made a step, even in a partial group
    assert trainer.lr_schedule is not None
    assert trainer.lr_schedule.last_epoch == expected_steps
    assert trainer.optimizer.param_groups[0]["lr"] == 0.0  # the schedule ran to its end
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------- optimizer set-up


def lrs_over_steps(optimizer: torch.optim.Optimizer, schedule: Any, n_steps: int) -> list[float]:
    """The learning rate before the first and after each of ``n_steps`` steps."""
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(n_steps):
        optimizer.step()
        schedule.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def test_biases_and_layer_norms_get_no_weight_decay(tiny_bert_dir: Path) -> None:
    model = make_model(tiny_bert_dir)
    _, optimizer, _ = initialize_optimizer(model, n_batches=10, n_epochs=1, device="cpu",
                                           learning_rate=1e-3)
    assert isinstance(optimizer, torch.optim.AdamW)
    decay_of = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    named = dict(model.named_parameters())
    assert len(decay_of) == len(named)
    no_decay = {n for n, p in named.items() if decay_of[id(p)] == 0.0}
    expected = {n for n in named if n.endswith("bias") or "LayerNorm" in n}
    assert no_decay == expected
    assert decay_of[id(named["language_model.model.embeddings.word_embeddings.weight"])] == 0.01

    _, custom, _ = initialize_optimizer(
        model, 10, 1, "cpu", 1e-3,
        optimizer_opts={"weight_decay": 0.1, "no_decay": ["word_embeddings"]},
    )
    decay_of = {id(p): g["weight_decay"] for g in custom.param_groups for p in g["params"]}
    assert decay_of[id(named["language_model.model.embeddings.word_embeddings.weight"])] == 0.0
    assert decay_of[id(named["prediction_heads.0.feed_forward.feed_forward.0.weight"])] == 0.1


def test_default_schedule_warms_up_over_ten_percent_then_decays_linearly(
    tiny_bert_dir: Path,
) -> None:
    lr = 1e-3
    _, optimizer, schedule = initialize_optimizer(make_model(tiny_bert_dir), n_batches=10,
                                                  n_epochs=2, device="cpu", learning_rate=lr)
    warmup, total = 2, 20
    expected = [lr * k / warmup if k < warmup else lr * (total - k) / (total - warmup)
                for k in range(total + 1)]
    assert lrs_over_steps(optimizer, schedule, total) == pytest.approx(expected, abs=1e-12)


def test_schedule_counts_optimizer_steps_with_gradient_accumulation(tiny_bert_dir: Path) -> None:
    _, optimizer, schedule = initialize_optimizer(make_model(tiny_bert_dir), n_batches=10,
                                                  n_epochs=1, device="cpu", learning_rate=1.0,
                                                  grad_acc_steps=3)
    assert lrs_over_steps(optimizer, schedule, 4) == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])


def test_optimizer_and_schedule_options_are_honoured(tiny_bert_dir: Path) -> None:
    lr = 0.1
    _, optimizer, schedule = initialize_optimizer(
        make_model(tiny_bert_dir), n_batches=10, n_epochs=2, device="cpu", learning_rate=lr,
        optimizer_opts={"name": "SGD", "momentum": 0.9},
        schedule_opts={"name": "CosineWarmup", "warmup_proportion": 0.2},
    )
    assert isinstance(optimizer, torch.optim.SGD)
    assert all(g["momentum"] == 0.9 for g in optimizer.param_groups)
    warmup, total = 4, 20
    expected = [
        lr * k / warmup if k < warmup
        else lr * 0.5 * (1 + math.cos(math.pi * (k - warmup) / (total - warmup)))
        for k in range(total + 1)
    ]
    assert lrs_over_steps(optimizer, schedule, total) == pytest.approx(expected, abs=1e-12)

    _, _, step_lr = initialize_optimizer(make_model(tiny_bert_dir), 10, 1, "cpu", lr,
                                         schedule_opts={"name": "StepLR", "step_size": 3})
    assert isinstance(step_lr, torch.optim.lr_scheduler.StepLR)
    assert step_lr.step_size == 3
    assert initialize_optimizer(make_model(tiny_bert_dir), 10, 1, "cpu", lr,
                                schedule_opts={"name": None})[2] is None


def test_unknown_optimizer_name_lists_valid_choices(tiny_bert_dir: Path) -> None:
    with pytest.raises(ValueError, match="Unknown optimizer 'AdamWW'") as error:
        initialize_optimizer(make_model(tiny_bert_dir), 10, 1, "cpu", 1e-3,
                             optimizer_opts={"name": "AdamWW"})
    message = str(error.value)
    assert "Did you mean 'AdamW'" in message
    assert "Valid choices" in message
    assert "'SGD'" in message


def test_bad_schedule_options_raise(tiny_bert_dir: Path) -> None:
    with pytest.raises(ValueError, match="Unknown schedule 'LinearWarmUp'") as error:
        initialize_optimizer(make_model(tiny_bert_dir), 10, 1, "cpu", 1e-3,
                             schedule_opts={"name": "LinearWarmUp"})
    assert "'LinearWarmup'" in str(error.value)
    with pytest.raises(ValueError, match="choose one"):
        initialize_optimizer(make_model(tiny_bert_dir), 10, 1, "cpu", 1e-3,
                             schedule_opts={"num_warmup_steps": 2, "warmup_proportion": 0.1})


def test_apex_amp_levels_are_deprecated(tiny_bert_dir: Path, tmp_path: Path) -> None:
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data")
    model = make_model(tiny_bert_dir)
    optimizer = torch.optim.AdamW(model.parameters())
    with pytest.warns(DeprecationWarning, match="apex"):
        trainer = Trainer(model, optimizer, data_silo, 1, 0, "cpu", use_amp="O1")
    assert trainer.amp_dtype == torch.bfloat16
    with pytest.warns(DeprecationWarning, match="apex"):
        trainer = Trainer(model, optimizer, data_silo, 1, 0, "cpu", use_amp="O0")
    assert trainer.amp_dtype is None
    with pytest.raises(ValueError, match="use_amp"):
        Trainer(model, optimizer, data_silo, 1, 0, "cpu", use_amp="fp8")


# ---------------------------------------------------------------- metrics and evaluation


@pytest.fixture
def random_predictions() -> tuple[list[str], list[str]]:
    """200 random labels of three classes and predictions that are right about half the time."""
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b", "c"], size=200).tolist()
    guesses = rng.choice(["a", "b", "c"], size=200).tolist()
    preds = [y if rng.random() < 0.4 else g for y, g in zip(labels, guesses, strict=True)]
    return preds, labels


def test_metrics_equal_scikit_learn(random_predictions: tuple[list[str], list[str]]) -> None:
    preds, labels = random_predictions
    acc = accuracy_score(labels, preds)
    f1 = f1_score(labels, preds, average="macro")
    assert 0.3 < acc < 0.9
    assert compute_metrics("acc", preds, labels) == {"acc": pytest.approx(acc)}
    assert compute_metrics("f1_macro", preds, labels) == {"f1_macro": pytest.approx(f1)}
    assert compute_metrics("acc_f1", preds, labels) == {
        "acc": pytest.approx(acc), "f1": pytest.approx(f1),
        "acc_and_f1": pytest.approx((acc + f1) / 2),
    }
    assert compute_metrics("mcc", preds, labels) == {
        "mcc": pytest.approx(matthews_corrcoef(labels, preds))
    }
    assert set(compute_metrics(["acc", "mcc"], preds, labels)) == {"acc", "mcc"}
    with pytest.raises(ValueError, match="199 predictions but 200 labels"):
        compute_metrics("acc", preds[:-1], labels)


def test_registered_metric_is_usable_by_name(
    tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "_REGISTRY", dict(metrics._REGISTRY))

    def share_positive(preds: list[str], labels: list[str]) -> dict[str, float]:
        return {"share_positive": sum(p == "positive" for p in preds) / len(preds)}

    register_metrics("share_positive", share_positive)
    register_metrics("n_preds", lambda preds, labels: len(preds))
    assert {"share_positive", "n_preds"} <= set(available_metrics())

    data_silo = make_silo(tiny_bert_dir, tmp_path / "data", metric=["share_positive", "n_preds"])
    model = make_model(tiny_bert_dir)
    earlystop = EarlyStopping(metric="share_positive", mode="max", patience=10,
                              save_dir=tmp_path / "best")
    trainer = make_trainer(model, data_silo, epochs=1, evaluate_every=2,
                           early_stopping=earlystop)
    returned = trainer.train()
    assert len(earlystop.eval_values) >= 2
    assert trainer.test_result is not None
    result = trainer.test_result[0]
    preds = Evaluator(data_silo.get_data_loader("test"), data_silo.processor.tasks, "cpu").eval(
        returned, return_preds_and_labels=True)[0]["preds"]
    assert result["share_positive"] == pytest.approx(preds.count("positive") / len(preds))
    assert result["n_preds"] == len(preds) == 8


def test_unknown_metric_raises_before_training_starts(tiny_bert_dir: Path,
                                                      tmp_path: Path) -> None:
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data", metric="acuracy")
    model = make_model(tiny_bert_dir)
    before = model_state(model)
    trainer = make_trainer(model, data_silo, epochs=1, evaluate_every=2)
    with pytest.raises(ValueError, match=r"Unknown metric.*'acuracy'") as error:
        trainer.train()
    assert "'acc'" in str(error.value)
    assert "register_metrics" in str(error.value)
    assert trainer.global_step == 0
    assert same_weights(model_state(model), before)


def test_evaluator_matches_an_independent_computation(tiny_bert_dir: Path,
                                                      tmp_path: Path) -> None:
    """Loss and accuracy equal per-text cross-entropy and scikit-learn accuracy."""
    data_silo = make_silo(tiny_bert_dir, tmp_path / "data", n_test=10)
    processor = data_silo.processor
    model = make_model(tiny_bert_dir)
    model.connect_heads_with_processor(processor.tasks)
    loader = DataSilo(processor, batch_size=4, eval_batch_size=3).get_data_loader("test")

    model.train()
    results = Evaluator(loader, processor.tasks, "cpu").eval(model)
    assert model.training
    assert [set(r) for r in results] == [{"loss", "task_name", "acc", "report"}]
    assert results[0]["task_name"] == "text_classification"
    assert all(label in results[0]["report"] for label in LABELS)

    model.eval()
    dicts = processor.file_to_dicts(tmp_path / "data" / "test.tsv")
    losses, preds, labels = [], [], []
    with torch.no_grad():
        for item in dicts:
            logits = model(**tokenize_batch(tiny_bert_dir, [item["text"]]))[0]  # (1, 2)
            label = LABELS.index(item["text_classification_label"])
            losses.append(float(F.cross_entropy(logits, torch.tensor([label]))))
            preds.append(LABELS[int(logits.argmax())])
            labels.append(item["text_classification_label"])
    assert results[0]["loss"] == pytest.approx(sum(losses) / len(losses), rel=1e-5)
    assert results[0]["acc"] == pytest.approx(accuracy_score(labels, preds))

    without_report = Evaluator(loader, processor.tasks, "cpu", report=False).eval(model)
    assert "report" not in without_report[0]
    assert not model.training


def test_task_added_without_task_type_gets_a_report(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A task made with processor.add_task() (task_type None) is evaluated with a report."""
    write_separable_data(tmp_path / "data", n_train=8, n_test=6)
    processor = make_processor(tiny_bert_dir, tmp_path / "data", label_list=None, metric=None)
    processor.add_task("sentiment", metric="f1_macro", label_list=LABELS,
                       label_column_name="label")
    data_silo = DataSilo(processor, batch_size=4)
    model = make_model(tiny_bert_dir, task_name="sentiment")
    model.connect_heads_with_processor(processor.tasks)
    results = Evaluator(data_silo.get_data_loader("test"), processor.tasks, "cpu").eval(model)
    assert [set(r) for r in results] == [{"loss", "task_name", "f1_macro", "report"}]
    assert results[0]["task_name"] == "sentiment"
    assert all(label in results[0]["report"] for label in LABELS)
