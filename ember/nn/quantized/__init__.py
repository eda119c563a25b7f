"""``ember.nn.quantized``: the legacy name of ``ember.ao.nn.quantized`` (the same classes).

Example:
    >>> ember.nn.quantized.Linear is ember.ao.nn.quantized.Linear
    True
"""

from ...ao.nn.quantized import *  # noqa: F401,F403
from ...ao.nn.quantized import __all__  # noqa: F401
from . import dynamic  # noqa: F401
