"""The run's model card, ``MODEL_CARD.md``: written once, by ``communique train``.

The card describes the run as training left it: the model, the data, the labels, the dev metrics
(dev selects the model and fits its calibration), intended use and limits, and where the held-out
results live. It is never rewritten afterwards: ``communique evaluate`` writes ``eval/<split>/``
only, and ``communique report`` shows those results (with where the model errs on them).

Example:
    >>> write_model_card("runs/tfidf")  # doctest: +SKIP
    PosixPath('runs/tfidf/MODEL_CARD.md')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import SHARED_ENCODER
from .labels import LABELS
from .rundir import RunDir


def format_metrics(m: dict[str, Any] | None) -> str:
    """Accuracy, macro-F1 (with 95% intervals), lenient accuracy and n of a classification report, on one line."""
    if not m:
        return "not measured"
    ci = m.get("ci95", {})
    acc_ci = ci.get("accuracy", [float("nan")] * 2)
    f1_ci = ci.get("macro_f1", [float("nan")] * 2)
    return (f"accuracy {m['accuracy']:.3f} (95% CI {acc_ci[0]:.3f}–{acc_ci[1]:.3f}), macro-F1 {m['macro_f1']:.3f} "
            f"(95% CI {f1_ci[0]:.3f}–{f1_ci[1]:.3f}), lenient accuracy {m.get('lenient_accuracy', float('nan')):.3f}, "
            f"n = {m['n']}")


def error_summary(evaluation: dict[str, Any], split: str = "test") -> list[str]:
    """Where a model errs in an evaluation (``{"overall": ..., "challenge": ...}``): its most frequent
    confusions and, when the challenge set was scored, its weakest decision rules; one sentence each."""
    conf = evaluation["overall"]["confusion"]
    pairs = {}
    for i, a in enumerate(LABELS):
        for j, b in enumerate(LABELS):
            if i < j:
                pairs[(a, b)] = conf[i][j] + conf[j][i]
    errors = sum(pairs.values())
    top = [(pair, n) for pair, n in sorted(pairs.items(), key=lambda kv: -kv[1])[:3] if n]
    lines = [f"Most frequent {split} confusions (both directions, of {errors} errors): "
             + "; ".join(f"{a} / {b} ({n})" for (a, b), n in top) + "." if errors else f"No {split} errors."]
    rules = evaluation.get("challenge", {}).get("per_rule", {})
    if rules:
        weak = sorted(rules.items(), key=lambda kv: kv[1]["accuracy"])[:3]
        lines.append("Weakest decision rules on the challenge set (accuracy): "
                     + "; ".join(f"{r} {v['accuracy']:.2f}" for r, v in weak) + " (rules in `data/CODEBOOK.md`).")
    return lines


def measured_limits(evaluation: dict[str, Any], split: str = "test") -> str:
    """:func:`error_summary` as Markdown bullets, or a bullet saying how to measure it when not evaluated."""
    if not evaluation.get("overall"):
        return "- Not evaluated yet: run `communique evaluate RUN` to measure where this model errs."
    return "\n".join(f"- {line}" for line in error_summary(evaluation, split))


def per_class_table(m: dict[str, Any] | None) -> str:
    """Precision, recall, F1 and support per label as a Markdown table ('' without a report)."""
    if not m:
        return ""
    rows = "\n".join(f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                     for label, v in m["per_class"].items())
    return "| label | precision | recall | F1 | support |\n|---|---|---|---|---|\n" + rows


def model_card(run_dir: str | Path) -> str:
    """The Markdown of ``MODEL_CARD.md`` for a trained run, from its config, env.json and metrics.json."""
    run = RunDir(run_dir)
    cfg, env, metrics = run.config, run.env, run.metrics
    mc, dc = cfg.model, cfg.data
    dev = metrics.get("dev")
    encoder = "" if mc.family == "tfidf" else f", encoder `{mc.pretrained}`"
    actors = ""
    if mc.actors:
        dev_actors = (metrics.get("actors") or {}).get("dev") or {}
        tagger, told = dev_actors.get("tagger"), dev_actors.get("tagger_in_story")
        figures = "; ".join(
            f"{role} actor accuracy {tagger[role]['actor']['accuracy']:.3f} alone"
            + (f", {told[role]['actor']['accuracy']:.3f} in its story" if told else "")
            + f", exact span F1 {tagger[role]['exact']['f1']:.3f}"
            for role in ("speaker", "target")) if tagger else "not measured"
        how = ("A span-tag head on the stance encoder (trained with it)" if mc.actor_encoder == SHARED_ENCODER
               else f"A span tagger (`{mc.actor_encoder}`)")
        actors = (f"\n## Who to whom\n{how} marks the speaker and target of each "
                  f"stance sentence; mentions resolve through the actor table in `model/actors/actors.yaml` to the side "
                  f"they speak for. On dev: {figures}.\n")
    limits = measured_limits({"overall": dev}, "dev") if dev else "- Dev errors not measured."
    return f"""# Model card: {run.name}

**Family:** `{mc.family}`{encoder}. Trained {env.get('finished', '?')} on {env.get('device', '?')}
in {env.get('wall_time_s', float('nan')):.0f} s (git {env.get('git_commit') or 'unknown'}, seed {env.get('seed')}).

## Labels
{', '.join(LABELS)} — one per sentence, as defined in `data/CODEBOOK.md`: the stance-bearing act a news
sentence mainly reports (a promise, a warning, a call, a refusal, or none of these).

## Data
- train: {', '.join(dc.train)} ({metrics.get('data', {}).get('train', '?')} sentences)
- dev: {', '.join(dc.dev) or 'held out from train by group'} ({metrics.get('data', {}).get('dev', '?')} sentences)
- test: {', '.join(dc.test)}. Splits are disjoint by group (conflict or dispute).

## Metrics
Measured at training time on dev, which also fitted the calibration.
- dev: {format_metrics(dev)}
- temperature (calibration on dev): {metrics.get('temperature', 1.0):.3f}

{per_class_table(dev)}
{actors}
## Evaluation
Held-out results are not part of this card, which training writes once and nothing rewrites:
- `communique evaluate RUN --split test` writes them to `eval/test/`: `metrics.json` (accuracy and
  macro-F1 with 95% intervals, per label, slices, the challenge set, the gold articles, who to whom),
  `report.txt`, `predictions.jsonl` and the confusion matrix (`confusion.csv`, `confusion.png`).
- `communique report RUN` shows them in `report/report.md`, with where the model errs on test
  (most frequent confusions, weakest challenge rules) and its most confident errors.
- `communique export` puts the test metrics in the exported model card.

## Intended use
Tagging sentences of English news about international politics, diplomacy, conflict and trade as
assurance, threat, demand, rejection or other, to find who promised, warned, demanded and refused
across many articles. Read the flagged sentences; do not treat labels as facts about intentions.

## Limits
- Trained on a hand-written corpus of some thousands of sentences; real newswire differs in style and topic.
- English only; one label per sentence (a second act is not predicted).
{limits}
- Confidence is temperature-calibrated on dev; calibration can drift on other domains.
"""


def write_model_card(run_dir: str | Path) -> Path:
    """Write ``MODEL_CARD.md`` into a run directory that training has just finished."""
    run = RunDir(run_dir)
    out = run.card_file
    out.write_text(model_card(run), encoding="utf-8")
    return out


__all__ = ["error_summary", "format_metrics", "measured_limits", "model_card", "per_class_table", "write_model_card"]
