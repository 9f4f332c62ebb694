"""Fine-tuned sequence classifier (any `AutoModelForSequenceClassification`) via the `Trainer`.

The Trainer provides what we need and we do not rewrite: checkpoints and
``--resume``, early stopping with the best model restored, bf16 autocast,
gradient accumulation and multi-process launch under ``torchrun``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score

from ..config import MINILM
from ..labels import LABEL2ID, LABELS
from . import joint
from .base import StanceModel
from .encoders import device, encoder_settings, freeze, resolve_pretrained, training_attention, use_bf16

log = logging.getLogger(__name__)

# With int8 weights (--runtime onnx-int8) or bf16 weights, a sentence whose top two logits are closer
# than this is scored again in fp32: reduced precision flips labels almost only in such close calls. Chosen on
# the dev split with the default run: int8 agreement with fp32 went from 99.04% to 99.84% (2.2% of the
# sentences scored again), bf16 autocast (emulated on a CPU without bf16) from 99.92% to 100% (2.3%); bf16
# weights on an AMX CPU agreed on 100% before and after (2.5% scored again).
# See bench/README.md, "int8 quantisation".
RECHECK_GAP = 1.0


def close_calls(logits: np.ndarray) -> np.ndarray:
    """Rows whose two highest logits are less than ``RECHECK_GAP`` apart."""
    top2 = np.sort(logits, axis=1)[:, -2:]
    return np.flatnonzero(top2[:, 1] - top2[:, 0] < RECHECK_GAP)


def _metrics(pred) -> dict[str, float]:
    logits, labels, extra = pred.predictions, pred.label_ids, {}
    if isinstance(logits, tuple):  # stance and span tags from one encoder (models/joint.py)
        from ..actors.tagger import tag_f1

        (logits, tag_logits), (labels, tag_labels) = logits, labels
        extra = {"tag_f1": tag_f1(tag_logits, tag_labels)}
    y_pred = np.asarray(logits).argmax(-1)
    return {"accuracy": accuracy_score(labels, y_pred),
            "macro_f1": f1_score(labels, y_pred, average="macro", labels=range(len(LABELS)), zero_division=0),
            **extra}


def _weighted_loss(weights: torch.Tensor):
    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        return torch.nn.functional.cross_entropy(logits.float(), labels, weight=weights.to(logits.device))
    return loss


class TransformerModel(StanceModel):
    family = "transformer"

    config_keys: ClassVar[dict[str, str]] = {
        "pretrained": "model.pretrained", "max_length": "model.max_length", "hidden_dropout": "model.hidden_dropout",
        "attention_dropout": "model.attention_dropout", "layers": "model.layers",
        **{name: f"training.{name}" for name in (
            "epochs", "batch_size", "grad_accum", "learning_rate", "weight_decay", "warmup_ratio", "class_weighted",
            "patience", "precision", "seed", "group_by_length", "freeze_embeddings", "frozen_layers", "report_to")}}

    def __init__(self, pretrained: str = MINILM, max_length: int = 128, epochs: float = 8.0, batch_size: int = 32,
                 grad_accum: int = 1, learning_rate: float = 5e-5, weight_decay: float = 0.01,
                 warmup_ratio: float = 0.1, class_weighted: bool = False, patience: int = 2,
                 precision: str = "auto", seed: int = 13, group_by_length: bool = True,
                 freeze_embeddings: bool = False, frozen_layers: int = 0, report_to: str = "none",
                 runtime: str = "torch", inference_batch_size: int = 64, hidden_dropout: float | None = None,
                 attention_dropout: float | None = None, layers: int = 0):
        self.pretrained = pretrained
        self.layers = layers  # keep only the encoder's lowest N layers (0: all)
        self.hidden_dropout, self.attention_dropout = hidden_dropout, attention_dropout  # None: the encoder's own
        self.max_length = max_length
        self.epochs = epochs
        self.batch_size = batch_size
        self.grad_accum = grad_accum
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.class_weighted = class_weighted
        self.patience = patience
        self.precision = precision  # training autocast, and inference unless set_inference changes it
        self.seed = seed
        self.group_by_length = group_by_length
        self.freeze_embeddings = freeze_embeddings
        self.frozen_layers = frozen_layers
        self.report_to = report_to
        self.runtime = runtime  # torch | onnx | onnx-int8 (see models/onnx_runtime.py)
        self.inference_batch_size = inference_batch_size

    # ---- training -------------------------------------------------------
    def fit(self, train, dev=None, work_dir: Path | None = None, resume: bool = False, *,
            spans: bool = False) -> "TransformerModel":
        """Fine-tune on ``train``. With ``spans``, also a span-tag head on the same encoder, trained on the
        stance sentences' ``speaker_span``/``target_span`` (see models/joint.py) and kept as ``span_model_``."""
        from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                                  EarlyStoppingCallback, Trainer, TrainingArguments)

        from ..config import check_report_to

        check_report_to(self.report_to, self.family)  # also when fitted from Python without load_config
        source = resolve_pretrained(self.pretrained)
        self.path_: Path | None = None  # where the saved model lives (the ONNX export is cached there)
        self.tokenizer_ = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        settings = {**encoder_settings(source, self.hidden_dropout, self.attention_dropout, self.layers),
                    **training_attention()}
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=LABEL2ID,
            ignore_mismatched_sizes=True, trust_remote_code=False, **settings)
        trainable = freeze(model, self.freeze_embeddings, self.frozen_layers)
        log.info("%d of %d weights trained", trainable, model.num_parameters())
        weights = self._class_weights(train) if self.class_weighted else None
        if spans:
            model, token_model = joint.build(model, source, weights, settings)

        def encode(batch):
            enc = self.tokenizer_(batch["text"], truncation=True, max_length=self.max_length,
                                  return_offsets_mapping=spans)
            enc["labels"] = [LABEL2ID[label] for label in batch["label"]]
            if spans:
                enc["tag_labels"] = joint.tag_labels(self.tokenizer_, batch, enc)
            return enc

        keep = ["input_ids", "attention_mask", "token_type_ids", "labels", "tag_labels"]

        def tokenise(data, name):
            data = data.map(encode, batched=True, desc=f"tokenising {name}")
            return data.remove_columns([c for c in data.column_names if c not in keep])

        train_tok = tokenise(train, "train")
        dev_tok = tokenise(dev, "dev") if dev is not None else None

        on_cpu = not torch.cuda.is_available()
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if work_dir is None:  # fitted outside `train()`: keep checkpoints out of the caller's directory
            import tempfile

            work_dir = tempfile.mkdtemp(prefix="communique-")
        work_dir = Path(work_dir)
        args = TrainingArguments(
            output_dir=str(work_dir / "checkpoints"),
            num_train_epochs=self.epochs,
            per_device_train_batch_size=self.batch_size,
            per_device_eval_batch_size=self.inference_batch_size,
            gradient_accumulation_steps=self.grad_accum,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            warmup_steps=self.warmup_ratio,  # a float in [0, 1) is a ratio of total steps
            eval_strategy="epoch" if dev_tok is not None else "no",
            save_strategy="epoch",
            save_total_limit=2,
            load_best_model_at_end=dev_tok is not None,
            metric_for_best_model="macro_f1",
            greater_is_better=True,
            logging_steps=10,
            seed=self.seed,
            bf16=use_bf16(self.precision),
            use_cpu=on_cpu,
            ddp_backend="gloo" if on_cpu and world > 1 else None,
            report_to=self.report_to,
            dataloader_num_workers=0,
            train_sampling_strategy="group_by_length" if self.group_by_length else "random",
        )
        callbacks = [EarlyStoppingCallback(early_stopping_patience=self.patience)] if dev_tok is not None else []
        loss_func = _weighted_loss(weights) if weights is not None and not spans else None  # joint: in the module
        trainer = Trainer(model=model, args=args, train_dataset=train_tok, eval_dataset=dev_tok,
                          processing_class=self.tokenizer_,
                          data_collator=joint.Collator(self.tokenizer_) if spans else DataCollatorWithPadding(
                              self.tokenizer_),
                          compute_metrics=_metrics, callbacks=callbacks,
                          compute_loss_func=loss_func)
        if self.report_to == "tensorboard" and not os.environ.get("TENSORBOARD_LOGGING_DIR"):
            from transformers.integrations import TensorBoardCallback

            for cb in trainer.callback_handler.callbacks:  # default is checkpoints/runs, removed after training
                if isinstance(cb, TensorBoardCallback):
                    cb.logging_dir = str(work_dir / "tensorboard")
        checkpoint = None
        if resume:
            from transformers.trainer_utils import get_last_checkpoint

            checkpoint = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
            log.info("resuming from %s", checkpoint or "scratch (no checkpoint found)")
        trainer.train(resume_from_checkpoint=checkpoint)
        self.trainer_state_ = {"best_metric": trainer.state.best_metric,
                               "best_checkpoint": trainer.state.best_model_checkpoint,
                               "epochs_run": trainer.state.epoch, "log_history": trainer.state.log_history}
        trained = trainer.accelerator.unwrap_model(trainer.model)
        self.span_model_ = None
        if spans:
            trained, self.span_model_ = joint.split(trained, token_model)
            self.span_model_.to(device()).eval()
        self.model_ = trained.to(device()).eval()
        return self

    @staticmethod
    def _class_weights(train) -> torch.Tensor:
        counts = np.bincount([LABEL2ID[label] for label in train["label"]], minlength=len(LABELS)).astype(np.float64)
        weights = counts.sum() / (len(LABELS) * np.maximum(counts, 1.0))
        log.info("class weights: %s", dict(zip(LABELS, np.round(weights, 3))))
        return torch.tensor(weights, dtype=torch.float32)

    # ---- inference --------------------------------------------------------
    def encode_batches(self, texts: Sequence[str], batch_size: int | None = None, tensors: str = "pt"):
        """Yield ``(positions, features)``, length-sorted so padding stays small.

        Tokenisation runs once over all texts in the fast (Rust) tokenizer;
        each batch is then padded only to its own longest member.
        """
        batch_size = batch_size or self.inference_batch_size
        enc = self.tokenizer_(list(texts), truncation=True, max_length=self.max_length)
        order = np.argsort([len(ids) for ids in enc["input_ids"]], kind="stable")[::-1]
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            feats = self.tokenizer_.pad({k: [enc[k][i] for i in idx] for k in keys}, return_tensors=tensors)
            yield idx, feats

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Logits of ``texts`` under the inference settings. A reduced-precision forward (int8 or bf16
        weights) scores again in fp32 the sentences it calls close (see ``RECHECK_GAP``)."""
        bf16 = self.runtime == "torch" and use_bf16(self.precision)
        out = self._forward(texts, self.runtime, bf16)
        if self.runtime == "onnx-int8" or bf16:
            close = close_calls(out)
            if close.size:
                out[close] = self._forward([texts[i] for i in close], "torch" if bf16 else "onnx", False)
        return out

    def _forward(self, texts: Sequence[str], runtime: str, bf16: bool) -> np.ndarray:
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        if not len(texts):
            return out
        if runtime != "torch":
            session = self._onnx_session(runtime)
            for idx, feats in self.encode_batches(texts, tensors="np"):
                out[idx] = session(feats)
            return out
        dev = next(self.model_.parameters()).device
        net = self._inference_net(bf16)
        cuda = dev.type == "cuda"
        done = []  # on a GPU the logits stay there until every batch is queued: one wait, not one per batch
        with torch.inference_mode():
            for idx, feats in self.encode_batches(texts):
                feats = {k: v.pin_memory().to(dev, non_blocking=True) if cuda else v.to(dev) for k, v in feats.items()}
                done.append((idx, net(**feats).float()))
        for idx, logits in done:
            out[idx] = logits.cpu().numpy()
        return out

    def _inference_net(self, bf16: bool = False):
        """``features -> logits``, the [CLS]-only forward where the architecture allows (see cls_forward);
        built once per fitted or loaded model. With ``bf16``, a copy whose weights are cast to bf16 once
        (autocast casts every weight again in every batch; the copy was 22% faster on AMX, bench/README.md); the
        fp32 model stays as it is, for the close calls scored again."""
        from .cls_forward import inference_module

        if getattr(self, "_net_for", None) is not self.model_:
            self._net, self._net_for, self._net_bf16 = inference_module(self.model_), self.model_, None
        if bf16 and self._net_bf16 is None:
            import copy

            self._net_bf16 = copy.deepcopy(self._net).to(torch.bfloat16)
        return self._net_bf16 if bf16 else self._net

    def _onnx_session(self, runtime: str):
        """The ONNX Runtime session of ``runtime`` (onnx or onnx-int8), made once per thread count."""
        from .onnx_runtime import cached_session

        if self.path_ is None:
            raise ValueError("ONNX runtime needs a saved model (load it with load_model)")
        if getattr(self, "_sessions", None) is None:
            self._sessions = {}
        return cached_session(self._sessions, self._inference_net, self.tokenizer_, self.path_ / "onnx",
                              int8=runtime == "onnx-int8")

    # ---- persistence --------------------------------------------------------
    def _save_weights(self, path: Path) -> dict[str, Any]:
        self.model_.save_pretrained(path, safe_serialization=True)
        self.tokenizer_.save_pretrained(path)
        return {"max_length": self.max_length, "pretrained": self.pretrained}

    @classmethod
    def _load_weights(cls, path: Path, settings: dict[str, Any]) -> "TransformerModel":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from ..safety import refuse_remote_code

        refuse_remote_code(path)
        self = cls(pretrained=settings.get("pretrained") or MINILM, max_length=int(settings["max_length"]))
        self.tokenizer_ = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        self.model_ = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True,
                                                                         trust_remote_code=False)
        self.model_.to(device()).eval()
        self.path_ = Path(path)
        return self
