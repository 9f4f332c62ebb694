"""Cross-validation with folds made by group: no conflict is in both a fold's train and test part.

Inside each fold, a dev set for early stopping and calibration is split off the
training part (again by group), so the held-out fold is never used to choose
anything.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config, load_config
from .data import label_ids, load_labelled
from .errors import ConfigError
from .metrics import classification_report
from .rundir import write_json

log = logging.getLogger(__name__)


def cv(config: Config | str | Path, folds: int = 5, out_dir: str | Path = "runs/cv", overrides=None,
       force: bool = False, n_boot: int = 200) -> dict[str, Any]:
    """Train and test ``folds`` times; return per-fold metrics and their mean and spread."""
    from sklearn.model_selection import GroupKFold

    from .models import load_model
    from .train import train

    cfg = config if isinstance(config, Config) else load_config(config, overrides)
    data = load_labelled([*cfg.data.train, *cfg.data.dev])
    groups = np.array(data["group"])
    if folds < 2 or folds > len(set(groups)):
        raise ConfigError(f"--folds {folds}: need between 2 and {len(set(groups))} (the number of groups)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_fold = []
    for k, (tr, te) in enumerate(GroupKFold(n_splits=folds).split(np.zeros(len(data)), groups=groups)):
        fold_dir = out / f"fold-{k}"
        fold_dir.mkdir(exist_ok=True)
        data.select(tr).to_json(str(fold_dir / "train.jsonl"))
        data.select(te).to_json(str(fold_dir / "test.jsonl"))
        fold_cfg = dataclasses.replace(cfg, data=dataclasses.replace(
            cfg.data, train=[str(fold_dir / "train.jsonl")], dev=[], test=[str(fold_dir / "test.jsonl")]))
        log.info("fold %d/%d: %d train, %d test sentences", k + 1, folds, len(tr), len(te))
        run = train(fold_cfg, out_dir=fold_dir / "run", force=force)
        test = data.select(te)
        probs = load_model(run).predict_proba(test["text"])
        m = classification_report(label_ids(test), probs.argmax(1), probs, also=test["also"], n_boot=n_boot)
        per_fold.append({"fold": k, "n": len(te), "groups": sorted(set(test["group"])), "accuracy": m["accuracy"],
                         "macro_f1": m["macro_f1"], "lenient_accuracy": m["lenient_accuracy"],
                         "ece": m["calibration"]["ece"]})
    summary = {key: {"mean": float(np.mean([f[key] for f in per_fold])),
                     "std": float(np.std([f[key] for f in per_fold], ddof=1))}
               for key in ("accuracy", "macro_f1", "lenient_accuracy", "ece")}
    result = {"folds": folds, "per_fold": per_fold, "summary": summary, "config": cfg.to_dict()}
    write_json(out / "cv.json", result)
    return result


def format_cv(r: dict[str, Any]) -> str:
    lines = [f"{r['folds']}-fold cross-validation by group", f"{'fold':<6}{'n':>6}{'accuracy':>10}{'macro-F1':>10}"]
    for f in r["per_fold"]:
        lines.append(f"{f['fold']:<6}{f['n']:>6}{f['accuracy']:>10.3f}{f['macro_f1']:>10.3f}")
    for key, v in r["summary"].items():
        lines.append(f"{key:<18} mean {v['mean']:.3f}  std {v['std']:.3f}")
    return "\n".join(lines)
