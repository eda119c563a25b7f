"""Training configuration: defaults, JSON files and command-line flags, checked key by key."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
MODELS = ("mlp", "cnn", "resnet18")
OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved inside each checkpoint."""

    dataset: str = "digits"
    model: str = "cnn"
    epochs: int = 15
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    patience: int = 5
    num_workers: int = 0
    data_dir: str = "data"
    download: bool = False
    out_dir: str = "runs/ember"
    device: str = "cpu"

    def check(self) -> TrainConfig:
        """Raise ValueError naming the first setting that is out of range."""
        choices = {"dataset": DATASETS, "model": MODELS, "optimizer": OPTIMIZERS}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"config key '{key}' must be one of {', '.join(allowed)}; "
                                 f"got {getattr(self, key)!r}")
        positive = ("epochs", "batch_size", "lr")
        for key in positive:
            if getattr(self, key) <= 0:
                raise ValueError(f"config key '{key}' must be positive, got {getattr(self, key)}")
        for key in ("val_fraction", "test_fraction"):
            if not 0.0 <= getattr(self, key) < 0.5:
                raise ValueError(f"config key '{key}' must be in [0, 0.5), got "
                                 f"{getattr(self, key)}")
        if self.patience < 0 or self.num_workers < 0 or self.weight_decay < 0:
            raise ValueError("config keys 'patience', 'num_workers' and 'weight_decay' must not "
                             "be negative")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


_TYPES = {f.name: f.type for f in fields(TrainConfig)}
_PY = {"str": str, "int": int, "float": float, "bool": bool}


def from_dict(values: dict, source: str = "config") -> TrainConfig:
    """A config from a plain dict, with errors that name the key and the expected type."""
    known = {f.name for f in fields(TrainConfig)}
    out = {}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"{source}: unknown key '{key}'. Known keys: "
                             f"{', '.join(sorted(known))}")
        want = _PY[_TYPES[key]]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ValueError(f"{source}: key '{key}' expects {want.__name__}, got "
                             f"{value!r} ({type(value).__name__})")
        out[key] = value
    return TrainConfig(**out).check()


def load_config(path: str | None, overrides: dict) -> TrainConfig:
    """Defaults, then a JSON file's keys, then command-line overrides."""
    values = {}
    if path:
        p = Path(path)
        if not p.exists():
            raise ValueError(f"config file {path} does not exist")
        try:
            values = json.loads(p.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"config file {path} is not valid JSON: {err}") from None
        if not isinstance(values, dict):
            raise ValueError(f"config file {path} must hold a JSON object")
        from_dict(values, source=str(path))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(values, source=str(path) if path else "command line")
