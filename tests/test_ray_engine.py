"""The Ray Data engine writes the local engine's rows, on a 2-CPU local Ray cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SENTENCES, tiny_config

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from communique.errors import DataError  # noqa: E402
from communique.ray_engine import score_ray  # noqa: E402
from communique.score import ScoreOptions, read_scores, score  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tfidf_run(tiny_data, tmp_path_factory) -> Path:
    from communique.train import train

    return train(tiny_config(tiny_data), out_dir=tmp_path_factory.mktemp("runs") / "tfidf")


def _articles() -> list[dict]:
    """20 articles of 1-4 sentences (one empty), with metadata that varies between records."""
    texts = [s for group in SENTENCES.values() for s in group]
    arts = []
    for i in range(20):
        body = " ".join(texts[(3 * i + k) % len(texts)] for k in range(1 + i % 4))
        arts.append({"id": f"a{i:02d}", "text": body, "outlet": ["wire", "daily"][i % 2], **({"n": i} if i % 3 else {})})
    arts[7]["text"] = "   "
    arts[12]["id"] = 12  # ids are strings in the output, whatever their input type
    return arts


def _sorted_rows(df) -> list[dict]:
    df = df.assign(_i=df["sentence_index"].fillna(-1)).sort_values(["article_id", "_i"]).drop(columns="_i")
    return json.loads(df.to_json(orient="records"))


def _lines(path: Path) -> list[dict]:
    files = [path] if path.is_file() else sorted(path.glob("*.jsonl"))
    rows = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    return sorted(rows, key=lambda r: (r["article_id"], -1 if r["sentence_index"] is None else r["sentence_index"]))


def test_ray_rows_match_local_engine(ray_cluster, tfidf_run, tmp_path):
    inp = tmp_path / "articles.jsonl"
    inp.write_text("".join(json.dumps(a) + "\n" for a in _articles()), encoding="utf-8")
    opts = ScoreOptions(chunk_articles=4, min_confidence=0.3)  # several batches, some low_confidence rows
    local = score([str(inp)], tfidf_run, tmp_path / "local.jsonl", opts, progress=False)
    remote = score_ray([str(inp)], tfidf_run, str(tmp_path / "ray.jsonl"), opts, actors=2, num_cpus=0.5)

    expected, got = _lines(tmp_path / "local.jsonl"), _lines(tmp_path / "ray.jsonl")
    assert got == expected  # same rows, same columns, same values, key order included
    assert [list(r) for r in got] == [list(r) for r in expected]
    assert any(r["status"] == "empty" and r["article_id"] == "a07" for r in got)
    assert any(r["article_id"] == "12" for r in got)
    for key in ("articles", "sentences", "status", "skipped_records"):
        assert remote[key] == local[key], key
    assert remote["articles"] == 20

    out = tmp_path / "ray.parquet"
    score_ray([str(inp)], tfidf_run, str(out), opts, actors=1)
    assert sorted(p.suffix for p in out.iterdir()) == [".parquet"] * len(list(out.iterdir()))
    assert _sorted_rows(read_scores(out)) == _sorted_rows(read_scores(tmp_path / "local.jsonl"))


def test_ray_malformed_records(ray_cluster, tfidf_run, tmp_path):
    inp = tmp_path / "bad.jsonl"
    inp.write_text('{"id": "x1", "text": "The ministry rejected the proposal."}\n{not json\n'
                   '{"id": "x2", "text": "Kyiv urged allies to send more air defence."}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: malformed JSON"):
        score_ray([str(inp)], tfidf_run, str(tmp_path / "stop.jsonl"), ScoreOptions(), actors=1)

    out = tmp_path / "skip.jsonl"
    stats = score_ray([str(inp)], tfidf_run, str(out), ScoreOptions(on_error="skip"), actors=1)
    assert stats["articles"] == 2 and stats["skipped_records"] == 1
    assert {r["article_id"] for r in _lines(out)} == {"x1", "x2"}
    errors = [json.loads(line) for line in Path(stats["errors_file"]).read_text().splitlines()]
    assert errors[0]["source"].endswith("bad.jsonl:2") and errors[0]["raw"].startswith("{not json")
