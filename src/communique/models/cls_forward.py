"""Inference that skips the work a BERT classifier never reads.

A BERT sequence classifier looks only at the ``[CLS]`` position of its last layer (through the
pooler). The full forward pass still computes that layer's query, attention output and
feed-forward block for every other position and throws them away. :class:`ClsOnlyForward` runs
the first L-1 layers unchanged and the last layer for ``[CLS]`` alone; keys and values still come
from every position, so the logits are the same computation up to float rounding (tested against
the full model), with about 5/6 less work in the last layer (1/6 of MiniLM-L6's encoder).

Used for inference only (``TransformerModel.logits`` and the ONNX export) through
:func:`inference_module`; training runs the unchanged model. Other architectures get the full
forward pass.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def supports(model: nn.Module) -> bool:
    """True for the BERT encoders this shortcut is written for (MiniLM, BERT, ...)."""
    cfg = getattr(model, "config", None)
    return (type(model).__name__ == "BertForSequenceClassification" and cfg is not None
            and getattr(cfg, "position_embedding_type", "absolute") == "absolute"
            and not getattr(cfg, "is_decoder", False) and not getattr(cfg, "add_cross_attention", False)
            and cfg.num_hidden_layers >= 2 and getattr(model.bert, "pooler", None) is not None)


class ClsOnlyForward(nn.Module):
    """``(input_ids, attention_mask, token_type_ids) -> logits``, sharing the model's weights."""

    def __init__(self, model: nn.Module):
        super().__init__()
        if not supports(model):
            raise ValueError(f"{type(model).__name__}: the [CLS]-only forward supports BERT classifiers only")
        from transformers import BertModel

        bert = model.bert
        cfg = copy.deepcopy(bert.config)
        cfg.num_hidden_layers -= 1
        with torch.device("meta"):  # no weights allocated: the real modules are put in below
            trunk = BertModel(cfg, add_pooling_layer=False)
        trunk.embeddings = bert.embeddings
        trunk.encoder.layer = nn.ModuleList(list(bert.encoder.layer)[:-1])
        if any(t.is_meta for t in [*trunk.parameters(), *trunk.buffers()]):
            raise ValueError("unexpected weights in BertModel; cannot build the [CLS]-only forward")
        self.trunk = trunk.eval()
        self.last = bert.encoder.layer[-1]
        self.pooler = bert.pooler
        self.classifier = model.classifier

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        h = self.trunk(input_ids=input_ids, attention_mask=attention_mask,
                       token_type_ids=token_type_ids).last_hidden_state
        attn = self.last.attention
        sa = attn.self
        b, t, _ = h.shape
        heads, size = sa.num_attention_heads, sa.attention_head_size
        cls = h[:, :1]
        q = sa.query(cls).view(b, 1, heads, size).transpose(1, 2)  # (b, heads, 1, size)
        k = sa.key(h).view(b, t, heads, size).transpose(1, 2)  # (b, heads, t, size)
        v = sa.value(h).view(b, t, heads, size).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (size ** -0.5)
        keep = attention_mask[:, None, None, :].bool()
        scores = scores.masked_fill(~keep, torch.finfo(scores.dtype).min)
        ctx = torch.matmul(scores.softmax(-1), v).transpose(1, 2).reshape(b, 1, heads * size)
        a = attn.output.LayerNorm(attn.output.dense(ctx) + cls)
        f = self.last.output.LayerNorm(self.last.output.dense(self.last.intermediate(a)) + a)
        return self.classifier(self.pooler(f))


class Logits(nn.Module):
    """A Hugging Face classifier's full forward pass as ``(input_ids, attention_mask[, token_type_ids]) -> logits``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits


def inference_module(model: nn.Module) -> nn.Module:
    """``features -> logits`` for inference, sharing ``model``'s weights: [CLS]-only where supported."""
    return (ClsOnlyForward(model) if supports(model) else Logits(model)).eval()
