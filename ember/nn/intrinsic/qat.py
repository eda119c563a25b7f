"""``ember.nn.intrinsic.qat``: the legacy name of ``ember.ao.nn.intrinsic.qat``.

Example:
    >>> import ember.nn.intrinsic.qat
    >>> ember.nn.intrinsic.qat.ConvBn2d is ember.ao.nn.intrinsic.qat.ConvBn2d
    True
"""

from ...ao.nn.intrinsic.qat import *  # noqa: F401,F403
from ...ao.nn.intrinsic.qat import __all__  # noqa: F401
