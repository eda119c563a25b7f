"""GradScaler against PyTorch 2.13, step by step: scaling, unscaling, inf/NaN step skipping,
backoff and growth, state_dict, pickling, the disabled forms and their warnings; and a small
mixed-precision training run (autocast + GradScaler) compared with torch's numbers."""

import pickle
import warnings

import numpy as np
import pytest

import ember

W = np.array([[0.5, -0.25, 0.75], [0.1, 0.2, -0.3]], np.float32)
B = np.array([0.05, -0.05], np.float32)
X = np.random.default_rng(3).standard_normal((6, 3)).astype(np.float32)
Y = np.random.default_rng(4).standard_normal((6, 2)).astype(np.float32)


def _model(L):
    model = L.nn.Linear(3, 2)
    with L.no_grad():
        model.weight.copy_(L.tensor(W))
        model.bias.copy_(L.tensor(B))
    return model


def _trace(L, poison, **scaler_kwargs):
    """Run steps with GradScaler('cpu'); ``poison[i]`` puts inf or NaN into a gradient at step i.
    Records everything observable after each step."""
    model = _model(L)
    opt = L.optim.SGD(model.parameters(), lr=0.1)
    scaler = L.amp.GradScaler("cpu", **scaler_kwargs)
    rows = []
    for bad in poison:
        opt.zero_grad()
        loss = L.nn.functional.mse_loss(model(L.tensor(X)), L.tensor(Y))
        scaled = scaler.scale(loss)
        scaled.backward()
        if bad is not None:
            model.weight.grad[0, 1] = bad
        scaler.unscale_(opt)
        grad = model.weight.grad.detach().numpy().copy()
        ret = scaler.step(opt)
        scaler.update()
        rows.append({"scaled": scaled.item(), "grad": grad, "ret": ret,
                     "scale": scaler.get_scale(), "tracker": scaler._get_growth_tracker(),
                     "weight": model.weight.detach().numpy().copy(),
                     "state": scaler.state_dict()})
    return rows


@pytest.mark.parametrize("kwargs", [{}, {"init_scale": 8.0, "growth_interval": 2},
                                    {"init_scale": 2.0 ** 127, "growth_interval": 1},
                                    {"growth_factor": 3.0, "backoff_factor": 0.25,
                                     "growth_interval": 3, "init_scale": 16.0}])
def test_skip_backoff_and_growth_match_torch_step_by_step(torch, kwargs):
    inf, nan = float("inf"), float("nan")
    poison = [None, None, inf, None, nan, None, None, -inf, None, None]
    ours, theirs = _trace(ember, poison, **kwargs), _trace(torch, poison, **kwargs)
    for i, (e, t) in enumerate(zip(ours, theirs)):
        assert e["scale"] == t["scale"], (i, e["scale"], t["scale"])
        assert e["tracker"] == t["tracker"], i
        assert e["ret"] == t["ret"] is None, i
        assert e["state"] == t["state"], i
        np.testing.assert_allclose(e["scaled"], t["scaled"], rtol=1e-6)
        np.testing.assert_allclose(e["grad"], t["grad"], rtol=1e-5, atol=1e-7)  # inf/NaN too
        np.testing.assert_allclose(e["weight"], t["weight"], rtol=1e-5, atol=1e-7)


def test_step_returns_optimizer_result_and_skips_closure(torch):
    for L in (ember, torch):
        model = _model(L)
        opt = L.optim.SGD(model.parameters(), lr=0.1)
        scaler = L.amp.GradScaler("cpu")
        scaler.scale(model(L.tensor(X)).sum()).backward()
        with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
            scaler.step(opt, closure=lambda: 0.0)
        scaler.step(opt)
        with pytest.raises(RuntimeError, match=r"step\(\) has already been called since the "
                                               r"last update\(\)."):
            scaler.step(opt)
        with pytest.raises(RuntimeError, match=r"unscale_\(\) is being called after step\(\)."):
            scaler.unscale_(opt)
        scaler.update()
        scaler.scale(model(L.tensor(X)).sum()).backward()
        scaler.unscale_(opt)
        with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this "
                                               r"optimizer since the last update\(\)."):
            scaler.unscale_(opt)


