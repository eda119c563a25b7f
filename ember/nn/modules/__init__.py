"""All ``ember.nn`` layers, one file per family at PyTorch's module path: a class PyTorch
defines in ``torch.nn.modules.<name>`` lives in ``ember.nn.modules.<name>`` (so whole-model
pickles and ``add_safe_globals`` names resolve), and is re-exported here and by ``ember.nn``."""

from .activation import *  # noqa: F401,F403
from .adaptive import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .channelshuffle import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .instancenorm import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .linear_cross_entropy_options import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import Module  # noqa: F401
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403

# The families once imported only when present (kept for ember.nn's import of the name).
_OPTIONAL = ("conv", "pooling", "normalization", "upsampling", "rnn", "transformer")


def __getattr__(name):
    # torch.nn.modules.utils, loaded on first use: an eager import would put ``utils`` among
    # the names ``from .modules import *`` copies into ember.nn, hiding ember.nn.utils.
    if name == "utils":
        import importlib

        return importlib.import_module(f"{__name__}.utils")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
