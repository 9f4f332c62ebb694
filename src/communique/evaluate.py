"""Evaluate a run on labelled data: metrics with intervals, predictions, confusion matrix, slices.

Example:
    >>> result = evaluate("runs/minilm", split="test")
    >>> round(result["overall"]["accuracy"], 3)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .article_eval import evaluate_articles
from .challenge import evaluate_challenge
from .data import SOURCE, read_records
from .errors import CommuniqueError
from .labels import LABELS
from .metrics import classification_report, format_report, slice_metrics, to_ids
from .models import StanceModel, load_model
from .rundir import RunDir, write_json

log = logging.getLogger(__name__)

SLICE_COLUMNS = ("group", "voice", "tags", "speaker_type")  # always sliced when present; add more with `slices=`


def predict_records(model: StanceModel, records: Sequence[dict[str, Any]]) -> np.ndarray:
    return model.predict_proba([r["text"] for r in records])


def write_predictions(path: Path, records: Sequence[dict[str, Any]], probs: np.ndarray) -> None:
    with path.open("w", encoding="utf-8") as f:
        for rec, p in zip(records, probs):
            row = {"id": rec["id"], "text": rec["text"], "label": rec.get("label"),
                   "predicted": LABELS[int(p.argmax())], "confidence": float(p.max()),
                   "probs": {label: round(float(v), 6) for label, v in zip(LABELS, p)}}
            for k in ("also", "group", "voice", "tags", "rule", "pair"):
                if k in rec:
                    row[k] = rec[k]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_confusion(out: Path, confusion: list[list[int]], title: str) -> None:
    with (out / "confusion.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["gold \\ predicted", *LABELS])
        for label, row in zip(LABELS, confusion):
            w.writerow([label, *row])
    from .plots import plot_confusion

    fig = plot_confusion(confusion, title=title)
    fig.savefig(out / "confusion.png", dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)


def resolve_data(run: RunDir, data: Sequence[str] | None, split: str) -> tuple[list[str], str]:
    """The files to evaluate on and a name for the output folder."""
    if data:  # never a split's name: RUN/eval/test belongs to the run's own test split
        return list(data), f"data-{Path(data[0]).stem}"
    if split not in ("test", "dev", "train"):
        raise CommuniqueError(f"--split {split!r}: choose test, dev or train, or pass --data FILE")
    files = getattr(run.config.data, split)
    if not files:
        raise CommuniqueError(f"{run.config_file}: data.{split} is empty; pass --data FILE")
    return list(files), split


def cue_only_scores(train_files: Sequence[str], records: Sequence[dict[str, Any]], y_true: np.ndarray,
                    files_of: Sequence[str], y_model: np.ndarray) -> dict[str, Any]:
    """The cue-only baseline (see :mod:`communique.cue_only`) fitted on the run's training files and
    scored on ``records``: overall, per file, and the model's margin over it in macro-F1."""
    from .cue_only import cue_words, fit_cue_only
    from .metrics import accuracy, macro_f1

    train = read_records(train_files)
    base = fit_cue_only([r["text"] for r in train], [r["label"] for r in train])
    y_cue = to_ids(list(base.predict([r["text"] for r in records])))
    out: dict[str, Any] = {"accuracy": accuracy(y_true, y_cue), "macro_f1": macro_f1(y_true, y_cue),
                           "model_margin_macro_f1": macro_f1(y_true, y_model) - macro_f1(y_true, y_cue),
                           "words": cue_words(base)}
    if len(set(files_of)) > 1:
        out["by_file"] = {}
        for f in sorted(set(files_of)):
            ix = np.array([i for i, g in enumerate(files_of) if g == f])
            out["by_file"][f] = {"macro_f1": macro_f1(y_true[ix], y_cue[ix]),
                                 "model_margin_macro_f1": macro_f1(y_true[ix], y_model[ix]) - macro_f1(y_true[ix], y_cue[ix])}
    return out


