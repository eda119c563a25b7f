"""Helpers for nn tests: copy torch's parameters into ember modules and compare."""

import numpy as np

import ember


def copy_params(e_mod, t_mod) -> None:
    """Copy torch's initialised parameters and buffers into the ember module, by name."""
    t_state = t_mod.state_dict()
    e_state = e_mod.state_dict()
    assert list(e_state) == list(t_state), (list(e_state), list(t_state))
    e_mod.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_state.items()})


def same(e, t, atol=1e-5, rtol=1e-5) -> None:
    e_arr = e.detach().numpy() if hasattr(e, "detach") else np.asarray(e)
    t_arr = t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)
    assert e_arr.shape == t_arr.shape, (e_arr.shape, t_arr.shape)
    np.testing.assert_allclose(e_arr, t_arr, atol=atol, rtol=rtol)


def pair(torch, arr, requires_grad=True):
    """The same array as an ember tensor and a torch tensor."""
    e = ember.tensor(arr)
    t = torch.tensor(arr)
    if requires_grad and arr.dtype.kind == "f":
        e.requires_grad_(True)
        t.requires_grad_(True)
    return e, t
