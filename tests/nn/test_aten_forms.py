"""The top-level ATen forms of nn functions (``torch.embedding``, ``torch.kl_div``,
``torch.native_layer_norm`` ...) against torch: values, dtypes, shapes, one gradient per
function and the errors of bad input."""

import warnings

import numpy as np
import pytest

import ember

R = np.random.default_rng(0)


def _f(*shape):
    return R.standard_normal(shape)


def _sign(*shape):
    return np.where(R.random(shape) < 0.5, -1.0, 1.0)


def _lstm(lib, x, h, c, wi, wh, bi, bh):
    return lib.lstm_cell(x, (h, c), wi, wh, bi, bh)


# name -> (fn(lib, *tensors), input arrays[, indices of the inputs that get gradients: default
# every float one])
CASES = {
    "embedding": (lambda L, w, i: L.embedding(w, i, 1), [_f(5, 3), np.array([[0, 1], [1, 4]])]),
    "embedding_kw": (lambda L, w, i: L.embedding(weight=w, indices=i, padding_idx=-1,
                                                 scale_grad_by_freq=True),
                     [_f(5, 3), np.array([0, 4, 4])]),
    "cosine_similarity": (lambda L, a, b: L.cosine_similarity(a, b, 0), [_f(3, 4), _f(3, 4)]),
    "pairwise_distance": (lambda L, a, b: L.pairwise_distance(a, b, 3.0, 1e-6, True),
                          [_f(3, 4), _f(3, 4)]),
    "pdist": (lambda L, a: L.pdist(a), [_f(4, 3)]),
    "pdist_p1": (lambda L, a: L.pdist(a, 1.0), [_f(4, 3)]),
    "pdist_one_row": (lambda L, a: L.pdist(a), [_f(1, 3)]),
    "pixel_shuffle": (lambda L, a: L.pixel_shuffle(a, 2), [_f(1, 8, 2, 3)]),
    "pixel_unshuffle": (lambda L, a: L.pixel_unshuffle(a, 2), [_f(1, 2, 4, 2)]),
    "channel_shuffle": (lambda L, a: L.channel_shuffle(a, 2), [_f(1, 4, 3)]),
    # torch has no derivative for native_channel_shuffle
    "native_channel_shuffle": (lambda L, a: L.native_channel_shuffle(a, 2), [_f(1, 4, 3)], ()),
    "bce_logits": (lambda L, a, t, w, pw: L.binary_cross_entropy_with_logits(a, t, w, pw, 1),
                   [_f(3, 4), R.random((3, 4)), R.random(4), R.random(4)], (0, 1)),
    "bce_logits_default": (lambda L, a, t: L.binary_cross_entropy_with_logits(a, t),
                           [_f(3, 4), R.random((3, 4))]),
    "kl_div_none": (lambda L, a, t: L.kl_div(a, t), [_f(3, 4), R.random((3, 4))]),
    "kl_div_mean": (lambda L, a, t: L.kl_div(a, t, 1), [_f(3, 4), R.random((3, 4))]),
    "kl_div_sum_log": (lambda L, a, t: L.kl_div(a, t, 2, log_target=True), [_f(3, 4), _f(3, 4)]),
    "kl_div_other_int": (lambda L, a, t: L.kl_div(a, t, 5), [_f(3, 4), R.random((3, 4))]),
    "margin_ranking_loss": (lambda L, a, b, t: L.margin_ranking_loss(a, b, t, 0.3, 2),
                            [_f(5), _f(5), _sign(5)]),
    "hinge_embedding_loss": (lambda L, a, t: L.hinge_embedding_loss(a, t, 0.5, 1),
                             [_f(5), _sign(5)]),
    "cosine_embedding_loss": (lambda L, a, b, t: L.cosine_embedding_loss(a, b, t, 0.1, 1),
                              [_f(3, 4), _f(3, 4), _sign(3)]),
    "triplet_margin_loss": (lambda L, a, p, n: L.triplet_margin_loss(a, p, n, 1.0, 2.0, 1e-6,
                                                                     True, 1),
                            [_f(3, 4), _f(3, 4), _f(3, 4)]),
    "triplet_margin_loss_default": (lambda L, a, p, n: L.triplet_margin_loss(a, p, n),
                                    [_f(3, 4), _f(3, 4), _f(3, 4)]),
    "poisson_nll_loss": (lambda L, a, t: L.poisson_nll_loss(a, t, True, True, 1e-8, 1),
                         [_f(3, 4), R.random((3, 4)) * 3], (0,)),
    "poisson_nll_loss_rate": (lambda L, a, t: L.poisson_nll_loss(a, t, False, False, 1e-8, 0),
                              [R.random((3, 4)) + 0.5, R.random((3, 4)) * 3]),
    "ctc_loss_lists": (lambda L, lp, t: L.ctc_loss(lp.log_softmax(2), t, [6, 5], [2, 1], 0, 1),
                       [_f(6, 2, 4), np.array([[1, 2], [3, 3]])]),
    "ctc_loss_tensors": (lambda L, lp, t, il, tl: L.ctc_loss(lp.log_softmax(2), t, il, tl),
                         [_f(6, 2, 4), np.array([[1, 2], [3, 3]]), np.array([6, 5]),
                          np.array([2, 2])]),
    "bilinear": (lambda L, a, b, w, bias: L.bilinear(a, b, w, bias),
                 [_f(2, 3), _f(2, 4), _f(5, 3, 4), _f(5)]),
    "celu": (lambda L, a: L.celu(a, 0.7), [_f(3, 4)]),
    "selu": (lambda L, a: L.selu(a), [_f(3, 4)]),
    "rrelu_eval": (lambda L, a: L.rrelu(a, 0.1, 0.3), [_f(3, 4)]),
    "prelu": (lambda L, a, w: L.prelu(a, w), [_f(2, 3, 4), R.random(3)]),
    "prelu_method": (lambda L, a, w: a.prelu(w), [_f(2, 3), R.random(1)]),
    "threshold": (lambda L, a: L.threshold(a, 0.1, 20.0), [_f(3, 4)]),
    "hardshrink": (lambda L, a: L.hardshrink(a, 0.3), [_f(3, 4)]),
    "hardshrink_kw": (lambda L, a: L.hardshrink(input=a, lambd=0.3), [_f(3, 4)]),
    "alpha_dropout_eval": (lambda L, a: L.alpha_dropout(a, 0.5, False), [_f(3, 4)]),
    "feature_dropout_eval": (lambda L, a: L.feature_dropout(a, 0.5, False), [_f(3, 4)]),
    "native_dropout_eval": (lambda L, a: L.native_dropout(a, 0.5, False), [_f(3, 4)]),
    "native_layer_norm": (lambda L, a, w, b: L.native_layer_norm(a, [3, 4], w, b, 1e-5),
                          [_f(2, 3, 4), _f(3, 4), _f(3, 4)]),
    "native_layer_norm_plain": (lambda L, a: L.native_layer_norm(a, (4,), None, None, 1e-3),
                                [_f(2, 3, 4)]),
    "native_batch_norm_train": (lambda L, a, w, b: L.native_batch_norm(a, w, b, None, None, True,
                                                                       0.1, 1e-5),
                                [_f(4, 3, 5), _f(3), _f(3)]),
    "native_group_norm": (lambda L, a, w, b: L.native_group_norm(a, w, b, 2, 6, 5, 3, 1e-5),
                          [_f(2, 6, 5), _f(6), _f(6)]),
    "native_group_norm_4d": (lambda L, a: L.native_group_norm(a, None, None, 2, 4, 6, 2, 1e-5),
                             [_f(2, 4, 2, 3)]),
    "constant_pad_nd": (lambda L, a: L.constant_pad_nd(a, [1, 2], 1.5), [_f(2, 3)]),
    "constant_pad_nd_crop": (lambda L, a: L.constant_pad_nd(a, [-1, 2, 0, 1]), [_f(2, 3)]),
    "convolution_1d": (lambda L, a, w, b: L.convolution(a, w, b, [2], [1], [1], False, [0], 1),
                       [_f(1, 2, 7), _f(3, 2, 3), _f(3)]),
    "convolution_2d_expand": (lambda L, a, w: L.convolution(a, w, None, [1], [1], [2], False,
                                                            [0], 2),
                              [_f(1, 4, 5, 5), _f(2, 2, 2, 2)]),
    "convolution_transposed": (lambda L, a, w, b: L.convolution(a, w, b, [2, 1], [1, 0], [1, 1],
                                                                True, [1, 0], 1),
                               [_f(1, 2, 3, 4), _f(2, 3, 3, 2), _f(3)]),
    "convolution_3d": (lambda L, a, w: L.convolution(a, w, None, [1, 1, 1], [0, 0, 0],
                                                     [1, 1, 1], False, [0, 0, 0], 1),
                       [_f(1, 1, 3, 3, 3), _f(2, 1, 2, 2, 2)]),
    "conv_tbc": (lambda L, a, w, b: L.conv_tbc(a, w, b, 1), [_f(5, 2, 3), _f(3, 3, 4), _f(4)]),
    "conv_tbc_nopad": (lambda L, a, w, b: L.conv_tbc(a, w, b), [_f(5, 2, 3), _f(2, 3, 4), _f(4)]),
    "affine_grid_generator": (lambda L, th: L.affine_grid_generator(th, [2, 1, 3, 4], False),
                              [_f(2, 2, 3)]),
    "affine_grid_generator_3d": (lambda L, th: L.affine_grid_generator(th, [1, 1, 2, 3, 2],
                                                                       True), [_f(1, 3, 4)]),
    "grid_sampler_bilinear": (lambda L, a, g: L.grid_sampler(a, g, 0, 0, False),
                              [_f(1, 2, 4, 4), R.uniform(-1, 1, (1, 3, 3, 2))]),
    "grid_sampler_2d_bicubic_reflect": (lambda L, a, g: L.grid_sampler_2d(a, g, 2, 2, True),
                                        [_f(1, 2, 4, 4), R.uniform(-1, 1, (1, 3, 3, 2))]),
    "grid_sampler_3d_border": (lambda L, a, g: L.grid_sampler_3d(a, g, 0, 1, False),
                               [_f(1, 2, 3, 3, 3), R.uniform(-1.2, 1.2, (1, 2, 2, 2, 3))]),
    "lstm_cell": (_lstm, [_f(2, 3), _f(2, 4), _f(2, 4), _f(16, 3), _f(16, 4), _f(16), _f(16)]),
    "lstm_cell_nobias": (lambda L, x, h, c, wi, wh: L.lstm_cell(x, [h, c], wi, wh),
                         [_f(2, 3), _f(2, 4), _f(2, 4), _f(16, 3), _f(16, 4)]),
    "gru_cell": (lambda L, x, h, wi, wh, bi, bh: L.gru_cell(x, h, wi, wh, bi, bh),
                 [_f(2, 3), _f(2, 4), _f(12, 3), _f(12, 4), _f(12), _f(12)]),
    "rnn_tanh_cell": (lambda L, x, h, wi, wh, bi: L.rnn_tanh_cell(x, h, wi, wh, bi, None),
                      [_f(2, 3), _f(2, 4), _f(4, 3), _f(4, 4), _f(4)]),
    "rnn_relu_cell": (lambda L, x, h, wi, wh: L.rnn_relu_cell(x, h, wi, wh),
                      [_f(2, 3), _f(2, 4), _f(4, 3), _f(4, 4)]),
    "frobenius_norm": (lambda L, a: L.frobenius_norm(a, [1, 2], True), [_f(2, 3, 4)]),
    "frobenius_norm_one_dim": (lambda L, a: L.frobenius_norm(a, [1]), [_f(2, 3, 4)]),
    "nuclear_norm": (lambda L, a: L.nuclear_norm(a), [_f(2, 3, 4)]),
    "nuclear_norm_keepdim": (lambda L, a: L.nuclear_norm(a, True), [_f(3, 4)]),
    "nuclear_norm_dim": (lambda L, a: L.nuclear_norm(a, [0, 2], keepdim=True), [_f(2, 3, 4)]),
    "norm_except_dim": (lambda L, a: L.norm_except_dim(a), [_f(2, 3, 4)]),
    "norm_except_dim_pow": (lambda L, a: L.norm_except_dim(a, 3, -2), [_f(2, 3, 4)]),
    "norm_except_dim_all": (lambda L, a: L.norm_except_dim(a, 2, -1), [_f(2, 3, 4)]),
}


