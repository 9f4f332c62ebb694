"""Guards that keep user files safe and run directories inert.

* :class:`OutputLock`: one job per output file (an exclusive ``fcntl`` lock on ``OUT.lock``).
* :func:`check_distinct`: outputs differ from each other and from every input.
* :func:`check_output_path`: an output file path can be written (not a directory, nor under a file).
* :func:`inside`: a path named in a run file resolves inside the run directory.
* :func:`refuse_remote_code`: a model directory that asks for custom code is refused.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import CommuniqueError, RunDirError


class OutputLock:
    """Exclusive lock on ``OUT.lock`` beside an output, held for the whole job.

    A second job on the same output fails at once, naming the holder's PID and start time. The
    lock file is removed when the job ends; a job killed with SIGKILL leaves it behind, unlocked,
    and the next job simply takes it over.
    """

    def __init__(self, out: str | Path):
        self.path = Path(out).with_name(Path(out).name + ".lock")
        self._fd: int | None = None

    def __enter__(self) -> "OutputLock":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    holder = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
                except (ValueError, OSError):
                    holder = {}
                os.close(fd)
                raise CommuniqueError(
                    f"{self.path.with_name(self.path.name[:-5])}: another communique job is writing this output "
                    f"(PID {holder.get('pid', '?')}, started {holder.get('started', '?')}); wait for it to finish "
                    "or choose another --out") from None
            try:  # the holder may have removed the file between our open and our lock: lock the live one
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # while still locked, so no other job holds this inode
            os.close(self._fd)
            self._fd = None


def check_distinct(outputs: Mapping[str, str | Path | None], inputs: Sequence[str] = ()) -> None:
    """Refuse when two outputs, or an output and an input, are the same file (resolved paths)."""
    seen: dict[Path, str] = {}
    for spec in inputs:
        if spec != "-":
            seen[Path(spec).resolve()] = f"input {spec}"
    for name, path in outputs.items():
        if path is None:
            continue
        resolved = Path(path).resolve()
        if resolved in seen:
            raise CommuniqueError(f"{path}: {name} is the same file as {seen[resolved]}; choose another path")
        for parent in resolved.parents:  # an input directory holding the output would be re-read on resume
            if parent in seen and Path(parent).is_dir():
                raise CommuniqueError(f"{path}: {name} lies inside {seen[parent]}; write it elsewhere")
        seen[resolved] = name


def check_output_path(out: Path, flag: str = "--out") -> None:
    """An output file path whose nearest existing ancestor is a directory, and not itself a directory."""
    if out.is_dir():
        raise CommuniqueError(f"{out}: {flag} is a directory; give a file name such as {out / 'scores.jsonl'}")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise CommuniqueError(f"{out}: {flag} cannot be written: {parent} is a file, not a directory")
            break


def inside(base: Path, relative: object, where: str) -> Path:
    """``base / relative`` if it resolves inside ``base`` (no absolute paths, ``..`` or symlinks out)."""
    if not isinstance(relative, str) or not relative or relative in (".", "./"):
        raise RunDirError(f"{where}: expected a relative path inside {base}, got {relative!r}")
    root = base.resolve()
    target = (base / relative).resolve()
    if target == root or root not in target.parents:
        raise RunDirError(f"{where}: path {relative!r} points outside {base}; refusing to load it")
    return target


def refuse_remote_code(model_dir: Path) -> None:
    """Refuse a model directory whose ``config.json`` asks transformers for custom code."""
    for name in ("config.json", "tokenizer_config.json"):
        f = model_dir / name
        if not f.is_file():
            continue
        try:
            cfg = json.loads(f.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise RunDirError(f"{f}: not valid JSON ({e})") from None
        if isinstance(cfg, dict) and "auto_map" in cfg:
            raise RunDirError(f"{f}: asks for custom model code (auto_map); communique never runs code from a "
                              "run directory")


def positive_finite(value: object, where: str) -> float:
    """A finite, positive float, or a :class:`RunDirError` naming ``where``."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RunDirError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise RunDirError(f"{where}: must be a finite positive number, got {value!r}")
    return v
