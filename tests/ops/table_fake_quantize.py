"""Op-table entries for ``ember/_fake_quantize.py``: fake quantization (float in, float out,
straight-through gradient masked where the value was clamped)."""

from .spec import OpSpec


def _per_channel(L, a):
    scale = L.tensor([0.05, 0.1, 0.2], dtype=L.float32)
    zero_point = L.tensor([0, 3, -4], dtype=L.int32)
    return L.fake_quantize_per_channel_affine(a, scale, zero_point, 1, -20, 20)


def _learnable_per_tensor(L, a, scale, zero_point):
    # the learnable kernels are float32 only: the float64 sweeps reach them through .float()
    return L._fake_quantize_learnable_per_tensor_affine(
        a.float(), scale.float().abs().reshape(1) * 0.2 + 0.05,
        zero_point.float().reshape(1) * 4, -8, 7, 0.5)


def _learnable_per_channel(L, a, scale, zero_point):
    return L._fake_quantize_learnable_per_channel_affine(
        a.float(), scale.float().abs() * 0.2 + 0.05, zero_point.float() * 4, 1, -8, 7, 1.0)


OPS = [
    # the domain reaches past the clamp (|x| > 127 * 0.03) so both sides of the mask are swept;
    # finite differences are meaningless on a staircase, hence gradcheck=False
    OpSpec("fake_quantize_per_tensor_affine",
           lambda L, a: L.fake_quantize_per_tensor_affine(a, 0.03, 2, -128, 127),
           [((5,),), ((3, 4),), ((),)], domain=(-5.0, 5.0), gradcheck=False),
    OpSpec("fake_quantize_per_tensor_affine_tensor_qparams",
           lambda L, a: L.fake_quantize_per_tensor_affine(
               a, L.tensor(0.03), L.tensor(2, dtype=L.int32), 0, 255),
           [((5,),), ((3, 4),)], domain=(-5.0, 5.0), gradcheck=False),
    OpSpec("fake_quantize_per_channel_affine", _per_channel, [((2, 3),), ((4, 3, 2),)],
           domain=(-5.0, 5.0), gradcheck=False),
    # LSQ: scale and zero point learn too; zero points land between integers, so the forward's
    # rounding and the backward's are both swept
    OpSpec("_fake_quantize_learnable_per_tensor_affine", _learnable_per_tensor,
           [((5,), (1,), (1,)), ((3, 4), (), ())], domain=(-1.0, 1.0), gradcheck=False,
           gradgrad=False),
    OpSpec("_fake_quantize_learnable_per_channel_affine", _learnable_per_channel,
           [((2, 3), (3,), (3,)), ((4, 3, 2), (3,), (3,))], domain=(-1.0, 1.0),
           gradcheck=False, gradgrad=False, noncontig=False),
]
