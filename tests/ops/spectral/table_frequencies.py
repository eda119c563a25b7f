"""Op-table entries for ``ember/_ops/spectral/frequencies.py``: ``fftshift``/``ifftshift``
over every dim and over chosen dims, odd and even sizes (``fftfreq``/``rfftfreq`` take no
tensor input; ``test_fft.py`` checks them)."""

from ..spec import OpSpec

OPS = [
    OpSpec("fftshift", lambda L, a: L.fft.fftshift(a), [((5,),), ((4, 7),), ((2, 3, 4),)]),
    OpSpec("fftshift_dims", lambda L, a: L.fft.fftshift(a, dim=(-1, 0)), [((5, 3, 4),)]),
    OpSpec("ifftshift", lambda L, a: L.fft.ifftshift(a), [((5,),), ((4, 7),)]),
    OpSpec("ifftshift_dim", lambda L, a: L.fft.ifftshift(a, dim=-2), [((3, 5, 2),)]),
]
