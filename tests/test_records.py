"""The record reader: every format yields records with their file and line (or row)."""

import io
import json

import pytest

from communique.errors import DataError
from communique.records import (
    FORMATS,
    Located,
    csv_records,
    format_of,
    jsonl_records,
    parquet_records,
    read,
    strict,
)

ROWS = [{"id": "a", "text": "Moscow warned Kyiv."}, {"id": "b", "text": "They urged calm."},
        {"id": "c", "text": "Talks resume."}]


def _jsonl(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_yields_records_with_file_and_line_skipping_blank_lines(tmp_path):
    p = _jsonl(tmp_path / "r.jsonl", [json.dumps(ROWS[0]), "", "   ", json.dumps(ROWS[1])])
    got = list(read(p))
    assert [r.record for r in got] == ROWS[:2]
    assert [(r.where, r.line) for r in got] == [(f"{p}:1", 1), (f"{p}:4", 4)]
    assert all(r.error is None for r in got) and got[1].raw == json.dumps(ROWS[1]) + "\n"


def test_json_suffix_is_read_as_jsonl_and_suffixes_are_case_blind(tmp_path):
    p = _jsonl(tmp_path / "R.JSON", [json.dumps(r) for r in ROWS])
    assert [r.record["id"] for r in read(p)] == ["a", "b", "c"]
    assert format_of("x.Parquet") == "parquet" and format_of("x.CSV") == "csv"
    assert set(FORMATS.values()) == {"jsonl", "csv", "parquet"}


def test_malformed_and_undecodable_lines_are_yielded_with_an_error(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(json.dumps(ROWS[0]).encode() + b"\n" + b'{"id": "b", "text": \n' + b'{"text": "caf\xe9"}\n'
                  + json.dumps(ROWS[2]).encode() + b"\n")
    got = list(read(p))
    assert [r.line for r in got] == [1, 2, 3, 4]
    assert got[1].record is None and got[1].error.startswith("malformed JSON line (")
    assert got[1].raw == '{"id": "b", "text": \n'
    assert got[2].error.startswith("not valid UTF-8 (") and "caf" in got[2].raw
    assert got[3].record == ROWS[2] and got[3].error is None


def test_strict_raises_at_the_first_bad_record_naming_file_and_line(tmp_path):
    p = _jsonl(tmp_path / "bad.jsonl", [json.dumps(ROWS[0]), json.dumps(ROWS[1]), '{"id": ', "[1"])
    seen = []
    with pytest.raises(DataError, match=rf"^{p}:3: malformed JSON line \(.* at column \d+\)$"):
        for r in strict(read(p)):
            seen.append(r.record["id"])
    assert seen == ["a", "b"]


def test_jsonl_from_a_stream_uses_the_given_name():
    stream = io.BytesIO(b'{"id": 1}\n\n{"id": 2}\n')
    assert [(r.where, r.record) for r in jsonl_records(stream, "<stdin>")] == [("<stdin>:1", {"id": 1}),
                                                                               ("<stdin>:3", {"id": 2})]


def test_csv_rows_are_strings_named_by_line_even_across_quoted_newlines(tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes(b'\xef\xbb\xbfid,text\n1,"two\nlines"\n\n2,plain\n')  # byte-order mark, a blank line
    got = list(read(p))
    assert [r.record for r in got] == [{"id": "1", "text": "two\nlines"}, {"id": "2", "text": "plain"}]
    assert [r.where for r in got] == [f"{p}:3", f"{p}:5"]


def test_csv_row_with_more_fields_than_the_header_is_an_error_record(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("id,text\n1,fine\n2,too,many\n3,fine\n", encoding="utf-8")
    got = list(csv_records(p))
    assert [r.error for r in got] == [None, "malformed CSV row (more fields than the header)", None]
    assert got[1].record is None and "many" in got[1].raw
    with pytest.raises(DataError, match=rf"^{p}:3: malformed CSV row \(more fields than the header\)$"):
        list(strict(got))


def test_csv_required_columns_and_undecodable_file(tmp_path):
    p = tmp_path / "meta.csv"
    p.write_text("id,date\na1,2023-05-31\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{p}: no column article_id; needs article_id, date$"):
        list(csv_records(p, require=("article_id", "date")))
    assert [r.record["date"] for r in csv_records(p, require=("date",))] == ["2023-05-31"]
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"id,text\n1,caf\xe9\n")
    with pytest.raises(DataError, match=rf"^{bad}: not valid UTF-8 near line \d+"):
        list(read(bad))


def test_typed_csv_infers_values_and_keeps_named_columns_as_given(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("article_id,sentence_index,confidence,reason\n007,0,0.25,\n008,,0.5,empty\n", encoding="utf-8")
    got = list(read(p, csv_dtype={"article_id": str}, batch_size=1))
    assert [r.record for r in got] == [
        {"article_id": "007", "sentence_index": 0, "confidence": 0.25, "reason": None},
        {"article_id": "008", "sentence_index": None, "confidence": 0.5, "reason": "empty"}]
    assert [r.where for r in got] == [f"{p}:row 0", f"{p}:row 1"]
    (tmp_path / "empty.csv").write_text("")
    assert list(read(tmp_path / "empty.csv", csv_dtype={})) == []


def test_parquet_rows_are_streamed_in_batches_and_numbered_from_zero(tmp_path):
    import pandas as pd

    p = tmp_path / "r.parquet"
    pd.DataFrame(ROWS).to_parquet(p, index=False)
    got = list(read(p, batch_size=2))
    assert [r.record for r in got] == ROWS
    assert [(r.where, r.line) for r in got] == [(f"{p}:row 0", 0), (f"{p}:row 1", 1), (f"{p}:row 2", 2)]
    with p.open("rb") as f:  # an open file, as the Ray engine passes
        assert [r.where for r in parquet_records(f, "shard-0")] == ["shard-0:row 0", "shard-0:row 1",
                                                                    "shard-0:row 2"]


def test_truncated_parquet_names_the_file(tmp_path):
    import pandas as pd

    p = tmp_path / "cut.parquet"
    pd.DataFrame(ROWS * 100).to_parquet(p)
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(DataError, match=rf"^{p}: not a readable Parquet file"):
        list(read(p))


def test_saved_dataset_dir_rows_and_a_dir_that_is_not_one(tmp_path):
    import datasets

    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "saved"))
    got = list(read(tmp_path / "saved"))
    assert [r.record for r in got] == ROWS
    assert got[2].where == f"{tmp_path / 'saved'}:row 2"
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="not a saved `datasets` directory"):
        read(tmp_path / "plain")


def test_unknown_suffix_and_missing_file_raise_before_iteration(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match=r"x\.txt: unsupported format '\.txt'; use \.jsonl, \.csv, \.parquet or a"):
        read(tmp_path / "x.txt")
    with pytest.raises(DataError, match=r"x\.txt: unsupported format '\.txt'; use only this$"):
        read(tmp_path / "x.txt", use="only this")
    with pytest.raises(DataError, match="missing.jsonl: no such file or directory"):
        read(tmp_path / "missing.jsonl")
    assert format_of("name", suffix=".parquet") == "parquet"


def test_located_is_a_plain_tuple():
    rec = Located("f:1", 1, {"id": "a"})
    assert rec.raw == "" and rec.error is None and tuple(rec)[:3] == ("f:1", 1, {"id": "a"})
