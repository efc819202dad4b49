"""Export a language model with its LM head as a transformers masked-LM folder."""

from __future__ import annotations

from pathlib import Path

from transformers import PreTrainedTokenizerBase

from farm.errors import FarmError
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.prediction_heads.lm import BertLMHead


def save_masked_lm(
    model: AdaptiveModel, save_dir: str | Path, tokenizer: PreTrainedTokenizerBase | None = None
) -> Path:
    """Save the language model and its :class:`BertLMHead` in Hugging Face format.

    The Hugging Face conversion of the masked-LM head alone (``save_transformers(model,
    save_dir, tokenizer, head=<its index>)``, see ``docs/conversion.md``), checked to give
    FARM's logits. The folder loads with ``AutoModelForMaskedLM.from_pretrained`` (encoder
    and trained head, e.g. for a ``fill-mask`` pipeline), with ``AutoModel.from_pretrained``
    (the encoder, pooler included) and, if ``tokenizer`` is given, ``AutoTokenizer``. A tied
    decoder is not stored: transformers ties it to the input embeddings on loading, as FARM
    does. A next-sentence head is left out (``save_transformers`` of a BERT model with both
    heads writes a ``BertForPreTraining`` folder instead).

    Args:
        model (AdaptiveModel): A model with a ``BertLMHead``.
        save_dir (str | Path): The folder to write (``config.json``, ``model.safetensors``).
        tokenizer (PreTrainedTokenizerBase | None): Saved alongside if given.

    Returns:
        Path: ``save_dir``.
    """
    from farm.conversion.transformers import save_transformers

    index = next((i for i, h in enumerate(model.heads) if isinstance(h, BertLMHead)), None)
    if index is None:
        raise FarmError(
            f"The model has no BertLMHead (its heads: {[type(h).__name__ for h in model.heads]})"
            "; save_masked_lm exports a language model with its masked-LM head."
        )
    (folder,) = save_transformers(model, save_dir, tokenizer=tokenizer, head=index)
    return folder
