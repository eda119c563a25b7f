"""Testing with Concept Activation Vectors (TCAV, Kim et al. 2018) on a small CNN, written as
the captum / tcav reference code does it: a CNN learns to tell images with a horizontal bar
from images with a vertical bar while a distractor concept (a bright corner) co-occurs with
one class. A forward hook exposes the conv activations; CAVs are the normals of linear
classifiers (``nn.Linear`` trained with SGD, then ``F.normalize``) separating concept images
from random ones; directional derivatives of a class logit along the CAV give TCAV scores,
computed once with ``torch.autograd.grad`` through the hooked activation and again per example
with ``torch.func`` (``functional_call``, ``grad``, ``vmap``); repeated random CAVs give a
z-test through ``torch.distributions.Normal``. Linear CKA between layers and a CAV
sensitivity map round it off."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal
from torch.func import functional_call, grad, vmap

torch.manual_seed(0)
rng = np.random.default_rng(0)
S = 12


def images(n, kind):
    """kind: 'h' horizontal bar, 'v' vertical bar, 'corner' bright corner, 'noise' random."""
    x = 0.3 * rng.normal(size=(n, 1, S, S)).astype(np.float32)
    for i in range(n):
        p = rng.integers(2, S - 3)
        if kind == "h":
            x[i, 0, p:p + 2, 1:-1] += 1.5
        elif kind == "v":
            x[i, 0, 1:-1, p:p + 2] += 1.5
        elif kind == "corner":
            x[i, 0, :3, :3] += 2.0
    return torch.from_numpy(x)


# class 0: horizontal bars (half with a corner), class 1: vertical bars (no corner)
x_h, x_v = images(200, "h"), images(200, "v")
x_h[:100, :, :3, :3] += 2.0
X = torch.cat([x_h, x_v])
Y = torch.cat([torch.zeros(200), torch.ones(200)]).long()


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 12, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(12 * 3 * 3, 2)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))


model = SmallCNN()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
perm = torch.randperm(400)
for epoch in range(6):
    for i in range(0, 400, 50):
        idx = perm[i:i + 50]
        loss = F.cross_entropy(model(X[idx]), Y[idx], label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"epoch {epoch} loss {loss.item():.4f}")
model.eval()
with torch.no_grad():
    print("train acc", f"{(model(X).argmax(1) == Y).float().mean().item():.4f}")

# the bottleneck: conv2's activations, captured (and replaceable) with a forward hook
store = {}


def capture(module, inputs, output):
    store["act"] = output
    return output


hook = model.conv2.register_forward_hook(capture)


def activations(x):
    with torch.no_grad():
        model(x)
    return store["act"].flatten(1)


concepts = {"h_bar": images(60, "h"), "v_bar": images(60, "v"), "corner": images(60, "corner")}
randoms = [images(60, "noise") for _ in range(6)]
print("activation dim", activations(concepts["h_bar"]).shape[1])


def train_cav(pos, neg, seed):
    a = torch.cat([activations(pos), activations(neg)])
    t = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))])
    a = (a - a.mean(0)) / a.std(0).clamp(min=1e-5)
    gen = torch.Generator().manual_seed(seed)
    clf = nn.Linear(a.shape[1], 1)
    with torch.no_grad():
        clf.weight.normal_(0, 0.01, generator=gen)
        clf.bias.zero_()
    opt = torch.optim.SGD(clf.parameters(), lr=0.1, weight_decay=1e-3)
    for _ in range(60):
        loss = F.binary_cross_entropy_with_logits(clf(a).squeeze(1), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = ((clf(a).squeeze(1) > 0).float() == t).float().mean().item()
    return F.normalize(clf.weight.detach().squeeze(0), dim=0), acc


def directional_derivatives(x, cav, cls):
    model(x)
    act = store["act"]
    logit = model.fc(model.pool(F.relu(act)).flatten(1))[:, cls]
    g, = torch.autograd.grad(logit.sum(), act)
    return g.flatten(1) @ cav


def tcav_score(x, cav, cls):
    return (directional_derivatives(x, cav, cls) > 0).float().mean().item()


test_h = images(50, "h")
results = {}
for name, pos in concepts.items():
    cav, acc = train_cav(pos, randoms[0], seed=1)
    random_cavs = [train_cav(randoms[j], randoms[0], seed=j)[0] for j in range(1, 6)]
    score = tcav_score(test_h, cav, cls=0)
    null = torch.tensor([tcav_score(test_h, c, cls=0) for c in random_cavs])
    z = (score - null.mean()) / null.std().clamp(min=1e-3)
    p = 2 * (1 - Normal(0.0, 1.0).cdf(z.abs()))
    results[name] = cav
    print(f"concept {name:6s} cav acc {acc:.4f} tcav(class h) {score:.4f}"
          f" random {null.mean().item():.4f}+-{null.std().item():.4f} p {p.item():.4f}")
cos = torch.stack([F.cosine_similarity(results["h_bar"], results[k], dim=0)
                   for k in ("v_bar", "corner")])
print("cav cosine h_bar vs v_bar, corner", [f"{v:.4f}" for v in cos.tolist()])

# the same directional derivatives per example with torch.func
hook.remove()
params = {k: v.detach() for k, v in model.named_parameters()}


def head_logit(p, act, cls):
    out = F.relu(act)
    out = F.max_pool2d(out, 2)
    return functional_call(model.fc, {"weight": p["fc.weight"], "bias": p["fc.bias"]},
                           (out.flatten(),))[cls]


def bottleneck(p, x):
    h = F.max_pool2d(F.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"], padding=1)), 2)
    return F.conv2d(h, p["conv2.weight"], p["conv2.bias"], padding=1)


acts_h = vmap(bottleneck, in_dims=(None, 0))(params, test_h.unsqueeze(1))
per_example = vmap(grad(head_logit, argnums=1), in_dims=(None, 0, None))(params, acts_h, 0)
dd_func = per_example.flatten(1) @ results["h_bar"]
hook = model.conv2.register_forward_hook(capture)
dd_autograd = directional_derivatives(test_h, results["h_bar"], 0)
print("acts", tuple(acts_h.shape), "func grads", tuple(per_example.shape))
print("func vs autograd", torch.allclose(dd_func, dd_autograd, atol=1e-5),
      f"tcav {(dd_func > 0).float().mean().item():.4f}")
print("dd quantiles", [f"{v:.4f}" for v in
                       torch.quantile(dd_func, torch.tensor([0.1, 0.5, 0.9])).tolist()])

# CAV sensitivity map: the CAV reshaped onto conv2's channels x positions
cav_map = results["corner"].view(12, 6, 6).abs().sum(0)
print("corner CAV spatial mass top-left vs rest",
      f"{cav_map[:2, :2].mean().item():.4f} {cav_map[2:, 2:].mean().item():.4f}")


# replace the bottleneck with a hook to ablate the corner concept direction
def ablate(module, inputs, output):
    flat = output.flatten(1)
    mu, sd = flat.mean(0), flat.std(0).clamp(min=1e-5)
    z = (flat - mu) / sd
    z = z - (z @ results["corner"])[:, None] * results["corner"]
    return (z * sd + mu).view_as(output)


hook.remove()
with torch.no_grad():
    before = model(X).softmax(1)[:200, 0]
    h2 = model.conv2.register_forward_hook(ablate)
    after = model(X).softmax(1)[:200, 0]
    h2.remove()
print("p(class h) with/without corner, before", f"{before[:100].mean().item():.4f}",
      f"{before[100:].mean().item():.4f}", "after ablation", f"{after[:100].mean().item():.4f}",
      f"{after[100:].mean().item():.4f}")


# linear CKA between layers (Kornblith et al. 2019)
def linear_cka(a, b):
    a = a - a.mean(0, keepdim=True)
    b = b - b.mean(0, keepdim=True)
    hsic = torch.linalg.matrix_norm(b.T @ a) ** 2
    return hsic / (torch.linalg.matrix_norm(a.T @ a) * torch.linalg.matrix_norm(b.T @ b))


feats = {}
hs = [m.register_forward_hook(lambda mod, i, o, n=n: feats.__setitem__(n, o.flatten(1)))
      for n, m in model.named_children()]
with torch.no_grad():
    model(X)
for h in hs:
    h.remove()
names = ["conv1", "conv2", "fc"]
cka = torch.tensor([[linear_cka(feats[a].double(), feats[b].double()).item() for b in names]
                    for a in names])
print("CKA\n", cka.round(decimals=3))
print("hooks left", len(model.conv2._forward_hooks))
