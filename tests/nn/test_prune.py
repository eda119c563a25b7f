"""nn.utils.prune against torch: the masks chosen (same weights), weight_orig/weight_mask and
the state_dict keys, combined prunings, global pruning, gradients through the mask, remove,
is_pruned and the argument checks."""

import numpy as np
import pytest

import ember
import ember.nn.utils.prune as eprune

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")

LIB_PRUNE = {"torch": tprune, "ember": eprune}


def to_ember(state):
    return {k: ember.tensor(v.detach().numpy()) for k, v in state.items()}


def pair(build):
    torch.manual_seed(0)
    t_mod = build(torch)
    e_mod = build(ember)
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    return t_mod, e_mod


def linear(lib):
    return lib.nn.Linear(6, 5)


def conv(lib):
    return lib.nn.Conv2d(3, 4, 3)


def check_same(t_mod, e_mod, names=("weight",)):
    t_state, e_state = t_mod.state_dict(), e_mod.state_dict()
    assert list(e_state) == list(t_state)
    for key, tv in t_state.items():
        np.testing.assert_allclose(e_state[key].numpy(), tv.numpy(), err_msg=key)
    for name in names:
        np.testing.assert_allclose(getattr(e_mod, name).detach().numpy(),
                                   getattr(t_mod, name).detach().numpy(), err_msg=name)


PRUNINGS = {
    "l1_fraction": (linear, lambda p, m: p.l1_unstructured(m, "weight", amount=0.4)),
    "l1_count": (linear, lambda p, m: p.l1_unstructured(m, "weight", amount=7)),
    "l1_bias": (linear, lambda p, m: p.l1_unstructured(m, "bias", amount=2)),
    "l1_twice": (linear, lambda p, m: (p.l1_unstructured(m, "weight", amount=0.3),
                                       p.l1_unstructured(m, "weight", amount=0.3))),
    "ln2_dim0": (conv, lambda p, m: p.ln_structured(m, "weight", amount=0.5, n=2, dim=0)),
    "ln1_dim1": (conv, lambda p, m: p.ln_structured(m, "weight", amount=1, n=1, dim=1)),
    "ln_inf_last": (linear, lambda p, m: p.ln_structured(m, "weight", amount=2, n=float("inf"),
                                                         dim=-1)),
    "l1_then_ln": (conv, lambda p, m: (p.l1_unstructured(m, "weight", amount=0.2),
                                       p.ln_structured(m, "weight", amount=1, n=2, dim=0))),
    "identity": (linear, lambda p, m: p.identity(m, "weight")),
    "zero_amount": (linear, lambda p, m: p.l1_unstructured(m, "weight", amount=0.0)),
}


@pytest.mark.parametrize("name", sorted(PRUNINGS))
def test_pruning_matches_torch(name):
    build, apply = PRUNINGS[name]
    t_mod, e_mod = pair(build)
    apply(tprune, t_mod)
    apply(eprune, e_mod)
    pruned = "bias" if name == "l1_bias" else "weight"
    assert f"{pruned}_orig" in dict(e_mod.named_parameters())
    assert f"{pruned}_mask" in dict(e_mod.named_buffers())
    check_same(t_mod, e_mod, names=(pruned,))
    assert eprune.is_pruned(e_mod)
    shape = (2, 6) if build is linear else (2, 3, 5, 5)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    t_out, e_out = t_mod(torch.tensor(x)), e_mod(ember.tensor(x))
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    t_out.sum().backward()
    e_out.sum().backward()
    for pname, tp in t_mod.named_parameters():
        np.testing.assert_allclose(dict(e_mod.named_parameters())[pname].grad.numpy(),
                                   tp.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=pname)
    tprune.remove(t_mod, pruned)
    eprune.remove(e_mod, pruned)
    assert not eprune.is_pruned(e_mod)
    check_same(t_mod, e_mod, names=(pruned,))
    assert isinstance(getattr(e_mod, pruned), ember.nn.Parameter)


