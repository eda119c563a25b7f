"""A weight-sharing supernet in the Once-for-All / BigNAS style: dynamic conv and linear layers
that slice their weights to the active width (weight[:out, :in]), a dynamic BatchNorm that
normalizes with sliced running statistics updated in place through F.batch_norm, elastic depth,
the sandwich rule (largest, smallest, two random subnets) with in-place distillation from the
largest (KL of soft targets), BN recalibration of a sampled subnet (reset_running_stats,
momentum=None for a cumulative average), FLOPs counted by forward hooks, an evolutionary search
under a FLOPs budget, and a standalone child extracted by copying sliced weights (load_state_dict
with strict=False reporting the keys it skipped)."""
import copy
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(6)
py_rng = random.Random(0)
WIDTHS = [4, 6, 8]
DEPTHS = [1, 2]


class DynamicConv2d(nn.Conv2d):
    def __init__(self, max_in, max_out, kernel_size=3, stride=1):
        super().__init__(max_in, max_out, kernel_size, stride, padding=kernel_size // 2,
                         bias=False)
        self.active_out = max_out

    def forward(self, x):
        in_c = x.size(1)
        weight = self.weight[:self.active_out, :in_c, :, :].contiguous()
        return F.conv2d(x, weight, None, self.stride, self.padding)


class DynamicBatchNorm2d(nn.BatchNorm2d):
    def forward(self, x):
        c = x.size(1)
        if self.training and self.momentum is None:
            self.num_batches_tracked += 1
            exponential_average_factor = 1.0 / float(self.num_batches_tracked)
        else:
            exponential_average_factor = 0.0 if self.momentum is None else self.momentum
        return F.batch_norm(x, self.running_mean[:c], self.running_var[:c], self.weight[:c],
                            self.bias[:c], self.training or not self.track_running_stats,
                            exponential_average_factor, self.eps)


class DynamicLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, self.weight[:, :x.size(1)], self.bias)


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv = DynamicConv2d(c_in, c_out, 3, stride)
        self.bn = DynamicBatchNorm2d(c_out)

    def forward(self, x):
        return F.relu6(self.bn(self.conv(x)))


class SuperNet(nn.Module):
    def __init__(self, n_classes=4):
        super().__init__()
        w = max(WIDTHS)
        self.stem = Block(3, w, 1)
        self.stages = nn.ModuleList([
            nn.ModuleList([Block(w, w, 2), Block(w, w, 1)]),
            nn.ModuleList([Block(w, w, 2), Block(w, w, 1)]),
        ])
        self.head = DynamicLinear(w, n_classes)
        self.set_active(max_cfg())

    def set_active(self, cfg):
        self.cfg = cfg
        self.stem.conv.active_out = cfg["stem"]
        for stage, width in zip(self.stages, cfg["widths"]):
            for block in stage:
                block.conv.active_out = width

    def forward(self, x):
        x = self.stem(x)
        for stage, depth in zip(self.stages, self.cfg["depths"]):
            for block in stage[:depth]:
                x = block(x)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


def max_cfg():
    return {"stem": max(WIDTHS), "widths": [max(WIDTHS)] * 2, "depths": [max(DEPTHS)] * 2}


def min_cfg():
    return {"stem": min(WIDTHS), "widths": [min(WIDTHS)] * 2, "depths": [min(DEPTHS)] * 2}


def random_cfg(r):
    return {"stem": r.choice(WIDTHS), "widths": [r.choice(WIDTHS) for _ in range(2)],
            "depths": [r.choice(DEPTHS) for _ in range(2)]}


def count_flops(model, cfg, size=8):
    flops = []

    def conv_hook(module, inputs, output):
        c_in = inputs[0].shape[1]
        flops.append(output.numel() * c_in * module.kernel_size[0] * module.kernel_size[1])

    def linear_hook(module, args, kwargs, output):
        flops.append(args[0].shape[1] * output.shape[1])

    handles = [m.register_forward_hook(conv_hook) for m in model.modules()
               if isinstance(m, DynamicConv2d)]
    handles.append(model.head.register_forward_hook(linear_hook, with_kwargs=True))
    model.set_active(cfg)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    model.train(was_training)
    for h in handles:
        h.remove()
    return sum(flops)


images = torch.from_numpy(rng.normal(0, 1, (32, 3, 8, 8)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, 4, 32))
images[torch.arange(32), labels % 3, :, :4] += 1.5  # a class-dependent cue

net = SuperNet()
print("flops max/min:", count_flops(net, max_cfg()), count_flops(net, min_cfg()))
optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)

net.train()
for step in range(4):
    idx = torch.arange(step * 8, step * 8 + 8) % 32
    x, t = images[idx], labels[idx]
    optimizer.zero_grad()
    # sandwich rule: the largest net learns from labels, the others from its soft targets
    net.set_active(max_cfg())
    logits_max = net(x)
    loss = F.cross_entropy(logits_max, t)
    loss.backward()
    soft = F.softmax(logits_max.detach(), dim=1)
    losses = [loss.item()]
    for cfg in (min_cfg(), random_cfg(py_rng), random_cfg(py_rng)):
        net.set_active(cfg)
        kd = F.kl_div(F.log_softmax(net(x), dim=1), soft, reduction="batchmean")
        kd.backward()
        losses.append(kd.item())
    nn.utils.clip_grad_norm_(net.parameters(), 2.0)
    optimizer.step()
    print(f"step {step} losses " + " ".join(f"{v:.4f}" for v in losses))

