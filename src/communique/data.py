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

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from .errors import DataError
from .labels import LABELS
from .records import read, strict

REQUIRED = ("id", "text", "label", "group")
SOURCE = "_source"  # "file:line" of each record, for error messages and audits


def iter_raw(path: str | Path) -> Iterator[tuple[str, Any]]:
    """Yield ``(location, record)`` for every record in a file or saved dataset dir; the first
    record that cannot be parsed raises :class:`DataError` naming its file and line."""
    return ((rec.where, rec.record) for rec in strict(read(path)))


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
        if isinstance(also, str):  # a CSV cell (or any string): labels separated by commas or semicolons
            also = [a.strip() for a in also.replace(";", ",").split(",") if a.strip()]
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
