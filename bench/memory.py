"""Memory of `communique score` as the input grows: it streams, so peak memory should stay flat.

Two measurements, each in a fresh subprocess whose peak resident memory (ru_maxrss) is read
with os.wait4:

1. the input reader alone over a 1 MB and a large JSONL (1 GB by default): every article is
   parsed and counted, none kept, so peak memory should not depend on the file's size;
2. the whole `communique score` command on JSONL inputs of growing size (1, 4 and 16 MB by
   default), with a fast model (runs/tfidf by default; the model's own size is constant, so any
   growth would come from the scorer holding rows or articles);
3. with ``--watch-mb 1024 --watch-seconds 900``: the whole command on that large an input, its
   resident memory (VmRSS) and the rows written so far sampled every ``--every`` seconds until it
   ends or the time is up (then it is stopped): memory over time on an input too large to finish.

Prints input size, articles, sentences, seconds and peak RSS. Asserts nothing.

Usage: .venv/bin/python bench/memory.py [--reader-mb 1024] [--score-mb 1 4 16] [--model runs/tfidf]
       [--watch-mb 1024 --watch-seconds 900 --every 30] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import corpus_sentences

READER = """
import sys
from communique.articles import iter_articles
n = 0
for art in iter_articles([sys.argv[1]]):
    n += 1
print(n)
"""


def write_jsonl(path: Path, megabytes: float, sents: list[str], seed: int = 0) -> int:
    """Articles of 6-10 random corpus sentences with a date and source, up to `megabytes`; returns the count."""
    rng = random.Random(seed)
    limit, size, n = int(megabytes * 2**20), 0, 0
    with path.open("w", encoding="utf-8") as f:
        while size < limit:
            text = " ".join(rng.sample(sents, rng.randint(6, 10)))
            line = json.dumps({"id": f"a{n:08d}", "date": "2022-01-10", "source": "bench", "text": text}) + "\n"
            f.write(line)
            size += len(line.encode("utf-8"))
            n += 1
    return n


def run_measured(cmd: list[str]) -> tuple[float, float, str]:
    """Run cmd; return (seconds, peak RSS in MiB, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
        dt = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status):
            sys.exit(f"{' '.join(cmd)} failed:\n{err.read()[-2000:]}")
        return dt, usage.ru_maxrss / 1024, out.read()


def rss_mib(pid: int) -> float:
    """Resident memory of a running process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def watch(cmd: list[str], out: Path, seconds: float, every: float) -> None:
    """Run cmd, printing elapsed time, the size of the rows written so far (the scorer appends them to
    OUT.partial.jsonl) and RSS every `every` seconds; stop it after `seconds`."""
    partial = out.with_name(out.name + ".partial.jsonl")
    print(f"{'seconds':>8}{'rows MB written':>17}{'RSS MB':>9}", flush=True)
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, text=True)
        start = time.perf_counter()
        while proc.poll() is None and time.perf_counter() - start < seconds:
            time.sleep(every)
            if proc.poll() is not None:
                break
            written = partial.stat().st_size / 2**20 if partial.exists() else 0.0
            print(f"{time.perf_counter() - start:>8.0f}{written:>17.1f}{rss_mib(proc.pid):>9.0f}", flush=True)
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
            print("stopped (time limit)", flush=True)
        else:
            print(f"finished, exit code {proc.returncode}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reader-mb", type=float, default=1024)
    ap.add_argument("--score-mb", type=float, nargs="*", default=[1, 4, 16])
    ap.add_argument("--model", default="runs/tfidf", help="run directory used for the scoring runs")
    ap.add_argument("--watch-mb", type=float, default=0, help="input size of the sampled run (0 = none)")
    ap.add_argument("--watch-seconds", type=float, default=900)
    ap.add_argument("--every", type=float, default=30)
    ap.add_argument("--workers", type=int, help="pass --workers N to communique score (default: its own)")
    a = ap.parse_args()
    extra = ["--workers", str(a.workers)] if a.workers is not None else []
    sents = corpus_sentences(("train", "dev", "test"))
    tmp = Path(tempfile.mkdtemp())
    print(f"{'job':<34}{'input MB':>9}{'articles':>10}{'sentences':>11}{'seconds':>9}{'peak RSS MB':>13}")
    for mb in ([1, a.reader_mb] if a.reader_mb else []):
        src = tmp / "big.jsonl"
        n = write_jsonl(src, mb, sents)
        dt, rss, out = run_measured([sys.executable, "-c", READER, str(src)])
        assert int(out) == n, f"reader saw {out.strip()} of {n} articles"
        print(f"{'input reader only':<34}{src.stat().st_size / 2**20:>9.0f}{n:>10}{'':>11}{dt:>9.1f}{rss:>13.0f}",
              flush=True)
        src.unlink()
    exe = Path(sys.executable).with_name("communique")
    for mb in a.score_mb:
        src = tmp / f"in{mb}.jsonl"
        n = write_jsonl(src, mb, sents, seed=int(mb))
        out = tmp / f"out{mb}.jsonl"
        dt, rss, stdout = run_measured([str(exe), "score", str(src), "--model", a.model, "--out", str(out),
                                        "--force", *extra])
        rows = sum(1 for _ in out.open(encoding="utf-8"))
        print(f"{'communique score (' + Path(a.model).name + ')':<34}{src.stat().st_size / 2**20:>9.1f}{n:>10}"
              f"{rows:>11}{dt:>9.1f}{rss:>13.0f}", flush=True)
        out.unlink()
        src.unlink()
    if a.watch_mb:
        src, out = tmp / "watch.jsonl", tmp / "watch-out.jsonl"
        n = write_jsonl(src, a.watch_mb, sents, seed=7)
        print(f"\ncommunique score ({Path(a.model).name}) on {src.stat().st_size / 2**20:.0f} MB, {n} articles, "
              f"sampled every {a.every:.0f} s for at most {a.watch_seconds:.0f} s", flush=True)
        watch([str(exe), "score", str(src), "--model", a.model, "--out", str(out), "--force", *extra], out,
              a.watch_seconds, a.every)
    shutil.rmtree(tmp, ignore_errors=True)  # a stopped job leaves its output, checkpoint and lock here


if __name__ == "__main__":
    main()
