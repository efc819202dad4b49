"""Language model fine-tuning in FARM 0.8's style: masked LM with whole-word masking and
next-sentence prediction on plain text (one sentence per line, a blank line between
documents); the fine-tuned model is then used for embeddings.

    python examples/farm_style/lm_finetuning.py
"""

import logging
from pathlib import Path

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import BertStyleLMProcessor
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import BertLMHead, NextSentenceHead
from farm.modeling.tokenization import Tokenizer
from farm.train import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

LANG_MODEL = "bert-base-cased"
DATA_DIR = Path("data/farm_style/lm_finetune")
SAVE_DIR = Path("saved_models/farm_style/lm_finetuning")


def lm_finetuning(lang_model=LANG_MODEL, data_dir=DATA_DIR, save_dir=SAVE_DIR, n_epochs=1,
                  batch_size=16, learning_rate=1e-4, max_seq_len=48):
    logging.basicConfig(level=logging.INFO)
    set_all_seeds(seed=42)
    device, n_gpu = initialize_device_settings(use_cuda=True)

    tokenizer = Tokenizer.load(lang_model, do_lower_case=False)
    processor = BertStyleLMProcessor(
        data_dir=data_dir, tokenizer=tokenizer, max_seq_len=max_seq_len, max_docs=None,
        train_filename="train.txt", dev_filename=None, test_filename="test.txt",
        dev_split=0.1, next_sent_pred=True)
    data_silo = DataSilo(processor=processor, batch_size=batch_size, max_processes=1)

    # The heads: FARM's BertLMHead.load takes a pretrained masked-LM head where the model
    # has one; the next-sentence head is new (two labels, as FARM's num_labels=2 says).
    language_model = LanguageModel.load(lang_model)
    lm_prediction_head = BertLMHead.load(lang_model)
    next_sentence_head = NextSentenceHead(num_labels=2)
    model = AdaptiveModel(
        language_model=language_model,
        prediction_heads=[lm_prediction_head, next_sentence_head],
        embeds_dropout_prob=0.1, lm_output_types=["per_token", "per_sequence"], device=device)
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, learning_rate=learning_rate, device=device, n_epochs=n_epochs,
        n_batches=len(data_silo.loaders["train"]))
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=n_epochs, n_gpu=n_gpu,
        lr_schedule=lr_schedule, evaluate_every=0, device=device)
    model = trainer.train()
    model.save(save_dir)
    processor.save(save_dir)

    # The fine-tuned language model as an embedder
    embedder = Inferencer.load(save_dir, task_type="embeddings",
                               extraction_strategy="reduce_mean", extraction_layer=-1)
    vectors = embedder.inference_from_dicts([{"text": "Anna travels to Oslo by train."}])
    return {"test": trainer.test_result, "vector_size": len(vectors[0]["predictions"][0]["vec"])}


if __name__ == "__main__":
    print(lm_finetuning())
