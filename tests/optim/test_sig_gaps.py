"""Gaps found by the audio programs (tests/programs/sig_complex_mask_enhancement): an
optimizer over complex parameters (complex-valued speech-enhancement networks) updates each
one as its real view, as PyTorch does, so a nonlinear update (Adam's squared gradient,
RMSprop's and Adagrad's roots, Adamax's max of magnitudes, Rprop's signs) treats the real and
imaginary parts as two numbers; Rprop's complex step size starts at lr in both parts."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1)),
    ("Adadelta", dict(lr=1.0)),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01)),
    ("Rprop", dict(lr=0.01)),
    ("ASGD", dict(lr=0.01)),
]


def _run(lib, name, kwargs, dtype):
    gen = np.random.default_rng(0)
    w0 = (gen.standard_normal((3, 2)) + 1j * gen.standard_normal((3, 2))).astype(dtype)
    v0 = (gen.standard_normal(4) + 1j * gen.standard_normal(4)).astype(dtype)
    w = lib.tensor(w0, requires_grad=True)
    v = lib.tensor(v0, requires_grad=True)
    r = lib.tensor(gen.standard_normal(4).astype(np.float32), requires_grad=True)  # mixed
    opt = getattr(lib.optim, name)([w, v, r], **kwargs)
    for _ in range(6):
        loss = ((w.abs() ** 3).sum() + (w * (1 + 2j)).real.sum()
                + lib.angle(v + 0.3).pow(2).sum() + (v.abs() * r).sum())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [t.detach().numpy() for t in (w, v, r)], opt


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                     enumerate(CASES)])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_params_update_as_torch(name, kwargs, dtype):
    got, opt = _run(ember, name, kwargs, dtype)
    want, _ = _run(torch, name, kwargs, dtype)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5)
    for state in opt.state.values():  # the state stays complex, as PyTorch's
        for key, value in state.items():
            if key != "step" and isinstance(value, ember.Tensor) and value.ndim == 2:
                assert value.dtype == ember.tensor(np.zeros(1, dtype)).dtype, key


def test_rprop_complex_step_size_starts_at_lr_in_both_parts():
    w = ember.tensor([1 + 2j, -1 - 1j], requires_grad=True)
    opt = ember.optim.Rprop([w], lr=0.01)
    w.abs().sum().backward()
    opt.step()
    np.testing.assert_allclose(opt.state[w]["step_size"].numpy(), [0.01 + 0.01j] * 2)
