"""Channel dropout on every input rank: PyTorch 2.13's warnings, errors, mask shapes and results.

dropout1d raises outside 2-D/3-D; dropout2d and dropout3d warn (deprecated ranks) and keep
running, dropout2d reading the first dim as the batch (so a 2-D (N, C) input is dropped element
by element) and dropout3d reading a non-5-D input as one sample without its batch dim;
feature dropout of fewer than 2 dims raises only when it would draw a mask.
"""

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F

NAMES = ["dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]
CASES = [(True, 0.5), (False, 0.5), (True, 0.0), (True, 1.0)]


def _shared_axes(out: np.ndarray) -> list:
    """The axes along which the output is constant (the axes the mask broadcasts over)."""
    return [d for d in range(out.ndim)
            if out.shape[d] > 1 and bool((out == out.take([0], axis=d)).all())]


def _run(lib, fn, shape, p, training):
    """(outcome, warnings) of one call; seeded, so which axes a mask shares is reproducible."""
    lib.manual_seed(0)
    x = lib.ones(shape)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(x, p, training)
        except Exception as e:  # noqa: BLE001 -- the outcome is compared, type and message
            outcome = ("raise", type(e).__name__, str(e))
        else:
            arr = out.numpy()
            shared = _shared_axes(arr) if training and 0 < p < 1 else None
            outcome = ("ok", tuple(out.shape), shared, out is x)
    return outcome, [(str(w.message), w.category.__name__) for w in caught]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("ndim", range(7))
@pytest.mark.parametrize("training,p", CASES)
def test_ranks_match_torch(torch, name, ndim, training, p):
    shape = tuple(4 + i for i in range(ndim))
    got = _run(ember, getattr(F, name), shape, p, training)
    want = _run(torch, getattr(torch.nn.functional, name), shape, p, training)
    assert got == want


@pytest.mark.parametrize("name", ["dropout1d", "dropout2d", "dropout3d"])
def test_kept_values_are_scaled(name):
    ember.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(F, name)(ember.ones(40, 5, 6), 0.25).numpy()
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.75)}


def test_dropout2d_on_2d_input_warns_and_drops_elements(rng):
    # issue 13's reproducer: a (N, C) input used to raise
    x = ember.ones(64, 32)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        out = ember.nn.Dropout2d(0.5)(x)
    arr = out.numpy()
    assert set(np.unique(arr)) <= {0.0, 2.0}
    # element-wise: neither the rows nor the columns are dropped whole
    assert not (arr == arr[:, :1]).all(axis=1).all()
    assert not (arr == arr[:1, :]).all(axis=0).all()


def test_dropout2d_3d_input_is_channelwise_over_dim_1():
    x = ember.ones(8, 16, 5)
    with pytest.warns(UserWarning, match="assuming that channel-wise 1D dropout"):
        out = F.dropout2d(x, 0.5).numpy()
    assert (out == out[:, :, :1]).all()


def test_warning_points_at_the_caller():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.dropout2d(ember.ones(3, 4), 0.5)
    assert caught[0].filename == __file__


def test_module_forms_warn_and_raise_like_functional(torch):
    for cls, shape in [("Dropout2d", (3, 4)), ("Dropout3d", (3, 4, 5))]:
        for lib in (ember, torch):
            with pytest.warns(UserWarning, match="deprecated"):
                getattr(lib.nn, cls)()(lib.ones(shape))
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
            lib.nn.Dropout1d()(lib.ones(2, 3, 4, 5))
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2"):
            lib.nn.FeatureAlphaDropout()(lib.ones(5))


@pytest.mark.parametrize("name,shape", [("dropout1d", (3, 4)), ("dropout1d", (2, 3, 4)),
                                        ("dropout2d", (3, 4)), ("dropout3d", (3, 4, 5, 6)),
                                        ("dropout3d", (2, 3, 4, 5, 6))])
def test_inplace_returns_input_with_channel_mask(torch, name, shape):
    for lib in (ember, torch):
        x = lib.ones(shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(lib.nn.functional, name)(x, 0.5, True, inplace=True)
        assert out is x
        assert tuple(x.shape) == shape


def test_unbatched_inplace_mask_is_per_channel():
    x = ember.ones(6, 50)
    F.dropout1d(x, 0.5, True, inplace=True)
    arr = x.numpy()
    assert (arr == arr[:, :1]).all()  # each of the 6 channels kept or dropped whole


def test_gradient_flows_through_the_mask(torch):
    x = ember.ones(4, 6, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = F.dropout2d(x, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())


def test_empty_and_p_one_need_no_feature_dims(torch):
    for lib in (ember, torch):
        fn = lib.nn.functional
        assert fn.feature_alpha_dropout(lib.ones(0), 0.5, True).shape == (0,)
        np.testing.assert_array_equal(fn.feature_alpha_dropout(lib.ones(3), 1.0, True).numpy(),
                                      np.zeros(3))
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2"):
            fn.feature_alpha_dropout(lib.ones(3), 0.5, True)
