"""`training.report_to`: validated before any work, passed to the Trainer; the learning curve of a real run."""

from __future__ import annotations

import importlib.util
import re

import pytest

from communique.cli import main
from communique.config import config_from_dict
from communique.errors import ConfigError
from conftest import tiny_config


def without(monkeypatch, *missing):
    """Pretend ``missing`` packages are not installed, whatever this machine has."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in missing else real(name, *a))


def test_default_is_none():
    assert config_from_dict({}).training.report_to == "none"


@pytest.mark.parametrize("choice, packages", [("tensorboard", ("tensorboard", "tensorboardX")),
                                              ("mlflow", ("mlflow",))])
def test_missing_integration_is_a_config_error(tiny_data, tiny_bert, monkeypatch, choice, packages):
    without(monkeypatch, *packages)
    with pytest.raises(ConfigError, match=f"training.report_to '{choice}' needs the {packages[0]} package.*"
                                          f"pip install {packages[0]}"):
        tiny_config(tiny_data, "transformer", tiny_bert, report_to=choice)


def test_unknown_choice_and_non_transformer_family(tiny_data):
    with pytest.raises(ConfigError, match="training.report_to: 'wandb' is not allowed; choose one of none, "
                                          "tensorboard, mlflow"):
        tiny_config(tiny_data, report_to="wandb")
    with pytest.raises(ConfigError, match="applies to the transformer family only"):
        tiny_config(tiny_data, "tfidf", report_to="mlflow")


def test_cli_refuses_before_any_work(tmp_path, monkeypatch, capsys):
    without(monkeypatch, "tensorboard", "tensorboardX")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: {family: transformer}\ntraining: {report_to: tensorboard}\n")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pip install tensorboard" in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_transformer_run_reports_learning_curve(tiny_data, tiny_bert, tmp_path):
    from communique import train
    from communique.report import write_report

    run = train(tiny_config(tiny_data, "transformer", tiny_bert, epochs=2), out_dir=tmp_path / "run")
    text = write_report(run).read_text()
    assert "learning_curve.png" in re.findall(r"\]\(([^)]+)\)", text)
    assert (run / "report" / "learning_curve.png").is_file()
    assert not (run / "tensorboard").exists()  # report_to none: nothing beyond metrics.json and train.log


def test_tensorboard_events_beside_the_run(tiny_data, tiny_bert, tmp_path):
    pytest.importorskip("tensorboard")
    from communique import train

    run = train(tiny_config(tiny_data, "transformer", tiny_bert, epochs=1, report_to="tensorboard"),
                out_dir=tmp_path / "run")
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert not (run / "checkpoints").exists()
