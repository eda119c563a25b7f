"""Instance-level MIL with one bag per step, in the style of mi-Net / mi-SVM reference code:
an instance scorer pooled by max, mean or log-sum-exp (a temperature-smoothed max), then an
iterative pseudo-labelling round (mi-SVM): instances of negative bags are 0, instances of
positive bags are 1 where the score passes a threshold, and every positive bag keeps at least
its arg-max instance positive. A straight-through top-k mean ``autograd.Function``, a forward
hook capturing instance scores, ``torch.func.vmap`` + ``grad`` for per-bag gradient norms,
label noise from a ``Bernoulli`` distribution, a stable ``sort`` of the bag losses printed with
its ``grad_fn``, and caught errors for an empty bag and a bad pooling name."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

torch.manual_seed(0)
rng = np.random.default_rng(0)
D = 5


def make_bag(positive):
    n = int(rng.integers(3, 9))
    x = rng.standard_normal((n, D))
    y = np.zeros(n)
    if positive:
        j = int(rng.integers(0, n))
        x[j] += np.array([2.5, -2.0, 0.0, 1.5, 0.0])
        y[j] = 1
    return torch.from_numpy(x).float(), torch.from_numpy(y).float()


data = [make_bag(i % 2 == 0) for i in range(40)]
bag_y = torch.tensor([float(i % 2 == 0) for i in range(40)])
flip = torch.distributions.Bernoulli(probs=torch.full((40,), 0.1)).sample().bool()
noisy_y = torch.where(flip, 1 - bag_y, bag_y)
print("flipped bag labels", flip.nonzero().flatten().tolist())


class TopKMean(torch.autograd.Function):
    """Mean of the k largest scores; the gradient flows only to the chosen instances."""

    @staticmethod
    def forward(ctx, scores, k):
        k = min(k, scores.numel())
        values, idx = scores.topk(k)
        ctx.save_for_backward(idx)
        ctx.n = scores.numel()
        ctx.mark_non_differentiable(idx)
        return values.mean(), idx

    @staticmethod
    def backward(ctx, grad_value, grad_idx):
        (idx,) = ctx.saved_tensors
        g = torch.zeros(ctx.n, dtype=grad_value.dtype)
        g[idx] = grad_value / idx.numel()
        return g, None


class InstanceMIL(nn.Module):
    def __init__(self, pooling="lse", r=5.0):
        super().__init__()
        if pooling not in ("max", "mean", "lse", "topk"):
            raise ValueError(f"unknown pooling {pooling!r}")
        self.scorer = nn.Sequential(nn.Linear(D, 12), nn.Tanh(), nn.Linear(12, 1))
        self.pooling, self.r = pooling, r

    def forward(self, bag):
        if bag.size(0) == 0:
            raise RuntimeError("empty bag: every bag needs at least one instance")
        s = self.scorer(bag).squeeze(-1)
        if self.pooling == "max":
            return s.max()
        if self.pooling == "mean":
            return s.mean()
        if self.pooling == "topk":
            return TopKMean.apply(s, 2)[0]
        return torch.logsumexp(self.r * s, 0) / self.r - np.log(s.numel()) / self.r


try:
    InstanceMIL("attention")
except ValueError as e:
    print("ValueError:", e)

captured = []
results = {}
for pooling in ["max", "mean", "lse", "topk"]:
    torch.manual_seed(1)
    model = InstanceMIL(pooling)
    opt = torch.optim.RMSprop(model.parameters(), lr=3e-3)
    for epoch in range(6):
        for i in torch.randperm(30).tolist():
            x, _ = data[i]
            loss = F.binary_cross_entropy_with_logits(model(x), noisy_y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        logits = torch.stack([model(data[i][0]) for i in range(30, 40)])
    acc = ((logits > 0).float() == bag_y[30:]).float().mean().item()
    results[pooling] = model
    print(f"{pooling:5s} bag acc {acc:.4f} mean logit {logits.mean().item():.4f}")

try:
    results["max"](torch.empty(0, D))
except RuntimeError as e:
    print("RuntimeError:", e)

# mi-SVM style pseudo-labelling with the lse model; the hook records instance scores
model = results["lse"]
hook = model.scorer.register_forward_hook(
    lambda mod, inp, out: captured.append(out.detach().squeeze(-1)))
with torch.no_grad():
    for i in range(30):
        model(data[i][0])
hook.remove()
print("captured", len(captured), "score tensors; first", captured[0].round(decimals=3))

pseudo = []
for i, scores in enumerate(captured):
    if noisy_y[i] == 0:
        pseudo.append(torch.zeros_like(scores))
    else:
        lab = (scores > scores.median()).float()
        lab[scores.argmax()] = 1.0
        pseudo.append(lab)
inst_x = torch.cat([data[i][0] for i in range(30)])
inst_p = torch.cat(pseudo)
inst_true = torch.cat([data[i][1] for i in range(30)])
print("pseudo-label agreement", f"{(inst_p == inst_true).float().mean().item():.4f}",
      "positives", int(inst_p.sum().item()), "of", inst_p.numel())

opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
for step in range(40):
    loss = F.binary_cross_entropy_with_logits(model.scorer(inst_x).squeeze(-1), inst_p)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"instance loss after relabel round {loss.item():.4f}")

# per-bag gradient norms with torch.func on padded bags (mask keeps padding out of the max)
params = {k: v.detach() for k, v in model.scorer.named_parameters()}
lengths = torch.tensor([data[i][0].shape[0] for i in range(8)])
padded = nn.utils.rnn.pad_sequence([data[i][0] for i in range(8)], batch_first=True)
mask = torch.arange(padded.size(1))[None] < lengths[:, None]


def bag_loss(p, x, m, y):
    s = functional_call(model.scorer, p, (x,)).squeeze(-1)
    s = s.masked_fill(~m, -1e4)
    return F.binary_cross_entropy_with_logits(s.max(), y)


grads = vmap(grad(bag_loss), in_dims=(None, 0, 0, 0))(params, padded, mask, bag_y[:8])
norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()]).norm(dim=0)
print("per-bag grad norms", norms.round(decimals=4))

per_bag = torch.stack([
    F.binary_cross_entropy_with_logits(model(data[i][0]), noisy_y[i]) for i in range(6)])
ranked = per_bag.sort(dim=0, descending=True, stable=True)
print(ranked)
ranked.values.sum().backward()
print("scorer grad norm", f"{model.scorer[0].weight.grad.norm().item():.4f}")
