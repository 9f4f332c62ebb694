"""Segmentation quality and speed of each sentence-splitter backend on the gold articles.

Prints, per backend, exact-span precision/recall/F1 against data/articles/gold.jsonl
and articles per second, measured in one run. Usage: python bench/segmentation.py
"""

import json
import time
from collections import defaultdict
from pathlib import Path

from communique.segment import BACKENDS, segment

ROOT = Path(__file__).resolve().parents[1]
gold = defaultdict(set)
for line in (ROOT / "data/articles/gold.jsonl").read_text(encoding="utf-8").splitlines():
    g = json.loads(line)
    gold[g["article_id"]].add((g["start"], g["end"]))
texts = {a: (ROOT / "data/articles" / f"{a}.txt").read_text(encoding="utf-8") for a in gold}

print(f"{len(texts)} articles, {sum(map(len, gold.values()))} gold sentences")
print(f"{'backend':<10}{'precision':>10}{'recall':>8}{'F1':>8}{'articles/s':>12}")
for name in BACKENDS:
    segment("Warm up. Done.", backend=name)
    tp = n_pred = n_gold = 0
    t = time.perf_counter()
    for reps in range(3):
        preds = {a: {(s.start, s.end) for s in segment(text, backend=name)} for a, text in texts.items()}
    dt = (time.perf_counter() - t) / 3
    for a in texts:
        tp += len(preds[a] & gold[a]); n_pred += len(preds[a]); n_gold += len(gold[a])
    p, r = tp / n_pred, tp / n_gold
    print(f"{name:<10}{p:>10.3f}{r:>8.3f}{2*p*r/(p+r):>8.3f}{len(texts)/dt:>12.1f}")
