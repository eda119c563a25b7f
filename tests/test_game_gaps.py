"""Gaps found while writing the board-game programs (tests/programs/game_*.py), each checked
against PyTorch:

- under ``vmap`` (an ensemble of snapshots evaluated with ``stack_module_state``, whose stacked
  parameters require grad) a squeeze, unsqueeze, ``t()`` or whole-tensor reduction ends in the
  node PyTorch's batching rule makes, whichever path ember takes (the per-element loop below
  eight elements, the batched capture from eight): ``value_head(h).squeeze(-1)`` prints
  ``grad_fn=<SqueezeBackward2>``, ``x.t()`` is a ``TransposeBackward0``, ``x.prod()`` a
  ``ProdBackward1`` and ``x.max()`` a ``MaxBackward0``;
- ``nn.Flatten()`` on a 0-d tensor raises PyTorch's IndexError (it returned a 1-element
  vector), and ``unflatten``/``nn.Unflatten`` on one raise PyTorch's RuntimeError (not a bare
  ``IndexError: tuple index out of range``);
- a hook added with ``register_state_dict_post_hook`` must return None (PyTorch raises
  "state_dict post-hook must return None"; ember used the returned value as the state dict),
  and such a hook cannot be registered again through the legacy ``_register_state_dict_hook``;
- ``torch.jit.trace(module, ...)`` returns a ``TopLevelTracedModule`` (it was a ``TracedModule``).
"""

import numpy as np
import pytest
import torch

import ember

VIEW_AND_REDUCTION_CASES = {
    "squeeze_dim": lambda a: a.squeeze(-1),
    "squeeze_all": lambda a: a.squeeze(),
    "unsqueeze": lambda a: a.unsqueeze(0),
    "t": lambda a: a.t(),
    "t_contiguous": lambda a: a.t().contiguous(),
    "prod": lambda a: a.prod(),
    "max": lambda a: a.max(),
    "min": lambda a: a.min(),
    "sum": lambda a: a.sum(),
}


def _vmapped_node(lib, case, batch):
    weights = lib.ones(batch, 4, 1, requires_grad=True)
    out = lib.func.vmap(VIEW_AND_REDUCTION_CASES[case])(weights)
    return out.grad_fn.name(), tuple(out.shape)


@pytest.mark.parametrize("batch", [3, 10])  # the loop path, then the batched capture
@pytest.mark.parametrize("case", sorted(VIEW_AND_REDUCTION_CASES))
def test_vmapped_view_and_reduction_nodes_are_torchs(case, batch):
    assert _vmapped_node(ember, case, batch) == _vmapped_node(torch, case, batch)


def _ensemble_values(lib):
    lib.manual_seed(0)
    models = [lib.nn.Linear(3, 1) for _ in range(3)]
    params, buffers = lib.func.stack_module_state(models)
    base = lib.nn.Linear(3, 1).to("meta")

    def value(p, b, x):
        return lib.func.functional_call(base, (p, b), (x,)).squeeze(-1)

    out = lib.func.vmap(value, in_dims=(0, 0, None))(params, buffers, lib.ones(2, 3))
    return repr(out)


def test_ensemble_value_head_prints_torchs_node():
    assert _ensemble_values(ember) == _ensemble_values(torch)


def test_renamed_nodes_keep_values_and_gradients():
    results = []
    for lib in (torch, ember):
        weights = lib.arange(1.0, 41.0).view(10, 4, 1).div(40).requires_grad_()
        out = lib.func.vmap(lambda a: a.squeeze(-1).unsqueeze(0).t().prod())(weights)
        out.sum().backward()
        results.append((out.detach().numpy(), weights.grad.numpy()))
    (want_out, want_grad), (got_out, got_grad) = results
    np.testing.assert_allclose(got_out, want_out, rtol=1e-6)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-5)


def _error(call, lib):
    try:
        call(lib)
    except Exception as err:  # the type and the first line of the message
        return type(err).__name__, str(err).split("Exception raised from")[0].strip()
    return None


@pytest.mark.parametrize("start_dim", [1, 2, -2])
def test_flatten_module_refuses_a_0d_input(start_dim):
    """A value head fed a scalar (a hook that returned ``out.mean()``) must not be silently
    turned into a 1-element batch by ``nn.Flatten``."""
    errors = [_error(lambda L: L.nn.Flatten(start_dim)(L.tensor(2.0)), lib) for lib in (torch, ember)]
    assert errors[1] == errors[0] and errors[0] is not None


@pytest.mark.parametrize("start_dim,end_dim", [(0, -1), (-1, 0), (0, 0)])
def test_flatten_module_0d_valid_dims_match(start_dim, end_dim):
    got = ember.nn.Flatten(start_dim, end_dim)(ember.tensor(2.0))
    want = torch.nn.Flatten(start_dim, end_dim)(torch.tensor(2.0))
    assert tuple(got.shape) == tuple(want.shape) and got.item() == want.item()


@pytest.mark.parametrize("dim", [0, -1, 1])
def test_unflatten_0d_error_is_torchs(dim):
    errors = [_error(lambda L: L.tensor(2.0).unflatten(dim, (1,)), lib) for lib in (torch, ember)]
    assert errors[1] == errors[0] and errors[0] is not None
    modules = [_error(lambda L: L.nn.Unflatten(0, (1,))(L.tensor(2.0)), lib)
               for lib in (torch, ember)]
    assert modules[1] == modules[0] and modules[0] is not None


def _drop_bias(module, state_dict, prefix, local_metadata):
    return state_dict.pop(prefix + "bias")  # returns the tensor: not allowed for public hooks


def _state_dict_with(lib, register):
    lib.manual_seed(0)
    net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 1))
    hook = (lambda *args: _drop_bias(*args))  # a fresh function: the flag is set on it
    getattr(net[1], register)(hook)
    try:
        return sorted(net.state_dict())
    except RuntimeError as err:
        return str(err)


@pytest.mark.parametrize("register", ["register_state_dict_post_hook",
                                      "_register_state_dict_hook"])
def test_state_dict_post_hook_return_contract(register):
    """A snapshot hook that pops a key and returns it: the public hook must return None."""
    assert _state_dict_with(ember, register) == _state_dict_with(torch, register)


def test_legacy_registration_of_a_public_hook_is_refused():
    messages = []
    for lib in (torch, ember):
        def hook(module, state_dict, prefix, local_metadata):
            return None
        net = lib.nn.Linear(2, 1)
        net.register_state_dict_post_hook(hook)
        with pytest.raises(RuntimeError) as info:
            net._register_state_dict_hook(hook)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def test_legacy_state_dict_hook_may_replace_the_dict():
    results = []
    for lib in (torch, ember):
        net = lib.nn.Linear(2, 1)
        net._register_state_dict_hook(lambda m, sd, p, md: {"only": sd[p + "weight"]})
        results.append(sorted(net.state_dict()))
    assert results[1] == results[0] == ["only"]


def test_traced_policy_net_is_a_top_level_traced_module():
    """A policy net traced for deployment: PyTorch's root is a ``TopLevelTracedModule``, a
    ``TracedModule`` and a ``ScriptModule``."""
    names = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(9, 16), lib.nn.ReLU(), lib.nn.Linear(16, 9))
        traced = lib.jit.trace(net, lib.zeros(1, 9))
        names.append((type(traced).__name__, isinstance(traced, lib.jit.TracedModule),
                      isinstance(traced, lib.jit.ScriptModule),
                      isinstance(traced, lib.jit.TopLevelTracedModule), repr(traced)))
    assert names[1] == names[0]
