"""Masked-LM fine-tuning of all-MiniLM-L6-v2 on WikiText-2, and a small BERT from scratch.

Fine-tuning (default): MiniLM has no masked-LM head (it is a sentence-embedding model), so
its "before" perplexity with a new, random head says nothing about the encoder. The script
therefore reports three test perplexities on the same masked test sequences:

1. ``fresh_head``: the new head, untrained (about the size of the vocabulary or worse);
2. ``head_only``: after training only the head, the encoder (and with it the tied decoder,
   its input embeddings) frozen: what MiniLM's encoder already knows, read out by a
   fitted head. This is the fair "before";
3. ``fine_tuned``: after then training all weights (LM fine-tuning) for the same number of
   steps.

``--from-scratch`` instead trains a WordPiece tokenizer on the training text, a small BERT
from random weights, reports test perplexity before and after, exports it with
``save_masked_lm`` and checks that transformers' ``AutoTokenizer``, ``AutoModel`` and
``AutoModelForMaskedLM`` load it and compute what FARM computes.

Data: WikiText-2 (tokenised) ``valid.txt`` for training (``train.txt`` is not staged; it
is used for training when present) and ``test.txt`` for testing, one document per article
(top-level `` = Title = `` headings), sentences split at `` . ``; ``<unk>`` is mapped to the
tokenizer's unknown token (never a prediction target) and ``@-@``, ``@,@``, ``@.@`` are
joined. Nothing is tuned on test.

    .venv/bin/python benchmarks/lm_finetuning.py
    .venv/bin/python benchmarks/lm_finetuning.py --from-scratch
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from bench_utils import SHARED_DATA, emit, minilm_path, quiet

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.lm_documents import split_sentences
from farm.data_handler.processor import BertStyleLMProcessor
from farm.eval import Evaluator
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.masked_lm_export import save_masked_lm
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import BertLMHead
from farm.modeling.tokenization import Tokenizer
from farm.modeling.tokenizer_training import train_tokenizer
from farm.train import Trainer
from farm.utils import set_all_seeds

_TITLE = re.compile(r"^ = [^=].* = $")
_HEADING = re.compile(r"^ (= )+.* (= )+$")


class WikiTextLMProcessor(BertStyleLMProcessor):
    """WikiText files: one document per article; the first ``max_docs`` articles of the
    training file and the first ``test_docs`` of the test file."""

    test_docs: int | None = None

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        unk = self.tokenizer.unk_token or "[UNK]"
        path = self.file_path(file)
        limit = self.test_docs if self.is_data_file(path, ("test",)) else self.max_docs
        docs: list[dict[str, Any]] = []
        for line in path.read_text(encoding="utf-8").split("\n"):
            if _TITLE.match(line):
                if limit is not None and len(docs) >= limit:
                    break
                docs.append({"doc": [], "title": line.strip(" =")})
            elif line.strip() and not _HEADING.match(line) and docs:
                text = line.strip().replace(" @-@ ", "-").replace(" @,@ ", ",")
                text = text.replace(" @.@ ", ".").replace("<unk>", unk)
                docs[-1]["doc"] += split_sentences(text)
        return [d for d in docs if d["doc"]]


def perplexity(model: AdaptiveModel, silo: DataSilo) -> dict[str, float]:
    loader = silo.get_data_loader("test")
    assert loader is not None
    result = Evaluator(loader, silo.processor.tasks, "cpu", report=False).eval(model)[0]
    return {k: round(float(result[k]), 4) for k in ("perplexity", "masked_lm_acc",
                                                    "n_masked_tokens")}


def train(model: AdaptiveModel, silo: DataSilo, learning_rate: float, epochs: int) -> float:
    """Train the model's trainable weights; returns the wall time."""
    model, optimizer, schedule = initialize_optimizer(
        model=model, device="cpu", learning_rate=learning_rate,
        n_batches=len(silo.loaders["train"]), n_epochs=epochs,
    )
    trainer = Trainer(model=model, optimizer=optimizer, lr_schedule=schedule, data_silo=silo,
                      epochs=epochs, n_gpu=0, device="cpu", evaluate_every=0,
                      disable_tqdm=True, evaluator_test=False)
    start = time.perf_counter()
    trainer.train()
    return round(time.perf_counter() - start, 1)


