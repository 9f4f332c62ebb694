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
OPTIONAL_FIELDS = ("speaker_type",)

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
