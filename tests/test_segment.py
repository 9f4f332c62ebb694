import json
from collections import defaultdict

import pytest

from communique.segment import segment

from conftest import ROOT


def texts(t):
    return [s.text for s in segment(t)]


def test_offsets_point_into_the_original():
    t = "Headline without a stop\nBy A Reporter\n\nGENEVA (Wire) — Mr. Lavrov spoke.\nHe left."
    for s in segment(t):
        assert t[s.start:s.end] == s.text


@pytest.mark.parametrize("text, expected", [
    ("Mr. Blinken met Gen. Milley and Dr. Fauci in Washington. They spoke for an hour.",
     ["Mr. Blinken met Gen. Milley and Dr. Fauci in Washington.", "They spoke for an hour."]),
    ("The U.S. and the U.N. agreed on Jan. 12 to meet again. Talks resume Monday.",
     ["The U.S. and the U.N. agreed on Jan. 12 to meet again.", "Talks resume Monday."]),
    ("Output fell 3.2 percent to $1.5 billion. Prices rose.", ["Output fell 3.2 percent to $1.5 billion.", "Prices rose."]),
    ('"We will not back down." The minister left the room.', ['"We will not back down."', "The minister left the room."]),
    ("“We will respond.” Officials declined to elaborate.", ["“We will respond.”", "Officials declined to elaborate."]),
])
def test_newswire_sentences(text, expected):
    assert texts(text) == expected


def test_headline_byline_and_dateline_are_separate():
    t = ("China warns Manila over shoal resupply\nBy Jane Roe and John Doe\n\n"
         "MANILA, June 3 (Wire) — China warned the Philippines on Monday. Manila said it would not back down.")
    assert texts(t) == ["China warns Manila over shoal resupply", "By Jane Roe and John Doe",
                        "MANILA, June 3 (Wire) — China warned the Philippines on Monday.",
                        "Manila said it would not back down."]


def test_wrapped_lines_bullets_and_furniture():
    t = ("The ministry said on Tuesday that it would not accept any settlement that\n"
         "left troops on its territory, and it demanded a full withdrawal.\n\n"
         "Also read: Why the border talks stalled\n\n"
         "Photo: Soldiers patrol the border near the\nvillage on Monday. (Wire Photo)\n\n"
         "The demands were:\n- a withdrawal of all forces within\n30 days;\n- the release of prisoners\n")
    assert texts(t) == [
        "The ministry said on Tuesday that it would not accept any settlement that\n"
        "left troops on its territory, and it demanded a full withdrawal.",
        "Also read: Why the border talks stalled",
        "Photo: Soldiers patrol the border near the\nvillage on Monday. (Wire Photo)",
        "The demands were:", "- a withdrawal of all forces within\n30 days;", "- the release of prisoners"]


def test_empty_and_blank_text():
    assert segment("") == [] and segment(" \n\n \n") == []


def test_gold_articles_segmentation_f1():
    """The shipped gold articles are segmented almost perfectly (bench/segmentation.py compares backends)."""
    gold = defaultdict(set)
    for line in (ROOT / "data/articles/gold.jsonl").read_text(encoding="utf-8").splitlines():
        g = json.loads(line)
        gold[g["article_id"]].add((g["start"], g["end"]))
    tp = n_pred = n_gold = 0
    for aid, spans in gold.items():
        pred = {(s.start, s.end) for s in segment((ROOT / "data/articles" / f"{aid}.txt").read_text(encoding="utf-8"))}
        tp, n_pred, n_gold = tp + len(pred & spans), n_pred + len(pred), n_gold + len(spans)
    p, r = tp / n_pred, tp / n_gold
    assert 2 * p * r / (p + r) >= 0.97


@pytest.mark.parametrize("line, furniture", [
    ("By Helena Marchetti and Pavel Dorokhin", True),
    ("By Mei-ling Chou", True),
    ("Photo: Soldiers patrol the border on Monday. (Wire Photo)", True),
    ("Also read: Why the talks stalled", True),
    ("(Reporting by Jane Roe; Editing by John Doe)", True),
    ("By Tuesday, the troops had left the village.", False),
    ("By late evening the talks had collapsed.", False),
    ("Related talks will resume on Monday.", False),
])
def test_furniture_is_marked(line, furniture):
    sents = segment(line)
    assert len(sents) == 1 and sents[0].furniture is furniture
