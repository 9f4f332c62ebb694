"""Who to whom: the actor table, in-article resolution, span scoring, the tagger and the commands."""

from __future__ import annotations

import json
import re

import pytest

from communique.actors.dyads import aggregate, article_dyads, period_of, write_dyads
from communique.actors.links import ArticleResolver, StoryContext, kind
from communique.actors.scoring import article_actor_scores, resolve_sentences, span_f1, span_report
from communique.actors.table import ActorTable
from communique.errors import ConfigError, DataError
from conftest import ACTOR_TABLE as TABLE
from conftest import with_spans as _with_spans


@pytest.fixture()
def table(tmp_path):
    path = tmp_path / "actors.yaml"
    path.write_text(TABLE, encoding="utf-8")
    return ActorTable.load(path)


@pytest.mark.parametrize("mention, actor, side", [
    ("U.S. Secretary of State Antony Blinken", "Antony Blinken", "United States"),
    ("Washington's", "United States", "United States"),
    ("the Kremlin", "Russia", "Russia"),
    ("Russian diplomats", "Russia", "Russia"),
    ("Deputy Foreign Minister Sergei Ryabkov", "Sergei Ryabkov", "Russia"),
    ("Aleksandar Vucic", "Aleksandar Vučić", "Serbia"),  # accents ignored
    ("the military governments of Mali and Burkina Faso", "Burkina Faso; Mali", "Burkina Faso; Mali"),
    ("the Economic Community of West African States", "ECOWAS", "ECOWAS"),
])
def test_mentions_resolve_to_actor_and_side(table, mention, actor, side):
    r = table.resolve(mention)
    assert (r.actor, r.side, r.known) == (actor, side, True)


def test_unknown_mentions_keep_their_text_and_acronyms_match_only_in_capitals(table):
    assert table.resolve("the Sahel Patriots' Front").actor == "Sahel Patriots' Front"
    assert not table.resolve("the Sahel Patriots' Front").known
    assert table.resolve("us").known is False  # "US" is the United States, "us" is a pronoun
    assert table.resolve("US").side == "United States"
    assert table.resolve(None) is None and table.resolve("  ") is None


def test_find_all_gives_offsets_in_the_text(table):
    text = "Blinken told Moscow that Kyiv's allies would respond."
    hits = [(text[s:e], a.name) for s, e, a in table.find_all(text)]
    assert hits == [("Blinken", "Antony Blinken"), ("Moscow", "Russia"), ("Kyiv's", "Ukraine")]


@pytest.mark.parametrize("body, message", [
    ("actors:\n  A: {type: state, aliases: [Tuareg rebels]}\n  B: {type: state, aliases: [the tuareg Rebels]}\n",
     "actors.yaml:3: alias 'the tuareg Rebels' of actor 'B' is already a name of actor 'A'"),
    ("actors:\n  A: {type: state}\n  A: {type: state}\n", "actors.yaml:3: actor or key 'A' repeated (first at line 2)"),
    ("actors:\n  A: {type: state, side: B}\n", "actors.yaml:2: actor 'A': side 'B' is not an actor in the table"),
    ("actors:\n  A: {type: state, side: B}\n  B: {type: state, side: A}\n", "the side chain loops"),
    ("actors:\n  A: {type: country}\n", "actors.yaml:2: actor 'A': type 'country'; choose one of"),
    ("actors:\n  A: {type: state, alias: [X]}\n", "actors.yaml:2: actor 'A': unknown key(s) alias"),
    ("actors:\n  A: {type: state, aliases: X}\n", "aliases must be a list of non-empty strings"),
    ("actors: [A, B]\n", "expected a mapping with the key 'actors'"),
    ("actors:\n  A: {type: state\n", "not valid YAML"),
])
def test_bad_actor_tables_are_clear_errors(tmp_path, body, message):
    path = tmp_path / "actors.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DataError) as e:
        ActorTable.load(path)
    assert message in str(e.value)


def test_mention_kinds():
    assert kind("he") == "person" and kind("She") == "person" and kind("the minister") == "person"
    assert kind("the alliance") == "group" and kind("they") == "group" and kind("the junta") == "state"
    assert kind("the union") == "non-state" and kind("both sides") == "pair"
    assert kind("Sergei Ryabkov") is None and kind("the Kremlin") is None and kind("Russian diplomats") is None
    # plurals and capitalised qualifiers of a role are still roles; a capitalised name is not
    assert kind("Officials") == "person" and kind("the Interior Ministry") == "state" and kind("governors") == "person"
    assert kind("a senior Foreign Ministry official") == "state" and kind("the Constitutional Council") == "group"
    assert kind("Opposition candidates") == "non-state" and kind("Wagner fighters") is None
    assert kind("Kenya protesters") is None and kind("the paramilitary") == "non-state"  # a name, then a role
    assert kind("the alliance's chief executive") == "group" and kind("an alliance spokesman") == "person"  # owner
    # the head of the mention decides: what follows a preposition qualifies it
    assert kind("a senior official at the IT ministry") == "person" and kind("the party") == "non-state"
    assert kind("the bloc") == "international" and kind("the coalition of peasant organisations") == "group"
    assert kind("union leaders") == "non-state" and kind("an army spokesman") == "state"  # the body decides


