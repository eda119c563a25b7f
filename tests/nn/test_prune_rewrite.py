"""Behaviour pinned down while rewriting nn.utils.prune, nn.utils.weight_norm and
nn.modules.utils, each compared with torch: random masks under the same seed, the module state
a failed re-pruning leaves, container construction, weight norm of 1-D tensors and negative
dims (with the ``norm_except_dim`` 1-D fix), and the ``_metadata`` renaming of
``consume_prefix_in_state_dict_if_present``."""

import random
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn.utils.prune as eprune
from ember.nn.modules import utils as eutils

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")
tutils = torch.nn.modules.utils


def _fill(lib, module, seed=0):
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in module.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return module


def _snapshot(module):
    return ({k: v.detach().numpy().copy() for k, v in module.state_dict().items()},
            [type(h).__name__ for h in module._forward_pre_hooks.values()],
            [n for n, _ in module.named_parameters()], [n for n, _ in module.named_buffers()])


def _assert_same(t_mod, e_mod):
    (ts, th, tp, tb), (es, eh, ep, eb) = _snapshot(t_mod), _snapshot(e_mod)
    assert (eh, ep, eb) == (th, tp, tb)
    assert list(es) == list(ts)
    for key in ts:
        np.testing.assert_allclose(es[key], ts[key], rtol=1e-6, err_msg=key)


# -- prune ------------------------------------------------------------------------------------

RANDOM_STEPS = {
    "unstructured": lambda p, m: (p.random_unstructured(m, "weight", 0.4),
                                  p.random_unstructured(m, "weight", 5),
                                  p.random_unstructured(m, "bias", 2)),
    "structured": lambda p, m: (p.random_structured(m, "weight", 2, 0),
                                p.random_structured(m, "weight", 0.34, 1),
                                p.random_structured(m, "weight", 1, -1)),
    "mixed": lambda p, m: (p.l1_unstructured(m, "weight", 0.5),
                           p.random_structured(m, "weight", 2, 0),
                           p.ln_structured(m, "weight", 1, float("inf"), -1)),
    "global": lambda p, m: (p.l1_unstructured(m, "weight", 10),
                            p.global_unstructured([(m, "weight"), (m, "bias")],
                                                  pruning_method=p.RandomUnstructured,
                                                  amount=0.3)),
}


@pytest.mark.parametrize("name", sorted(RANDOM_STEPS))
def test_random_masks_match_torch_under_the_same_seed(name):
    # ember's generator reproduces torch's stream, so the same draws pick the same entries
    mods = []
    for lib, prune in ((torch, tprune), (ember, eprune)):
        module = _fill(lib, lib.nn.Conv2d(3, 6, 3))
        lib.manual_seed(11)
        RANDOM_STEPS[name](prune, module)
        mods.append(module)
    _assert_same(*mods)


def test_failed_repruning_leaves_the_state_torch_leaves():
    # the old hook is dropped before the new mask is computed and is not restored
    mods = []
    for lib, prune in ((torch, tprune), (ember, eprune)):
        module = _fill(lib, lib.nn.Linear(3, 4))
        prune.l1_unstructured(module, "weight", 3)
        with pytest.raises(ValueError, match="number of parameters to prune=9"):
            prune.l1_unstructured(module, "weight", 40)
        mods.append(module)
    _assert_same(*mods)
    assert not mods[1]._forward_pre_hooks and not eprune.is_pruned(mods[1])


def test_failed_first_pruning_moves_the_parameter_last_like_torch():
    names = []
    for lib, prune in ((torch, tprune), (ember, eprune)):
        module = lib.nn.Linear(3, 4)
        weight = module.weight
        with pytest.raises(ValueError):
            prune.l1_unstructured(module, "weight", 40)
        assert module.weight is weight
        names.append([n for n, _ in module.named_parameters()])
    assert names[0] == names[1] == ["bias", "weight"]


def test_orig_is_the_same_parameter_object():
    m = ember.nn.Linear(3, 4)
    weight = m.weight
    eprune.l1_unstructured(m, "weight", 2)
    assert m.weight_orig is weight
    eprune.remove(m, "weight")
    assert m.weight is weight and int((m.weight == 0).sum()) == 2


