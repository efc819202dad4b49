"""Language modelling end to end: perplexity, training on every architecture, resuming,
training from scratch with an own tokenizer, and the round trip through transformers."""

from __future__ import annotations

import math
import signal
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.dataset import Collator
from farm.errors import DataFileError, FarmError
from farm.eval import Evaluator
from farm.evaluation.metrics import available_metrics
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.masked_lm_export import save_masked_lm
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import BertLMHead, NextSentenceHead
from farm.modeling.tokenizer_training import train_tokenizer
from farm.train import EarlyStopping, Trainer
from farm.utils import set_all_seeds
from tests.farm_helpers import make_trainer, model_state, same_weights
from tests.lm_helpers import make_lm_processor, make_mlm_dir, write_lm_data
from tests.tiny_models import ARCHITECTURES, CORPUS, TinyModelFactory

EPOCHS = 4
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
         "intermediate_size": 37}


@pytest.fixture(scope="module")
def lm_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lm_data(tmp_path_factory.mktemp("lm_data"))


def test_perplexity_is_registered_and_sums_token_likelihoods(tmp_path: Path, lm_data: Path
                                                             ) -> None:
    """Evaluator's perplexity equals exp(mean NLL over all masked tokens) computed from
    transformers' own masked-LM logits, batch by batch with uneven batches."""
    assert "perplexity" in available_metrics()
    model_dir = make_mlm_dir("bert", tmp_path / "mlm")
    processor = make_lm_processor(model_dir, lm_data)
    dataset = processor.dataset_from_dicts(processor.file_to_dicts("test.txt"))[0]
    loader = DataLoader(dataset, batch_size=3, collate_fn=Collator(dataset.pad_values))
    model = AdaptiveModel(LanguageModel.load(model_dir), [BertLMHead.load(model_dir)], 0.0)
    result = Evaluator(loader, processor.tasks, "cpu").eval(model)[0]

    reference = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    nll, per_batch = [], []
    with torch.no_grad():
        for batch in loader:
            logits = reference(input_ids=batch["input_ids"],
                               attention_mask=batch["padding_mask"]).logits
            labels = batch["lm_label_ids"]
            token_nll = F.cross_entropy(logits[labels != -100], labels[labels != -100],
                                        reduction="none")
            nll.append(token_nll)
            per_batch.append(math.exp(float(token_nll.mean())))
    all_nll = torch.cat(nll)
    assert result["n_masked_tokens"] == len(all_nll) > 50
    assert result["perplexity"] == pytest.approx(math.exp(float(all_nll.mean())), rel=1e-5)
    assert result["perplexity"] != pytest.approx(sum(per_batch) / len(per_batch), rel=1e-3)
    assert 0 <= result["masked_lm_acc"] <= 1


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_training_lowers_held_out_perplexity(arch: str, tiny_model_factory: TinyModelFactory,
                                             lm_data: Path, tmp_path: Path) -> None:
    """FARM's LM script on each architecture (BERT with the next-sentence task too):
    held-out perplexity drops, the best model is saved and loads."""
    model_dir = tiny_model_factory(arch)
    set_all_seeds(42)
    nsp = arch == "bert"
    processor = make_lm_processor(model_dir, lm_data, next_sent_pred=nsp, max_seq_len=64,
                                  dev_split=0.2)
    silo = DataSilo(processor, batch_size=8)
    heads = [BertLMHead.load(model_dir)] + ([NextSentenceHead.load(model_dir)] if nsp else [])
    model = AdaptiveModel(LanguageModel.load(model_dir), heads, 0.0)
    test_loader = silo.get_data_loader("test")
    assert test_loader is not None
    before = Evaluator(test_loader, processor.tasks, "cpu").eval(model)[0]["perplexity"]
    earlystop = EarlyStopping(metric="perplexity", mode="min", save_dir=tmp_path / "best",
                              patience=10)
    trainer = make_trainer(model, silo, epochs=EPOCHS, learning_rate=5e-3,
                           early_stopping=earlystop, evaluate_every=len(silo.loaders["train"]))
    trainer.train()
    assert trainer.test_result is not None
    after = trainer.test_result[0]["perplexity"]
    assert after < 0.3 * before, (before, after)
    if nsp:
        assert 0 <= trainer.test_result[1]["acc"] <= 1
    loaded = AdaptiveModel.load(tmp_path / "best")
    assert [type(h) for h in loaded.heads] == [type(h) for h in heads]


