"""Labelled data: load JSONL, CSV, Parquet or saved `datasets` dirs, validate, split by group.

Each record has ``id``, ``text``, ``label``, optional ``also`` (defensible
alternative labels) and ``group`` (the conflict or topic). Any other field is
kept. Every problem is reported with its file and line (or row).

Example:
    >>> ds = load_labelled(["data/corpus/train.jsonl"])
    >>> ds.column_names[:4]
    ['id', 'text', 'label', 'also']
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from .errors import DataError
from .labels import LABELS

REQUIRED = ("id", "text", "label", "group")
SOURCE = "_source"  # "file:line" of each record, for error messages and audits


def _iter_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{where}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
            if not line.strip():
                continue
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: malformed JSON line ({e.msg} at column {e.colno})") from None


def _iter_csv(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        csv.field_size_limit(64 * 1024 * 1024)
        with path.open(encoding="utf-8-sig", newline="") as f:  # -sig: spreadsheet exports' byte-order mark
            reader = csv.DictReader(f)
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row:
                    raise DataError(f"{where}: malformed CSV row (more fields than the header)")
                if "also" in row:
                    row["also"] = [a for a in (row["also"] or "").replace(";", ",").split(",") if a.strip()]
                yield where, row
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not valid UTF-8 ({e.reason})") from None
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV ({e})") from None


def _iter_dataset(ds: datasets.Dataset, name: str) -> Iterator[tuple[str, Any]]:
    for i, row in enumerate(ds):
        yield f"{name}:row {i}", row


def iter_raw(path: str | Path) -> Iterator[tuple[str, Any]]:
    """Yield ``(location, record)`` for every record in a file or saved dataset dir."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        try:
            ds = datasets.load_from_disk(str(path))
        except Exception as e:  # datasets raises several types for a non-dataset dir
            raise DataError(f"{path}: not a saved `datasets` directory ({e})") from None
        if isinstance(ds, datasets.DatasetDict):
            raise DataError(f"{path}: holds a DatasetDict ({', '.join(ds)}); point at one split")
        return _iter_dataset(ds, str(path))
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return _iter_jsonl(path)
    if suffix == ".csv":
        return _iter_csv(path)
    if suffix == ".parquet":
        try:
            ds = datasets.load_dataset("parquet", data_files=str(path), split="train")
        except Exception as e:  # pyarrow and datasets raise several types for a damaged file
            raise DataError(f"{path}: not a readable Parquet file ({str(e).splitlines()[0][:200]})") from None
        return _iter_dataset(ds, str(path))
    raise DataError(f"{path}: unsupported format {suffix!r}; use .jsonl, .csv, .parquet or a datasets dir")


def validate_record(where: str, rec: Any, labelled: bool = True) -> dict[str, Any]:
    """Check one record; return it normalised (``also`` a list, ``id`` a string)."""
    if not isinstance(rec, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(rec).__name__}")
    need = REQUIRED if labelled else ("id", "text")
    missing = [k for k in need if k not in rec or rec[k] is None]
    if missing:
        raise DataError(f"{where}: missing field(s) {', '.join(missing)}")
    text = rec["text"]
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: empty text")
    rec = dict(rec)
    rec["id"] = str(rec["id"])
    if labelled:
        if rec["label"] not in LABELS:
            raise DataError(f"{where}: unknown label {rec['label']!r}; allowed: {', '.join(LABELS)}")
        also = rec.get("also") or []
        if isinstance(also, str):
            also = [also]
        bad = [a for a in also if a not in LABELS]
        if bad:
            raise DataError(f"{where}: unknown label(s) in also: {', '.join(map(repr, bad))}")
        rec["also"] = [a for a in also if a != rec["label"]]
        rec["group"] = str(rec["group"])
    return rec


def read_records(paths: Sequence[str | Path], labelled: bool = True) -> list[dict[str, Any]]:
    """Read and validate every record of ``paths``; ids must be unique across them."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    records: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in paths:
        for where, raw in iter_raw(path):
            rec = validate_record(where, raw, labelled)
            if rec["id"] in seen:
                raise DataError(f"{where}: duplicate id {rec['id']!r} (first seen at {seen[rec['id']]})")
            seen[rec["id"]] = where
            rec[SOURCE] = where
            records.append(rec)
    if not records:
        raise DataError(f"{', '.join(map(str, paths))}: no records")
    return records


def to_dataset(records: list[dict[str, Any]]) -> datasets.Dataset:
    """Records to a `datasets.Dataset`, with every metadata field kept (missing ones as None)."""
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(r))
    # nested metadata (tags lists) is fine; heterogeneous scalars become strings
    columns = {k: [r.get(k) for r in records] for k in keys}
    for k, col in columns.items():
        types = {type(v) for v in col if v is not None}
        if len(types) > 1 and list not in types:
            columns[k] = [None if v is None else str(v) for v in col]
    return datasets.Dataset.from_dict(columns)


def load_labelled(paths: Sequence[str | Path]) -> datasets.Dataset:
    """Load and validate labelled records from files or dirs into one Dataset."""
    return to_dataset(read_records(paths))


def split_by_group(ds: datasets.Dataset, fraction: float, seed: int) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Hold out about ``fraction`` of the records, whole groups at a time, so no group leaks."""
    from sklearn.model_selection import GroupShuffleSplit

    groups = ds["group"]
    if len(set(groups)) < 2:
        raise DataError("cannot split by group: the data has fewer than two groups")
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    keep, held = next(splitter.split(np.zeros(len(ds)), groups=groups))
    return ds.select(sorted(keep)), ds.select(sorted(held))


def label_ids(ds: datasets.Dataset) -> np.ndarray:
    from .labels import LABEL2ID

    return np.array([LABEL2ID[label] for label in ds["label"]], dtype=np.int64)
