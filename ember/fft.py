"""``ember.fft``: PyTorch's ``torch.fft`` namespace (discrete Fourier transforms, their sample
frequencies and shifts), with gradients. The ops live in ``ember/_ops/spectral``.

Example:
    >>> x = ember.tensor([1., 0., -1., 0.])
    >>> ember.fft.rfft(x)
    tensor([0.+0.j, 2.+0.j, 0.+0.j])
    >>> ember.fft.irfft(ember.fft.rfft(x), n=4)
    tensor([ 1.,  0., -1.,  0.])
"""

from __future__ import annotations

from ._ops.spectral.frequencies import fftfreq, fftshift, ifftshift, rfftfreq
from ._ops.spectral.transforms import (
    fft,
    fft2,
    fftn,
    hfft,
    hfft2,
    hfftn,
    ifft,
    ifft2,
    ifftn,
    ihfft,
    ihfft2,
    ihfftn,
    irfft,
    irfft2,
    irfftn,
    rfft,
    rfft2,
    rfftn,
)
from ._tensor import Tensor

# torch.fft's __all__ leaves out hfft2/ihfft2/hfftn/ihfftn, which it has; ember lists them
__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq",
           "rfftfreq", "fftshift", "ifftshift", "Tensor"]
