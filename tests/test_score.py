import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from communique.errors import CommuniqueError, DataError
from communique.labels import LABELS
from communique.models import load_model
from communique.score import score
from communique.score_rows import ScoreOptions
from communique.scores_file import read_scores
from communique.train import train

from conftest import ROOT, tiny_config

ARTICLES = [
    {"id": "a1", "text": "Moscow warned Kyiv of a crushing response. Talks were held in Geneva on Monday.",
     "date": "2022-01-10", "url": "http://example.org/1"},
    {"id": "a2", "text": "The council demanded an immediate withdrawal.\n\nThe ministry rejected the proposal outright.",
     "date": "2022-01-11", "url": "http://example.org/2"},
    {"id": "a3", "text": "   ", "date": "2022-01-12", "url": "http://example.org/3"},
]


@pytest.fixture(scope="module")
def run(tiny_data, tmp_path_factory):
    return train(tiny_config(tiny_data, "tfidf"), out_dir=tmp_path_factory.mktemp("runs") / "tfidf")


def jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def rows(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_input_rows_carry_metadata_and_every_article(run, tmp_path):
    out = tmp_path / "s.jsonl"
    stats = score([str(jsonl(tmp_path / "in.jsonl", ARTICLES))], run, out, progress=False)
    got = rows(out)
    assert stats["articles"] == 3 and stats["sentences"] == 4 and stats["status"] == {"empty": 1}
    assert [(r["article_id"], r["sentence_index"]) for r in got] == [("a1", 0), ("a1", 1), ("a2", 0), ("a2", 1),
                                                                    ("a3", None)]
    first = got[0]
    assert first["text"] == "Moscow warned Kyiv of a crushing response." and (first["start"], first["end"]) == (0, 42)
    assert first["date"] == "2022-01-10" and first["url"] == "http://example.org/1"
    assert abs(sum(first[f"p_{lab}"] for lab in LABELS) - 1) < 1e-4 and first["label"] in LABELS
    assert got[-1]["status"] == "empty" and got[-1]["reason"] == "no text"
    assert not (tmp_path / "s.jsonl.checkpoint.json").exists()


def test_directory_input_with_undecodable_and_empty_files(run, tmp_path):
    d = tmp_path / "arts"
    (d / "sub").mkdir(parents=True)
    (d / "one.txt").write_text("Headline here\n\nThe envoy urged calm. Troops moved north.", encoding="utf-8")
    (d / "sub" / "two.md").write_text("Officials denied that their forces shelled the town.", encoding="utf-8")
    (d / "bad.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (d / "empty.txt").write_text("")
    (d / "ignored.csv").write_text("not,an,article")
    out = tmp_path / "s.jsonl"
    score([str(d)], run, out, progress=False)
    got = rows(out)
    status = {r["article_id"]: (r["status"], r["reason"]) for r in got if r["sentence_index"] is None}
    assert status["bad"][0] == "undecodable" and "not UTF-8" in status["bad"][1]
    assert status["empty"] == ("empty", "no text")
    assert {r["article_id"] for r in got} == {"bad", "empty", "one", "sub/two"}
    assert [r["text"] for r in got if r["article_id"] == "one"] == ["Headline here", "The envoy urged calm.",
                                                                    "Troops moved north."]


def test_csv_parquet_inputs_custom_columns_and_outputs(run, tmp_path):
    frame = pd.DataFrame([{"doc": a["id"], "body": a["text"], "date": a["date"]} for a in ARTICLES])
    frame.to_csv(tmp_path / "in.csv", index=False)
    frame.to_parquet(tmp_path / "in.parquet")
    opts = ScoreOptions(id_field="doc", text_field="body")
    for src, out in (("in.csv", "s.parquet"), ("in.parquet", "s.csv")):
        score([str(tmp_path / src)], run, tmp_path / out, opts, progress=False)
        df = read_scores(tmp_path / out)
        assert len(df) == 5 and list(df["article_id"].unique()) == ["a1", "a2", "a3"]
        assert "date" in df.columns


def test_malformed_line_stops_with_file_and_line(run, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(ARTICLES[0]) + "\n{broken\n" + json.dumps(ARTICLES[1]) + "\n")
    with pytest.raises(DataError, match=r"in.jsonl:2: malformed JSON .*use --on-error skip"):
        score([str(src)], run, tmp_path / "s.jsonl", progress=False)


def test_skip_mode_logs_bad_records_and_continues(run, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(ARTICLES[0]) + "\n{broken\n" + json.dumps({"text": "no id"}) + "\n"
                   + json.dumps(ARTICLES[1]) + "\n")
    stats = score([str(src)], run, tmp_path / "s.jsonl", ScoreOptions(on_error="skip"), progress=False)
    assert stats["skipped_records"] == 2 and stats["articles"] == 2
    errs = rows(tmp_path / "s.jsonl.errors.jsonl")
    assert [e["source"] for e in errs] == [f"{src}:2", f"{src}:3"]
    assert "missing id field 'id'" in errs[1]["reason"]


def test_min_confidence_sends_to_other_and_says_so(run, tmp_path):
    src = jsonl(tmp_path / "in.jsonl", ARTICLES[:2])
    model = load_model(run)
    model.temperature_ = 30.0  # flatten the tiny model's near-certain probabilities
    score([str(src)], model, tmp_path / "plain.jsonl", progress=False)
    plain = rows(tmp_path / "plain.jsonl")
    stance = sorted(r["confidence"] for r in plain if r["label"] != "other")
    threshold = round((stance[0] + stance[-1]) / 2, 6)
    score([str(src)], model, tmp_path / "s.jsonl", ScoreOptions(min_confidence=threshold), progress=False)
    for before, after in zip(plain, rows(tmp_path / "s.jsonl")):
        if before["label"] != "other" and before["confidence"] < threshold:
            assert after["label"] == "other" and after["status"] == "low_confidence"
            assert f"predicted {before['label']}" in after["reason"] and "--min-confidence" in after["reason"]
        else:
            assert (after["label"], after["status"]) == (before["label"], "ok"), (before, after, threshold)


def test_summary_counts_and_top_sentences(run, tmp_path):
    src = jsonl(tmp_path / "in.jsonl", ARTICLES)
    score([str(src)], run, tmp_path / "s.jsonl", summary=tmp_path / "sum.jsonl", progress=False)
    summ = {r["article_id"]: r for r in rows(tmp_path / "sum.jsonl")}
    scored = rows(tmp_path / "s.jsonl")
    assert summ["a1"]["sentences"] == 2 and sum(summ["a1"]["counts"].values()) == 2
    for label, top in summ["a2"]["top"].items():
        best = max((r for r in scored if r["article_id"] == "a2" and r["label"] == label), key=lambda r: r["confidence"])
        assert top["text"] == best["text"]
    assert summ["a3"]["status"] == "empty"
    # the same summary from CSV and Parquet outputs (read in chunks and batches, not whole)
    for suffix in (".csv", ".parquet"):
        score([str(src)], run, tmp_path / f"s{suffix}", summary=tmp_path / f"sum{suffix}.jsonl", progress=False)
        assert rows(tmp_path / f"sum{suffix}.jsonl") == rows(tmp_path / "sum.jsonl"), suffix


def test_existing_output_and_foreign_checkpoint_are_refused(run, tmp_path):
    src = jsonl(tmp_path / "in.jsonl", ARTICLES)
    out = tmp_path / "s.jsonl"
    score([str(src)], run, out, progress=False)
    with pytest.raises(CommuniqueError, match="already exists; pass --force"):
        score([str(src)], run, out, progress=False)
    score([str(src)], run, out, ScoreOptions(force=True), progress=False)
    (tmp_path / "s.jsonl.checkpoint.json").write_text(json.dumps({"signature": "other-job"}))
    out.unlink()
    with pytest.raises(CommuniqueError, match="different inputs or options"):
        score([str(src)], run, out, progress=False)


def test_bad_options(run, tmp_path):
    with pytest.raises(CommuniqueError, match="unsupported output format '.txt'"):
        score(["x"], run, tmp_path / "s.txt", progress=False)
    with pytest.raises(CommuniqueError, match="must be between 0 and 1"):
        score(["x"], run, tmp_path / "s.jsonl", ScoreOptions(min_confidence=2), progress=False)
    with pytest.raises(DataError, match="no such file"):
        score([str(tmp_path / "missing.jsonl")], run, tmp_path / "s.jsonl", progress=False)


def test_bad_workers_are_refused(run, tmp_path):
    with pytest.raises(CommuniqueError, match="--workers -1"):
        score(["x"], run, tmp_path / "s.jsonl", ScoreOptions(workers=-1), progress=False)


def test_segmentation_workers_change_no_byte_of_the_output(run, tmp_path):
    """Rows, errors and summary are the same with segmentation in 0, 1 or 3 worker processes."""
    arts = [{"id": f"w{i}", "text": p.read_text(encoding="utf-8"), "n": i}
            for i, p in enumerate(sorted((ROOT / "data/articles").glob("*.txt")))]
    lines = [json.dumps(a) for a in arts * 3]
    lines.insert(7, "{broken")
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = []
    for workers in (0, 1, 3):
        out = tmp_path / f"w{workers}" / "s.jsonl"
        stats = score([str(src)], run, out, ScoreOptions(workers=workers, chunk_articles=5, on_error="skip"),
                      summary=out.with_name("sum.jsonl"), progress=False)
        assert stats["articles"] == len(arts) * 3 and stats["skipped_records"] == 1
        outputs.append([out.read_bytes(), out.with_name("s.jsonl.errors.jsonl").read_bytes(),
                        out.with_name("sum.jsonl").read_bytes()])
    assert outputs[0] == outputs[1] == outputs[2]


def test_a_write_error_stops_the_job_and_keeps_what_was_checkpointed(run, tmp_path, monkeypatch):
    import importlib

    sc = importlib.import_module("communique.score")  # the package exports a function of the same name
    real, calls = sc._Appender.write, []

    def full_disk(self, lines):
        if lines and self.path.name.endswith(".partial.jsonl"):
            calls.append(1)
            if len(calls) > 2:
                raise OSError(28, "No space left on device")
        return real(self, lines)

    monkeypatch.setattr(sc._Appender, "write", full_disk)
    src = jsonl(tmp_path / "in.jsonl", [{"id": f"d{i}", "text": ARTICLES[i % 2]["text"]} for i in range(40)])
    out = tmp_path / "s.jsonl"
    opts = ScoreOptions(chunk_articles=4, checkpoint_seconds=0.0, workers=1)
    with pytest.raises(OSError, match="No space left"):
        score([str(src)], run, out, opts, progress=False)
    saved = json.loads(out.with_name("s.jsonl.checkpoint.json").read_text())
    assert saved["articles_done"] == 8  # the two chunks written before the error
    monkeypatch.undo()
    stats = score([str(src)], run, out, opts, progress=False)
    assert stats["resumed_from"] == 8
    ref = tmp_path / "ref.jsonl"
    score([str(src)], run, ref, ScoreOptions(chunk_articles=4), progress=False)
    assert out.read_bytes() == ref.read_bytes()


def test_stdin_input(run, tmp_path):
    src = "".join(json.dumps(a) + "\n" for a in ARTICLES[:2])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-m", "communique.cli", "score", "-", "--model", str(run), "--out",
                          str(tmp_path / "s.jsonl")], input=src, text=True, capture_output=True, env=env)
    assert res.returncode == 0, res.stderr
    assert len(rows(tmp_path / "s.jsonl")) == 4


