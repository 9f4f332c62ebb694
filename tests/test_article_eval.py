"""Gold-article evaluation: span alignment, end-to-end scores on a crafted articles directory, gold checks.

The model is a deterministic stand-in (a keyword rule per sentence), so every expected number below is
worked out by hand from the crafted articles and the segmenter's spans.
"""

import json

import pytest

from communique.article_eval import align, evaluate_articles, format_articles, load_gold
from communique.errors import DataError
from communique.labels import LABELS
from conftest import rule_model


def KeywordModel(keywords: dict[str, str]):
    """Labels each sentence by the first keyword it contains (else `other`); nothing is learnt."""
    return rule_model(lambda text: next((lab for word, lab in keywords.items() if word in text), "other"),
                      "keyword-stub")


# "Marchetti" -> threat: the model misfires on the byline, which the row builder must overrule (furniture).
KEYWORDS = {"warned": "threat", "demanded": "demand", "rejected": "rejection", "pledged": "assurance",
            "Marchetti": "threat"}

# Segmented (syntok) into: byline (furniture) | threat | other | demand -- the gold spans are the same four.
A1 = ("By Helena Marchetti\n\nMoscow warned Kyiv of a crushing response. Delegates met in Geneva on Monday. "
      "The council demanded an immediate withdrawal.")
A1_GOLD = [("By Helena Marchetti", "other"), ("Moscow warned Kyiv of a crushing response.", "threat"),
           ("Delegates met in Geneva on Monday.", "other"), ("The council demanded an immediate withdrawal.", "demand")]
# Segmented into 3 sentences: the first (0-72) holds gold sentences 0 (0-44, IoU 44/72) and 1 (45-72, IoU 27/72);
# the last is a prediction, gold `other`, which the model takes for a threat ("warned").
A2 = ("The ministry rejected the proposal outright; it pledged to keep talking. Ships sailed through the strait "
      "overnight. Officials warned that fishing would suffer.")
A2_GOLD = [("The ministry rejected the proposal outright;", "rejection"), ("it pledged to keep talking.", "assurance"),
           ("Ships sailed through the strait overnight.", "other"),
           ("Officials warned that fishing would suffer.", "other")]


def gold_lines(aid: str, text: str, sentences: list[tuple[str, str]]) -> list[dict]:
    out, pos = [], 0
    for i, (sent, label) in enumerate(sentences):
        start = text.index(sent, pos)
        pos = start + len(sent)
        out.append({"article_id": aid, "index": i, "start": start, "end": pos, "text": sent, "label": label,
                    "also": [], "speaker": ""})
    return out


def write_articles(d, articles: dict[str, tuple[str, list]], sets: dict[str, str] | None = None):
    d.mkdir(parents=True, exist_ok=True)
    lines = []
    for aid, (text, sentences) in articles.items():
        (d / f"{aid}.txt").write_text(text, encoding="utf-8")
        lines += gold_lines(aid, text, sentences)
    (d / "gold.jsonl").write_text("".join(json.dumps(g) + "\n" for g in lines), encoding="utf-8")
    if sets is not None:
        (d / "metadata.csv").write_text("article_id,date,source,headline,set\n" + "".join(
            f"{aid},2024-01-0{i + 1},Wire,Headline {i},{s}\n" for i, (aid, s) in enumerate(sets.items())),
            encoding="utf-8")
    return d


@pytest.fixture
def articles_dir(tmp_path):
    return write_articles(tmp_path / "articles", {"a1": (A1, A1_GOLD), "a2": (A2, A2_GOLD)},
                          {"a1": "original", "a2": "extra"})


# ---- align ----

def test_align_exact_and_partial_overlaps():
    gold = [(0, 10), (10, 20), (20, 30), (40, 50)]
    pred = [(0, 10), (10, 30), (35, 60)]
    # (10,20) and (20,30) each cover half of (10,30): IoU 0.5 exactly is enough, but only the first gold gets it;
    # (40,50) vs (35,60): IoU 10/25 = 0.4 < 0.5, left unaligned.
    assert align(gold, pred) == {0: 0, 1: 1}


def test_align_threshold_boundaries():
    assert align([(0, 10)], [(0, 5)]) == {0: 0}  # IoU 5/10 = 0.5
    assert align([(0, 10)], [(0, 4)]) == {}  # 0.4
    assert align([(0, 10)], [(0, 21)]) == {}  # 10/21 < 0.5
    assert align([(0, 10)], [(0, 20)]) == {0: 0}  # 10/20 = 0.5
    assert align([(0, 10)], [(10, 20)]) == {}  # touching, no overlap
    assert align([], [(0, 5)]) == {} and align([(0, 5)], []) == {}


