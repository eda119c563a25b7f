"""Vision datasets, transforms and image utilities, mirroring ``torchvision``.

Example:
    >>> from ember.vision import datasets, transforms
    >>> tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    >>> train = datasets.MNIST("data", train=True, download=True, transform=tf)
"""

import importlib as _importlib

from .. import __version__  # noqa: F401  (torchvision.__version__: ember's own version)
from . import datasets, io, transforms, utils

__all__ = ["datasets", "io", "transforms", "utils", "models", "ops", "get_image_backend",
           "set_image_backend"]

_image_backend = "PIL"


def set_image_backend(backend: str) -> None:
    """Choose the package that loads images in the datasets: ``"PIL"`` or ``"accimage"``.

    The choice is recorded and reported by ``get_image_backend``; ember's loaders read images
    with Pillow either way (accimage is not supported).

    Example:
        >>> set_image_backend("PIL")
    """
    global _image_backend
    if backend not in ("PIL", "accimage"):
        raise ValueError(f"Invalid backend '{backend}'. Options are 'PIL' and 'accimage'")
    _image_backend = backend


def get_image_backend() -> str:
    """The name of the package that loads images in the datasets (``"PIL"`` by default).

    Example:
        >>> get_image_backend()
        'PIL'
    """
    return _image_backend


def __getattr__(name):
    # models and ops need ember.nn; load them only when asked for.
    if name in ("models", "ops"):
        return _importlib.import_module(f"ember.vision.{name}")
    raise AttributeError(f"module 'ember.vision' has no attribute '{name}'")
