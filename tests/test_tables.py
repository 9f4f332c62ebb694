"""The analysis helpers behind the notebooks, on small hand-made frames and files."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from communique import tables as ct
from communique.errors import RunDirError
from communique.labels import LABELS
from communique.metrics import classification_report
from conftest import make_records, write_jsonl


def _scores(rows):
    """Scores rows as `communique score` writes them, from (article, label, confidence, text) tuples."""
    out, index, pos = [], {}, {}
    for art, label, conf, text in rows:
        i = index.get(art, 0)
        start = pos.get(art, 0)
        out.append({"article_id": art, "sentence_index": i, "start": start, "end": start + len(text), "text": text,
                    "label": label, "confidence": conf, **{f"p_{lab}": conf if lab == label else 0.0 for lab in LABELS},
                    "status": "ok", "reason": "", "source": f"{art}.txt"})
        index[art], pos[art] = i + 1, start + len(text) + 1
    return pd.DataFrame(out)


@pytest.fixture
def scores():
    return _scores([("a", "threat", 0.9, "They will pay."), ("a", "other", 0.6, "It rained."),
                    ("a", "threat", 0.7, "Strikes will follow."), ("a", "demand", 0.8, "Leave now."),
                    ("b", "assurance", 0.95, "We will help."), ("b", "other", 0.5, "Talks began.")])


# ------------------------------------------------------------------------------------------- corpus


def test_corpus_files_prefers_splits_then_batches(tmp_path):
    (tmp_path / "batches").mkdir()
    write_jsonl(tmp_path / "batches" / "b1.jsonl", [])
    write_jsonl(tmp_path / "batches" / "b2.jsonl", [])
    assert list(ct.corpus_files(tmp_path)) == ["b1", "b2"]
    write_jsonl(tmp_path / "train.jsonl", [])
    write_jsonl(tmp_path / "test.jsonl", [])
    assert ct.corpus_files(tmp_path) == {"train": [tmp_path / "train.jsonl"], "test": [tmp_path / "test.jsonl"]}
    assert ct.corpus_files(tmp_path / "test.jsonl") == {"test": [tmp_path / "test.jsonl"]}


def test_load_corpus_and_summaries(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", make_records("tr"))
    recs = make_records("te", ("eps", "zeta"), "test")
    recs[0]["tags"] = ["plain", "negation"]
    write_jsonl(tmp_path / "test.jsonl", recs)
    df = ct.load_corpus(tmp_path)
    assert len(df) == 60 and set(df["split"]) == {"train", "test"}
    per_split = ct.corpus_summary(df)
    assert list(per_split.index) == ["train", "test"]
    assert per_split.loc["test", "assurance"] == 6 and per_split.loc["test", "total"] == 30
    per_group = ct.corpus_summary(df, by="group")
    assert per_group.loc["alpha", "total"] == 15 and per_group.loc["eps", "threat"] == 3
    tags = ct.corpus_summary(df, by="tags")  # list values count once per tag
    assert tags.loc["plain", "total"] == 60 and tags.loc["negation", "assurance"] == 1
    lengths = ct.length_table(df)
    assert list(lengths.index) == list(LABELS) and lengths.loc["threat", "count"] == 12
    assert lengths.loc["demand", "max"] == max(len(r["text"].split()) for r in recs if r["label"] == "demand")
    ex = ct.label_examples(df, k=2, seed=1)
    assert ex["label"].value_counts().to_dict() == dict.fromkeys(LABELS, 2)
    with pytest.raises(KeyError, match="no column 'target'"):
        ct.corpus_summary(df, by="target")


# ------------------------------------------------------------------------------------------- one run


def _report(seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(5), 4)
    pred = np.where(rng.random(20) < 0.7, y, (y + 1) % 5)
    probs = np.full((20, 5), 0.05)
    probs[np.arange(20), pred] = 0.8
    return classification_report(y, pred, probs, n_boot=20)


def test_metrics_and_per_class_tables():
    rep = _report()
    m = ct.metrics_table(rep)
    assert list(m.index) == ["accuracy", "macro_f1", "lenient_accuracy", "ece"]
    assert m.loc["accuracy", "value"] == rep["accuracy"]
    assert m.loc["macro_f1", "ci_low"] <= rep["macro_f1"] <= m.loc["macro_f1", "ci_high"]
    assert math.isnan(m.loc["ece", "ci_low"])
    pc = ct.per_class_table(rep)
    assert list(pc.index) == list(LABELS) and pc["support"].sum() == 20


def test_slice_challenge_and_article_tables():
    result = {"slices": {"group": {"x": {"n": 3, "accuracy": 0.9, "macro_f1": 0.8},
                                   "y": {"n": 2, "accuracy": 0.5, "macro_f1": 0.4}}}}
    assert list(ct.slice_table(result, "group").index) == ["y", "x"]  # worst first
    assert ct.slice_table(result, "voice") is None
    assert ct.challenge_table(result) is None and ct.articles_table(result) is None
    result["challenge"] = {"n_pairs": 3, "accuracy": 0.5, "pair_consistency": 0.33,
                           "per_rule": {"R2": {"n": 1, "accuracy": 1.0, "pair_consistency": 1.0},
                                        "R1": {"n": 2, "accuracy": 0.25, "pair_consistency": 0.0}}}
    result["articles"] = {"articles": 2, "segmentation": {"precision": 1.0, "recall": 0.5, "f1": 0.667},
                          "classification": {"f1": 0.5, "macro_f1": 0.4}}
    ch = ct.challenge_table(result)
    assert list(ch.index) == ["R1", "R2", "all"] and ch.loc["all", "n"] == 3  # n_pairs when n is absent
    result["challenge"]["n"] = 6
    assert ct.challenge_table(result).loc["all", "n"] == 6
    arts = ct.articles_table(result)
    assert arts.loc["segmentation", "f1"] == 0.667 and pd.isna(arts.loc["segmentation", "macro_f1"])
    assert arts.attrs == {"articles": 2}


def test_confident_errors_orders_by_confidence():
    preds = pd.DataFrame({"id": ["1", "2", "3", "4"], "text": list("abcd"), "label": ["threat"] * 4,
                          "predicted": ["threat", "demand", "other", "demand"], "confidence": [0.99, 0.6, 0.9, 0.7]})
    errs = ct.confident_errors(preds, k=2)
    assert list(errs["id"]) == ["3", "4"] and "text" in errs


def test_missing_evaluation_names_the_command(tmp_path):
    with pytest.raises(RunDirError, match="communique evaluate"):
        ct.load_eval(tmp_path)
    with pytest.raises(RunDirError, match="communique evaluate"):
        ct.load_predictions(tmp_path, "dev")


# ------------------------------------------------------------------------------------------- scored articles


def test_stance_profile_shares_and_order(scores):
    scores = pd.concat([scores, pd.DataFrame([{"article_id": "c", "sentence_index": None, "label": None,
                                               "status": "empty", "reason": "no text"}])], ignore_index=True)
    prof = ct.stance_profile(scores)
    assert list(prof.index) == ["a", "b"]  # the unscored article has no sentences
    assert prof.loc["a", "threat"] == 0.5 and prof.loc["a", "sentences"] == 4
    assert np.allclose(prof[list(LABELS)].sum(axis=1), 1.0)
    assert ct.stance_profile(scores, normalize=False).loc["b", "assurance"] == 1
    dated = scores.assign(date=scores["article_id"].map({"a": "2024-05-01", "b": "2023-01-01"}))
    assert list(ct.stance_profile(dated).index) == ["b", "a"]  # date order


def test_stance_timeline(scores):
    assert ct.stance_timeline(scores) is None  # no dates anywhere
    tl = ct.stance_timeline(scores, {"a": "2024-05-01", "b": "2024-05-20"})
    assert [d.date().isoformat() for d in tl.index] == ["2024-05-01", "2024-05-20"]
    assert tl.loc["2024-05-01", "threat"] == 0.5 and tl["articles"].tolist() == [1, 1]
    monthly = ct.stance_timeline(scores, pd.DataFrame({"article_id": ["a", "b"], "date": ["2024-05-01", "2024-05-20"]}),
                                 freq="M")
    assert len(monthly) == 1 and monthly["sentences"].iloc[0] == 6
    assert monthly["threat"].iloc[0] == pytest.approx(2 / 6)
    from_column = ct.stance_timeline(scores.assign(date="2024-01-02"))
    assert from_column["articles"].iloc[0] == 2


def test_top_sentences(scores):
    top = ct.top_sentences(scores, k=1)
    assert list(top["label"]) == list(LABELS)[:3] + ["other"]  # no rejection in the batch
    assert top.set_index("label").loc["threat", "text"] == "They will pay."
    assert len(ct.top_sentences(scores, k=5, labels=["threat"])) == 2


def test_attach_speakers_and_who_said_what(scores):
    assert ct.who_said_what(scores) is None
    spans = pd.DataFrame({"article_id": ["a", "a", "b"], "start": [0, 15, 0], "end": [14, 60, 14],
                          "speaker": ["Moscow", "", "Kyiv"]})
    with_speakers = ct.attach_speakers(scores, spans)
    assert with_speakers.loc[0, "speaker"] == "Moscow"
    assert pd.isna(with_speakers.loc[1, "speaker"])  # the overlapping span has no speaker
    assert with_speakers.loc[4, "speaker"] == "Kyiv"
    who = ct.who_said_what(with_speakers)
    assert list(who.index) == ["Kyiv", "Moscow"]
    assert who.loc["Moscow", "threat"] == 1 and who.loc["Kyiv", "assurance"] == 1 and "other" not in who
    assert who.loc["Moscow", "example"] == "threat: They will pay."


def test_load_scores_joins_metadata(tmp_path, scores):
    path = tmp_path / "scores.jsonl"
    scores.to_json(path, orient="records", lines=True)
    meta = tmp_path / "meta.csv"
    meta.write_text("article_id,date,source,headline\na,2024-05-01,Wire,Storm\n")
    df = ct.load_scores(path, metadata=meta)
    assert df.loc[0, "headline"] == "Storm" and df.loc[0, "source_meta"] == "Wire" and df.loc[0, "source"] == "a.txt"
    assert pd.isna(df.loc[df["article_id"] == "b", "date"]).all()
    assert ct.stance_timeline(df)["articles"].tolist() == [1]  # only the dated article


def test_render_article_html(scores):
    text = "They will pay. It rained. Strikes will follow. Leave now."
    html = ct.render_article_html(scores, "a", text=text)
    assert html.count('class="stance stance-') == 4 and html.count("stance-threat") == 2
    assert 'title="demand 0.80"' in html
    plain = ct.render_article_html(scores.assign(text=scores["text"].replace("It rained.", "<b>x</b>")), "a")
    assert "&lt;b&gt;x&lt;/b&gt;" in plain and "<b>x</b>" not in plain
    with pytest.raises(KeyError):
        ct.render_article_html(scores, "zzz")
    empty = pd.DataFrame([{"article_id": "e", "sentence_index": None, "label": None, "status": "empty",
                           "reason": "no text"}])
    assert "not scored: empty" in ct.render_article_html(empty, "e")


def test_article_text_reads_the_scored_file(tmp_path, scores):
    f = tmp_path / "a.txt"
    f.write_text("Hello.")
    assert ct.article_text(scores.assign(path=str(f)), "a") == "Hello."
    assert ct.article_text(scores, "a") is None


# ------------------------------------------------------------------------------------------- several runs


def _preds(predicted, conf):
    return pd.DataFrame({"id": ["1", "2", "3", "4"], "text": list("abcd"),
                         "label": ["threat", "demand", "other", "other"], "predicted": predicted, "confidence": conf})


def test_disagreements_and_agreement():
    preds = {"x": _preds(["threat", "threat", "other", "other"], [0.9, 0.6, 0.8, 0.7]),
             "y": _preds(["threat", "demand", "demand", "other"], [0.9, 0.7, 0.95, 0.8])}
    diff = ct.disagreements(preds)
    assert list(diff["id"]) == ["3", "2"]  # most confident disagreement first
    assert list(diff["right"]) == ["x", "y"] and list(diff["x"]) == ["other", "threat"]
    agree = ct.agreement_matrix(preds)
    assert agree.loc["x", "y"] == 0.5 and agree.loc["x", "x"] == 1.0
    by_label = ct.disagreement_by_label(preds)
    assert list(by_label.index) == ["threat", "demand", "other"]
    assert by_label.loc["other", "disagree"] == 0.5 and by_label.loc["demand", "y_accuracy"] == 1.0
    with pytest.raises(ValueError):
        ct.disagreements({"x": preds["x"]})


def _fake_run(path, acc, challenge=False):
    d = path / "eval" / "test"
    d.mkdir(parents=True)
    rep = _report()
    rep["accuracy"] = acc
    result = {"overall": rep}
    if challenge:
        result["challenge"] = {"n_pairs": 2, "accuracy": 0.75, "pair_consistency": 0.5, "per_rule": {}}
    (d / "metrics.json").write_text(json.dumps(result))
    return path


def test_compare_table(tmp_path):
    a = _fake_run(tmp_path / "a" / "run", 0.8, challenge=True)
    b = _fake_run(tmp_path / "b" / "run", 0.6)
    table = ct.compare_table([a, b])
    assert list(table.index) == ["run", str(b)]  # same folder name: the second is named by its path
    assert table["accuracy"].tolist() == [0.8, 0.6]
    assert table.loc["run", "challenge_accuracy"] == 0.75 and pd.isna(table.loc[str(b), "challenge_accuracy"])
    assert {"accuracy_low", "macro_f1_high", "ece"} <= set(table.columns)
    per_class = ct.compare_per_class({"A": a, "B": b})
    assert list(per_class.columns) == ["A", "B"] and list(per_class.index) == list(LABELS)
