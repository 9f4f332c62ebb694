"""Shared by the benchmarks: a reproducible set of articles built from corpus sentences."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def corpus_sentences(splits: tuple[str, ...] = ("test", "dev", "train")) -> list[str]:
    """The texts of the shipped corpus, split by split in the order given."""
    return [json.loads(line)["text"] for split in splits
            for line in (ROOT / "data/corpus" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def make_articles(n_sentences: int, path: Path) -> int:
    """Write JSONL articles of 8 corpus sentences each; return the number of sentences used.

    Beyond the corpus's size (about 10,000 sentences) the corpus is repeated, in new articles, so a
    large input (50,000+ sentences) can be timed; repeated texts cost the scorer the same each time."""
    # whole sentences only, so segmentation is unambiguous
    pool = [t for t in corpus_sentences() if t.rstrip()[-1:] in ".!?\"”"]
    sents = [pool[i % len(pool)] for i in range(n_sentences)]
    with path.open("w", encoding="utf-8") as f:
        for i in range(0, len(sents), 8):
            f.write(json.dumps({"id": f"b{i // 8:05d}", "text": " ".join(sents[i:i + 8])}) + "\n")
    return len(sents)
