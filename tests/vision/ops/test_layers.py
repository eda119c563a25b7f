"""ember.vision.ops layers: reprs, state_dict keys and eval outputs against torchvision 0.29,
and the random regularizers' behaviour."""

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import ops
from ember.vision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

from . import _cases
from ._oracle import assert_same, recorded

CASES = {c[0]: c for c in _cases.layer_cases(ember, ops, LastLevelMaxPool, LastLevelP6P7)}
ERRORS = dict(_cases.error_cases(ember, ops))


def _build(name):
    ember.manual_seed(0)
    return CASES[name][1]()


@pytest.mark.parametrize("name", sorted(CASES))
def test_repr_and_state_dict_keys(name):
    module = _build(name)
    assert repr(module) == str(recorded()[f"{name}/repr"])
    assert list(module.state_dict()) == list(recorded()[f"{name}/keys"])


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][2] is not None))
def test_eval_output(name):
    module = _build(name)
    _cases.fill_state(module, lambda a: ember.from_numpy(a))
    module.eval()
    x = CASES[name][2]
    with ember.no_grad():
        if isinstance(x, dict):
            y = module({k: ember.from_numpy(v.copy()) for k, v in x.items()})
            want = sorted(k[len(name) + 5:] for k in recorded() if k.startswith(f"{name}/out_"))
            assert list(y) == want or sorted(y) == want
            for k, v in y.items():
                assert_same(v.numpy(), recorded()[f"{name}/out_{k}"], f"{name} level {k}")
        else:
            assert_same(module(ember.from_numpy(x.copy())).numpy(), recorded()[f"{name}/out"],
                        name)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors(name):
    want = str(recorded()[f"{name}/error"])
    kind = want.split(":")[0]
    with pytest.raises(Exception) as info:
        ERRORS[name]()
    # the class named by torch (``<class 'torch.nn...ReLU'>``) is named by ember's own path
    got = f"{type(info.value).__name__}: {info.value}".replace("ember.", "torch.")
    assert got == want or (kind == "TypeError" and got.split("<")[0] == want.split("<")[0]), got


def test_frozen_batch_norm_loads_a_batch_norm_checkpoint():
    bn = nn.BatchNorm2d(3)
    frozen = ops.FrozenBatchNorm2d(3)
    frozen.load_state_dict(bn.state_dict())  # num_batches_tracked is dropped, not unexpected
    assert sorted(frozen.state_dict()) == ["bias", "running_mean", "running_var", "weight"]
    assert not list(frozen.parameters())


def test_fpn_loads_version_1_keys():
    fpn = ops.FeaturePyramidNetwork([2, 3], 4)
    old = {k.replace(".0.weight", ".weight").replace(".0.bias", ".bias"): v
           for k, v in fpn.state_dict().items()}
    old["_metadata"] = {"": {"version": 1}}
    fresh = ops.FeaturePyramidNetwork([2, 3], 4)
    meta = old.pop("_metadata")
    sd = dict(old)
    sd = type(fresh.state_dict())(sd)
    sd._metadata = meta
    fresh.load_state_dict(sd)
    for k, v in fpn.state_dict().items():
        assert np.array_equal(fresh.state_dict()[k].numpy(), v.numpy())


def test_conv_norm_activation_gradients_flow():
    block = ops.Conv2dNormActivation(3, 4)
    x = ember.randn(2, 3, 5, 5, requires_grad=True)
    block(x).sum().backward()
    assert x.grad is not None and block[0].weight.grad is not None


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth(mode):
    ember.manual_seed(0)
    x = ember.ones(4000, 3)
    y = ops.stochastic_depth(x, 0.25, mode).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1.0 / 0.75)}
    if mode == "row":
        assert (y == y[:, :1]).all()  # a whole sample is kept or dropped
        assert abs((y[:, 0] == 0).mean() - 0.25) < 0.03
    else:
        assert len(np.unique(y)) == 1
    assert ops.stochastic_depth(x, 0.25, mode, training=False) is x
    assert ops.stochastic_depth(x, 0.0, mode) is x
    assert not ops.stochastic_depth(x, 1.0, mode).numpy().any()


def test_stochastic_depth_module_and_gradient():
    m = ops.StochasticDepth(0.5, "row")
    x = ember.ones(8, 2, requires_grad=True)
    m(x).sum().backward()
    assert set(np.unique(x.grad.numpy())) <= {0.0, 2.0}
    assert m.eval()(x) is x


def test_drop_block2d_drops_blocks():
    ember.manual_seed(1)
    x = ember.ones(2, 3, 16, 16)
    y = ops.drop_block2d(x, 0.2, 3).numpy()
    dropped = y == 0
    assert 0.05 < dropped.mean() < 0.4
    kept = y[~dropped]
    assert np.allclose(kept, kept[0]) and np.isclose(y.sum(), x.numel(), rtol=1e-5)
    assert ops.drop_block2d(x, 0.2, 3, training=False) is x
    z = ember.ones(1, 1, 8, 8)
    out = ops.drop_block2d(z, 0.3, 3, inplace=True)
    assert out is z


def test_drop_block3d_shape():
    ember.manual_seed(2)
    y = ops.drop_block3d(ember.ones(1, 2, 6, 6, 6), 0.2, 3)
    assert y.shape == (1, 2, 6, 6, 6)
    assert (y.numpy() == 0).any()