def test_amount_edge_values_match_torch():
    # NaN passes the range check (two comparisons) and fails only when it is rounded
    for lib, prune in ((torch, tprune), (ember, eprune)):
        method = prune.L1Unstructured(float("nan"))
        with pytest.raises(ValueError, match="cannot convert float NaN to integer"):
            prune.l1_unstructured(lib.nn.Linear(2, 2), "bias", method.amount)
    for amount in (0.5, 0.25, 1.0, 0):
        masks = []
        for lib, prune in ((torch, tprune), (ember, eprune)):
            module = _fill(lib, lib.nn.Linear(3, 6))
            prune.l1_unstructured(module, "bias", amount)
            masks.append(module.bias_mask.numpy())
        np.testing.assert_array_equal(masks[1], masks[0], err_msg=str(amount))


def _container_outcome(prune, build):
    try:
        box = build(prune)
        return ("ok", len(box), box._tensor_name)
    except Exception as exc:  # the type and message are what is compared
        return (type(exc).__name__, str(exc).split(" at 0x")[0].replace("ember.", "torch."))


def _named(prune, cls, name):
    method = cls(1)
    method._tensor_name = name
    return method


CONTAINERS = {
    "single": lambda p: p.PruningContainer(_named(p, p.L1Unstructured, "w")),
    "two_unnamed": lambda p: p.PruningContainer(_named(p, p.L1Unstructured, "w"),
                                                _named(p, p.L1Unstructured, "w")),
    "list": lambda p: p.PruningContainer([_named(p, p.L1Unstructured, "w")]),
    "not_a_method": lambda p: p.PruningContainer(5),
    "add_other_tensor": lambda p: (lambda box: (box.add_pruning_method(
        _named(p, p.L1Unstructured, "b")), box)[1])(
            p.PruningContainer(_named(p, p.L1Unstructured, "w"))),
    "add_int": lambda p: (lambda box: (box.add_pruning_method(3), box)[1])(
        p.PruningContainer(_named(p, p.L1Unstructured, "w"))),
    "add_none": lambda p: (lambda box: (box.add_pruning_method(None), box)[1])(
        p.PruningContainer(_named(p, p.L1Unstructured, "w"))),
}


@pytest.mark.parametrize("name", sorted(CONTAINERS))
def test_pruning_container_construction_matches_torch(name):
    assert (_container_outcome(eprune, CONTAINERS[name])
            == _container_outcome(tprune, CONTAINERS[name]))


def test_prune_method_without_module_matches_torch():
    x = np.array([3.0, -1.0, 2.0, 0.5], dtype=np.float32)
    scores = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    for kwargs in ({}, {"importance_scores": scores},
                   {"default_mask": np.array([1, 1, 1, 0], dtype=np.float32)}):
        out = [prune.L1Unstructured(2).prune(lib.tensor(x), **{k: lib.tensor(v) for k, v
                                                                in kwargs.items()}).numpy()
               for lib, prune in ((torch, tprune), (ember, eprune))]
        np.testing.assert_array_equal(out[1], out[0])


# -- weight_norm ------------------------------------------------------------------------------

def test_norm_except_dim_of_a_vector_is_elementwise():
    # regression: a 1-D tensor has no other dim to reduce, so each entry is its own norm
    # (ember.norm_except_dim used to return the norm of the whole vector)
    x = np.array([3.0, 0.0, -2.0], dtype=np.float32)
    for p in (0, 1, 2, 3):
        expected = torch.norm_except_dim(torch.tensor(x), p, 0).numpy()
        got = ember.norm_except_dim(ember.tensor(x), p, 0)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    xe = ember.tensor(x, requires_grad=True)
    ember.norm_except_dim(xe, 2, 0).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), [1.0, 0.0, -1.0])