def test_a_role_with_nothing_named_before_it_takes_the_actor_its_story_names_most(table):
    story = StoryContext(table, ["Moscow massed troops near Kyiv on Monday.", "Russia denied any plan to invade.",
                                 "Blinken flew to Geneva.", "The Kremlin said talks would go on."])
    assert story.counts["Russia"] == 3 and story.counts["United States"] == 1
    calls = []
    real = table.find_all
    table.find_all = lambda text: calls.append(text) or real(text)
    res = ArticleResolver(table, story)
    res.see("Moscow massed troops near Kyiv on Monday.", 0)
    res.stance("Moscow massed troops near Kyiv on Monday.", 0, (0, 6), None)
    assert calls == []  # the story has read its sentences once; resolving them reads none again
    del table.find_all
    text = "The government will not be intimidated, the ministry said."
    alone = ArticleResolver(table)
    alone.see(text, 0)
    spk, _ = alone.stance(text, 0, (text.index("ministry"), text.index("ministry") + 8), None)
    assert spk.actor == "ministry"  # alone, nothing explains it: the mention keeps its own text
    told = ArticleResolver(table, story)
    told.see(text, 0)
    spk, tgt = told.stance(text, 0, (text.index("ministry"), text.index("ministry") + 8), (0, 14))
    assert spk.actor == "Russia"  # the side its story names most
    assert tgt.actor == "Ukraine"  # not the speaker's own side: the next most named
    assert story.best("both sides", "group", 2).actor == "Russia; Ukraine"
    # a sentence never explains itself: its own names are taken out of the story first
    own = StoryContext(table, ["The junta rejected ECOWAS's demand."])
    res = ArticleResolver(table, own)
    res.see("The junta rejected ECOWAS's demand.", 0)
    spk, _ = res.stance("The junta rejected ECOWAS's demand.", 0, (4, 9), None)
    assert spk.actor == "junta"


def test_an_unnamed_target_is_the_other_side_the_story_names_most(table):
    story = StoryContext(table, ["Moscow massed troops near Kyiv.", "Kyiv asked Washington for help.",
                                 "Ukraine's army dug in.", "Blinken flew to Geneva."])
    res = ArticleResolver(table, story)
    text = "Moscow said it would respond if provoked."
    res.see(text, 0)
    spk, tgt = res.stance(text, 0, (0, 6), None)
    assert (spk.actor, tgt.actor, tgt.text, tgt.start) == ("Russia", "Ukraine", None, None)  # an actor, no mention
    text = "The Kremlin said Russian forces would stay."
    res.see(text, 100)
    spk, tgt = res.stance(text, 100, (4, 11), (17, 31))
    assert (spk.actor, tgt.actor, tgt.text) == ("Russia", "Ukraine", None)  # a speaker is not its own target
    text = "The Kremlin warned Washington."
    res.see(text, 200)
    spk, tgt = res.stance(text, 200, (4, 11), (19, 29))
    assert (spk.actor, tgt.actor, tgt.text) == ("Russia", "United States", "Washington")  # a named target stays
    alone = ArticleResolver(table)
    alone.see("Moscow said it would respond if provoked.", 0)
    assert alone.stance("Moscow said it would respond if provoked.", 0, (0, 6), None)[1].actor is None


def test_a_state_role_skips_groups_and_a_pair_of_governments_skips_blocs(table):
    res = ArticleResolver(table)
    text = "Kyiv appealed to ECOWAS. The government will not give in, the minister said. The two governments will talk."
    res.see(text, 0)
    at = text.index("The government")
    spk, _ = res.stance(text, 0, (at, at + 14), None)
    assert spk.actor == "Ukraine"  # "the government" is a state: not ECOWAS, named nearer
    at = text.index("The two governments")
    res2 = ArticleResolver(table)
    res2.see("Moscow and Kyiv met under ECOWAS auspices.", 0)
    spk, _ = res2.stance("The two governments will talk.", 50, (0, 19), None)
    assert spk.actor == "Russia; Ukraine"  # the last two states, not the bloc named last


def test_pronouns_and_roles_resolve_to_the_nearest_compatible_actor(table):
    text = ("Deputy Foreign Minister Sergei Ryabkov met U.S. officials in Geneva. "
            "\"There are no plans to move on Ukraine,\" he said. "
            "Washington sent a warning to Ryabkov. "
            "It would not negotiate over the heads of Kyiv, the State Department added.")
    sents, pos = [], 0
    for piece in ["Deputy Foreign Minister Sergei Ryabkov met U.S. officials in Geneva.",
                  "\"There are no plans to move on Ukraine,\" he said.",
                  "Washington sent a warning to Ryabkov.",
                  "It would not negotiate over the heads of Kyiv, the State Department added."]:
        start = text.index(piece, pos)
        sents.append((piece, start))
        pos = start + len(piece)
    res = ArticleResolver(table)
    res.see(*sents[0])
    res.see(*sents[1])
    s1 = sents[1][0]
    spk, tgt = res.stance(s1, sents[1][1], (s1.index("he said"), s1.index("he said") + 2), None)
    assert spk.actor == "Russia"  # "he" -> Ryabkov (a person, not "U.S." or "Ukraine") -> his side
    assert (spk.start, spk.end) == (sents[1][1] + s1.index("he said"), sents[1][1] + s1.index("he said") + 2)
    res.see(*sents[2])
    s2 = sents[2][0]
    spk, tgt = res.stance(s2, sents[2][1], (0, 10), (s2.index("Ryabkov"), s2.index("Ryabkov") + 7))
    assert (spk.actor, tgt.actor) == ("United States", "Russia")
    res.see(*sents[3])
    s3 = sents[3][0]
    spk, tgt = res.stance(s3, sents[3][1], (0, 2), None)
    assert spk.actor == "United States"  # "It" -> the nearest state (Washington), not the nearer person Ryabkov
    spk, tgt = res.stance("- NATO must never admit Ukraine;", len(text) + 1, None, None)
    assert (spk.actor, tgt.actor) == ("United States", None)  # an unattributed item keeps the last speaker


