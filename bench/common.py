"""Shared by the benchmarks: a reproducible set of articles built from corpus sentences."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def corpus_sentences(splits: tuple[str, ...] = ("test", "dev", "train")) -> list[str]:
    """The texts of the shipped corpus, split by split in the order given."""
    return [json.loads(line)["text"] for split in splits
            for line in (ROOT / "data/corpus" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def make_articles(n_sentences: int, path: Path) -> int:
    """Write JSONL articles of 8 corpus sentences each; return the number of sentences used."""
    # whole sentences only, so segmentation is unambiguous
    sents = [t for t in corpus_sentences() if t.rstrip()[-1:] in ".!?\"”"][:n_sentences]
    with path.open("w", encoding="utf-8") as f:
        for i in range(0, len(sents), 8):
            f.write(json.dumps({"id": f"b{i // 8:05d}", "text": " ".join(sents[i:i + 8])}) + "\n")
    return len(sents)
