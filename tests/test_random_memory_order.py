"""Random fills of non-contiguous tensors take torch's draws in torch's order.

torch's fill kernels walk a tensor in memory order, and ``*_like`` functions and dropout
masks fill ``empty_like(input)``, so a transposed, permuted or channels_last tensor gives
each element a different draw than a row-major one would; ``normal_`` on a non-contiguous
tensor also takes the one-at-a-time path. Regression: ember drew in logical order, so dropout
after a ``batch_first`` attention block (whose output is a transposed view) and inits of
transposed weights differed from torch under the same seed.
"""

import numpy as np
import pytest

import ember

VIEWS = {
    "transposed": lambda lib: lib.zeros(8, 10).t(),
    "permuted3d": lambda lib: lib.zeros(2, 3, 4).permute(2, 0, 1),
    "channels_last": lambda lib: lib.zeros(2, 3, 4, 5).to(memory_format=lib.channels_last),
    "strided_slice": lambda lib: lib.zeros(4, 12)[:, ::2],
    "transposed_slice": lambda lib: lib.zeros(6, 8).t()[::2],
}

FILLS = {
    "uniform_": lambda lib, t: t.uniform_(-1, 2),
    "normal_": lambda lib, t: t.normal_(2.0, 3.0),
    "bernoulli_": lambda lib, t: t.bernoulli_(0.3),
    "bernoulli_tensor": lambda lib, t: t.bernoulli_(lib.linspace(0, 1, t.numel()).reshape(t.shape)),
    "random_": lambda lib, t: t.random_(0, 10),
    "exponential_": lambda lib, t: t.exponential_(),
    "geometric_": lambda lib, t: t.geometric_(0.3),
    "cauchy_": lambda lib, t: t.cauchy_(),
    "log_normal_": lambda lib, t: t.log_normal_(),
    "rand_like": lambda lib, t: lib.rand_like(t),
    "randn_like": lambda lib, t: lib.randn_like(t),
    "randn_like_float64": lambda lib, t: lib.randn_like(t, dtype=lib.float64),
    "randint_like": lambda lib, t: lib.randint_like(t, 10),
    "dropout": lambda lib, t: lib.nn.functional.dropout(t + 1, 0.5),
    "dropout_inplace": lambda lib, t: lib.nn.functional.dropout(t + 1, 0.5, inplace=True),
    "alpha_dropout": lambda lib, t: lib.nn.functional.alpha_dropout(t + 1, 0.5, True),
    "init.normal_": lambda lib, t: lib.nn.init.normal_(t, std=0.5),
    "init.uniform_": lambda lib, t: lib.nn.init.uniform_(t),
    "init.kaiming_uniform_": lambda lib, t: lib.nn.init.kaiming_uniform_(t),
    "init.xavier_normal_": lambda lib, t: lib.nn.init.xavier_normal_(t),
    "init.trunc_normal_": lambda lib, t: lib.nn.init.trunc_normal_(t, a=-1.0, b=1.0),
    "init.trunc_normal_narrow": lambda lib, t: lib.nn.init.trunc_normal_(t, std=0.02, a=-0.04,
                                                                           b=0.04),
    "init.trunc_normal_uniform_path": lambda lib, t: lib.nn.init.trunc_normal_(t, a=-0.1, b=0.3),
}


@pytest.mark.parametrize("fill", list(FILLS))
@pytest.mark.parametrize("view", list(VIEWS))
def test_fill_of_non_contiguous_tensor_matches_torch(torch, view, fill):
    torch.manual_seed(0)
    ember.manual_seed(0)
    want = FILLS[fill](torch, VIEWS[view](torch))
    got = FILLS[fill](ember, VIEWS[view](ember))
    # the values agree to rounding (vectorised normals may differ in the last ulp)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert ember.rand(1).item() == torch.rand(1).item()  # the stream advanced alike


def test_batch_first_encoder_layer_dropout_matches_torch(torch):
    # the attention output of a batch_first layer is a transposed view: dropout1 must draw
    # its mask in memory order to match torch
    torch.manual_seed(0)
    ember.manual_seed(0)
    kw = {"dropout": 0.1, "batch_first": True, "norm_first": True, "activation": "gelu"}
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, **kw)
    e_layer = ember.nn.TransformerEncoderLayer(8, 2, 16, **kw)
    e_layer.load_state_dict({k: ember.tensor(v.numpy()) for k, v in
                             t_layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 5, 8)).astype(np.float32)
    mask = np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    torch.manual_seed(3)
    ember.manual_seed(3)
    want = t_layer(torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(mask))
    got = e_layer(ember.from_numpy(x), src_key_padding_mask=ember.from_numpy(mask))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def test_contiguous_fills_unchanged(torch):
    # row-major tensors keep the block path and the logical order
    torch.manual_seed(1)
    ember.manual_seed(1)
    np.testing.assert_allclose(ember.empty(40).normal_().numpy(),
                               torch.empty(40).normal_().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ember.rand_like(ember.zeros(3, 5)).numpy(),
                                  torch.rand_like(torch.zeros(3, 5)).numpy())
