"""`communique export`: a transformers folder whose `pipeline` probabilities are communique's own."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from communique.cli import main
from communique.errors import CommuniqueError
from communique.export import MARKER, export_run
from conftest import tiny_config

SENTENCES = ["The general warned of a crushing response.", "Kyiv urged allies to send more air defence.",
             "Delegates met in Geneva on Monday.", "Pyongyang ruled out any talks on disarmament, officials said."]


@pytest.fixture(scope="module")
def run(tiny_data, tiny_bert, tmp_path_factory):
    """A one-epoch tiny-BERT run, evaluated, with its temperature set to 2.5 (so folding is visible)."""
    from communique import evaluate, train

    run = train(tiny_config(tiny_data, "transformer", tiny_bert, epochs=1, precision="fp32"),
                out_dir=tmp_path_factory.mktemp("export") / "run")
    evaluate(run, n_boot=20)
    meta_file = run / "model" / "model.json"
    meta = json.loads(meta_file.read_text())
    meta["temperature"] = 2.5
    meta_file.write_text(json.dumps(meta))
    return run


def pipeline_probs(folder, sentences):
    from transformers import pipeline

    clf = pipeline("text-classification", model=str(folder), top_k=None, trust_remote_code=False, device="cpu")
    return [{d["label"]: d["score"] for d in out} for out in clf(sentences)]


def communique_probs(run, sentences):
    from communique import predict

    # fp32: bf16 autocast (on CPUs and GPUs that have it) would differ from the fp32 pipeline by ~1e-3
    return [row["probs"] for row in predict(run, sentences, precision="fp32")]


def assert_same_probs(a, b, tol=1e-5):
    for pa, pb in zip(a, b, strict=True):
        assert set(pa) == set(pb)
        for label in pa:
            assert abs(pa[label] - pb[label]) < tol, (label, pa[label], pb[label])


def test_pipeline_matches_predict_with_temperature(run, tmp_path):
    out = export_run(run, tmp_path / "export")
    theirs, ours = pipeline_probs(out, SENTENCES), communique_probs(run, SENTENCES)
    assert_same_probs(theirs, ours)
    # the temperature really is folded: at T = 1 the probabilities are sharper than these
    raw = tmp_path / "raw"
    shutil.copytree(run, raw)
    meta = json.loads((raw / "model" / "model.json").read_text())
    meta["temperature"] = 1.0
    (raw / "model" / "model.json").write_text(json.dumps(meta))
    sharp = pipeline_probs(export_run(raw, tmp_path / "export-t1"), SENTENCES)
    assert all(max(s.values()) > max(t.values()) for s, t in zip(sharp, theirs))
    assert_same_probs(sharp, communique_probs(raw, SENTENCES))

    cfg = json.loads((out / "config.json").read_text())
    assert cfg["id2label"] == {"0": "assurance", "1": "threat", "2": "demand", "3": "rejection", "4": "other"}
    assert cfg["label2id"]["rejection"] == 3 and "auto_map" not in cfg
    assert json.loads((out / MARKER).read_text())["temperature_folded"] == 2.5


def test_card_renders_metrics_and_limits(run, tmp_path):
    from huggingface_hub import ModelCard

    out = export_run(run, tmp_path / "export")
    card = ModelCard.load(out / "README.md")
    data = card.data.to_dict()
    assert data["language"] == "en" and data["license"] == "other" and data["pipeline_tag"] == "text-classification"
    test = json.loads((run / "eval" / "test" / "metrics.json").read_text())["overall"]
    results = {m["type"]: m["value"] for m in data["model-index"][0]["results"][0]["metrics"]}
    assert results == {"accuracy": round(test["accuracy"], 4), "f1": round(test["macro_f1"], 4)}
    text = card.text
    assert f"macro-F1 **{test['macro_f1']:.3f}**" in text and "| threat |" in text
    for label in ("assurance", "threat", "demand", "rejection", "other"):
        assert f"- **{label}**: " in text
    assert "Most frequent test confusions" in text and "temperature (2.5000" in text


def test_onnx_format(run, tmp_path):
    pytest.importorskip("onnxruntime")
    from communique.models.onnx_runtime import OnnxSession
    from scipy.special import softmax
    from transformers import AutoTokenizer

    out = export_run(run, tmp_path / "export", fmt="onnx")
    session = OnnxSession(out / "onnx" / "model.onnx")
    feats = AutoTokenizer.from_pretrained(out)(SENTENCES, padding=True, return_tensors="np")
    probs = softmax(session(dict(feats)), axis=1)
    expected = pipeline_probs(out, SENTENCES)
    labels = ["assurance", "threat", "demand", "rejection", "other"]
    assert np.allclose(probs, [[p[label] for label in labels] for p in expected], atol=1e-5)


def test_force_replaces_only_an_export(run, tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", str(run), str(out)]) == 0
    assert "temperature 2.500" in capsys.readouterr().out
    assert main(["export", str(run), str(out)]) == 2
    assert "add --force" in capsys.readouterr().err
    (out / "stale.txt").write_text("from the earlier export")
    assert main(["export", str(run), str(out), "--force"]) == 0
    assert not (out / "stale.txt").exists() and (out / "model.safetensors").is_file()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert main(["export", str(run), str(mine), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not written by `communique export`" in err and err.count("\n") == 1
    assert (mine / "notes.txt").read_text() == "keep me"


def test_tfidf_run_refuses(tiny_data, tmp_path, capsys):
    from communique import train

    run = train(tiny_config(tiny_data, "tfidf"), out_dir=tmp_path / "tfidf")
    with pytest.raises(CommuniqueError, match="a tfidf run cannot be exported"):
        export_run(run, tmp_path / "out")
    assert main(["export", str(run), str(tmp_path / "out")]) == 2
    assert "only transformer runs" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
