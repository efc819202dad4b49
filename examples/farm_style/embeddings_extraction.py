"""Sentence vectors from a language model, the way FARM 0.8's embeddings example got them:
``Inferencer.load(..., task_type="embeddings", extraction_strategy=..., extraction_layer=...)``.
With ``return_json=False`` the vectors are numpy arrays in a flat list, as FARM returned.

    python examples/farm_style/embeddings_extraction.py
"""

import logging

import numpy as np

from farm.infer import Inferencer
from farm.utils import set_all_seeds

LANG_MODEL = "bert-base-german-cased"


def embeddings_extraction(lang_model=LANG_MODEL, data_dir=None, save_dir=None, batch_size=8):
    logging.basicConfig(level=logging.INFO)
    set_all_seeds(seed=42)
    basic_texts = [
        {"text": "Schartau sagte dem Tagesspiegel, dass Fischer ein Idiot sei"},
        {"text": "Martin Müller spielt Handball in Berlin"},
    ]
    model = Inferencer.load(lang_model, task_type="embeddings", gpu=False,
                            batch_size=batch_size, extraction_strategy="reduce_mean",
                            extraction_layer=-2, num_processes=0)
    result = model.inference_from_dicts(dicts=basic_texts, return_json=False)
    vectors = np.stack([r["vec"] for r in result])
    similarity = float(vectors[0] @ vectors[1]
                       / (np.linalg.norm(vectors[0]) * np.linalg.norm(vectors[1])))
    if save_dir is not None:
        model.save(save_dir)
    return {"shape": list(vectors.shape), "cosine_similarity": similarity,
            "contexts": [r["context"] for r in result]}


if __name__ == "__main__":
    print(embeddings_extraction())
