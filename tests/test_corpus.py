"""The shipped data: schema, counts, group-disjoint splits, gold spans, no near-duplicates."""

import csv
import json
import re
from collections import Counter, defaultdict

import pytest

from communique.corpus import FIELDS, TAGS, VOICES, is_hard_negative, near_duplicates
from communique.data import read_records
from communique.labels import LABELS, STANCE_LABELS

from conftest import ROOT

SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def corpus():
    return {s: read_records([ROOT / "data/corpus" / f"{s}.jsonl"]) for s in SPLITS}


def test_schema(corpus):
    for split, recs in corpus.items():
        for r in recs:
            where = r["_source"]
            assert set(FIELDS) <= set(r), where
            assert r["voice"] in VOICES, where
            assert r["tags"] and set(r["tags"]) <= set(TAGS), where
            assert 5 <= len(r["text"].split()) <= 70, where
            assert r["label"] not in r["also"], where
            if "ambiguous" in r["tags"]:
                assert r["also"], f"{where}: ambiguous needs an alternative in also"


def test_counts(corpus):
    recs = [r for rs in corpus.values() for r in rs]
    labels = Counter(r["label"] for r in recs)
    assert len(recs) >= 5000
    assert all(labels[lab] >= 700 for lab in STANCE_LABELS), labels
    assert labels["other"] >= 2000
    assert sum(map(is_hard_negative, recs)) >= 600
    assert len({r["group"] for r in recs}) >= 50
    voices = Counter(r["voice"] for r in recs)
    assert all(voices[v] >= 200 for v in VOICES), voices
    assert len({r["id"] for r in recs}) == len(recs)


def test_splits_are_group_disjoint_and_test_is_large(corpus):
    groups = {s: {r["group"] for r in recs} for s, recs in corpus.items()}
    assert groups["train"].isdisjoint(groups["dev"])
    assert groups["train"].isdisjoint(groups["test"])
    assert groups["dev"].isdisjoint(groups["test"])
    assert len(corpus["test"]) >= 1000 and len(groups["test"]) >= 10


def test_hard_cases_in_every_label(corpus):
    recs = [r for rs in corpus.values() for r in rs]
    for label in STANCE_LABELS:
        tags = Counter(t for r in recs if r["label"] == label for t in r["tags"])
        assert sum(v for t, v in tags.items() if t != "plain") >= 150, (label, tags)


def test_no_near_duplicates_within_or_across_splits(corpus):
    recs = [r for rs in corpus.values() for r in rs]
    dups = near_duplicates([r["text"] for r in recs], threshold=0.4)
    assert not dups, [(recs[i]["_source"], recs[j]["_source"], round(s, 2)) for i, j, s in dups[:10]]


def test_contrast_pairs():
    recs = read_records([ROOT / "data/challenge/contrast.jsonl"])
    pairs = defaultdict(list)
    for r in recs:
        assert r.get("rule"), r["_source"]
        pairs[r["pair"]].append(r)
    assert len(pairs) >= 400
    label_pairs = Counter()
    for pid, members in pairs.items():
        assert len(members) == 2, pid
        a, b = members
        assert a["label"] != b["label"] and a["rule"] == b["rule"], pid
        label_pairs[frozenset((a["label"], b["label"]))] += 1
    assert len(label_pairs) == 10  # every pair of the five labels
    rules = Counter(r["rule"] for r in recs)
    assert {f"R{i}" for i in range(1, 9)} <= set(rules)


def test_articles_and_gold_spans():
    art_dir = ROOT / "data/articles"
    texts = {p.stem: p.read_text(encoding="utf-8") for p in art_dir.glob("*.txt")}
    assert len(texts) >= 15
    for aid, t in texts.items():
        assert 400 <= len(t.split()) <= 1000, (aid, len(t.split()))
    covered = {aid: [False] * len(t) for aid, t in texts.items()}
    by_article = defaultdict(list)
    for line in (art_dir / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        g = json.loads(line)
        assert g["label"] in LABELS and set(g["also"]) <= set(LABELS)
        assert texts[g["article_id"]][g["start"]:g["end"]] == g["text"], (g["article_id"], g["index"])
        by_article[g["article_id"]].append(g)
        for k in range(g["start"], g["end"]):
            covered[g["article_id"]][k] = True
    assert set(by_article) == set(texts)
    for aid, gs in by_article.items():
        assert [g["index"] for g in gs] == list(range(len(gs))), aid
        assert all(a["end"] <= b["start"] for a, b in zip(gs, gs[1:])), aid
        t = texts[aid]
        uncovered = [k for k, c in enumerate(covered[aid]) if not c and not t[k].isspace()]
        assert not uncovered, (aid, t[uncovered[0]:uncovered[0] + 40])
    with (art_dir / "metadata.csv").open(encoding="utf-8") as f:
        meta = {row["article_id"]: row for row in csv.DictReader(f)}
    assert set(meta) == set(texts)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", m["date"]) for m in meta.values())


def test_data_card_is_up_to_date(tmp_path):
    """data/README.md is generated from the files; regenerating it must change nothing."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_data_card", ROOT / "data/tools/make_data_card.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path / "README.md")
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == (ROOT / "data/README.md").read_text(
        encoding="utf-8"), "run `make data-card` and commit data/README.md"
