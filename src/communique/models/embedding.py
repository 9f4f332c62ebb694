"""Frozen sentence embeddings (MiniLM, mean-pooled) + logistic regression.

Fast to train and a strong baseline. The classifier is stored as plain arrays
(safetensors) and applied with numpy, so loading needs no unpickling at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..config import MINILM
from ..labels import LABEL2ID, LABELS
from .base import StanceModel
from .encoders import device, resolve_pretrained

WEIGHTS = "classifier.safetensors"


class EmbeddingModel(StanceModel):
    family = "embedding"
    config_keys: ClassVar[dict[str, str]] = {
        "pretrained": "model.pretrained", "max_length": "model.max_length", "c": "model.c",
        "class_weighted": "training.class_weighted", "seed": "training.seed"}

    def __init__(self, pretrained: str = MINILM, max_length: int = 128, c: float = 4.0,
                 class_weighted: bool = False, seed: int = 13, inference_batch_size: int = 64):
        self.pretrained = pretrained
        self.max_length = max_length
        self.c = c
        self.class_weighted = class_weighted
        self.seed = seed
        self.inference_batch_size = inference_batch_size  # sentences per encoder pass

    def _encoder(self):
        if getattr(self, "encoder_", None) is None:
            from sentence_transformers import SentenceTransformer

            self.encoder_ = SentenceTransformer(resolve_pretrained(self.pretrained), device=str(device()),
                                               trust_remote_code=False)
            self.encoder_.max_seq_length = self.max_length
        return self.encoder_

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._encoder().encode(list(texts), batch_size=self.inference_batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)

    def fit(self, train, dev=None, work_dir=None, resume=False) -> "EmbeddingModel":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=self.c, max_iter=3000, random_state=self.seed,
                                 class_weight="balanced" if self.class_weighted else None)
        clf.fit(self.embed(train["text"]), [LABEL2ID[x] for x in train["label"]])
        if list(clf.classes_) != list(range(len(LABELS))):
            raise ValueError("training data must contain every label")
        # C order: safetensors writes raw buffers, and lbfgs leaves coef_ in Fortran order
        self.coef_ = np.ascontiguousarray(clf.coef_, dtype=np.float32)
        self.intercept_ = np.ascontiguousarray(clf.intercept_, dtype=np.float32)
        return self

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, len(LABELS)))
        return self.embed(texts) @ self.coef_.T + self.intercept_

    def _save_weights(self, path: Path) -> dict[str, Any]:
        from safetensors.numpy import save_file

        save_file({"coef": self.coef_, "intercept": self.intercept_}, str(path / WEIGHTS))
        return {"weights": WEIGHTS, "pretrained": self.pretrained, "max_length": self.max_length}

    @classmethod
    def _load_weights(cls, path: Path, settings: dict[str, Any]) -> "EmbeddingModel":
        from safetensors.numpy import load_file

        from ..safety import inside

        arrays = load_file(str(inside(path, settings["weights"], f"{path}/model.json: settings.weights")))
        self = cls(pretrained=settings["pretrained"], max_length=int(settings["max_length"]))
        self.coef_, self.intercept_ = arrays["coef"], arrays["intercept"]
        return self
