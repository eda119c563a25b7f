"""Train the same small nn model in ember and torch; weights must agree after every step."""

import numpy as np
import pytest

import ember


def _models(torch, rng):
    nets = []
    for lib in (ember, torch):
        nn = lib.nn
        nets.append(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)))
    for pe, pt in zip(nets[0].parameters(), nets[1].parameters()):
        w = rng.standard_normal(tuple(pt.shape)) * 0.5
        with torch.no_grad():
            pt.copy_(torch.from_numpy(w.astype(np.float32)))
        pe.data.numpy()[...] = w.astype(np.float32)
    return nets


@pytest.mark.parametrize("name,kwargs,sched", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
     lambda ls, o: ls.StepLR(o, 3, 0.5)),
    ("Adam", dict(lr=0.01, amsgrad=True), lambda ls, o: ls.OneCycleLR(o, 0.05, total_steps=12)),
    ("AdamW", dict(lr=0.01), lambda ls, o: ls.CosineAnnealingLR(o, T_max=5)),
    ("RMSprop", dict(lr=0.01, centered=True), None),
])
def test_training_matches_torch(torch, name, kwargs, sched):
    rng = np.random.default_rng(0)
    net_e, net_t = _models(torch, rng)
    x = rng.standard_normal((16, 6)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    runs = []
    for lib, net in ((ember, net_e), (torch, net_t)):
        opt = getattr(lib.optim, name)(net.parameters(), **kwargs)
        sch = sched(lib.optim.lr_scheduler, opt) if sched else None
        loss_fn = lib.nn.CrossEntropyLoss()
        xs, ys = lib.from_numpy(x), lib.from_numpy(y)
        history = []
        for _ in range(12):
            opt.zero_grad()
            loss = loss_fn(net(xs), ys)
            loss.backward()
            opt.step()
            if sch:
                sch.step()
            history.append([p.detach().numpy().copy() for p in net.parameters()]
                           + [np.float32(loss.item())])
        runs.append(history)
    for k, (he, ht) in enumerate(zip(*runs)):
        for a, b in zip(he, ht):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=f"step {k}")