@pytest.mark.parametrize("case", ["bias", "conv_dim_minus2", "conv_dim_none", "conv_dim_1"])
def test_hook_weight_norm_matches_torch(case):
    name, dim = {"bias": ("bias", 0), "conv_dim_minus2": ("weight", -2),
                 "conv_dim_none": ("weight", None), "conv_dim_1": ("weight", 1)}[case]
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6)).astype(np.float32)
    mods, outs = [], []
    for lib in (torch, ember):
        module = _fill(lib, lib.nn.Conv2d(3, 4, 3))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            lib.nn.utils.weight_norm(module, name=name, dim=dim)
        hook = next(iter(module._forward_pre_hooks.values()))
        assert hook.dim == (-1 if dim is None else dim)
        out = module(lib.tensor(x))
        (out ** 2).mean().backward()
        mods.append(module)
        outs.append(out.detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-6)
    t_mod, e_mod = mods
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    for pname, tp in t_mod.named_parameters():
        ep = dict(e_mod.named_parameters())[pname]
        assert tuple(ep.shape) == tuple(tp.shape)
        np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6)
    torch.nn.utils.remove_weight_norm(t_mod, name)
    ember.nn.utils.remove_weight_norm(e_mod, name)
    assert [n for n, _ in e_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    np.testing.assert_allclose(getattr(e_mod, name).detach().numpy(),
                               getattr(t_mod, name).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_weight_norm_apply_warns_and_checks_like_torch():
    import importlib

    ewn = importlib.import_module("ember.nn.utils.weight_norm")
    assert ewn.WeightNorm("w", None).dim == -1
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        hook = ewn.WeightNorm.apply(ember.nn.Linear(2, 3), "weight", 0)
    assert (hook.name, hook.dim) == ("weight", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(ValueError, match="can't have uninitialized parameters"):
            ember.nn.utils.weight_norm(ember.nn.LazyLinear(3))
        with pytest.raises(IndexError, match="Dimension out of range"):
            ember.nn.utils.weight_norm(ember.nn.Linear(2, 3), dim=5)


# -- nn.modules.utils -------------------------------------------------------------------------

def test_consume_prefix_metadata_renaming_matches_torch():
    # the root entry "" never moves; the wrapper's own entry ("module" for "module.", the
    # prefix with its dots dropped) becomes the root; renamed entries move to the end
    keys = ["", "module", "module.", "module.a", "modulex", "a", "module.module.b", ".", "m",
            "module..", "module.module", "xy", "x.y"]
    prefixes = ["module.", "module", "", ".", "m", "module.module.", "module..", "x.y."]
    rng = random.Random(0)
    for _ in range(400):
        present = rng.sample(keys, rng.randint(0, len(keys)))
        meta_keys = rng.sample(keys, 7)
        prefix = rng.choice(prefixes)
        results = []
        for lib in (tutils, eutils):
            sd = OrderedDict((k, i) for i, k in enumerate(present))
            sd._metadata = OrderedDict((k, {"i": i}) for i, k in enumerate(meta_keys))
            lib.consume_prefix_in_state_dict_if_present(sd, prefix)
            results.append((list(sd.items()), list(sd._metadata.items())))
        assert results[1] == results[0], (present, meta_keys, prefix)


def test_tuple_helpers_edge_values_match_torch():
    for value in ("ab", None, range(3), torch.Size([2, 3]), 2.5, (1,)):
        for name in ("_single", "_pair", "_triple", "_quadruple"):
            assert getattr(eutils, name)(value) == getattr(tutils, name)(value)
            assert getattr(eutils, name).__name__ == name
    for t in ((1, 2, 3), [4, 5], ()):
        for n in range(3):
            assert eutils._reverse_repeat_tuple(t, n) == tutils._reverse_repeat_tuple(t, n)
    for args in (([], [1, 2]), ((None, 3), (1, 2, 3)), ([None] * 3, [7, 8, 9, 10])):
        assert eutils._list_with_default(*args) == tutils._list_with_default(*args)
    for args in (([1, 2, 3], [1, 2]), ([], [])):
        with pytest.raises(ValueError) as t_err:
            tutils._list_with_default(*args)
        with pytest.raises(ValueError, match=str(t_err.value)):
            eutils._list_with_default(*args)
