"""The contract every prediction head inherits, TextClassificationHead, and LanguageModel.load."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from farm.errors import FarmError
from farm.infer import Inferencer
from farm.modeling.adaptive_model import OUTPUT_TYPES, AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import PredictionHead, TextClassificationHead
from farm.utils import set_all_seeds
from tests.farm_helpers import (
    LABELS,
    make_model,
    model_state,
    same_weights,
    tokenize_batch,
)
from tests.tiny_models import ARCHITECTURES, HIDDEN_SIZE, TinyModelFactory

TEXTS = ["good movie with friends", "bad food", "the film was long and boring today"]


class HeadContract:
    """What every prediction head must do; a head's test class subclasses this one.

    Subclasses set ``head_class`` and implement :meth:`make_head`, :meth:`make_labels` and
    :meth:`logits_shape`.
    """

    head_class: type[PredictionHead]
    reads_pooler = True  # False for per-token heads: the pooler then gets no gradient

    def make_head(self) -> PredictionHead:
        """A fresh head with its labels set, as the trainer leaves it."""
        raise NotImplementedError

    def make_labels(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The label tensors of ``batch``, named as the processor names them."""
        raise NotImplementedError

    def logits_shape(self, batch: dict[str, Tensor]) -> tuple[int, ...]:
        """The documented shape of the head's logits for ``batch``."""
        raise NotImplementedError

    @pytest.fixture(params=ARCHITECTURES)
    def model_dir(self, request: pytest.FixtureRequest, tiny_model_factory: TinyModelFactory
                  ) -> Path:
        """A tiny model folder of each architecture."""
        return tiny_model_factory(request.param)

    def make_model(self, model_dir: Path) -> AdaptiveModel:
        """The head on the tiny language model, output types taken from the head."""
        set_all_seeds(0)
        return AdaptiveModel(LanguageModel.load(model_dir), [self.make_head()],
                             embeds_dropout_prob=0.1, device="cpu")

    def make_batch(self, model_dir: Path) -> dict[str, Tensor]:
        """A tokenized batch of ``TEXTS`` with labels."""
        batch = tokenize_batch(model_dir, TEXTS)
        return {**batch, **self.make_labels(batch)}

    def test_declares_its_task(self) -> None:
        """Task name, label tensor name, output type and registration are declared."""
        head = self.make_head()
        assert head.task_name
        assert head.label_tensor_name == f"{head.task_name}_label_ids"
        assert head.ph_output_type in OUTPUT_TYPES
        assert head.task_type
        assert PredictionHead.subclasses[self.head_class.__name__] is self.head_class

    def test_forward_returns_the_documented_shapes(self, model_dir: Path) -> None:
        """Logits and the per-sample loss have the documented shapes."""
        model = self.make_model(model_dir)
        batch = self.make_batch(model_dir)
        logits = model(**batch)
        assert len(logits) == 1
        assert tuple(logits[0].shape) == self.logits_shape(batch)
        loss = model.logits_to_loss(logits, **batch)
        assert tuple(loss.shape) == (len(TEXTS),)
        assert torch.isfinite(loss).all()

    def test_every_trainable_parameter_gets_a_gradient(self, model_dir: Path) -> None:
        """One backward pass reaches every parameter of the head and the language model
        (but the pooler's, for a head that reads per-token vectors)."""
        model = self.make_model(model_dir)
        model.train()
        batch = self.make_batch(model_dir)
        model.logits_to_loss(model(**batch), **batch).mean().backward()
        missing = [
            name for name, param in model.named_parameters()
            if param.requires_grad and (param.grad is None or not param.grad.abs().sum() > 0)
        ]
        assert all(not self.reads_pooler and ".pooler." in name for name in missing), missing
        assert any(n.startswith("prediction_heads.") for n, _ in model.named_parameters())
        assert any(n.startswith("language_model.") for n, _ in model.named_parameters())

    def test_save_then_load_gives_identical_logits(self, model_dir: Path, tmp_path: Path
                                                    ) -> None:
        """A trained step, saved and loaded, predicts exactly as before."""
        model = self.make_model(model_dir)
        batch = self.make_batch(model_dir)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        model.logits_to_loss(model(**batch), **batch).mean().backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            expected = model(**batch)
        model.save(tmp_path / "model")

        loaded = AdaptiveModel.load(tmp_path / "model").eval()
        with torch.no_grad():
            logits = loaded(**batch)
        assert len(logits) == len(expected)
        for got, want in zip(logits, expected, strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
        assert loaded.prediction_heads[0].generate_config() == (
            model.prediction_heads[0].generate_config()
        )
        assert same_weights(model_state(loaded), model_state(model))

    def test_output_type_that_disagrees_with_the_head_raises(self, tiny_bert_dir: Path) -> None:
        """lm_output_types is checked against what the head declares."""
        head = self.make_head()
        wrong = next(t for t in OUTPUT_TYPES if t != head.ph_output_type)
        for given in (wrong, [wrong]):
            with pytest.raises(ValueError, match=f"'{head.ph_output_type}'") as error:
                AdaptiveModel(LanguageModel.load(tiny_bert_dir), [head], 0.1,
                              lm_output_types=given)
            assert wrong in str(error.value)
            assert self.head_class.__name__ in str(error.value)


class TestTextClassificationHead(HeadContract):
    """TextClassificationHead: the contract plus its own options and errors."""

    head_class = TextClassificationHead

    def make_head(self) -> PredictionHead:
        return TextClassificationHead(num_labels=len(LABELS), label_list=LABELS)

    def make_labels(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        n = batch["input_ids"].shape[0]
        return {"text_classification_label_ids": (torch.arange(n) % 2).view(-1, 1)}  # (n, 1)

    def logits_shape(self, batch: dict[str, Tensor]) -> tuple[int, ...]:
        return (batch["input_ids"].shape[0], len(LABELS))

    @pytest.mark.parametrize("dims", [[768, 2], [768, 16, 2]])
    def test_first_layer_is_resized_to_the_model_width(
        self, dims: list[int], tiny_bert_dir: Path
    ) -> None:
        """A head made for a 768-wide model fits the 32-wide tiny model."""
        head = TextClassificationHead(layer_dims=list(dims))
        model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), [head], 0.1, ["per_sequence"])
        assert head.layer_dims == [HIDDEN_SIZE, *dims[1:]]
        linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
        assert [(m.in_features, m.out_features) for m in linears] == list(
            zip(head.layer_dims[:-1], head.layer_dims[1:], strict=True)
        )
        logits = model(**tokenize_batch(tiny_bert_dir, TEXTS))[0]
        assert logits.shape == (len(TEXTS), 2)

    def test_num_labels_must_agree_with_layer_dims(self) -> None:
        with pytest.raises(ValueError, match=r"end in 2 outputs but num_labels is 3"):
            TextClassificationHead(layer_dims=[768, 2], num_labels=3)

    def test_needs_num_labels_or_layer_dims(self) -> None:
        with pytest.raises(ValueError, match="num_labels or layer_dims"):
            TextClassificationHead()

    def test_class_weights_need_one_weight_per_label(self) -> None:
        with pytest.raises(ValueError, match="3 class_weights for 2 labels"):
            TextClassificationHead(num_labels=2, class_weights=[1.0, 2.0, 3.0])

    def test_class_weights_weight_the_loss_as_torch_does(self, tiny_bert_dir: Path,
                                                         tmp_path: Path) -> None:
        """Per-sample loss equals torch's weighted cross-entropy, also after save and load."""
        generator = torch.Generator().manual_seed(0)
        logits = torch.randn(16, 3, generator=generator)  # (batch, num_labels)
        labels = torch.randint(0, 3, (16,), generator=generator)  # (batch,)
        weights = [0.2, 1.0, 3.0]
        named = {"text_classification_label_ids": labels.view(-1, 1)}

        weighted = TextClassificationHead(num_labels=3, class_weights=weights)
        plain = TextClassificationHead(num_labels=3)
        expected = F.cross_entropy(logits, labels, weight=torch.tensor(weights),
                                   reduction="none")
        torch.testing.assert_close(weighted.logits_to_loss(logits, **named), expected)
        torch.testing.assert_close(plain.logits_to_loss(logits, **named),
                                   F.cross_entropy(logits, labels, reduction="none"))
        assert not torch.allclose(weighted.logits_to_loss(logits, **named),
                                  plain.logits_to_loss(logits, **named))

        model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), [weighted], 0.1)
        model.save(tmp_path / "model")
        loaded_head = AdaptiveModel.load(tmp_path / "model").prediction_heads[0]
        torch.testing.assert_close(loaded_head.logits_to_loss(logits, **named), expected)

    def test_ignored_label_adds_no_loss(self) -> None:
        head = TextClassificationHead(num_labels=2)
        logits = torch.tensor([[2.0, -1.0], [0.5, 0.3]])
        loss = head.logits_to_loss(logits, text_classification_label_ids=torch.tensor([[1],
                                                                                       [-100]]))
        assert loss[1] == 0
        assert loss[0] > 0

    def test_predictions_and_labels_are_label_strings(self) -> None:
        head = TextClassificationHead(num_labels=3, label_list=["a", "b", "c"])
        logits = torch.tensor([[0.1, 2.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        assert head.logits_to_preds(logits) == ["b", "a", "c"]
        labels = torch.tensor([[2], [0], [1]])
        assert head.prepare_labels(text_classification_label_ids=labels) == ["c", "a", "b"]

    def test_head_with_a_metric_function_saves_and_loads(self, tiny_bert_dir: Path,
                                                         tmp_path: Path) -> None:
        """A processor task's metric may be a function; saving the head must not fail."""

        def share_positive(preds: list[str], labels: list[str]) -> float:
            return sum(p == "positive" for p in preds) / len(preds)

        model = make_model(tiny_bert_dir)
        model.connect_heads_with_processor({"text_classification": {
            "label_list": LABELS, "metric": share_positive,
            "label_tensor_name": "text_classification_label_ids",
        }})
        model.save(tmp_path / "model")
        loaded = AdaptiveModel.load(tmp_path / "model")
        assert loaded.prediction_heads[0].label_list == LABELS
        assert loaded.prediction_heads[0].metric == "share_positive"

    def test_unknown_head_in_a_saved_config_is_refused_without_running_code(
        self, tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Heads are looked up by name among FARM's classes; nothing from the folder runs."""
        save_dir = tmp_path / "model"
        make_model(tiny_bert_dir).save(save_dir)
        config_file = save_dir / "prediction_head_0_config.json"
        config = json.loads(config_file.read_text())
        config["name"] = "EvilHead"
        config_file.write_text(json.dumps(config))
        marker = tmp_path / "code_ran"
        payload = f"open({str(marker)!r}, 'w').close()\n"
        for name in ("EvilHead.py", "__init__.py", "prediction_head.py"):
            (save_dir / name).write_text(payload)
        monkeypatch.syspath_prepend(str(save_dir))

        with pytest.raises(FarmError, match="unknown prediction head 'EvilHead'") as error:
            AdaptiveModel.load(save_dir)
        assert "prediction_head_0_config.json" in str(error.value)
        assert "TextClassificationHead" in str(error.value)
        with pytest.raises(FarmError, match="EvilHead"):
            Inferencer.load(save_dir)
        assert not marker.exists()
        assert "EvilHead" not in sys.modules


class TestLanguageModelLoad:
    """LanguageModel.load: keyword checking and loading saved FARM models."""

    def test_misspelt_keyword_raises_with_a_suggestion(self, tiny_bert_dir: Path) -> None:
        with pytest.raises(TypeError, match="hidden_dropout_prb") as error:
            LanguageModel.load(tiny_bert_dir, hidden_dropout_prb=0.2)
        assert "Did you mean 'hidden_dropout_prob'" in str(error.value)

    def test_config_attribute_is_applied(self, tiny_bert_dir: Path) -> None:
        def dropout_rates(lm: LanguageModel) -> set[float]:
            return {m.p for m in lm.modules() if isinstance(m, nn.Dropout)}

        default = LanguageModel.load(tiny_bert_dir)
        changed = LanguageModel.load(tiny_bert_dir, hidden_dropout_prob=0.2)
        assert changed.config.hidden_dropout_prob == 0.2
        assert 0.2 in dropout_rates(changed)
        assert 0.2 not in dropout_rates(default)

    def test_from_pretrained_options_are_accepted(self, tiny_bert_dir: Path) -> None:
        lm = LanguageModel.load(tiny_bert_dir, local_files_only=True)
        assert lm.hidden_size == HIDDEN_SIZE

    def test_loads_the_language_model_of_a_saved_farm_model(self, tiny_bert_dir: Path,
                                                           tmp_path: Path) -> None:
        """The folder of a saved model gives its (trained) language model and language."""
        model = AdaptiveModel(LanguageModel.load(tiny_bert_dir, language="english"),
                              [TextClassificationHead(num_labels=2)], 0.1)
        with torch.no_grad():
            for param in model.language_model.parameters():
                param.add_(0.01)
        model.save(tmp_path / "model")

        lm = LanguageModel.load(tmp_path / "model")
        assert lm.language == "english"
        assert same_weights(model_state(lm), model_state(model.language_model))
        assert not same_weights(model_state(lm), model_state(LanguageModel.load(tiny_bert_dir)))
        assert LanguageModel.load(tmp_path / "model", language="german").language == "german"
