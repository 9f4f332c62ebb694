"""The actor table: canonical actors, the names reporters use for them, and whose side each is on.

``data/actors.yaml`` maps each canonical actor to its type, country, optional ``side`` (the actor
it speaks for: a minister -> the state, a rebel commander -> the group) and aliases::

    actors:
      United States: {type: state, country: United States, aliases: [U.S., Washington, American]}
      Antony Blinken: {type: individual, country: United States, side: United States, aliases: [Blinken]}

A mention found in a sentence ("U.S. Secretary of State Antony Blinken", "Washington's",
"Russian aircraft") is resolved by :meth:`ActorTable.resolve`: the whole mention if it is a known
name, else each part of a list ("Mali and Burkina Faso"), else a known name inside it, read from the
head of the mention: a person who ends it ("Russian Foreign Minister Sergei Lavrov" is Lavrov), else the
names before the first preposition ("ELN commanders in Catatumbo" is the ELN), a person first, else the
name that ends the head ("Ukraine's Naftogaz" is Naftogaz), else the first one named ("Russia's UN
envoy" is Russia). The result carries the actor and its side (the end of the ``side`` chain). An unknown
mention keeps its own text as the actor.

Matching ignores a leading "the", a possessive "'s", accents, and case, except for names written
in capitals (acronyms such as "US" or "IT" match only in capitals, so "us" is never the United States).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import DataError

TYPES = ("state", "non-state", "international", "individual")
_KEYS = {"type", "country", "side", "aliases"}
_TOKEN = re.compile(r"[^\s,;:()\[\]\"“”]+")
_MAX_NGRAM = 8


@dataclass(frozen=True)
class Actor:
    name: str
    type: str
    country: str | None
    side: str  # the end of the side chain; the actor itself when it speaks for itself
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolved:
    """What a mention resolved to: ``actor`` (canonical name or the mention's own text) and ``side``."""

    mention: str
    actor: str
    side: str
    type: str | None  # None when the table does not know the mention
    known: bool


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).replace("’", "'").replace("‘", "'")


def _undotted(word: str) -> str:
    """A word without the full stop that ends its sentence ("Kyiv." -> "Kyiv"); "U.S." keeps its dots."""
    return word[:-1] if word.endswith(".") and word.count(".") == 1 and len(word) > 1 else word


@lru_cache(maxsize=1 << 16)  # pure, and called for every word of every sentence: names repeat
def _clean(text: str) -> str:
    """A mention as a name: whitespace collapsed, no leading "the", no possessive or edge punctuation."""
    text = " ".join(_fold(text).split()).strip(" ,;:\"'“”()[]")
    text = re.sub(r"^(?:the|The|THE|Mr\.?|Ms\.?|Mrs\.?|Dr\.?)\s+", "", text)
    text = re.sub(r"(?:'s|')$", "", text)
    return text.strip(" ,;:\"'")


@lru_cache(maxsize=1 << 16)
def key(text: str) -> str:
    """The lookup key of a name: cleaned; case-folded unless written all in capitals (an acronym)."""
    text = _clean(text)
    letters = [c for c in text if c.isalpha()]
    return text if letters and all(c.isupper() for c in letters) else text.casefold()


_TITLES = {"president", "minister", "prime", "foreign", "defence", "defense", "secretary", "general", "gen", "chief",
           "leader", "spokesman", "spokeswoman", "ambassador", "envoy", "commander", "chancellor", "premier", "king",
           "queen", "deputy", "vice", "senator", "governor", "mayor", "judge", "mr", "ms", "mrs", "dr", "executive"}


def _inside_other_name(text: str, hit: tuple[int, int, Actor]) -> bool:
    """True for a one-word name of a person glued to another capitalised word that is not a title: "Philippe"
    in "Philippe Martinez" is not Guy Philippe, "Henry" in "Henry Puna" is not Ariel Henry."""
    s, e, actor = hit
    if actor.type != "individual" or " " in text[s:e].strip():
        return False
    before = re.search(r"([A-Z][\w.'-]*)\s+$", text[:s])
    after = re.match(r"\s+([A-Z][\w'-]*)", text[e:])
    return any(m and m.group(1).strip(".").lower() not in _TITLES for m in (before, after))


