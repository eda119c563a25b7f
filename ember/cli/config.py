"""Training configuration: defaults, a saved run's config, a JSON file and command-line flags.

Each later layer overrides the earlier ones (defaults < the resumed run's config < ``--config``
file < flags). Every value is checked, and an error names the value where the user wrote it:
``--epochs must be positive, got 0`` for a flag, ``run.json: key 'epochs' must be positive, got
0`` for a config file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .errors import CLIError

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
MODELS = ("mlp", "cnn", "resnet18")
OPTIMIZERS = ("adam", "adamw", "sgd")
DEFAULT_OUT_DIR = "runs/ember"
# what a resumed run cannot change: the model and its optimizer state, and the data split
FIXED_ON_RESUME = ("dataset", "model", "optimizer", "seed", "val_fraction", "test_fraction")


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved inside each checkpoint.

    Example:
        >>> TrainConfig(model="mlp", epochs=2).check().epochs
        2
    """

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
    out_dir: str = DEFAULT_OUT_DIR
    device: str = "cpu"

    def check(self) -> TrainConfig:
        """Raise ConfigError naming the first setting that is out of range."""
        choices = {"dataset": DATASETS, "model": MODELS, "optimizer": OPTIMIZERS}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(key, f"must be one of {', '.join(allowed)}; "
                                       f"got {getattr(self, key)!r}")
        for key in ("epochs", "batch_size", "lr"):
            if getattr(self, key) <= 0:
                raise ConfigError(key, f"must be positive, got {getattr(self, key)}")
        for key in ("val_fraction", "test_fraction"):
            if not 0.0 <= getattr(self, key) < 0.5:
                raise ConfigError(key, f"must be in [0, 0.5), got {getattr(self, key)}")
        for key in ("patience", "num_workers", "weight_decay", "momentum"):
            if getattr(self, key) < 0:
                raise ConfigError(key, f"must not be negative, got {getattr(self, key)}")
        for key in ("data_dir", "out_dir"):
            if not getattr(self, key):
                raise ConfigError(key, "must not be empty")
        _check_device(self.device)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


class ConfigError(ValueError):
    """A setting out of range; ``key`` says which, ``problem`` what is wrong with it."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"config key '{key}' {problem}")
        self.key, self.problem = key, problem


def _check_device(device: str) -> None:
    import ember

    try:
        dev = ember.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError("device", f"must be cpu, cuda or cuda:N, got {device!r}") from None
    if dev.type == "meta":
        raise ConfigError("device", "is 'meta', which holds no data to train on; use cpu or cuda")
    if dev.type == "cuda":
        count = ember.cuda.device_count() if ember.cuda.is_available() else 0
        if count == 0:
            raise ConfigError("device", f"is {device!r}, but no CUDA device is available "
                                        "(ember needs CuPy and a GPU for cuda); use cpu")
        if dev.index is not None and dev.index >= count:
            raise ConfigError("device", f"is {device!r}, but only {count} CUDA device(s) exist")


def flag(key: str) -> str:
    """The command-line flag of a config key: ``batch_size`` -> ``--batch-size``."""
    return "--" + key.replace("_", "-")


_TYPES = {f.name: f.type for f in fields(TrainConfig)}
_PY = {"str": str, "int": int, "float": float, "bool": bool}
KEYS = tuple(_TYPES)


def typed_values(values: dict, source: str) -> dict:
    """Check a dict's keys and value types; ``source`` names it in errors."""
    out = {}
    for key, value in values.items():
        if key not in _TYPES:
            raise CLIError(f"{source}: unknown key '{key}'. Known keys: {', '.join(KEYS)}")
        want = _PY[_TYPES[key]]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise CLIError(f"{source}: key '{key}' expects {want.__name__}, got "
                           f"{value!r} ({type(value).__name__})")
        out[key] = value
    return out


def read_config_file(path: str) -> dict:
    """A ``--config`` JSON file's settings, type-checked."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"--config {path}: no such file")
    if p.is_dir():
        raise CLIError(f"--config {path} is a folder; give a JSON file of settings "
                       f"(keys: {', '.join(KEYS)})")
    try:
        values = json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise CLIError(f"--config {path} is not valid JSON: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CLIError(f"--config {path} cannot be read: {err}") from None
    if not isinstance(values, dict):
        raise CLIError(f"--config {path} must hold a JSON object, such as "
                       '{"model": "mlp", "epochs": 5}')
    return typed_values(values, f"config file {path}")


class Layers:
    """Settings from several sources, later ones winning; remembers where each value came from.

    Example:
        >>> cfg = Layers().add({"epochs": 3}, "flag").build()
    """

    def __init__(self):
        self.values: dict = {}
        self.origin: dict = {}

    def add(self, values: dict, source: str) -> Layers:
        """``source``: ``"flag"``, ``"config file PATH"`` or ``"checkpoint PATH"``."""
        for key, value in values.items():
            if value is not None:
                self.values[key] = value
                self.origin[key] = source
        return self

    def name(self, key: str) -> str:
        """How an error names ``key``: its flag, or the file it came from."""
        source = self.origin.get(key, "flag")
        return flag(key) if source == "flag" else f"{source}: key '{key}'"

    def build(self) -> TrainConfig:
        try:
            return TrainConfig(**self.values).check()
        except ConfigError as err:
            raise CLIError(f"{self.name(err.key)} {err.problem}") from None


def from_dict(values: dict, source: str = "config") -> TrainConfig:
    """A checked config from a plain dict (a checkpoint's), errors naming ``source``.

    Example:
        >>> from_dict({"model": "mlp"}).model
        'mlp'
    """
    return Layers().add(typed_values(values, source), source).build()
