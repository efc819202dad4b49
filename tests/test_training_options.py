"""Gradient accumulation equivalence, freezing the language model, layer-wise LR decay."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from farm.data_handler.data_silo import DataSilo
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextClassificationHead
from farm.train import Trainer
from farm.utils import set_all_seeds
from tests.farm_helpers import (
    make_model,
    make_processor,
    make_trainer,
    model_state,
    write_separable_data,
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_separable_data(tmp_path_factory.mktemp("data"), n_train=64, n_test=8)


def deterministic_model(model_dir: Path) -> AdaptiveModel:
    """A tiny model without dropout, so batch composition alone decides the gradients."""
    set_all_seeds(3)
    language_model = LanguageModel.load(
        model_dir, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    return AdaptiveModel(language_model, [TextClassificationHead(num_labels=2)],
                         embeds_dropout_prob=0.0, lm_output_types=["per_sequence"])


def train_sgd(model_dir: Path, data_dir: Path, batch_size: int, grad_acc_steps: int
              ) -> dict[str, torch.Tensor]:
    silo = DataSilo(make_processor(model_dir, data_dir, dev_split=0.0), batch_size=batch_size,
                    group_by_length=False)
    model, optimizer, _ = initialize_optimizer(
        model=deterministic_model(model_dir), n_batches=len(silo.loaders["train"]), n_epochs=1,
        device="cpu", learning_rate=0.05, optimizer_opts={"name": "SGD", "weight_decay": 0.0},
        schedule_opts={"name": None}, grad_acc_steps=grad_acc_steps,
    )
    trainer = Trainer(model=model, optimizer=optimizer, data_silo=silo, epochs=1, n_gpu=0,
                      device="cpu", grad_acc_steps=grad_acc_steps, evaluate_every=0,
                      disable_tqdm=True, max_grad_norm=None, evaluator_test=False)
    trainer.train()
    return model_state(trainer.model)


def test_accumulating_four_batches_of_8_equals_one_batch_of_32(
    tiny_bert_dir: Path, data_dir: Path
) -> None:
    accumulated = train_sgd(tiny_bert_dir, data_dir, batch_size=8, grad_acc_steps=4)
    whole = train_sgd(tiny_bert_dir, data_dir, batch_size=32, grad_acc_steps=1)
    different = train_sgd(tiny_bert_dir, data_dir, batch_size=8, grad_acc_steps=1)
    for name, value in whole.items():
        assert torch.allclose(accumulated[name], value, atol=1e-6), name
    assert any(not torch.allclose(different[k], v, atol=1e-6) for k, v in whole.items())


def test_partial_last_group_is_averaged_over_its_own_batches(
    tiny_bert_dir: Path, data_dir: Path
) -> None:
    """48 samples: batches of 8 in groups of 4 leave a last group of 2 batches, which must
    equal one step on those 16 samples (batch 16), not a half-weighted step."""
    write_separable_data(data_dir.parent / "d48", n_train=48, n_test=8)
    accumulated = train_sgd(tiny_bert_dir, data_dir.parent / "d48", batch_size=8,
                            grad_acc_steps=4)
    silo = DataSilo(make_processor(tiny_bert_dir, data_dir.parent / "d48", dev_split=0.0),
                    batch_size=8, group_by_length=False)
    batches = list(silo.loaders["train"])
    model = deterministic_model(tiny_bert_dir)
    sgd = torch.optim.SGD(model.parameters(), lr=0.05)
    for group in (batches[:4], batches[4:]):
        n = sum(b["input_ids"].shape[0] for b in group)
        for batch in group:
            loss = model.logits_to_loss(model(**batch), **batch).sum() / n
            loss.backward()
        sgd.step()
        sgd.zero_grad()
    for name, value in model_state(model).items():
        assert torch.allclose(accumulated[name], value, atol=1e-6), name


def test_frozen_language_model_keeps_its_weights_while_the_head_learns(
    tiny_bert_dir: Path, data_dir: Path
) -> None:
    silo = DataSilo(make_processor(tiny_bert_dir, data_dir, dev_split=0.0), batch_size=8)
    model = make_model(tiny_bert_dir)
    before = model_state(model)
    trainer = make_trainer(model, silo, epochs=2, freeze_lm_steps=8, evaluator_test=False)
    lm_after_steps: list[dict[str, torch.Tensor]] = []
    step = trainer._optimizer_step

    def recording() -> None:
        step()
        lm_after_steps.append(model_state(trainer.core.language_model))

    trainer._optimizer_step = recording  # type: ignore[method-assign]
    trainer.train()
    lm_before = {k.removeprefix("language_model."): v for k, v in before.items()
                 if k.startswith("language_model.")}
    assert all(torch.equal(lm_after_steps[7][k], v) for k, v in lm_before.items())
    assert any(not torch.equal(lm_after_steps[8][k], v) for k, v in lm_before.items())
    head_after = model_state(trainer.core.prediction_heads)
    head_before = {k.removeprefix("prediction_heads."): v for k, v in before.items()
                   if k.startswith("prediction_heads.")}
    assert any(not torch.equal(head_after[k], v) for k, v in head_before.items())


def test_freeze_steps_and_epochs_together_is_an_error(tiny_bert_dir: Path, data_dir: Path
                                                       ) -> None:
    silo = DataSilo(make_processor(tiny_bert_dir, data_dir), batch_size=8)
    with pytest.raises(ValueError, match="freeze_lm_steps or freeze_lm_epochs"):
        make_trainer(make_model(tiny_bert_dir), silo, freeze_lm_steps=2, freeze_lm_epochs=1)


def test_layer_wise_learning_rate_decay(tiny_bert_dir: Path) -> None:
    """Heads get the full rate; each layer below one more factor; embeddings the least."""
    model = make_model(tiny_bert_dir)
    _, optimizer, _ = initialize_optimizer(
        model=model, n_batches=10, n_epochs=1, device="cpu", learning_rate=1e-3,
        optimizer_opts={"layer_lr_decay": 0.5}, schedule_opts={"name": None},
    )
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    named = dict(model.named_parameters())
    n_layers = model.language_model.config.num_hidden_layers  # 2
    assert lr_of[id(named["prediction_heads.0.feed_forward.feed_forward.0.weight"])] == 1e-3
    for layer in range(n_layers):
        name = f"language_model.model.encoder.layer.{layer}.attention.self.query.weight"
        assert lr_of[id(named[name])] == pytest.approx(1e-3 * 0.5 ** (n_layers - layer))
    embeddings = named["language_model.model.embeddings.word_embeddings.weight"]
    assert lr_of[id(embeddings)] == pytest.approx(1e-3 * 0.5 ** (n_layers + 1))
    bias = named["language_model.model.encoder.layer.0.attention.self.query.bias"]
    assert lr_of[id(bias)] == pytest.approx(1e-3 * 0.5 ** n_layers)
    decay_of = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert decay_of[id(bias)] == 0.0 and decay_of[id(embeddings)] == 0.01


def test_distributed_outside_torchrun_trains_in_one_process(
        tiny_bert_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A torchrun script started with plain python: no process group, so no DDP wrapper (it
    would fail inside torch), and a warning that says why."""
    model = make_model(tiny_bert_dir)
    wrapped, _, _ = initialize_optimizer(model=model, n_batches=10, n_epochs=1, device="cpu",
                                         learning_rate=1e-3, distributed=True)
    assert wrapped is model
    assert "not started by torchrun" in caplog.text


