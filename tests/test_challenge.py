"""The contrast challenge set: accuracy and pair consistency per rule, with a stand-in model whose answers are set."""

import json
import math

import numpy as np
import pytest

from communique.challenge import challenge_scores, evaluate_challenge, format_challenge
from communique.errors import DataError
from communique.labels import LABELS

from conftest import ROOT, rule_model


def LookupModel(answers: dict[str, str]):
    """Answers a fixed label per sentence text (`other` for any text it does not know); nothing is learnt."""
    return rule_model(lambda text: answers.get(text, "other"), "lookup-stub")


# (id, pair, rule, gold label, the model's answer)
ROWS = [
    ("c1a", "c1", "R1", "threat", "threat"),
    ("c1b", "c1", "R1", "other", "other"),
    ("c2a", "c2", "R1", "demand", "demand"),
    ("c2b", "c2", "R1", "other", "demand"),  # half right: R1 accuracy 3/4, but only 1 of 2 pairs whole
    ("c3a", "c3", "R2", "rejection", "rejection"),
    ("c3b", "c3", "R2", "assurance", "assurance"),
    ("c4a", "c4", "R3", "threat", "other"),
    ("c4b", "c4", "R3", "other", "threat"),  # both wrong
    ("s1", None, None, "other", "other"),  # no pair, no rule: its own "pair" of one, rule "unspecified"
]


def write_challenge(path, rows=ROWS):
    recs = []
    for rid, pair, rule, label, _ in rows:
        r = {"id": rid, "text": f"Sentence {rid} of the contrast set.", "label": label, "also": [],
             "group": "g-" + (pair or rid), "note": "crafted"}
        if pair is not None:
            r["pair"] = pair
        if rule is not None:
            r["rule"] = rule
        recs.append(r)
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return path, LookupModel({r["text"]: row[4] for r, row in zip(recs, rows)})


def test_per_rule_accuracy_and_pair_consistency(tmp_path):
    path, model = write_challenge(tmp_path / "contrast.jsonl")
    scores, records, probs = evaluate_challenge(model, path)
    assert [r["id"] for r in records] == [row[0] for row in ROWS]
    assert probs.shape == (9, len(LABELS)) and np.allclose(probs.sum(1), 1.0)
    assert [LABELS[i] for i in probs.argmax(1)] == [row[4] for row in ROWS]

    assert scores["n"] == 9 and scores["n_pairs"] == 4  # c1..c4; the lone s1 is not a pair
    assert scores["accuracy"] == pytest.approx(6 / 9)
    assert scores["pair_consistency"] == pytest.approx(2 / 4)  # c1, c3 whole; c2, c4 not; s1 is no pair
    per = scores["per_rule"]
    assert list(per) == ["R1", "R2", "R3", "unspecified"]
    assert per["R1"]["n"] == 4 and per["R1"]["accuracy"] == pytest.approx(0.75)
    assert per["R1"]["pair_consistency"] == pytest.approx(0.5)  # differs from its accuracy
    assert per["R2"] == {"n": 2, "accuracy": 1.0, "pair_consistency": 1.0}
    assert per["R3"] == {"n": 2, "accuracy": 0.0, "pair_consistency": 0.0}
    assert per["unspecified"]["n"] == 1 and per["unspecified"]["accuracy"] == 1.0
    assert math.isnan(per["unspecified"]["pair_consistency"])  # no pair of two to judge

    text = format_challenge(scores)
    assert text.startswith("challenge set: 4 pairs, accuracy 0.667, pair consistency 0.500")
    assert any(line.split() == ["R1", "4", "0.750", "0.500"] for line in text.splitlines())


def test_challenge_scores_from_predictions_directly():
    records = [{"id": "x1", "pair": "p", "rule": "R9", "label": "threat"},
               {"id": "x2", "pair": "p", "rule": "R9", "label": "other"},
               {"id": "x3", "pair": "q", "rule": "R9", "label": "demand"},
               {"id": "x4", "pair": "q", "rule": "R9", "label": "demand"}]
    pred = np.array([LABELS.index(x) for x in ("threat", "other", "demand", "rejection")])
    s = challenge_scores(records, pred)
    assert s["accuracy"] == 0.75 and s["pair_consistency"] == 0.5
    assert s["per_rule"] == {"R9": {"n": 4, "accuracy": 0.75, "pair_consistency": 0.5}}
    # every answer right: consistency 1; every answer wrong: 0
    right = np.array([LABELS.index(r["label"]) for r in records])
    assert challenge_scores(records, right)["pair_consistency"] == 1.0
    assert challenge_scores(records, (right + 1) % len(LABELS))["per_rule"]["R9"] == {
        "n": 4, "accuracy": 0.0, "pair_consistency": 0.0}


def test_bad_challenge_record_is_a_data_error(tmp_path):
    path = tmp_path / "contrast.jsonl"
    path.write_text(json.dumps({"id": "c1a", "pair": "c1", "text": "x", "label": "threats", "group": "g"}) + "\n")
    with pytest.raises(DataError, match=r"contrast\.jsonl:1: unknown label 'threats'"):
        evaluate_challenge(LookupModel({}), path)


def test_shipped_challenge_set_with_an_oracle():
    path = ROOT / "data" / "challenge" / "contrast.jsonl"
    recs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    scores, _, _ = evaluate_challenge(LookupModel({r["text"]: r["label"] for r in recs}), path)
    assert scores["n"] == len(recs) and scores["n_pairs"] == len({r["pair"] for r in recs})
    assert scores["accuracy"] == 1.0 and scores["pair_consistency"] == 1.0
    assert set(scores["per_rule"]) == {r["rule"] for r in recs}
    # a model that says `other` to everything gets the `other` halves right but no pair whole
    # (every shipped pair has a stance sentence)
    scores, _, _ = evaluate_challenge(LookupModel({}), path)
    assert scores["accuracy"] == pytest.approx(sum(r["label"] == "other" for r in recs) / len(recs))
    assert scores["pair_consistency"] == 0.0


def test_explicit_null_pair_and_rule_count_as_absent(tmp_path):
    from communique.challenge import challenge_scores

    records = [{"id": f"c{i}", "text": f"t{i}", "label": "other", "pair": None, "rule": None} for i in range(3)]
    y = np.zeros(3, dtype=int) + LABELS.index("other")
    result = challenge_scores(records, y)
    assert result["accuracy"] == 1.0 and list(result["per_rule"]) == ["unspecified"]
    assert result["n_pairs"] == 0 and math.isnan(result["pair_consistency"])  # three lone records, no pair