def test_interrupted_lm_run_resumes_exactly(tiny_bert_dir: Path, lm_data: Path,
                                            tmp_path: Path) -> None:
    """Checkpoints hold the tied decoder once, and a resumed run ends bit for bit where an
    uninterrupted one does."""

    def build(root: Path) -> Trainer:
        set_all_seeds(3)
        silo = DataSilo(make_lm_processor(tiny_bert_dir, lm_data, next_sent_pred=True),
                        batch_size=8)
        model = AdaptiveModel(LanguageModel.load(tiny_bert_dir),
                              [BertLMHead.load(tiny_bert_dir), NextSentenceHead()], 0.1)
        model, optimizer, schedule = initialize_optimizer(
            model=model, n_batches=len(silo.loaders["train"]), n_epochs=1, device="cpu",
            learning_rate=2e-3)
        return Trainer.create_or_load_checkpoint(
            data_silo=silo, checkpoint_root_dir=root, model=model, optimizer=optimizer,
            lr_schedule=schedule, epochs=1, n_gpu=0, device="cpu", disable_tqdm=True,
            evaluate_every=0, checkpoint_on_sigterm=True, checkpoints_to_keep=0)

    reference = build(tmp_path / "ref")
    reference.train()
    first = build(tmp_path / "run")
    forward_backward = first._forward_backward

    def interrupted(batch: dict[str, Any], group_size: int) -> float:
        if first.global_step == 3:
            signal.raise_signal(signal.SIGTERM)
        return forward_backward(batch, group_size)

    first._forward_backward = interrupted  # type: ignore[method-assign]
    with pytest.raises(SystemExit, match="SIGTERM received"):
        first.train()
    resumed = build(tmp_path / "run")
    assert resumed.global_step == 4
    resumed.train()
    assert same_weights(model_state(resumed.model), model_state(reference.model))


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(CORPUS) + "\n")
    return path


@pytest.mark.parametrize(("algorithm", "model_type"), [("wordpiece", "bert"),
                                                        ("bpe", "roberta")])
def test_model_from_scratch_trains_and_loads_in_transformers(
    algorithm: str, model_type: str, corpus_file: Path, tmp_path: Path
) -> None:
    """Own tokenizer, new model, training lowers held-out perplexity, and the saved folders
    load with AutoTokenizer, AutoModel and AutoModelForMaskedLM giving identical outputs."""
    set_all_seeds(1)
    tokenizer = train_tokenizer(corpus_file, vocab_size=500, algorithm=algorithm,
                                min_frequency=1, model_max_length=64)
    extra = {"max_position_embeddings": 66} if model_type == "roberta" else {}
    language_model = LanguageModel.from_scratch(model_type, vocab_size=len(tokenizer),
                                                tokenizer=tokenizer, **SMALL, **extra)
    model = AdaptiveModel(language_model, [BertLMHead.from_language_model(language_model)],
                          0.0)
    data_dir = write_lm_data(tmp_path / "data")
    processor = make_lm_processor(tokenizer, data_dir, max_seq_len=64)
    silo = DataSilo(processor, batch_size=8)
    test_loader = silo.get_data_loader("test")
    assert test_loader is not None
    before = Evaluator(test_loader, processor.tasks, "cpu").eval(model)[0]["perplexity"]
    trainer = make_trainer(model, silo, epochs=4, learning_rate=5e-3)
    trainer.train()
    assert trainer.test_result is not None
    assert trainer.test_result[0]["perplexity"] < 0.3 * before

    model.eval()
    model.save(tmp_path / "farm")
    export = save_masked_lm(model, tmp_path / "hf", tokenizer)
    texts = ["The weather in Paris was sunny.", "A good movie"]
    hf_tokenizer = AutoTokenizer.from_pretrained(export)
    encoded = hf_tokenizer(texts, padding=True, return_tensors="pt")
    assert encoded["input_ids"].tolist() == tokenizer(texts, padding=True)["input_ids"]
    batch = {"input_ids": encoded["input_ids"], "padding_mask": encoded["attention_mask"],
             "segment_ids": encoded.get("token_type_ids")}
    with torch.no_grad():
        logits = model(**batch)[0]
        sequence, pooled = model.language_model(**batch)
        masked_lm = AutoModelForMaskedLM.from_pretrained(export).eval()
        torch.testing.assert_close(masked_lm(**encoded).logits, logits, rtol=0, atol=1e-5)
        for folder in (export, tmp_path / "farm" / "language_model"):
            encoder = AutoModel.from_pretrained(folder).eval()(**encoded)
            torch.testing.assert_close(encoder.last_hidden_state, sequence, rtol=0, atol=1e-5)
            torch.testing.assert_close(encoder.pooler_output, pooled, rtol=0, atol=1e-5)


