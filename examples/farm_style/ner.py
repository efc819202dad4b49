"""Named entity recognition in FARM 0.8's style: CoNLL files in, entity spans out.

    python examples/farm_style/ner.py
"""

import logging
from pathlib import Path

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import NERProcessor
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TokenClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.train import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

LANG_MODEL = "bert-base-cased"
DATA_DIR = Path("data/farm_style/ner")
SAVE_DIR = Path("saved_models/farm_style/ner")


def ner(lang_model=LANG_MODEL, data_dir=DATA_DIR, save_dir=SAVE_DIR, n_epochs=3,
        batch_size=16, learning_rate=1e-4, max_seq_len=32):
    logging.basicConfig(level=logging.INFO)
    set_all_seeds(seed=42)
    device, n_gpu = initialize_device_settings(use_cuda=True)
    ner_labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC",
                  "I-MISC"]

    tokenizer = Tokenizer.load(pretrained_model_name_or_path=lang_model)
    processor = NERProcessor(
        tokenizer=tokenizer, max_seq_len=max_seq_len, data_dir=data_dir, delimiter=" ",
        metric="seq_f1", label_list=ner_labels, train_filename="train.txt",
        dev_filename=None, dev_split=0.2, test_filename="test.txt")
    data_silo = DataSilo(processor=processor, batch_size=batch_size)

    language_model = LanguageModel.load(lang_model)
    prediction_head = TokenClassificationHead(num_labels=len(ner_labels))
    model = AdaptiveModel(
        language_model=language_model, prediction_heads=[prediction_head],
        embeds_dropout_prob=0.1, lm_output_types=["per_token"], device=device)
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, learning_rate=learning_rate, device=device, n_epochs=n_epochs,
        n_batches=len(data_silo.loaders["train"]))
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=n_epochs, n_gpu=n_gpu,
        lr_schedule=lr_schedule, evaluate_every=8, device=device)
    model = trainer.train()
    model.save(save_dir)
    processor.save(save_dir)

    inferencer = Inferencer.load(save_dir, num_processes=0)
    result = inferencer.inference_from_dicts(dicts=[{"text": "Clara lives in Vienna ."}])
    return {"test": trainer.test_result, "predictions": result[0]["predictions"]}


if __name__ == "__main__":
    print(ner())
