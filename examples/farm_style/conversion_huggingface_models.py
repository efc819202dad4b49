"""Conversion between FARM and Hugging Face transformers, as FARM 0.8's conversion example
did it: ``Converter.convert_to_transformers`` for a trained FARM model,
``Converter.convert_from_transformers`` and ``Inferencer.load(..., task_type=...)`` for a
Hugging Face model. Where FARM's example called ``transformers.pipeline("question-answering")``
(removed in transformers 5), a QAInferencer opens the converted folder.

    python examples/farm_style/conversion_huggingface_models.py
"""

import logging
from pathlib import Path

from farm.conversion.transformers import Converter
from farm.data_handler.processor import SquadProcessor
from farm.infer import QAInferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import QuestionAnsweringHead
from farm.modeling.tokenization import Tokenizer

LANG_MODEL = "deepset/roberta-base-squad2"
SAVE_DIR = Path("saved_models/farm_style/conversion")
QA_INPUT = [{"questions": ["Why is model conversion important?"],
             "text": "The option to convert models between FARM and transformers gives "
                     "freedom to the user and lets people easily switch between frameworks."}]


def convert_from_transformers(lang_model=LANG_MODEL, save_dir=SAVE_DIR):
    # CASE 1: the model, to continue training or compare
    model = Converter.convert_from_transformers(lang_model, device="cpu",
                                                task_type="question_answering")
    # CASE 2: an inferencer with model, tokenizer and processor, for predictions
    nlp = QAInferencer.load(lang_model, task_type="question_answering", num_processes=0)
    result = nlp.inference_from_dicts(dicts=QA_INPUT)
    nlp.close_multiprocessing_pool()
    nlp.save(save_dir / "farm")
    return model, result


def convert_to_transformers(farm_model_dir, transformers_output_dir):
    model = AdaptiveModel.load(farm_model_dir, device="cpu")
    tokenizer = Tokenizer.load(farm_model_dir)
    transformer_model = Converter.convert_to_transformers(model)[0]
    transformer_model.save_pretrained(transformers_output_dir)
    tokenizer.save_pretrained(transformers_output_dir)
    # transformers 5 has no QA pipeline; FARM's QAInferencer reads the Hugging Face folder
    nlp = QAInferencer.load(transformers_output_dir, task_type="question_answering")
    return nlp.inference_from_dicts(dicts=QA_INPUT)


def conversion(lang_model=LANG_MODEL, data_dir=None, save_dir=SAVE_DIR):
    logging.basicConfig(level=logging.INFO)
    save_dir = Path(save_dir)
    if (Path(lang_model) / "config.json").is_file() and not (
            Path(lang_model) / "farm_model.json").is_file():
        hf_dir = Path(lang_model)
    else:  # a plain encoder (e.g. MiniLM): give it an (untrained) QA head first
        hf_dir = save_dir / "hf_start"
        start = AdaptiveModel(LanguageModel.load(lang_model), [QuestionAnsweringHead()], 0.1,
                              lm_output_types=["per_token"], device="cpu")
        start.convert_to_transformers()[0].save_pretrained(hf_dir)
        Tokenizer.load(lang_model).save_pretrained(hf_dir)
    model, from_hf = convert_from_transformers(hf_dir, save_dir)
    back = convert_to_transformers(save_dir / "farm", save_dir / "transformers")
    # Converted for further training: the heads are connected with the processor's tasks
    processor = SquadProcessor(Tokenizer.load(save_dir / "transformers"), max_seq_len=256,
                               data_dir=None, train_filename=None, dev_filename=None)
    fitted = Converter.convert_from_transformers(save_dir / "transformers", device="cpu",
                                                 processor=processor)
    return {"farm_answer": from_hf[0]["predictions"][0]["answers"][0]["answer"],
            "transformers_answer": back[0]["predictions"][0]["answers"][0]["answer"],
            "heads": [h.task_name for h in model.heads + fitted.heads],
            "label_tensor": fitted.heads[0].label_tensor_name}

if __name__ == "__main__":
    print(conversion())
