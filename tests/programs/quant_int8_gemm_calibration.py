"""Integer-only inference emulated in plain PyTorch, in the style of the gemmlowp/TFLite
integer-arithmetic paper (Jacob et al.) and the "int8 inference from scratch" notebooks:
``torch.quantize_per_tensor`` / ``quantize_per_channel`` and their accessors (``int_repr``,
``q_scale``, ``q_zero_point``, ``q_per_channel_scales``), rebuilding quantized tensors with
``torch._make_per_tensor_quantized_tensor``, an int8 x int8 -> int32 GEMM on integer tensors
with zero-point correction, requantization with a fixed-point multiplier from ``torch.frexp``
and a rounding right shift, then post-training calibration of a small MLP (min/max, percentile
via ``torch.quantile``/``kthvalue``, MSE search over clipping ranges, a ``torch.histc``
entropy look) comparing float, fake-quant and integer-only accuracy."""
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.simplefilter("ignore")  # quantized-tensor deprecation notices
torch.manual_seed(0)
rng = np.random.default_rng(1)

# --- 1. quantized tensors and their accessors -----------------------------------------------
x = torch.tensor([[-1.02, 0.49, 2.0], [0.31, -0.7, 1.14]])
qx = torch.quantize_per_tensor(x, scale=0.05, zero_point=20, dtype=torch.quint8)
print(qx)
print("int_repr:", qx.int_repr(), "scale", qx.q_scale(), "zp", qx.q_zero_point())
print("dtype", qx.dtype, "scheme", qx.qscheme(), "quantized", qx.is_quantized,
      "elem", qx.element_size())
print("roundtrip error:", (qx.dequantize() - x).abs().max().item() <= 0.05 / 2 + 1e-7)
print("transposed:", qx.t().int_repr().tolist(), "row max:", qx.max(dim=1).values)
rebuilt = torch._make_per_tensor_quantized_tensor(qx.int_repr(), qx.q_scale(), qx.q_zero_point())
print("rebuilt equal:", torch.equal(rebuilt.dequantize(), qx.dequantize()), rebuilt.dtype)
q32 = torch.quantize_per_tensor(x, torch.tensor(0.001), torch.tensor(0), torch.qint32)
print("qint32 ints:", q32.int_repr())
try:
    qx + qx
except NotImplementedError as err:
    print("NotImplementedError:", str(err).split(" with arguments")[0])
try:
    torch.quantize_per_tensor(x.double(), 0.1, 0, torch.qint8)
except RuntimeError as err:
    print("RuntimeError:", err)
try:
    torch.quantize_per_tensor(x, 0.1, 300, torch.quint8)
except RuntimeError as err:
    print("RuntimeError:", err)

w = torch.from_numpy(rng.normal(0, 0.2, size=(3, 5)).astype(np.float32))
w_scales = w.abs().amax(dim=1) / 127
qw = torch.quantize_per_channel(w, w_scales, torch.zeros(3, dtype=torch.long), 0, torch.qint8)
print(qw)
print("scales", qw.q_per_channel_scales().dtype, "zps", qw.q_per_channel_zero_points().tolist(),
      "axis", qw.q_per_channel_axis())
print("per-channel ints:\n", qw.int_repr())


# --- 2. int8 GEMM with int32 accumulation and fixed-point requantization --------------------
def quantize_multiplier(real_multiplier):
    """real = m * 2**e with m in [0.5, 1): store m as a Q31 int and the right shift."""
    mantissa, exponent = torch.frexp(torch.tensor(real_multiplier, dtype=torch.float64))
    q31 = torch.round(mantissa * (1 << 31)).to(torch.int64)
    return q31, -exponent.to(torch.int64)


def rounding_right_shift(v, shift):
    half = torch.where(shift > 0, torch.ones_like(shift) << (shift - 1).clamp(min=0),
                       torch.zeros_like(shift))
    return (v + half) >> shift


