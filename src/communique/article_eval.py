"""End-to-end evaluation on the gold articles: segmentation, then classification.

Predicted sentences come from :func:`communique.segment.segment`; each gold
sentence is aligned to the predicted sentence that overlaps it most, when that
overlap is at least half of their union (IoU >= 0.5). Reported:

* segmentation precision/recall/F1 on exact spans;
* classification: sentence-level precision/recall/F1 of the four stance labels
  (a gold stance sentence is found when an aligned prediction has its label),
  plus accuracy and macro-F1 over aligned sentence pairs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .labels import FALLBACK_LABEL, LABELS
from .metrics import macro_f1, to_ids
from .models import StanceModel
from .segment import segment


def load_gold(articles_dir: str | Path) -> tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
    """Article texts and their gold sentences (from ``gold.jsonl``), checked against each other."""
    d = Path(articles_dir)
    gold_file = d / "gold.jsonl"
    if not gold_file.is_file():
        raise DataError(f"{gold_file}: no gold file")
    gold: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lineno, line in enumerate(gold_file.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                g = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{gold_file}:{lineno}: malformed JSON ({e.msg})") from None
            if g.get("label") not in LABELS:
                raise DataError(f"{gold_file}:{lineno}: unknown label {g.get('label')!r}")
            g["_line"] = lineno
            gold[g["article_id"]].append(g)
    texts = {}
    for aid, sents in gold.items():
        f = d / f"{aid}.txt"
        if not f.is_file():
            raise DataError(f"{gold_file}: article {aid!r} has no text file {f}")
        texts[aid] = f.read_text(encoding="utf-8")
        for g in sents:
            if texts[aid][g["start"]:g["end"]] != g["text"]:
                raise DataError(f"{gold_file}:{g['_line']}: span {g['start']}-{g['end']} does not match the text "
                                f"of {f}")
    return texts, dict(gold)


def _iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def align(gold: list[tuple[int, int]], pred: list[tuple[int, int]]) -> dict[int, int]:
    """Map gold index -> predicted index where IoU >= 0.5 (at most one gold per prediction)."""
    out, used = {}, set()
    for gi, g in enumerate(gold):
        best, best_iou = None, 0.5
        for pi, p in enumerate(pred):
            if pi in used or p[1] <= g[0] or p[0] >= g[1]:
                continue
            iou = _iou(g, p)
            if iou >= best_iou:
                best, best_iou = pi, iou
        if best is not None:
            out[gi] = best
            used.add(best)
    return out


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def evaluate_articles(model: StanceModel, articles_dir: str | Path, backend: str | None = None) -> dict[str, Any]:
    texts, gold = load_gold(articles_dir)
    seg_tp = n_pred = n_gold = 0
    stance_tp = stance_pred = stance_gold = 0
    aligned_true, aligned_pred = [], []
    for aid, text in texts.items():
        sents = segment(text) if backend is None else segment(text, backend=backend)
        probs = model.predict_proba([s.text for s in sents])
        labels = [FALLBACK_LABEL if s.furniture else LABELS[i] for s, i in zip(sents, probs.argmax(1))]
        gspans = [(g["start"], g["end"]) for g in gold[aid]]
        pspans = [(s.start, s.end) for s in sents]
        seg_tp += len(set(gspans) & set(pspans))
        n_pred += len(pspans)
        n_gold += len(gspans)
        mapping = align(gspans, pspans)
        stance_gold += sum(g["label"] != FALLBACK_LABEL for g in gold[aid])
        stance_pred += sum(lab != FALLBACK_LABEL for lab in labels)
        for gi, pi in mapping.items():
            aligned_true.append(gold[aid][gi]["label"])
            aligned_pred.append(labels[pi])
            if labels[pi] == gold[aid][gi]["label"] != FALLBACK_LABEL:
                stance_tp += 1
    yt, yp = to_ids(aligned_true), to_ids(aligned_pred)
    return {"articles": len(texts), "gold_sentences": n_gold, "predicted_sentences": n_pred,
            "segmentation": _prf(seg_tp, n_pred, n_gold),
            "classification": {**_prf(stance_tp, stance_pred, stance_gold), "aligned": int(len(yt)),
                               "accuracy": float(np.mean(yt == yp)) if len(yt) else float("nan"),
                               "macro_f1": macro_f1(yt, yp)}}


def format_articles(a: dict[str, Any]) -> str:
    s, c = a["segmentation"], a["classification"]
    return (f"gold articles: {a['articles']} articles, {a['gold_sentences']} gold / {a['predicted_sentences']} "
            f"predicted sentences\n"
            f"segmentation      P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}\n"
            f"stance sentences  P {c['precision']:.3f}  R {c['recall']:.3f}  F1 {c['f1']:.3f}  "
            f"(aligned accuracy {c['accuracy']:.3f}, macro-F1 {c['macro_f1']:.3f})")
