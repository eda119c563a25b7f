"""Training on the ``cuda`` device backed by ``fake_cupy``: a step of every optimizer of
tests/optim, a DataLoader ``pin_memory`` batch moved with ``.to(device, non_blocking=True)``,
checkpoints saved from and loaded onto the device (``map_location``), and the explicit host
conversions (``.cpu()``, ``.item()``, ``.tolist()``; ``.numpy()`` refused as in PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import _backend
from ember.utils.data import DataLoader, TensorDataset

from ..optim.test_optimizers import CONFIGS, IDS

SHAPES = [(4, 3), (5,), (), (2, 3, 2)]


def _run_optimizer(name, kwargs, device, steps=2):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    params = [ember.tensor(a, device=device, requires_grad=True) for a in arrays]
    opt = getattr(ember.optim, name)(params, **kwargs)
    for step in range(steps):
        if name == "LBFGS":
            def closure():
                opt.zero_grad()
                loss = sum(((p - 1) ** 2).sum() + (p ** 4).sum() * 0.1 for p in params)
                loss.backward()
                return loss
            opt.step(closure)
            continue
        opt.zero_grad()
        noise = np.random.default_rng(step + 1)
        loss = 0
        for p in params:
            up = noise.standard_normal(tuple(p.shape)).astype(np.float32)
            loss = loss + (p * p * 0.35 + (p * 3).sin() / 3 + p * ember.tensor(up, device=device)
                           ).sum()
        loss.backward()
        opt.step()
    return params, opt


@pytest.mark.parametrize("name,kwargs", CONFIGS + [("LBFGS", dict(lr=0.5)), ("LBFGS", dict(
    lr=1, line_search_fn="strong_wolfe"))], ids=IDS + ["LBFGS", "LBFGS-strong_wolfe"])
def test_optimizer_steps_on_the_device(name, kwargs):
    cpu_params, _ = _run_optimizer(name, kwargs, "cpu")
    dev_params, opt = _run_optimizer(name, kwargs, "cuda")
    for d, c in zip(dev_params, cpu_params):
        assert d.device.type == "cuda" and d.grad.device.type == "cuda"
        # the host adds sums in PyTorch's order, a device in its library's: LBFGS's curvature
        # pairs magnify that last-bit difference over its steps
        rtol = 1e-4 if name == "LBFGS" else 1e-5
        np.testing.assert_allclose(d.detach().cpu().numpy(), c.detach().numpy(), rtol=rtol,
                                   atol=1e-6)
    for state in opt.state.values():
        for key, v in state.items():
            for item in v if isinstance(v, list) else [v]:
                # state holds tensors, never raw arrays (as in PyTorch)
                assert item is None or not hasattr(item, "dtype") or \
                    isinstance(item, ember.Tensor), f"optimizer state {key!r}: {type(item)}"
                if isinstance(item, ember.Tensor) and item.numel() > 1:
                    assert item.device.type == "cuda", f"state {key!r} is on {item.device}"


def test_dataloader_pin_memory_batches_move_to_the_device():
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((10, 3)).astype(np.float32), np.arange(10)
    loader = DataLoader(TensorDataset(ember.tensor(xs), ember.tensor(ys)), batch_size=4,
                        pin_memory=True)
    seen = 0
    for bx, by in loader:
        gx, gy = bx.to("cuda", non_blocking=True), by.to("cuda", non_blocking=True)
        assert gx.device == ember.device("cuda:0") and gy.device.type == "cuda"
        np.testing.assert_array_equal(gx.cpu().numpy(), xs[seen:seen + len(bx)])
        np.testing.assert_array_equal(gy.cpu().numpy(), ys[seen:seen + len(bx)])
        seen += len(bx)
    assert seen == 10


def test_a_training_step_on_the_device_matches_the_cpu():
    def step(device):
        ember.manual_seed(0)
        net = ember.nn.Sequential(ember.nn.Conv2d(1, 4, 3, padding=1), ember.nn.ReLU(),
                                  ember.nn.MaxPool2d(2), ember.nn.Flatten(),
                                  ember.nn.Linear(16, 3)).to(device)
        opt = ember.optim.Adam(net.parameters(), lr=0.01)
        x = ember.tensor(np.random.default_rng(1).standard_normal((5, 1, 4, 4)).astype(
            np.float32), device=device)
        y = ember.tensor([0, 2, 1, 1, 0], device=device)
        for _ in range(2):
            opt.zero_grad()
            loss = ember.nn.functional.cross_entropy(net(x), y, label_smoothing=0.1)
            loss.backward()
            opt.step()
        return loss.item(), [p.detach().cpu().numpy() for p in net.parameters()]

    loss_c, params_c = step("cpu")
    loss_d, params_d = step("cuda")
    assert loss_d == pytest.approx(loss_c, rel=1e-6)
    for d, c in zip(params_d, params_c):
        np.testing.assert_allclose(d, c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("map_location", [None, "cuda", "cuda:0", "cpu", {"cuda:0": "cpu"},
                                          "callable"])
def test_device_checkpoint_loads_with_map_location(tmp_path, map_location):
    lin = ember.nn.Linear(3, 2).to("cuda")
    path = tmp_path / "ckpt.pth"
    ember.save({"model": lin.state_dict(), "step": 7, "t": ember.arange(4.0, device="cuda")},
               path)
    if map_location == "callable":
        map_location = lambda storage, loc: storage  # noqa: E731 (PyTorch's idiom: the CPU)
    got = ember.load(path, map_location=map_location)
    want = "cuda" if map_location in (None, "cuda", "cuda:0") else "cpu"
    assert got["step"] == 7
    for t in (got["t"], got["model"]["weight"], got["model"]["bias"]):
        assert t.device.type == want, (map_location, t.device)
    np.testing.assert_array_equal(got["t"].cpu().numpy(), np.arange(4.0, dtype=np.float32))
    np.testing.assert_array_equal(got["model"]["weight"].cpu().numpy(),
                                  lin.weight.detach().cpu().numpy())


def test_cpu_checkpoint_maps_onto_the_device_and_loads_into_a_device_module(tmp_path):
    cpu = ember.nn.Linear(3, 2)
    path = tmp_path / "cpu.pth"
    ember.save(cpu.state_dict(), path)
    sd = ember.load(path, map_location="cuda")
    assert sd["weight"].device.type == "cuda"
    dev = ember.nn.Linear(3, 2).to("cuda")
    dev.load_state_dict(ember.load(path, map_location="cpu"))
    assert dev.weight.device.type == "cuda"
    np.testing.assert_array_equal(dev.weight.detach().cpu().numpy(),
                                  cpu.weight.detach().numpy())


def test_host_conversions_are_explicit_and_go_through_the_backend(monkeypatch):
    x = ember.arange(6.0).reshape(2, 3).to("cuda")
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy\. "
                                        r"Use Tensor.cpu\(\) to copy the tensor to host memory"):
        x.numpy()
    with pytest.raises(TypeError):
        np.asarray(x)
    calls = []
    real = _backend.to_numpy
    monkeypatch.setattr(_backend, "to_numpy", lambda a: calls.append(1) or real(a))
    assert x.sum().item() == 15.0
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert float(x[1, 2]) == 5.0
    assert x.numpy(force=True).tolist() == x.tolist()
    assert len(calls) == 5
    assert x.cpu().device.type == "cpu" and x.cuda() is x
