"""One encoder for stance and spans: the transformer family's model with a token head beside its
sentence head, trained once on both tasks (``model.actor_encoder: shared``).

The separate actor tagger fine-tunes a second copy of the encoder, which adds about 40% to the
training time. Here every training step feeds the stance loss of each sentence and the span-tag loss of each
stance sentence with spans through the same encoder. After training the module splits back into
the two models a run directory already holds: a sequence classifier and a token classifier (the
trained encoder copied under the token head), so loading, scoring and export are unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..actors.tagger import TAGS, tag_ids


class StanceAndSpans(nn.Module):
    """A sequence classifier plus a token head on its encoder's last hidden states."""

    def __init__(self, stance, token_head: nn.Module, dropout: nn.Module, class_weights: torch.Tensor | None = None):
        super().__init__()
        self.stance, self.token_head, self.dropout = stance, token_head, dropout
        self.register_buffer("class_weights", class_weights, persistent=False)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, tag_labels=None):
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        out = self.stance(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, **extra)
        tag_logits = self.token_head(self.dropout(out.hidden_states[-1]))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(out.logits.float(), labels, weight=self.class_weights)
        if tag_labels is not None and bool((tag_labels != -100).any()):  # a batch of "other" only has no tags
            tag_loss = nn.functional.cross_entropy(tag_logits.float().reshape(-1, len(TAGS)), tag_labels.reshape(-1),
                                                   ignore_index=-100)
            loss = tag_loss if loss is None else loss + tag_loss  # equal weights (0.3 for the tags measured worse)
        return {"loss": loss, "logits": out.logits, "tag_logits": tag_logits}


def build(stance, source: str, class_weights: torch.Tensor | None = None, settings: dict[str, Any] | None = None):
    """The joint module around a fresh sequence classifier, and the token classifier whose head it trains
    (``settings``: the stance encoder's ``from_pretrained`` overrides, so the two configs agree)."""
    from transformers import AutoModelForTokenClassification

    from ..errors import ConfigError

    tokens = AutoModelForTokenClassification.from_pretrained(
        source, num_labels=len(TAGS), id2label=dict(enumerate(TAGS)), label2id={t: i for i, t in enumerate(TAGS)},
        ignore_mismatched_sizes=True, trust_remote_code=False, **(settings or {}))
    head = getattr(tokens, "classifier", None)
    if not isinstance(head, nn.Linear):
        raise ConfigError(f"model.actor_encoder: shared needs a token classifier with a linear `classifier` head; "
                          f"{type(tokens).__name__} has none (use a separate encoder for the tagger)")
    dropout = tokens.dropout if isinstance(getattr(tokens, "dropout", None), nn.Module) else nn.Identity()
    return StanceAndSpans(stance, head, dropout, class_weights), tokens


def split(joint: StanceAndSpans, tokens):
    """The trained sequence classifier, and the token classifier given the trained encoder."""
    missing, _unused = tokens.base_model.load_state_dict(joint.stance.base_model.state_dict(), strict=False)
    if missing:  # the token model's encoder must be wholly the trained one
        raise RuntimeError(f"the token classifier's encoder lacks trained weights for {missing[:5]}")
    return joint.stance, tokens


def tag_labels(tokenizer, batch: dict[str, list], enc) -> list[list[int]]:
    """``tag_labels`` for a tokenised batch (``enc`` with offsets): span tags on stance sentences with
    spans, all -100 (no tag loss) elsewhere."""
    from ..labels import FALLBACK_LABEL

    rows = [{k: batch[k][i] for k in ("label", "speaker_span", "target_span") if k in batch}
            for i in range(len(batch["text"]))]
    tags = tag_ids(tokenizer, rows, enc)
    for i, r in enumerate(rows):
        if r["label"] == FALLBACK_LABEL or not (r.get("speaker_span") or r.get("target_span")):
            tags[i] = [-100] * len(tags[i])
    return tags


class Collator:
    """Pads the tokenizer's features as `DataCollatorWithPadding` does and ``tag_labels`` with -100."""

    def __init__(self, tokenizer):
        from transformers import DataCollatorWithPadding

        self.pad = DataCollatorWithPadding(tokenizer)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        tags = [f.pop("tag_labels") for f in features]
        batch = self.pad(features)
        width = batch["input_ids"].shape[1]
        batch["tag_labels"] = torch.tensor([t + [-100] * (width - len(t)) for t in tags], dtype=torch.long)
        return batch
