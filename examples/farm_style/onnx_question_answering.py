"""ONNX export and inference on ONNX Runtime, as FARM 0.8's ONNX example did it: the class
call ``AdaptiveModel.convert_to_onnx(model_name=..., output_path=..., task_type=...)``
converts a Hugging Face QA model and exports it; a QAInferencer on the export runs it.

    python examples/farm_style/onnx_question_answering.py
"""

import logging
from pathlib import Path

from farm.infer import QAInferencer
from farm.modeling.adaptive_model import AdaptiveModel

LANG_MODEL = "deepset/roberta-base-squad2"
SAVE_DIR = Path("onnx-export")


def onnx_question_answering(lang_model=LANG_MODEL, data_dir=None, save_dir=SAVE_DIR):
    logging.basicConfig(level=logging.INFO)
    AdaptiveModel.convert_to_onnx(model_name=lang_model, output_path=Path(save_dir),
                                  task_type="question_answering")
    inferencer = QAInferencer.load(model_name_or_path=save_dir, task_type="question_answering")
    qa_input = [{"questions": ["What is the answer?"],
                 "text": "The weather was mild. The answer is zindle. A bus passed by."}]
    results = inferencer.inference_from_dicts(qa_input)
    pytorch = QAInferencer.load(lang_model, task_type="question_answering")
    reference = pytorch.inference_from_dicts(qa_input)
    onnx_answer = results[0]["predictions"][0]["answers"][0]
    torch_answer = reference[0]["predictions"][0]["answers"][0]
    return {"answer": onnx_answer["answer"], "score": onnx_answer["score"],
            "pytorch_answer": torch_answer["answer"], "pytorch_score": torch_answer["score"]}


if __name__ == "__main__":
    print(onnx_question_answering())