def _tensors(lib, arrays, dtype, grad):
    out = []
    for i, a in enumerate(arrays):
        if a.dtype.kind == "f":
            t = lib.tensor(a.astype(dtype), requires_grad=grad is None or i in grad)
        else:
            t = lib.tensor(a)
        out.append(t)
    return out


def _outs(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(torch, name, dtype):
    fn, arrays, *grad = CASES[name]
    grad = grad[0] if grad else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e_in = _tensors(ember, arrays, dtype, grad)
        t_in = _tensors(torch, arrays, dtype, grad)
        e_out, t_out = _outs(fn(ember, *e_in)), _outs(fn(torch, *t_in))
    assert len(e_out) == len(t_out)
    tol = 1e-4 if dtype == "float32" else 1e-10
    for e, t in zip(e_out, t_out):
        assert str(e.dtype) == str(t.dtype), (e.dtype, t.dtype)
        assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
        assert e.requires_grad == t.requires_grad
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)
    # one gradient: a fixed cotangent on every differentiable output
    e_sum = t_sum = 0
    for k, (e, t) in enumerate(zip(e_out, t_out)):
        if t.requires_grad:
            w = np.cos(np.arange(t.numel()) + k).reshape(tuple(t.shape)).astype(dtype)
            e_sum = e_sum + (e * ember.tensor(w)).sum()
            t_sum = t_sum + (t * torch.tensor(w)).sum()
    if not isinstance(t_sum, int):
        e_sum.backward()
        t_sum.backward()
        for e, t in zip(e_in, t_in):
            if t.requires_grad:
                assert (e.grad is None) == (t.grad is None)
                if t.grad is not None:
                    # 1e-7 in float64: torch's celu backward rounds its coefficients
                    gtol = max(tol * 10, 1e-7)
                    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=gtol,
                                               atol=gtol)


