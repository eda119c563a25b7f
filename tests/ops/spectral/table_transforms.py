"""Op-table entries for ``ember/_ops/spectral/transforms.py``: every ``ember.fft`` transform on
1-D, 2-D and 3-D inputs, odd and even lengths, padding and cropping ``n``/``s``, negative dims
and the three norms.

Complex results are compared through ``(y.real, y.imag)``, which carries the whole gradient;
the ``_sq`` entries square the result so second derivatives are compared too. Complex inputs
are made inside the entry by an ``fft`` along dim 0 of the real sample (arbitrary complex data,
not Hermitian along the other dims), so their gradients reach the real sample through it.
"""

from ..spec import OpSpec


def _parts(y):
    return (y.real, y.imag) if y.is_complex() else y


def _sq(y):
    return y.real * y.imag if y.is_complex() else y * y


def _cx(L, a):
    """Complex data from a real sample of two or more dims."""
    return L.fft.fft(a, dim=0)


def _entry(name, call, shapes, complex_input=False, square=False, **kw):
    wrap = _sq if square else _parts
    if complex_input:
        return OpSpec(name, lambda L, a: wrap(call(L, _cx(L, a))), shapes, **kw)
    return OpSpec(name, lambda L, a: wrap(call(L, a)), shapes, **kw)


ONE_D = [((8,),), ((7,),), ((3, 5),), ((2, 3, 4),)]
BATCHED = [((4, 6),), ((3, 5),), ((2, 3, 5),)]

