"""``torch._inductor``: PyTorch's kernel generator. ember has no generated kernels; this package
holds ``config``, whose settings programs tune before ``torch.compile``.

Example:
    >>> import ember._inductor
    >>> ember._inductor.config.fx_graph_cache
    True
"""

from . import config

__all__ = ["config"]
