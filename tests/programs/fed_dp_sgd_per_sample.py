"""Differentially private SGD on one federated client, as Opacus and the functorch per-sample
gradient tutorial write it: per-sample gradients three ways (``torch.func.vmap(grad(...))`` over a
``functional_call`` loss, Opacus-style hooks that keep each layer's activations with
``register_forward_hook`` and compute ``einsum`` outer products from
``register_full_backward_hook``'s ``grad_output``, and a plain loop with
``torch.autograd.grad``), per-sample clipping to a norm bound with the clip factor
``(C / (norm + 1e-6)).clamp(max=1)``, Gaussian noise drawn from a seeded ``torch.Generator``
(``torch.normal(..., generator=)``) and written to ``p.grad`` before ``optimizer.step()``,
Poisson sampling of the batch with ``torch.rand(generator=) < q``, and
``clip_grad_norm_``/``clip_grad_value_`` on the averaged gradient for comparison. A tiny RDP
accountant for the subsampled Gaussian (integer orders, ``torch.lgamma``/``logsumexp``) prints
epsilon."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(3)
n, dim, n_cls = 160, 6, 3
W = rng.normal(size=(dim, n_cls))
X = torch.from_numpy(rng.normal(size=(n, dim)))
Y = torch.from_numpy((X.numpy() @ W + rng.normal(0, 0.5, size=(n, n_cls))).argmax(1))

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(dim, 12), nn.Tanh(), nn.Linear(12, n_cls))


def per_sample_vmap(model, xb, yb):
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss_fn(p, b, x, y):
        out = functional_call(model, (p, b), (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    return vmap(grad(loss_fn), in_dims=(None, None, 0, 0))(params, buffers, xb, yb)


class GradSampler:
    """Opacus-style: activations from forward hooks, backprops from backward hooks."""

    def __init__(self, model):
        self.handles, self.acts = [], {}
        for name, mod in model.named_modules():
            if isinstance(mod, nn.Linear):
                self.handles.append(mod.register_forward_hook(self._save(name)))
                self.handles.append(mod.register_full_backward_hook(self._grad(name)))

    def _save(self, name):
        def hook(mod, inputs, output):
            self.acts[name] = inputs[0].detach()
        return hook

    def _grad(self, name):
        def hook(mod, grad_input, grad_output):
            g = grad_output[0] * g_scale
            mod.weight.grad_sample = torch.einsum("ni,nj->nij", g, self.acts[name])
            mod.bias.grad_sample = g.clone()
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


xb, yb = X[:8], Y[:8]
g_vmap = per_sample_vmap(model, xb, yb)
sampler = GradSampler(model)
g_scale = xb.shape[0]   # the loss is a mean: undo the 1/B in grad_output
model.zero_grad()
F.cross_entropy(model(xb), yb).backward()
sampler.remove()
g_hook = {f"{name}.{p}": getattr(mod, p).grad_sample
          for name, mod in model.named_modules() if isinstance(mod, nn.Linear)
          for p in ("weight", "bias")}
g_loop = []
for i in range(8):
    loss = F.cross_entropy(model(xb[i:i + 1]), yb[i:i + 1])
    g_loop.append(torch.autograd.grad(loss, list(model.parameters())))
print("per-sample shapes", {k: tuple(v.shape) for k, v in g_vmap.items()})
print("vmap == hooks", all(torch.allclose(g_vmap[k], g_hook[k]) for k in g_vmap))
print("vmap == loop", all(torch.allclose(g_vmap[k][i], g_loop[i][j])
                          for j, k in enumerate(g_vmap) for i in range(8)))
print("mean of per-sample == batch grad",
      all(torch.allclose(g_vmap[k].mean(0), p.grad) for k, p in model.named_parameters()))


def clip_and_noise(grads, clip, sigma, gen, batch):
    flat = torch.cat([g.flatten(1) for g in grads.values()], dim=1)
    norms = flat.norm(2, dim=1)
    factor = (clip / (norms + 1e-6)).clamp(max=1.0)
    out = {}
    for k, g in grads.items():
        summed = torch.einsum("n,n...->...", factor, g)
        noise = torch.normal(0.0, sigma * clip, size=g.shape[1:], generator=gen)
        out[k] = (summed + noise) / batch
    return out, norms


def rdp_epsilon(q, sigma, steps, delta, orders=range(2, 33)):
    best = float("inf")
    for a in orders:
        k = torch.arange(a + 1, dtype=torch.float64)
        log_binom = (torch.lgamma(torch.tensor(a + 1.0)) - torch.lgamma(k + 1)
                     - torch.lgamma(a - k + 1))
        terms = (log_binom + k * math.log(q) + (a - k) * math.log1p(-q)
                 + (k * k - k) / (2 * sigma ** 2))
        rdp = torch.logsumexp(terms, 0).item() / (a - 1)
        eps = steps * rdp + math.log(1 / delta) / (a - 1)
        best = min(best, eps)
    return best


clip, sigma, q, lr = 1.0, 1.1, 0.1, 0.5
gen = torch.Generator().manual_seed(7)
opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.5)
for step in range(12):
    take = torch.rand(n, generator=gen) < q
    idx = take.nonzero(as_tuple=True)[0]
    if idx.numel() == 0:
        continue
    grads, norms = clip_and_noise(per_sample_vmap(model, X[idx], Y[idx]), clip, sigma, gen,
                                  q * n)
    for name, p in model.named_parameters():
        p.grad = grads[name]
    opt.step()
    if step % 4 == 3:
        with torch.no_grad():
            full = F.cross_entropy(model(X), Y).item()
            acc = (model(X).argmax(1) == Y).double().mean().item()
        print(f"step {step + 1}: batch {idx.numel()} clipped {(norms > clip).sum().item()} "
              f"median norm {norms.median().item():.4f} loss {full:.4f} acc {acc:.3f}")
print("epsilon", round(rdp_epsilon(q, sigma, 12, 1e-5), 3))

# non-private baseline clipping utilities on the averaged gradient
model.zero_grad()
F.cross_entropy(model(X), Y).backward()
total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1, error_if_nonfinite=True)
print("total norm before", round(total.item(), 4), "after",
      round(torch.norm(torch.stack([p.grad.norm() for p in model.parameters()])).item(), 4))
nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01)
print("max |grad|", max(p.grad.abs().max().item() for p in model.parameters()))
model[0].weight.grad[0, 0] = float("nan")
try:
    nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
except RuntimeError as e:
    print("nonfinite:", str(e).split(".")[0])
