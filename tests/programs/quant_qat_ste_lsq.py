"""Quantization-aware training written by hand, as the QAT papers' reference code and popular
repositories (LSQ, PACT, Brevitas-style toy examples) write it in plain PyTorch: a
straight-through estimator as a ``torch.autograd.Function`` and as ``x + (q - x).detach()``,
hand-written min/max and moving-average observers kept as buffers, per-channel weight fake
quantization checked against ``torch.fake_quantize_per_channel_affine``, activations through
``torch.fake_quantize_per_tensor_affine`` (and its gradient mask), a learned step size (LSQ)
with its gradient scale, a PACT clipping parameter, then a short QAT run of a small MLP with
``torch.optim.AdamW`` + ``CosineAnnealingLR`` and a float-vs-fake-quant accuracy table."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
torch.set_printoptions(precision=4)


class RoundSTE(torch.autograd.Function):
    """round() forward, identity backward (the straight-through estimator)."""

    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


def fake_quant_ste(x, scale, zero_point, qmin, qmax):
    q = torch.clamp(RoundSTE.apply(x / scale) + zero_point, qmin, qmax)
    return (q - zero_point) * scale


def fake_quant_detach(x, scale, zero_point, qmin, qmax):
    q = (torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax) - zero_point) * scale
    return x + (q - x).detach()


# --- 1. the STE variants agree with torch's fused op, values and gradients -----------------
x = torch.linspace(-1.3, 1.7, 11, requires_grad=True)
scale, zp = 0.02, 64
y_fn = fake_quant_ste(x, scale, zp, 0, 127)
y_det = fake_quant_detach(x, scale, zp, 0, 127)
y_ref = torch.fake_quantize_per_tensor_affine(x, scale, zp, 0, 127)
print("fused:", y_ref)
print("same values:", torch.allclose(y_fn, y_ref), torch.equal(y_det, y_ref))
g_fn, = torch.autograd.grad(y_fn.sum(), x)
g_det, = torch.autograd.grad(y_det.sum(), x)
g_ref, = torch.autograd.grad(y_ref.sum(), x)
print("grad fn     :", g_fn)
print("grad detach :", g_det)
print("grad fused  :", g_ref)  # zero where clamped: the clipped STE
mask = (x / scale + zp >= 0) & (x / scale + zp <= 127)
print("clip mask matches fused grad:", torch.equal(mask.float(), g_ref))

# the tensor-qparams overload (scale/zero_point as tensors, as observers hand them out)
y_t = torch.fake_quantize_per_tensor_affine(x.detach(), torch.tensor(scale),
                                            torch.tensor(zp, dtype=torch.int32), 0, 127)
print("tensor qparams:", torch.equal(y_t, y_ref.detach()))


# --- 2. observers by hand ------------------------------------------------------------------
class MinMaxObserver(nn.Module):
    def __init__(self, qmin=-128, qmax=127, symmetric=True):
        super().__init__()
        self.qmin, self.qmax, self.symmetric = qmin, qmax, symmetric
        self.register_buffer("min_val", torch.tensor(float("inf")))
        self.register_buffer("max_val", torch.tensor(float("-inf")))

    def forward(self, x):
        x = x.detach()
        self.min_val.copy_(torch.minimum(self.min_val, x.min()))
        self.max_val.copy_(torch.maximum(self.max_val, x.max()))
        return x

    def calculate_qparams(self):
        lo = torch.clamp(self.min_val, max=0.0)
        hi = torch.clamp(self.max_val, min=0.0)
        if self.symmetric:
            amax = torch.max(-lo, hi)
            scale = amax / ((self.qmax - self.qmin) / 2)
            zero_point = torch.zeros((), dtype=torch.int64)
        else:
            scale = (hi - lo) / float(self.qmax - self.qmin)
            zero_point = (self.qmin - torch.round(lo / scale)).to(torch.int64)
        scale = torch.clamp(scale, min=torch.finfo(torch.float32).eps)
        return scale, zero_point.clamp(self.qmin, self.qmax)


class MovingAverageObserver(MinMaxObserver):
    def __init__(self, momentum=0.1, **kw):
        super().__init__(**kw)
        self.momentum = momentum
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, x):
        x = x.detach()
        lo, hi = torch.aminmax(x)
        if not self.initialized:
            self.min_val.copy_(lo)
            self.max_val.copy_(hi)
            self.initialized.fill_(True)
        else:
            self.min_val.lerp_(lo, self.momentum)
            self.max_val.lerp_(hi, self.momentum)
        return x


obs_mm = MinMaxObserver(qmin=0, qmax=255, symmetric=False)
obs_ma = MovingAverageObserver(momentum=0.2, qmin=0, qmax=255, symmetric=False)
for step in range(5):
    batch = torch.from_numpy(rng.normal(0.5 * step, 1.0, size=(64,)).astype(np.float32))
    obs_mm(batch)
    obs_ma(batch)
s_mm, z_mm = obs_mm.calculate_qparams()
s_ma, z_ma = obs_ma.calculate_qparams()
print(f"minmax  range [{obs_mm.min_val:.4f}, {obs_mm.max_val:.4f}] scale {s_mm.item():.6f} "
      f"zp {z_mm.item()}")
print(f"movavg  range [{obs_ma.min_val:.4f}, {obs_ma.max_val:.4f}] scale {s_ma.item():.6f} "
      f"zp {z_ma.item()}")
print("buffers:", sorted(dict(obs_ma.named_buffers())))
print("state_dict dtypes:", {k: v.dtype for k, v in obs_ma.state_dict().items()})


# --- 3. per-channel weight fake-quant -------------------------------------------------------
def per_channel_qparams(w, bits=8):
    qmax = 2 ** (bits - 1) - 1
    amax = w.detach().abs().amax(dim=1).clamp_min(1e-8)
    return amax / qmax, torch.zeros(w.shape[0], dtype=torch.int32)


w = torch.from_numpy(rng.normal(0, 0.3, size=(4, 6)).astype(np.float32)).requires_grad_()
sc, zps = per_channel_qparams(w)
wq_ref = torch.fake_quantize_per_channel_affine(w, sc, zps, 0, -128, 127)
wq_hand = fake_quant_detach(w, sc[:, None], zps[:, None], -128, 127)
print("per-channel scales:", sc)
print("per-channel match:", torch.allclose(wq_ref, wq_hand, atol=1e-7))
print("max |w - wq| per row:", (w - wq_ref).abs().amax(dim=1).detach())
wq_ref.pow(2).sum().backward()
print("per-channel grad close to 2*wq:", torch.allclose(w.grad, 2 * wq_ref.detach(), atol=1e-6))
# axis=1 with per-column qparams
sc_col = w.detach().abs().amax(dim=0) / 127
zp_col = torch.zeros(6, dtype=torch.int32)
wq_col = torch.fake_quantize_per_channel_affine(w.detach(), sc_col, zp_col, 1, -128, 127)
print("axis=1 error:", f"{(wq_col - w.detach()).abs().max().item():.6f}")


# --- 4. LSQ: learned step size with gradient scaling; PACT: learned clipping ---------------
def grad_scale(x, factor):
    return (x - x * factor).detach() + x * factor


class LSQQuantizer(nn.Module):
    def __init__(self, bits=4, signed=True):
        super().__init__()
        self.qmin = -(2 ** (bits - 1)) if signed else 0
        self.qmax = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1
        self.step = nn.Parameter(torch.tensor(1.0))
        self.register_buffer("initialized", torch.zeros(1, dtype=torch.bool))

    def forward(self, x):
        if not self.initialized.item():
            with torch.no_grad():
                self.step.copy_(2 * x.abs().mean() / math.sqrt(self.qmax))
            self.initialized.fill_(True)
        g = 1.0 / math.sqrt(x.numel() * self.qmax)
        s = grad_scale(self.step, g)
        v = torch.clamp(x / s, self.qmin, self.qmax)
        return RoundSTE.apply(v) * s

    def extra_repr(self):
        return f"qmin={self.qmin}, qmax={self.qmax}"


class PACTReLU(nn.Module):
    def __init__(self, alpha=6.0, bits=4):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(alpha))
        self.levels = 2 ** bits - 1

    def forward(self, x):
        y = 0.5 * (x.abs() - (x - self.alpha).abs() + self.alpha)  # clip to [0, alpha]
        s = self.alpha / self.levels
        return RoundSTE.apply(y / s) * s


lsq = LSQQuantizer(bits=4)
t = torch.from_numpy(rng.normal(0, 1, size=(8, 8)).astype(np.float32)).requires_grad_()
out = lsq(t)
(out * torch.linspace(-1, 1, 64).view(8, 8)).sum().backward()
print(lsq)
print(f"lsq step {lsq.step.item():.5f} grad {lsq.step.grad.item():.5f} "
      f"levels used {out.detach().div(lsq.step.detach()).round().unique().numel()}")
pact = PACTReLU(alpha=2.0)
z = torch.linspace(-1, 3, 9, requires_grad=True)
pz = pact(z)
pz.sum().backward()
print("pact out:", pz.detach())
print(f"pact alpha grad {pact.alpha.grad.item():.4f}; x grad {z.grad.tolist()}")


# --- 5. QAT of a small MLP -----------------------------------------------------------------
class QATLinear(nn.Linear):
    def __init__(self, in_f, out_f, bits=4):
        super().__init__(in_f, out_f)
        self.bits = bits
        self.act_obs = MovingAverageObserver(momentum=0.1, qmin=-128, qmax=127)
        self.quantize = True

    def forward(self, x):
        if self.quantize:
            if self.training:
                self.act_obs(x)
            s, z = self.act_obs.calculate_qparams()
            x = torch.fake_quantize_per_tensor_affine(x, s, z.to(torch.int32), -128, 127)
            qmax = 2 ** (self.bits - 1) - 1
            sw = self.weight.detach().abs().amax(dim=1).clamp_min(1e-8) / qmax
            w = torch.fake_quantize_per_channel_affine(
                self.weight, sw, torch.zeros_like(sw, dtype=torch.int32), 0, -qmax - 1, qmax)
        else:
            w = self.weight
        return F.linear(x, w, self.bias)


n, d, k = 480, 8, 4
centers = rng.normal(0, 1.2, size=(k, d))
labels_np = rng.integers(0, k, size=n)
feats = centers[labels_np] + rng.normal(0, 0.8, size=(n, d))
X = torch.tensor(feats, dtype=torch.float32)
Y = torch.from_numpy(labels_np)
Xtr, Ytr, Xte, Yte = X[:384], Y[:384], X[384:], Y[384:]

model = nn.Sequential(QATLinear(d, 32), nn.ReLU(), QATLinear(32, k))


def set_quant(m, flag):
    for mod in m.modules():
        if isinstance(mod, QATLinear):
            mod.quantize = flag


def accuracy(m, xs, ys):
    m.eval()
    with torch.no_grad():
        return (m(xs).argmax(1) == ys).float().mean().item()


set_quant(model, False)
opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=1e-3)
for epoch in range(6):
    model.train()
    perm = torch.randperm(len(Xtr))
    for i in range(0, len(Xtr), 64):
        idx = perm[i:i + 64]
        loss = F.cross_entropy(model(Xtr[idx]), Ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
float_acc = accuracy(model, Xte, Yte)

# quantize without training (PTQ-like): calibrate the activation observers only
set_quant(model, True)
model.train()
with torch.no_grad():
    for i in range(0, len(Xtr), 64):
        model(Xtr[i:i + 64])
ptq_acc = accuracy(model, Xte, Yte)

opt = torch.optim.AdamW(model.parameters(), lr=0.003)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
for epoch in range(4):
    model.train()
    total = 0.0
    for i in range(0, len(Xtr), 64):
        loss = F.cross_entropy(model(Xtr[i:i + 64]), Ytr[i:i + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    sched.step()
    print(f"qat epoch {epoch} loss {total / 6:.4f} lr {sched.get_last_lr()[0]:.5f}")
qat_acc = accuracy(model, Xte, Yte)
print(f"float {float_acc:.3f} | 4-bit PTQ {ptq_acc:.3f} | 4-bit QAT {qat_acc:.3f}")
first = model[0]
s, z = first.act_obs.calculate_qparams()
w0 = first.weight.detach()
levels = (w0 / (w0.abs().amax(1, keepdim=True) / 7)).round().unique().numel()
print(f"layer0 act scale {s.item():.5f} zp {int(z)} weight grid levels {levels}")
print(model)
