"""``ember.nn.qat``: the legacy name of ``ember.ao.nn.qat`` (fake-quantized training layers).

Example:
    >>> ember.nn.qat.Linear is ember.ao.nn.qat.Linear
    True
"""

from ...ao.nn.qat import *  # noqa: F401,F403
from ...ao.nn.qat import __all__  # noqa: F401