# Words that end the head of a noun phrase: what follows them qualifies it ("leaders of Mali", "those who ...").
_HEAD_END = re.compile(r"\b(?:of|in|from|at|on|for|with|against|to|by|near|inside|outside|into|under|behind|"
                       r"across|along|among|between|who|whom|whose|which|that)\b")


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key repeated in one mapping (plain YAML keeps the last silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for k_node, _ in node.value:
        k = loader.construct_object(k_node, deep=deep)
        if k in seen:
            raise DataError(f"{loader.name}:{k_node.start_mark.line + 1}: actor or key {k!r} repeated "
                            f"(first at line {seen[k]})")
        seen[k] = k_node.start_mark.line + 1
    mapping = loader.construct_mapping(node, deep=deep)
    mapping["__lines__"] = seen
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class ActorTable:
    """Canonical actors with an alias index. Build with :meth:`load` (or :meth:`from_dict`)."""

    def __init__(self, actors: dict[str, Actor]):
        self.actors = actors
        self._index: dict[str, str] = {}
        # a one-word name written with a capital ("Labour", "Customers", "Memorial") is found only where the text
        # capitalises it too: in lower case it is a common word ("labour unions"); longer names in any case
        self._capitalised: set[str] = set()
        for actor in actors.values():
            for alias in (actor.name, *actor.aliases):
                self._index.setdefault(key(alias), actor.name)
                if " " not in _clean(alias) and any(c.isupper() for c in alias):
                    self._capitalised.add(key(alias))
        # the first word of every name, as its key: most words of a sentence start no name and are skipped
        self._first = {key(k.split(" ", 1)[0]) for k in self._index} | {k.split(" ", 1)[0] for k in self._index}

    def __len__(self) -> int:
        return len(self.actors)

    def __contains__(self, name: str) -> bool:
        return name in self.actors

    @classmethod
    def load(cls, path: str | Path) -> "ActorTable":
        """Read and check a YAML actor table; every problem names the file, line and actor."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(f"{path}: no such actor table") from None
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
        loader = _UniqueKeyLoader(text)
        loader.name = str(path)
        try:
            raw = loader.get_single_data()
        except yaml.YAMLError as e:
            raise DataError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
        finally:
            loader.dispose()
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: Any, where: str = "<actor table>") -> "ActorTable":
        if not isinstance(raw, dict) or not isinstance(raw.get("actors"), dict):
            raise DataError(f"{where}: expected a mapping with the key 'actors'")
        entries = raw["actors"]
        lines = entries.pop("__lines__", {})
        owner: dict[str, tuple[str, str]] = {}  # alias key -> (actor, alias as written)
        for name, e in entries.items():
            at = f"{where}:{lines[name]}" if name in lines else where
            if not isinstance(name, str) or not name.strip():
                raise DataError(f"{at}: actor names must be non-empty strings, got {name!r}")
            if not isinstance(e, dict):
                raise DataError(f"{at}: actor {name!r}: expected a mapping with type, country, side, aliases")
            e.pop("__lines__", None)
            unknown = set(e) - _KEYS
            if unknown:
                raise DataError(f"{at}: actor {name!r}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                                f"allowed: {', '.join(sorted(_KEYS))}")
            if e.get("type") not in TYPES:
                raise DataError(f"{at}: actor {name!r}: type {e.get('type')!r}; choose one of {', '.join(TYPES)}")
            for field in ("country", "side"):
                if e.get(field) is not None and not isinstance(e[field], str):
                    raise DataError(f"{at}: actor {name!r}: {field} must be a string")
            aliases = e.get("aliases") or []
            if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
                raise DataError(f"{at}: actor {name!r}: aliases must be a list of non-empty strings")
            for alias in (name, *aliases):
                k = key(alias)
                if not k:
                    raise DataError(f"{at}: actor {name!r}: alias {alias!r} is empty once 'the' and punctuation "
                                    "are removed")
                if k in owner and owner[k][0] != name:
                    raise DataError(f"{at}: alias {alias!r} of actor {name!r} is already a name of actor "
                                    f"{owner[k][0]!r} ({owner[k][1]!r}); an alias must name one actor")
                owner[k] = (name, alias)
        sides: dict[str, str] = {}
        for name, e in entries.items():
            seen = [name]
            cur = name
            while entries[cur].get("side") not in (None, cur):
                nxt = entries[cur]["side"]
                if nxt not in entries:
                    raise DataError(f"{where}:{lines.get(cur, '?')}: actor {cur!r}: side {nxt!r} is not an actor "
                                    "in the table")
                if nxt in seen:
                    raise DataError(f"{where}:{lines.get(name, '?')}: actor {name!r}: the side chain loops "
                                    f"({' -> '.join([*seen, nxt])})")
                seen.append(nxt)
                cur = nxt
            sides[name] = cur
        actors = {name: Actor(name, e["type"], e.get("country"), sides[name], tuple(e.get("aliases") or ()))
                  for name, e in entries.items()}
        return cls(actors)

    def lookup(self, name: str) -> Actor | None:
        """The actor whose name or alias is exactly ``name`` (after cleaning), or None. A name written with
        capitals is not found in words written without them: "labour ministry" is not the Labour Party."""
        k = key(name)
        hit = self._index.get(k)
        if hit is None or (k in self._capitalised and not any(c.isupper() for c in _clean(name))):
            return None
        return self.actors[hit]

    def find_all(self, text: str) -> list[tuple[int, int, Actor]]:
        """Known names in ``text`` as ``(start, end, actor)``, left to right, longest match first."""
        tokens = [(m.start(), m.end(), _clean(m.group())) for m in _TOKEN.finditer(text)]
        found = []
        i = 0
        while i < len(tokens):
            if not tokens[i][2] or not any(key(w) in self._first or w.casefold() in self._first or w.casefold() == "the"
                                           for w in (tokens[i][2], _undotted(tokens[i][2]))):
                i += 1
                continue
            for j in range(min(len(tokens), i + _MAX_NGRAM), i, -1):
                words = [t[2] for t in tokens[i:j] if t[2]]
                end = tokens[j - 1][1]
                actor = self.lookup(" ".join(words)) if words else None
                if actor is None and j - i > 1:  # a possessive inside a name: "People's Alliance for Democracy"
                    actor = self.lookup(text[tokens[i][0]:end])
                if actor is None and words and _undotted(words[-1]) != words[-1]:  # "... met Sergei Lavrov."
                    actor = self.lookup(" ".join([*words[:-1], _undotted(words[-1])]))
                    end = tokens[j - 1][0] + text[tokens[j - 1][0]:end].rindex(".")
                if actor is not None:
                    found.append((tokens[i][0], end, actor))
                    i = j - 1
                    break
            i += 1
        return found

    def _best_inside(self, mention: str) -> Actor | None:
        """The actor a longer mention names. A person who ends it is named in apposition to their titles
        ("Russian Foreign Minister Sergei Lavrov", "U.N. High Commissioner for Refugees Filippo Grandi"),
        unless a preposition governs them. Else the head decides: the names before the first preposition
        or relative word outside a name ("ELN commanders in Catatumbo" is the ELN, not Pablo Catatumbo).
        Among them a person (their side is the most specific), else a name that ends the head, as the
        words before it modify it ("Ukraine's Naftogaz", "Slovak pipeline operator Eustream"), else the
        first ("Russia's UN envoy"). A head that names no one leaves the whole mention: its person, else
        its first name ("leaders of Mali")."""
        hits = [h for h in self.find_all(mention) if not _inside_other_name(mention, h)]
        if not hits:
            return None
        last_s, last_e, last = hits[-1]
        if (last.type == "individual" and not re.search(r"\w", mention[last_e:])
                and not re.search(_HEAD_END.pattern + r"\W*$", mention[:last_s])):
            return last
        cut = next((m.start() for m in _HEAD_END.finditer(mention)
                    if not any(s <= m.start() < e for s, e, _ in hits)), len(mention))
        head = [h for h in hits if h[1] <= cut]
        people = [a for _, _, a in (head or hits) if a.type == "individual"]
        if people:
            return people[-1]
        if head and not re.search(r"\w", mention[head[-1][1]:cut]):
            return head[-1][2]
        return (head or hits)[0][2]

    def resolve(self, mention: str | None) -> Resolved | None:
        """The actor a mention names, and its side; None for a missing or empty mention."""
        if mention is None or not _clean(mention):
            return None
        actor = self.lookup(mention)
        if actor is None:
            parts = [p for p in re.split(r",\s*|\s+(?:and|or|&)\s+", _clean(mention)) if p.strip()]
            if len(parts) > 1:
                found = [self.lookup(p) or self._best_inside(p) for p in parts]
                if all(found) and len({a.side for a in found}) > 1:
                    sides = sorted({a.side for a in found})
                    return Resolved(mention, "; ".join(sorted({a.name for a in found})), "; ".join(sides),
                                    "group", True)
            actor = self._best_inside(mention)
        if actor is None:
            text = _clean(mention)
            return Resolved(mention, text, text, None, False)
        return Resolved(mention, actor.name, actor.side, actor.type, True)

    def side(self, mention: str | None) -> str | None:
        """Shorthand: the side a mention resolves to (its own text when unknown), None for no mention."""
        r = self.resolve(mention)
        return r.side if r else None
