"""Weight-normalized and orthogonal layers trained with SGD, averaged with SWA and EMA.

A small regression net uses ``parametrizations.weight_norm`` and ``orthogonal``; training keeps
an exponential moving average every step and a stochastic weight average over the last epochs
(with ``SWALR``), recomputes BatchNorm statistics for the averaged model with ``update_bn``,
checks results with ``torch.testing.assert_close`` and round-trips a checkpoint.
"""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import orthogonal, weight_norm
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn
from torch.testing import assert_close

rng = np.random.default_rng(0)
X = rng.standard_normal((256, 8)).astype(np.float32)
true_w = rng.standard_normal((8, 1)).astype(np.float32)
Y = (np.tanh(X @ true_w) + 0.05 * rng.standard_normal((256, 1))).astype(np.float32)
x_all, y_all = torch.from_numpy(X), torch.from_numpy(Y)
batches = [(x_all[i:i + 32], y_all[i:i + 32]) for i in range(0, 256, 32)]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        h = torch.relu(self.bn(self.fc1(x)))
        h = torch.tanh(self.fc2(h))
        return self.out(h)


def build():
    net = Net()
    init = np.random.default_rng(1)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy((0.3 * init.standard_normal(tuple(p.shape)))
                                     .astype(np.float32)))
    weight_norm(net.fc1)
    weight_norm(net.out, dim=None)
    orthogonal(net.fc2)
    return net


model = build()
print(type(model.fc1).__name__, type(model.fc2).__name__, parametrize.is_parametrized(model.bn))
for key, value in model.state_dict().items():
    print(f"  {key}: {tuple(value.shape)}")
w2 = model.fc2.weight
assert_close(w2 @ w2.T, torch.eye(16), rtol=0, atol=1e-5)
print("fc2 is orthogonal")

opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
swa_model = AveragedModel(model)
ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
swa_sched = SWALR(opt, swa_lr=0.01, anneal_epochs=3, anneal_strategy="cos")
swa_start = 3

for epoch in range(8):
    model.train()
    total = 0.0
    for xb, yb in batches:
        opt.zero_grad()
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        ema_model.update_parameters(model)
        total += loss.item()
    if epoch >= swa_start:
        swa_model.update_parameters(model)
        swa_sched.step()
    print(f"epoch {epoch}: loss {total / len(batches):.4f} lr {opt.param_groups[0]['lr']:.4f} "
          f"swa n_averaged {int(swa_model.n_averaged)}")

update_bn(batches, swa_model)
update_bn(batches, ema_model)
for name, net in (("model", model), ("swa", swa_model), ("ema", ema_model)):
    net.eval()
    with torch.no_grad():
        print(f"{name} eval loss {F.mse_loss(net(x_all), y_all).item():.4f}")

w2 = swa_model.module.fc2.weight.detach()
error = (w2 @ w2.T - torch.eye(16)).abs().max().item()
print(f"averaged fc2 (the originals averaged, then mapped) is orthogonal: {error:.3f}")

# The averaged state loads into a fresh parametrized model; outputs match to float32 precision.
buffer = io.BytesIO()
torch.save(swa_model.module.state_dict(), buffer)
buffer.seek(0)
restored = build()
restored.load_state_dict(torch.load(buffer))
restored.eval()
with torch.no_grad():
    assert_close(restored(x_all), swa_model(x_all))
print("checkpoint round trip: outputs match")

try:
    assert_close(restored(x_all[:4]).detach(), swa_model(x_all[:4]).detach() + 0.01)
except AssertionError as error:
    print(str(error).splitlines()[0])
    print(str(error).splitlines()[2])

parametrize.remove_parametrizations(restored.fc1, "weight")
print(type(restored.fc1).__name__, sorted(k for k in restored.state_dict() if "fc1" in k))
