"""``torch.utils.serialization``: the settings ``save``/``load`` read (see ``config``)."""

from . import config

__all__ = ["config"]