def test_span_f1_exact_and_overlap():
    gold = [(0, 6), (10, 20), None, (5, 9)]
    pred = [(0, 6), (12, 20), (1, 3), None]
    m = span_f1(gold, pred)
    assert m["exact"]["precision"] == pytest.approx(1 / 3) and m["exact"]["recall"] == pytest.approx(1 / 3)
    assert m["overlap"]["precision"] == pytest.approx(2 / 3) and m["overlap"]["recall"] == pytest.approx(2 / 3)


def test_span_report_compares_sides_through_the_table(table):
    recs = [{"text": "Blinken warned Moscow.", "label": "threat", "speaker": "United States", "target": "Russia",
             "speaker_span": [0, 7], "target_span": [15, 21]},
            {"text": "Ryabkov rejected the offer.", "label": "rejection", "speaker": "Sergei Ryabkov",
             "target": "United States", "speaker_span": [0, 7], "target_span": None}]
    perfect = [{"speaker": (0, 7), "target": (15, 21)}, {"speaker": (0, 7), "target": None}]
    wrong = [{"speaker": (15, 21), "target": (0, 7)}, {"speaker": None, "target": (9, 17)}]
    good = span_report(table, recs, perfect, n_boot=0)
    bad = span_report(table, recs, wrong, n_boot=0)
    # alone, the offer's maker is unknown: the gold target is the actor, named or not
    assert good["speaker"]["actor"]["accuracy"] == 1.0 and good["target"]["actor"]["accuracy"] == 0.5
    stories = {None: StoryContext(table, ["Washington made an offer to Moscow on Monday.", "Blinken met Ryabkov."])}
    told = span_report(table, recs, perfect, resolve_sentences(table, recs, perfect, stories), n_boot=0)
    assert told["target"]["actor"]["accuracy"] == 1.0  # in its story, the other side named most
    assert good["speaker"]["exact"]["f1"] == 1.0
    assert bad["speaker"]["actor"]["accuracy"] == 0.0 and bad["target"]["actor"]["accuracy"] == 0.0


def test_article_actor_scores_count_found_stances_and_event_recall(table):
    gold = [{"label": "threat", "speaker": "Antony Blinken", "target": "Russia"},
            {"label": "demand", "speaker": "Russia", "target": "United States"},
            {"label": "rejection", "speaker": "Russia", "target": ""}]
    rows = [{"label": "threat", "speaker_actor": "United States", "target_actor": "Russia"},
            {"label": "threat", "speaker_actor": "Russia", "target_actor": "Ukraine"},
            {"label": "other", "speaker_actor": None, "target_actor": None}]
    m = article_actor_scores(table, list(zip(gold, rows)), n_gold_stance=4, n_boot=0)
    assert m["found_as_stance"] == 2
    assert m["speaker"]["actor"]["accuracy"] == 1.0 and m["target"]["actor"]["accuracy"] == 0.5
    assert m["speaker"]["event_recall"] == 0.25  # only the first has the right label too, out of 4


def test_article_dyads_and_periods():
    rows = [{"sentence_index": i, "label": lab, "speaker_actor": s, "target_actor": t, "target": m}
            for i, (lab, s, t, m) in enumerate([("threat", "Russia", "Ukraine", "Kyiv"),
                                                ("threat", "Russia", "Ukraine", None),  # inferred: no mention
                                                ("demand", "Ukraine", None, None), ("other", None, None, None)])]
    assert article_dyads(rows) == [
        {"speaker": "Russia", "target": "Ukraine", "label": "threat", "count": 2, "target_named": 1},
        {"speaker": "Ukraine", "target": None, "label": "demand", "count": 1, "target_named": 0}]
    assert period_of("2022-01-10", "week", "x") == "2022-W02"
    assert period_of("2022-01-10T08:00:00Z", "month", "x") == "2022-01"
    with pytest.raises(DataError, match="x: date '10/01/2022' is not an ISO date"):
        period_of("10/01/2022", "day", "x")
    with pytest.raises(DataError, match="x: no date"):
        period_of(None, "day", "x")


def test_aggregate_counts_dyads_across_files_by_month(tmp_path):
    def scores(path, article, date, dyads):
        rows = [{"article_id": article, "sentence_index": i, "text": f"s{i}", "label": lab, "date": date,
                 "speaker_actor": s, "target_actor": t} for i, (lab, s, t) in enumerate(dyads)]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path

    a = scores(tmp_path / "a.jsonl", "a1", "2022-01-10", [("threat", "Russia", "Ukraine"), ("other", None, None)])
    b = scores(tmp_path / "b.jsonl", "b1", "2022-01-20", [("threat", "Russia", "Ukraine")])
    c = scores(tmp_path / "c.jsonl", "c1", "2022-02-02", [("threat", "Russia", "Ukraine")])
    items = aggregate([a, b, c], by="month")
    assert [(i["period"], i["count"], i["articles"]) for i in items] == [("2022-01", 2, 2), ("2022-02", 1, 1)]
    assert [i["target_named"] for i in items] == [0, 0]  # no row names its target
    assert aggregate([a, b, c])[0]["count"] == 3
    out = write_dyads(items, tmp_path / "dyads.csv")
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("period,speaker,target,label,count,target_named")
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"article_id": "x", "sentence_index": 0, "label": "threat"}) + "\n")
    with pytest.raises(DataError, match="no speaker_actor column"):
        aggregate([plain])


# ---- the tagger, trained and used through the commands (tiny random encoder: behaviour, not accuracy) ----

