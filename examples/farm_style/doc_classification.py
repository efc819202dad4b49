"""Document classification, written the way FARM 0.8's examples were (GermEval18-style
"OFFENSE"/"OTHER" labels): tokenizer, processor, data silo, language model + head, optimizer,
trainer with early stopping, save, and inference on the saved model.

    python examples/farm_style/sample_data.py data/farm_style
    python examples/farm_style/doc_classification.py
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
from farm.train import EarlyStopping, Trainer
from farm.utils import initialize_device_settings, set_all_seeds

LANG_MODEL = "bert-base-german-cased"
DATA_DIR = Path("data/farm_style/doc_class")
SAVE_DIR = Path("saved_models/farm_style/doc_classification")


def doc_classification(lang_model=LANG_MODEL, data_dir=DATA_DIR, save_dir=SAVE_DIR,
                       n_epochs=2, batch_size=16, learning_rate=3e-5, max_seq_len=64):
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
                        level=logging.INFO)
    set_all_seeds(seed=42)
    device, n_gpu = initialize_device_settings(use_cuda=True)
    label_list = ["OTHER", "OFFENSE"]

    # 1. Tokenizer and processor: the processor turns the TSV files into datasets
    tokenizer = Tokenizer.load(pretrained_model_name_or_path=lang_model, do_lower_case=False)
    processor = TextClassificationProcessor(
        tokenizer=tokenizer, max_seq_len=max_seq_len, data_dir=data_dir,
        label_list=label_list, metric="f1_macro", label_column_name="coarse_label",
        train_filename="train.tsv", test_filename="test.tsv", dev_split=0.2,
    )
    # 2. DataSilo: train/dev/test loaders
    data_silo = DataSilo(processor=processor, batch_size=batch_size)

    # 3. Language model and head, weighted against the class imbalance
    language_model = LanguageModel.load(lang_model)
    prediction_head = TextClassificationHead(
        class_weights=data_silo.calculate_class_weights(task_name="text_classification"),
        num_labels=len(label_list))
    model = AdaptiveModel(
        language_model=language_model, prediction_heads=[prediction_head],
        embeds_dropout_prob=0.1, lm_output_types=["per_sequence"], device=device)

    # 4. Optimizer and learning-rate schedule
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, learning_rate=learning_rate, device=device, n_epochs=n_epochs,
        n_batches=len(data_silo.loaders["train"]))

    # 5. Train with early stopping on dev F1; the best model ends up in save_dir
    earlystopping = EarlyStopping(metric="f1_macro", mode="max", save_dir=save_dir,
                                  patience=3)
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=n_epochs, n_gpu=n_gpu,
        lr_schedule=lr_schedule, evaluate_every=4, device=device,
        early_stopping=earlystopping, log_learning_rate=True, eval_report=False)
    trainer.train()

    # 6. Inference on the saved model
    basic_texts = [{"text": "good film today"}, {"text": "bad meal again"}]
    inferencer = Inferencer.load(save_dir, batch_size=2, num_processes=0)
    result = inferencer.inference_from_dicts(dicts=basic_texts)
    inferencer.close_multiprocessing_pool()
    return {"test": trainer.test_result, "predictions": result[0]["predictions"]}


if __name__ == "__main__":
    print(doc_classification())
