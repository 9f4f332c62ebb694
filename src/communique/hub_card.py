"""The model card of an exported folder (``README.md``): Hugging Face metadata (language, licence,
pipeline tag, the model-index with the run's test metrics) and a body that says what the labels mean,
how the model was trained and measured, and where it errs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .card import measured_limits
from .labels import LABEL_DEFINITIONS, LABELS
from .rundir import RunDir, package_version

LICENSE = "other"  # the project ships no licence file; pass the one that applies to your data and weights


def _base_model(pretrained: str) -> str | None:
    """The Hub id of the encoder, or None for a local path."""
    from .config import MINILM

    if pretrained in (MINILM, f"sentence-transformers/{MINILM}"):
        return f"sentence-transformers/{MINILM}"
    return None if Path(pretrained).expanduser().exists() else pretrained


CARD_TEMPLATE = "---\n{{ card_data }}\n---\n\n{{ body }}\n"


def card_data(run_dir: Path, test_eval: dict[str, Any], license: str = LICENSE):
    """The card's metadata: language, licence, pipeline tag and, when evaluated, the model-index."""
    from huggingface_hub import EvalResult, ModelCardData

    cfg = RunDir(run_dir).config
    results = []
    overall = test_eval.get("overall")
    if overall:
        data = ", ".join(Path(str(d)).name for d in test_eval.get("data", [])) or "test"
        common = {"task_type": "text-classification", "task_name": "stance classification", "dataset_type": "custom",
                  "dataset_name": f"communique test ({data})", "dataset_split": "test"}
        results = [EvalResult(metric_type="accuracy", metric_name="accuracy",
                              metric_value=round(overall["accuracy"], 4), **common),
                   EvalResult(metric_type="f1", metric_name="macro-F1", metric_args={"average": "macro"},
                              metric_value=round(overall["macro_f1"], 4), **common)]
    return ModelCardData(language="en", license=license, library_name="transformers",
                         pipeline_tag="text-classification",
                         tags=["stance-detection", "communique", "news", "politics"],
                         base_model=_base_model(cfg.model.pretrained), model_name=run_dir.name,
                         eval_results=results or None, metrics=["accuracy", "f1"])


def card_body(run_dir: Path, test_eval: dict[str, Any], temperature: float) -> str:
    """The card's Markdown: usage, labels, metrics, data, calibration, limits and provenance."""
    run = RunDir(run_dir)
    cfg = run.config
    env, saved = run.env, run.metrics
    counts = saved.get("data", {})
    labels = "\n".join(f"- **{label}**: {LABEL_DEFINITIONS[label]}." for label in LABELS)
    overall = test_eval.get("overall")
    if overall:
        rows = "\n".join(f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                         for label, v in overall["per_class"].items())
        ci = overall.get("ci95", {})
        span = {k: f" (95% CI {ci[k][0]:.3f}–{ci[k][1]:.3f})" if k in ci else "" for k in ("accuracy", "macro_f1")}
        metrics = (f"On the test split ({', '.join(map(str, test_eval.get('data', [])))}, {overall['n']} sentences): "
                   f"accuracy **{overall['accuracy']:.3f}**{span['accuracy']}, macro-F1 **{overall['macro_f1']:.3f}**"
                   f"{span['macro_f1']}.\n\n| label | precision | recall | F1 | support |\n"
                   f"|---|---|---|---|---|\n{rows}")
    else:
        metrics = "Not evaluated on a test split yet (run `communique evaluate RUN` before exporting)."
    dev = saved.get("dev") or {}
    dev_line = (f"\n\nDev (model selection): accuracy {dev['accuracy']:.3f}, macro-F1 {dev['macro_f1']:.3f}."
                if dev else "")
    return f"""# {run_dir.name}: stance in news sentences

A sentence classifier for English news about international politics, diplomacy, conflict and
trade, exported by `communique export` from the run `{run_dir.name}` (encoder
`{cfg.model.pretrained}`). It tags each sentence with the stance-bearing act it mainly reports.

## Use

```python
from transformers import pipeline

classify = pipeline("text-classification", model="PATH/TO/THIS/FOLDER", top_k=None)
classify("Beijing warned Manila of consequences if the resupply missions continued.", truncation=True)
```

The probabilities are calibrated: the run's temperature ({temperature:.4f}, fitted on dev) is folded
into the classifier's weights, so they equal `communique predict`'s. Pass `truncation=True` to cut
sentences at {cfg.model.max_length} tokens as communique does.

## Labels

{labels}

Full definitions, decision rules and examples: `data/CODEBOOK.md` in the communique repository.

## Metrics

{metrics}{dev_line}

## Training data

- train: {', '.join(cfg.data.train)} ({counts.get('train', '?')} sentences)
- dev: {', '.join(cfg.data.dev) or 'held out from train by group'} ({counts.get('dev', '?')} sentences)
- Splits are disjoint by group (conflict or dispute).

## Limits

- One label per sentence; a second act in the same sentence is not predicted. English only.
- Trained on {counts.get('train', '?')} labelled sentences; news from other sources, periods or regions
  differs in style and topic.
{measured_limits(test_eval)}
- Calibration was fitted on dev and can drift on other domains. Labels describe what a sentence
  reports someone saying, not anyone's real intentions.

## Provenance

communique {package_version()}, git {env.get('git_commit') or 'unknown'}, seed {env.get('seed')}, trained
{env.get('finished', '?')} on {env.get('device', '?')}.
"""


def write_card(run_dir: Path, out: Path, temperature: float, license: str = LICENSE) -> Path:
    """Write ``out/README.md`` with :class:`huggingface_hub.ModelCard`."""
    from huggingface_hub import ModelCard

    test_eval = RunDir(run_dir).evaluation("test")
    card = ModelCard.from_template(card_data(run_dir, test_eval, license), template_str=CARD_TEMPLATE,
                                   body=card_body(run_dir, test_eval, temperature))
    path = out / "README.md"
    card.save(path)
    return path