def test_training_with_actors_saves_the_tagger_and_a_copy_of_the_table(actor_run):
    run, _ = actor_run
    assert (run / "model" / "actors" / "actors.yaml").read_text(encoding="utf-8") == TABLE
    assert (run / "model" / "actors" / "tagger.json").is_file()
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["actors"]["dev"]) == {"tagger", "tagger_in_story", "rule_baseline"}  # dev records have groups
    card = (run / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "speaker actor accuracy" in card and "in its story" in card
    assert not (run / "checkpoints-actors").exists()
    encoder = json.loads(next((run / "model" / "actors").rglob("config.json")).read_text(encoding="utf-8"))
    assert encoder["num_hidden_layers"] == 1 and encoder["hidden_dropout_prob"] == 0.0  # actor_layers, hidden_dropout
    assert encoder["attention_probs_dropout_prob"] == 0.0


def test_encoder_settings_are_checked_against_the_encoder(tiny_bert):
    from communique.models.encoders import encoder_settings

    assert encoder_settings(str(tiny_bert)) == {}
    assert encoder_settings(str(tiny_bert), 0.0, 0.05, 1) == {
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.05, "num_hidden_layers": 1}
    with pytest.raises(ConfigError, match="model.layers: 3, but the encoder has only 2 layers"):
        encoder_settings(str(tiny_bert), layers=3)
    with pytest.raises(ConfigError, match="model.actor_layers: 3, but the encoder has only 2 layers"):
        encoder_settings(str(tiny_bert), layers=3, layers_key="actor_layers")


def test_a_setting_the_encoder_does_not_have_is_refused(tmp_path):
    from transformers import GPT2Config

    from communique.models.encoders import encoder_settings

    GPT2Config(n_layer=1, n_embd=8, n_head=2).save_pretrained(tmp_path)  # dropout under names of its own
    with pytest.raises(ConfigError, match="model.hidden_dropout: GPT2Config has no such setting"):
        encoder_settings(str(tmp_path), hidden_dropout=0.0)
    assert encoder_settings(str(tmp_path), layers=1) == {"num_hidden_layers": 1}  # its layer count is mapped


def test_tagger_spans_are_whole_words_inside_the_text(actor_run):
    from communique.models import load_model

    model = load_model(actor_run[0])
    texts = ["Moscow pledged it would not attack Kyiv.", "Washington's envoy demanded an immediate ceasefire."]
    for text, found in zip(texts, model.actors_.tagger.spans(texts)):
        assert set(found) == {"speaker", "target"}
        for span in found.values():
            if span is not None:
                s, e = span
                assert 0 <= s < e <= len(text)
                assert (s == 0 or not text[s - 1].isalnum()) and (e == len(text) or not text[e].isalnum())


def test_the_tagger_follows_the_onnx_runtimes_in_fp32(actor_run, tmp_path):
    """``--runtime onnx`` and ``onnx-int8`` reach the tagger: the same tag probabilities as torch, from an
    fp32 ONNX export beside the tagger's weights (never int8)."""
    pytest.importorskip("onnxruntime")
    import shutil

    import numpy as np

    from communique.models import load_model, set_inference

    shutil.copytree(actor_run[0], tmp_path / "run")
    model = load_model(tmp_path / "run", precision="fp32")
    tagger = model.actors_.tagger
    texts = ["Moscow pledged it would not attack Kyiv.", "Washington's envoy demanded an immediate ceasefire.",
             "The union refused the offer on Friday."]
    ref = tagger.tag_probs(texts)
    for runtime in ("onnx", "onnx-int8"):
        set_inference(model, runtime=runtime)
        assert tagger.runtime == runtime
        for (p, offsets), (p_ref, offsets_ref) in zip(tagger.tag_probs(texts), ref):
            assert offsets == offsets_ref and np.allclose(p, p_ref, atol=1e-5)
    assert [f.name for f in (tmp_path / "run/model/actors/onnx").iterdir()] == ["model.onnx"]
    set_inference(model, runtime="torch")
    assert tagger.runtime == "torch" and np.allclose(tagger.tag_probs(texts)[0][0], ref[0][0])


def test_score_with_actors_adds_the_columns_and_the_summary_dyads(actor_run, tmp_path):
    from communique.actors import ACTOR_COLUMNS
    from communique.score import score

    run, _ = actor_run
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "a1", "date": "2022-01-10", "speaker": "kept from the input",
                               "text": "Moscow warned Kyiv of a crushing response. Talks were held on Monday."}) + "\n",
                   encoding="utf-8")
    out, summary = tmp_path / "scores.jsonl", tmp_path / "summary.jsonl"
    score([str(inp)], run, out, summary=summary, progress=False)
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    for r in rows:
        assert set(ACTOR_COLUMNS) <= set(r)
        assert r["input_speaker"] == "kept from the input"
        if r["label"] == "other":
            assert all(r[c] is None for c in ACTOR_COLUMNS)
        elif r["speaker"] is not None:  # offsets are in the article and point at the mention
            assert r["text"][r["speaker_start"] - r["start"]:r["speaker_end"] - r["start"]] == r["speaker"]
    item = json.loads(summary.read_text(encoding="utf-8"))
    stance = [r for r in rows if r["speaker_actor"]]
    assert sum(d["count"] for d in item["dyads"]) == len(stance)


