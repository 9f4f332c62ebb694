"""A token tagger that marks the speaker and the target mention of a stance sentence.

A Hugging Face ``AutoModelForTokenClassification`` (the same encoder family as the stance model,
fine-tuned separately, so any stance family can carry it) with BIO tags for two roles. Trained by
the `Trainer` on the stance sentences that carry ``speaker_span`` / ``target_span`` offsets;
early stopping on dev token F1. :meth:`ActorTagger.spans` returns, per sentence, the best-scoring
speaker and target span as character offsets (or None where no token is tagged).

Inference follows the run's settings (:func:`communique.models.inference.set_inference`): precision
and batch size, and the runtime. Under ``onnx`` and ``onnx-int8`` alike the tagger runs fp32 ONNX
(exported once into ``actors/onnx/``): int8 weights changed at least one token's tag in about a tenth
of the sentences, and half of the sentences have a token too close to call to score again in fp32
at a saving (``bench/README.md``, "Who to whom").
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..corpus import span_problem
from ..errors import DataError, RunDirError
from ..labels import FALLBACK_LABEL
from ..models.encoders import device, encoder_settings, freeze, resolve_pretrained, training_attention, use_bf16

log = logging.getLogger(__name__)

TAGS = ("O", "B-SPK", "I-SPK", "B-TGT", "I-TGT")
ROLES = {"speaker": ("B-SPK", "I-SPK"), "target": ("B-TGT", "I-TGT")}
SETTINGS = "tagger.json"
Span = tuple[int, int]
# Under bf16, a sentence where any word's two likeliest tags are closer than this (in logits) is tagged
# again in fp32. With the default run on an AMX CPU, bf16 alone moved a speaker or target span in 3 of
# the 704 dev stance sentences, each with a gap under 0.001 (bf16 ties); 0.1, chosen there, sends 7.7% of
# them to fp32 (9.4% of the 1,110 test ones, where it removed all 6 changed spans). See bench/README.md.
RECHECK_GAP = 0.1


def _closest(probs: np.ndarray, offsets: list[tuple[int, int]]) -> float:
    """The smallest logit gap between the two likeliest tags of any word token of a sentence (inf if none)."""
    words = [k for k, (s, e) in enumerate(offsets) if e > s]
    if not words:
        return float("inf")
    top2 = np.log(np.sort(probs[words], axis=-1)[:, -2:] + 1e-30)
    return float((top2[:, 1] - top2[:, 0]).min())


def span_records(records: Sequence[dict[str, Any]], where: str = "data") -> list[dict[str, Any]]:
    """The stance sentences that carry mention spans, each span checked against its text."""
    out = []
    for i, r in enumerate(records):
        if r.get("label") == FALLBACK_LABEL or ("speaker_span" not in r and "target_span" not in r):
            continue
        for field in ("speaker_span", "target_span"):
            problem = span_problem(r["text"], r.get(field))
            if problem:
                raise DataError(f"{r.get('_source') or f'{where} record {i + 1}'}: {field}: {problem}")
        out.append(r)
    return out


def tag_ids(tokenizer, rows: Sequence[dict[str, Any]], enc) -> list[list[int]]:
    """Per row, the BIO tag index of each token of ``enc`` (the tokenizer's output for the rows'
    texts, with ``return_offsets_mapping``): special tokens -100, tokens inside ``speaker_span`` or
    ``target_span`` B-/I- of their role, the rest O."""
    labels = []
    specials = set(tokenizer.all_special_ids)
    for r, offsets, ids in zip(rows, enc["offset_mapping"], enc["input_ids"]):
        tags = [-100 if tok in specials else 0 for tok in ids]
        for role, (b, i_tag) in ROLES.items():
            span = r.get(f"{role}_span")
            if not span:
                continue
            first = True
            for k, (s, e) in enumerate(offsets):
                if tags[k] != -100 and e > s and s < span[1] and e > span[0]:
                    tags[k] = TAGS.index(b if first else i_tag)
                    first = False
        labels.append(tags)
    return labels


def tag_f1(tag_logits: np.ndarray, tag_labels: np.ndarray) -> float:
    """Macro F1 over the four span tags, on the tokens that carry a tag label."""
    from sklearn.metrics import f1_score

    y_pred = np.asarray(tag_logits).argmax(-1).ravel()
    y_true = np.asarray(tag_labels).ravel()
    keep = y_true != -100
    return float(f1_score(y_true[keep], y_pred[keep], labels=range(1, len(TAGS)), average="macro", zero_division=0))


def _word_bounds(text: str, start: int, end: int) -> Span | None:
    """Trim punctuation off a span's edges (keeping an abbreviation's dot, as in "U.S.") and widen it to
    whole words, so a tagged sub-word never cuts a name; None when nothing but punctuation is left."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum() and not (
            text[end - 1] == "." and end - start >= 3 and text[end - 3] == "." and text[end - 2].isupper()):
        end -= 1
    if start >= end:
        return None
    abbreviation = re.match(r"(?:[A-Z]\.){2,}", text[start:])  # "U.S.", "U.N.": never cut after the first dot
    if abbreviation:
        end = max(end, start + abbreviation.end())
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