def test_embedding_padding_idx_blocks_gradient(torch):
    w = np.arange(15.0).reshape(5, 3)
    idx = [0, 1, 4, 4]
    for pad in (-1, -2, 1, 4, 7):
        we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
        ember.embedding(we, ember.tensor(idx), pad).sum().backward()
        torch.embedding(wt, torch.tensor(idx), pad).sum().backward()
        np.testing.assert_array_equal(we.grad.numpy(), wt.grad.numpy())


def test_in_place_forms(torch):
    x = _f(3, 4)
    for name, args in [("celu_", (0.5,)), ("selu_", ()), ("threshold_", (0.2, -3.0)),
                       ("rrelu_", (0.2, 0.2))]:
        e, t = ember.tensor(x), torch.tensor(x)
        re, rt = getattr(ember, name)(e, *args), getattr(torch, name)(t, *args)
        assert re is e and rt is t
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)


def test_random_dropouts_statistics_and_masks():
    ember.manual_seed(0)
    x = ember.ones(200, 50)
    out, mask = ember.native_dropout(x, 0.3, True)
    assert mask.dtype is ember.bool and not mask.requires_grad
    kept = mask.float().mean().item()
    assert 0.65 < kept < 0.75
    np.testing.assert_allclose(out.numpy(), np.where(mask.numpy(), 1 / 0.7, 0.0), rtol=1e-6)
    out, mask = ember.native_dropout(x, 1.0, None)  # None counts as training
    assert not mask.any().item() and not out.any().item()
    # whole channels drop together
    y = ember.feature_dropout(ember.ones(4, 30, 5), 0.5, True)
    per_channel = y.numpy()
    assert (per_channel == per_channel[:, :, :1]).all()
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    z = ember.ones(4, 30, 5)
    assert ember.feature_dropout_(z, 0.5, True) is z and set(np.unique(z.numpy())) == {0.0, 2.0}
    a = ember.alpha_dropout(ember.ones(1000), 0.5, True)
    assert len(np.unique(a.numpy())) == 2
    fa = ember.feature_alpha_dropout(ember.ones(4, 30, 5), 0.5, True).numpy()
    assert (fa == fa[:, :, :1]).all()


