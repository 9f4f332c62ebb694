import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from communique.errors import DataError
from communique.segment import segment
from communique.segment_workers import segment_texts, segmented

ARTICLES = sorted((ROOT / "data/articles").glob("*.txt"))


def chunks():
    """Chunks of the shipped articles, with a missing text (an unscorable article) in each."""
    texts = [p.read_text(encoding="utf-8") for p in ARTICLES]
    return [[*texts[i:i + 3], None] for i in range(0, len(texts), 3)]


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_workers_give_the_sentences_of_one_process_in_input_order(workers):
    items = chunks()
    got = list(segmented(iter(items), lambda c: c, "syntok", workers))
    assert [item for item, _ in got] == items
    for item, sentences in got:
        assert sentences == [segment(t) if t is not None else [] for t in item]
        assert sentences == segment_texts(item, "syntok")


def test_a_reading_error_comes_after_every_item_read_before_it():
    def items():
        yield from chunks()[:4]
        raise DataError("in.jsonl:9: malformed JSON")

    seen = []
    with pytest.raises(DataError, match="in.jsonl:9"):
        for item, sentences in segmented(items(), lambda c: c, "syntok", 2):
            seen.append(item)
            assert len(sentences) == len(item)
    assert seen == chunks()[:4]


def test_a_failing_worker_is_reported():
    with pytest.raises(RuntimeError, match="segmentation worker failed"):
        list(segmented(iter(chunks()[:3]), lambda c: c, "no-such-backend", 2))


def _alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_workers_exit_when_the_parent_is_killed():
    """A parent killed with SIGKILL leaves no segmentation worker behind."""
    code = ("import itertools, os, sys, time\n"
            "from communique.segment_workers import segmented\n"
            "items = (['The minister warned of reprisals. Talks resumed on Monday.'] * 50 for _ in itertools.count())\n"
            "for n, _ in enumerate(segmented(items, lambda c: c, 'syntok', 2)):\n"
            "    if n == 3:\n"
            "        print(' '.join(p for p in os.listdir('/proc') if p.isdigit()), flush=True)\n"
            "    time.sleep(0.01)\n")
    before = {p for p in os.listdir("/proc") if p.isdigit()}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    seen = set(proc.stdout.readline().split())
    workers = [int(p) for p in seen - before - {str(proc.pid)}
               if "segment.py" in Path(f"/proc/{p}/cmdline").read_text().replace("\0", " ")]
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)


def test_the_worker_protocol_round_trips_offsets():
    text = "GENEVA (Wire) — Mr. Lavrov spoke.\nHe left.\n\nBy A Reporter"
    res = subprocess.run([sys.executable, "-P", str(ROOT / "src/communique/segment.py"), "syntok"],
                         input=json.dumps([text, None]) + "\n", capture_output=True, text=True, check=True)
    reply = json.loads(res.stdout)["sentences"]
    assert reply[1] is None
    assert [text[s:e] for s, e, _, _ in reply[0]] == [s.text for s in segment(text)]
    assert [f for _, _, f, _ in reply[0]] == [s.furniture for s in segment(text)]