def test_adamw_is_fused_by_default_and_the_same_update_as_the_loop(tiny_bert_dir: Path
                                                                   ) -> None:
    """The default AdamW runs torch's fused kernel; an explicit choice is left alone; one
    step gives the same weights as the per-parameter loop implementation."""
    weights = []
    for opts in (None, {"name": "AdamW", "foreach": False}):
        set_all_seeds(3)
        model = make_model(tiny_bert_dir)
        _, optimizer, _ = initialize_optimizer(
            model=model, n_batches=10, n_epochs=1, device="cpu", learning_rate=1e-3,
            optimizer_opts=opts, schedule_opts={"name": None},
        )
        assert optimizer.defaults["fused"] is (True if opts is None else None)
        for p in model.parameters():
            p.grad = torch.ones_like(p) * 0.1
        optimizer.step()
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.allclose(weights[0], weights[1], atol=1e-6)


def test_bf16_autocast_on_the_cpu_trains_in_bf16_with_fp32_weights(
    tiny_bert_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("farm.training.amp.cpu_has_native_bf16", lambda: False)
    silo = DataSilo(make_processor(tiny_bert_dir, data_dir, dev_split=0.0), batch_size=16)
    model = make_model(tiny_bert_dir)
    before = model_state(model)
    with caplog.at_level("WARNING", logger="farm.training.amp"):
        trainer = make_trainer(model, silo, epochs=1, use_amp="bf16", evaluator_test=False)
    assert trainer.amp_dtype == torch.bfloat16
    assert "slower than fp32" in caplog.text
    output_dtypes: list[torch.dtype] = []
    first_linear = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    first_linear.register_forward_hook(lambda m, i, out: output_dtypes.append(out.dtype))
    trainer.train()
    assert output_dtypes and set(output_dtypes) == {torch.bfloat16}
    after = model_state(trainer.model)
    assert all(value.dtype == torch.float32 for value in after.values())
    assert any(not torch.equal(after[k], v) for k, v in before.items())
    assert all(torch.isfinite(v).all() for v in after.values())