def test_rrelu_training_uses_generator(torch):
    x = ember.tensor(-np.ones(50))
    g1, g2 = ember.Generator().manual_seed(3), ember.Generator().manual_seed(3)
    a = ember.rrelu(x, 0.1, 0.3, True, g1)
    b = ember.rrelu(x, 0.1, 0.3, True, g2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert ((-a.numpy() >= 0.1) & (-a.numpy() <= 0.3)).all() and len(np.unique(a.numpy())) > 1


def test_native_batch_norm_updates_running_stats_and_eval(torch):
    x = _f(4, 3, 5)
    rm_e, rv_e = ember.zeros(3), ember.ones(3)
    rm_t, rv_t = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    rm_e, rv_e = rm_e.double(), rv_e.double()
    ember.native_batch_norm(ember.tensor(x), None, None, rm_e, rv_e, True, 0.2, 1e-5)
    torch.native_batch_norm(torch.tensor(x), None, None, rm_t, rv_t, True, 0.2, 1e-5)
    np.testing.assert_allclose(rm_e.numpy(), rm_t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv_e.numpy(), rv_t.numpy(), rtol=1e-12)
    e = ember.native_batch_norm(ember.tensor(x), None, None, rm_e, rv_e, False, 0.2, 1e-5)
    t = torch.native_batch_norm(torch.tensor(x), None, None, rm_t, rv_t, False, 0.2, 1e-5)
    for a, b in zip(e, t):
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype)
    np.testing.assert_allclose(e[0].numpy(), t[0].numpy(), rtol=1e-12)