bn = net.stages[0][0].bn
print("running mean (shared by every width):", bn.running_mean[:4], bn.num_batches_tracked)


def recalibrate(model, cfg, batches):
    model.set_active(cfg)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for xb in batches:
            model(xb)
    model.eval()


def evaluate(model, cfg):
    sub = copy.deepcopy(model)
    recalibrate(sub, cfg, images.split(16))
    with torch.no_grad():
        return (sub(images).argmax(1) == labels).float().mean().item()


cfg = {"stem": 6, "widths": [4, 8], "depths": [2, 1]}
sub = copy.deepcopy(net)
recalibrate(sub, cfg, images.split(16))
bn = sub.stages[0][0].bn
print("recalibrated:", bn.num_batches_tracked.item(), bn.momentum,
      f"{bn.running_var[:4].sum().item():.4f}", "untouched tail:", bn.running_mean[4:6])
print("cumulative mean == batch mean:",
      torch.allclose(sub.stem.bn.running_mean[:6],
                     sub.stem.conv(images).mean(dim=(0, 2, 3)), atol=1e-5))

# evolutionary search under a FLOPs budget
budget = count_flops(net, {"stem": 6, "widths": [6, 6], "depths": [2, 2]})
population = []
while len(population) < 4:
    c = random_cfg(py_rng)
    if count_flops(net, c) <= budget:
        population.append((evaluate(net, c), c))
for gen in range(2):
    population.sort(key=lambda p: (-p[0], count_flops(net, p[1])))
    parents = population[:2]
    children = []
    while len(children) < 2:
        child = copy.deepcopy(py_rng.choice(parents)[1])
        if py_rng.random() < 0.5:
            child["stem"] = py_rng.choice(WIDTHS)
        i = py_rng.randrange(2)
        child["widths"][i] = py_rng.choice(WIDTHS)
        child["depths"][i] = py_rng.choice(DEPTHS)
        if count_flops(net, child) <= budget:
            children.append((evaluate(net, child), child))
    population = parents + children
    best = max(population, key=lambda p: p[0])
    print(f"gen {gen} best acc {best[0]:.4f} flops {count_flops(net, best[1])} cfg {best[1]}")

# hand the best child's shared weights to a fresh supernet: stem and head by load_state_dict
# (strict=False lists what it left), the stages as sliced copies of the active widths
best_cfg = best[1]
child = SuperNet()
child.set_active(best_cfg)
state = {k: v for k, v in net.state_dict().items() if k.startswith(("stem.", "head."))}
state["teacher.temperature"] = torch.tensor(4.0)
result = child.load_state_dict(state, strict=False)
print("missing:", len(result.missing_keys), result.missing_keys[:2])
print("unexpected:", result.unexpected_keys)
with torch.no_grad():
    for (name, p_child), p_super in zip(child.named_parameters(), net.parameters()):
        if name.startswith("stages") and p_child.dim() == 4:
            p_child.zero_()
            out_c = best_cfg["widths"][int(name.split(".")[1])]
            p_child[:out_c].copy_(p_super[:out_c])
        elif name.startswith("stages"):
            p_child.copy_(p_super)
    for b_child, b_super in zip(child.buffers(), net.buffers()):
        b_child.copy_(b_super)
net.set_active(best_cfg)
net.eval()
child.eval()
with torch.no_grad():
    print("child == supernet subnet:", torch.allclose(child(images), net(images), atol=1e-6))
try:
    child.load_state_dict({"head.weight": torch.zeros(4, 3)}, strict=False)
except RuntimeError as e:
    print("RuntimeError:", str(e).split("\n")[1].strip()[:100])
n_active = sum(p.numel() for n, p in child.named_parameters() if "conv" in n)
print("conv params in supernet:", n_active, "vectorized:",
      nn.utils.parameters_to_vector(child.head.parameters()).shape)

# OFA's channel re-organization: sort a block's output channels by L1 importance and permute its
# BatchNorm and the next conv's input channels alike, so that narrower subnets keep the most
# important channels; the full-width network computes the same function
net.set_active(max_cfg())
net.eval()
reorg = copy.deepcopy(net)
blk, nxt = reorg.stages[0][0], reorg.stages[0][1]
importance = blk.conv.weight.detach().abs().sum(dim=(1, 2, 3))
order = importance.argsort(descending=True)
with torch.no_grad():
    blk.conv.weight.copy_(blk.conv.weight[order])
    for t in (blk.bn.weight, blk.bn.bias, blk.bn.running_mean, blk.bn.running_var):
        t.copy_(t[order])
    w_next = nxt.conv.weight[:, order]
    print("next conv rows:", w_next.is_contiguous(), w_next.view(w_next.size(0), -1).shape)
    nxt.conv.weight.copy_(w_next)
    print("order:", order.tolist(), "same function:",
          torch.allclose(reorg(images), net(images), atol=1e-5))
