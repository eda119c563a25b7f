"""``ember.nn.quantized.functional``: the legacy name of ``ember.ao.nn.quantized.functional``.

Example:
    >>> import ember.nn.quantized.functional
    >>> ember.nn.quantized.functional.elu is ember.ao.nn.quantized.functional.elu
    True
"""

from ...ao.nn.quantized.functional import *  # noqa: F401,F403
from ...ao.nn.quantized.functional import __all__  # noqa: F401
