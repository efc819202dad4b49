"""Extractive question answering in FARM 0.8's style (SQuAD 2.0 files): training, confidence
calibration on dev, accuracy per confidence bin on test, and answers as FARM's ``QAPred``
objects (``return_json=False``) from a QAInferencer.

    python examples/farm_style/question_answering.py
"""

import logging
from pathlib import Path

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.inputs import QAInput, Question
from farm.data_handler.processor import SquadProcessor
from farm.eval import Evaluator
from farm.evaluation.metrics import metrics_per_bin
from farm.infer import QAInferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import QuestionAnsweringHead
from farm.modeling.tokenization import Tokenizer
from farm.train import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

LANG_MODEL = "roberta-base"
DATA_DIR = Path("data/farm_style/squad20")
SAVE_DIR = Path("saved_models/farm_style/question_answering")


def question_answering(lang_model=LANG_MODEL, data_dir=DATA_DIR, save_dir=SAVE_DIR,
                       n_epochs=2, batch_size=16, learning_rate=1e-4, max_seq_len=64):
    logging.basicConfig(level=logging.INFO)
    set_all_seeds(seed=42)
    device, n_gpu = initialize_device_settings(use_cuda=True)

    # 1. Processor with passages of max_seq_len tokens, doc_stride apart
    tokenizer = Tokenizer.load(pretrained_model_name_or_path=lang_model)
    processor = SquadProcessor(
        tokenizer=tokenizer, max_seq_len=max_seq_len, label_list=["start_token", "end_token"],
        metric="squad", train_filename="train-v2.0.json", dev_filename="dev-v2.0.json",
        test_filename="test-v2.0.json", data_dir=data_dir, doc_stride=16,
        max_query_length=16)
    data_silo = DataSilo(processor=processor, batch_size=batch_size)

    # 2. Model with FARM's QA output type name, and training
    language_model = LanguageModel.load(lang_model)
    prediction_head = QuestionAnsweringHead(n_best=3)
    model = AdaptiveModel(
        language_model=language_model, prediction_heads=[prediction_head],
        embeds_dropout_prob=0.1, lm_output_types=["per_token_squad"], device=device)
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, learning_rate=learning_rate, schedule_opts={"name": "LinearWarmup",
                                                                 "warmup_proportion": 0.2},
        n_batches=len(data_silo.loaders["train"]), n_epochs=n_epochs, device=device)
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=n_epochs, n_gpu=n_gpu,
        lr_schedule=lr_schedule, evaluate_every=0, device=device, evaluator_test=False)
    model = trainer.train()

    # 3. Calibrate the confidence scores on dev, then group test questions by confidence
    evaluator_dev = Evaluator(data_loader=data_silo.get_data_loader("dev"),
                              tasks=data_silo.processor.tasks, device=device)
    evaluator_dev.eval(model, return_preds_and_labels=True, calibrate_conf_scores=True)
    evaluator_test = Evaluator(data_loader=data_silo.get_data_loader("test"),
                               tasks=data_silo.processor.tasks, device=device)
    result_test = evaluator_test.eval(model, return_preds_and_labels=True)[0]
    em_per_bin, confidence_per_bin, count_per_bin = metrics_per_bin(
        result_test["preds"], result_test["labels"], num_bins=5)
    for bin_number in range(5):
        logging.info("Bin %d - exact match %.3f, mean confidence %.3f (%d questions)",
                     bin_number, em_per_bin[bin_number], confidence_per_bin[bin_number],
                     count_per_bin[bin_number])

    # 4. Save (with the fitted temperature) and ask questions
    model.save(save_dir)
    processor.save(save_dir)
    inferencer = QAInferencer.load(save_dir, batch_size=8, task_type="question_answering",
                                   max_seq_len=max_seq_len, doc_stride=16, num_processes=0)
    qa_input = [QAInput(doc_text="The weather was mild. The answer is zindle. A bus passed.",
                        questions=Question(text="What is the answer?", uid="my-question"))]
    result = inferencer.inference_from_objects(qa_input, return_json=False)[0]
    best = result.prediction[0]
    logging.info("Answer %r with confidence %.3f", best.answer, best.confidence)
    return {"test": [{k: v for k, v in result_test.items() if k not in ("preds", "labels")}],
            "answer": best.answer, "confidence": best.confidence, "id": result.id,
            "count_per_bin": count_per_bin, "squad_eval": result.to_squad_eval()}


if __name__ == "__main__":
    print(question_answering())
