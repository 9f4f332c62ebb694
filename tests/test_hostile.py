"""Careless and hostile inputs: every case exits 2 with one clear line, and no user byte changes.

One table (``CASES``): each case builds its files in a fresh directory, names the files that
belong to the user, and gives the command line, the expected message and exit code. The test
runs the real CLI entry point and checks the code, the message, that no traceback was printed,
and that every user file is byte for byte what it was. Cases that need a process to be killed,
or two processes at once, follow the table.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from communique.cli import main
from communique.train import train

from conftest import ROOT, make_records, tiny_config, write_jsonl

ARTICLES = [{"id": f"n{i}", "text": f"Talks were held in Geneva on day {i}. The council demanded a withdrawal."}
            for i in range(6)]


@pytest.fixture(scope="module")
def run(tiny_data, tmp_path_factory) -> Path:
    return train(tiny_config(tiny_data, "tfidf"), out_dir=tmp_path_factory.mktemp("runs") / "tfidf")


def snapshot(paths) -> dict[str, str]:
    """Hash of every file under ``paths`` (files or directories)."""
    out = {}
    for p in map(Path, paths):
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else []
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
        if not p.exists():
            out[str(p)] = "absent"
    return out


def copy_run(run: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(run, dest)
    return dest


def config_file(d: Path, tiny_data, text: str | None = None, **data) -> Path:
    cfg = {"model": {"family": "tfidf"},
           "data": {"train": [str(tiny_data["train"])], "dev": [str(tiny_data["dev"])],
                    "test": [str(tiny_data["test"])], "challenge": "", "articles": "", **data},
           "training": {"seed": 0}}
    f = d / "cfg.yaml"
    f.write_text(text if text is not None else json.dumps(cfg), encoding="utf-8")
    return f


def set_model_json(run_dir: Path, **changes) -> None:
    f = run_dir / "model" / "model.json"
    meta = json.loads(f.read_text())
    for k, v in changes.items():
        if k == "settings":
            meta["settings"] = v
        else:
            meta[k] = v
    f.write_text(json.dumps(meta))


def articles_file(d: Path) -> Path:
    return write_jsonl(d / "in.jsonl", ARTICLES)


# --- the table: (id, builder) where builder(d, run, tiny_data) -> (argv, user files, message regex) ---------

def c_train_force_foreign_dir(d, run, td):
    (d / "mine").mkdir()
    (d / "mine" / "thesis.txt").write_text("four years of work")
    return ["train", str(config_file(d, td)), "--out", str(d / "mine"), "--force"], [d / "mine"], \
        "not a communique run directory"


def c_train_force_bad_set_keeps_run(d, run, td):
    old = copy_run(run, d / "old")
    return ["train", str(config_file(d, td)), "--out", str(old), "--force", "--set", "training.epochs=["], [old], \
        "not valid YAML"


def c_train_force_bad_data_keeps_run(d, run, td):
    old = copy_run(run, d / "old")
    return ["train", str(config_file(d, td, train=[str(d / "missing.jsonl")])), "--out", str(old), "--force"], \
        [old], "missing.jsonl: no such file"


def c_train_missing_label(d, run, td):
    recs = [r for r in make_records("x") if r["label"] != "threat"]
    write_jsonl(d / "train.jsonl", recs)
    return ["train", str(config_file(d, td, train=[str(d / "train.jsonl")])), "--out", str(d / "new")], \
        [d / "train.jsonl", d / "new"], "no sentence labelled threat"


def c_train_out_is_file(d, run, td):
    (d / "notes.txt").write_text("keep me")
    return ["train", str(config_file(d, td)), "--out", str(d / "notes.txt")], [d / "notes.txt"], \
        "exists and is not a directory"


def c_set_python_tag(d, run, td):
    return ["train", str(config_file(d, td)), "--out", str(d / "r"), "--set",
            "training.epochs=!!python/object/apply:os.system ['touch pwned']"], [d / "r"], "not valid YAML"


def c_config_not_utf8(d, run, td):
    f = d / "cfg.yaml"
    f.write_bytes(b"training:\n  seed: 1\n  # caf\xe9\n")
    return ["train", str(f), "--out", str(d / "r")], [d / "r"], "not UTF-8"


def c_config_nan(d, run, td):
    f = config_file(d, td)
    return ["train", str(f), "--out", str(d / "r"), "--set", "training.learning_rate=.nan"], [d / "r"], \
        "expected a finite number"


def c_config_empty(d, run, td):
    f = d / "cfg.yaml"
    f.write_text("")
    return ["train", str(f), "--out", str(d / "r")], [d / "r"], "config file is empty"


def c_train_parquet_truncated(d, run, td):
    import pandas as pd

    pd.DataFrame(make_records("p")).to_parquet(d / "train.parquet")
    data = (d / "train.parquet").read_bytes()
    (d / "train.parquet").write_bytes(data[: len(data) // 2])
    return ["train", str(config_file(d, td, train=[str(d / "train.parquet")])), "--out", str(d / "r")], \
        [d / "train.parquet", d / "r"], "not a readable Parquet file"


def c_summary_exists(d, run, td):
    (d / "summary.jsonl").write_text("my earlier summary\n")
    return ["score", str(articles_file(d)), "--model", str(run), "--out", str(d / "s.jsonl"), "--summary",
            str(d / "summary.jsonl")], [d / "summary.jsonl", d / "s.jsonl"], "summary already exists"


def c_summary_is_out(d, run, td):
    return ["score", str(articles_file(d)), "--model", str(run), "--out", str(d / "s.jsonl"), "--summary",
            str(d / "s.jsonl")], [d / "in.jsonl", d / "s.jsonl"], "same file as"


def c_out_is_input(d, run, td):
    f = articles_file(d)
    return ["score", str(f), "--model", str(run), "--out", str(f), "--force"], [f], "same file as input"


def c_force_bad_model_keeps_output(d, run, td):
    (d / "s.jsonl").write_text("yesterday's scores\n")
    return ["score", str(articles_file(d)), "--model", str(d / "nope"), "--out", str(d / "s.jsonl"), "--force"], \
        [d / "s.jsonl"], "not a finished run directory"


def c_out_parent_is_file(d, run, td):
    (d / "afile").write_text("x")
    return ["score", str(articles_file(d)), "--model", str(run), "--out", str(d / "afile" / "s.jsonl")], \
        [d / "afile"], "is a file, not a directory"


def c_out_is_dir(d, run, td):
    (d / "s.jsonl").mkdir()
    return ["score", str(articles_file(d)), "--model", str(run), "--out", str(d / "s.jsonl")], [d / "in.jsonl"], \
        "is a directory"


def c_score_parquet_truncated(d, run, td):
    import pandas as pd

    pd.DataFrame(ARTICLES * 50).to_parquet(d / "in.parquet")
    data = (d / "in.parquet").read_bytes()
    (d / "in.parquet").write_bytes(data[: len(data) // 2])
    return ["score", str(d / "in.parquet"), "--model", str(run), "--out", str(d / "s.jsonl")], \
        [d / "in.parquet"], "not a readable Parquet file"


def c_model_truncated(d, run, td):
    r = copy_run(run, d / "r")
    f = r / "model" / "pipeline.skops"
    f.write_bytes(f.read_bytes()[:100])
    return ["predict", str(r), "Talks resume."], [r], "missing or damaged"


def c_model_empty(d, run, td):
    r = copy_run(run, d / "r")
    (r / "model" / "pipeline.skops").write_bytes(b"")
    return ["predict", str(r), "Talks resume."], [r], "missing or damaged"


def c_model_json_invalid(d, run, td):
    r = copy_run(run, d / "r")
    (r / "model" / "model.json").write_text("{not json")
    return ["predict", str(r), "Talks resume."], [r], "model.json: not valid JSON"


def c_model_json_settings_list(d, run, td):
    r = copy_run(run, d / "r")
    set_model_json(r, settings=[])
    return ["predict", str(r), "Talks resume."], [r], "'settings' must be an object"


def c_model_json_weights_outside(d, run, td):
    r = copy_run(run, d / "r")
    set_model_json(r, settings={"weights": "/etc/passwd"})
    return ["predict", str(r), "Talks resume."], [r], "points outside"


def c_model_json_weights_dev_zero(d, run, td):
    r = copy_run(run, d / "r")
    set_model_json(r, settings={"weights": "../../../../../../../dev/zero"})
    return ["predict", str(r), "Talks resume."], [r], "points outside"


def c_ensemble_member_dot(d, run, td):
    r = copy_run(run, d / "r")
    set_model_json(r, family="ensemble", settings={"members": ["."]})
    return ["predict", str(r), "Talks resume."], [r], "expected a relative path inside"


def c_temperature_zero(d, run, td):
    r = copy_run(run, d / "r")
    set_model_json(r, temperature=0)
    return ["predict", str(r), "Talks resume."], [r], "temperature.*finite positive"


def c_temperature_nan(d, run, td):
    r = copy_run(run, d / "r")
    (r / "model" / "model.json").write_text((r / "model" / "model.json").read_text()
                                           .replace('"temperature": ', '"temperature": NaN, "_t": '))
    return ["predict", str(r), "Talks resume."], [r], "temperature.*finite positive"


def c_predict_empty(d, run, td):
    return ["predict", str(run), ""], [], "sentence 1: empty"


def c_evaluate_unknown_split(d, run, td):
    return ["evaluate", str(d / "nothing")], [], "not a finished run directory"


CASES = {name[2:]: fn for name, fn in dict(globals()).items() if name.startswith("c_")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_case(case, run, tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, user_files, message = CASES[case](tmp_path, run, tiny_data)
    before = snapshot(user_files)
    run_before = snapshot([run])
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    import re

    assert re.search(message, err), err
    lines = [x for x in re.split(r"[\r\n]+", err) if x.strip() and not x.startswith("scoring:")]  # not the bar
    assert len(lines) == 1, err  # one line
    assert snapshot(user_files) == before
    assert snapshot([run]) == run_before
    assert not (tmp_path / "pwned").exists()


# --- cases that need more than one command -------------------------------------------------------------

def test_remote_code_in_run_dir_is_refused_and_never_runs(tiny_data, tiny_bert, tmp_path):
    r = train(tiny_config(tiny_data, "transformer", tiny_bert, epochs=1), out_dir=tmp_path / "r")
    cfg = json.loads((r / "model" / "config.json").read_text())
    cfg["model_type"] = "evil-bert"
    cfg["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel"}
    (r / "model" / "config.json").write_text(json.dumps(cfg))
    marker = tmp_path / "ran"
    (r / "model" / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    res = subprocess.run([sys.executable, "-m", "communique.cli", "score", "-", "--model", str(r), "--out",
                          str(tmp_path / "s.jsonl")], input='y\n{"id": "a", "text": "Talks."}\n',
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "custom model code" in res.stderr and "Traceback" not in res.stderr
    assert not marker.exists()


def test_failed_training_is_marked_failed_and_can_be_restarted(tiny_data, tmp_path, monkeypatch, capsys):
    from communique.models.tfidf import TfidfModel

    def boom(self, *a, **k):
        raise RuntimeError("disk full")

    cfg = tiny_config(tiny_data, "tfidf")
    with monkeypatch.context() as m:
        m.setattr(TfidfModel, "fit", boom)
        with pytest.raises(RuntimeError):
            train(cfg, out_dir=tmp_path / "r")
    assert json.loads((tmp_path / "r" / "env.json").read_text())["status"] == "failed"
    cfg_file = config_file(tmp_path, tiny_data)
    assert main(["train", str(cfg_file), "--out", str(tmp_path / "r")]) == 2
    assert "stopped by an error" in capsys.readouterr().err
    assert main(["train", str(cfg_file), "--out", str(tmp_path / "r"), "--force"]) == 0
    assert json.loads((tmp_path / "r" / "env.json").read_text())["status"] == "finished"


def test_evaluate_on_a_file_never_touches_the_test_split_or_card(run, tiny_data, tmp_path):
    r = copy_run(run, tmp_path / "r")
    assert main(["evaluate", str(r), "--split", "test"]) == 0
    card, test_eval = snapshot([r / "MODEL_CARD.md"]), snapshot([r / "eval" / "test"])
    other = tmp_path / "some" / "dir"
    other.mkdir(parents=True)
    write_jsonl(other / "test.jsonl", make_records("q", ("g1", "g2"))[:12])
    assert main(["evaluate", str(r), "--data", str(other / "test.jsonl")]) == 0
    assert (r / "eval" / "data-test" / "metrics.json").is_file()
    assert snapshot([r / "MODEL_CARD.md"]) == card
    assert snapshot([r / "eval" / "test"]) == test_eval


def _score(argv):
    return main(["score", *argv])


def test_kill_after_output_renamed_then_same_command_finishes(run, tmp_path, monkeypatch):
    sc = importlib.import_module("communique.score")  # the package exports a function of the same name

    src = articles_file(tmp_path)
    argv = [str(src), "--model", str(run), "--out", str(tmp_path / "s.csv"), "--summary", str(tmp_path / "sum.jsonl")]
    with monkeypatch.context() as m:  # dies after the output is in place, before summary and checkpoint cleanup
        m.setattr(sc, "write_summary", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
        assert _score(argv) == 130
    assert (tmp_path / "s.csv").exists() and (tmp_path / "s.csv.checkpoint.json").exists()
    assert _score(argv) == 0
    assert (tmp_path / "sum.jsonl").is_file()
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "s.csv.checkpoint.json").exists()
    ref = tmp_path / "ref"
    assert _score([str(src), "--model", str(run), "--out", str(ref / "s.csv"), "--summary", str(ref / "sum.jsonl")]) == 0
    assert (tmp_path / "s.csv").read_bytes() == (ref / "s.csv").read_bytes()
    assert (tmp_path / "sum.jsonl").read_bytes() == (ref / "sum.jsonl").read_bytes()


def _interrupt_after_first_chunk(monkeypatch):
    sc = importlib.import_module("communique.score")  # the package exports a function of the same name

    real, calls = sc.sentence_rows, []

    def once(chunk, model, opts, sentences=None):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt()
        return real(chunk, model, opts, sentences)

    monkeypatch.setattr(sc, "sentence_rows", once)


def test_input_edited_between_kill_and_rerun_is_refused(run, tmp_path, monkeypatch, capsys):
    src = articles_file(tmp_path)
    argv = [str(src), "--model", str(run), "--out", str(tmp_path / "s.jsonl"), "--checkpoint-seconds", "0",
            "--chunk", "2"]
    with monkeypatch.context() as m:
        _interrupt_after_first_chunk(m)
        assert _score(argv) == 130
    write_jsonl(src, ARTICLES[::-1])  # same size, different order
    assert _score(argv) == 2
    assert "changed input files" in capsys.readouterr().err
    argv[-1] = "3"  # a different --chunk is a different job too
    write_jsonl(src, ARTICLES)
    assert _score(argv) == 2


def test_stop_on_malformed_line_then_skip_continues(run, tmp_path, monkeypatch, capsys):
    lines = [json.dumps(a) for a in ARTICLES]
    lines.insert(4, "{broken")
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    argv = [str(src), "--model", str(run), "--out", str(tmp_path / "s.jsonl"), "--chunk", "2"]
    assert _score(argv) == 2
    assert f"{src}:5: malformed JSON" in capsys.readouterr().err
    assert (tmp_path / "s.jsonl.checkpoint.json").exists()
    assert _score([*argv, "--on-error", "skip"]) == 0
    out = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert sorted({r["article_id"] for r in out}) == sorted(a["id"] for a in ARTICLES)
    errors = (tmp_path / "s.jsonl.errors.jsonl").read_text().splitlines()
    assert len(errors) == 1 and "in.jsonl:5" in errors[0]
    ref = tmp_path / "ref.jsonl"
    assert _score([str(src), "--model", str(run), "--out", str(ref), "--chunk", "2", "--on-error", "skip"]) == 0
    assert (tmp_path / "s.jsonl").read_bytes() == ref.read_bytes()


def test_two_jobs_on_one_output_second_refuses_first_completes(run, tmp_path):
    out = tmp_path / "s.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "communique.cli", "score", "-", "--model", str(run), "--out", str(out)]
    first = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=tmp_path, env=env)
    first.stdin.write("".join(json.dumps(a) + "\n" for a in ARTICLES[:3]))
    first.stdin.flush()
    lock = tmp_path / "s.jsonl.lock"
    for _ in range(600):  # the first job holds the lock while it waits for more input
        if lock.exists() and lock.read_text().strip():
            break
        time.sleep(0.1)
    second = subprocess.run(cmd, input=json.dumps(ARTICLES[0]) + "\n", capture_output=True, text=True, cwd=tmp_path,
                            env=env, timeout=120)
    assert second.returncode == 2, second.stderr
    assert f"PID {first.pid}" in second.stderr and "another communique job" in second.stderr
    first.stdin.write("".join(json.dumps(a) + "\n" for a in ARTICLES[3:]))
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    ids = {json.loads(x)["article_id"] for x in out.read_text().splitlines()}
    assert ids == {a["id"] for a in ARTICLES}
    assert not lock.exists()


# --- input quirks that must now work ------------------------------------------------------------------------

def test_csv_with_bom_and_huge_field(run, tmp_path):
    big = "Talks were held in Geneva. " * 6000  # 162,000 characters, over csv's default field limit
    (tmp_path / "in.csv").write_bytes("\ufeffid,text\nbom1,The council demanded a withdrawal.\nbig,".encode("utf-8")
                                      + f'"{big}"\n'.encode("utf-8"))
    assert _score([str(tmp_path / "in.csv"), "--model", str(run), "--out", str(tmp_path / "s.jsonl")]) == 0
    rows = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert {r["article_id"] for r in rows} == {"bom1", "big"}
    assert sum(1 for r in rows if r["article_id"] == "big") == 6000


def test_binary_and_boundaryless_articles_and_colliding_stems(run, tmp_path, caplog):
    d = tmp_path / "arts"
    d.mkdir()
    (d / "a.txt").write_text("Talks resumed on Monday.")
    (d / "a.md").write_text("The ministry rejected the plan.")
    (d / "nul.txt").write_bytes(b"\x00" * 5000)
    (d / "wall.txt").write_text("word " * 20000)  # 100,000 characters, no boundary
    (d / "photo.jpg").write_bytes(b"\xff\xd8")
    import logging

    with caplog.at_level(logging.INFO, logger="communique"):
        assert _score([str(d), "--model", str(run), "--out", str(tmp_path / "s.jsonl")]) == 0
    rows = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    ids = {r["article_id"] for r in rows}
    assert {"a.txt", "a.md", "nul", "wall"} == ids
    assert [r["status"] for r in rows if r["article_id"] == "nul"] == ["undecodable"]
    wall = [r for r in rows if r["article_id"] == "wall"]
    assert len(wall) > 100 and all(r["status"] == "no-boundary" and r["end"] - r["start"] <= 600 for r in wall)
    assert "photo.jpg" in caplog.text and "skipping" in caplog.text
