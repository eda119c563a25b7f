"""Gaps found running self-supervised / continual-learning programs (issue 13): every hook
handle ember returns is a ``utils.hooks.RemovableHandle`` as in PyTorch (optimizer, module,
tensor, node and multi-grad hooks returned private classes that failed ``isinstance``), and
deep-copying a non-leaf tensor raises PyTorch's exact message."""

import copy
import pickle

import pytest

import ember


def _handles(lib):
    """One handle of every kind of hook registration, by name."""
    m = lib.nn.Linear(2, 2)
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    a = lib.ones(1, requires_grad=True)
    b = lib.ones(1, requires_grad=True)
    node = (a * 2).grad_fn
    return {
        "forward_hook": m.register_forward_hook(lambda *args: None),
        "forward_pre_hook": m.register_forward_pre_hook(lambda *args: None),
        "full_backward_hook": m.register_full_backward_hook(lambda *args: None),
        "state_dict_pre_hook": m.register_state_dict_pre_hook(lambda *args: None),
        "load_state_dict_post_hook": m.register_load_state_dict_post_hook(lambda *args: None),
        "step_pre_hook": opt.register_step_pre_hook(lambda *args: None),
        "step_post_hook": opt.register_step_post_hook(lambda *args: None),
        "opt_state_dict_post_hook": opt.register_state_dict_post_hook(lambda *args: None),
        "tensor_hook": a.register_hook(lambda g: g),
        "post_accumulate_grad_hook": b.register_post_accumulate_grad_hook(lambda t: None),
        "node_hook": node.register_hook(lambda *args: None),
        "node_prehook": node.register_prehook(lambda *args: None),
        "multi_grad_hook": lib.autograd.graph.register_multi_grad_hook((a, b),
                                                                       lambda g: None),
    }


@pytest.mark.parametrize("lib_name", ["ember", "torch"])
def test_every_hook_handle_is_a_removable_handle(lib_name, torch):
    lib = ember if lib_name == "ember" else torch
    for kind, handle in _handles(lib).items():
        assert isinstance(handle, lib.utils.hooks.RemovableHandle), kind


@pytest.mark.parametrize("lib_name", ["ember", "torch"])
def test_hook_handles_still_remove_and_pickle(lib_name, torch):
    lib = ember if lib_name == "ember" else torch
    m = lib.nn.Linear(2, 2)
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    calls = []
    handle = opt.register_step_post_hook(lambda *args: calls.append("step"))
    with m.register_forward_hook(lambda *args: calls.append("forward")):
        m(lib.ones(1, 2)).sum().backward()
    m(lib.ones(1, 2))  # the forward hook is gone after its with block
    opt.step()
    handle.remove()
    opt.step()
    assert calls == ["forward", "step"]
    again = pickle.loads(pickle.dumps(opt.register_step_pre_hook(print)))
    assert isinstance(again, lib.utils.hooks.RemovableHandle)


def test_deepcopy_of_a_non_leaf_tensor_message(torch):
    messages = []
    for lib in (ember, torch):
        t = lib.ones(2, requires_grad=True) * 2
        with pytest.raises(RuntimeError) as info:
            copy.deepcopy(t)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
