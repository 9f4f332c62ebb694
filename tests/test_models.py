import json

import numpy as np
import pytest

from communique.data import load_labelled
from communique.errors import RunDirError
from communique.labels import LABELS
from communique.models import build_model, load_model

from conftest import tiny_config

TEXTS = ["Moscow pledged it would not attack.", "Sanctions were imposed in March.", "He warned of a response."]
MORE_TEXTS = ["A much longer sentence, so that the batch needs padding to the longest member of it.",
              "The rebels refused to lay down their arms.", "Talks resume on Monday in Geneva.",
              "The union demanded a pay rise of ten percent before the strike vote.",
              "Officials promised aid would reach the border towns within a week.",
              "The ministry rejected the plan outright.", "Troops moved closer to the frontier overnight."]


def _fit(tiny_data, family, pretrained=""):
    cfg = tiny_config(tiny_data, family, pretrained)
    model = build_model(cfg)
    return model.fit(load_labelled([tiny_data["train"]]), load_labelled([tiny_data["dev"]]))


def test_tfidf_roundtrip_without_pickle(tiny_data, tmp_path):
    model = _fit(tiny_data, "tfidf")
    probs = model.predict_proba(TEXTS)
    assert probs.shape == (3, len(LABELS)) and np.allclose(probs.sum(1), 1)
    # it learned something: training sentences come back with their labels
    assert model.predict(["The council demanded an immediate withdrawal."]) == ["demand"]
    model.temperature_ = 2.0
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m/model.json").read_text())["temperature"] == 2.0
    assert not list(tmp_path.glob("m/*.pkl"))
    again = load_model(tmp_path / "m")
    assert np.allclose(again.predict_proba(TEXTS), model.predict_proba(TEXTS))


def test_skops_refuses_unexpected_types(tiny_data, tmp_path, monkeypatch):
    model = _fit(tiny_data, "tfidf")
    model.save(tmp_path / "m")
    import skops.io

    # a file that asks skops to build something outside the pipeline's own types is refused
    monkeypatch.setattr(skops.io, "get_untrusted_types", lambda file: ["builtins.eval"])
    with pytest.raises(RunDirError, match=r"refuses to load unexpected types \['builtins.eval'\]"):
        load_model(tmp_path / "m")


def test_tiny_transformer_fit_save_load(tiny_data, tiny_bert, tmp_path):
    model = _fit(tiny_data, "transformer", tiny_bert)
    probs = model.predict_proba(TEXTS)
    assert probs.shape == (3, 5)
    model.save(tmp_path / "m")
    assert (tmp_path / "m/model.safetensors").is_file()
    again = load_model(tmp_path / "m")
    assert np.allclose(again.predict_proba(TEXTS), probs, atol=1e-5)


@pytest.mark.parametrize("setting, fixed, trained", [
    ({"freeze_embeddings": True}, ["embeddings.word_embeddings"], ["embeddings.position", "layer.0.", "layer.1."]),
    ({"frozen_layers": 1}, ["embeddings.", "layer.0."], ["layer.1.", "classifier"]),
])
def test_frozen_weights_stay_pretrained_and_the_rest_trains(tiny_data, tiny_bert, setting, fixed, trained):
    import torch
    from transformers import AutoModelForSequenceClassification

    before = dict(AutoModelForSequenceClassification.from_pretrained(tiny_bert).named_parameters())
    cfg = tiny_config(tiny_data, "transformer", tiny_bert, learning_rate=1e-3, **setting)
    model = build_model(cfg).fit(load_labelled([tiny_data["train"]]),
                                                     load_labelled([tiny_data["dev"]]))
    after = dict(model.model_.named_parameters())
    changed = {n for n, w in after.items() if n in before and not torch.equal(w.detach().cpu(), before[n].detach())}
    assert not [n for n in changed if any(f in n for f in fixed)]
    for part in trained:
        assert [n for n in changed if part in n], f"nothing under {part} was trained"


def test_dropout_settings_reach_the_encoder_and_the_saved_config(tiny_data, tiny_bert, tmp_path):
    from communique.config import config_from_dict

    raw = tiny_config(tiny_data, "transformer", tiny_bert).to_dict()
    raw["model"].update(hidden_dropout=0.0, attention_dropout=0.05)
    model = build_model(config_from_dict(raw)).fit(load_labelled([tiny_data["train"]]))
    cfg = model.model_.config
    assert (cfg.hidden_dropout_prob, cfg.attention_probs_dropout_prob) == (0.0, 0.05)
    import torch

    if not torch.cuda.is_available():
        assert cfg._attn_implementation == "eager"  # the faster attention for training on a CPU
    model.save(tmp_path / "m")
    saved = json.loads((tmp_path / "m/config.json").read_text())
    assert (saved["hidden_dropout_prob"], saved["attention_probs_dropout_prob"]) == (0.0, 0.05)
    # left unset, the encoder keeps its own dropout
    assert _fit(tiny_data, "transformer", tiny_bert).model_.config.hidden_dropout_prob == 0.1