def test_from_scratch_and_tokenizer_errors(corpus_file: Path, tmp_path: Path) -> None:
    tokenizer = train_tokenizer(corpus_file, vocab_size=300, min_frequency=1)
    with pytest.raises(TypeError, match="num_hiden_layers.*Did you mean 'num_hidden_layers'"):
        LanguageModel.from_scratch("bert", vocab_size=300, num_hiden_layers=2)
    with pytest.raises(ValueError, match="Unknown model_type 'bret'.*Did you mean 'bert'"):
        LanguageModel.from_scratch("bret", vocab_size=300)
    with pytest.raises(FarmError, match="vocab_size=100 is smaller than the tokenizer's 300"):
        LanguageModel.from_scratch("bert", vocab_size=100, tokenizer=tokenizer, **SMALL)
    with pytest.raises(ValueError, match="Did you mean 'bpe'"):
        train_tokenizer(corpus_file, algorithm="bep")
    with pytest.raises(DataFileError, match="nothere.txt: file not found"):
        train_tokenizer(tmp_path / "nothere.txt")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(DataFileError, match="empty.txt: the training texts are empty"):
        train_tokenizer(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match="files= or texts="):
        train_tokenizer()
    config = LanguageModel.from_scratch("bert", vocab_size=300, tokenizer=tokenizer,
                                        **SMALL).config
    assert config.pad_token_id == tokenizer.pad_token_id and config.num_hidden_layers == 2
    assert LanguageModel.from_config(config.to_dict()).config.vocab_size == 300


@pytest.mark.parametrize("algorithm", ["wordpiece", "bpe"])
def test_trained_tokenizer_is_reproducible_and_reloads(algorithm: str, corpus_file: Path,
                                                       tmp_path: Path) -> None:
    first = train_tokenizer(corpus_file, vocab_size=400, algorithm=algorithm, min_frequency=1)
    second = train_tokenizer(texts=CORPUS, vocab_size=400, algorithm=algorithm,
                             min_frequency=1)
    assert first.get_vocab() == second.get_vocab() and len(first) == 400
    first.save_pretrained(tmp_path / "tok")
    loaded = AutoTokenizer.from_pretrained(tmp_path / "tok")
    text = "Angela Merkel visited Berlin, didn't she?"
    for tokenizer in (first, loaded):
        encoded = tokenizer(text, "Second part.", return_offsets_mapping=True)
        assert encoded["input_ids"] == first(text, "Second part.")["input_ids"]
        assert tokenizer.is_fast and tokenizer.mask_token_id is not None
    assert first.cls_token_id in encoded["input_ids"] and first.sep_token_id in encoded[
        "input_ids"]
