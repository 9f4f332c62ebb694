"""Shared by the benchmarks: a reproducible set of articles built from corpus sentences."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_articles(n_sentences: int, path: Path) -> int:
    """Write JSONL articles of 8 corpus sentences each; return the number of sentences used."""
    sents = []
    for split in ("test", "dev", "train"):
        for line in (ROOT / "data/corpus" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["text"]
            if text.rstrip()[-1:] in ".!?\"”":  # whole sentences only, so segmentation is unambiguous
                sents.append(text)
    sents = sents[:n_sentences]
    with path.open("w", encoding="utf-8") as f:
        for i in range(0, len(sents), 8):
            f.write(json.dumps({"id": f"b{i // 8:05d}", "text": " ".join(sents[i:i + 8])}) + "\n")
    return len(sents)
