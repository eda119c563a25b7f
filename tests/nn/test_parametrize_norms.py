"""weight_norm, spectral_norm and orthogonal (nn.utils.parametrizations) and the older hook-based
nn.utils.weight_norm/spectral_norm against torch: state_dict keys, forward values, power
iterations, gradients (same weights, same input), removal, and checkpoints loaded both ways."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def to_torch(state):
    return {k: torch.tensor(v.detach().numpy()) for k, v in state.items()}


def to_ember(state):
    return {k: ember.tensor(v.detach().numpy()) for k, v in state.items()}


LAYERS = {
    "linear": (lambda lib: lib.nn.Linear(5, 4), (3, 5)),
    "conv2d": (lambda lib: lib.nn.Conv2d(2, 3, 3), (2, 2, 6, 6)),
    "conv_transpose": (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3), (2, 3, 5, 5)),
}


def make_pair(layer, apply):
    """The same layer in torch and ember (same initial weights), each with ``apply`` run on it;
    ember then loads torch's whole state_dict (random power-iteration vectors included)."""
    build, shape = LAYERS[layer]
    torch.manual_seed(0)
    t_mod = build(torch)
    e_mod = build(ember)
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        apply(torch, t_mod)
        apply(ember, e_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    return t_mod, e_mod, x


def compare_steps(t_mod, e_mod, x, steps=2, rtol=1e-4, atol=1e-5):
    """Forward, backward and an SGD step, ``steps`` times; outputs, grads, state must agree."""
    t_opt = torch.optim.SGD(t_mod.parameters(), lr=0.1)
    e_opt = ember.optim.SGD(e_mod.parameters(), lr=0.1)
    for _ in range(steps):
        t_out = t_mod(torch.tensor(x))
        e_out = e_mod(ember.tensor(x))
        np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=rtol,
                                   atol=atol)
        t_opt.zero_grad()
        e_opt.zero_grad()
        (t_out ** 2).mean().backward()
        (e_out ** 2).mean().backward()
        t_params = dict(t_mod.named_parameters())
        e_params = dict(e_mod.named_parameters())
        assert list(e_params) == list(t_params)
        for name, tp in t_params.items():
            np.testing.assert_allclose(e_params[name].grad.numpy(), tp.grad.numpy(), rtol=rtol,
                                       atol=atol, err_msg=name)
        t_opt.step()
        e_opt.step()
    for key, tv in t_mod.state_dict().items():
        np.testing.assert_allclose(e_mod.state_dict()[key].numpy(), tv.numpy(), rtol=rtol,
                                   atol=atol, err_msg=key)


# -- parametrizations.weight_norm ---------------------------------------------------------------

@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrized_weight_norm(layer, dim):
    t_mod, e_mod, x = make_pair(
        layer, lambda lib, m: lib.nn.utils.parametrizations.weight_norm(m, dim=dim))
    assert list(e_mod.state_dict()) == ["bias", "parametrizations.weight.original0",
                                        "parametrizations.weight.original1"]
    assert type(e_mod).__name__ == type(t_mod).__name__
    compare_steps(t_mod, e_mod, x)


