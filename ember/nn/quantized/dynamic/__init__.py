"""``ember.nn.quantized.dynamic``: the legacy name of ``ember.ao.nn.quantized.dynamic``.

Example:
    >>> ember.nn.quantized.dynamic.Linear is ember.ao.nn.quantized.dynamic.Linear
    True
"""

from ....ao.nn.quantized.dynamic import *  # noqa: F401,F403
from ....ao.nn.quantized.dynamic import __all__  # noqa: F401
