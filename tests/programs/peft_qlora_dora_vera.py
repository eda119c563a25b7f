"""QLoRA, DoRA, VeRA and BitFit on a tiny CNN, in the style of bitsandbytes/HF PEFT: the frozen
Linear weight is stored as 4-bit NF4 codes (blockwise absmax, two codes packed per uint8 byte)
and dequantized to bfloat16 on the fly; a LoRA adapter in float32 sits beside it. The conv layer
gets a conv-shaped LoRA, DoRA decomposes a weight into magnitude and direction, VeRA shares frozen
random projections (non-persistent buffers) and trains only scaling vectors, and BitFit trains
biases alone with a gradient-mask hook."""
import copy
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(11)
torch.manual_seed(2)

# the 16 NF4 levels (quantiles of a standard normal, normalised to [-1, 1])
NF4 = torch.tensor([-1.0, -0.6962, -0.5251, -0.3949, -0.2844, -0.1848, -0.0911, 0.0,
                    0.0796, 0.1609, 0.2461, 0.3379, 0.4407, 0.5626, 0.7230, 1.0])


def quantize_nf4(weight, block=16):
    flat = weight.detach().float().reshape(-1, block)
    absmax = flat.abs().amax(dim=1, keepdim=True)
    scaled = flat / absmax
    codes = (scaled.unsqueeze(-1) - NF4).abs().argmin(dim=-1).to(torch.uint8)
    codes = codes.reshape(-1, 2)
    packed = (codes[:, 0] << 4) | codes[:, 1]
    return packed, absmax.squeeze(1)


def dequantize_nf4(packed, absmax, shape, block=16, dtype=torch.bfloat16):
    high, low = packed >> 4, packed & 0x0F
    codes = torch.stack([high, low], dim=1).reshape(-1, block).long()
    values = NF4[codes] * absmax[:, None]
    return values.reshape(shape).to(dtype)


class Linear4bit(nn.Module):
    def __init__(self, linear):
        super().__init__()
        self.shape = tuple(linear.weight.shape)
        packed, absmax = quantize_nf4(linear.weight)
        self.register_buffer("packed", packed)
        self.register_buffer("absmax", absmax)
        self.bias = nn.Parameter(linear.bias.detach().clone(), requires_grad=False)

    def forward(self, x):
        w = dequantize_nf4(self.packed, self.absmax, self.shape)
        return F.linear(x.to(torch.bfloat16), w, self.bias.to(torch.bfloat16))


class QLoRALinear(nn.Module):
    def __init__(self, linear, r=4, alpha=16):
        super().__init__()
        self.base = Linear4bit(linear)
        out_f, in_f = self.base.shape
        self.lora_A = nn.Linear(in_f, r, bias=False)
        self.lora_B = nn.Linear(r, out_f, bias=False)
        nn.init.normal_(self.lora_A.weight, std=1 / r)
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / r

    def forward(self, x):
        result = self.base(x)
        lora = self.lora_B(self.lora_A(x.to(self.lora_A.weight.dtype))) * self.scaling
        return result.float() + lora


class LoRAConv2d(nn.Module):
    def __init__(self, conv, r=2, alpha=4):
        super().__init__()
        self.base = conv
        self.lora_A = nn.Conv2d(conv.in_channels, r, conv.kernel_size, conv.stride,
                                conv.padding, bias=False)
        self.lora_B = nn.Conv2d(r, conv.out_channels, 1, bias=False)
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scaling


class DoRALinear(nn.Module):
    """W' = m * (W + BA) / ||W + BA||_row, the norm detached as in the DoRA paper."""

    def __init__(self, linear, r=4):
        super().__init__()
        self.base = linear
        self.lora_A = nn.Parameter(torch.randn(r, linear.in_features) * 0.1)
        self.lora_B = nn.Parameter(torch.zeros(linear.out_features, r))
        self.magnitude = nn.Parameter(torch.linalg.vector_norm(linear.weight.detach(), dim=1))

    def merged_weight(self):
        combined = self.base.weight + self.lora_B @ self.lora_A
        norm = combined.norm(p=2, dim=1, keepdim=True).detach()
        return self.magnitude.unsqueeze(1) * combined / norm

    def forward(self, x):
        return F.linear(x, self.merged_weight(), self.base.bias)