def evaluate(run_dir: str | Path, data: Sequence[str] | None = None, split: str = "test",
             out_dir: str | Path | None = None, slices: Sequence[str] = (), n_boot: int = 1000,
             seed: int = 0, model: StanceModel | None = None, extras: bool = True, precision: str | None = None,
             runtime: str | None = None, batch_size: int | None = None) -> dict[str, Any]:
    """Score labelled data with a run's model and write metrics, predictions and plots.

    Writes into ``out_dir`` and nowhere else: the files training wrote (``MODEL_CARD.md``,
    ``metrics.json``, ...) stay as they are; ``communique report`` shows the evaluation.

    Args:
        run_dir: a finished run directory.
        data: labelled files to evaluate on; default is the config's ``split`` files.
        split: ``test`` or ``dev`` when ``data`` is not given.
        out_dir: where to write (default ``RUN/eval/<split or file stem>``).
        slices: extra metadata columns to break metrics down by.
        extras: with the config's split, also score the challenge set and the gold
            articles (``data.challenge``; ``data.articles`` for the test split, ``data.dev_articles``
            for dev) when they exist.
        precision, runtime, batch_size: inference settings (see :func:`communique.models.set_inference`).
    Returns:
        ``{"overall": ..., "slices": ..., ...}`` as also saved to ``metrics.json``.
    """
    run = RunDir(run_dir).require_finished()
    run_dir = run.path
    files, name = resolve_data(run, data, split)
    out = Path(out_dir) if out_dir else run.eval_dir(name)
    out.mkdir(parents=True, exist_ok=True)
    model = model or load_model(run_dir, precision, runtime, batch_size)
    records = read_records(files)
    log.info("scoring %d sentences from %s", len(records), ", ".join(files))
    probs = predict_records(model, records)
    y_true, y_pred = to_ids([r["label"] for r in records]), probs.argmax(1)
    result: dict[str, Any] = {
        "run": str(run_dir), "data": files,
        "overall": classification_report(y_true, y_pred, probs, also=[r.get("also") or [] for r in records],
                                         n_boot=n_boot, seed=seed),
        "slices": slice_metrics(records, y_true, y_pred, [*SLICE_COLUMNS, *slices]),
    }
    files_of = [r[SOURCE].rsplit(":", 1)[0] for r in records]
    if len(set(files_of)) > 1:
        result["by_file"] = slice_metrics([{"file": f} for f in files_of], y_true, y_pred, ["file"])["file"]
    if model.actors_ is not None:  # who to whom: spans and actors of the stance sentences
        from .actors.scoring import evaluate_actors

        result["actors"] = evaluate_actors(model.actors_, records, n_boot=n_boot, seed=seed)
    cfg_data = run.config.data
    train_files = cfg_data.train
    if extras and train_files and all(Path(f).exists() for f in train_files):
        result["cue_only"] = cue_only_scores(train_files, records, y_true, files_of, y_pred)
    if extras and not data:
        if cfg_data.challenge and Path(cfg_data.challenge).is_file():
            result["challenge"], c_records, c_probs = evaluate_challenge(model, cfg_data.challenge)
            write_predictions(out / "challenge_predictions.jsonl", c_records, c_probs)
        articles = {"test": cfg_data.articles, "dev": cfg_data.dev_articles}.get(split)
        if articles and (Path(articles) / "gold.jsonl").is_file():
            result["articles"] = evaluate_articles(model, articles)
    write_predictions(out / "predictions.jsonl", records, probs)
    write_confusion(out, result["overall"]["confusion"], f"{run_dir.name} on {name}")
    write_json(out / "metrics.json", result)
    (out / "report.txt").write_text(format_report(result["overall"], f"{run_dir.name} on {name}") + "\n",
                                    encoding="utf-8")
    result["out_dir"] = str(out)
    return result


def format_files_and_cues(result: dict[str, Any]) -> str:
    """Per-file metrics and the cue-only baseline of an :func:`evaluate` result, as text ('' when absent)."""
    lines = []
    for f, m in result.get("by_file", {}).items():
        lines.append(f"{f}: n {m['n']}, accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}")
    if "actors" in result:
        from .actors.scoring import format_actor_report

        lines.append(format_actor_report(result["actors"],
                                         "who to whom on the stance sentences (alone, and in their story):"))
    cue = result.get("cue_only")
    if cue:
        lines.append(f"cue-only baseline (50 words + logistic regression): macro-F1 {cue['macro_f1']:.3f}; "
                     f"model margin {cue['model_margin_macro_f1']:+.3f}")
        for f, m in cue.get("by_file", {}).items():
            lines.append(f"  {f}: cue-only macro-F1 {m['macro_f1']:.3f}, model margin {m['model_margin_macro_f1']:+.3f}")
    return "\n".join(lines)


__all__ = ["evaluate", "format_files_and_cues"]