def test_stance_only_scoring_leaves_the_tagger_unloaded_and_the_labels_unchanged(actor_run, tmp_path, monkeypatch):
    from communique import actors
    from communique.cli import main
    from communique.models import load_model

    run, _ = actor_run
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "a1", "text": "Moscow warned Kyiv of a crushing response. Talks were held."}) + "\n",
                   encoding="utf-8")
    assert main(["score", str(inp), "--model", str(run), "--out", str(tmp_path / "all.jsonl"),
                 "--summary", str(tmp_path / "all.summary.jsonl")]) == 0
    assert load_model(run, actors=False).actors_ is None
    monkeypatch.setattr(actors.Actors, "load", lambda *a, **k: pytest.fail("the tagger was loaded"))
    assert main(["score", str(inp), "--model", str(run), "--out", str(tmp_path / "stance.jsonl"), "--stance-only",
                 "--summary", str(tmp_path / "stance.summary.jsonl")]) == 0
    full, stance = ([json.loads(x) for x in (tmp_path / n).read_text(encoding="utf-8").splitlines()]
                    for n in ("all.jsonl", "stance.jsonl"))
    assert "speaker_actor" in full[0] and "speaker_actor" not in stance[0]
    assert [r["label"] for r in stance] == [r["label"] for r in full]
    assert "dyads" not in json.loads((tmp_path / "stance.summary.jsonl").read_text(encoding="utf-8"))


def test_bf16_tagging_tags_close_calls_again_in_fp32(actor_run, monkeypatch):
    import numpy as np

    from communique.actors import tagger as tagging
    from communique.models import load_model

    tagger = load_model(actor_run[0]).actors_.tagger
    texts = ["Moscow warned Kyiv of a crushing response.", "The union said it would strike on Monday.",
             "Officials in Nairobi rejected the call for talks, saying the rebels had broken every truce."]
    tagger.precision = "fp32"
    fp32 = tagger.tag_probs(texts)
    tagger.precision = "bf16"
    monkeypatch.setattr(tagging, "RECHECK_GAP", 0.0)  # bf16 alone
    alone = tagger.tag_probs(texts)
    assert not all(np.allclose(a[0], b[0], rtol=0, atol=1e-6) for a, b in zip(fp32, alone))
    monkeypatch.setattr(tagging, "RECHECK_GAP", float("inf"))  # every sentence is a close call: all in fp32
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(fp32, tagger.tag_probs(texts)))
    gaps = [tagging._closest(p, o) for p, o in alone]
    monkeypatch.setattr(tagging, "RECHECK_GAP", sorted(gaps)[1])  # the closest call alone goes to fp32
    mixed = tagger.tag_probs(texts)
    for i, gap in enumerate(gaps):  # fp32 again, padded to its own length: equal up to float rounding
        if gap < sorted(gaps)[1]:
            np.testing.assert_allclose(mixed[i][0], fp32[i][0], rtol=0, atol=1e-5)
        else:
            assert np.array_equal(mixed[i][0], alone[i][0])


def test_dyads_command_and_evaluate_report_actors(actor_run, tmp_path):
    from communique.cli import main
    from communique.evaluate import evaluate

    run, files = actor_run
    scores = tmp_path / "s.jsonl"
    rows = [{"article_id": "a", "sentence_index": 0, "text": "x", "label": "threat", "date": "2022-03-04",
             "speaker_actor": "Russia", "target_actor": "Ukraine"}]
    scores.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["dyads", str(scores), "--out", str(tmp_path / "d.jsonl"), "--by", "week"]) == 0
    assert json.loads((tmp_path / "d.jsonl").read_text())["period"] == "2022-W09"
    assert main(["dyads", str(scores), "--out", str(tmp_path / "d.jsonl")]) == 2  # exists: needs --force
    result = evaluate(run, n_boot=10)
    rep = result["actors"]["tagger"]
    n_stance = sum(1 for line in files["test"].read_text().splitlines() if json.loads(line)["label"] != "other")
    assert rep["sentences"] == n_stance and rep["speaker"]["actor"]["n"] == n_stance
    # every tiny stance sentence opens with its speaker; the baseline finds those the table knows ("Moscow"...)
    base = result["actors"]["rule_baseline"]["speaker"]
    assert 0.0 < base["exact"]["precision"] <= 1.0 and base["actor"]["n"] == n_stance


def test_without_actors_scores_have_no_actor_columns(tiny_data, tmp_path):
    from conftest import tiny_config

    from communique.score import score
    from communique.train import train

    run = train(tiny_config(tiny_data, "tfidf"), out_dir=tmp_path / "run")
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "a1", "text": "Moscow warned Kyiv of a crushing response."}) + "\n")
    score([str(inp)], run, tmp_path / "s.jsonl", summary=tmp_path / "sum.jsonl", progress=False)
    row = json.loads((tmp_path / "s.jsonl").read_text().splitlines()[0])
    assert "speaker_actor" not in row and "dyads" not in json.loads((tmp_path / "sum.jsonl").read_text())