def processor(tokenizer: Any, args: Any) -> WikiTextLMProcessor:
    train_file = "train.txt" if (args.data_dir / "train.txt").is_file() else "valid.txt"
    made = WikiTextLMProcessor(
        tokenizer=tokenizer, max_seq_len=args.max_seq_len, data_dir=args.data_dir,
        train_filename=train_file, dev_filename=None, test_filename="test.txt",
        next_sent_pred=False, max_docs=args.train_docs, seed=args.seed,
    )
    made.test_docs = args.test_docs
    return made


def fine_tune(args: Any, started: float) -> None:
    model_path = args.model or minilm_path()
    silo = DataSilo(processor(Tokenizer.load(model_path), args), batch_size=args.batch_size,
                    eval_batch_size=64, seed=args.seed)
    model = AdaptiveModel(LanguageModel.load(model_path), [BertLMHead.load(model_path)],
                          embeds_dropout_prob=0.0)
    record: dict[str, Any] = {
        "benchmark": "lm_finetuning", "model": args.model or "all-MiniLM-L6-v2",
        "train_file": silo.processor.train_filename,
        "train_sequences": len(silo.data["train"] or []),
        "test_sequences": len(silo.data["test"] or []),
        "fresh_head": perplexity(model, silo),
    }
    for param in model.language_model.parameters():
        param.requires_grad = False
    record["head_only_train_s"] = train(model, silo, args.head_learning_rate, args.epochs)
    record["head_only"] = perplexity(model, silo)
    for param in model.language_model.parameters():
        param.requires_grad = True
    record["fine_tune_train_s"] = train(model, silo, args.learning_rate, args.epochs)
    record["fine_tuned"] = perplexity(model, silo)
    record.update(epochs=args.epochs, batch_size=args.batch_size, max_seq_len=args.max_seq_len,
                  learning_rate=args.learning_rate, head_learning_rate=args.head_learning_rate,
                  train_docs=args.train_docs, test_docs=args.test_docs, seed=args.seed)
    emit(record, started)


def from_scratch(args: Any, started: float) -> None:
    train_path = args.data_dir / ("train.txt" if (args.data_dir / "train.txt").is_file()
                                  else "valid.txt")
    text = train_path.read_text(encoding="utf-8").replace("<unk>", "[UNK]")
    text = text.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
    lines = [line for line in text.split("\n") if line.strip() and not _HEADING.match(line)]
    tokenizer = train_tokenizer(texts=lines, vocab_size=args.vocab_size,
                                model_max_length=args.max_seq_len)
    silo = DataSilo(processor(tokenizer, args), batch_size=args.batch_size,
                    eval_batch_size=64, seed=args.seed)
    language_model = LanguageModel.from_scratch(
        "bert", vocab_size=len(tokenizer), tokenizer=tokenizer, hidden_size=args.hidden_size,
        num_hidden_layers=args.layers, num_attention_heads=args.heads,
        intermediate_size=4 * args.hidden_size, max_position_embeddings=args.max_seq_len,
    )
    model = AdaptiveModel(language_model, [BertLMHead.from_language_model(language_model)],
                          embeds_dropout_prob=0.0)
    record: dict[str, Any] = {
        "benchmark": "lm_from_scratch", "tokenizer_trained_on": train_path.name,
        "vocab_size": len(tokenizer), "hidden_size": args.hidden_size, "layers": args.layers,
        "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "train_sequences": len(silo.data["train"] or []),
        "test_sequences": len(silo.data["test"] or []),
        "random_init": perplexity(model, silo),
    }
    record["train_s"] = train(model, silo, args.scratch_learning_rate, args.scratch_epochs)
    record["trained"] = perplexity(model, silo)
    record["transformers_check"] = check_in_transformers(model, tokenizer, silo)
    record.update(epochs=args.scratch_epochs, learning_rate=args.scratch_learning_rate,
                  batch_size=args.batch_size, max_seq_len=args.max_seq_len,
                  train_docs=args.train_docs, test_docs=args.test_docs, seed=args.seed)
    emit(record, started)


