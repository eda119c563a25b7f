"""Shared helpers: run the same optimizer in ember and torch on the same parameters/gradients."""

import numpy as np

import ember

SHAPES = [(4, 3), (5,), (), (2, 3, 2)]


def make_params(lib, arrays, dtype):
    out = []
    for a in arrays:
        t = lib.from_numpy(a.astype(dtype).copy())
        t.requires_grad_(True)
        out.append(t)
    return out


def to_np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def grad_fn(params_np, step, rng_noise):
    """Gradients that depend on the current parameters (so trajectories feed back)."""
    return [0.7 * p + np.sin(3 * p) + n for p, n in zip(params_np, rng_noise[step])]


def run_pair(torch, name, kwargs, dtype=np.float32, steps=15, seed=0, skip=None,
             groups=None, shapes=SHAPES):
    """Run ``steps`` steps in both libraries; yields (ember params, torch params) per step."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    noise = [[0.3 * rng.standard_normal(s) for s in shapes] for _ in range(steps)]
    ep = make_params(ember, arrays, dtype)
    tp = make_params(torch, arrays, dtype)
    if groups is None:
        eo = getattr(ember.optim, name)(ep, **kwargs)
        to = getattr(torch.optim, name)(tp, **kwargs)
    else:
        eo = getattr(ember.optim, name)([dict(g, params=[ep[i] for i in g["params"]])
                                         for g in groups], **kwargs)
        to = getattr(torch.optim, name)([dict(g, params=[tp[i] for i in g["params"]])
                                         for g in groups], **kwargs)
    history = []
    for k in range(steps):
        for lib, params in ((ember, ep), (torch, tp)):
            grads = grad_fn([to_np(p) for p in params], k, noise)
            for i, (p, g) in enumerate(zip(params, grads)):
                if skip is not None and skip(k, i):
                    p.grad = None
                else:
                    p.grad = lib.from_numpy(np.asarray(g, dtype=dtype).copy())
        eo.step()
        to.step()
        history.append(([to_np(p).copy() for p in ep], [to_np(p).copy() for p in tp]))
    return eo, to, ep, tp, history


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
