"""Language-model metrics: perplexity over masked tokens."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def perplexity(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Perplexity of the masked tokens: ``exp(total NLL / number of masked tokens)``.

    Computed from the summed negative log-likelihood of every evaluated token (not as an
    average of per-batch perplexities, which would weight small batches too much and, by
    Jensen's inequality, overstate the result).

    Args:
        preds (Sequence[Any]): Per sample an object with ``nll`` (summed natural-log
            negative log-likelihood of its masked tokens), ``n_tokens`` and ``n_correct``,
            as ``BertLMHead.logits_to_preds`` returns them.
        labels (Sequence[Any]): Per sample its masked tokens' true ids (only counted).

    Returns:
        dict[str, float]: ``perplexity``, ``masked_lm_loss`` (mean NLL per token, nats),
        ``masked_lm_acc`` (share of tokens predicted right) and ``n_masked_tokens``.
    """
    total_nll = sum(float(p.nll) for p in preds)
    n_tokens = sum(int(p.n_tokens) for p in preds)
    if sum(len(label) for label in labels) != n_tokens:
        raise ValueError("The predictions count other masked tokens than the labels.")
    if n_tokens == 0:
        nan = float("nan")
        return {"perplexity": nan, "masked_lm_loss": nan, "masked_lm_acc": nan,
                "n_masked_tokens": 0.0}
    mean_nll = total_nll / n_tokens
    return {
        "perplexity": math.exp(mean_nll) if mean_nll < 700 else float("inf"),
        "masked_lm_loss": mean_nll,
        "masked_lm_acc": sum(int(p.n_correct) for p in preds) / n_tokens,
        "n_masked_tokens": float(n_tokens),
    }
