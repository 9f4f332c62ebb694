"""The corpus schema beyond the pipeline's minimum: voices, tags, and near-duplicate search.

Used by the corpus tests, the data card generator and the batch checker.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

VOICES = ("quote", "reported", "headline", "narrative")
HARD_CASE_TAGS = ("plain", "implicit", "conditional", "negation", "denial-of-intent", "denial-of-accusation", "must",
                  "precondition", "non-starter", "inclusion", "two-acts", "ambiguous")
HARD_NEGATIVE_TAGS = ("hn-lexical", "hn-past-action", "hn-background", "hn-third-party", "hn-prediction",
                      "hn-accusation", "hn-meeting", "hn-troops")
TAGS = HARD_CASE_TAGS + HARD_NEGATIVE_TAGS
FIELDS = ("id", "text", "label", "also", "group", "speaker", "target", "voice", "tags")
# Who the speaker is: a state (government, ministry, army, state official), a non-state actor (party, rebel
# group, union, protest movement, company, NGO), an international body, or an individual speaking for
# themselves; "none" where the sentence has no speaker (narrative "other").
SPEAKER_TYPES = ("state", "non-state", "international", "individual", "none")
# Where the speaker and the target are named in a stance sentence: [start, end) character offsets into
# ``text`` (null where the sentence names none, e.g. "The United States flatly rejected this." has no target).
OPTIONAL_FIELDS = ("speaker_type", "speaker_span", "target_span")


def span_problem(text: str, span: object) -> str | None:
    """Why ``span`` is not a valid mention span of ``text`` (None when it is, or when it is null)."""
    if span is None:
        return None
    if (not isinstance(span, list) or len(span) != 2 or not all(isinstance(x, int) for x in span)
            or not 0 <= span[0] < span[1] <= len(text)):
        return f"span {span!r} is not [start, end) inside the text of {len(text)} characters"
    s, e = span
    if text[s:e] != text[s:e].strip():
        return f"span {span!r} starts or ends with whitespace"
    if (s > 0 and text[s - 1].isalnum() and text[s].isalnum()) or (e < len(text) and text[e].isalnum()
                                                                   and text[e - 1].isalnum()):
        return f"span {span!r} ({text[s:e]!r}) cuts through a word"
    return None

_WORD = re.compile(r"[a-z0-9]+")


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def near_duplicates(texts: Sequence[str], threshold: float = 0.4, n: int = 3) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) whose word n-gram sets overlap at least ``threshold`` (Jaccard)."""
    sets = [shingles(t, n) for t in texts]
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            index[g].append(i)
    pairs = []
    for i, s in enumerate(sets):
        shared: dict[int, int] = defaultdict(int)
        for g in s:
            for j in index[g]:
                if j > i:
                    shared[j] += 1
        for j, inter in shared.items():
            jac = inter / len(s | sets[j])
            if jac >= threshold:
                pairs.append((i, j, jac))
    return pairs


def is_hard_negative(record: dict) -> bool:
    return record.get("label") == "other" and any(t in HARD_NEGATIVE_TAGS for t in record.get("tags") or [])
