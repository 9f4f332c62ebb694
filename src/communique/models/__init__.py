"""Model families behind one interface: fit, predict_proba, save, load."""

from .base import StanceModel, build_model, load_model, set_inference

__all__ = ["StanceModel", "build_model", "load_model", "set_inference"]
