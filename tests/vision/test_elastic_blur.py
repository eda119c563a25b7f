"""ElasticTransform's FFT blur of its displacement field against the direct ``gaussian_blur``
and against torch (the oracle) for the same field."""

import numpy as np
import pytest

import ember
import ember.vision.transforms as T
import ember.vision.transforms.functional as F
from ember.vision.transforms import _transforms_geometry as G


def _ksize(sigma):
    k = int(8 * sigma + 1)
    return k + 1 - k % 2


@pytest.mark.parametrize("size,sigma", [((224, 224), [5.0, 5.0]), ((31, 47), [1.5, 1.5]),
                                        ((40, 64), [2.0, 3.0]), ((9, 9), [5.0, 5.0])])
def test_blur_field_matches_direct_blur(size, sigma):
    ember.manual_seed(0)
    d = ember.rand(1, 1, *size) * 2 - 1
    k = _ksize(sigma[0])
    if k // 2 >= min(size):  # torchvision's reflect padding refuses it: both paths raise
        with pytest.raises(RuntimeError, match="Padding size should be less than"):
            G._blur_field(d, k, sigma)
        return
    want = F.gaussian_blur(d, [k, k], sigma).numpy()
    got = G._blur_field(d, k, sigma).numpy()
    assert got.dtype == np.float32 and got.shape == want.shape
    # the direct path rounds each product to float32 before its float64 sum, the FFT path
    # does not: they differ by about one float32 rounding of the products' magnitudes
    np.testing.assert_array_less(np.abs(got - want), np.spacing(np.abs(want)) * 1.01 + 1e-8)


def test_blur_field_matches_torch_conv():
    torch = pytest.importorskip("torch")
    ember.manual_seed(3)
    d = ember.rand(1, 1, 50, 60) * 2 - 1
    k, sigma = _ksize(2.5), [2.5, 2.5]
    got = G._blur_field(d, k, sigma).numpy()
    # torch's reference: reflect padding and a 2-D conv with the float32 outer-product kernel
    half = (k - 1) / 2
    x = torch.linspace(-half, half, k)
    pdf = torch.exp(-0.5 * (x / sigma[0]) ** 2)
    k1 = pdf / pdf.sum()
    kernel = (k1[:, None] * k1[None, :])[None, None]
    t = torch.nn.functional.pad(torch.from_numpy(d.numpy()), [k // 2] * 4, mode="reflect")
    want = torch.nn.functional.conv2d(t, kernel).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_elastic_transform_draws_the_same_stream():
    # the fast blur must not change what is drawn: the next random number is torch's
    torch = pytest.importorskip("torch")
    ember.manual_seed(7)
    T.ElasticTransform(alpha=30.0, sigma=4.0)(ember.rand(3, 33, 35))
    torch.manual_seed(7)
    torch.rand(3, 33, 35)
    torch.rand(1, 1, 33, 35)
    torch.rand(1, 1, 33, 35)
    assert ember.rand(1).item() == torch.rand(1).item()
