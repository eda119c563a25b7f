"""Spectral ops (PyTorch's documentation files them under "Spectral Ops"): the discrete Fourier
transforms behind ``ember.fft``. ``dft`` holds the three primitives PyTorch builds every
transform from (complex-to-complex, real-to-complex and complex-to-real, each with its backward
written as another transform) and the zero-pad/crop that ``n``/``s`` ask for; ``transforms``
holds ``fft``, ``rfft2``, ``hfftn`` and the rest (argument checks, dtype promotion, norms);
``frequencies`` holds ``fftfreq``, ``rfftfreq``, ``fftshift`` and ``ifftshift``; ``stft``
holds the short-time transform ``stft`` and its inverse ``istft``."""