def test_align_picks_the_best_prediction_and_one_gold_per_prediction():
    # the gold sentence takes the prediction it overlaps most, not the first one above the threshold
    assert align([(0, 10)], [(0, 12), (0, 10)]) == {0: 1}
    # two gold sentences compete for one prediction (IoU 1.0 and 0.9): only one of them gets it
    mapping = align([(0, 10), (0, 9)], [(0, 10)])
    assert mapping == {0: 0}
    # the loser may still take another prediction it overlaps enough (IoU 8/9)
    assert align([(0, 10), (0, 9)], [(0, 10), (0, 8)]) == {0: 0, 1: 1}
    # a prediction used by an earlier gold sentence is not handed out twice even at equal IoU
    assert align([(0, 5), (5, 10), (10, 20)], [(0, 10), (10, 20)]) == {0: 0, 2: 1}


# ---- evaluate_articles end to end ----

def test_evaluate_articles_exact_scores_and_by_set(articles_dir):
    model = KeywordModel(KEYWORDS)
    res = evaluate_articles(model, articles_dir)
    # the model saw every segmented sentence once (the byline too), in article order
    assert model.seen == [A1[0:19], A1[21:63], A1[64:98], A1[99:144], A2[0:72], A2[73:115], A2[116:159]]
    assert "actors" not in res
    assert (res["articles"], res["gold_sentences"], res["predicted_sentences"]) == (2, 8, 7)
    # segmentation: 4 exact spans in a1, 2 in a2 (not the 0-72 sentence) -> P 6/7, R 6/8
    seg = res["segmentation"]
    assert seg["precision"] == pytest.approx(6 / 7) and seg["recall"] == pytest.approx(6 / 8)
    assert seg["f1"] == pytest.approx(0.8)
    # stance: gold threat, demand, rejection, assurance; predicted (after the byline is overruled to `other`)
    # threat, demand, rejection, threat; found: threat, demand, rejection -> 3/4, 3/4
    c = res["classification"]
    assert (c["precision"], c["recall"], c["f1"]) == pytest.approx((0.75, 0.75, 0.75))
    # aligned: all 4 of a1 (right) + a2's gold 0 -> 0-72 (right), gold 2 (right), gold 3 (other -> threat, wrong);
    # a2's gold 1 (IoU 27/72) stays unaligned
    assert c["aligned"] == 7 and c["accuracy"] == pytest.approx(6 / 7)
    # macro-F1 over the 5 labels: assurance 0 (never true or predicted in aligned pairs), threat 2/3, demand 1,
    # rejection 1, other 6/7 (4 true, 3 predicted, all right)
    assert c["macro_f1"] == pytest.approx((0 + 2 / 3 + 1 + 1 + 6 / 7) / 5)

    assert set(res["by_set"]) == {"original", "extra"}
    orig, extra = res["by_set"]["original"], res["by_set"]["extra"]
    assert (orig["articles"], orig["gold_sentences"], orig["predicted_sentences"]) == (1, 4, 4)
    assert orig["segmentation"] == pytest.approx({"precision": 1.0, "recall": 1.0, "f1": 1.0})
    assert orig["classification"]["f1"] == 1.0 and orig["classification"]["accuracy"] == 1.0
    assert (extra["articles"], extra["gold_sentences"], extra["predicted_sentences"]) == (1, 4, 3)
    assert extra["segmentation"]["precision"] == pytest.approx(2 / 3) and extra["segmentation"]["recall"] == 0.5
    ec = extra["classification"]
    assert (ec["precision"], ec["recall"], ec["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert ec["aligned"] == 3 and ec["accuracy"] == pytest.approx(2 / 3)

    text = format_articles(res)
    assert "2 articles, 8 gold / 7 predicted sentences" in text
    assert "F1 0.750" in text and "set extra" in text and "set original" in text


def test_mislabelled_stance_lowers_precision_and_recall_and_one_set_has_no_split(articles_dir):
    (articles_dir / "metadata.csv").unlink()  # no sets: every article is in "all", no by_set
    model = KeywordModel({**KEYWORDS, "warned": "demand"})  # threats are now taken for demands
    res = evaluate_articles(model, articles_dir)
    assert "by_set" not in res
    c = res["classification"]
    # stance predictions: demand (a1 threat), demand, rejection, demand (a2 other); right: demand, rejection
    assert (c["precision"], c["recall"], c["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert c["aligned"] == 7 and c["accuracy"] == pytest.approx(5 / 7)
    assert res["segmentation"]["f1"] == pytest.approx(0.8)  # segmentation does not depend on the model


def test_metadata_without_set_column_or_article_means_all(articles_dir):
    (articles_dir / "metadata.csv").write_text("article_id,date\na1,2024-01-01\n", encoding="utf-8")
    assert "by_set" not in evaluate_articles(KeywordModel(KEYWORDS), articles_dir)
    # a2 missing from the metadata falls into "all", beside a1's set
    (articles_dir / "metadata.csv").write_text("article_id,set\na1,original\n", encoding="utf-8")
    res = evaluate_articles(KeywordModel(KEYWORDS), articles_dir)
    assert set(res["by_set"]) == {"all", "original"} and res["by_set"]["all"]["gold_sentences"] == 4


# ---- load_gold ----

def test_load_gold_reads_texts_and_sentences(articles_dir):
    texts, gold = load_gold(articles_dir)
    assert texts == {"a1": A1, "a2": A2}
    assert [g["label"] for g in gold["a2"]] == ["rejection", "assurance", "other", "other"]
    assert [(g["start"], g["end"]) for g in gold["a2"]] == [(0, 44), (45, 72), (73, 115), (116, 159)]


def _rewrite_line(d, lineno: int, new: str) -> None:
    lines = (d / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    lines[lineno - 1] = new
    (d / "gold.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_load_gold_malformed_json_names_file_and_line(articles_dir):
    _rewrite_line(articles_dir, 3, '{"article_id": "a1", "start": 64,')
    with pytest.raises(DataError, match=r"gold\.jsonl:3: malformed JSON"):
        load_gold(articles_dir)


def test_load_gold_unknown_label_names_file_and_line(articles_dir):
    g = gold_lines("a2", A2, A2_GOLD)[1]
    g["label"] = "promise"
    _rewrite_line(articles_dir, 6, json.dumps(g))
    with pytest.raises(DataError, match=r"gold\.jsonl:6: unknown label 'promise'"):
        load_gold(articles_dir)


def test_load_gold_span_not_matching_text_names_line_and_article(articles_dir):
    g = gold_lines("a2", A2, A2_GOLD)[2]
    g["start"] += 1
    _rewrite_line(articles_dir, 7, json.dumps(g))
    with pytest.raises(DataError, match=r"gold\.jsonl:7: span 74-115 does not match the text of .*a2\.txt"):
        load_gold(articles_dir)


def test_load_gold_missing_article_text_and_missing_gold_file(articles_dir):
    (articles_dir / "a2.txt").unlink()
    with pytest.raises(DataError, match=r"gold\.jsonl:\d+: article 'a2' has no text file .*a2\.txt"):
        load_gold(articles_dir)
    (articles_dir / "gold.jsonl").unlink()
    with pytest.raises(DataError, match=r"gold\.jsonl: no gold file"):
        load_gold(articles_dir)


def test_real_gold_articles_load():
    from conftest import ROOT

    texts, gold = load_gold(ROOT / "data" / "articles")
    assert texts and set(texts) == set(gold)
    assert all(g["label"] in LABELS for sents in gold.values() for g in sents)
    dev_texts, dev_gold = load_gold(ROOT / "data" / "articles-dev")  # development articles: none is a test article
    assert dev_texts and not set(dev_texts) & set(texts)
    assert not {g["text"] for s in dev_gold.values() for g in s} & {g["text"] for s in gold.values() for g in s}


@pytest.mark.parametrize("line, message", [
    ('"text"', "gold.jsonl:1: expected a JSON object, got str"),
    ('{"article_id": "a1", "text": "x", "label": "other"}', "gold.jsonl:1: missing field(s) start, end"),
    ('{"article_id": "a1", "start": "0", "end": 3, "text": "x", "label": "other"}',
     "gold.jsonl:1: start and end must be non-negative integers"),
    ('{"article_id": "a1", "start": -3, "end": 0, "text": "", "label": "other"}',
     "gold.jsonl:1: start and end must be non-negative integers"),
])
def test_load_gold_refuses_records_that_are_not_gold_sentences(tmp_path, line, message):
    from communique.article_eval import load_gold
    from communique.errors import DataError

    (tmp_path / "gold.jsonl").write_text(line + "\n", encoding="utf-8")
    (tmp_path / "a1.txt").write_text("abc", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_gold(tmp_path)
    assert message in str(e.value)


def test_evaluate_scores_the_test_articles_with_test_and_the_dev_articles_with_dev(tiny_data, tmp_path):
    from conftest import tiny_config

    from communique.evaluate import evaluate
    from communique.train import train

    cfg = tiny_config(tiny_data, "tfidf")
    cfg.data.articles = str(write_articles(tmp_path / "test-articles", {"a1": (A1, A1_GOLD), "a2": (A2, A2_GOLD)}))
    cfg.data.dev_articles = str(write_articles(tmp_path / "dev-articles", {"d1": (A1, A1_GOLD)}))
    run = train(cfg, out_dir=tmp_path / "run")
    assert evaluate(run, split="test", n_boot=0)["articles"]["articles"] == 2
    assert evaluate(run, split="dev", n_boot=0)["articles"]["articles"] == 1
    assert "articles" not in evaluate(run, data=[str(tiny_data["test"])], n_boot=0)  # a file: no articles
