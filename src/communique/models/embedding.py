"""Frozen sentence embeddings (MiniLM, mean-pooled) + logistic regression.

Fast to train and a strong baseline. The classifier is stored as plain arrays
(safetensors) and applied with numpy, so loading needs no unpickling at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..labels import LABEL2ID, LABELS
from .base import StanceModel
from .encoders import device, resolve_pretrained

WEIGHTS = "classifier.safetensors"


class EmbeddingModel(StanceModel):
    family = "embedding"

    def __init__(self, model_cfg=None, training_cfg=None):
        self.model_cfg = model_cfg
        self.training_cfg = training_cfg
        self.batch_size = 64

    def _encoder(self):
        if getattr(self, "encoder_", None) is None:
            from sentence_transformers import SentenceTransformer

            self.encoder_ = SentenceTransformer(resolve_pretrained(self.pretrained_), device=str(device()),
                                               trust_remote_code=False)
            self.encoder_.max_seq_length = self.max_length_
        return self.encoder_

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._encoder().encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)

    def fit(self, train, dev=None, work_dir=None, resume=False) -> "EmbeddingModel":
        from sklearn.linear_model import LogisticRegression

        mc, tc = self.model_cfg, self.training_cfg
        self.pretrained_, self.max_length_ = mc.pretrained, mc.max_length
        clf = LogisticRegression(C=mc.c, max_iter=3000, random_state=tc.seed,
                                 class_weight="balanced" if tc.class_weighted else None)
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
        return {"weights": WEIGHTS, "pretrained": self.pretrained_, "max_length": self.max_length_}

    @classmethod
    def _load_weights(cls, path: Path, settings: dict[str, Any]) -> "EmbeddingModel":
        from safetensors.numpy import load_file

        self = cls()
        from ..safety import inside

        arrays = load_file(str(inside(path, settings["weights"], f"{path}/model.json: settings.weights")))
        self.coef_, self.intercept_ = arrays["coef"], arrays["intercept"]
        self.pretrained_, self.max_length_ = settings["pretrained"], int(settings["max_length"])
        return self
