"""The annotation loop end to end: score → sample → (simulated) labelling → import → train again."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from communique.annotation import candidates, import_labels, sample, write_tasks
from communique.cli import main
from communique.corpus import FIELDS, near_duplicates
from communique.errors import DataError
from communique.labels import LABELS
from conftest import tiny_config, write_jsonl

ARTICLES = {
    "harbour": "Port talks stall over fishing rights\n\nBy Staff Reporter\n\n"
               "The coastal republic pledged to protect foreign trawlers inside its waters this season. "
               "Its navy chief warned that any boat entering the closed zone would be seized. "
               "Neighbouring governments urged the republic to reopen the harbour before the winter storms. "
               "The fisheries ministry dismissed the complaint as an attempt to meddle in domestic affairs. "
               "Catches of cod fell sharply across the region during the last decade.\n",
    "pipeline": "The energy minister promised that gas deliveries to the island would continue through the dispute. "
                "Opposition leaders demanded a public inquiry into the pipeline contract. "
                "The state company rejected claims that it had overcharged its customers. "
                "Rebel commanders threatened to blow up the pumping station unless their fighters were paid. "
                "Engineers inspected the damaged valves on Thursday morning.\n",
    "border": "Both armies held a joint exercise near the mountain pass last spring. "
              "The foreign secretary assured villagers that no troops would be stationed in their valley. "
              "Farmers insisted that the authorities compensate them for the lost harvest. "
              "The defence ministry refused to disclose how many soldiers guard the frontier. "
              "Officials warned of severe consequences if smugglers kept using the old tunnels.\n",
    "summit": "Trade ministers gathered in the capital for a two-day summit on tariffs. "
              "The bloc offered to cut duties on steel if the other side lifted its ban on grain. "
              "Exporters called on both delegations to settle the quarrel before the harvest season. "
              "The premier ruled out any change to the subsidy scheme for car makers. "
              "A spokesman said retaliation against the new levies would be swift and painful. "
              "Markets closed slightly higher after the first day of negotiations.\n",
}


@pytest.fixture(scope="module")
def scores(tiny_data, tmp_path_factory):
    """A tiny TF-IDF run's scores for four short articles (one headline and one byline among them)."""
    from communique import score, train

    d = tmp_path_factory.mktemp("annotate")
    run = train(tiny_config(tiny_data, "tfidf"), out_dir=d / "run")
    articles = d / "articles"
    articles.mkdir()
    for name, text in ARTICLES.items():
        (articles / f"{name}.txt").write_text(text, encoding="utf-8")
    out = d / "scores.jsonl"
    score([str(articles)], run, out)
    return out


def test_candidates_are_scored_sentences_of_corpus_length(scores):
    rows = [json.loads(line) for line in scores.read_text().splitlines()]
    assert {r["status"] for r in rows} >= {"ok", "furniture"}  # the byline is furniture: never sampled
    cands = candidates([scores])
    assert len(cands) == sum(r["status"] == "ok" and 5 <= len(r["text"].split()) <= 70 for r in rows)
    assert "By Staff Reporter" not in set(cands["text"])


@pytest.mark.parametrize("strategy", ["uncertainty", "margin", "entropy", "random"])
def test_sample_strategies(scores, strategy):
    picks = sample([scores], 8, strategy=strategy, seed=1)
    assert len(picks) == 8 and set(picks["strategy"]) == {strategy}
    assert max(Counter(picks["article_id"]).values()) <= 3
    assert list(picks["article_id"][:4].sort_values()) == sorted(ARTICLES)  # round-robin: every article first
    assert not near_duplicates(list(picks["text"]))
    if strategy != "random":  # the first pick is the most informative sentence of all
        assert picks["priority"][0] == pytest.approx(max(sample([scores], 100, strategy=strategy)["priority"]))
    else:
        assert list(sample([scores], 8, strategy="random", seed=1)["text"]) == list(picks["text"])


def test_per_label_and_diverse(scores):
    balanced = sample([scores], 10, strategy="margin", per_label=True)
    assert Counter(balanced["predicted"]) == dict.fromkeys(LABELS, 2)
    diverse = sample([scores], 12, strategy="margin", diverse=True)
    pairs = list(zip(diverse["article_id"], diverse["predicted"]))
    assert len(set(pairs)) == len(pairs)  # never the same predicted label twice from one article
    assert len(set(diverse["predicted"])) == len(LABELS)
    assert max(Counter(sample([scores], 8, max_per_article=1)["article_id"]).values()) == 1