OPS = [
    # -- fft / ifft
    _entry("fft", lambda L, x: L.fft.fft(x), ONE_D),
    _entry("fft_n_pad_dim0_ortho", lambda L, x: L.fft.fft(x, n=10, dim=0, norm="ortho"),
           [((7,),), ((5, 3),)]),
    _entry("fft_n_crop_forward", lambda L, x: L.fft.fft(x, n=3, dim=-2, norm="forward"),
           [((4, 5),), ((2, 6, 3),)]),
    _entry("fft_complex", lambda L, x: L.fft.fft(x, n=5), BATCHED, complex_input=True),
    _entry("fft_sq", lambda L, x: L.fft.fft(x, norm="ortho"), [((6,),), ((3, 5),)], square=True),
    _entry("ifft", lambda L, x: L.fft.ifft(x), ONE_D),
    _entry("ifft_n_pad_ortho", lambda L, x: L.fft.ifft(x, n=9, norm="ortho"), [((3, 6),)]),
    _entry("ifft_complex", lambda L, x: L.fft.ifft(x, n=4, dim=-1, norm="forward"), BATCHED,
           complex_input=True),
    _entry("ifft_complex_sq", lambda L, x: L.fft.ifft(x), [((3, 5),)], complex_input=True,
           square=True),
    # -- rfft / irfft
    _entry("rfft", lambda L, x: L.fft.rfft(x), ONE_D),
    _entry("rfft_n_pad_ortho", lambda L, x: L.fft.rfft(x, n=11, norm="ortho"),
           [((6,),), ((3, 4),)]),
    _entry("rfft_n_crop_dim0_forward", lambda L, x: L.fft.rfft(x, n=4, dim=0, norm="forward"),
           [((7, 3),), ((6, 2, 2),)]),
    _entry("rfft_sq", lambda L, x: L.fft.rfft(x), [((7,),), ((2, 6),)], square=True),
    _entry("irfft", lambda L, x: L.fft.irfft(x), ONE_D),
    _entry("irfft_complex", lambda L, x: L.fft.irfft(x), BATCHED, complex_input=True),
    _entry("irfft_complex_n_odd_ortho", lambda L, x: L.fft.irfft(x, n=7, norm="ortho"),
           BATCHED, complex_input=True),
    _entry("irfft_complex_n_crop_forward",
           lambda L, x: L.fft.irfft(x, n=4, dim=-1, norm="forward"), BATCHED,
           complex_input=True),
    _entry("irfft_complex_n_pad", lambda L, x: L.fft.irfft(x, n=14), [((3, 4),)],
           complex_input=True),
    _entry("irfft_complex_sq", lambda L, x: L.fft.irfft(x, n=9), [((3, 5),)],
           complex_input=True, square=True),
    # -- hfft / ihfft
    _entry("hfft", lambda L, x: L.fft.hfft(x), ONE_D),
    _entry("hfft_complex", lambda L, x: L.fft.hfft(x, n=7, norm="ortho"), BATCHED,
           complex_input=True),
    _entry("hfft_complex_n_crop_forward", lambda L, x: L.fft.hfft(x, n=3, norm="forward"),
           BATCHED, complex_input=True),
    _entry("hfft_complex_sq", lambda L, x: L.fft.hfft(x), [((3, 4),)], complex_input=True,
           square=True),
    _entry("ihfft", lambda L, x: L.fft.ihfft(x), ONE_D),
    _entry("ihfft_n_pad_dim0_ortho", lambda L, x: L.fft.ihfft(x, n=9, dim=0, norm="ortho"),
           [((6,),), ((5, 3),)]),
    _entry("ihfft_sq", lambda L, x: L.fft.ihfft(x, norm="forward"), [((7,),)], square=True),
    # -- 2-D
    _entry("fft2", lambda L, x: L.fft.fft2(x), [((4, 6),), ((2, 3, 5),)]),
    _entry("fft2_s_dims_ortho", lambda L, x: L.fft.fft2(x, s=(3, 7), dim=(0, -1), norm="ortho"),
           [((4, 6),), ((5, 2, 3),)]),
    _entry("fft2_complex", lambda L, x: L.fft.fft2(x, norm="forward"), [((3, 4, 5),)],
           complex_input=True),
    _entry("ifft2", lambda L, x: L.fft.ifft2(x, s=(-1, 8)), [((4, 6),), ((2, 3, 5),)]),
    _entry("ifft2_complex_sq", lambda L, x: L.fft.ifft2(x, norm="ortho"), [((3, 4),)],
           complex_input=True, square=True),
    _entry("rfft2", lambda L, x: L.fft.rfft2(x), [((4, 6),), ((2, 3, 5),)]),
    _entry("rfft2_s_dims_forward", lambda L, x: L.fft.rfft2(x, s=(5, 3), dim=(-1, 0),
                                                             norm="forward"),
           [((4, 6),), ((3, 2, 4),)]),
    _entry("irfft2", lambda L, x: L.fft.irfft2(x), [((4, 6),), ((2, 3, 5),)]),
    _entry("irfft2_complex_s_ortho", lambda L, x: L.fft.irfft2(x, s=(5, 7), norm="ortho"),
           [((4, 6),), ((3, 4, 5),)], complex_input=True),
    _entry("irfft2_complex_sq", lambda L, x: L.fft.irfft2(x, s=(4, 5)), [((3, 4),)],
           complex_input=True, square=True),
    _entry("hfft2", lambda L, x: L.fft.hfft2(x, norm="forward"), [((4, 6),), ((2, 3, 5),)]),
    _entry("hfft2_complex_s", lambda L, x: L.fft.hfft2(x, s=(3, 5), dim=(0, 1)),
           [((4, 6),), ((4, 3, 2),)], complex_input=True),
    _entry("ihfft2", lambda L, x: L.fft.ihfft2(x), [((4, 6),), ((2, 3, 5),)]),
    _entry("ihfft2_s_ortho_sq", lambda L, x: L.fft.ihfft2(x, s=(3, 7), norm="ortho"),
           [((4, 6),)], square=True),
    # -- N-D
    _entry("fftn", lambda L, x: L.fft.fftn(x), [((3, 4, 5),), ((6,),), ((),)]),
    _entry("fftn_s_ortho", lambda L, x: L.fft.fftn(x, s=(2, 5), norm="ortho"), [((3, 4, 5),)]),
    _entry("fftn_complex_dims", lambda L, x: L.fft.fftn(x, dim=(-1, 0)), [((3, 4, 5),)],
           complex_input=True),
    _entry("ifftn", lambda L, x: L.fft.ifftn(x, s=(4, 3, 6), norm="forward"), [((3, 4, 5),)]),
    _entry("ifftn_complex_sq", lambda L, x: L.fft.ifftn(x), [((3, 4),)], complex_input=True,
           square=True),
    _entry("rfftn", lambda L, x: L.fft.rfftn(x), [((3, 4, 5),), ((6,),)]),
    _entry("rfftn_dims_ortho", lambda L, x: L.fft.rfftn(x, dim=(2, 0), norm="ortho"),
           [((3, 4, 5),)]),
    _entry("irfftn", lambda L, x: L.fft.irfftn(x), [((3, 4, 5),), ((6,),)]),
    _entry("irfftn_complex_s", lambda L, x: L.fft.irfftn(x, s=(5, -1), norm="forward"),
           [((3, 4, 5),)], complex_input=True),
    _entry("hfftn", lambda L, x: L.fft.hfftn(x, norm="ortho"), [((3, 4, 5),)]),
    _entry("hfftn_complex_dims", lambda L, x: L.fft.hfftn(x, s=(4, 7), dim=(-1, -2)),
           [((3, 4, 5),)], complex_input=True),
    _entry("ihfftn", lambda L, x: L.fft.ihfftn(x), [((3, 4, 5),), ((6,),)]),
    _entry("ihfftn_s_dims_sq", lambda L, x: L.fft.ihfftn(x, s=(4, 5), dim=(0, 2)),
           [((3, 4, 5),)], square=True),
]
