"""End-to-end evaluation on the gold articles: segmentation, then classification.

Predicted sentences come from the scorer's row builder (:func:`communique.score_rows.sentence_rows`); each gold
sentence is aligned to the predicted sentence that overlaps it most, when that
overlap is at least half of their union (IoU >= 0.5). Reported:

* segmentation precision/recall/F1 on exact spans;
* classification: sentence-level precision/recall/F1 of the four stance labels
  (a gold stance sentence is found when an aligned prediction has its label),
  plus accuracy and macro-F1 over aligned sentence pairs.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .labels import FALLBACK_LABEL, LABELS
from .metrics import macro_f1, prf, to_ids
from .models import StanceModel
from .records import read, strict


def load_gold(articles_dir: str | Path) -> tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
    """Article texts and their gold sentences (from ``gold.jsonl``), checked against each other."""
    d = Path(articles_dir)
    gold_file = d / "gold.jsonl"
    if not gold_file.is_file():
        raise DataError(f"{gold_file}: no gold file")
    gold: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in strict(read(gold_file)):
        g, where = rec.record, rec.where
        if not isinstance(g, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(g).__name__}")
        missing = [k for k in ("article_id", "start", "end", "text", "label") if k not in g]
        if missing:
            raise DataError(f"{where}: missing field(s) {', '.join(missing)}")
        if not all(isinstance(g[k], int) and not isinstance(g[k], bool) and g[k] >= 0 for k in ("start", "end")):
            raise DataError(f"{where}: start and end must be non-negative integers, "
                            f"got {g['start']!r} and {g['end']!r}")
        if g.get("label") not in LABELS:
            raise DataError(f"{where}: unknown label {g.get('label')!r}")
        g["_line"] = rec.line
        gold[g["article_id"]].append(g)
    texts = {}
    for aid, sents in gold.items():
        f = d / f"{aid}.txt"
        if not f.is_file():
            raise DataError(f"{gold_file}:{sents[0]['_line']}: article {aid!r} has no text file {f}")
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


def article_sets(articles_dir: str | Path) -> dict[str, str]:
    """Article id -> the set it belongs to (``metadata.csv``'s ``set`` column; "all" without one)."""
    import csv

    f = Path(articles_dir) / "metadata.csv"
    if not f.is_file():
        return {}
    with f.open(encoding="utf-8-sig", newline="") as fh:
        return {r["article_id"]: r.get("set") or "all" for r in csv.DictReader(fh)}


def _score_subset(texts: dict[str, str], gold: dict[str, list[dict[str, Any]]], predicted: dict[str, list[dict]],
                  table=None) -> dict[str, Any]:
    seg_tp = n_pred = n_gold = 0
    actor_pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    stance_tp = stance_pred = stance_gold = 0
    aligned_true, aligned_pred = [], []
    for aid in texts:
        rows = predicted[aid]
        labels = [r["label"] for r in rows]
        gspans = [(g["start"], g["end"]) for g in gold[aid]]
        pspans = [(r["start"], r["end"]) for r in rows]
        seg_tp += len(set(gspans) & set(pspans))
        n_pred += len(pspans)
        n_gold += len(gspans)
        mapping = align(gspans, pspans)
        stance_gold += sum(g["label"] != FALLBACK_LABEL for g in gold[aid])
        stance_pred += sum(lab != FALLBACK_LABEL for lab in labels)
        for gi, pi in mapping.items():
            aligned_true.append(gold[aid][gi]["label"])
            aligned_pred.append(labels[pi])
            if gold[aid][gi]["label"] != FALLBACK_LABEL:
                actor_pairs.append((gold[aid][gi], rows[pi]))
            if labels[pi] == gold[aid][gi]["label"] != FALLBACK_LABEL:
                stance_tp += 1
    yt, yp = to_ids(aligned_true), to_ids(aligned_pred)
    result = {"articles": len(texts), "gold_sentences": n_gold, "predicted_sentences": n_pred,
              "segmentation": prf(seg_tp, n_pred, n_gold),
              "classification": {**prf(stance_tp, stance_pred, stance_gold), "aligned": int(len(yt)),
                                 "accuracy": float(np.mean(yt == yp)) if len(yt) else float("nan"),
                                 "macro_f1": macro_f1(yt, yp)}}
    if table is not None:
        from .actors.scoring import article_actor_scores

        result["actors"] = article_actor_scores(table, actor_pairs, stance_gold)
    return result


def evaluate_articles(model: StanceModel, articles_dir: str | Path, backend: str | None = None) -> dict[str, Any]:
    """Score the gold articles exactly as ``communique score`` does (its row builder: segmentation,
    furniture, no-boundary pieces) and compare with the gold spans; overall and per article set."""
    from .articles import Article
    from .score_rows import ScoreOptions, sentence_rows

    texts, gold = load_gold(articles_dir)
    opts = ScoreOptions() if backend is None else ScoreOptions(segmenter=backend)
    rows = sentence_rows([Article(aid, text, aid) for aid, text in texts.items()], model, opts)
    predicted: dict[str, list[dict]] = {aid: [] for aid in texts}
    for r in rows:
        if r["sentence_index"] is not None:
            predicted[r["article_id"]].append(r)
    table = model.actors_.table if model.actors_ is not None else None
    result = _score_subset(texts, gold, predicted, table)
    sets = article_sets(articles_dir)
    names = sorted({sets.get(aid, "all") for aid in texts})
    if len(names) > 1:
        result["by_set"] = {name: _score_subset({a: t for a, t in texts.items() if sets.get(a, "all") == name},
                                                gold, predicted, table) for name in names}
    return result


def format_articles(a: dict[str, Any]) -> str:
    s, c = a["segmentation"], a["classification"]
    actors = ""
    if "actors" in a:
        from .actors.scoring import format_actor_report

        actors = "\n" + format_actor_report({"end to end": a["actors"]}, "who to whom on the gold articles "
                                            f"({a['actors']['found_as_stance']} of {a['actors']['gold_stance_sentences']}"
                                            " gold stance sentences found as stances):")
    by_set = "".join(f"\n  set {name:<10} {b['articles']:>3} articles  stance F1 {b['classification']['f1']:.3f}  "
                     f"macro-F1 {b['classification']['macro_f1']:.3f}  accuracy {b['classification']['accuracy']:.3f}"
                     for name, b in a.get("by_set", {}).items())
    return (f"gold articles: {a['articles']} articles, {a['gold_sentences']} gold / {a['predicted_sentences']} "
            f"predicted sentences\n"
            f"segmentation      P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}\n"
            f"stance sentences  P {c['precision']:.3f}  R {c['recall']:.3f}  F1 {c['f1']:.3f}  "
            f"(aligned accuracy {c['accuracy']:.3f}, macro-F1 {c['macro_f1']:.3f})" + by_set + actors)
