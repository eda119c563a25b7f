"""Low-bit weight quantization as LLM-compression repositories write it in plain PyTorch
(round-to-nearest group-wise int4 as in GPTQ/AWQ baselines, bitsandbytes' NF4 code book) and
learned step-size QAT through PyTorch's own LSQ kernels: int4 values packed two per byte with
shifts and masks, per-group scales and zero points from ``amin``/``amax``, an NF4 code book from
``torch.distributions.Normal(0, 1).icdf`` with ``torch.bucketize`` lookup, observers from
``torch.ao.quantization`` (``MovingAverageMinMaxObserver``, ``PerChannelMinMaxObserver``,
``RecordingObserver``) seeding ``torch._fake_quantize_learnable_per_tensor_affine`` /
``_per_channel_affine`` in a 4-bit QAT run, and the int8 end through
``torch.ao.nn.quantized.functional.linear``."""
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.ao.nn.quantized.functional as qF
from torch.ao.quantization import (
    MovingAverageMinMaxObserver,
    PerChannelMinMaxObserver,
    RecordingObserver,
)

warnings.simplefilter("ignore")
torch.manual_seed(0)
rng = np.random.default_rng(3)
torch.set_printoptions(precision=4, linewidth=100)


# --- 1. group-wise asymmetric int4 (RTN) with packing ---------------------------------------
def quantize_groupwise(w, group_size=8, bits=4):
    out_f, in_f = w.shape
    g = w.reshape(out_f, in_f // group_size, group_size)
    w_min = g.amin(dim=-1, keepdim=True).clamp(max=0)
    w_max = g.amax(dim=-1, keepdim=True).clamp(min=0)
    qmax = 2 ** bits - 1
    scales = (w_max - w_min).clamp(min=1e-6) / qmax
    zeros = torch.round(-w_min / scales).clamp(0, qmax)
    q = torch.clamp(torch.round(g / scales) + zeros, 0, qmax).to(torch.uint8)
    return q.reshape(out_f, in_f), scales.squeeze(-1), zeros.squeeze(-1).to(torch.uint8)


def dequantize_groupwise(q, scales, zeros, group_size=8):
    out_f, in_f = q.shape
    g = q.reshape(out_f, in_f // group_size, group_size).float()
    return ((g - zeros.unsqueeze(-1).float()) * scales.unsqueeze(-1)).reshape(out_f, in_f)


def pack_int4(q):
    low, high = q[..., 0::2], q[..., 1::2]
    return (high << 4) | (low & 0x0F)


def unpack_int4(packed):
    low = packed & 0x0F
    high = (packed >> 4) & 0x0F
    return torch.stack([low, high], dim=-1).flatten(start_dim=-2)


w = torch.from_numpy(rng.standard_t(df=5, size=(6, 32)).astype(np.float32) * 0.05)
q, scales, zeros = quantize_groupwise(w)
packed = pack_int4(q)
print("packed:", packed.shape, packed.dtype, packed[0, :8])
print("unpack exact:", torch.equal(unpack_int4(packed), q))
print("bytes fp32 vs packed:", w.numel() * w.element_size(),
      packed.numel() * packed.element_size() + scales.numel() * 2 + zeros.numel())
for group_size in (4, 8, 16, 32):
    qg, sg, zg = quantize_groupwise(w, group_size)
    err = (dequantize_groupwise(qg, sg, zg, group_size) - w).pow(2).mean().sqrt()
    zp_counts = torch.bincount(zg.flatten(), minlength=16)[:4].tolist()
    print(f"group {group_size:>2}: rmse {err.item():.6f}, levels used "
          f"{torch.unique(qg).numel()}, zero points {zp_counts}")

# --- 2. NF4: normal-quantile code book, absmax blocks ---------------------------------------
normal = torch.distributions.Normal(torch.tensor(0.0), torch.tensor(1.0))
offset = 0.9677
pos = normal.icdf(torch.linspace(offset, 0.5, 9)[:-1])
neg = -normal.icdf(torch.linspace(offset, 0.5, 8)[:-1])
code = torch.cat([pos, torch.zeros(1), neg]).sort().values
code = code / code.abs().max()
print("nf4 code:", code)
blocks = w.reshape(-1, 16)
absmax = blocks.abs().amax(dim=1, keepdim=True)
normed = blocks / absmax
mid = (code[1:] + code[:-1]) / 2
idx_bucket = torch.bucketize(normed, mid)
idx_argmin = (normed.unsqueeze(-1) - code).abs().argmin(dim=-1)
print("bucketize == argmin:", torch.equal(idx_bucket, idx_argmin), idx_bucket.dtype)
nf4 = (code[idx_bucket] * absmax).reshape_as(w)
int4_sym = torch.round(normed * 7).clamp(-8, 7) / 7 * absmax
print(f"nf4 rmse {(nf4 - w).pow(2).mean().sqrt().item():.6f} vs int4-absmax "
      f"{(int4_sym.reshape_as(w) - w).pow(2).mean().sqrt().item():.6f}")
print("code usage:", torch.bincount(idx_bucket.flatten(), minlength=16).tolist())


# --- 3. LSQ QAT with PyTorch's learnable fake-quant kernels -------------------------------
class LearnableFakeQuant(nn.Module):
    """A trimmed torch.ao.quantization._LearnableFakeQuantize."""

    def __init__(self, observer, quant_min, quant_max, channel_len=-1, ch_axis=0):
        super().__init__()
        self.quant_min, self.quant_max, self.ch_axis = quant_min, quant_max, ch_axis
        self.per_channel = channel_len > 0
        n = channel_len if self.per_channel else 1
        self.scale = nn.Parameter(torch.ones(n))
        self.zero_point = nn.Parameter(torch.zeros(n))
        self.activation_post_process = observer
        self.register_buffer("observe", torch.tensor([1], dtype=torch.uint8))

    def forward(self, x):
        if self.observe[0] == 1:
            self.activation_post_process(x.detach())
            s, z = self.activation_post_process.calculate_qparams()
            with torch.no_grad():
                self.scale.copy_(s.float().reshape(self.scale.shape))
                self.zero_point.copy_(z.float().reshape(self.zero_point.shape))
        grad_factor = 1.0 / (x.numel() * self.quant_max) ** 0.5
        if self.per_channel:
            return torch._fake_quantize_learnable_per_channel_affine(
                x, self.scale, self.zero_point, self.ch_axis, self.quant_min, self.quant_max,
                grad_factor)
        return torch._fake_quantize_learnable_per_tensor_affine(
            x, self.scale, self.zero_point, self.quant_min, self.quant_max, grad_factor)


class QLinear(nn.Linear):
    def __init__(self, in_f, out_f):
        super().__init__(in_f, out_f)
        self.act_fq = LearnableFakeQuant(
            MovingAverageMinMaxObserver(averaging_constant=0.1, quant_min=0, quant_max=255), 0,
            255)
        self.w_fq = LearnableFakeQuant(
            PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, quant_min=-128, quant_max=127,
                                     qscheme=torch.per_channel_symmetric), -128, 127, out_f)

    def forward(self, x):
        return F.linear(self.act_fq(x), self.w_fq(self.weight), self.bias)


n, d, k = 400, 10, 3
centers = rng.normal(0, 1.0, size=(k, d))
lab = rng.integers(0, k, size=n)
X = torch.tensor(np.abs(centers[lab] + rng.normal(0, 0.9, size=(n, d))), dtype=torch.float32)
Y = torch.from_numpy(lab)
Xtr, Ytr, Xte, Yte = X[:320], Y[:320], X[320:], Y[320:]
model = nn.Sequential(QLinear(d, 24), nn.ReLU(), QLinear(24, k))
recorder = RecordingObserver()
model[1].register_forward_hook(lambda m, inp, out: recorder(out))

with torch.no_grad():  # calibration: observers set the initial scales and zero points
    for xb in Xtr.split(80):
        model(xb)
print("recorded relu outputs:", len(recorder.get_tensor_value()),
      tuple(recorder.get_tensor_value()[0].shape))
print("act scale/zp:", model[0].act_fq.scale.data, model[0].act_fq.zero_point.data)
print("w scales:", model[0].w_fq.scale.data[:6])
for m in model.modules():
    if isinstance(m, LearnableFakeQuant):
        m.observe.fill_(0)

# --- 4. the int8 end (calibrated layer 0): torch.ao.nn.quantized.functional.linear ---------
lin = model[0]
with torch.no_grad():
    xb = Xte[:5]
    x_scale = (xb.max() / 255).item()
    qx = torch.quantize_per_tensor(xb, x_scale, 0, torch.quint8)
    w_scale = lin.weight.abs().amax(dim=1).double() / 127
    qw = torch.quantize_per_channel(lin.weight.detach(), w_scale, torch.zeros(24, dtype=torch.long),
                                    0, torch.qint8)
    ref = F.linear(xb, lin.weight, lin.bias)
    out_scale = (ref.abs().max() / 127).item()
    qy = qF.linear(qx, qw, lin.bias, out_scale, 128)
    print("qy:", qy.dtype, qy.q_scale() == out_scale, qy.q_zero_point(), tuple(qy.shape))
    err = (qy.dequantize() - ref).abs().max().item()
    print(f"int8 linear max error {err:.5f} <= 1.5 steps: {err <= 1.5 * out_scale}")
    print("first row ints:", qy.int_repr()[0, :8].tolist())

# --- 5. QAT: weights at lr 0.05, the quantizers' scales and zero points slower, no decay ----
quant_params = [p for name, p in model.named_parameters() if "_fq." in name]
other_params = [p for name, p in model.named_parameters() if "_fq." not in name]
opt = torch.optim.SGD([{"params": other_params},
                       {"params": quant_params, "lr": 0.002, "weight_decay": 0.0}],
                      lr=0.05, momentum=0.9, weight_decay=1e-4)
print("param groups:", [len(g["params"]) for g in opt.param_groups], opt.param_groups[1]["lr"])
for epoch in range(4):
    total = 0.0
    for xb, yb in zip(Xtr.split(40), Ytr.split(40)):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    if epoch % 2 == 1:
        acc = (model(Xte).argmax(1) == Yte).float().mean().item()
        print(f"epoch {epoch} loss {total / len(Xtr):.3f} acc {acc:.3f} act scale "
              f"{model[0].act_fq.scale.item():.4f} zp {model[0].act_fq.zero_point.item():.2f}")
print("scale grad fn:", model[0].w_fq(model[0].weight).grad_fn.name())
learned = model[0].w_fq.scale.detach()
print(f"learned w scales: mean {learned.mean().item():.4f} min {learned.min().item():.4f} "
      f"all positive {bool((learned > 0).all())}")
obs_state = {k: tuple(v.shape) for k, v in model.state_dict().items() if "post_process" in k}
print("observer state:", obs_state)

