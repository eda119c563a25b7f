"""Gaps found by the 'extending PyTorch' programs (tests/programs/ext_*.py): the lowered
backward of a compiled Linear checks the versions of what eager's Linear saves, no more."""

import numpy as np

import ember
from ember import nn


def _bias_changed_before_backward(model, net, x):
    loss = model(x).pow(2).sum()
    with ember.no_grad():
        net[2].bias.add_(1.0)  # not saved by Linear (as torch's addmm): no error
    loss.backward()
    return [p.grad.clone() for p in net.parameters()]


def test_compiled_linear_allows_changing_its_bias_before_backward_as_eager():
    ember.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    twin = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    twin.load_state_dict(net.state_dict())
    compiled = ember.compile(net)
    x = ember.randn(3, 4)
    compiled(x)  # the first call captures; later ones run the lowered code
    got = _bias_changed_before_backward(compiled, net, x)
    comp = compiled._compiler if hasattr(compiled, "_compiler") else compiled._ember_compiler
    assert any(e != "eager" and e.training for e in comp.cache.values())  # lowered backward ran
    want = _bias_changed_before_backward(twin, twin, x)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
