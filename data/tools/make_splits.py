"""Assign whole groups to train/dev/test and write data/corpus/{train,dev,test,test-wire}.jsonl.

Splits are by group, so no conflict or dispute appears in two splits. Test and
dev groups are listed here explicitly, chosen to span continents, eras and kinds
of dispute; every other group goes to train. Records keep their file order.
The wire-register groups held out for testing go to their own file, test-wire.jsonl,
so that evaluation reports the older corpus register and the wire register apart.

Usage: python data/tools/make_splits.py [SOURCE.jsonl ...]   (default: the current split files, re-assigned)
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST = {
    "cuban-missile-crisis-1962", "nagorno-karabakh", "yemen-houthis-red-sea", "iran-hostage-crisis-1979",
    "taiwan-strait", "myanmar-coup-2021", "sudan-war", "western-sahara", "venezuela-crisis", "falklands-war-1982",
    "us-port-strike-2024", "zaporizhzhia-nuclear-plant", "solomon-islands-china-pact",
}
TEST_WIRE = {
    "mozambique-cabo-delgado-insurgency", "ecuador-gang-emergency-2024", "belize-guatemala-territorial-dispute",
    "catalonia-independence-2017", "france-pension-strikes-2023", "kyrgyzstan-tajikistan-border-clashes",
    "bangladesh-student-uprising-2024", "us-russia-prisoner-swaps", "south-korea-martial-law-2024",
}
DEV = {
    "senegal-election-delay-2024", "argentina-general-strikes", "saudi-canada-diplomatic-row-2018",
    "north-korea-japan-abductions", "hong-kong-protests-2019",
    "berlin-crisis-1961", "kosovo-serbia", "qatar-blockade-2017", "india-china-border", "ethiopia-tigray",
    "colombia-farc-peace", "airbus-boeing-wto", "greenland-us-denmark",
}


SPLITS = ("train", "dev", "test", "test-wire")


def split_of(group: str) -> str:
    return "test" if group in TEST else "test-wire" if group in TEST_WIRE else "dev" if group in DEV else "train"


def main(sources: list[str]) -> None:
    out = {split: [] for split in SPLITS}
    lines_in = [line for path in sources for line in Path(path).read_text(encoding="utf-8").splitlines()]
    for line in lines_in:
        if line.strip():
            out[split_of(json.loads(line)["group"])].append(line.strip())
    for split, lines in out.items():
        (ROOT / "data/corpus" / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        groups = {json.loads(x)["group"] for x in lines}
        print(f"{split}: {len(lines)} sentences, {len(groups)} groups")


if __name__ == "__main__":
    main(sys.argv[1:] or [str(ROOT / "data/corpus" / f"{s}.jsonl") for s in SPLITS
                          if (ROOT / "data/corpus" / f"{s}.jsonl").exists()])
