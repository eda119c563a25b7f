"""``torch.utils.dlpack``: DLPack exchange with other array libraries (NumPy, CuPy, JAX,
torch), sharing memory. The functions are ``ember.from_dlpack`` and ``ember.to_dlpack``.

Example:
    >>> import numpy as np
    >>> from ember.utils.dlpack import from_dlpack, to_dlpack
    >>> a = np.arange(3.0); t = from_dlpack(a); a[0] = 7.0; t
    tensor([7., 1., 2.], dtype=torch.float64)
    >>> np.from_dlpack(t).tolist()
    [7.0, 1.0, 2.0]
"""

from ember._buffers import DLDeviceType, from_dlpack, to_dlpack

__all__ = ["DLDeviceType", "from_dlpack"]
_ = to_dlpack  # public here as in torch (``torch.utils.dlpack.to_dlpack``), though not in __all__