def test_task_formats(scores, tmp_path):
    picks = sample([scores], 6, strategy="entropy")
    ls, config = write_tasks(picks, "label-studio", tmp_path / "tasks.json")
    tasks = json.loads(ls.read_text())
    assert [t["data"]["text"] for t in tasks] == list(picks["text"])
    result = tasks[0]["predictions"][0]["result"][0]
    assert result == {"from_name": "label", "to_name": "text", "type": "choices",
                      "value": {"choices": [picks["predicted"][0]]}}
    assert tasks[0]["data"]["article_id"] in ARTICLES and "sentence_index" in tasks[0]["data"]
    view = ET.fromstring(config.read_text())
    label = view.find("Choices[@name='label']")
    assert label.get("toName") == "text" and [c.get("value") for c in label] == list(LABELS)

    (doccano,) = write_tasks(picks, "doccano", tmp_path / "tasks.jsonl")
    first = json.loads(doccano.read_text().splitlines()[0])
    assert first["label"] == [picks["predicted"][0]] and first["meta"]["article_id"] == picks["article_id"][0]

    (table,) = write_tasks(picks, "csv", tmp_path / "tasks.csv")
    rows = list(csv.DictReader(table.open()))
    assert rows[0]["id"] == f"{picks['article_id'][0]}:{picks['sentence_index'][0]}" and rows[0]["label"] == ""
    assert rows[0]["predicted"] == picks["predicted"][0]


def label_studio_labelled(path, gold):
    """What a Label Studio JSON export looks like after labelling: annotations beside the predictions."""
    tasks = json.loads(path.read_text())
    for k, task in enumerate(tasks):
        task["id"] = 100 + k
        label = gold(k, task["data"]["predicted"])
        if label is not None:
            task["annotations"] = [{"id": 500 + k, "completed_by": 1, "was_cancelled": False, "result": [
                {"id": f"r{k}", "from_name": "label", "to_name": "text", "type": "choices", "origin": "manual",
                 "value": {"choices": [label]}}]}]
    path.write_text(json.dumps(tasks))
    return path


def test_loop_end_to_end(scores, tiny_data, tmp_path, capsys):
    from communique import train

    train_file = str(tiny_data["train"])
    # Label Studio: sample, label all but the last task (one relabelled), import
    assert main(["sample", str(scores), "--n", "8", "--strategy", "margin", "--format", "label-studio",
                 "--out", str(tmp_path / "ls.json")]) == 0
    assert "8 sentences from 4 articles" in capsys.readouterr().out
    assert (tmp_path / "ls.label-config.xml").is_file()
    label_studio_labelled(tmp_path / "ls.json", lambda k, pred: None if k == 7 else "other" if k == 0 else pred)
    assert main(["import", str(tmp_path / "ls.json"), "--format", "label-studio", "--group", "my-news",
                 "--out", str(tmp_path / "ls-batch.jsonl"), "--against", train_file]) == 0
    printed = capsys.readouterr().out
    assert "7 records" in printed and "1 unlabelled skipped" in printed
    batch = [json.loads(line) for line in (tmp_path / "ls-batch.jsonl").read_text().splitlines()]
    assert [r["id"] for r in batch] == [f"my-news-{k:03d}" for k in range(1, 8)]
    assert all(list(r) == list(FIELDS) for r in batch) and batch[0]["label"] == "other"
    assert {(r["voice"], tuple(r["tags"]), r["speaker"], r["group"]) for r in batch} == {
        ("reported", ("plain",), "", "my-news")}

    # doccano: the prediction is pre-filled; the annotator changes one
    assert main(["sample", str(scores), "--n", "6", "--strategy", "entropy", "--per-label", "--format", "doccano",
                 "--out", str(tmp_path / "dc.jsonl")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "dc.jsonl").read_text().splitlines()]
    lines[0]["label"] = ["rejection"]
    write_jsonl(tmp_path / "dc.jsonl", lines)
    dc = import_labels(tmp_path / "dc.jsonl", "doccano", "my-news-dc", tmp_path / "dc-batch.jsonl",
                       against=[train_file])
    assert dc["records"] == 6 and dc["skipped"] == 0 and dc["labels"]["rejection"] >= 1

    # CSV: fill the label column (and an `also`) for all but one row
    assert main(["sample", str(scores), "--n", "5", "--strategy", "random", "--diverse", "--format", "csv",
                 "--out", str(tmp_path / "sheet.csv"), "--seed", "3"]) == 0
    rows = list(csv.DictReader((tmp_path / "sheet.csv").open()))
    for k, row in enumerate(rows):
        row["label"] = "" if k == 4 else row["predicted"].upper()  # spreadsheets capitalise
    rows[0]["also"] = "other" if rows[0]["predicted"] != "other" else "threat"
    with (tmp_path / "sheet.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    sheet = import_labels(tmp_path / "sheet.csv", "csv", "my-news-csv", tmp_path / "csv-batch.jsonl",
                          against=[train_file])
    assert sheet["records"] == 4 and sheet["skipped"] == 1
    first = json.loads((tmp_path / "csv-batch.jsonl").read_text().splitlines()[0])
    assert first["label"] == rows[0]["predicted"] and first["also"] == [rows[0]["also"]]

    # the new batches train a new run
    cfg = tiny_config(tiny_data, "tfidf")
    cfg.data.train = [train_file, *(str(tmp_path / f) for f in ("ls-batch.jsonl", "dc-batch.jsonl", "csv-batch.jsonl"))]
    run = train(cfg, out_dir=tmp_path / "run2")
    assert json.loads((run / "env.json").read_text())["status"] == "finished"
    assert json.loads((run / "metrics.json").read_text())["data"]["train"] == 30 + 7 + 6 + 4


