"""Mixed precision: FARM's ``use_amp`` values mapped to native ``torch.autocast``."""

from __future__ import annotations

import logging
import warnings

import torch

logger = logging.getLogger(__name__)

_APEX_LEVELS = ("O0", "O1", "O2", "O3")


def resolve_amp(use_amp: str | bool | None, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``use_amp`` on ``device``, or None for full precision.

    Args:
        use_amp (str | bool | None): ``None``/``False`` (off), ``True`` (bf16 where the GPU
            supports it, else fp16), ``"bf16"``, ``"fp16"``, or FARM's old apex levels
            ``"O1"``-``"O3"`` (deprecated; treated as ``True``, ``"O0"`` as off).
        device (torch.device): The training device.
    """
    if use_amp in _APEX_LEVELS:
        warnings.warn(
            f"use_amp={use_amp!r} is an apex optimization level; FARM now uses native "
            "torch.autocast. Pass use_amp=True, 'bf16' or 'fp16' instead.",
            DeprecationWarning, stacklevel=3,
        )
        use_amp = use_amp != "O0"
    if not use_amp:
        return None
    if use_amp not in (True, "bf16", "fp16"):
        raise ValueError(f"use_amp must be None, True, 'bf16', 'fp16' or 'O1'; got {use_amp!r}.")
    if device.type == "cuda":
        if use_amp == "fp16" or (use_amp is True and not torch.cuda.is_bf16_supported()):
            return torch.float16
        return torch.bfloat16
    if use_amp == "fp16":
        raise ValueError("fp16 autocast needs a CUDA device; on the CPU use use_amp='bf16'.")
    if not cpu_has_native_bf16():
        logger.warning(
            "Mixed precision on this CPU: bf16 autocast, but the processor has no native bf16 "
            "instructions (AVX512-BF16 or AMX), so it runs several times slower than fp32. "
            "Leave use_amp off on this machine."
        )
    return torch.bfloat16


def cpu_has_native_bf16() -> bool:
    """Whether the CPU computes in bf16 natively (Linux: AVX512-BF16 or AMX-BF16 flags)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
