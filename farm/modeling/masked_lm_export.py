"""Export a language model with its LM head as a transformers masked-LM folder."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import cast

from safetensors.torch import save_file
from torch import Tensor
from transformers import PreTrainedTokenizerBase

from farm.errors import FarmError
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.prediction_heads.lm import BertLMHead
from farm.modeling.prediction_heads.masked_lm_parts import INPUT_EMBEDDINGS

logger = logging.getLogger(__name__)


def save_masked_lm(
    model: AdaptiveModel, save_dir: str | Path, tokenizer: PreTrainedTokenizerBase | None = None
) -> Path:
    """Save the language model and its :class:`BertLMHead` in Hugging Face format.

    The folder loads with ``AutoModelForMaskedLM.from_pretrained`` (encoder and trained
    head, e.g. for a ``fill-mask`` pipeline), with ``AutoModel.from_pretrained`` (the
    encoder, pooler included) and, if ``tokenizer`` is given, ``AutoTokenizer``. The decoder
    is not stored: transformers ties it to the input embeddings on loading, as FARM does.

    Args:
        model (AdaptiveModel): A model with a ``BertLMHead``.
        save_dir (str | Path): The folder to write (``config.json``, ``model.safetensors``).
        tokenizer (PreTrainedTokenizerBase | None): Saved alongside if given.

    Returns:
        Path: ``save_dir``.
    """
    heads = [h for h in model.heads if isinstance(h, BertLMHead)]
    if not heads:
        raise FarmError(
            f"The model has no BertLMHead (its heads: {[type(h).__name__ for h in model.heads]})"
            "; save_masked_lm exports a language model with its masked-LM head."
        )
    head = heads[0]
    encoder = model.language_model.model
    config = copy.deepcopy(encoder.config)
    config.architectures = [type(head.masked_lm).__name__]
    config.vocab_size = head.vocab_size
    config.tie_word_embeddings = INPUT_EMBEDDINGS in head.tied_weights.values()
    state: dict[str, Tensor] = {
        f"{head.prefix}.{name}": value for name, value in encoder.state_dict().items()
    }
    state.update({name.removeprefix("masked_lm."): cast(Tensor, value)
                  for name, value in head.state_dict().items()})
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(str(save_dir))
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()},
              str(save_dir / "model.safetensors"), metadata={"format": "pt"})
    if tokenizer is not None:
        tokenizer.save_pretrained(str(save_dir))
    logger.info("Saved %s (encoder and masked-LM head) to %s", config.architectures[0], save_dir)
    return save_dir
