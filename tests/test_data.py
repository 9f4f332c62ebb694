import json

import datasets
import pytest

from communique.data import load_labelled, read_records, split_by_group
from communique.errors import DataError

from conftest import make_records, write_jsonl


def _write(tmp_path, lines, name="d.jsonl"):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


GOOD = json.dumps({"id": "a", "text": "Moscow warned Kyiv.", "label": "threat", "group": "g1", "speaker": "Russia"})


@pytest.mark.parametrize("bad, message", [
    ('{"id": "b", "text": "x y", "label": "warning", "group": "g"}', ":2: unknown label 'warning'; allowed: assurance"),
    ('{"id": "b", "text": "   ", "label": "threat", "group": "g"}', ":2: empty text"),
    ('{"id": "a", "text": "Again.", "label": "threat", "group": "g"}', ":2: duplicate id 'a' (first seen at"),
    ('{"id": "b", "text": "No label here."}', ":2: missing field(s) label, group"),
    ('{"id": "b", "text": "Broken", "label": ', ":2: malformed JSON line"),
    ('["not", "an", "object"]', ":2: expected a JSON object, got list"),
    ('{"id": "b", "text": "Fine.", "label": "demand", "also": ["maybe"], "group": "g"}',
     ":2: unknown label(s) in also: 'maybe'"),
])
def test_bad_records_report_file_and_line(tmp_path, bad, message):
    p = _write(tmp_path, [GOOD, bad])
    with pytest.raises(DataError) as e:
        read_records([p])
    assert str(p) + message in str(e.value)


def test_undecodable_file(tmp_path):
    p = tmp_path / "latin1.jsonl"
    p.write_bytes(GOOD.encode() + b"\n" + '{"id": "b", "text": "caf\xe9"}'.encode("latin-1") + b"\n")
    with pytest.raises(DataError, match=r"latin1.jsonl:2: not valid UTF-8"):
        read_records([p])


def test_metadata_is_kept_and_also_normalised(tmp_path):
    p = _write(tmp_path, [GOOD, json.dumps({"id": 7, "text": "They urged calm.", "label": "demand",
                                            "also": "other", "group": "g2", "speaker": "UN"})])
    ds = load_labelled([p])
    assert ds["speaker"] == ["Russia", "UN"]
    assert ds["id"] == ["a", "7"]
    assert ds["also"] == [[], ["other"]]
    assert ds["_source"][1].endswith("d.jsonl:2")


def test_csv_parquet_and_saved_dataset_agree(tmp_path):
    recs = make_records()
    ref = load_labelled([write_jsonl(tmp_path / "r.jsonl", recs)])
    csv_path = tmp_path / "r.csv"
    ds = datasets.Dataset.from_list([{k: v for k, v in r.items() if k not in ("tags", "also")} for r in recs])
    ds.to_csv(str(csv_path), index=False)
    ds.to_parquet(str(tmp_path / "r.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    for path in (csv_path, tmp_path / "r.parquet", tmp_path / "saved"):
        got = load_labelled([path])
        assert got["text"] == ref["text"] and got["label"] == ref["label"]


def test_csv_row_with_extra_field(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("id,text,label,group\n1,Fine.,other,g\n2,Too,many,fields,here\n")
    with pytest.raises(DataError, match=r"x.csv:3: malformed CSV row"):
        read_records([p])


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="unsupported format '.txt'"):
        read_records([_write(tmp_path, ["hi"], "x.txt")])
    with pytest.raises(DataError, match="no such file"):
        read_records([tmp_path / "missing.jsonl"])


def test_split_by_group_never_leaks(tmp_path):
    recs = []
    for g in range(10):
        recs += make_records(prefix=f"p{g}", groups=(f"g{g}", f"g{g}"))
    train, dev = split_by_group(load_labelled([write_jsonl(tmp_path / "all.jsonl", recs)]), 0.3, seed=1)
    assert set(train["group"]).isdisjoint(dev["group"])
    assert len(train) + len(dev) == len(recs) and len(dev) > 0
