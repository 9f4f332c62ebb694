import pytest

from communique.config import Config, config_from_dict, load_config
from communique.errors import ConfigError

from conftest import ROOT


@pytest.mark.parametrize("name", ["minilm", "tfidf", "embedding", "ensemble"])
def test_shipped_configs_load(name):
    cfg = load_config(ROOT / "configs" / f"{name}.yaml")
    assert isinstance(cfg, Config)
    assert cfg.model.family == {"minilm": "transformer"}.get(name, name)
    if name == "ensemble":
        assert cfg.model.members == ["runs/minilm", "runs/tfidf", "runs/embedding"]


def test_overrides_are_typed(tmp_path):
    cfg = load_config(ROOT / "configs/minilm.yaml", ["training.epochs=3", "training.class_weighted=true",
                                                     "data.train=[a.jsonl, b.jsonl]"])
    assert cfg.training.epochs == 3.0 and cfg.training.class_weighted is True
    assert cfg.data.train == ["a.jsonl", "b.jsonl"]


@pytest.mark.parametrize("raw, message", [
    ({"training": {"epoch": 3}}, "unknown key training.epoch; valid keys in 'training' are seed, epochs"),
    ({"trainng": {}}, "unknown section(s) trainng; valid sections are model, data, training"),
    ({"training": {"epochs": "three"}}, "training.epochs: expected a number, got 'three'"),
    ({"training": {"batch_size": 2.5}}, "training.batch_size: expected an integer, got 2.5"),
    ({"training": {"batch_size": 0}}, "training.batch_size: 0 is below the minimum 1"),
    ({"training": {"learning_rate": 3}}, "training.learning_rate: 3.0 is above the maximum 1.0"),
    ({"model": {"family": "svm"}}, "model.family: 'svm' is not allowed; choose one of transformer, tfidf, embedding"),
    ({"training": {"precision": "fp16"}}, "training.precision: 'fp16' is not allowed; choose one of auto, bf16, fp32"),
    ({"training": {"calibrate": "yes"}}, "training.calibrate: expected true or false, got 'yes'"),
    ({"data": {"train": 3}}, "data.train: expected a list of strings, got 3"),
    ({"model": ["family"]}, "section 'model' must be a mapping"),
])
def test_bad_config_names_key_and_allowed(raw, message):
    with pytest.raises(ConfigError) as e:
        config_from_dict(raw, source="cfg.yaml")
    assert message in str(e.value)


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="expected SECTION.KEY=VALUE"):
        load_config(ROOT / "configs/minilm.yaml", ["epochs=3"])


def test_missing_and_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize("model, message", [
    ({"family": "tfidf", "members": ["runs/a"]}, "model.members is set but family 'tfidf' does not use it "
                                                 "(it applies to family ensemble)"),
    ({"family": "transformer", "ngram_max": 3}, "model.ngram_max is set but family 'transformer' does not use it"),
    ({"family": "ensemble", "members": ["runs/a"], "pretrained": "bert-base-cased"},
     "model.pretrained is set but family 'ensemble' does not use it (it applies to family embedding or transformer)"),
    ({"family": "tfidf", "actor_epochs": 2}, "(it applies to model.actors: true)"),
    ({"family": "tfidf", "hidden_dropout": 0.0}, "model.hidden_dropout is set but family 'tfidf' does not use it"),
    ({"family": "transformer", "actor_layers": 3}, "(it applies to model.actors: true)"),
    ({"family": "tfidf", "layers": 2}, "model.layers is set but family 'tfidf' does not use it"),
])
def test_a_model_key_the_family_ignores_is_an_error(model, message):
    with pytest.raises(ConfigError) as e:
        config_from_dict({"model": model})
    assert message in str(e.value)


def test_model_keys_at_their_defaults_or_used_by_the_family_pass():
    assert config_from_dict({"model": {"hidden_dropout": None}}).model.hidden_dropout is None
    assert config_from_dict({"model": {"hidden_dropout": 0}}).model.hidden_dropout == 0.0
    assert config_from_dict({"model": {"family": "tfidf", "actors": True, "hidden_dropout": 0.05}}).model.hidden_dropout
    with pytest.raises(ConfigError, match="model.hidden_dropout: 1.5 is above the maximum 0.9"):
        config_from_dict({"model": {"hidden_dropout": 1.5}})
    with pytest.raises(ConfigError, match="model.hidden_dropout: expected a number"):
        config_from_dict({"model": {"hidden_dropout": "none"}})
    assert config_from_dict({"model": {"family": "tfidf", "actors": True, "actor_epochs": 2}}).model.actor_epochs == 2
    assert config_from_dict({"model": {"family": "tfidf", "pretrained": "all-MiniLM-L6-v2"}}).model.family == "tfidf"