def requantize(acc, q31, shift, zp_out, qmin=-128, qmax=127):
    prod = (acc.to(torch.int64) * q31 + (1 << 30)) >> 31  # Q31 fixed-point multiply
    out = rounding_right_shift(prod, shift) + zp_out
    return out.clamp(qmin, qmax).to(torch.int8)


def int8_linear(q_in, zp_in, s_in, q_w, s_w, bias_i32, s_out, zp_out):
    acc = torch.matmul(q_in.to(torch.int32) - zp_in, q_w.to(torch.int32).t())
    acc = acc + bias_i32
    q31, shift = quantize_multiplier((s_in * s_w / s_out).tolist())
    return requantize(acc, q31, shift, zp_out)


a = torch.from_numpy(rng.normal(0, 1, size=(4, 5)).astype(np.float32))
b = torch.from_numpy(rng.normal(0, 0.1, size=3).astype(np.float32))
s_a = (a.max() - a.min()).item() / 255
zp_a = int(round(-128 - a.min().item() / s_a))
qa = torch.quantize_per_tensor(a, s_a, zp_a, torch.qint8)
ref = F.linear(qa.dequantize(), qw.dequantize(), b)
s_o = (ref.abs().max() / 127).item()
bias_i32 = torch.round(b / (s_a * w_scales)).to(torch.int32)
out_i8 = int8_linear(qa.int_repr(), zp_a, s_a, qw.int_repr(), w_scales, bias_i32, s_o, 0)
print("int8 out:\n", out_i8)
print("dtypes:", out_i8.dtype, torch.matmul(qa.int_repr().int(), qw.int_repr().int().t()).dtype)
emulated = out_i8.float() * s_o
print(f"max |int8 - float| = {(emulated - ref).abs().max().item():.5f} (one step {s_o:.5f})")
q31, shift = quantize_multiplier([0.0123, 0.75, 0.3])
print("Q31 multipliers:", q31.tolist(), "shifts:", shift.tolist())
print("shift rounding:", rounding_right_shift(torch.tensor([5, 6, 7, -5, -6]),
                                              torch.tensor([1, 1, 1, 1, 0])).tolist())

# --- 3. post-training calibration of an MLP ------------------------------------------------
n, d, k = 600, 12, 3
centers = rng.normal(0, 1.0, size=(k, d))
lab = rng.integers(0, k, size=n)
X = torch.tensor(centers[lab] + rng.normal(0, 1.0, size=(n, d)), dtype=torch.float32)
Y = torch.from_numpy(lab)
Xtr, Ytr, Xte, Yte = X[:480], Y[:480], X[480:], Y[480:]

model = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, k))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
for epoch in range(15):
    for xb, yb in zip(Xtr.split(60), Ytr.split(60)):
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()

activations = {}


def save_input(name):
    def hook(module, inputs, output):
        activations.setdefault(name, []).append(inputs[0].detach())
    return hook


handles = [m.register_forward_hook(save_input(name)) for name, m in model.named_modules()
           if isinstance(m, nn.Linear)]
with torch.no_grad():
    for xb in Xtr[:240].split(80):
        model(xb)
for h in handles:
    h.remove()
print("calibrated layers:", list(activations), [len(v) for v in activations.values()])


def qparams_from_range(lo, hi, qmin=-128, qmax=127):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max((hi - lo) / (qmax - qmin), 1e-8)
    zp = int(np.clip(round(qmin - lo / scale), qmin, qmax))
    return scale, zp


def mse_clip(t, grid=20):
    lo, hi = t.min().item(), t.max().item()
    best = None
    for frac in torch.linspace(0.5, 1.0, grid).tolist():
        s, z = qparams_from_range(lo * frac, hi * frac)
        err = (torch.fake_quantize_per_tensor_affine(t, s, z, -128, 127) - t).pow(2).mean()
        if best is None or err < best[0]:
            best = (err.item(), s, z, frac)
    return best


