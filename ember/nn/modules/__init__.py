"""All ``ember.nn`` layers. nn part 2's families (conv, pooling, normalization, upsampling,
RNNs, transformer) are imported when their files exist, so the rest works without them."""

import importlib as _importlib

from .activation import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import Module  # noqa: F401
from .sparse import *  # noqa: F401,F403

_OPTIONAL = ["conv", "pooling", "normalization", "upsampling", "rnn", "transformer"]

for _name in _OPTIONAL:
    try:
        _mod = _importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _err:
        if _err.name != f"{__name__}.{_name}":
            raise
        continue
    for _cls in getattr(_mod, "__all__", ()):
        globals()[_cls] = getattr(_mod, _cls)
