"""Vision datasets, transforms and image utilities, mirroring ``torchvision``.

Example:
    >>> from ember.vision import datasets, transforms
    >>> tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    >>> train = datasets.MNIST("data", train=True, download=True, transform=tf)
"""

import importlib as _importlib

from . import datasets, io, transforms, utils

__all__ = ["datasets", "io", "transforms", "utils", "models", "ops"]


def __getattr__(name):
    # models and ops need ember.nn; load them only when asked for.
    if name in ("models", "ops"):
        return _importlib.import_module(f"ember.vision.{name}")
    raise AttributeError(f"module 'ember.vision' has no attribute '{name}'")
