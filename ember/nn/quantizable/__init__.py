"""``ember.nn.quantizable``: the legacy name of ``ember.ao.nn.quantizable`` (the same classes).

Example:
    >>> ember.nn.quantizable.LSTM is ember.ao.nn.quantizable.LSTM
    True
"""

from ...ao.nn.quantizable import *  # noqa: F401,F403
from ...ao.nn.quantizable import __all__, modules  # noqa: F401
