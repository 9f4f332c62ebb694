"""Split news articles into sentences, keeping character offsets into the original text.

Two layers:

1. **Layout** (here): newswire furniture is not prose. Blank lines end
   paragraphs; inside a paragraph a line break ends a unit when it closes a
   headline, byline, caption, "Also read:" line, subheading or bullet, and is
   treated as a space when it only wraps a long line.
2. **Sentences** (a maintained library): each prose block goes to a sentence
   splitter. ``syntok`` is the default, chosen by measurement on the gold
   articles (see ``bench/segmentation.py`` and ``bench/README.md``); ``pysbd``
   and ``blingfire`` can be selected for comparison.

Example:
    >>> [s.text for s in segment("Mr. Blinken arrived. He met Gen. Milley.")]
    ['Mr. Blinken arrived.', 'He met Gen. Milley.']
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

BULLET = re.compile(r"^\s*(?:[-•*▪–]|\d{1,2}[.)])\s+")
# newswire furniture: bylines, captions, link lines and credits (not statements)
BYLINE = re.compile(r"^\s*By\s+(?:[A-Z][\w.'’-]*,?\s*|and\s+|in\s+[A-Z][\w-]*\s*)+$")
FURNITURE_PREFIX = re.compile(r"^\s*(?:(?:also read|read more|related|photo|caption|pictured|file photo)\s*:|"
                              r"\(?(?:additional )?(?:reporting|editing|writing) by\b|copyright\b|©)", re.IGNORECASE)
ENDS_SENTENCE = re.compile(r"[.!?:;][\"'”’)\]]*\s*$")
PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    furniture: bool = False  # a byline, caption, "Also read:" or credit line, not a statement
    cut: bool = False  # a piece of a run of text with no sentence boundary (see LONGEST)


# A "sentence" longer than LONGEST characters has no real boundary (a dump, a table, a binary
# blob): it is cut at spaces into pieces of at most PIECE characters (about 128 tokens of English).
LONGEST = 2000
PIECE = 600


def _pieces(text: str, s: int, e: int) -> list[tuple[int, int]]:
    out = []
    while e - s > PIECE:
        cut = text.rfind(" ", s + PIECE // 2, s + PIECE)
        cut = cut if cut > s else s + PIECE
        out.append((s, cut))
        s = cut
        while s < e and text[s].isspace():
            s += 1
    if e > s:
        out.append((s, e))
    return out


def is_furniture(line: str) -> bool:
    return bool(BYLINE.match(line) or FURNITURE_PREFIX.match(line))


def _blocks(text: str) -> Iterator[tuple[int, int, bool]]:
    """Yield (start, end, is_prose) layout blocks: paragraphs cut at furniture and bullet lines.

    Furniture (captions, bylines, "Also read:" lines) is one unit even when it
    holds several full stops, so it is not passed to the sentence splitter.
    """
    pos = 0
    for para_end, next_start in [(m.start(), m.end()) for m in PARAGRAPH.finditer(text)] + [(len(text), len(text))]:
        lines = []
        offset = pos
        for line in text[pos:para_end].split("\n"):
            lines.append((offset, offset + len(line), line))
            offset += len(line) + 1
        longest = max((len(t.strip()) for _, _, t in lines), default=0)
        block_start, prose = None, True
        for k, (s, e, line) in enumerate(lines):
            if not line.strip():
                continue
            if block_start is None:
                block_start, prose = s, not is_furniture(line)
            nxt = lines[k + 1][2] if k + 1 < len(lines) else None
            if nxt is None or _breaks(line, nxt, longest):
                yield block_start, e, prose
                block_start = None
        pos = next_start


def _breaks(line: str, nxt: str, longest: int) -> bool:
    """Whether the line break after ``line`` ends a unit rather than wrapping a long line."""
    if not nxt.strip() or BULLET.match(nxt) or is_furniture(nxt):
        return True
    # a wrapped line runs close to the wrap width; a headline, byline or
    # subheading is clearly shorter than the paragraph's longest line
    short = len(line.strip()) < 0.6 * longest
    if ENDS_SENTENCE.search(line):
        return short
    return short and nxt.lstrip()[:1].isupper()


@functools.cache
def _pysbd():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def _split_pysbd(block: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in _pysbd().segment(block)]


def _split_syntok(block: str) -> list[tuple[int, int]]:
    from syntok import segmenter

    spans = []
    for para in segmenter.analyze(block):
        for sent in para:
            spans.append((sent[0].offset - len(sent[0].spacing), sent[-1].offset + len(sent[-1].value)))
    return spans


def _split_blingfire(block: str) -> list[tuple[int, int]]:
    import blingfire

    _, offsets = blingfire.text_to_sentences_and_offsets(block)
    return list(offsets)


def _split_none(block: str) -> list[tuple[int, int]]:
    return [(0, len(block))]


BACKENDS: dict[str, Callable[[str], list[tuple[int, int]]]] = {
    "pysbd": _split_pysbd, "syntok": _split_syntok, "blingfire": _split_blingfire, "lines": _split_none}
DEFAULT_BACKEND = "syntok"


def segment(text: str, backend: str = DEFAULT_BACKEND) -> list[Sentence]:
    """Sentences of ``text`` with offsets such that ``text[s.start:s.end] == s.text``."""
    split = BACKENDS[backend]
    out: list[Sentence] = []
    for b_start, b_end, prose in _blocks(text):
        block = text[b_start:b_end].replace("\n", " ")  # same length, so offsets stay valid
        for s, e in split(block) if prose else [(0, len(block))]:
            s, e = b_start + s, b_start + e
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e - s > LONGEST:
                out.extend(Sentence(a, b, text[a:b], furniture=not prose, cut=True) for a, b in _pieces(text, s, e))
            elif e > s:
                out.append(Sentence(s, e, text[s:e], furniture=not prose))
    return out


def serve(backend: str, stdin=None, stdout=None) -> None:
    """Segment requests from ``stdin`` until it closes: the loop of one segmentation worker.

    Each request is one JSON line, a list of texts (``null`` for an article that is not segmented);
    each reply is one JSON line, ``{"sentences": [...]}`` with one item per text, a list of ``[start,
    end, furniture, cut]`` (or ``null``), or ``{"error": ...}``. See :mod:`communique.segment_workers`.
    """
    import json
    import traceback

    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    for line in stdin:
        try:
            texts = json.loads(line)
            reply = {"sentences": [None if t is None else [[s.start, s.end, s.furniture, s.cut]
                                                           for s in segment(t, backend)] for t in texts]}
        except Exception:  # noqa: BLE001 - the parent raises it, with this traceback
            reply = {"error": traceback.format_exc()}
        stdout.write(json.dumps(reply).encode("ascii") + b"\n")
        stdout.flush()


if __name__ == "__main__":  # run as a file (python -P segment.py BACKEND), without importing the package
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; EOF ends the loop
    serve(sys.argv[1])