def test_importance_scores_and_custom_mask():
    t_mod, e_mod = pair(linear)
    scores = np.arange(30, dtype=np.float32).reshape(5, 6)[::-1].copy()
    tprune.l1_unstructured(t_mod, "weight", amount=10, importance_scores=torch.tensor(scores))
    eprune.l1_unstructured(e_mod, "weight", amount=10, importance_scores=ember.tensor(scores))
    check_same(t_mod, e_mod)
    mask = np.array([1, 0, 1, 0, 1], dtype=np.float32)
    tprune.custom_from_mask(t_mod, "bias", torch.tensor(mask))
    eprune.custom_from_mask(e_mod, "bias", ember.tensor(mask))
    check_same(t_mod, e_mod, names=("weight", "bias"))


def test_global_unstructured_matches_torch():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(6, 5), lib.nn.ReLU(), lib.nn.Linear(5, 3))

    t_mod, e_mod = pair(build)
    for prune, mod in ((tprune, t_mod), (eprune, e_mod)):
        prune.l1_unstructured(mod[2], "weight", amount=3)  # an existing mask is respected
        prune.global_unstructured([(mod[0], "weight"), (mod[2], "weight")],
                                  pruning_method=prune.L1Unstructured, amount=0.3)
    check_same(t_mod[0], e_mod[0])
    check_same(t_mod[2], e_mod[2])
    assert int((e_mod[0].weight == 0).sum() + (e_mod[2].weight == 0).sum()) == \
        int((t_mod[0].weight == 0).sum() + (t_mod[2].weight == 0).sum())


def test_random_pruning_counts():
    ember.manual_seed(0)
    m = eprune.random_unstructured(ember.nn.Linear(10, 10), "weight", amount=0.25)
    assert int((m.weight_mask == 0).sum()) == 25
    m = eprune.random_structured(ember.nn.Conv2d(3, 8, 3), "weight", amount=3, dim=0)
    kept = m.weight_mask.sum(dim=(1, 2, 3)).numpy()
    assert sorted(set(kept.tolist())) == [0.0, 27.0] and int((kept == 0).sum()) == 3
    # Pruning again only touches what is left.
    eprune.random_unstructured(m, "bias", amount=4)
    eprune.random_unstructured(m, "bias", amount=2)
    assert int((m.bias_mask == 0).sum()) == 6
    assert isinstance(m._forward_pre_hooks[next(reversed(m._forward_pre_hooks))],
                      eprune.PruningContainer)


ERRORS = {
    "negative": lambda p, lib: p.l1_unstructured(lib.nn.Linear(2, 2), "weight", amount=-1),
    "above_one": lambda p, lib: p.l1_unstructured(lib.nn.Linear(2, 2), "weight", amount=1.5),
    "bad_type": lambda p, lib: p.l1_unstructured(lib.nn.Linear(2, 2), "weight", amount="a"),
    "too_many": lambda p, lib: p.l1_unstructured(lib.nn.Linear(2, 2), "weight", amount=5),
    "structured_1d": lambda p, lib: p.ln_structured(lib.nn.Linear(2, 2), "bias", amount=1,
                                                    n=2, dim=0),
    "bad_dim": lambda p, lib: p.ln_structured(lib.nn.Linear(2, 2), "weight", amount=1, n=2,
                                              dim=2),
    "remove_unpruned": lambda p, lib: p.remove(lib.nn.Linear(2, 2), "weight"),
    "global_structured": lambda p, lib: p.global_unstructured(
        [(lib.nn.Linear(2, 2), "weight")], pruning_method=p.LnStructured, amount=1, n=2, dim=0),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    outcomes = []
    for lib, prune in ((torch, tprune), (ember, eprune)):
        with pytest.raises(Exception) as info:
            ERRORS[name](prune, lib)
        message = str(info.value).split("\n")[0]
        outcomes.append((type(info.value).__name__, message.split(" of module ")[0]
                         .replace("ember.nn.utils.prune", "torch.nn.utils.prune")
                         .replace("ember.", "torch.")))
    assert outcomes[0] == outcomes[1]


def test_failed_pruning_restores_the_parameter():
    m = ember.nn.Linear(2, 2)
    with pytest.raises(ValueError):
        eprune.l1_unstructured(m, "weight", amount=5)
    assert "weight" in dict(m.named_parameters()) and not eprune.is_pruned(m)
