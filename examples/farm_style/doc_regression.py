"""Document regression in FARM 0.8's style: a RegressionProcessor scales the labels, a
RegressionHead predicts a number (in the original scale at inference), and FARM's output
type name "per_sequence_continuous" is used for the head.

    python examples/farm_style/doc_regression.py
"""

import logging
from pathlib import Path

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import RegressionProcessor
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import RegressionHead
from farm.modeling.tokenization import Tokenizer
from farm.train import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

LANG_MODEL = "bert-base-cased"
DATA_DIR = Path("data/farm_style/doc_regr")
SAVE_DIR = Path("saved_models/farm_style/doc_regression")


def doc_regression(lang_model=LANG_MODEL, data_dir=DATA_DIR, save_dir=SAVE_DIR, n_epochs=2,
                   batch_size=16, learning_rate=5e-5, max_seq_len=64):
    logging.basicConfig(level=logging.INFO)
    set_all_seeds(seed=42)
    device, n_gpu = initialize_device_settings(use_cuda=True)

    # 1. Tokenizer and processor (labels are scaled to zero mean and unit variance)
    tokenizer = Tokenizer.load(pretrained_model_name_or_path=lang_model)
    processor = RegressionProcessor(
        tokenizer=tokenizer, max_seq_len=max_seq_len, data_dir=data_dir,
        label_column_name="label", metric="mse", train_filename="train.tsv",
        dev_split=0.2, test_filename="test.tsv")
    data_silo = DataSilo(processor=processor, batch_size=batch_size)

    # 2. Model: FARM's regression examples name the output type "per_sequence_continuous"
    language_model = LanguageModel.load(lang_model)
    prediction_head = RegressionHead()
    model = AdaptiveModel(
        language_model=language_model, prediction_heads=[prediction_head],
        embeds_dropout_prob=0.1, lm_output_types=["per_sequence_continuous"], device=device)

    # 3. Optimizer, trainer
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, learning_rate=learning_rate, device=device, n_epochs=n_epochs,
        n_batches=len(data_silo.loaders["train"]))
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=n_epochs, n_gpu=n_gpu,
        lr_schedule=lr_schedule, evaluate_every=4, device=device)
    model = trainer.train()

    # 4. Save, load, predict in the original scale of the labels
    model.save(save_dir)
    processor.save(save_dir)
    inferencer = Inferencer.load(save_dir, num_processes=0)
    result = inferencer.inference_from_dicts(
        dicts=[{"text": "good film today"}, {"text": "bad meal again"}])
    return {"test": trainer.test_result, "predictions": result[0]["predictions"]}


if __name__ == "__main__":
    print(doc_regression())
