"""Muon, linalg.ldl_* and nn.grad on the ``cuda`` device backed by ``fake_cupy``: the same
values as on the CPU, and results kept on the device."""

import numpy as np

import ember


def test_muon_steps_on_the_device(rng):
    w, g = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 3))
    results = []
    for device in ("cpu", "cuda"):
        p = ember.tensor(w, device=device, requires_grad=True)
        opt = ember.optim.Muon([p], lr=0.02)
        for _ in range(3):
            p.grad = ember.tensor(g.astype(np.float32), device=device)
            opt.step()
        assert p.device.type == device
        assert opt.state[p]["momentum_buffer"].device.type == device
        results.append(p.detach().cpu().numpy())
    np.testing.assert_array_equal(*results)


def test_ldl_factor_and_solve_on_the_device(rng):
    a = rng.standard_normal((4, 4))
    a = a + a.T
    b = rng.standard_normal((4, 2))
    results = []
    for device in ("cpu", "cuda"):
        LD, pivots = ember.linalg.ldl_factor(ember.tensor(a, device=device))
        X = ember.linalg.ldl_solve(LD, pivots, ember.tensor(b, device=device))
        assert LD.device.type == pivots.device.type == X.device.type == device
        results.append([t.cpu().numpy() for t in (LD, pivots, X)])
    for c, d in zip(*results):
        np.testing.assert_array_equal(c, d)


def test_conv_grads_on_the_device(rng):
    x, w = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    g = rng.standard_normal((1, 3, 4, 4))
    results = []
    for device in ("cpu", "cuda"):
        gi = ember.nn.grad.conv2d_input(x.shape, ember.tensor(w, device=device),
                                        ember.tensor(g, device=device))
        gw = ember.nn.grad.conv2d_weight(ember.tensor(x, device=device), w.shape,
                                         ember.tensor(g, device=device))
        assert gi.device.type == gw.device.type == device
        results.append([gi.cpu().numpy(), gw.cpu().numpy()])
    for c, d in zip(*results):
        np.testing.assert_allclose(c, d, rtol=1e-12)
