"""Utilities mirroring ``torch.utils``: ``ember.utils.data`` (datasets, samplers, DataLoader)."""

import importlib as _importlib


def __getattr__(name):
    # Subpackages load on first use so that `import ember.utils` stays cheap.
    if name in ("data", "safetensors", "checkpoint", "hooks"):
        return _importlib.import_module(f"ember.utils.{name}")
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