def check_in_transformers(model: AdaptiveModel, tokenizer: Any, silo: DataSilo
                          ) -> dict[str, Any]:
    """Export, load with transformers' Auto classes, compare outputs and test perplexity."""
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

    model.eval()
    with tempfile.TemporaryDirectory() as folder:
        save_masked_lm(model, folder, tokenizer)
        hf_tokenizer = AutoTokenizer.from_pretrained(folder)
        masked_lm = AutoModelForMaskedLM.from_pretrained(folder).eval()
        encoder = AutoModel.from_pretrained(folder).eval()
        texts = ["The European lobster lives in the eastern Atlantic Ocean.",
                 "Homarus gammarus is a large crustacean."]
        encoded = hf_tokenizer(texts, padding=True, return_tensors="pt")
        batch = {"input_ids": encoded["input_ids"], "padding_mask": encoded["attention_mask"],
                 "segment_ids": encoded["token_type_ids"]}
        loader = silo.get_data_loader("test")
        assert loader is not None
        nll, n = 0.0, 0
        with torch.no_grad():
            logits_diff = float((masked_lm(**encoded).logits - model(**batch)[0]).abs().max())
            hidden_diff = float((encoder(**encoded).last_hidden_state
                                 - model.language_model(**batch)[0]).abs().max())
            for test_batch in loader:  # perplexity of the same test set, from transformers
                labels = test_batch["lm_label_ids"]
                out = masked_lm(input_ids=test_batch["input_ids"],
                                attention_mask=test_batch["padding_mask"],
                                token_type_ids=test_batch["segment_ids"])
                nll += float(torch.nn.functional.cross_entropy(
                    out.logits[labels != -100], labels[labels != -100], reduction="sum"))
                n += int((labels != -100).sum())
    return {"same_token_ids": encoded["input_ids"].tolist() == tokenizer(
                texts, padding=True)["input_ids"],
            "max_abs_logit_diff": logits_diff, "max_abs_hidden_diff": hidden_diff,
            "test_perplexity_in_transformers": round(float(torch.tensor(nll / n).exp()), 4)}


def main() -> None:
    import argparse

    args = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--data-dir", type=Path, default=SHARED_DATA / "wikitext2_lm")
    args.add_argument("--model", default=None, help="default: all-MiniLM-L6-v2 (PyPI)")
    args.add_argument("--max-seq-len", type=int, default=128)
    args.add_argument("--batch-size", type=int, default=16)
    args.add_argument("--epochs", type=int, default=1, help="per phase (head only, all)")
    args.add_argument("--learning-rate", type=float, default=1e-4)
    args.add_argument("--head-learning-rate", type=float, default=1e-3)
    args.add_argument("--train-docs", type=int, default=20,
                      help="train on the first N articles of the training file (0: all)")
    args.add_argument("--test-docs", type=int, default=12,
                      help="test on the first N articles of test.txt (0: all)")
    args.add_argument("--from-scratch", action="store_true")
    args.add_argument("--vocab-size", type=int, default=8000)
    args.add_argument("--hidden-size", type=int, default=128)
    args.add_argument("--layers", type=int, default=2)
    args.add_argument("--heads", type=int, default=2)
    args.add_argument("--scratch-epochs", type=int, default=4)
    args.add_argument("--scratch-learning-rate", type=float, default=1e-3)
    args.add_argument("--threads", type=int, default=2)
    args.add_argument("--seed", type=int, default=42)
    parsed = args.parse_args()
    parsed.test_docs = parsed.test_docs or None
    parsed.train_docs = parsed.train_docs or None
    quiet()
    torch.set_num_threads(parsed.threads)
    set_all_seeds(parsed.seed)
    started = time.perf_counter()
    (from_scratch if parsed.from_scratch else fine_tune)(parsed, started)


if __name__ == "__main__":
    main()