_DATELINE = re.compile(r"[A-Z][A-Z .'-]+,[^()\n]{0,60}\([^()\n]{1,60}\)\s*[—–-]+")


def _dateline(text: str, span: Span) -> bool:
    """A span in the dateline opening a lead sentence ("ABUJA, July 30 (Meridian Wire) —"), the place in
    capitals or the agency: furniture, not a speaker."""
    s, e = span
    word = text[s:e]
    if s == 0 and len(word) > 3 and word.isupper() and text[e:e + 1] == ",":
        return True
    m = _DATELINE.match(text)
    return bool(m) and s < m.end()


class ActorTagger:
    def __init__(self, model, tokenizer, max_length: int = 128):
        self.model_, self.tokenizer_, self.max_length_ = model, tokenizer, max_length
        self.batch_size = 64
        self.precision = "auto"
        self.runtime = "torch"  # torch, or onnx / onnx-int8: fp32 ONNX Runtime for both
        self.path_: Path | None = None  # where a loaded tagger lives (its ONNX export goes in onnx/ there)

    # ---- training -------------------------------------------------------------
    @classmethod
    def fit(cls, train: Sequence[dict[str, Any]], dev: Sequence[dict[str, Any]] | None, pretrained: str,
            training_cfg, max_length: int, epochs: float, work_dir: Path, *, layers: int = 0,
            dropout: tuple[float | None, float | None] = (None, None)) -> "ActorTagger":
        """Fine-tune ``pretrained`` (its ``layers`` lowest layers, 0 = all; ``dropout`` on hidden states and
        attention weights, None = the encoder's own) to tag the speaker and target spans."""
        from datasets import Dataset
        from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                                  EarlyStoppingCallback, Trainer, TrainingArguments)

        tc = training_cfg
        source = resolve_pretrained(pretrained)
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        if not getattr(tokenizer, "is_fast", False):
            raise DataError(f"{pretrained}: the actor tagger needs a fast tokenizer (character offsets)")
        model = AutoModelForTokenClassification.from_pretrained(
            source, num_labels=len(TAGS), id2label=dict(enumerate(TAGS)), label2id={t: i for i, t in enumerate(TAGS)},
            ignore_mismatched_sizes=True, trust_remote_code=False,
            **encoder_settings(source, *dropout, layers, layers_key="actor_layers"), **training_attention())
        freeze(model, tc.freeze_embeddings, tc.frozen_layers)
        self = cls(model, tokenizer, max_length)

        def encode(rows: Sequence[dict[str, Any]]) -> Dataset:
            enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=max_length,
                            return_offsets_mapping=True)
            return Dataset.from_dict({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                                      "labels": tag_ids(tokenizer, rows, enc)})

        train_ds = encode(train)
        dev_ds = encode(dev) if dev else None

        def metrics(pred) -> dict[str, float]:
            return {"tag_f1": tag_f1(pred.predictions, pred.label_ids)}

        args = TrainingArguments(
            output_dir=str(Path(work_dir) / "checkpoints-actors"), num_train_epochs=epochs,
            per_device_train_batch_size=tc.batch_size, per_device_eval_batch_size=64,
            learning_rate=tc.learning_rate, weight_decay=tc.weight_decay, warmup_steps=tc.warmup_ratio,
            eval_strategy="epoch" if dev_ds is not None else "no", save_strategy="epoch", save_total_limit=2,
            load_best_model_at_end=dev_ds is not None, metric_for_best_model="tag_f1", greater_is_better=True,
            logging_steps=10, seed=tc.seed, bf16=use_bf16(tc.precision), use_cpu=not torch.cuda.is_available(),
            report_to="none", dataloader_num_workers=0,
            train_sampling_strategy="group_by_length" if tc.group_by_length else "random")
        callbacks = [EarlyStoppingCallback(early_stopping_patience=tc.patience)] if dev_ds is not None else []
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
                          processing_class=tokenizer, data_collator=DataCollatorForTokenClassification(tokenizer),
                          compute_metrics=metrics, callbacks=callbacks)
        trainer.train()
        self.state_ = {"best_tag_f1": trainer.state.best_metric, "epochs_run": trainer.state.epoch}
        self.model_ = trainer.accelerator.unwrap_model(trainer.model).to(device()).eval()
        return self

    # ---- inference -------------------------------------------------------------
    def tag_probs(self, texts: Sequence[str]) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
        """Per text: tag probabilities (tokens x tags) and each token's character offsets."""
        out: list[Any] = [None] * len(texts)
        if not texts:
            return out
        enc = self.tokenizer_(list(texts), truncation=True, max_length=self.max_length_, return_offsets_mapping=True)
        bf16 = self.runtime == "torch" and use_bf16(self.precision)
        self._fill(out, enc, np.arange(len(texts)), self._forward(bf16))
        if bf16:  # as for stance: a sentence with a close call on any of its words is tagged again in fp32
            close = np.flatnonzero([_closest(probs, offsets) < RECHECK_GAP for probs, offsets in out])
            if close.size:
                self._fill(out, enc, close, self._forward(False))
        return out

    def _fill(self, out: list, enc, which: np.ndarray, forward) -> None:
        """Tag the encoded texts ``which`` with ``forward``, longest first, into ``out``."""
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        specials = set(self.tokenizer_.all_special_ids)
        order = which[np.argsort([len(enc["input_ids"][i]) for i in which], kind="stable")[::-1]]
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            logits = forward(self.tokenizer_.pad({k: [enc[k][i] for i in idx] for k in keys}, return_tensors="np"))
            probs = np.exp(logits - logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            for row, i in enumerate(idx):
                n = len(enc["input_ids"][i])
                offsets = [tuple(o) if tok not in specials else (0, 0)
                           for o, tok in zip(enc["offset_mapping"][i], enc["input_ids"][i])]
                out[i] = (probs[row, :n], offsets)

    def _forward(self, bf16: bool):
        """``padded numpy features -> float32 logits`` under the current runtime, in bf16 or fp32."""
        if self.runtime != "torch":
            return self._onnx_session()
        dev = next(self.model_.parameters()).device

        def run(feats: dict[str, np.ndarray]) -> np.ndarray:
            with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                return self.model_(**{k: torch.from_numpy(v).to(dev) for k, v in feats.items()}).logits.float().cpu().numpy()
        return run

    def _onnx_session(self):
        """The fp32 ONNX Runtime session of the tagger, exported beside its weights on first use."""
        from ..models.onnx_runtime import cached_session

        if self.path_ is None:
            raise ValueError("the ONNX runtime needs a saved tagger (load the run with load_model)")
        if getattr(self, "_sessions", None) is None:
            self._sessions = {}
        return cached_session(self._sessions, lambda: _TokenLogits(self.model_), self.tokenizer_,
                              self.path_ / "onnx")

    def spans(self, texts: Sequence[str]) -> list[dict[str, Span | None]]:
        """Per text: ``{"speaker": (start, end) | None, "target": (start, end) | None}``."""
        result = []
        for text, item in zip(texts, self.tag_probs(texts)):
            probs, offsets = item
            tags = probs.argmax(-1)
            found: dict[str, Span | None] = {}
            for role, (b, i_tag) in ROLES.items():
                bi, ii = TAGS.index(b), TAGS.index(i_tag)
                best, best_score = None, 0.0
                k = 0
                while k < len(tags):
                    if tags[k] in (bi, ii) and offsets[k][1] > offsets[k][0]:
                        j = k + 1
                        while j < len(tags) and tags[j] == ii and offsets[j][1] > offsets[j][0]:
                            j += 1
                        score = float(np.mean(probs[k:j, bi] + probs[k:j, ii]))
                        span = _word_bounds(text, offsets[k][0], offsets[j - 1][1])
                        if span is not None and _dateline(text, span):
                            span = None
                        if span is not None and score > best_score:
                            best, best_score = span, score
                        k = j
                    else:
                        k += 1
                found[role] = best
            result.append(found)
        return result

    # ---- persistence ---------------------------------------------------------------
    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.model_.save_pretrained(path, safe_serialization=True)
        self.tokenizer_.save_pretrained(path)
        (path / SETTINGS).write_text(json.dumps({"tags": list(TAGS), "max_length": self.max_length_}, indent=2),
                                     encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "ActorTagger":
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        from ..safety import refuse_remote_code

        try:
            settings = json.loads((path / SETTINGS).read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise RunDirError(f"{path / SETTINGS}: missing or not valid JSON ({e})") from None
        if not isinstance(settings, dict) or settings.get("tags") != list(TAGS):
            raise RunDirError(f"{path / SETTINGS}: tags {settings.get('tags') if isinstance(settings, dict) else None}"
                              f" differ from {list(TAGS)}")
        max_length = settings.get("max_length")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 8:
            raise RunDirError(f"{path / SETTINGS}: key 'max_length' must be an integer of at least 8")
        refuse_remote_code(path)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
            model = AutoModelForTokenClassification.from_pretrained(path, use_safetensors=True,
                                                                    trust_remote_code=False)
        except Exception as e:  # truncated or missing weight files: the run is damaged, say so
            raise RunDirError(f"{path}: cannot load the actor tagger; a file is missing or damaged "
                              f"({type(e).__name__}: {str(e)[:200]})") from None
        self = cls(model.to(device()).eval(), tokenizer, max_length)
        self.path_ = path
        return self


class _TokenLogits(torch.nn.Module):
    """The token classifier as ``features -> logits``, the one output the ONNX export names."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits
