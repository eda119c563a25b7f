"""Differentiable architecture search (DARTS), written the way the reference code
(quark0/darts, khanrc/pt.darts) does, scaled down to a few seconds:

* a search cell whose edges are ``MixedOp``s over a primitive set (``none``/zero, skip,
  3x3 max/avg pooling with ``count_include_pad=False``, separable and dilated convolutions
  built from grouped ``Conv2d`` + ``BatchNorm2d(affine=False)``), mixed by ``F.softmax`` of
  architecture parameters ``alpha`` kept outside ``model.parameters()``;
* bilevel optimisation with two optimizers (``SGD`` with momentum, weight decay and
  ``CosineAnnealingLR`` for the weights; ``Adam(betas=(0.5, 0.999))`` for ``alpha``) on a
  ``random_split`` train/validation pair of loaders;
* the first-order step, and the second-order step: a virtual step ``w' = w - xi * dL_train/dw``
  evaluated with ``torch.func.functional_call``, ``torch.autograd.grad`` of the validation loss
  wrt ``(alpha, w')``, and the implicit Hessian-vector term by central finite differences at
  ``w +- eps * dw'``, written into ``alpha.grad``;
* genotype extraction: strongest non-zero op per edge and ``topk`` incoming edges per node.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
rng = np.random.default_rng(0)
PRIMITIVES = ["none", "skip_connect", "max_pool_3x3", "avg_pool_3x3", "sep_conv_3x3",
              "dil_conv_3x3"]


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class SepConv(nn.Module):
    def __init__(self, C, k, pad):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, k, padding=pad, groups=C, bias=False),
            nn.Conv2d(C, C, 1, bias=False),
            nn.BatchNorm2d(C, affine=False))

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    def __init__(self, C, k, pad, dilation):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, k, padding=pad, dilation=dilation, groups=C, bias=False),
            nn.Conv2d(C, C, 1, bias=False),
            nn.BatchNorm2d(C, affine=False))

    def forward(self, x):
        return self.op(x)


OPS = {
    "none": lambda C: Zero(),
    "skip_connect": lambda C: nn.Identity(),
    "max_pool_3x3": lambda C: nn.MaxPool2d(3, stride=1, padding=1),
    "avg_pool_3x3": lambda C: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    "sep_conv_3x3": lambda C: SepConv(C, 3, 1),
    "dil_conv_3x3": lambda C: DilConv(C, 3, 2, 2),
}


class MixedOp(nn.Module):
    def __init__(self, C):
        super().__init__()
        self._ops = nn.ModuleList([OPS[p](C) for p in PRIMITIVES])

    def forward(self, x, weights):
        return sum(w * op(x) for w, op in zip(weights, self._ops))


class Cell(nn.Module):
    def __init__(self, C, steps=3):
        super().__init__()
        self.steps = steps
        self._ops = nn.ModuleList()
        for i in range(steps):
            for j in range(2 + i):
                self._ops.append(MixedOp(C))

    def forward(self, s0, s1, weights):
        states, offset = [s0, s1], 0
        for i in range(self.steps):
            s = sum(self._ops[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(s)
        return torch.cat(states[-self.steps:], dim=1)


class Network(nn.Module):
    def __init__(self, C=4, n_classes=3, steps=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        self.cell = Cell(C, steps)
        self.classifier = nn.Linear(C * steps, n_classes)
        k = sum(2 + i for i in range(steps))
        self.alphas_normal = 1e-3 * torch.randn(k, len(PRIMITIVES))
        self.alphas_normal.requires_grad_(True)
        self._steps = steps

    def arch_parameters(self):
        return [self.alphas_normal]

    def forward(self, x, alphas=None):
        alphas = self.alphas_normal if alphas is None else alphas
        s = self.stem(x)
        out = self.cell(s, s, F.softmax(alphas, dim=-1))
        return self.classifier(F.adaptive_avg_pool2d(out, 1).flatten(1))

    def genotype(self):
        weights = F.softmax(self.alphas_normal, dim=-1).detach()
        gene, start, n = [], 0, 2
        for i in range(self._steps):
            W = weights[start:start + n]
            best_val, best_op = W[:, 1:].max(dim=1)  # index 0 is "none"
            top = torch.topk(best_val, 2).indices.sort().values
            for j in top.tolist():
                gene.append((PRIMITIVES[best_op[j].item() + 1], j))
            start += n
            n += 1
        return gene


# data: 8x8 images with a class-dependent stripe pattern
N = 96
labels = rng.integers(0, 3, size=N)
imgs = rng.normal(size=(N, 1, 8, 8)).astype(np.float32) * 0.5
for i, c in enumerate(labels):
    if c == 0:
        imgs[i, 0, ::2, :] += 1.0
    elif c == 1:
        imgs[i, 0, :, ::2] += 1.0
    else:
        imgs[i, 0, 2:6, 2:6] += 1.0
full = TensorDataset(torch.from_numpy(imgs), torch.from_numpy(labels))
train_set, val_set = random_split(full, [48, 48], generator=torch.Generator().manual_seed(0))
print("split", len(train_set), len(val_set), train_set.indices[:6], val_set.indices[:6])


def loaders(seed):
    g = torch.Generator().manual_seed(seed)
    return (DataLoader(train_set, batch_size=16, shuffle=True, generator=g),
            DataLoader(val_set, batch_size=16, shuffle=True, generator=g))


class Architect:
    def __init__(self, model, w_optim, xi, alpha_lr):
        self.model, self.w_optim, self.xi = model, w_optim, xi
        self.a_optim = torch.optim.Adam(model.arch_parameters(), lr=alpha_lr,
                                        betas=(0.5, 0.999), weight_decay=1e-3)

    def step(self, trn, val, unrolled):
        self.a_optim.zero_grad()
        if unrolled:
            self._backward_step_unrolled(trn, val)
        else:
            F.cross_entropy(self.model(val[0]), val[1]).backward()
        self.a_optim.step()

    def _backward_step_unrolled(self, trn, val):
        model = self.model
        names = [n for n, _ in model.named_parameters()]
        params = [p for _, p in model.named_parameters()]
        loss = F.cross_entropy(model(trn[0]), trn[1])
        gw = torch.autograd.grad(loss, params)
        momentum = self.w_optim.param_groups[0]["momentum"]
        wd = self.w_optim.param_groups[0]["weight_decay"]
        with torch.no_grad():
            virtual = []
            for p, g in zip(params, gw):
                buf = self.w_optim.state[p].get("momentum_buffer")
                m = buf * momentum if buf is not None else torch.zeros_like(p)
                virtual.append((p - self.xi * (m + g + wd * p)).requires_grad_())
        alpha = model.alphas_normal
        logits = functional_call(model, dict(zip(names, virtual)), (val[0],))
        val_loss = F.cross_entropy(logits, val[1])
        grads = torch.autograd.grad(val_loss, [alpha] + virtual)
        d_alpha, dw = grads[0], grads[1:]
        hessian = self._hessian_vector_product(dw, trn, params)
        alpha.grad = d_alpha - self.xi * hessian
        return val_loss

    def _hessian_vector_product(self, vector, trn, params, r=1e-2):
        eps = r / torch.cat([v.view(-1) for v in vector]).norm()
        with torch.no_grad():
            for p, v in zip(params, vector):
                p.add_(v, alpha=eps)
        g_pos = torch.autograd.grad(F.cross_entropy(self.model(trn[0]), trn[1]),
                                    self.model.arch_parameters())
        with torch.no_grad():
            for p, v in zip(params, vector):
                p.sub_(v, alpha=2 * eps)
        g_neg = torch.autograd.grad(F.cross_entropy(self.model(trn[0]), trn[1]),
                                    self.model.arch_parameters())
        with torch.no_grad():
            for p, v in zip(params, vector):
                p.add_(v, alpha=eps)
        return (g_pos[0] - g_neg[0]).div_(2 * eps)


def search(unrolled, epochs=3):
    torch.manual_seed(1)
    model = Network()
    print("arch params in model.parameters():",
          any(p is model.alphas_normal for p in model.parameters()),
          "n weights", sum(p.numel() for p in model.parameters()),
          "alpha", tuple(model.alphas_normal.shape))
    w_optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_optim, epochs, eta_min=1e-3)
    architect = Architect(model, w_optim, xi=sched.get_last_lr()[0], alpha_lr=3e-2)
    for epoch in range(epochs):
        trn_loader, val_loader = loaders(10 + epoch)
        model.train()
        tot, correct, seen = 0.0, 0, 0
        for (xt, yt), (xv, yv) in zip(trn_loader, val_loader):
            architect.xi = sched.get_last_lr()[0]
            architect.step((xt, yt), (xv, yv), unrolled)
            w_optim.zero_grad()
            logits = model(xt)
            loss = F.cross_entropy(logits, yt)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            w_optim.step()
            tot += loss.item() * len(yt)
            correct += (logits.argmax(1) == yt).sum().item()
            seen += len(yt)
        sched.step()
        model.eval()
        with torch.no_grad():
            xv, yv = val_set[:]
            val_acc = (model(xv).argmax(1) == yv).float().mean().item()
        probs = F.softmax(model.alphas_normal, dim=-1)
        print(f"{'2nd' if unrolled else '1st'} epoch {epoch} loss {tot / seen:.4f} "
              f"train_acc {correct / seen:.4f} val_acc {val_acc:.4f} "
              f"lr {sched.get_last_lr()[0]:.5f}")
        print("  alpha row0", " ".join(f"{v:.4f}" for v in probs[0].tolist()),
              "max", f"{probs.max():.4f}", "entropy",
              f"{-(probs * probs.log()).sum(-1).mean():.4f}")
    print("  genotype", model.genotype())
    return model


m1 = search(unrolled=False)
m2 = search(unrolled=True)
diff = (m1.alphas_normal - m2.alphas_normal).abs()
print("alpha difference 1st vs 2nd", f"{diff.max():.4f}", "argmax agree",
      (m1.alphas_normal.argmax(-1) == m2.alphas_normal.argmax(-1)).sum().item(), "/",
      m1.alphas_normal.shape[0])
print("alpha grad", m2.alphas_normal.grad.shape, m2.alphas_normal.grad.dtype,
      m2.alphas_normal.is_leaf, m2.alphas_normal.grad_fn)