def test_a_shallower_encoder_trains_saves_and_loads_with_its_lowest_layers(tiny_data, tiny_bert, tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification

    from communique.config import config_from_dict
    from communique.models import load_model

    raw = tiny_config(tiny_data, "transformer", tiny_bert, learning_rate=0.0).to_dict()
    raw["model"]["layers"] = 1
    model = build_model(config_from_dict(raw)).fit(load_labelled([tiny_data["train"]]))
    assert model.model_.config.num_hidden_layers == 1 and len(model.model_.bert.encoder.layer) == 1
    pretrained = dict(AutoModelForSequenceClassification.from_pretrained(tiny_bert).named_parameters())
    kept = model.model_.bert.encoder.layer[0].attention.self.query.weight.detach().cpu()
    assert torch.equal(kept, pretrained["bert.encoder.layer.0.attention.self.query.weight"].detach())  # the lowest
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m/config.json").read_text())["num_hidden_layers"] == 1
    texts = [r["text"] for r in load_labelled([tiny_data["dev"]])][:4]
    assert load_model(tmp_path / "m").predict(texts) == model.predict(texts)


def test_freezing_more_layers_than_the_encoder_has_is_an_error(tiny_data, tiny_bert):
    from communique.errors import ConfigError

    cfg = tiny_config(tiny_data, "transformer", tiny_bert, frozen_layers=2)
    with pytest.raises(ConfigError, match="frozen_layers: 2, but the encoder has only 2 layers"):
        build_model(cfg).fit(load_labelled([tiny_data["train"]]))


def test_length_sorted_batches_keep_order(tiny_data, tiny_bert):
    """Scores must not depend on batch composition (sorting, padding)."""
    model = _fit(tiny_data, "transformer", tiny_bert)
    model.precision = "fp32"
    texts = ["Short.", "A much longer sentence about the talks in Geneva that went on all day.", "Mid length one."]
    together = model.logits(texts)
    alone = np.vstack([model.logits([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_load_model_errors(tmp_path):
    with pytest.raises(RunDirError, match="no model.json"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"family": "svm", "labels": list(LABELS), "settings": {}}))
    with pytest.raises(RunDirError, match="unknown model family 'svm'"):
        load_model(tmp_path)


def test_onnx_runtime_matches_torch(tiny_data, tiny_bert, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from communique.models import transformer

    _fit(tiny_data, "transformer", tiny_bert).save(tmp_path / "m")
    model = load_model(tmp_path / "m")
    model.precision = "fp32"
    texts = TEXTS + MORE_TEXTS
    ref = model.logits(texts)
    model.runtime = "onnx"
    assert np.allclose(model.logits(texts), ref, atol=1e-4)
    assert (tmp_path / "m/onnx/model-cls.onnx").is_file()
    fp32 = model.logits(texts)
    model.runtime = "onnx-int8"
    monkeypatch.setattr(transformer, "RECHECK_GAP", 0.0)  # no close call is checked again
    q = model.logits(texts)
    assert q.shape == ref.shape and (tmp_path / "m/onnx/model-cls.int8-r7.onnx").is_file()
    # quantised (not the fp32 graph again), yet close: within a tenth of the spread of the logits
    assert not np.allclose(q, fp32, atol=1e-6) and np.abs(q - ref).max() <= 0.1 * np.ptp(ref)
    _assert_close_calls_rescored(model, texts, q, fp32, monkeypatch)


def _assert_close_calls_rescored(model, texts, reduced, fp32, monkeypatch):
    """With the gap between two of the sentences' gaps, the close calls of the reduced-precision logits come
    out in fp32 and the rest keep their reduced-precision logits."""
    from communique.models import transformer

    top2 = np.sort(reduced, axis=1)[:, -2:]
    gaps = top2[:, 1] - top2[:, 0]
    distinct = np.unique(gaps)  # reduced precision can give several sentences the same gap
    assert len(distinct) > 1, gaps
    gap = float(distinct[len(distinct) // 2 - 1] + distinct[len(distinct) // 2]) / 2  # between two of them
    close = gaps < gap
    assert 0 < close.sum() < len(texts)
    monkeypatch.setattr(transformer, "RECHECK_GAP", gap)
    mixed = model.logits(texts)
    assert np.allclose(mixed[close], fp32[close], atol=1e-5) and np.array_equal(mixed[~close], reduced[~close])


def test_bf16_close_calls_are_scored_again_in_fp32(tiny_data, tiny_bert, monkeypatch):
    from communique.models import transformer

    import torch

    model = _fit(tiny_data, "transformer", tiny_bert)
    texts = TEXTS + MORE_TEXTS  # enough sentences that bf16 leaves several distinct gaps
    model.precision = "fp32"
    fp32 = model.logits(texts)
    model.precision = "bf16"  # a bf16 copy of the weights (emulated on a CPU without bf16)
    monkeypatch.setattr(transformer, "RECHECK_GAP", 0.0)
    bf16 = model.logits(texts)
    assert not np.allclose(bf16, fp32, atol=1e-6)
    assert {p.dtype for p in model.model_.parameters()} == {torch.float32}  # the fp32 model is left as it was
    model.precision = "fp32"
    np.testing.assert_allclose(model.logits(texts), fp32, rtol=0, atol=1e-6)
    model.precision = "bf16"
    _assert_close_calls_rescored(model, texts, bf16, fp32, monkeypatch)


def test_temperature_scaling_softens_overconfident_logits():
    from communique.calibration import apply_temperature, fit_temperature

    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 2000)
    logits = rng.normal(0, 1, (2000, 5))
    logits[np.arange(2000), y] += 2.0  # right about 70% of the time ...
    logits *= 4.0  # ... but far too sure of itself
    t = fit_temperature(logits, y)
    assert t > 1.5  # softens
    p_raw, p_cal = apply_temperature(logits, 1.0), apply_temperature(logits, t)
    assert (p_raw.argmax(1) == p_cal.argmax(1)).all()  # accuracy untouched
    acc = (p_cal.argmax(1) == y).mean()
    assert abs(p_cal.max(1).mean() - acc) < abs(p_raw.max(1).mean() - acc) / 2


def test_ensemble_averages_members_and_is_self_contained(tiny_data, tmp_path):
    import shutil

    from communique.errors import ConfigError
    from communique.train import train

    a = train(tiny_config(tiny_data, "tfidf"), out_dir=tmp_path / "a")
    cfg_b = tiny_config(tiny_data, "tfidf")
    cfg_b.model.ngram_max = 1
    b = train(cfg_b, out_dir=tmp_path / "b")
    cfg = tiny_config(tiny_data, "tfidf")
    cfg.model.family, cfg.model.members = "ensemble", [str(a), str(b)]
    cfg.training.calibrate = False
    ens = train(cfg, out_dir=tmp_path / "ens")
    pa, pb = load_model(a).predict_proba(TEXTS), load_model(b).predict_proba(TEXTS)
    expected = np.sqrt(pa * pb)
    expected /= expected.sum(1, keepdims=True)
    shutil.rmtree(a), shutil.rmtree(b)  # the ensemble carries copies of its members
    assert np.allclose(load_model(ens).predict_proba(TEXTS), expected, atol=1e-6)
    cfg.model.members = [str(ens)]
    with pytest.raises(ConfigError, match="at least two"):
        train(cfg, out_dir=tmp_path / "ens2")


def test_cls_only_forward_matches_the_full_model(tiny_bert):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, DistilBertConfig, \
        DistilBertForSequenceClassification

    from communique.models.cls_forward import ClsOnlyForward, Logits, inference_module, supports

    torch.manual_seed(0)
    # large random weights, so that a wrong mask or a missing block would move the logits visibly
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=128, initializer_range=0.3, num_labels=5)
    model = BertForSequenceClassification(cfg).eval()
    tok = AutoTokenizer.from_pretrained(tiny_bert)
    feats = tok(TEXTS + ["A much longer sentence, so that the others are padded to the length of this one."],
                padding=True, return_tensors="pt")
    assert (feats["attention_mask"] == 0).any()
    net = ClsOnlyForward(model).eval()
    with torch.inference_mode():
        full, cls = model(**feats).logits, net(**feats)
        alone = net(**tok(TEXTS[:1], return_tensors="pt"))  # unpadded: padding must not matter
    assert full.std() > 0.1  # not a degenerate, near-constant output
    assert torch.allclose(cls, full, rtol=1e-4, atol=1e-5)
    assert torch.allclose(alone[0], full[0], rtol=1e-4, atol=1e-5)
    assert supports(model) and isinstance(inference_module(model), ClsOnlyForward)
    # other architectures: the full forward pass, same logits
    other = DistilBertForSequenceClassification(DistilBertConfig(
        vocab_size=30522, dim=16, n_layers=1, n_heads=2, hidden_dim=32, num_labels=5)).eval()
    assert not supports(other)
    net = inference_module(other)
    assert isinstance(net, Logits)
    ids = {k: feats[k] for k in ("input_ids", "attention_mask")}
    with torch.inference_mode():
        assert torch.equal(net(**ids), other(**ids).logits)


def test_inference_options_reach_every_engine_and_ensemble_member(tiny_data, tiny_bert, tmp_path):
    """precision, runtime and batch size set once reach the model, the members of an ensemble, the
    embedding family's encoder batch, and the Ray engine's scoring actor."""
    from communique.models.embedding import EmbeddingModel
    from communique.models.ensemble import EnsembleModel
    from communique.ray_engine import SentenceScorer
    from communique.score_rows import ScoreOptions, apply_inference_options
    from communique.train import train

    run = train(tiny_config(tiny_data, "transformer", tiny_bert, epochs=1), out_dir=tmp_path / "t")
    opts = ScoreOptions(precision="fp32", runtime="onnx", batch_size=7)
    scorer = SentenceScorer(str(run), opts)
    assert (scorer.model.precision, scorer.model.runtime, scorer.model.inference_batch_size) == ("fp32", "onnx", 7)

    ens = EnsembleModel()
    ens.members_ = [load_model(run), load_model(run), EmbeddingModel()]
    apply_inference_options(ens, opts)
    assert [m.runtime for m in ens.members_[:2]] == ["onnx", "onnx"]
    assert [m.inference_batch_size for m in ens.members_[:2]] == [7, 7]
    assert ens.members_[2].inference_batch_size == 7


@pytest.mark.parametrize("family", ["transformer", "tfidf", "embedding", "ensemble"])
def test_families_read_named_hyperparameters_from_their_config_keys(family):
    """Each family's constructor keywords come from the config keys it declares, and the model keys it
    declares are exactly the ones the config lets that family set (the rest are refused there)."""
    from communique.config import FAMILY_KEYS, config_from_dict
    from communique.models import family_class

    cls = family_class(family)
    model_keys = {k.split(".", 1)[1] for k in cls.config_keys.values() if k.startswith("model.")}
    assert model_keys == FAMILY_KEYS[family]
    defaults, unset = cls().get_params(), config_from_dict({"model": {"family": family}})
    for name, dotted in cls.config_keys.items():  # a bare constructor means what an empty config means
        section, key = dotted.split(".")
        expected = getattr(getattr(unset, section), key)
        assert (list(defaults[name]) if name == "members" else defaults[name]) == expected, name
    raw = {"model": {"family": family}, "training": {"seed": 99, "class_weighted": True}}
    if family == "tfidf":
        raw["model"].update(ngram_max=3, c=0.5)
    if family == "ensemble":
        raw["model"]["members"] = ["runs/a", "runs/b"]
    model = build_model(config_from_dict(raw))
    params = model.get_params()
    assert set(params) >= set(cls.config_keys)
    if "seed" in params:
        assert params["seed"] == 99 and params["class_weighted"] is True
    if family == "tfidf":
        assert (params["ngram_max"], params["c"]) == (3, 0.5)
    if family == "ensemble":
        assert list(params["members"]) == ["runs/a", "runs/b"]


def test_estimator_contract_clone_and_set_params(tiny_data):
    """clone gives an unfitted copy with the same hyperparameters; set_params changes what fit uses and
    refuses a name the family does not have."""
    from sklearn.base import clone

    model = _fit(tiny_data, "tfidf")
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "pipeline_")
    copy.set_params(ngram_max=1).fit(load_labelled([tiny_data["train"]]))
    assert copy.pipeline_.named_steps["tfidf"].ngram_range == (1, 1)
    assert model.pipeline_.named_steps["tfidf"].ngram_range == (1, 2)
    with pytest.raises(ValueError, match="max_length"):
        copy.set_params(max_length=64)


def test_a_loaded_model_reports_the_hyperparameters_it_was_saved_with(tiny_data, tiny_bert, tmp_path):
    model = _fit(tiny_data, "transformer", tiny_bert)
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert (again.pretrained, again.max_length) == (model.pretrained, model.max_length)


def test_importing_the_package_does_not_import_torch():
    """A notebook's `import communique` stays light: torch and transformers load with the first model."""
    import subprocess
    import sys

    code = "import communique, sys; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