def test_usage_errors_match_torch(torch):
    for L in (ember, torch):
        model = _model(L)
        opt = L.optim.SGD(model.parameters(), lr=0.1)
        scaler = L.amp.GradScaler("cpu")
        with pytest.raises(AssertionError, match="Attempted update but _scale is None"):
            scaler.update()
        with pytest.raises(AssertionError, match="Attempted step but _scale is None"):
            scaler.step(opt)
        with pytest.raises(AssertionError, match="The growth factor must be > 1.0."):
            L.amp.GradScaler("cpu", growth_factor=1.0)
        with pytest.raises(AssertionError, match="The backoff factor must be < 1.0."):
            L.amp.GradScaler("cpu", backoff_factor=1.0)
        with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable"):
            scaler.scale([L.ones(1), 3])
        half = L.nn.Parameter(L.ones(2, dtype=L.float16))
        half.grad = L.ones(2, dtype=L.float16)
        scaler.scale(L.ones(1))
        with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
            scaler.unscale_(L.optim.SGD([half], lr=0.1))


def test_scale_of_containers_and_update_with_new_scale(torch):
    for L in (ember, torch):
        scaler = L.amp.GradScaler("cpu", init_scale=4.0)
        out = scaler.scale([L.tensor(1.0), (L.tensor(2.0), L.tensor([3.0, 4.0]))])
        assert isinstance(out, list) and isinstance(out[1], tuple)
        assert out[0].item() == 4.0 and out[1][1].tolist() == [12.0, 16.0]
        # the scale is a 0-d float32 tensor: it promotes 0-d inputs only
        assert scaler.scale(L.ones(2, dtype=L.bfloat16)).dtype == L.bfloat16
        assert scaler.scale(L.tensor(1.0, dtype=L.bfloat16)).dtype == L.float32
        assert list(map(float, scaler.scale(iter([L.tensor(1.0)])))) == [4.0]
        model = _model(L)
        opt = L.optim.SGD(model.parameters(), lr=0.1)
        scaler.scale(model(L.tensor(X)).sum()).backward()
        scaler.step(opt)
        scaler.update(64.0)
        assert scaler.get_scale() == 64.0
        scaler.scale(model(L.tensor(X)).sum()).backward()
        scaler.step(opt)
        scaler.update(L.tensor(0.5))
        assert scaler.get_scale() == 0.5
        with pytest.raises(RuntimeError):  # PyTorch's copy_ does not squeeze a 1-element tensor
            scaler.scale(model(L.tensor(X)).sum()).backward()
            scaler.step(opt)
            scaler.update(L.tensor([0.5]))
        scaler.update(0.5)
        with pytest.raises(AssertionError, match="new_scale should be a float or a 1-element"):
            scaler.scale(model(L.tensor(X)).sum()).backward()
            scaler.step(opt)
            scaler.update(L.tensor([1.0, 2.0]))


def test_state_dict_round_trip_and_pickle(torch):
    states = []
    for L in (ember, torch):
        scaler = L.amp.GradScaler("cpu", init_scale=32.0, growth_interval=7)
        assert scaler.get_scale() == 32.0 and scaler.state_dict()["scale"] == 32.0
        model = _model(L)
        opt = L.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            scaler.scale(model(L.tensor(X)).sum()).backward()
            scaler.step(opt)
            scaler.update()
        state = scaler.state_dict()
        states.append(state)
        other = L.amp.GradScaler("cpu")
        other.load_state_dict(state)
        assert other.state_dict() == state
        clone = pickle.loads(pickle.dumps(scaler))
        assert clone.state_dict() == state
        with pytest.raises(RuntimeError, match="The source state dict is empty"):
            other.load_state_dict({})
        scaler.scale(model(L.tensor(X)).sum()).backward()
        scaler.step(opt)
        with pytest.raises(AssertionError, match="may only be pickled at the beginning"):
            pickle.dumps(scaler)
        assert (scaler.get_growth_factor(), scaler.get_backoff_factor(),
                scaler.get_growth_interval()) == (2.0, 0.5, 7)
        scaler.set_growth_factor(4.0)
        scaler.set_backoff_factor(0.125)
        scaler.set_growth_interval(3)
        assert (scaler.get_growth_factor(), scaler.get_backoff_factor(),
                scaler.get_growth_interval()) == (4.0, 0.125, 3)
    assert states[0] == states[1] == {"scale": 32.0, "growth_factor": 2.0,
                                      "backoff_factor": 0.5, "growth_interval": 7,
                                      "_growth_tracker": 3}


