"""`communique report RUN`: the run notebook's figures as PNG files plus a short Markdown or HTML report.

For people who don't use Jupyter. Everything comes from :mod:`communique.tables`
(tables) and :mod:`communique.plots` (figures), the same functions
``notebooks/run.py`` calls.

Example:
    >>> path = write_report("runs/tfidf")  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'report.md'
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import tables as ct
from .card import error_summary
from .rundir import RunDir

SLICES = ("group", "voice", "tags")  # slices drawn when the evaluation has them
# ("h", level, text) | ("p", text) | ("ul", [text, ...]) | ("table", DataFrame) | ("img", file, alt) | ("pre", text)
Block = tuple

def _num(v: Any, fmt: str = ".3f") -> str:
    if isinstance(v, float):
        return "–" if math.isnan(v) else format(v, fmt)
    return "" if v is None else str(v)

def markdown_table(df: pd.DataFrame, fmt: str = ".3f") -> str:
    """A DataFrame as a GitHub Markdown table (floats to ``fmt``; ``|`` and newlines escaped)."""
    def cell(v: Any) -> str:
        return _num(v, fmt).replace("|", "\\|").replace("\n", " ")

    head = [str(df.index.name or ""), *map(str, df.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([cell(i), *(cell(v) for v in row)]) + " |"
              for i, row in zip(df.index, df.itertuples(index=False), strict=True)]
    return "\n".join(lines)

def run_figures(result: Mapping[str, Any], title: str = "",
                log_history: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The run notebook's figures, by file stem: confusion, per_class, reliability, accuracy per
    slice and per challenge rule, and the learning curve from the Trainer's ``log_history``
    (each only where the result or the history has the data)."""
    from . import plots

    o = result["overall"]
    figs = {"confusion": plots.plot_confusion(o["confusion"], title=title),
            "per_class": plots.plot_per_class(o["per_class"], title=title)}
    if "calibration" in o:
        figs["reliability"] = plots.plot_reliability(o["calibration"], title=title)
    for col in SLICES:
        table = ct.slice_table(result, col)
        if table is not None:
            figs[f"accuracy_by_{col}"] = plots.plot_bars(table["accuracy"].to_dict(), title=f"accuracy by {col}")
    challenge = ct.challenge_table(result)
    if challenge is not None:
        figs["challenge"] = plots.plot_bars(challenge["accuracy"].drop("all").to_dict(),
                                            title="challenge accuracy by rule")
    if log_history and plots.learning_curve(log_history):
        figs["learning_curve"] = plots.plot_learning_curve(log_history, title="learning curve")
    return figs

def report_blocks(name: str, result: Mapping[str, Any], split: str, figures: Sequence[str],
                  errors: pd.DataFrame | None = None, note: str = "", dyads: pd.DataFrame | None = None) -> list[Block]:
    """The report's content, independent of the output format."""
    o = result["overall"]
    blocks: list[Block] = [("h", 1, f"Run report: {name}"),
                           ("p", f"Evaluated on {split}: {', '.join(map(str, result.get('data', [])))} "
                                 f"({o['n']} sentences).")]
    if note:
        blocks.append(("p", note))
    blocks += [("h", 2, "Metrics"), ("table", ct.metrics_table(o)), ("table", ct.per_class_table(o))]
    for stem, alt in (("confusion", "confusion matrix"), ("per_class", "precision, recall and F1 per label"),
                      ("reliability", "reliability diagram")):
        if stem in figures:
            blocks.append(("img", f"{stem}.png", alt))
    blocks += [("h", 2, "Where the model errs"), ("ul", error_summary(result, split))]
    if "learning_curve" in figures:
        blocks += [("h", 2, "Training"), ("img", "learning_curve.png", "train loss and dev macro-F1 per epoch")]
    slices = [c for c in SLICES if f"accuracy_by_{c}" in figures]
    if slices:
        blocks.append(("h", 2, "Slices"))
        for col in slices:
            blocks += [("table", ct.slice_table(result, col)), ("img", f"accuracy_by_{col}.png", f"accuracy by {col}")]
    challenge = ct.challenge_table(result)
    if challenge is not None:
        blocks += [("h", 2, "Challenge set"), ("table", challenge)]
        if "challenge" in figures:
            blocks.append(("img", "challenge.png", "challenge accuracy by rule"))
    articles = ct.articles_table(result)
    if articles is not None:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in articles.attrs.items())
        blocks += [("h", 2, "Gold articles"), *([("p", counts + ".")] if counts else []), ("table", articles)]
    actors = ct.actor_metrics_table(result)
    if actors is not None:
        blocks += [("h", 2, "Who to whom"), ("p", "Speaker and target: span F1 and actor accuracy (the side the "
                                                  "mention resolves to through the actor table)."),
                   ("table", actors)]
    if dyads is not None:
        shown = dyads.drop(columns="example").head(20)
        shown.index = pd.Index([f"{s} → {t}" for s, t in shown.index], name="speaker → target")
        blocks += [("h", 2, "Dyads in the scored articles"), ("table", shown)]
        for stem, alt in (("dyad_network", "who to whom: the dyad network"),
                          ("dyad_timeline", "stances per dyad over time")):
            if stem in figures:
                blocks.append(("img", f"{stem}.png", alt))
    if errors is not None:
        blocks.append(("h", 2, "Most confident errors"))
        blocks.append(("table", errors) if len(errors) else ("p", "No errors."))
    return blocks

