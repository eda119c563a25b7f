"""nn.functional details not covered by the op table: defaults, dtype arguments, warnings,
in-place forms, delegation to other op families."""

import warnings

import numpy as np
import pytest

import ember

F = ember.nn.functional


def test_softmax_implicit_dim_warns_at_the_caller_and_matches_torch(torch):
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        e = F.softmax(ember.tensor(x))
        t = torch.nn.functional.softmax(torch.tensor(x))
    assert "Implicit dimension choice" in str(w[0].message)
    assert w[0].filename == __file__
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


def test_softmax_dtype_argument_and_integer_input(torch):
    e = F.log_softmax(ember.tensor([1, 2, 3]), 0, dtype=ember.float64)
    t = torch.nn.functional.log_softmax(torch.tensor([1, 2, 3]), 0, dtype=torch.float64)
    assert e.dtype == ember.float64
    np.testing.assert_allclose(e.numpy(), t.numpy())
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.softmax(ember.tensor([1, 2, 3]), 0)


def test_softmax_extreme_values_are_finite():
    x = ember.tensor([[1e4, -1e4, 0.0]])
    assert np.all(np.isfinite(F.softmax(x, 1).numpy()))
    assert np.all(np.isfinite(F.log_softmax(x, 1).numpy()[:, :1]))


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(RuntimeError, match="none or tanh"):
        F.gelu(ember.ones(2), approximate="fast")


def test_glu_odd_dimension_error():
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(ember.ones(3, 3))


def test_prelu_channel_mismatch():
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        F.prelu(ember.ones(2, 3), ember.ones(2))


def test_inplace_functional_forms(torch):
    for name, args in [("relu_", ()), ("elu_", (0.5,)), ("hardtanh_", (-0.2, 0.3)),
                       ("leaky_relu_", (0.3,)), ("threshold_", (0.1, 5.0))]:
        x = np.linspace(-1, 1, 7).astype(np.float32)
        e, t = ember.tensor(x), torch.tensor(x)
        out = getattr(F, name)(e, *args)
        getattr(torch.nn.functional, name)(t, *args)
        assert out is e
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


def test_inplace_on_leaf_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="leaf Variable"):
        F.relu(ember.ones(2, requires_grad=True), inplace=True)


def test_normalize_and_cosine_similarity_eps(torch):
    x = np.array([[1e-10, 0.0], [3.0, 4.0]], np.float32)
    y = np.array([[1.0, 0.0], [3.0, 4.0]], np.float32)
    np.testing.assert_allclose(F.cosine_similarity(ember.tensor(x), ember.tensor(y)).numpy(),
                               torch.nn.functional.cosine_similarity(torch.tensor(x),
                                                                    torch.tensor(y)).numpy(),
                               rtol=1e-5)
    np.testing.assert_allclose(F.normalize(ember.zeros(2, 3)).numpy(), 0)


def test_one_hot_and_pad_delegate(torch):
    assert F.one_hot(ember.tensor([0, 2]), 3).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert F.pad(ember.ones(1, 2), (1, 1)).tolist() == [[0.0, 1.0, 1.0, 0.0]]


def test_gumbel_softmax_shapes_and_hard_one_hot():
    ember.manual_seed(0)
    logits = ember.randn(4, 5, requires_grad=True)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True)
    assert y.shape == (4, 5) and np.all(y.detach().numpy().sum(1) == 1)
    y.sum().backward()
    assert logits.grad is not None


def test_embedding_scale_grad_by_freq(torch):
    w = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    idx = np.array([1, 1, 2, 4, 1])
    res = []
    for lib in (ember, torch):
        wt = lib.tensor(w, requires_grad=True)
        lib.nn.functional.embedding(lib.tensor(idx), wt, scale_grad_by_freq=True).sum().backward()
        res.append(wt.grad.numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-6)
