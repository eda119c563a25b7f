"""Gaps found by the applied-ML programs (tests/programs/app_*.py), checked against torch."""

import numpy as np
import pytest

import ember
import ember.vision.transforms.functional as F
import ember.vision.transforms.v2 as v2

# torchvision 0.28's gaussian_blur of a float64 unit impulse with kernel_size [1, k] (probed):
# the vertical kernel, built in float64 for a float64 image
TV_FLOAT64_KERNELS = {
    (3, 0.9): [0.25947835833473, 0.48104328333054003, 0.25947835833473],
    (5, 0.3): [2.2164938587181197e-10, 0.0038362587974683214, 0.9923274819617646,
               0.0038362587974683214, 2.2164938587181197e-10],
}


@pytest.mark.parametrize("size,sigma", sorted(TV_FLOAT64_KERNELS))
def test_gaussian_blur_float64_uses_a_float64_kernel(size, sigma):
    x = ember.zeros(1, 1, 9, 9, dtype=ember.float64)
    x[..., 4, 4] = 1
    col = F.gaussian_blur(x, [1, size], [1.0, sigma])[0, 0, :, 4]
    got = col[4 - size // 2: 4 + size // 2 + 1].numpy()
    assert col.dtype == ember.float64
    np.testing.assert_allclose(got, TV_FLOAT64_KERNELS[(size, sigma)], rtol=1e-14, atol=1e-20)


def test_gaussian_blur_float64_matches_torch_reference():
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    img = ember.rand(2, 3, 11, 13, dtype=ember.float64)
    k, sigma = [5, 3], [1.3, 0.7]
    got = v2.functional.gaussian_blur(img, k, sigma).numpy()

    def kernel1d(n, s):
        half = (n - 1) / 2
        pdf = torch.exp(-0.5 * (torch.linspace(-half, half, n, dtype=torch.float64) / s) ** 2)
        return pdf / pdf.sum()

    kernel = kernel1d(k[1], sigma[1])[:, None] * kernel1d(k[0], sigma[0])[None, :]
    t = torch.from_numpy(img.numpy()).reshape(6, 1, 11, 13)
    t = torch.nn.functional.pad(t, [k[0] // 2] * 2 + [k[1] // 2] * 2, mode="reflect")
    want = torch.nn.functional.conv2d(t, kernel[None, None]).reshape(2, 3, 11, 13).numpy()
    # float32 kernels (the old behaviour) miss by about 1e-8
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


# torchvision 0.28's adjust_hue(torch.rand(3, 2, 4) after manual_seed(0), 0.1), recorded: the
# hue is h * (1/6) and t = v * (1 - s + s * f); dividing by 6 or grouping t as
# v * (1 - s * (1 - f)) misses some pixels by an ulp or a few
TV_HUE_0_1 = [
    0.6414803862571716, 0.800011396408081, 0.08847742527723312, 0.13203050196170807,
    0.6816085577011108, 0.9151939749717712, 0.4900934100151062, 0.8964447379112244,
    0.45562800765037537, 0.6323062777519226, 0.3488934636116028, 0.3593538999557495,
    0.022325733676552773, 0.16885894536972046, 0.3083999454975128, 0.5185218453407288,
    0.6976675987243652, 0.731177806854248, 0.31727898120880127, 0.40171730518341064,
    0.660224437713623, 0.7485078573226929, 0.2938884496688843, 0.6474019885063171,
]


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_adjust_hue_rounds_as_torchvision(dtype):
    ember.manual_seed(0)
    img = ember.rand(3, 2, 4).to(dtype)
    out = v2.functional.adjust_hue(img, 0.1)
    assert out.dtype == dtype
    # float64 images are worked in float32 by torchvision too: the same numbers come out
    assert out.flatten().tolist() == TV_HUE_0_1