class VeRALinear(nn.Module):
    """Frozen shared random A, B (buffers, not saved); trains a scale d (rank) and b (out)."""

    def __init__(self, linear, shared_A, shared_B):
        super().__init__()
        self.base = linear
        self.register_buffer("vera_A", shared_A, persistent=False)
        self.register_buffer("vera_B", shared_B, persistent=False)
        self.vera_d = nn.Parameter(torch.full((shared_A.shape[0],), 0.1))
        self.vera_b = nn.Parameter(torch.zeros(shared_B.shape[0]))

    def forward(self, x):
        h = F.linear(x, self.vera_A) * self.vera_d
        return self.base(x) + F.linear(h, self.vera_B) * self.vera_b


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc1 = nn.Linear(32, 32)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x))).flatten(1)
        return self.fc2(F.relu(self.fc1(x)))


def make_data(n, flip):
    x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    q = np.stack([x[:, 0, :4, :4].mean((1, 2)), x[:, 0, :4, 4:].mean((1, 2)),
                  x[:, 0, 4:, :4].mean((1, 2)), x[:, 0, 4:, 4:].mean((1, 2))], 1)
    y = (q.argmax(1) + (1 if flip else 0)) % 4
    return torch.from_numpy(x), torch.from_numpy(y)


def train(model, params, x, y, steps=40, lr=1e-2):
    opt = torch.optim.Adam(params, lr=lr)
    for step in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    return loss.item(), acc


def count(model):
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return "{}/{}".format(trainable, sum(p.numel() for p in model.parameters()))


XA, YA = make_data(128, flip=False)
XB, YB = make_data(128, flip=True)
base = SmallCNN()
print("pretrain loss {:.4f} acc {:.3f}".format(*train(base, base.parameters(), XA, YA, 80)))
base.requires_grad_(False)

# ---- NF4 round trip ----
packed, absmax = quantize_nf4(base.fc1.weight)
deq = dequantize_nf4(packed, absmax, base.fc1.weight.shape)
print("packed", packed.dtype, tuple(packed.shape), "absmax", tuple(absmax.shape))
print("first bytes:", packed[:6].tolist(), [hex(b) for b in packed[:3].tolist()])
err = (deq.float() - base.fc1.weight).abs()
print("nf4 max err {:.4f} mean err {:.4f}".format(err.max().item(), err.mean().item()))
print(deq[0, :5])
print("bf16 eps", torch.finfo(torch.bfloat16).eps, "tiny", torch.finfo(torch.bfloat16).tiny)

# ---- QLoRA on fc1 and fc2, LoRA on the conv ----
qmodel = copy.deepcopy(base)
qmodel.fc1 = QLoRALinear(base.fc1)
qmodel.fc2 = QLoRALinear(base.fc2)
qmodel.conv = LoRAConv2d(qmodel.conv)
print("buffers:", [n for n, _ in qmodel.named_buffers()])
print("qlora trainable:", count(qmodel),
      [n for n, p in qmodel.named_parameters() if p.requires_grad])
with torch.no_grad():
    out = qmodel(XB[:3])
print("qlora out dtype", out.dtype, "close to base:", torch.allclose(out, base(XB[:3]), atol=0.1))
params = [p for p in qmodel.parameters() if p.requires_grad]
# bfloat16 rounding magnifies last-bit float32 differences: print the loss to 2 places
print("qlora B: loss {:.2f} acc {:.3f}".format(*train(qmodel, params, XB, YB)))
print("conv lora_B has grad:", qmodel.conv.lora_B.weight.grad is not None,
      "base packed has grad:", qmodel.fc1.base.packed.grad is not None)