def test_parametrized_weight_norm_loads_old_checkpoint_keys():
    """A state_dict of the hook-based weight_norm (weight_g/weight_v) loads into the new one."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = torch.nn.utils.weight_norm(torch.nn.Linear(5, 4))
    e_mod = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(5, 4))
    e_mod.load_state_dict(to_ember(old.state_dict()))
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), old.weight.detach().numpy(),
                               rtol=1e-6)


# -- parametrizations.spectral_norm -------------------------------------------------------------

@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_parametrized_spectral_norm(layer, n_power_iterations):
    t_mod, e_mod, x = make_pair(layer, lambda lib, m: lib.nn.utils.parametrizations.spectral_norm(
        m, n_power_iterations=n_power_iterations))
    assert list(e_mod.state_dict()) == ["bias", "parametrizations.weight.original",
                                        "parametrizations.weight.0._u",
                                        "parametrizations.weight.0._v"]
    compare_steps(t_mod, e_mod, x, steps=3)
    t_mod.eval()
    e_mod.eval()
    compare_steps(t_mod, e_mod, x, steps=1)


def test_spectral_norm_of_a_vector_and_errors():
    m = ember.nn.Linear(3, 1)
    ember.nn.utils.parametrizations.spectral_norm(m, "bias")
    assert abs(float(m.bias.detach().abs().sum()) - 1.0) < 1e-6  # 1-D: just normalized
    for lib in (torch, ember):
        with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range "
                                             r"of \[-2, 1\] but got 2\)"):
            lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(3, 2), dim=2)
        with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
            lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(3, 2),
                                                        n_power_iterations=0)
        with pytest.raises(ValueError, match="has no parameter or buffer with name 'nope'"):
            lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(3, 2), "nope")


def test_spectral_norm_bounds_the_largest_singular_value():
    ember.manual_seed(0)
    m = ember.nn.utils.parametrizations.spectral_norm(ember.nn.Linear(8, 6))
    for _ in range(20):
        w = m.weight
    sigma = np.linalg.svd(w.detach().numpy(), compute_uv=False)[0]
    assert abs(sigma - 1.0) < 1e-3


# -- parametrizations.orthogonal ----------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("orthogonal_map", [None, "cayley", "householder"])
def test_orthogonal_matches_torch(shape, orthogonal_map):
    if orthogonal_map == "cayley" and shape[0] != shape[1]:
        shape = shape  # cayley handles rectangular matrices too
    out_features, in_features = shape

    def apply(lib, m):
        lib.nn.utils.parametrizations.orthogonal(m, orthogonal_map=orthogonal_map)

    torch.manual_seed(0)
    t_mod = torch.nn.Linear(in_features, out_features)
    e_mod = ember.nn.Linear(in_features, out_features)
    apply(torch, t_mod)
    apply(ember, e_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == [
        "bias", "parametrizations.weight.original", "parametrizations.weight.0.base"]
    w = e_mod.weight.detach().numpy()
    small = min(shape)
    gram = w.T @ w if out_features >= in_features else w @ w.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
    # Move off the starting point so the gradient is not a special case.
    with torch.no_grad():
        t_mod.parametrizations.weight.original.add_(
            0.1 * torch.randn(t_mod.parametrizations.weight.original.shape))
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    x = np.random.default_rng(1).standard_normal((2, in_features)).astype(np.float32)
    compare_steps(t_mod, e_mod, x)


def test_orthogonal_without_trivialization_and_errors():
    torch.manual_seed(0)
    t_mod = torch.nn.Linear(3, 5)
    e_mod = ember.nn.Linear(3, 5)
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    torch.nn.utils.parametrizations.orthogonal(t_mod, use_trivialization=False)
    ember.nn.utils.parametrizations.orthogonal(e_mod, use_trivialization=False)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), t_mod.weight.detach().numpy(),
                               atol=1e-5)
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="Expected a matrix or batch of matrices. Got a "
                                             "tensor of 1 dimensions."):
            lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(3, 2), "bias")
        with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", '
                                             '"cayley", "householder". Got: qr'):
            lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(3, 2), orthogonal_map="qr")


# -- hook-based nn.utils.weight_norm / spectral_norm --------------------------------------------

@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("dim", [0, None])
def test_hook_weight_norm(layer, dim):
    t_mod, e_mod, x = make_pair(layer, lambda lib, m: lib.nn.utils.weight_norm(m, dim=dim))
    assert list(e_mod.state_dict()) == ["bias", "weight_g", "weight_v"]
    compare_steps(t_mod, e_mod, x)
    torch.nn.utils.remove_weight_norm(t_mod)
    ember.nn.utils.remove_weight_norm(e_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), t_mod.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_hook_weight_norm_warns_and_refuses_twice():
    m = ember.nn.Linear(2, 2)
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        ember.nn.utils.weight_norm(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks on the "
                                               "same parameter weight"):
            ember.nn.utils.weight_norm(m)
    with pytest.raises(ValueError, match="weight_norm of 'bias' not found in"):
        ember.nn.utils.remove_weight_norm(m, "bias")


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_hook_spectral_norm(layer):
    t_mod, e_mod, x = make_pair(layer, lambda lib, m: lib.nn.utils.spectral_norm(m))
    assert list(e_mod.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    compare_steps(t_mod, e_mod, x, steps=3)
    assert e_mod.state_dict()._metadata[""]["spectral_norm"] == {"weight.version": 1}
    torch.nn.utils.remove_spectral_norm(t_mod)
    ember.nn.utils.remove_spectral_norm(e_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == ["bias", "weight"]
    assert not e_mod._state_dict_hooks and not e_mod._load_state_dict_pre_hooks
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), t_mod.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_hook_spectral_norm_checkpoint_round_trip():
    torch.manual_seed(0)
    t_mod = torch.nn.utils.spectral_norm(torch.nn.Linear(5, 4))
    t_mod(torch.randn(2, 5))
    e_mod = ember.nn.utils.spectral_norm(ember.nn.Linear(5, 4))
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    e_mod(ember.randn(2, 5))
    t_mod.load_state_dict(to_torch(e_mod.state_dict()))
    for key, value in t_mod.state_dict().items():
        np.testing.assert_allclose(value.numpy(), e_mod.state_dict()[key].numpy(), err_msg=key)
    with pytest.raises(ValueError, match="spectral_norm of 'bias' not found in"):
        ember.nn.utils.remove_spectral_norm(e_mod, "bias")


def test_nested_checkpoints_through_save_and_load_both_ways(tmp_path):
    """ember.save -> torch.load and torch.save -> ember.load of a Sequential whose layers are
    parametrized; the old-style weight_g/weight_v keys load into a nested new-style layer."""
    def build(lib):
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
        lib.nn.utils.parametrizations.weight_norm(net[0])
        lib.nn.utils.parametrizations.spectral_norm(net[2])
        return net

    torch.manual_seed(0)
    t_net = build(torch)
    e_net = build(ember)
    path = tmp_path / "torch.pt"
    torch.save(t_net.state_dict(), path)
    e_net.load_state_dict(ember.load(path))
    e_net.eval()
    t_net.eval()
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(e_net(ember.tensor(x)).detach().numpy(),
                               t_net(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    with ember.no_grad():
        e_net[0].parametrizations.weight.original1.mul_(0.5)
    path = tmp_path / "ember.pt"
    ember.save(e_net.state_dict(), path)
    t_net.load_state_dict(torch.load(path, weights_only=True))
    np.testing.assert_allclose(t_net(torch.tensor(x)).detach().numpy(),
                               e_net(ember.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = torch.nn.Sequential(torch.nn.Linear(3, 4))
        torch.nn.utils.weight_norm(old[0])
    new = ember.nn.Sequential(ember.nn.Linear(3, 4))
    ember.nn.utils.parametrizations.weight_norm(new[0])
    new.load_state_dict(to_ember(old.state_dict()))
    np.testing.assert_allclose(new[0].weight.detach().numpy(), old[0].weight.detach().numpy(),
                               rtol=1e-6)
