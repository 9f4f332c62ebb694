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
    assert "## Where the model errs" in text  # the test confusions, which the model card does not hold
    assert "Most frequent test confusions" in text or "No test errors." in text
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
    assert "<h2>Where the model errs</h2>" in html
    assert "Weakest decision rules on the challenge set (accuracy): R2 0.50; R1 1.00" in html


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


LOG_HISTORY = [  # the Trainer's log_history shape: step losses, one evaluation per epoch, the final summary
    {"loss": 1.6, "epoch": 0.5, "step": 10}, {"loss": 1.4, "epoch": 0.97, "step": 20},
    {"eval_loss": 1.3, "eval_macro_f1": 0.41, "epoch": 1.0, "step": 21},
    {"loss": 1.0, "epoch": 1.5, "step": 30},
    {"eval_loss": 1.1, "eval_macro_f1": 0.58, "epoch": 2.0, "step": 42},
    {"train_loss": 1.25, "train_runtime": 3.0, "epoch": 2.0, "step": 42},
]


def test_learning_curve_per_epoch():
    from communique.plots import learning_curve, plot_learning_curve

    assert learning_curve(LOG_HISTORY) == {1: {"dev_macro_f1": 0.41, "train_loss": 1.5},
                                           2: {"dev_macro_f1": 0.58, "train_loss": 1.0}}
    short = [{"eval_macro_f1": 0.2, "epoch": 1.0}, {"train_loss": 1.6, "epoch": 1.0}]  # too short to log a step
    assert learning_curve(short) == {1: {"dev_macro_f1": 0.2, "train_loss": 1.6}}
    assert learning_curve([]) == {}
    fig = plot_learning_curve(LOG_HISTORY, title="t")
    lines = {line.get_label(): list(line.get_ydata()) for ax in fig.axes for line in ax.get_lines()}
    assert lines == {"train loss": [1.5, 1.0], "dev macro-F1": [0.41, 0.58]}


def test_report_draws_learning_curve_when_log_history_exists(run, tmp_path):
    images = re.findall(r"\]\(([^)]+)\)", write_report(run, out_dir=tmp_path / "tfidf").read_text())
    assert "learning_curve.png" not in images  # a tfidf run has no Trainer history
    copy = shutil.copytree(run, tmp_path / "run")
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["training"] = {"log_history": LOG_HISTORY}
    (copy / "metrics.json").write_text(json.dumps(metrics))
    text = write_report(copy).read_text()
    assert "## Training\n\n![train loss and dev macro-F1 per epoch](learning_curve.png)" in text
    assert (copy / "report" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def _actor_scores(path, with_actors=True):
    """Scores rows as a run with actors writes them: two articles, three stance sentences, dated."""
    rows = []
    for aid, date, dyads in (("a1", "2022-01-10", [("threat", "Russia", "Ukraine"), ("demand", "Russia", None)]),
                             ("a2", "2022-02-14", [("threat", "Russia", "Ukraine"), ("other", None, None)])):
        for i, (label, s, t) in enumerate(dyads):
            row = {"article_id": aid, "sentence_index": i, "start": 0, "end": 9, "text": f"{aid} sentence {i}",
                   "label": label, "confidence": 0.9, "status": "ok", "date": date}
            if with_actors:
                row.update(speaker=s and "Moscow", speaker_start=s and 0, speaker_end=s and 6, speaker_actor=s,
                           target=t, target_start=None, target_end=None, target_actor=t)
            rows.append(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_report_draws_the_dyads_of_scores_with_actors(run, tmp_path):
    from communique.errors import DataError

    text = write_report(run, out_dir=tmp_path / "r", scores=_actor_scores(tmp_path / "s.jsonl")).read_text()
    assert (tmp_path / "r" / "dyad_network.png").is_file() and (tmp_path / "r" / "dyad_timeline.png").is_file()
    section = text.split("## Dyads in the scored articles")[1]
    assert "| Russia → Ukraine | 0 | 2 | 0 | 0 | 2 | 2 | 2 |" in section  # two threats, both named, two articles
    assert "| Russia → (none named) | 0 | 0 | 1 | 0 | 1 | 0 | 1 |" in section
    with pytest.raises(DataError, match="no actor columns"):
        write_report(run, out_dir=tmp_path / "r2", scores=_actor_scores(tmp_path / "p.jsonl", with_actors=False))
