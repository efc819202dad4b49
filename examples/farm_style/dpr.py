"""Dense passage retrieval in FARM 0.8's style: a query encoder and a passage encoder
(``DPRQuestionEncoder``/``DPRContextEncoder``), in-batch and hard negatives, FARM's
``"TransformersAdamW"`` optimizer without bias correction, and the trained retriever saved,
reloaded and converted to Hugging Face DPR models.

    python examples/farm_style/dpr.py
"""

import logging
from pathlib import Path

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextSimilarityProcessor
from farm.eval import Evaluator
from farm.modeling.biadaptive_model import BiAdaptiveModel
from farm.modeling.language_model import DPRContextEncoder, DPRQuestionEncoder
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextSimilarityHead
from farm.modeling.tokenization import Tokenizer
from farm.train import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

QUESTION_ENCODER = "facebook/dpr-question_encoder-single-nq-base"
PASSAGE_ENCODER = "facebook/dpr-ctx_encoder-single-nq-base"
DATA_DIR = Path("data/farm_style/dpr")
SAVE_DIR = Path("saved_models/farm_style/dpr")


def dense_passage_retrieval(lang_model=None, data_dir=DATA_DIR, save_dir=SAVE_DIR, n_epochs=2,
                            batch_size=8, learning_rate=1e-4, max_seq_len_query=32,
                            max_seq_len_passage=48):
    logging.basicConfig(level=logging.INFO)
    set_all_seeds(seed=42)
    device, n_gpu = initialize_device_settings(use_cuda=True)
    question_encoder = lang_model or QUESTION_ENCODER
    passage_encoder = lang_model or PASSAGE_ENCODER

    # 1. Two tokenizers and the processor of DPR's JSON format
    query_tokenizer = Tokenizer.load(pretrained_model_name_or_path=question_encoder)
    passage_tokenizer = Tokenizer.load(pretrained_model_name_or_path=passage_encoder)
    processor = TextSimilarityProcessor(
        query_tokenizer=query_tokenizer, passage_tokenizer=passage_tokenizer,
        max_seq_len_query=max_seq_len_query, max_seq_len_passage=max_seq_len_passage,
        label_list=["hard_negative", "positive"], metric="text_similarity_metric",
        data_dir=data_dir, train_filename="train.json", dev_filename="dev.json",
        test_filename="test.json", embed_title=True, num_hard_negatives=1,
        max_samples=None)
    data_silo = DataSilo(processor=processor, batch_size=batch_size, distributed=False)

    # 2. The two encoders and the similarity head
    language_model1 = DPRQuestionEncoder.load(question_encoder)
    language_model2 = DPRContextEncoder.load(passage_encoder)
    prediction_head = TextSimilarityHead(similarity_function="dot_product")
    model = BiAdaptiveModel(
        language_model1=language_model1, language_model2=language_model2,
        prediction_heads=[prediction_head], embeds_dropout_prob=0.1,
        lm1_output_types=["per_sequence"], lm2_output_types=["per_sequence"], device=device)

    # 3. FARM's DPR optimizer settings: AdamW without bias correction
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, learning_rate=learning_rate,
        optimizer_opts={"name": "TransformersAdamW", "correct_bias": False,
                        "weight_decay": 0.0, "eps": 1e-08},
        schedule_opts={"name": "LinearWarmup", "num_warmup_steps": 2},
        n_batches=len(data_silo.loaders["train"]), n_epochs=n_epochs, grad_acc_steps=1,
        device=device)
    trainer = Trainer(
        model=model, optimizer=optimizer, data_silo=data_silo, epochs=n_epochs, n_gpu=n_gpu,
        lr_schedule=lr_schedule, evaluate_every=0, device=device)
    trainer.train()

    # 4. Save, reload and evaluate; convert to Hugging Face's DPR classes
    model.save(save_dir, lm1_name="lm1", lm2_name="lm2")
    processor.save(save_dir)
    reloaded = BiAdaptiveModel.load(save_dir, device=device, lm1_name="lm1", lm2_name="lm2",
                                    processor=processor)
    evaluator = Evaluator(data_loader=data_silo.get_data_loader("test"),
                          tasks=data_silo.processor.tasks, device=device)
    result = evaluator.eval(reloaded)
    hf_question_encoder, hf_passage_encoder = reloaded.convert_to_transformers()
    return {"test": result, "converted": [type(hf_question_encoder).__name__,
                                          type(hf_passage_encoder).__name__]}


if __name__ == "__main__":
    print(dense_passage_retrieval())
