"""Utilities mirroring ``torch.utils``: ``ember.utils.data`` (datasets, samplers, DataLoader),
``checkpoint``, ``hooks``, ``tensorboard``."""

import importlib as _importlib
import importlib.util as _importlib_util


def __getattr__(name):
    # Subpackages load on first use so that `import ember.utils` stays cheap. Only modules that
    # exist qualify: for any other name hasattr() answers False instead of raising.
    if not name.startswith("_") and _importlib_util.find_spec(f"ember.utils.{name}") is not None:
        return _importlib.import_module(f"ember.utils.{name}")
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
