"""The Ray Data engine writes the local engine's rows, on a 2-CPU local Ray cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SENTENCES, tiny_config

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from communique.errors import CommuniqueError, DataError
from communique.ray_engine import score_ray
from communique.score import score
from communique.score_rows import ScoreOptions
from communique.scores_file import read_scores

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
    texts += ["The envoy said little about the deal.", "Talks resumed in Vienna after a pause."]  # unseen: less sure
    arts = []
    for i in range(20):
        body = " ".join(texts[(5 * i + k) % len(texts)] for k in range(1 + i % 4))
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
    import pandas as pd

    arts = _articles()
    jsonl, parquet = tmp_path / "articles.jsonl", tmp_path / "more.parquet"
    lines = [json.dumps(a) + "\n" for a in arts[:15]]
    jsonl.write_text("".join(lines[:5]) + "{not json\n" + "".join(lines[5:]), encoding="utf-8")
    pd.DataFrame(arts[15:]).to_parquet(parquet)
    inputs = [str(jsonl), str(parquet)]
    # several batches, some low_confidence rows, the malformed line logged
    opts = ScoreOptions(chunk_articles=4, min_confidence=0.5, on_error="skip")
    local = score(inputs, tfidf_run, tmp_path / "local.jsonl", opts, progress=False,
                  summary=tmp_path / "local.summary.jsonl")
    remote = score_ray(inputs, tfidf_run, str(tmp_path / "ray.jsonl"), opts, actors=2, num_cpus=0.5,
                       summary=str(tmp_path / "sub/ray.summary.jsonl"))

    expected, got = _lines(tmp_path / "local.jsonl"), _lines(tmp_path / "ray.jsonl")
    assert got == expected  # same rows, same values
    assert [list(r) for r in got] == [list(r) for r in expected]  # same columns in the same order
    assert len(list((tmp_path / "ray.jsonl").glob("*.jsonl"))) > 1  # sharded
    assert any(r["status"] == "empty" and r["article_id"] == "a07" for r in got)
    assert any(r["status"] == "low_confidence" for r in got)
    assert any(r["article_id"] == "12" for r in got)
    assert any(r["source"] == f"{parquet}:row 0" for r in got)
    for key in ("articles", "sentences", "status", "skipped_records"):
        assert remote[key] == local[key], key
    assert remote["articles"] == 20 and remote["skipped_records"] == 1
    assert Path(remote["errors_file"]).read_text() == Path(local["errors_file"]).read_text()
    summaries = [sorted((tmp_path / name).read_text(encoding="utf-8").splitlines())
                 for name in ("local.summary.jsonl", "sub/ray.summary.jsonl")]
    assert summaries[0] == summaries[1] and len(summaries[0]) == 20  # one line per article, same content

    out = tmp_path / "ray.parquet"
    score_ray([str(parquet)], tfidf_run, str(out), opts, actors=1)
    assert {p.suffix for p in out.iterdir()} == {".parquet"}
    local_rows = read_scores(tmp_path / "local.jsonl")
    assert _sorted_rows(read_scores(out)) == _sorted_rows(local_rows[local_rows["source"].str.startswith(f"{parquet}:")])


def test_ray_refuses_the_local_engines_workers(tfidf_run, tmp_path):
    with pytest.raises(CommuniqueError, match="--workers is an option of the local engine"):
        score_ray(["x.jsonl"], tfidf_run, str(tmp_path / "s.jsonl"), ScoreOptions(workers=2), actors=1)


def test_ray_stops_on_malformed_record(ray_cluster, tfidf_run, tmp_path):
    inp = tmp_path / "bad.jsonl"
    inp.write_text('{"id": "x1", "text": "The ministry rejected the proposal."}\n{not json\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"^\S*bad.jsonl:2: malformed JSON"):
        score_ray([str(inp)], tfidf_run, str(tmp_path / "stop.jsonl"), ScoreOptions(), actors=1)
    assert not (tmp_path / "stop.jsonl").exists()  # no half-written output left to block a rerun


def test_ray_engine_fills_the_actor_columns_as_the_local_engine(ray_cluster, actor_run, tmp_path):
    run, _ = actor_run
    jsonl = tmp_path / "articles.jsonl"
    jsonl.write_text("".join(json.dumps(a) + "\n" for a in _articles()), encoding="utf-8")
    opts = ScoreOptions(chunk_articles=4)
    score([str(jsonl)], run, tmp_path / "local.jsonl", opts, progress=False, summary=tmp_path / "l.summary.jsonl")
    score_ray([str(jsonl)], run, str(tmp_path / "ray.jsonl"), opts, actors=2, num_cpus=0.5,
              summary=str(tmp_path / "r.summary.jsonl"))
    expected, got = _lines(tmp_path / "local.jsonl"), _lines(tmp_path / "ray.jsonl")
    assert got == expected and "speaker_actor" in got[0]
    assert any(r["speaker_actor"] for r in got)  # the tagger ran in the Ray actors too
    summaries = [sorted((tmp_path / n).read_text(encoding="utf-8").splitlines())
                 for n in ("l.summary.jsonl", "r.summary.jsonl")]
    assert summaries[0] == summaries[1] and all('"dyads"' in line for line in summaries[0])
    score_ray([str(jsonl)], run, str(tmp_path / "stance.jsonl"), ScoreOptions(chunk_articles=4, stance_only=True),
              actors=1, num_cpus=0.5)
    stance = _lines(tmp_path / "stance.jsonl")
    assert "speaker_actor" not in stance[0]  # --stance-only honoured by the Ray actors as well
    assert [r["label"] for r in stance] == [r["label"] for r in got]
