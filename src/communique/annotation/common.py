"""What the annotation loop's two halves share: formats, bounds, and safe writing."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import CommuniqueError
from ..labels import LABELS

STRATEGIES = ("uncertainty", "margin", "entropy", "random")
FORMAT_SUFFIX = {"label-studio": ".json", "doccano": ".jsonl", "csv": ".csv"}  # what each --format writes/reads
MAX_PER_ARTICLE = 3  # "a few": context from each article without one long article taking the batch
MIN_WORDS, MAX_WORDS = 5, 70  # the corpus' sentence bounds (data/tools/check_batch.py): others cannot be imported
NEAR_DUPLICATE = 0.4  # word 3-gram Jaccard at which two sentences count as one (the corpus test's threshold)
POOL = 20  # near-duplicates are looked for among the best POOL * n candidates of each predicted label
SCORE_COLUMNS = ("article_id", "sentence_index", "text", "status", *(f"p_{label}" for label in LABELS))
CSV_COLUMNS = ("id", "text", "predicted", "confidence", "label", "also", "article_id", "sentence_index", "start",
               "end", "strategy", "priority", "scores_file")
GROUP = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def check_suffix(path: Path, fmt: str, flag: str) -> None:
    if fmt not in FORMAT_SUFFIX:
        raise CommuniqueError(f"--format {fmt!r}: choose one of {', '.join(FORMAT_SUFFIX)}")
    if path.suffix.lower() != FORMAT_SUFFIX[fmt]:
        raise CommuniqueError(f"{flag} {path}: --format {fmt} writes a {FORMAT_SUFFIX[fmt]} file")


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