def test_killed_run_resumes_without_duplicates_or_gaps(run, tmp_path):
    """Kill a real scoring process mid-run with SIGKILL; the same command then completes it exactly."""
    sentences = ["The envoy urged both sides to return to talks.", "Officials denied shelling the town.",
                 "Sanctions were imposed in March.", "The minister vowed to keep the crossing open."]
    arts = [{"id": f"n{i:05d}", "text": " ".join(sentences[(i + k) % 4] for k in range(1 + i % 4)), "k": i}
            for i in range(6000)]
    src = jsonl(tmp_path / "in.jsonl", arts)
    ref = tmp_path / "ref.jsonl"
    score([str(src)], run, ref, ScoreOptions(chunk_articles=50), progress=False)

    out = tmp_path / "s.jsonl"
    cmd = [sys.executable, "-m", "communique.cli", "score", str(src), "--model", str(run), "--out", str(out),
           "--chunk", "50", "--checkpoint-seconds", "0.2"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "s.jsonl.checkpoint.json"
    deadline = time.time() + 60
    while time.time() < deadline:
        if ckpt.exists() and json.loads(ckpt.read_text() or "{}").get("articles_done", 0) >= 500:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "the run finished before it could be killed; make the input larger"
    done = json.loads(ckpt.read_text())["articles_done"]
    assert 0 < done < len(arts)

    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["resumed_from"] >= done
    assert out.read_text() == ref.read_text()


def test_sample_articles_end_to_end(run, tmp_path):
    """Every shipped article is scored; every row's span is its text in the original file."""
    out = tmp_path / "s.jsonl"
    stats = score([str(ROOT / "data/articles")], run, out, summary=tmp_path / "sum.jsonl", progress=False)
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "data/articles").glob("*.txt")}
    got = rows(out)
    assert {r["article_id"] for r in got} == set(texts) and stats["articles"] == len(texts)
    for r in got:
        assert texts[r["article_id"]][r["start"]:r["end"]] == r["text"]
    assert len(rows(tmp_path / "sum.jsonl")) == len(texts)


def test_furniture_rows_are_other_with_status(run, tmp_path):
    src = jsonl(tmp_path / "in.jsonl", [{"id": "f", "text": "Talks stall\nBy Jane Roe\n\n"
                                         "The council demanded an immediate withdrawal.\n\nPhoto: A ship. (Wire)"}])
    score([str(src)], run, tmp_path / "s.jsonl", progress=False)
    got = {r["text"]: r for r in rows(tmp_path / "s.jsonl")}
    for text in ("By Jane Roe", "Photo: A ship. (Wire)"):
        assert got[text]["label"] == "other" and got[text]["status"] == "furniture"
    assert got["The council demanded an immediate withdrawal."]["label"] == "demand"


def test_input_columns_never_overwrite_predictions(run, tmp_path):
    src = jsonl(tmp_path / "in.jsonl", [{"id": "g", "text": "The council demanded an immediate withdrawal.",
                                         "label": "gold-label", "status": "draft", "lang": "en"}])
    score([str(src)], run, tmp_path / "s.jsonl", progress=False)
    (row,) = rows(tmp_path / "s.jsonl")
    assert row["label"] == "demand" and row["status"] == "ok"
    assert row["input_label"] == "gold-label" and row["input_status"] == "draft" and row["lang"] == "en"
