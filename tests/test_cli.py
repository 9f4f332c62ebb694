"""The command line: help, exit codes and messages, predict from arguments and stdin."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from communique.cli import main
from communique.train import train

from conftest import tiny_config


@pytest.fixture(scope="module")
def run(tiny_data, tmp_path_factory):
    return train(tiny_config(tiny_data, "tfidf"), out_dir=tmp_path_factory.mktemp("cli") / "run")


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("train", "evaluate", "predict", "score", "compare", "cv", "report"):
        assert cmd in out


def test_bad_config_key_exits_2_with_message(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"training": {"epochz": 3}}))
    assert main(["train", str(cfg), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown key training.epochz" in err
    assert not (tmp_path / "r").exists()  # rejected before any work


def test_predict_arguments_and_json(run, capsys):
    assert main(["predict", "--json", str(run), "The council demanded an immediate withdrawal.",
                 "Oil demand rose by two percent last year."]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in rows] == ["demand", "other"]
    assert all(abs(sum(r["probs"].values()) - 1) < 1e-6 for r in rows)


def test_predict_reads_stdin(run):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-m", "communique.cli", "predict", str(run)], env=env, text=True,
                         input="The ministry rejected the proposal outright.\n\n", capture_output=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[0] == "rejection"


def test_evaluate_prints_table(run, capsys):
    assert main(["evaluate", str(run), "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "confusion (rows gold, columns predicted)" in out
    assert f"results written to {run}/eval/test" in out


def test_evaluate_unfinished_run(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a finished run directory" in capsys.readouterr().err
