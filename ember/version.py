"""``ember.version``: the version strings PyTorch programs read from ``torch.version``.

ember is pure Python on NumPy: no CUDA, ROCm or XPU toolkit is compiled in, so those are None
(ember reaches a GPU through CuPy at run time; ``ember.cuda.is_available()`` says whether one is
there).

Example:
    >>> ember.version.__version__ == ember.__version__
    True
    >>> ember.version.cuda is None
    True
"""

from . import __version__

__all__ = ["__version__", "debug", "cuda", "git_version", "hip", "rocm", "xpu"]

debug = False
cuda = None
hip = None
rocm = None
xpu = None
git_version = "Unknown"  # PyTorch's value when built outside a git checkout
