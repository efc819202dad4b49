"""Text pair classification in FARM 0.8's style (an ASNQ-like "do these texts agree?"
task): the TextPairClassificationProcessor reads ``text``, ``text_b`` and ``label``;
inference takes FARM's pair inputs.

    python examples/farm_style/text_pair_classification.py
"""

import logging
from pathlib import Path

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextPairClassificationProcessor
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.train import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

LANG_MODEL = "bert-base-cased"
DATA_DIR = Path("data/farm_style/text_pair")
SAVE_DIR = Path("saved_models/farm_style/text_pair_classification")


def text_pair_classification(lang_model=LANG_MODEL, data_dir=DATA_DIR, save_dir=SAVE_DIR,
                             n_epochs=2, batch_size=16, learning_rate=5e-5, max_seq_len=64):
    logging.basicConfig(level=logging.INFO)
    set_all_seeds(seed=42)
    device, n_gpu = initialize_device_settings(use_cuda=True)
    label_list = ["0", "1"]

    tokenizer = Tokenizer.load(pretrained_model_name_or_path=lang_model)
    processor = TextPairClassificationProcessor(
        tokenizer=tokenizer, label_list=label_list, metric="f1_macro",
        max_seq_len=max_seq_len, train_filename="train.tsv", test_filename="test.tsv",
        data_dir=data_dir, dev_split=0.2, delimiter="\t")
    data_silo = DataSilo(processor=processor, batch_size=batch_size)

    language_model = LanguageModel.load(lang_model)
    prediction_head = TextClassificationHead(num_labels=len(label_list))
    model = AdaptiveModel(
        language_model=language_model, prediction_heads=[prediction_head],
        embeds_dropout_prob=0.1, lm_output_types=["per_sequence"], device=device)
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, learning_rate=learning_rate, device=device, n_epochs=n_epochs,
        n_batches=len(data_silo.loaders["train"]))
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=n_epochs, n_gpu=n_gpu,
        lr_schedule=lr_schedule, evaluate_every=4, device=device)
    model = trainer.train()
    model.save(save_dir)
    processor.save(save_dir)

    inferencer = Inferencer.load(save_dir, return_class_probs=True, num_processes=0)
    basic_texts = [{"text": "good film today", "text_b": "good song again"},
                   {"text": "good film today", "text_b": "bad meal again"}]
    result = inferencer.inference_from_dicts(dicts=basic_texts)
    return {"test": trainer.test_result, "predictions": result[0]["predictions"]}


if __name__ == "__main__":
    print(text_pair_classification())
