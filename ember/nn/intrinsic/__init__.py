"""``ember.nn.intrinsic``: the legacy name of ``ember.ao.nn.intrinsic`` (fused modules).

Example:
    >>> ember.nn.intrinsic.LinearReLU is ember.ao.nn.intrinsic.LinearReLU
    True
"""

from ...ao.nn.intrinsic import *  # noqa: F401,F403
from ...ao.nn.intrinsic import __all__  # noqa: F401
