"""Multitask document classification in FARM 0.8's style: one language model, two
classification heads trained together on two label columns of the same file (coarse and
fine GermEval18-style labels), one result per head at inference.

    python examples/farm_style/mtl_doc_classification.py
"""

import logging
from pathlib import Path

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextClassificationProcessor
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.train import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

LANG_MODEL = "bert-base-german-cased"
DATA_DIR = Path("data/farm_style/doc_class")
SAVE_DIR = Path("saved_models/farm_style/mtl_doc_classification")


def mtl_doc_classification(lang_model=LANG_MODEL, data_dir=DATA_DIR, save_dir=SAVE_DIR,
                           n_epochs=2, batch_size=16, learning_rate=5e-5, max_seq_len=64):
    logging.basicConfig(level=logging.INFO)
    set_all_seeds(seed=42)
    device, n_gpu = initialize_device_settings(use_cuda=True)
    coarse_labels = ["OTHER", "OFFENSE"]
    fine_labels = ["OTHER", "INSULT", "ABUSE"]

    # 1. One processor, one task per label column; each head learns its task by name
    tokenizer = Tokenizer.load(pretrained_model_name_or_path=lang_model)
    processor = TextClassificationProcessor(
        tokenizer=tokenizer, max_seq_len=max_seq_len, data_dir=data_dir,
        train_filename="train.tsv", test_filename="test.tsv", dev_split=0.2)
    processor.add_task(name="coarse", label_list=coarse_labels, metric="acc",
                       label_column_name="coarse_label")
    processor.add_task(name="fine", label_list=fine_labels, metric="f1_macro",
                       label_column_name="fine_label")
    data_silo = DataSilo(processor=processor, batch_size=batch_size)

    language_model = LanguageModel.load(lang_model)
    coarse_head = TextClassificationHead(num_labels=len(coarse_labels), task_name="coarse")
    fine_head = TextClassificationHead(num_labels=len(fine_labels), task_name="fine")
    model = AdaptiveModel(
        language_model=language_model, prediction_heads=[coarse_head, fine_head],
        embeds_dropout_prob=0.1, lm_output_types=["per_sequence", "per_sequence"],
        device=device)
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, learning_rate=learning_rate, device=device, n_epochs=n_epochs,
        n_batches=len(data_silo.loaders["train"]))
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=n_epochs, n_gpu=n_gpu,
        lr_schedule=lr_schedule, evaluate_every=4, device=device)
    model = trainer.train()
    model.save(save_dir)
    processor.save(save_dir)

    inferencer = Inferencer.load(save_dir, num_processes=0)
    result = inferencer.inference_from_dicts(dicts=[{"text": "bad meal again"}])
    return {"test": trainer.test_result,
            "predictions": {r["task_name"]: r["predictions"][0]["label"] for r in result}}


if __name__ == "__main__":
    print(mtl_doc_classification())
