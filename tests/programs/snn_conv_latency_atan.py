"""A convolutional spiking network on small images, snntorch-style in plain torch: latency coding
(brighter pixels fire earlier, one spike per pixel, built with scatter_), an arctan surrogate
gradient Function, LIF layers with detached reset by subtraction, truncated BPTT (the membrane is
detached every few steps), spike-count cross-entropy plus a firing-rate regulariser, gradient
clipping and a cosine schedule, then firing statistics per layer and first-spike decoding."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)
torch.set_printoptions(precision=4, sci_mode=False)


class ATan(torch.autograd.Function):
    """Heaviside forward; backward is the arctan surrogate alpha/2 / (1 + (pi/2 alpha U)^2)."""

    @staticmethod
    def forward(ctx, input_, alpha):
        ctx.save_for_backward(input_)
        ctx.alpha = alpha
        out = torch.zeros_like(input_)
        out[input_ > 0] = 1.0
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (input_,) = ctx.saved_tensors
        alpha = ctx.alpha
        grad = alpha / 2 / (1 + (math.pi / 2 * alpha * input_).pow_(2)) * grad_output
        return grad, None


def atan(alpha=2.0):
    def inner(x):
        return ATan.apply(x, alpha)
    return inner


class LIF(nn.Module):
    def __init__(self, beta=0.8, threshold=1.0, spike_grad=None):
        super().__init__()
        self.beta = beta
        self.threshold = threshold
        self.spike_grad = spike_grad or atan()
        self.mem = None

    def reset_mem(self):
        self.mem = None

    def detach_hidden(self):
        if self.mem is not None:
            self.mem = self.mem.detach()

    def forward(self, cur):
        if self.mem is None:
            self.mem = torch.zeros_like(cur)
        spk_prev = self.spike_grad(self.mem - self.threshold).detach()
        self.mem = self.beta * self.mem + cur - spk_prev * self.threshold
        return self.spike_grad(self.mem - self.threshold)


class ConvSNN(nn.Module):
    def __init__(self, num_classes=4):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.lif1 = LIF(beta=0.7, threshold=0.5)
        self.conv2 = nn.Conv2d(6, 8, 3)
        self.lif2 = LIF(beta=0.7, threshold=0.5)
        self.fc = nn.Linear(8 * 2 * 2, num_classes)
        self.lif3 = LIF(beta=0.85)
        with torch.no_grad():  # latency-coded input is sparse: start with stronger synapses
            self.conv1.weight.mul_(4.0)
            self.conv2.weight.mul_(2.5)

    def lifs(self):
        return [m for m in self.modules() if isinstance(m, LIF)]

    def forward(self, x):
        cur1 = F.max_pool2d(self.conv1(x), 2)
        spk1 = self.lif1(cur1)
        cur2 = F.max_pool2d(self.conv2(spk1), 2)
        spk2 = self.lif2(cur2)
        spk3 = self.lif3(self.fc(spk2.flatten(1)))
        return spk1, spk2, spk3


def latency(data, num_steps, tau=5.0, threshold=0.01):
    """snntorch.spikegen.latency (linear=False, normalize=True, clip=True)."""
    data = torch.clamp(data, 0)
    spike_time = tau * torch.log(data / (data - threshold))
    spike_time = torch.nan_to_num(spike_time, nan=float("inf"))
    spike_time = torch.where(data < threshold, torch.full_like(data, float("inf")), spike_time)
    finite = spike_time[torch.isfinite(spike_time)]
    spike_time = spike_time * (num_steps - 1) / finite.max()
    spike_time = spike_time.clamp(max=num_steps - 1).round().long()
    spikes = torch.zeros((num_steps,) + tuple(data.shape))
    spikes.scatter_(0, spike_time.unsqueeze(0), 1.0)
    spikes[-1] = torch.where(data < threshold, torch.zeros(()), spikes[-1])  # clip
    return spikes


def make_shapes(n, side=12):
    """Four classes of blurred shapes: square, cross, ring corner, diagonal bar."""
    labels = torch.randint(0, 4, (n,))
    imgs = torch.zeros(n, 1, side, side)
    yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    for i in range(n):
        cy, cx = torch.randint(3, side - 3, (2,)).tolist()
        if labels[i] == 0:
            mask = ((yy - cy).abs() <= 2) & ((xx - cx).abs() <= 2)
        elif labels[i] == 1:
            mask = ((yy - cy).abs() <= 0) | ((xx - cx).abs() <= 0)
        elif labels[i] == 2:
            r = ((yy - cy) ** 2 + (xx - cx) ** 2).float().sqrt()
            mask = (r > 1.5) & (r < 3.0)
        else:
            mask = (yy - xx).abs() <= 1
        imgs[i, 0][mask] = 1.0
    imgs = F.avg_pool2d(F.pad(imgs, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return imgs * torch.empty(n, 1, 1, 1).uniform_(0.6, 1.0), labels


ATan_check = torch.tensor([-0.5, 0.0, 0.5], requires_grad=True)
out = atan(2.0)(ATan_check)
out.backward(torch.ones(3))
print("atan surrogate:", out.tolist(), ATan_check.grad)

num_steps = 10
x_train, y_train = make_shapes(64)
x_test, y_test = make_shapes(32)
enc = latency(x_train[:2], num_steps)
print("latency spikes per pixel (max):", int(enc.sum(0).max()), "total:", int(enc.sum()))
t_first = enc.argmax(0).float()[enc.sum(0) > 0]
print("first spike time mean {:.3f} min {} max {}".format(
    t_first.mean().item(), int(t_first.min()), int(t_first.max())))
print("spikes per step:", enc.sum(dim=(1, 2, 3, 4)).int().tolist())

net = ConvSNN()
print("params:", sum(p.numel() for p in net.parameters() if p.requires_grad))
optimizer = torch.optim.Adam(net.parameters(), lr=2e-2, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=6, eta_min=1e-3)
tbptt = 5
for epoch in range(6):
    total, correct, loss_sum = 0, 0, 0.0
    for xb, yb in zip(x_train.split(16), y_train.split(16)):
        spikes_in = latency(xb, num_steps)
        for lif in net.lifs():
            lif.reset_mem()
        counts = torch.zeros(xb.size(0), 4)
        loss_val = 0.0
        for step in range(num_steps):
            spk1, spk2, spk3 = net(spikes_in[step])
            counts = counts + spk3
            if (step + 1) % tbptt == 0:
                rate_reg = 1e-3 * (spk1.sum() + spk2.sum()) / xb.size(0)
                loss = F.cross_entropy(counts * 0.5, yb) + rate_reg
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), max_norm=2.0)
                optimizer.step()
                loss_val += loss.item()
                counts = counts.detach()
                for lif in net.lifs():
                    lif.detach_hidden()
        loss_sum += loss_val
        correct += (counts.argmax(1) == yb).sum().item()
        total += yb.numel()
    scheduler.step()
    print("epoch {} loss {:.4f} train acc {:.3f} lr {:.5f}".format(
        epoch, loss_sum / 4, correct / total, scheduler.get_last_lr()[0]))

net.eval()
with torch.no_grad():
    spikes_in = latency(x_test, num_steps)
    for lif in net.lifs():
        lif.reset_mem()
    recs = {"lif1": [], "lif2": [], "lif3": []}
    mem3 = []
    for step in range(num_steps):
        outs = net(spikes_in[step])
        for name, s in zip(recs, outs):
            recs[name].append(s)
        mem3.append(net.lif3.mem.clone())
    recs = {k: torch.stack(v) for k, v in recs.items()}
    mem3 = torch.stack(mem3)
    for name, rec in recs.items():
        per_neuron = rec.mean(dim=(0, 1)).flatten()
        print("{}: shape {} rate {:.4f} std {:.4f} silent {:.3f} q90 {:.4f}".format(
            name, tuple(rec.shape), rec.mean().item(), per_neuron.std().item(),
            (per_neuron == 0).float().mean().item(), torch.quantile(per_neuron, 0.9).item()))
    counts = recs["lif3"].sum(0)
    acc_count = (counts.argmax(1) == y_test).float().mean().item()
    # first-spike decoding: the earliest output neuron wins; never-firing -> num_steps
    fired = recs["lif3"].bool()
    t_spike = torch.where(fired.any(0), fired.float().argmax(0), torch.tensor(num_steps))
    acc_ttfs = (t_spike.argmin(1) == y_test).float().mean().item()
    print("test acc (count) {:.3f} (first spike) {:.3f}".format(acc_count, acc_ttfs))
    print("output counts by class:")
    by_class = torch.stack([counts[y_test == c].mean(0) for c in range(4)])
    print(by_class)
    print("max membrane per step:", mem3.amax(dim=(1, 2)))
    print("spike raster, sample 0 output:")
    print(recs["lif3"][:, 0].T.int())