def to_markdown(blocks: Sequence[Block]) -> str:
    out = []
    for b in blocks:
        if b[0] == "h":
            out.append("#" * b[1] + " " + b[2])
        elif b[0] == "p":
            out.append(b[1])
        elif b[0] == "ul":
            out.append("\n".join(f"- {item}" for item in b[1]))
        elif b[0] == "table":
            out.append(markdown_table(b[1]))
        elif b[0] == "img":
            out.append(f"![{b[2]}]({b[1]})")
        elif b[0] == "pre":
            out.append("```\n" + b[1] + "\n```")
    return "\n\n".join(out) + "\n"

def to_html(blocks: Sequence[Block]) -> str:
    esc = html.escape
    out = []
    for b in blocks:
        if b[0] == "h":
            out.append(f"<h{b[1]}>{esc(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            out.append(f"<p>{esc(b[1])}</p>")
        elif b[0] == "ul":
            out.append("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in b[1]) + "</ul>")
        elif b[0] == "table":
            out.append(b[1].to_html(float_format=lambda v: _num(v), na_rep="–", border=0))
        elif b[0] == "img":
            out.append(f'<p><img src="{esc(b[1])}" alt="{esc(b[2])}"></p>')
        elif b[0] == "pre":
            out.append(f"<pre>{esc(b[1])}</pre>")
    title = next((b[2] for b in blocks if b[0] == "h"), "report")
    style = "body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}" \
            "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")

def dyad_figures(scores: pd.DataFrame, by: str = "month") -> tuple[pd.DataFrame, dict[str, Any]]:
    """The dyad table of scores made with actors, and its figures: the network and the timeline per dyad
    (the timeline only where the scores have dates)."""
    from . import plots

    dyads = ct.dyad_table(scores)
    figs = {"dyad_network": plots.plot_dyad_network(dyads)}
    timeline = ct.dyad_timeline(scores, by=by)
    if timeline is not None and not timeline.empty:
        figs["dyad_timeline"] = plots.plot_dyad_timeline(timeline)
    return dyads, figs

def write_report(run_dir: str | Path, split: str = "test", fmt: str = "md", out_dir: str | Path | None = None,
                 k_errors: int = 10, scores: str | Path | None = None, metadata: str | Path | None = None) -> Path:
    """Write the figures (PNG) and ``report.md`` (or ``report.html``) for a run.

    Uses ``RUN/eval/SPLIT/`` from ``communique evaluate``; without it, falls back to the dev
    metrics saved at training time (no slices or errors) and says so in the report.

    Args:
        run_dir: a finished run directory.
        split: the evaluation to report (``test`` or ``dev``, or a ``--data`` file stem).
        fmt: ``md`` or ``html``.
        out_dir: where to write (default ``RUN/report``).
        k_errors: how many of the most confident errors to list.
        scores: a scores file made with this run (with actors): adds its dyads, the network and the timeline.
        metadata: per-article CSV with ``article_id`` and ``date`` for the timeline, when the scores lack dates.
    Returns:
        the path of the report file.
    """
    if fmt not in ("md", "html"):
        raise ValueError(f"format {fmt!r}: choose md or html")
    import matplotlib.pyplot as plt

    run = RunDir(run_dir).require_finished()
    run_dir = run.path
    out = Path(out_dir) if out_dir else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    note, errors = "", None
    saved = run.metrics
    if (run.eval_dir(split) / "metrics.json").is_file():
        result = ct.load_eval(run_dir, split)
        errors = ct.confident_errors(ct.load_predictions(run_dir, split), k_errors)
    else:
        result = {"data": run.config.data.dev or ["dev held out from train"], "overall": saved["dev"]}
        note = (f"No evaluation on {split} yet: these are the dev metrics saved at training time. "
                f"Run `communique evaluate {run_dir} --split {split}` for slices and errors.")
        split = "dev"
    log_history = (saved.get("training") or {}).get("log_history")  # transformer runs: the Trainer's
    figures = run_figures(result, title=f"{run_dir.name} on {split}", log_history=log_history)
    dyads = None
    if scores is not None:
        from .errors import DataError

        frame = ct.load_scores(scores, metadata=metadata)
        if not ct.has_actors(frame):
            raise DataError(f"{scores}: no actor columns; score with a run trained with model.actors: true")
        dyads, more = dyad_figures(frame)
        figures.update(more)
    for stem, fig in figures.items():
        fig.savefig(out / f"{stem}.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
    blocks = report_blocks(run_dir.name, result, split, list(figures), errors, note, dyads)
    path = out / f"report.{fmt}"
    path.write_text(to_markdown(blocks) if fmt == "md" else to_html(blocks), encoding="utf-8")
    return path

__all__ = ["markdown_table", "report_blocks", "run_figures", "to_html",
           "to_markdown", "write_report"]