def test_a_span_outside_its_text_stops_training_with_file_and_line(tmp_path, tiny_bert):
    from conftest import make_records, write_jsonl

    from communique.config import config_from_dict
    from communique.train import train

    table = tmp_path / "actors.yaml"
    table.write_text(TABLE, encoding="utf-8")
    recs = _with_spans(make_records("tr"))
    recs[0]["speaker_span"] = [0, 500]
    train_file = write_jsonl(tmp_path / "train.jsonl", recs)
    cfg = config_from_dict({"model": {"family": "tfidf", "actors": True, "actor_table": str(table)},
                            "data": {"train": [str(train_file)], "dev": [str(train_file)], "challenge": "",
                                     "articles": ""}})
    with pytest.raises(DataError, match=r"train.jsonl:1: speaker_span: span \[0, 500\] is not \[start, end\)"):
        train(cfg, out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_pairs_surnames_and_datelines(table):
    from communique.actors.tagger import _dateline, _word_bounds

    res = ArticleResolver(table)
    text = "Blinken met Ryabkov in Geneva on Monday."
    res.see(text, 0)
    spk, tgt = res.stance("Both sides agreed to keep talking.", 50, (0, 10), None)
    assert spk.actor == "Russia; United States"  # "both sides": the last two sides named
    unknown = ActorTable.from_dict({"actors": {"Julie Su": {"type": "individual", "side": "US"},
                                               "US": {"type": "state"}}})
    res = ArticleResolver(unknown)
    res.see("Acting Labor Secretary Julie Su joined the talks.", 0)
    spk, _ = res.stance("Ms. Su urged both sides to settle.", 60, (0, 6), None)
    assert spk.actor == "US"  # the surname of the person named earlier in the article
    family_first = ActorTable.from_dict({"actors": {"Lai Ching-te": {"type": "individual", "side": "Taiwan"},
                                                    "Taiwan": {"type": "state"}, "China": {"type": "state"},
                                                    "Hu Jintao": {"type": "individual", "side": "China"}}})
    headline = "Lai offers talks if Beijing drops its threats"
    story = StoryContext(family_first, [headline, "China staged drills on Monday.", "China said it would respond.",
                                        "President Lai Ching-te spoke in Taipei on Tuesday."])
    spk, _ = ArticleResolver(family_first, story).stance(headline, 0, (0, 3), None)
    assert spk.actor == "Taiwan"  # named in full only later in the story, family name first
    assert ArticleResolver(family_first).stance(headline, 0, (0, 3), None)[0].actor == "Lai"  # no story: unknown
    two = StoryContext(family_first, [headline, "Lai Ching-te met Hu Jintao.", "Hu Lai was there."])
    assert ArticleResolver(family_first, two).stance("Hu rejected it.", 0, (0, 2), None)[0].actor == "China"
    lead = "ABUJA, July 30 - West African leaders gave the junta a week."
    assert _dateline(lead, (0, 5)) and not _dateline(lead, (16, 34))
    agency = "PRETORIA, Oct. 28 (Meridian Africa Wire) — Tigrayan negotiators called for talks."
    wire = agency.index("Wire")
    assert _dateline(agency, (wire, wire + 4)) and not _dateline(agency, (agency.index("Tigrayan"), wire + 20))
    assert _word_bounds("the U.S. said", 4, 6) == (4, 8)  # an abbreviation is never cut after its first dot
    glued = ActorTable.from_dict({"actors": {"Guy Philippe": {"type": "individual", "aliases": ["Philippe"]}}})
    assert not glued.resolve("union leader Philippe Martinez").known  # "Philippe" is part of another name
    assert glued.resolve("President Philippe").actor == "Guy Philippe"



def test_the_head_of_a_mention_decides_which_name_it_is():
    t = ActorTable.from_dict({"actors": {
        "Ukraine": {"type": "state", "aliases": ["Ukrainian"]}, "Slovakia": {"type": "state", "aliases": ["Slovak"]},
        "Naftogaz": {"type": "state", "side": "Ukraine"}, "Eustream": {"type": "non-state"},
        "ELN": {"type": "non-state"}, "FARC": {"type": "non-state"}, "Mali": {"type": "state"},
        "Pablo Catatumbo": {"type": "individual", "side": "FARC", "aliases": ["Catatumbo"]},
        "United Nations": {"type": "international", "aliases": ["UN", "U.N."]},
        "UNHCR": {"type": "international", "side": "United Nations"},
        "Filippo Grandi": {"type": "individual", "side": "UNHCR"}, "Russia": {"type": "state"},
        "People's Alliance for Democracy": {"type": "non-state"}}})
    # a name that ends the head is what the mention names; the names before it modify it
    assert t.resolve("Ukraine's Naftogaz").actor == "Naftogaz"
    assert t.resolve("Slovak pipeline operator Eustream").actor == "Eustream"
    # what follows a preposition qualifies the head: not Pablo Catatumbo, though he is a person
    assert t.resolve("ELN commanders in Catatumbo").actor == "ELN"
    # a head that ends in a role noun keeps its first name; a head naming no one leaves the whole mention
    assert t.resolve("Russia's UN envoy").actor == "Russia"
    assert t.resolve("the government of Mali").actor == "Mali"
    # a person who ends the mention is named in apposition to titles, prepositions in them included
    assert t.resolve("U.N. High Commissioner for Refugees Filippo Grandi").actor == "Filippo Grandi"
    # a possessive inside a name does not stop it matching
    assert t.resolve("leader of the People's Alliance for Democracy").actor == "People's Alliance for Democracy"

def test_aggregate_takes_dates_from_metadata(tmp_path):
    rows = [{"article_id": "a1", "sentence_index": 0, "text": "s", "label": "demand", "speaker_actor": "EU",
             "target_actor": "Serbia"}]
    scores = tmp_path / "s.jsonl"
    scores.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    meta = tmp_path / "meta.csv"
    meta.write_text("article_id,date\na1,2023-05-31\n", encoding="utf-8")
    assert aggregate([scores], by="month", metadata=meta)[0]["period"] == "2023-05"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,date\na1,2023-05-31\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.csv: no column article_id"):
        aggregate([scores], by="month", metadata=bad)
    with pytest.raises(DataError, match="s.jsonl row 1 \\(article a1\\): no date"):
        aggregate([scores], by="month")


def test_predict_with_actors_names_speaker_and_target(actor_run):
    from communique.predict import predict

    rows = predict(actor_run[0], ["Moscow warned Kyiv of a crushing response.", "Talks were held on Monday."])
    for r in rows:
        assert {"speaker", "speaker_actor", "target", "target_actor"} <= set(r)
        assert "article_id" not in r and "sentence_index" not in r
        if r["label"] == "other":
            assert r["speaker_actor"] is None
        if r["speaker"] is not None:
            assert r["text"][r["speaker_start"]:r["speaker_end"]] == r["speaker"]


def test_a_shared_encoder_trains_stance_and_spans_once_and_saves_both(tmp_path, tiny_bert, monkeypatch):
    """``actor_encoder: shared``: one Trainer run; the saved tagger's encoder is the stance model's own
    trained encoder (not the pretrained one), its head learned the span tags, and it loads as any tagger."""
    import torch
    import transformers
    from conftest import ACTOR_TABLE, make_records, with_spans, write_jsonl

    from communique.config import config_from_dict
    from communique.models import load_model
    from communique.train import train

    runs = []
    real_train = transformers.Trainer.train
    monkeypatch.setattr(transformers.Trainer, "train", lambda self, *a, **k: runs.append(1) or real_train(self, *a, **k))
    (tmp_path / "actors.yaml").write_text(ACTOR_TABLE, encoding="utf-8")
    files = {name: write_jsonl(tmp_path / f"{name}.jsonl", with_spans(make_records(prefix, groups, name)))
             for name, prefix, groups in (("train", "tr", ("alpha", "beta")), ("dev", "dv", ("gamma", "delta")))}
    cfg = config_from_dict({
        "model": {"family": "transformer", "pretrained": str(tiny_bert), "max_length": 32, "actors": True,
                  "actor_encoder": "shared", "actor_table": str(tmp_path / "actors.yaml")},
        "data": {"train": [str(files["train"])], "dev": [str(files["dev"])], "test": [], "challenge": "",
                 "articles": ""},
        "training": {"epochs": 3, "batch_size": 8, "seed": 0, "learning_rate": 1e-3}})
    run = train(cfg, out_dir=tmp_path / "run")
    assert runs == [1]  # one training for both heads
    model = load_model(run)
    stance_enc = model.model_.base_model.state_dict()
    tag_enc = model.actors_.tagger.model_.base_model.state_dict()
    pretrained = transformers.AutoModel.from_pretrained(tiny_bert).state_dict()
    assert set(tag_enc) <= set(stance_enc)
    assert all(torch.equal(tag_enc[k], stance_enc[k]) for k in tag_enc)
    assert not torch.equal(tag_enc["encoder.layer.0.attention.self.query.weight"],
                           pretrained["encoder.layer.0.attention.self.query.weight"])
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["actors"]["training"]["shared_encoder"] is True
    assert 0.0 <= metrics["actors"]["training"]["best_tag_f1"] <= 1.0
    assert not (run / "checkpoints").exists() and not (run / "checkpoints-actors").exists()
    assert "A span-tag head on the stance encoder" in (run / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_the_joint_loss_is_stance_plus_span_tags_and_only_stance_without_tags(tiny_bert):
    import torch
    from transformers import AutoModelForSequenceClassification

    from communique.models import joint

    torch.manual_seed(0)
    stance = AutoModelForSequenceClassification.from_pretrained(tiny_bert, num_labels=5, ignore_mismatched_sizes=True)
    module, _tokens = joint.build(stance, str(tiny_bert))
    module.eval()  # no dropout: the same logits in every call
    ids = torch.tensor([[101, 2000, 2001, 2002, 102], [101, 2003, 2004, 102, 0]])
    mask = (ids != 0).long()
    labels = torch.tensor([1, 4])
    tags = torch.tensor([[-100, 1, 2, 0, -100], [-100, -100, -100, -100, -100]])  # the second row: an "other"
    out = module(input_ids=ids, attention_mask=mask, labels=labels, tag_labels=tags)
    stance_ce = torch.nn.functional.cross_entropy(out["logits"].float(), labels)
    kept = tags.reshape(-1) != -100
    tag_ce = torch.nn.functional.cross_entropy(out["tag_logits"].reshape(-1, 5)[kept].float(), tags.reshape(-1)[kept])
    assert torch.allclose(out["loss"], stance_ce + tag_ce)
    only_other = module(input_ids=ids, attention_mask=mask, labels=labels, tag_labels=torch.full_like(tags, -100))
    assert torch.allclose(only_other["loss"], stance_ce)  # no tags in the batch: no NaN, stance loss alone
    assert out["tag_logits"].shape == (2, 5, 5)


@pytest.mark.parametrize("model, message", [
    ({"family": "tfidf", "actors": True, "actor_encoder": "shared"}, "needs family 'transformer'"),
    ({"family": "transformer", "actors": True, "actor_encoder": "shared", "actor_layers": 3},
     "model.actor_layers is set but a shared encoder is the stance encoder"),
    ({"family": "transformer", "actors": True, "actor_encoder": "shared", "actor_epochs": 2},
     "a shared encoder trains for training.epochs"),
])
def test_a_shared_encoder_is_refused_where_it_cannot_apply(model, message):
    from communique.config import config_from_dict
    from communique.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_dict({"model": model})


def test_a_group_that_a_state_name_only_qualifies_is_a_role_not_the_state():
    table = ActorTable.from_dict({"actors": {"Ukraine": {"type": "state", "aliases": ["Kyiv", "Ukrainian"]},
                                             "Dockers' Union": {"type": "non-state"}}})
    text = "The Dockers' Union struck in Kyiv on Monday. Ukraine's unions will not return to work, a leader said."
    res = ArticleResolver(table)
    res.see(text, 0)
    at = text.index("Ukraine's unions")
    spk, _ = res.stance(text, 0, (at, at + len("Ukraine's unions")), None)
    assert spk.actor == "Dockers' Union"  # the union named before, not Ukraine, named nearer
    for mention, side in (("Ukraine's unions", "Ukraine's unions"), ("Ukraine's government", "Ukraine"),
                          ("Ukrainian diplomats", "Ukraine")):
        alone = ArticleResolver(table)
        alone.see("Kyiv said so. " + mention, 0)  # only a state named before: a union keeps its own text
        assert alone.stance(mention, 14, (0, len(mention)), None)[0].actor == side, mention


def test_common_words_descriptions_offices_and_particles():
    t = ActorTable.from_dict({"actors": {
        "Labour Party": {"type": "non-state", "aliases": ["Labour"]},
        "Oil companies": {"type": "non-state"},
        "Colombia": {"type": "state", "aliases": ["Bogota"]}, "Bulgaria": {"type": "state", "aliases": ["Sofia"]},
        "North Macedonia": {"type": "state", "aliases": ["Skopje"]},
        "FARC dissidents": {"type": "non-state"}, "ELN": {"type": "non-state"},
        "Sadiq al-Kabir": {"type": "individual", "side": "Central Bank of Libya"},
        "Central Bank of Libya": {"type": "state"}}})
    # a one-word name with a capital is a common word in lower case; a longer name matches in any case
    assert [a.name for _, _, a in t.find_all("The labour ministry met Labour on Monday.")] == ["Labour Party"]
    assert not t.resolve("labour unions").known and t.resolve("Labour").actor == "Labour Party"
    assert t.resolve("oil companies").actor == "Oil companies"
    # an unknown mention whose head noun ends a name the story gives: "the dissidents" are the FARC dissidents
    story = StoryContext(t, ["FARC dissidents attacked a base.", "Bogota blamed the ELN."])
    res = ArticleResolver(t, story)
    text = "Petro said the army would go after the dissidents."
    at = text.index("the dissidents")
    assert res.stance(text, 0, (0, 5), (at, len(text) - 1))[1].actor == "FARC dissidents"
    assert ArticleResolver(t).stance(text, 0, (0, 5), (at, len(text) - 1))[1].actor == "dissidents"  # no story
    # a minister the table does not know speaks for a state: the one the target is not
    bilateral = StoryContext(t, ["Skopje and Sofia traded blame.", "Skopje said no.", "Skopje and Sofia waited."])
    text = "Foreign Minister Teodora Genchovska warned Skopje that Bulgaria would keep its veto."
    spk, tgt = ArticleResolver(t, bilateral).stance(text, 0, (0, 35), (43, 49))
    assert (spk.actor, tgt.actor) == ("Bulgaria", "North Macedonia")
    former = "Former President John Mahama pledged to repeal it."
    assert ArticleResolver(t, bilateral).stance(former, 0, (0, 28), None)[0].actor == "Former President John Mahama"
    # a surname without its Arabic article
    story = StoryContext(t, ["Sadiq al-Kabir left Tripoli.", "The bank closed."])
    assert ArticleResolver(t, story).stance("Kabir refused.", 0, (0, 5), None)[0].actor == "Central Bank of Libya"


def test_a_named_target_keeps_its_side_when_an_inferred_speaker_collides_with_it():
    t = ActorTable.from_dict({"actors": {"Lebanon": {"type": "state", "aliases": ["Lebanese army", "Beirut"]},
                                         "UNIFIL": {"type": "international"}, "Israel": {"type": "state"}}})
    story = StoryContext(t, ["Beirut asked UNIFIL to stay.", "Beirut thanked UNIFIL.", "UNIFIL patrols went on.",
                             "Israel said nothing."])
    text = "A spokesman said the force would keep supporting the Lebanese army."
    at = text.index("the Lebanese army")
    spk, tgt = ArticleResolver(t, story).stance(text, 0, (0, 11), (at, len(text) - 1))
    assert (spk.actor, tgt.actor) == ("UNIFIL", "Lebanon")  # not Lebanon speaking to an implied Israel
    # two named actors on one side: the target is the wrong mention, as before
    both = "Beirut told the Lebanese army to hold."
    spk, tgt = ArticleResolver(t, story).stance(both, 0, (0, 6), (12, 29))
    assert (spk.actor, tgt.text) == ("Lebanon", None)


def test_a_person_the_table_lacks_takes_the_group_the_story_gives_them_a_post_in():
    table = ActorTable.from_dict({"actors": {"GDL": {"type": "non-state"}, "Germany": {"type": "state"},
                                             "Iran": {"type": "state", "aliases": ["Iranian"]},
                                             "United Kingdom": {"type": "state", "aliases": ["British"]}}})
    story = StoryContext(table, ["GDL leader Claus Weselsky called a six-day strike on Monday.",
                                 "Weselsky threatened to extend the strike.",
                                 "Iranian officials told Geoffrey Adams, the British ambassador, to leave.",
                                 "Adams rejected the demand.", "Germany said the talks would go on."])

    def speaker(text, end):
        return ArticleResolver(table, story).stance(text, 0, (0, end), None)[0].actor

    assert speaker("Weselsky threatened to extend the strike.", 8) == "GDL"  # "GDL leader Claus Weselsky"
    assert speaker("Adams rejected the demand.", 5) == "United Kingdom"  # ", the British ambassador" after the name
    assert story.affiliated("Adams").side == story.affiliated("Geoffrey Adams").side == "United Kingdom"
    assert story.affiliated("GDL") is None  # an acronym names a body, not a person
    union = StoryContext(table, ["Claus Weselsky, secretary-general of the GDL, spoke on Monday."])
    assert union.affiliated("Weselsky").side == "GDL"  # an apposition with "of" after the name
    # "officials told" gives no post: the Iranians are not the ambassador's side
    told = StoryContext(table, ["Iranian officials told Geoffrey Adams to leave.", "Adams rejected the demand."])
    assert told.affiliated("Adams") is None