@pytest.mark.skipif(ember.cuda.is_available(), reason="checks the no-CUDA behaviour")
def test_cuda_scalers_without_cuda_warn_and_disable(torch):
    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU here")
    for L in (ember, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            default = L.amp.GradScaler()
            legacy = L.cuda.amp.GradScaler(init_scale=8.0)
            cpu_legacy = L.cpu.amp.GradScaler()
        got = [(w.category, str(w.message)) for w in caught]
        disabling = (UserWarning, "torch.cuda.amp.GradScaler is enabled, but CUDA is not "
                                  "available.  Disabling.")
        assert got == [
            disabling,
            (FutureWarning, "`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                            "`torch.amp.GradScaler('cuda', args...)` instead."),
            disabling,
            (FutureWarning, "`torch.cpu.amp.GradScaler(args...)` is deprecated. Please use "
                            "`torch.amp.GradScaler('cpu', args...)` instead."),
        ], L
        assert not default.is_enabled() and not legacy.is_enabled() and cpu_legacy.is_enabled()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            L.amp.GradScaler(enabled=False)  # nothing to warn about
        # a disabled scaler passes everything through and still steps
        model = _model(L)
        opt = L.optim.SGD(model.parameters(), lr=0.1)
        loss = model(L.tensor(X)).sum()
        assert default.scale(loss) is loss
        loss.backward()
        default.unscale_(opt)
        assert default.step(opt) is None
        default.update()
        assert default.get_scale() == 1.0 and default.state_dict() == {}
        assert default._get_growth_tracker() == 0
        default.load_state_dict({})  # a no-op
        assert not np.allclose(model.weight.detach().numpy(), W)  # the step happened


def _mixed_precision_run(L, steps=6):
    """The AMP recipe on the CPU: autocast(bfloat16) forward, GradScaler backward/step."""
    F = L.nn.functional
    rng = np.random.default_rng(7)
    w1 = rng.standard_normal((16, 8)).astype(np.float32) * 0.3
    w2 = rng.standard_normal((4, 16)).astype(np.float32) * 0.3
    x = L.tensor(rng.standard_normal((32, 8)).astype(np.float32))
    y = L.tensor(rng.integers(0, 4, 32))
    model = L.nn.Sequential(L.nn.Linear(8, 16), L.nn.ReLU(), L.nn.Linear(16, 4))
    with L.no_grad():
        model[0].weight.copy_(L.tensor(w1))
        model[0].bias.zero_()
        model[2].weight.copy_(L.tensor(w2))
        model[2].bias.zero_()
    opt = L.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    scaler = L.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3)
    losses, dtypes = [], []
    for _ in range(steps):
        opt.zero_grad()
        with L.autocast("cpu", dtype=L.bfloat16):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        dtypes.append((str(logits.dtype), str(loss.dtype)))
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        L.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    return losses, dtypes, scaler.get_scale(), model[0].weight.grad.dtype


def test_mixed_precision_training_matches_torch(torch):
    e_losses, e_dtypes, e_scale, e_gdt = _mixed_precision_run(ember)
    t_losses, t_dtypes, t_scale, t_gdt = _mixed_precision_run(torch)
    assert e_dtypes == t_dtypes == [("torch.bfloat16", "torch.float32")] * 6
    assert e_scale == t_scale == 2.0 ** 12  # grown twice (growth_interval=3, six clean steps)
    assert str(e_gdt) == str(t_gdt) == "torch.float32"
    np.testing.assert_allclose(e_losses, t_losses, rtol=2e-2)  # bfloat16 forward: ~3 digits
    assert e_losses[-1] < e_losses[0]