sd = qmodel.state_dict()
print("state_dict dtypes:", sorted({str(v.dtype) for v in sd.values()}))

# ---- DoRA on fc1 ----
dmodel = copy.deepcopy(base)
dmodel.fc1 = DoRALinear(dmodel.fc1)
with torch.no_grad():
    print("dora starts at base:", torch.allclose(dmodel(XB), base(XB), atol=1e-6))
print("dora trainable:", count(dmodel))
print("dora B: loss {:.4f} acc {:.3f}".format(*train(dmodel, [p for p in dmodel.parameters()
                                                               if p.requires_grad], XB, YB)))
with torch.no_grad():
    w = dmodel.fc1.merged_weight()
    print("row norms = magnitude:", torch.allclose(w.norm(dim=1), dmodel.fc1.magnitude, atol=1e-5))
    print("magnitude:", dmodel.fc1.magnitude[:4])

# ---- VeRA on fc1 and fc2 with one shared pair of random matrices ----
gen = torch.Generator().manual_seed(7)
shared_A = torch.randn(8, 32, generator=gen) / 32 ** 0.5
vmodel = copy.deepcopy(base)
vmodel.fc1 = VeRALinear(vmodel.fc1, shared_A, torch.randn(32, 8, generator=gen) / 8 ** 0.5)
vmodel.fc2 = VeRALinear(vmodel.fc2, shared_A, torch.randn(4, 8, generator=gen) / 8 ** 0.5)
print("vera shares A:", vmodel.fc1.vera_A is vmodel.fc2.vera_A,
      "state keys:", [k for k in vmodel.state_dict() if "vera" in k])
print("vera B: loss {:.4f} acc {:.3f}".format(*train(
    vmodel, [p for n, p in vmodel.named_parameters() if "vera_" in n], XB, YB, lr=2e-2)))
print("vera trainable:", count(vmodel))

# ---- BitFit: only biases, and only the top-k most useful coordinates (a gradient mask) ----
bmodel = copy.deepcopy(base)
biases = [p for n, p in bmodel.named_parameters() if n.endswith("bias")]
for p in biases:
    p.requires_grad_(True)
    mask = torch.zeros_like(p)
    mask[: max(1, p.numel() // 2)] = 1
    p.register_hook(lambda g, mask=mask: g * mask)
print("bitfit trainable:", count(bmodel))
start = [p.detach().clone() for p in biases]
print("bitfit B: loss {:.4f} acc {:.3f}".format(*train(bmodel, biases, XB, YB)))
moved = [(p - s).ne(0).sum().item() for p, s in zip(biases, start)]
print("bias coordinates moved:", moved, "of", [p.numel() for p in biases])

# ---- save adapters, reload into fresh wrappers ----
adapter = {k: v for k, v in qmodel.state_dict().items() if "lora_" in k}
buf = io.BytesIO()
torch.save(adapter, buf)
buf.seek(0)
fresh = copy.deepcopy(base)
fresh.fc1, fresh.fc2 = QLoRALinear(base.fc1), QLoRALinear(base.fc2)
fresh.conv = LoRAConv2d(fresh.conv)
missing, unexpected = fresh.load_state_dict(torch.load(buf), strict=False)
print("missing:", missing)
print("unexpected:", unexpected)
with torch.no_grad():
    print("reloaded qlora matches:", torch.equal(fresh(XB), qmodel(XB)))
try:
    fresh.fc1.base.packed.copy_(torch.zeros(3, dtype=torch.uint8))
except RuntimeError as err:
    print("RuntimeError:", err)
half = copy.deepcopy(fresh).to(torch.bfloat16)
print("after .to(bfloat16):", half.fc1.lora_A.weight.dtype, half.fc1.base.packed.dtype,
      half.fc1.base.absmax.dtype)
