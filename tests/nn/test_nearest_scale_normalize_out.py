"""Regressions found by the generative/geometric programs, each compared with torch:

- ``interpolate(mode='nearest')`` with a ``scale_factor`` computes source indices in float32,
  as torch's kernel: ``floor(3 * float32(1 / 0.6))`` is 5 there (float64 gave 4, picking a
  different pixel for every downscale by 0.6).
- ``F.normalize(..., out=t)`` writes into ``t`` and returns it (it was ignored).
- In-place ``leaky_relu``: node ``LeakyReluBackward1``; a negative slope refuses backward.
- ``GroupNorm(3, 4)`` and ``ConvTranspose2d(..., output_size=bad)``: torch's messages."""
import numpy as np
import pytest

import ember
import ember.nn.functional as EF

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("shape,scale", [((1, 1, 8), 0.6), ((1, 2, 8, 8), 0.6),
                                         ((1, 1, 8, 7), (0.6, 1.7)), ((1, 1, 9), 0.7),
                                         ((1, 1, 3, 3, 3), 1.7), ((1, 1, 10, 10), 0.3)])
def test_nearest_scale_factor_matches_torch(mode, shape, scale):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    want = TF.interpolate(torch.from_numpy(a), scale_factor=scale, mode=mode)
    got = EF.interpolate(ember.from_numpy(a), scale_factor=scale, mode=mode)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_upsample_module_downscale_matches_torch():
    a = np.arange(64, dtype=np.float32).reshape(1, 1, 8, 8)
    want = torch.nn.Upsample(scale_factor=0.6)(torch.from_numpy(a))
    got = ember.nn.Upsample(scale_factor=0.6)(ember.from_numpy(a))
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_normalize_out_is_written_and_returned():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t_out, e_out = torch.empty(3, 4), ember.empty(3, 4)
    want = TF.normalize(torch.from_numpy(a), p=1, dim=0, out=t_out)
    got = EF.normalize(ember.from_numpy(a), p=1, dim=0, out=e_out)
    assert got is e_out and want is t_out
    np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), rtol=1e-6)


def test_normalize_out_refused_under_autograd():
    x = ember.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        EF.normalize(x, dim=0, out=ember.empty(3))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        TF.normalize(torch.randn(3, requires_grad=True), dim=0, out=torch.empty(3))


@pytest.mark.parametrize("slope", [-0.2, 0.0, 0.2])
def test_inplace_leaky_relu_node_and_negative_slope(slope):
    """In-place leaky_relu names its node LeakyReluBackward1 and, with a negative slope, its
    backward is refused (the output alone cannot say which slope applied), as torch."""
    a = np.array([-1.0, 2.0, -3.0], np.float32)
    outcomes = []
    for lib, fn in ((torch, TF), (ember, EF)):
        x = lib.tensor(a, requires_grad=True)
        y = fn.leaky_relu(x * 1, slope, inplace=True)
        assert y.grad_fn.name() == "LeakyReluBackward1"
        assert fn.leaky_relu(x, slope).grad_fn.name() == "LeakyReluBackward0"
        try:
            y.sum().backward()
            outcomes.append(x.grad.tolist())
        except RuntimeError as e:
            outcomes.append(str(e))
    assert outcomes[0] == outcomes[1]
    refused = isinstance(outcomes[1], str)
    assert refused == (slope < 0)
    assert not refused or outcomes[1].startswith("In-place leakyReLu backward")


def test_group_norm_indivisible_message_matches_torch():
    with pytest.raises(ValueError) as want:
        torch.nn.GroupNorm(3, 4)
    with pytest.raises(ValueError) as got:
        ember.nn.GroupNorm(3, 4)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("size", [[20, 20], (2, 3, 20, 20), [20, 15], "Size"])
def test_conv_transpose_output_size_message_matches_torch(size):
    """The refusal names the size as given and the valid ranges as per-dimension lists."""
    msgs = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        m = lib.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1)
        want = lib.Size([20, 20]) if size == "Size" else size
        with pytest.raises(ValueError) as err:
            m(lib.zeros(2, 4, 8, 8), output_size=want)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
