"""Sentence segmentation in worker processes, beside the model (the scorer's first stage).

:func:`segmented` takes a stream of items (chunks of articles) and yields each item, in order,
with the sentences of its texts, segmented by ``workers`` processes while the caller scores the
items before it. ``workers=0`` segments in this process.

Why not ``multiprocessing`` or ``concurrent.futures``:

* a worker here is ``python -P segment.py BACKEND``: :mod:`communique.segment` run as a file, which
  starts in about 0.1 s. A ``multiprocessing`` worker would import the whole package (about 4.5 s of
  one core with scikit-learn, datasets and pandas) and re-run the caller's ``__main__``;
* each worker's only link is its own stdin and stdout. When the parent dies, even by SIGKILL, the
  worker reads end-of-file and exits. Pool workers of both libraries share one queue. Each holds the
  queue's write end, so after the parent is killed they wait forever, and forked ones keep the
  output's lock open.

Memory stays flat: each worker has at most one item in flight, and the reader is pulled only as
workers free up. A request goes only to an idle worker, which is blocked reading its stdin, so
neither side can block the other on a full pipe.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from . import segment as segment_module
from .errors import CommuniqueError
from .segment import Sentence, segment

T = TypeVar("T")
_END = object()


def segment_texts(texts: list[str | None], backend: str) -> list[list[Sentence]]:
    """Sentences of each text in this process; ``None`` (an article that is not segmented) gives ``[]``."""
    return [segment(t, backend) if t is not None else [] for t in texts]


class _Worker:
    """One segmentation process and its pipes."""

    def __init__(self, backend: str):
        self.proc = subprocess.Popen([sys.executable, "-P", str(Path(segment_module.__file__)), backend],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, texts: list[str | None]) -> None:
        self.proc.stdin.write(json.dumps(texts).encode("ascii") + b"\n")
        self.proc.stdin.flush()

    def receive(self, texts: list[str | None]) -> list[list[Sentence]]:
        line = self.proc.stdout.readline()
        if not line:
            raise CommuniqueError(f"a segmentation worker (PID {self.proc.pid}) ended without replying "
                                  f"(exit status {self.proc.poll()}); run again with --workers 0 to segment in one process")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"segmentation worker failed:\n{reply['error']}")
        return [[Sentence(s, e, text[s:e], furniture, cut) for s, e, furniture, cut in spans] if text is not None else []
                for text, spans in zip(texts, reply["sentences"])]

    def close(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def segmented(items: Iterable[T], texts_of: Callable[[T], list[str | None]], backend: str,
              workers: int) -> Iterator[tuple[T, list[list[Sentence]]]]:
    """Yield ``(item, sentences of each of its texts)`` in the order of ``items``.

    With ``workers`` > 0, up to that many items are segmented in worker processes ahead of the
    caller. The workers start only when a second item exists (a one-chunk job is segmented here).
    An exception raised while reading ``items`` (a malformed record) is raised again only after
    every item read before it has been yielded, as in a plain loop.
    """
    if workers == 0:
        for item in items:
            yield item, segment_texts(texts_of(item), backend)
        return
    source = iter(items)
    failure: Exception | None = None

    def pull():
        nonlocal failure
        if failure is not None:
            return _END
        try:
            return next(source, _END)
        except Exception as exc:  # noqa: BLE001 - raised again once the items before it are done
            failure = exc
            return _END

    first = pull()
    second = pull() if first is not _END else _END
    if second is _END:  # nothing to run beside: segment here
        if first is not _END:
            yield first, segment_texts(texts_of(first), backend)
        if failure is not None:
            raise failure
        return

    pool: list[_Worker] = []
    try:
        pool = [_Worker(backend) for _ in range(workers)]
        waiting = deque([first, second])
        idle = deque(pool)
        inflight: deque[tuple[T, list[str | None], _Worker]] = deque()
        while True:
            while idle:
                item = waiting.popleft() if waiting else pull()
                if item is _END:
                    break
                worker, texts = idle.popleft(), texts_of(item)
                worker.send(texts)
                inflight.append((item, texts, worker))
            if not inflight:
                break
            item, texts, worker = inflight.popleft()
            sentences = worker.receive(texts)
            idle.append(worker)
            yield item, sentences
        if failure is not None:
            raise failure
    finally:
        for worker in pool:
            worker.close()


def default_workers() -> int:
    """Segmentation processes when none are asked for: one fewer than the usable cores, at most 8."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(8, cores - 1))
