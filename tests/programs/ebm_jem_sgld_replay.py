"""Joint energy-based model (JEM, Grathwohl et al. 2019, "Your classifier is secretly an energy
based model") on 2-D three-class data, in the style of the JEM and IGEBM PyTorch repositories:
the classifier's logits define ``E(x) = -logsumexp(f(x))``, samples come from stochastic
gradient Langevin dynamics (SGLD) started from a replay buffer (re-initialised with
probability 0.05), the energy gradient of a whole batch via ``torch.autograd.grad``, an R1
gradient penalty on the data computed with ``create_graph=True``, spectral normalisation on the
hidden layers, and ``torch.func.vmap(torch.func.grad(...))`` to check the per-sample energy
gradients. The replay buffer is updated in place with ``index_copy_`` and ``clamp_``."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

torch.manual_seed(0)
rng = np.random.default_rng(0)


def three_blobs(n):
    labels = rng.integers(0, 3, n)
    angles = 2 * math.pi * labels / 3 + 0.3
    centers = np.stack([np.cos(angles), np.sin(angles)], 1) * 1.5
    x = centers + 0.3 * rng.standard_normal((n, 2))
    return torch.tensor(x, dtype=torch.float32), torch.from_numpy(labels)


x_train, y_train = three_blobs(300)
x_test, y_test = three_blobs(150)
print("train", x_train.shape, "class counts", torch.bincount(y_train).tolist())


class JEM(nn.Module):
    def __init__(self, hidden=48, n_classes=3):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        self.body = nn.Sequential(sn(nn.Linear(2, hidden)), nn.SiLU(),
                                  sn(nn.Linear(hidden, hidden)), nn.SiLU())
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x):
        return self.head(self.body(x))

    def energy(self, x):
        return -torch.logsumexp(self(x), dim=-1)


class ReplayBuffer:
    def __init__(self, size=400, reinit=0.05):
        self.data = torch.empty(size, 2).uniform_(-3, 3)
        self.reinit = reinit

    def sample(self, n):
        idx = torch.randint(0, self.data.size(0), (n,))
        start = self.data[idx]
        fresh = torch.rand(n, 2) * 6 - 3
        choose_fresh = (torch.rand(n) < self.reinit).float().unsqueeze(1)
        return choose_fresh * fresh + (1 - choose_fresh) * start, idx

    def push(self, samples, idx):
        self.data.index_copy_(0, idx, samples.detach())
        self.data.clamp_(-3, 3)


def sgld(model, x, steps=15, step_size=0.1, noise=0.01):
    model.eval()
    x = x.clone().requires_grad_(True)
    for _ in range(steps):
        e = model.energy(x).sum()
        g, = torch.autograd.grad(e, x)
        x.data.add_(g, alpha=-step_size).add_(noise * torch.randn_like(x))
        x.data.clamp_(-3, 3)
    model.train()
    return x.detach()


model = JEM()
buffer = ReplayBuffer()
opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.0, 0.999))
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.99)
for step in range(60):
    idx = torch.randint(0, x_train.size(0), (64,))
    x, y = x_train[idx], y_train[idx]
    x_init, buf_idx = buffer.sample(64)
    x_fake = sgld(model, x_init)
    buffer.push(x_fake, buf_idx)

    x_real = x.clone().requires_grad_(True)
    logits = model(x_real)
    e_real = -logits.logsumexp(1)
    e_fake = model.energy(x_fake)
    g_real, = torch.autograd.grad(e_real.sum(), x_real, create_graph=True)
    r1 = g_real.pow(2).sum(1).mean()
    loss_gen = e_real.mean() - e_fake.mean()
    loss_clf = F.cross_entropy(logits, y)
    loss = loss_clf + loss_gen + 0.1 * r1 + 0.01 * (e_real ** 2 + e_fake ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    if step % 20 == 19:
        print("step {:2d} clf {:.3f} gen {:+.3f} r1 {:.4f} lr {:.5f}".format(
            step + 1, loss_clf.item(), loss_gen.item(), r1.item(), sched.get_last_lr()[0]))

model.eval()
with torch.no_grad():
    acc = (model(x_test).argmax(1) == y_test).float().mean()
    e_data, e_noise = model.energy(x_test).mean(), model.energy(torch.rand(150, 2) * 6 - 3).mean()
print("test acc {:.3f} energy data {:.3f} noise {:.3f}".format(acc.item(), e_data.item(),
                                                                e_noise.item()))

# calibration: p(y|x) from the same logits; confidence on data versus far away
probs = model(torch.tensor([[1.5, 0.4], [-8.0, 8.0]])).softmax(-1)
print("p(y|x)", probs.detach().round(decimals=3))

# logits over a small (H, W, 2) grid of points: nn.Linear maps the last dim of any rank
gx, gy = torch.meshgrid(torch.linspace(-2, 2, 3), torch.linspace(-2, 2, 2), indexing="xy")
grid_logits = model(torch.stack([gx, gy], dim=-1))
print("grid", tuple(grid_logits.shape))
torch.set_printoptions(precision=2)
print(grid_logits)
print(model(torch.zeros(2)))
torch.set_printoptions(profile="default")

# per-sample energy gradients with torch.func match one batched autograd.grad
params = {k: v.detach() for k, v in model.named_parameters()}
buffers = {k: v for k, v in model.named_buffers()}


def energy_one(x):
    return -torch.logsumexp(functional_call(model, (params, buffers), (x.unsqueeze(0),)), -1)[0]


xs = x_test[:5].clone().requires_grad_(True)
g_func = vmap(grad(energy_one))(xs.detach())
g_auto, = torch.autograd.grad(model.energy(xs).sum(), xs)
print("func vs autograd", torch.allclose(g_func, g_auto, atol=1e-6), g_func.shape)

# spectral norm keeps each hidden layer's largest singular value near 1
for name, layer in model.body.named_children():
    if isinstance(layer, nn.Linear):
        sigma = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
        print("layer", name, "sigma {:.3f}".format(sigma.item()),
              "parametrized", nn.utils.parametrize.is_parametrized(layer, "weight"))

# samples from a long SGLD chain started at noise land near the data
samples = sgld(model, torch.rand(200, 2) * 6 - 3, steps=100, step_size=0.05, noise=0.005)
dist = torch.cdist(samples, x_train).min(1).values
print("sample mean dist to data {:.3f} within 0.5: {}".format(dist.mean().item(),
                                                              (dist < 0.5).sum().item()))
pred = model(samples).argmax(1)
print("sample classes", torch.bincount(pred, minlength=3).tolist())
print("buffer", buffer.data.shape, "range [{:.2f}, {:.2f}]".format(buffer.data.min().item(),
                                                                   buffer.data.max().item()))
try:
    torch.autograd.grad(model.energy(x_test[:3]).sum(), x_test[:3])
except RuntimeError as err:
    print("grad error:", err)