def test_embedding_renorm_(torch):
    w = _f(5, 3) * 3
    we, wt = ember.tensor(w), torch.tensor(w)
    assert ember.embedding_renorm_(we, ember.tensor([0, 2, 2]), 1.0, 2.0) is we
    torch.embedding_renorm_(wt, torch.tensor([0, 2, 2]), 1.0, 2.0)
    np.testing.assert_allclose(we.numpy(), wt.numpy(), rtol=1e-12)


def test_native_norm_of_sparse(torch):
    x = [[3.0, 0.0], [0.0, -4.0]]
    for args in [(), (1,), (3, [0, 1], False, None)]:
        e = ember.native_norm(ember.tensor(x).to_sparse(), *args)
        t = torch.native_norm(torch.tensor(x).to_sparse(), *args)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="full reductions"):
        torch.native_norm(torch.tensor(x).to_sparse(), 2, [1], False, None)
    with pytest.raises(RuntimeError, match="full reductions"):
        ember.native_norm(ember.tensor(x).to_sparse(), 2, [1], False, None)


def test_deprecated_norms_warn(torch):
    for fn in (lambda L: L.frobenius_norm(L.ones(2, 2), [0]), lambda L: L.nuclear_norm(L.eye(2))):
        with pytest.warns(UserWarning, match="deprecated"):
            fn(ember)


def _raises(torch, fn, *arrays):
    """The same exception type from both libraries, with torch's key words."""
    with pytest.raises(Exception) as t_err:
        fn(torch, *[torch.tensor(a) for a in arrays])
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember, *[ember.tensor(a) for a in arrays])
    return str(t_err.value), str(e_err.value)


