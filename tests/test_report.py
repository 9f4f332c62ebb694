"""`communique report`: figures and a Markdown/HTML report for a tiny evaluated run."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from communique.cli import main
from communique.report import markdown_table, write_report
from conftest import tiny_config

CHALLENGE = {"n_pairs": 2, "accuracy": 0.75, "pair_consistency": 0.5,
             "per_rule": {"R1": {"n": 1, "accuracy": 1.0, "pair_consistency": 1.0},
                          "R2": {"n": 1, "accuracy": 0.5, "pair_consistency": 0.0}}}


@pytest.fixture(scope="module")
def run(tiny_data, tmp_path_factory):
    from communique import evaluate, train

    run = train(tiny_config(tiny_data), out_dir=tmp_path_factory.mktemp("report") / "run")
    evaluate(run, n_boot=20)
    return run


def test_markdown_table_formats_and_escapes():
    df = pd.DataFrame({"value": [0.12345, float("nan")], "text": ["a|b", "two\nlines"]},
                      index=pd.Index(["x", "y"], name="metric"))
    assert markdown_table(df).splitlines() == ["| metric | value | text |", "|---|---|---|",
                                               "| x | 0.123 | a\\|b |", "| y | – | two lines |"]


def test_markdown_report(run):
    path = write_report(run)
    assert path == run / "report" / "report.md"
    text = path.read_text()
    assert text.startswith("# Run report: run") and "## Metrics" in text and "## Slices" in text
    assert "| accuracy |" in text and "## Most confident errors" in text
    images = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert {"confusion.png", "per_class.png", "reliability.png", "accuracy_by_group.png"} <= set(images)
    for image in images:
        assert (path.parent / image).read_bytes()[:4] == b"\x89PNG"
    assert "Challenge set" not in text  # not evaluated: the section is left out


def test_html_report_with_challenge(run, tmp_path):
    metrics = run / "eval" / "test" / "metrics.json"
    result = json.loads(metrics.read_text())
    result["challenge"] = CHALLENGE
    copy = shutil.copytree(run, tmp_path / "run")
    (copy / "eval" / "test" / "metrics.json").write_text(json.dumps(result))
    path = write_report(copy, fmt="html", out_dir=tmp_path / "out")
    html = path.read_text()
    assert path.name == "report.html" and html.startswith("<!DOCTYPE html>")
    assert "<h2>Challenge set</h2>" in html and '<img src="challenge.png"' in html
    assert (tmp_path / "out" / "challenge.png").is_file()


def test_report_without_evaluation_falls_back_to_dev(run, tmp_path):
    copy = shutil.copytree(run, tmp_path / "run", ignore=shutil.ignore_patterns("eval", "report"))
    text = write_report(copy).read_text()
    assert "No evaluation on test yet" in text and "Evaluated on dev" in text
    assert (copy / "report" / "confusion.png").is_file() and "Most confident errors" not in text


def test_report_command(run, tmp_path, capsys):
    assert main(["report", str(run), "--format", "html", "--out", str(tmp_path), "--errors", "3"]) == 0
    assert "report written to" in capsys.readouterr().out
    assert (tmp_path / "report.html").is_file() and (tmp_path / "per_class.png").is_file()
    with pytest.raises(ValueError, match="md or html"):
        write_report(run, fmt="pdf")
