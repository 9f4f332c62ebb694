"""Tables of a labelled corpus: files per split, counts per label and split or group, lengths, examples."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..data import read_records
from ..errors import DataError
from ..labels import LABELS

SPLITS = ("train", "dev", "test", "test-wire")

def corpus_files(root: str | Path) -> dict[str, list[Path]]:
    """The labelled files under ``root``, by split name.

    ``train/dev/test.jsonl`` when the corpus has been split, otherwise every
    ``*.jsonl`` below ``root`` (e.g. ``batches/``), each file its own "split".
    A single file maps to its stem.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such file or directory")
    if root.is_file():
        return {root.stem: [root]}
    split = {s: [root / f"{s}.jsonl"] for s in SPLITS if (root / f"{s}.jsonl").is_file()}
    if split:
        return split
    files = sorted(root.rglob("*.jsonl"))
    if not files:
        raise DataError(f"{root}: no .jsonl files")
    return {f.stem: [f] for f in files}


def load_corpus(source: str | Path | Mapping[str, Sequence[str | Path]]) -> pd.DataFrame:
    """Labelled records as one DataFrame with ``split`` and ``n_words`` columns.

    Args:
        source: a corpus folder or file (see :func:`corpus_files`), or ``{split: [files]}``.
    """
    by_split = corpus_files(source) if isinstance(source, (str, Path)) else source
    frames = []
    for split, files in by_split.items():
        df = pd.DataFrame(read_records(list(files)))
        df.insert(0, "split", split)
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["n_words"] = df["text"].str.split().str.len()
    return df


def _frame(records: pd.DataFrame | Iterable[dict[str, Any]]) -> pd.DataFrame:
    return records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))


def corpus_summary(records: pd.DataFrame | Iterable[dict[str, Any]], by: str = "split") -> pd.DataFrame:
    """Count of each label per value of ``by`` (list values such as tags count once each), with totals.

    Example:
        >>> corpus_summary([{"label": "threat", "split": "train"}]).loc["train", "threat"]
        1
    """
    df = _frame(records)
    if by not in df:
        raise KeyError(f"no column {by!r}; columns: {', '.join(df.columns)}")
    df = df.explode(by) if df[by].map(lambda v: isinstance(v, list)).any() else df
    df = df[df[by].notna() & (df[by] != "")]
    table = pd.crosstab(df[by], pd.Categorical(df["label"], categories=LABELS), dropna=False)
    table.columns = list(LABELS)
    table.columns.name = "label"
    table["total"] = table.sum(axis=1)
    if by == "split":  # keep the files' order (train, dev, test)
        return table.reindex(list(dict.fromkeys(df[by])))
    return table.sort_values("total", ascending=False, kind="stable")


def length_table(records: pd.DataFrame | Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Words per sentence for each label: count, mean, quartiles, max."""
    df = _frame(records)
    words = df["n_words"] if "n_words" in df else df["text"].str.split().str.len()
    table = words.groupby(df["label"]).describe()[["count", "mean", "min", "25%", "50%", "75%", "max"]]
    return table.reindex([label for label in LABELS if label in table.index])


def label_examples(records: pd.DataFrame | Iterable[dict[str, Any]], k: int = 3, seed: int = 0) -> pd.DataFrame:
    """Up to ``k`` random sentences of each label (reproducible with ``seed``)."""
    df = _frame(records)
    cols = [c for c in ("label", "id", "group", "voice", "text") if c in df]
    parts = [df[df["label"] == label].sample(min(k, int((df["label"] == label).sum())), random_state=seed)
             for label in LABELS]
    return pd.concat(parts)[cols].reset_index(drop=True)


__all__ = ["corpus_files", "corpus_summary", "label_examples", "length_table", "load_corpus"]