@pytest.mark.parametrize("fn, arrays, words", [
    (lambda L, a: L.pdist(a), [_f(2, 3, 4)], "pdist only supports 2D"),
    (lambda L, a: L.pdist(a, -1.0), [_f(3, 4)], "non-negative p"),
    (lambda L, a, t: L.kl_div(a, t, "mean"), [_f(3), _f(3)], "must be int"),
    (lambda L, a: L.poisson_nll_loss(a, a), [_f(3)], "missing"),
    (lambda L, a: L.alpha_dropout(a, 1.5, True), [_f(3)], "between 0 and 1"),
    (lambda L, a: L.feature_dropout(a, 0.5, True), [_f(3)], "at least 2 dimensions"),
    (lambda L, a: L.feature_alpha_dropout(a, 0.5, True), [_f(3)], "at least 2 dimensions"),
    (lambda L, a: L.native_dropout(a, 1.5, True), [_f(3)], "bernoulli_"),
    (lambda L, a: L.constant_pad_nd(a, [1, 2, 3]), [_f(2, 3)], "must be even"),
    (lambda L, a, w, b: L.conv_tbc(a, w, b), [_f(5, 2, 3), _f(3, 2, 4), _f(4)],
     "input channels"),
    (lambda L, a, w, b: L.conv_tbc(a, w, b), [_f(5, 2, 3), _f(3, 3, 4), _f(5)], "Bias size"),
    (lambda L, a, w, b: L.conv_tbc(a, w, b), [_f(5, 2), _f(3, 3, 4), _f(4)], "3 dims"),
    (lambda L, a, g: L.grid_sampler(a, g, 0, 0, None), [_f(1, 1, 2, 2), _f(1, 1, 1, 2)],
     "must be bool"),
    (lambda L, a, g: L.grid_sampler_3d(a, g, 0, 0, False), [_f(1, 1, 2, 2), _f(1, 1, 1, 2)],
     "5D"),
    (lambda L, th: L.affine_grid_generator(th, [1, 1, 2, 2], None), [_f(1, 2, 3)],
     "must be bool"),
    (lambda L, x, h, wi, wh: L.lstm_cell(x, [h], wi, wh),
     [_f(2, 3), _f(2, 4), _f(16, 3), _f(16, 4)], "two hidden states"),
    (lambda L, w, i: L.embedding_renorm_(w, i, 1.0, 2.0), [_f(3, 2), np.array([0.0])],
     "Long, Int"),
    (lambda L, a: L.frobenius_norm(a, [0, 1, 2]), [_f(2, 2, 2)], "at most 2 dimensions"),
    (lambda L, a: L.norm_except_dim(a, 2.5), [_f(2, 2)], "must be int"),
    (lambda L, a: L.norm_except_dim(a, 2, 3), [_f(2, 2)], "Dimension out of range"),
    (lambda L, a: L.native_norm(a), [_f(2, 2)], "Could not run 'aten::native_norm'"),
    (lambda L, a, w: L.prelu(a, w), [_f(2, 3), _f(2)], "Mismatch of parameter numbers"),
])
def test_errors_match_torch(torch, fn, arrays, words):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_msg, e_msg = _raises(torch, fn, *arrays)
    assert words in t_msg and words in e_msg, (t_msg, e_msg)


def test_unknown_grid_sampler_mode_is_refused():
    # torch reads garbage for an unknown mode; ember refuses
    with pytest.raises(RuntimeError, match="interpolation_mode"):
        ember.grid_sampler(ember.ones(1, 1, 2, 2), ember.zeros(1, 1, 1, 2), 3, 0, False)
    with pytest.raises(RuntimeError, match="padding_mode"):
        ember.grid_sampler(ember.ones(1, 1, 2, 2), ember.zeros(1, 1, 1, 2), 0, 5, False)
