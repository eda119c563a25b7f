"""Adam/AdamW's bucketed update (``optim/_multi_tensor.py``): several parameters' running
averages in flat arrays, each pass one call per bucket. It must give PyTorch's trajectory and
state, agree with the per-parameter loop, and survive state replaced from outside."""

import io

import numpy as np
import pytest

import ember
from ember.optim import _multi_tensor, adam

from ._helpers import run_pair, tol

torch = pytest.importorskip("torch")

CASES = [("Adam", dict(lr=0.05)), ("Adam", dict(lr=0.05, weight_decay=0.1, maximize=True)),
         ("AdamW", dict(lr=0.05, weight_decay=0.3)), ("Adam", dict(lr=0.05, weight_decay=0.2))]


@pytest.mark.parametrize("name,kwargs", CASES)
@pytest.mark.parametrize("bucket", [1 << 20, 7])  # one bucket; several, one param alone in its own
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bucketed_adam_follows_torch(monkeypatch, name, kwargs, bucket, dtype):
    monkeypatch.setattr(_multi_tensor, "BUCKET_NUMEL", bucket)
    eo, to, ep, tp, history = run_pair(torch, name, kwargs, dtype=dtype, steps=12)
    for mine, theirs in history:
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a, b, **tol(dtype))
    store = eo.__dict__["_buckets"]
    assert len(next(iter(store.values())).buckets) == (1 if bucket > 100 else 3)
    for pe, pt in zip(ep, tp):
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(eo.state[pe][key].numpy(), to.state[pt][key].numpy(),
                                       **tol(dtype))
        assert float(eo.state[pe]["step"]) == float(to.state[pt]["step"]) == 12


def test_bucketed_and_per_parameter_loops_agree(monkeypatch):
    runs = []
    for bucketed in (True, False):
        if not bucketed:
            monkeypatch.setattr(adam, "flat_params", lambda group, state: None)
        eo, _, ep, _, _ = run_pair(torch, "AdamW", dict(lr=0.05, weight_decay=0.3), steps=10)
        assert ("_buckets" in eo.__dict__) is bucketed
        runs.append([p.detach().numpy().copy() for p in ep])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def _model_and_opt():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(6, 5), ember.nn.Tanh(), ember.nn.Linear(5, 2))
    return model, ember.optim.AdamW(model.parameters(), lr=0.05)


def _train(model, opt, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = ember.from_numpy(rng.standard_normal((4, 6)).astype(np.float32))
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()


def test_checkpoint_mid_run_resumes_exactly_and_stays_small():
    model, opt = _model_and_opt()
    _train(model, opt, 3, seed=1)
    buf = io.BytesIO()
    ember.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    # the state tensors are views of one bucket, written once, not once per view
    numbers = sum(p.numel() for p in model.parameters())
    assert buf.tell() < 3 * 4 * numbers + 6000
    _train(model, opt, 4, seed=2)
    expected = [p.detach().numpy().copy() for p in model.parameters()]

    model2, opt2 = _model_and_opt()
    _train(model2, opt2, 1, seed=9)  # buckets exist, then the state is replaced from outside
    buf.seek(0)
    ckpt = ember.load(buf)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    _train(model2, opt2, 4, seed=2)
    for a, p in zip(expected, model2.parameters()):
        np.testing.assert_array_equal(a, p.detach().numpy())


def test_a_parameter_without_gradient_keeps_its_state():
    """Parameters whose .grad is None are skipped (their step does not advance), as in the
    per-parameter loop; the buckets are rebuilt around the others and carry their state."""
    model, opt = _model_and_opt()
    _train(model, opt, 2, seed=3)
    frozen = model[2].bias
    before = {k: v.clone() for k, v in opt.state[frozen].items()}
    rng = np.random.default_rng(4)
    for _ in range(2):
        opt.zero_grad()
        model(ember.from_numpy(rng.standard_normal((4, 6)).astype(np.float32))).sum().backward()
        frozen.grad = None
        opt.step()
    for k, v in before.items():
        np.testing.assert_array_equal(opt.state[frozen][k].numpy(), v.numpy())
    assert float(opt.state[model[0].weight]["step"]) == 4