calib = {}
for name, acts in activations.items():
    t = torch.cat(acts)
    flat = t.flatten()
    lo_p, hi_p = torch.quantile(flat, torch.tensor([0.001, 0.999])).tolist()
    kth = flat.kthvalue(int(0.999 * flat.numel())).values.item()
    hist = torch.histc(flat, bins=32, min=flat.min().item(), max=flat.max().item())
    p = hist / hist.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum().item()
    err, s_mse, z_mse, frac = mse_clip(t)
    calib[name] = {"minmax": qparams_from_range(t.min().item(), t.max().item()),
                   "percentile": qparams_from_range(lo_p, hi_p), "mse": (s_mse, z_mse)}
    print(f"layer {name}: range [{t.min().item():.3f}, {t.max().item():.3f}] p99.9 {hi_p:.3f} "
          f"kth {kth:.3f} entropy {entropy:.3f} mse-clip {frac:.3f} err {err:.2e}")


class FakeQuantLinear(nn.Module):
    def __init__(self, linear, act_qparams):
        super().__init__()
        self.linear = linear
        self.act_scale, self.act_zp = act_qparams
        w = linear.weight.detach()
        self.register_buffer("w_scale", w.abs().amax(dim=1) / 127)

    def forward(self, x):
        x = torch.fake_quantize_per_tensor_affine(x, self.act_scale, self.act_zp, -128, 127)
        w = torch.fake_quantize_per_channel_affine(
            self.linear.weight, self.w_scale, torch.zeros_like(self.w_scale, dtype=torch.int32),
            0, -127, 127)
        return F.linear(x, w, self.linear.bias)


def quantized_copy(method):
    layers = []
    for name, m in model.named_children():
        layers.append(FakeQuantLinear(m, calib[name][method]) if isinstance(m, nn.Linear) else m)
    return nn.Sequential(*layers)


def int_only_forward(xb, method):
    """Every Linear as int8 x int8 -> int32 -> requantized int8, ReLU on the integers."""
    names = [name for name, m in model.named_children() if isinstance(m, nn.Linear)]
    s_in, zp_in = calib[names[0]][method]
    q = torch.quantize_per_tensor(xb, s_in, zp_in, torch.qint8).int_repr()
    for i, name in enumerate(names):
        lin = getattr(model, name)
        s_w = lin.weight.detach().abs().amax(dim=1) / 127
        q_w = torch.quantize_per_channel(lin.weight.detach(), s_w, torch.zeros_like(s_w).long(),
                                         0, torch.qint8).int_repr()
        bias = torch.round(lin.bias.detach() / (s_in * s_w)).to(torch.int32)
        if i + 1 < len(names):
            s_out, zp_out = calib[names[i + 1]][method]
            q = int8_linear(q, zp_in, s_in, q_w, s_w, bias, s_out, zp_out)
            q = torch.maximum(q, torch.tensor(zp_out, dtype=torch.int8))  # ReLU in int8
            s_in, zp_in = s_out, zp_out
        else:
            acc = torch.matmul(q.int() - zp_in, q_w.int().t()) + bias
            return acc.float() * (s_in * s_w)


def accuracy(logits):
    return (logits.argmax(dim=1) == Yte).float().mean().item()


with torch.no_grad():
    float_logits = model(Xte)
    print(f"float acc {accuracy(float_logits):.4f}")
    for method in ("minmax", "percentile", "mse"):
        fq = quantized_copy(method)(Xte)
        io = int_only_forward(Xte, method)
        agree = (fq.argmax(1) == io.argmax(1)).float().mean().item()
        print(f"{method:>10}: fake-quant acc {accuracy(fq):.4f} int-only acc {accuracy(io):.4f} "
              f"agree {agree:.3f} logit err {(io - float_logits).abs().mean().item():.4f}")

print(quantized_copy("minmax")[0].w_scale)
