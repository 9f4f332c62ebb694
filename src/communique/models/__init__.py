"""Model families behind one interface (:class:`StanceModel`: fit, predict_proba, save), and the registry
that builds an unfitted model from a config or loads a fitted one from a run directory.

A family's module is imported when the family is first used, so that importing the package (and
``communique``) does not import torch."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from ..errors import RunDirError
from ..labels import LABELS
from .base import META, StanceModel
from .inference import check_inference, set_inference

# family name -> "module:class" inside this package
FAMILIES = {"transformer": "transformer:TransformerModel", "tfidf": "tfidf:TfidfModel",
            "embedding": "embedding:EmbeddingModel", "ensemble": "ensemble:EnsembleModel"}


def family_class(name: str) -> type[StanceModel]:
    """The class of model family ``name`` (one of :data:`FAMILIES`)."""
    module, cls = FAMILIES[name].split(":")
    return getattr(importlib.import_module(f".{module}", __name__), cls)


def build_model(cfg) -> StanceModel:
    """The unfitted model of a validated config's family, its hyperparameters read from the config."""
    return family_class(cfg.model.family).from_config(cfg)


def load_model(path: str | Path, precision: str | None = None, runtime: str | None = None,
               batch_size: int | None = None, actors: bool = True) -> StanceModel:
    """Load a fitted model from a model dir or a run dir (which holds ``model/``); with ``actors=False``, a
    run's speaker/target tagger is left unloaded (``actors_`` is None), for stance alone.

    Everything in ``model.json`` is checked first: the family and labels, a finite positive
    temperature, and every path it names must resolve inside the model directory. A damaged
    weight file is reported as a :class:`RunDirError` naming the directory, never a traceback.
    """
    from ..safety import positive_finite

    path = Path(path)
    if (path / "model" / META).is_file():
        path = path / "model"
    meta_file = path / META
    if not meta_file.is_file():
        raise RunDirError(f"{path}: no {META} here; is this a finished run directory?")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise RunDirError(f"{meta_file}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise RunDirError(f"{meta_file}: expected a JSON object")
    if meta.get("labels") != list(LABELS):
        raise RunDirError(f"{meta_file}: model labels {meta.get('labels')} differ from {list(LABELS)}")
    if meta.get("family") not in FAMILIES:
        raise RunDirError(f"{meta_file}: unknown model family {meta.get('family')!r}")
    settings = meta.get("settings", {})
    if not isinstance(settings, dict):
        raise RunDirError(f"{meta_file}: key 'settings' must be an object")
    temperature = positive_finite(meta.get("temperature", 1.0), f"{meta_file}: key 'temperature'")
    cls = family_class(meta["family"])
    try:
        model = cls._load_weights(path, settings)
    except RunDirError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise RunDirError(f"{meta_file}: invalid settings for family {meta['family']!r} ({type(e).__name__}: {e})") \
            from None
    except Exception as e:  # truncated zip/safetensors, unreadable files: the file is damaged, say so
        raise RunDirError(f"{path}: cannot load the {meta['family']} model; a model file is missing or damaged "
                          f"({type(e).__name__}: {str(e)[:200]})") from None
    model.temperature_ = temperature
    from ..actors import load_actors

    model.actors_ = load_actors(path) if actors else None  # None unless trained with model.actors
    return set_inference(model, precision, runtime, batch_size)


__all__ = ["FAMILIES", "StanceModel", "build_model", "check_inference", "family_class", "load_model", "set_inference"]
