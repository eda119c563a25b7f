"""Quantization the tutorial way: quantized tensors, dynamic quantization of an MLP, static
post-training quantization with QuantStub/DeQuantStub and fusion, and a short QAT run."""
import warnings

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import (
    DeQuantStub,
    MinMaxObserver,
    QuantStub,
    convert,
    default_qconfig,
    fuse_modules,
    fuse_modules_qat,
    get_default_qat_qconfig,
    prepare,
    prepare_qat,
    quantize_dynamic,
)

warnings.simplefilter("ignore")  # the deprecation notices of both libraries
rng = np.random.default_rng(0)


def fill_(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            v = np.sin(np.arange(p.numel()) * (0.37 + 0.05 * i)).astype(np.float32) * 0.3
            p.copy_(torch.from_numpy(v.reshape(tuple(p.shape))))


# -- quantized tensors ------------------------------------------------------------------------
x = torch.tensor([-1.0, 0.0, 0.05, 0.15, 0.25, 1.0, 30.0])
q = torch.quantize_per_tensor(x, 0.1, 10, torch.quint8)
print(q)
print(q.int_repr(), q.q_scale(), q.q_zero_point(), q.qscheme(), q.dtype)
print(q.dequantize())
qc = torch.quantize_per_channel(torch.tensor([[-1.0, 0.0, 0.5], [1.0, 2.0, 3.0]]),
                                torch.tensor([0.1, 0.2]), torch.tensor([0, 5]), 0, torch.qint8)
print(qc)
print(torch.fake_quantize_per_tensor_affine(torch.linspace(-2, 2, 9), 0.25, 0, -4, 3))
try:
    q + q
except NotImplementedError as err:
    print("NotImplementedError:", str(err).split(".")[0])

obs = MinMaxObserver()
for _ in range(3):
    obs(torch.tensor(rng.standard_normal(50).astype(np.float32)))
print(obs, obs.calculate_qparams())

# -- dynamic quantization -----------------------------------------------------------------------
mlp = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
fill_(mlp)
qmlp = quantize_dynamic(mlp, {nn.Linear}, dtype=torch.qint8)
print(qmlp)
print(qmlp[0].weight().int_repr()[:2, :8])
inputs = torch.tensor(rng.standard_normal((5, 16)).astype(np.float32))
with torch.no_grad():
    print("float:", mlp(inputs).numpy().round(2))
    print("dynamic:", qmlp(inputs).numpy().round(2))


# -- static post-training quantization ----------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 10)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.pool(self.relu(self.conv(self.quant(x))))
        x = x.reshape(x.shape[0], -1)
        return self.dequant(self.fc(x))


net = Net()
fill_(net)
net.eval()
net.qconfig = default_qconfig
fused = fuse_modules(net, [["conv", "relu"]])
prepared = prepare(fused)
for _ in range(4):
    prepared(torch.tensor(rng.standard_normal((8, 1, 8, 8)).astype(np.float32)))
quantized = convert(prepared)
print(quantized.quant)
print(quantized.conv._get_name(), quantized.fc._get_name(), quantized.conv.zero_point,
      quantized.fc.zero_point, round(quantized.fc.scale, 6))
print("weight ints:", int(quantized.fc.weight().int_repr().sum()))
images = torch.tensor(rng.standard_normal((6, 1, 8, 8)).astype(np.float32))
with torch.no_grad():
    print("float argmax:", net(images).argmax(1).tolist())
    print("quantized argmax:", quantized(images).argmax(1).tolist())
    print("max |float - quantized| < 0.1:",
          bool((net(images) - quantized(images)).abs().max() < 0.1))

# -- quantization-aware training ----------------------------------------------------------------
qat_net = nn.Sequential(QuantStub(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3), DeQuantStub())
fill_(qat_net)
qat_net.train()
qat_net.qconfig = get_default_qat_qconfig("x86")
qat_net = prepare_qat(fuse_modules_qat(qat_net, [["1", "2"]]))
opt = torch.optim.SGD(qat_net.parameters(), lr=0.05)
targets = torch.tensor(rng.integers(0, 3, 5))
for step in range(5):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(qat_net(inputs), targets)
    loss.backward()
    opt.step()
    print(f"qat step {step}: loss {loss.item():.4f}")
qat_net.eval()
final = convert(qat_net)
print(final[1]._get_name(), final[2], final[3]._get_name())
print("qat argmax:", final(inputs).argmax(1).tolist())
