"""``ember.quantization``: the legacy name of ``ember.ao.quantization`` (as
``torch.quantization`` is of ``torch.ao.quantization``); the same objects.

Example:
    >>> ember.quantization.QuantStub is ember.ao.quantization.QuantStub
    True
"""

from ..ao.quantization import *  # noqa: F401,F403
from ..ao.quantization import __all__  # noqa: F401