def test_problems_are_reported_with_record_numbers(tiny_data, tmp_path, capsys):
    train_file = tiny_data["train"]
    fresh = "The harbour master promised to keep the northern channel open all winter."
    tasks = [{"text": fresh, "label": "assurance"},
             {"text": "The admiral vowed to sink any blockade runner near the reef.", "label": "thret"},
             {"text": "The council demanded an immediate withdrawal.", "label": "demand"},  # in train.jsonl
             {"text": fresh.replace("winter", "year"), "label": "assurance"},  # record 1 again
             {"text": "Talks resumed today.", "label": "other"},  # 3 words
             {"text": "Officials met the envoy in a hotel by the lake on Sunday.", "label": ""}]  # unlabelled
    export = tmp_path / "export.json"  # Label Studio's JSON-MIN export
    export.write_text(json.dumps(tasks))
    out = tmp_path / "batch.jsonl"
    assert main(["import", str(export), "--format", "label-studio", "--group", "g", "--out", str(out),
                 "--against", str(train_file)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: {export}: record 2: unknown label 'thret'; allowed: assurance, ")
    train_line = 1 + [json.loads(x)["text"] for x in train_file.read_text().splitlines()].index(tasks[2]["text"])
    assert err[1] == (f"{export}: record 3: near-duplicate (3-gram Jaccard 1.00) of {train_file}:{train_line}: "
                      f"{tasks[2]['text']!r}")
    assert err[2].startswith(f"{export}: record 4: near-duplicate (3-gram Jaccard ")
    assert "of record 1 of this file" in err[2]
    assert err[3] == f"{export}: record 5: 3 words; corpus sentences have 5-70"
    assert len(err) == 4 and not out.exists()

    # a fixed file imports; an existing batch needs --force; --force never replaces a file import did not write
    export.write_text(json.dumps([tasks[0], tasks[1] | {"label": "threat"}, tasks[5]]))
    assert import_labels(export, "label-studio", "g", out, against=[str(train_file)])["records"] == 2
    with pytest.raises(Exception, match="exists; add --force"):
        import_labels(export, "label-studio", "g", out)
    assert import_labels(export, "label-studio", "g", out, force=True)["records"] == 2
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"my": "notes"}\n')
    with pytest.raises(Exception, match="not a batch of corpus records"):
        import_labels(export, "label-studio", "g", notes, force=True)
    assert notes.read_text() == '{"my": "notes"}\n'


def test_ids_continue_and_annotators_must_agree(tmp_path):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [
        {"id": "g-007", "text": "An older sentence about a dam on the upper river.", "label": "other", "also": [],
         "group": "g", "speaker": "", "target": "", "voice": "reported", "tags": ["plain"]}])
    task = {"id": 1, "data": {"text": "The delegation agreed to share the river gauge data every month."},
            "annotations": [{"id": 9, "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                                                  "value": {"choices": ["assurance"]}}]},
                            {"id": 10, "was_cancelled": True, "result": []}]}
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task]))
    import_labels(export, "label-studio", "g", tmp_path / "b.jsonl", against=[str(corpus)])
    assert json.loads((tmp_path / "b.jsonl").read_text())["id"] == "g-008"
    task["annotations"][1] = {"id": 10, "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                                                    "value": {"choices": ["demand"]}}]}
    export.write_text(json.dumps([task]))
    with pytest.raises(DataError, match=r"record 1: annotators disagree: assurance \(annotation 9\), "
                                        r"demand \(annotation 10\)"):
        import_labels(export, "label-studio", "g", tmp_path / "c.jsonl")


def test_sample_refuses_bad_outputs(scores, tmp_path, capsys):
    assert main(["sample", str(scores), "--n", "3", "--format", "csv", "--out", str(tmp_path / "x.json")]) == 2
    assert "--format csv writes a .csv file" in capsys.readouterr().err
    assert main(["sample", str(scores), "--n", "3", "--format", "doccano", "--out", str(scores)]) == 2
    assert "same file as input" in capsys.readouterr().err
    out = tmp_path / "t.csv"
    assert main(["sample", str(scores), "--n", "3", "--format", "csv", "--out", str(out)]) == 0
    assert main(["sample", str(scores), "--n", "3", "--format", "csv", "--out", str(out)]) == 2
    assert "add --force" in capsys.readouterr().err
    assert main(["sample", str(scores), "--n", "4", "--format", "csv", "--out", str(out), "--force"]) == 0
    assert len(list(csv.DictReader(out.open()))) == 4
    with pytest.raises(DataError, match="not a `communique score` output"):
        sample([tmp_path / "t.csv"], 3)
