"""Meta-SGD (Li et al.: a learned learning rate for every parameter, kept in an
``nn.ParameterDict``) and a learned loss in the style of ML3 (Bechtle et al.: a small network
that maps predictions and targets to a loss, meta-trained so that plain SGD on it lowers the true
loss on held-out points), on few-shot regression tasks drawn from ``torch.distributions``
(``Uniform``, ``Normal``, ``MixtureSameFamily`` noise with ``rsample``/``log_prob``). The inner
loop runs with ``torch.autograd.grad(create_graph=True)`` over ``functional_call`` with
parameters and buffers; the outer loop uses ``Adam`` param groups (weights vs. learning rates),
``LambdaLR`` warm-up chained with ``ReduceLROnPlateau``, gradient hooks on the learned rates,
``torch.func.hessian``/``jvp`` for a curvature check, and a ``state_dict`` round trip of the
meta-learner and its optimizer through ``torch.save``/``torch.load``."""
import copy
import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, MixtureSameFamily, Normal, Uniform
from torch.func import functional_call, grad, hessian, jvp, vjp

torch.manual_seed(0)


class TaskFamily:
    """y = a * sin(w x + p) + b x, observed with heavy-tailed mixture noise."""

    def __init__(self):
        self.amp = Uniform(torch.tensor(0.5), torch.tensor(2.0))
        self.freq = Uniform(torch.tensor(0.8), torch.tensor(1.5))
        self.phase = Uniform(torch.tensor(0.0), torch.tensor(math.pi))
        self.slope = Normal(torch.tensor(0.0), torch.tensor(0.3))
        self.x = Uniform(torch.tensor(-4.0), torch.tensor(4.0))
        self.noise = MixtureSameFamily(Categorical(torch.tensor([0.9, 0.1])),
                                       Normal(torch.tensor([0.0, 0.0]), torch.tensor([0.05, 0.5])))

    def sample(self, n_tasks, n_points):
        shape = (n_tasks, 1, 1)
        a, w, p, b = (d.sample(shape) for d in (self.amp, self.freq, self.phase, self.slope))
        x = self.x.sample((n_tasks, n_points, 1))
        y = a * torch.sin(w * x + p) + b * x + self.noise.sample((n_tasks, n_points, 1))
        return x, y


family = TaskFamily()
xs_demo, ys_demo = family.sample(2, 3)
print("noise log_prob",
      [f"{v:.4f}" for v in family.noise.log_prob(torch.tensor([0.0, 0.3, 1.0])).tolist()])
print("noise mean/var", f"{family.noise.mean.item():.4f}", f"{family.noise.variance.item():.4f}")
print("demo task", [f"{v:.4f}" for v in ys_demo.flatten().tolist()])


class Regressor(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.fc1 = nn.Linear(1, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)
        self.register_buffer("x_scale", torch.tensor(0.25))

    def forward(self, x):
        h = torch.tanh(self.fc1(x * self.x_scale))
        return self.out(torch.tanh(self.fc2(h)))


class MetaSGD(nn.Module):
    def __init__(self, model, init_lr=0.05):
        super().__init__()
        self.model = model
        # ParameterDict keys cannot hold dots: fc1.weight -> fc1_weight
        self.lrs = nn.ParameterDict({name.replace(".", "_"):
                                     nn.Parameter(torch.full_like(p, init_lr))
                                     for name, p in model.named_parameters()})

    def adapt(self, x, y, steps=1, loss_fn=F.mse_loss, create_graph=True):
        params = dict(self.model.named_parameters())
        buffers = dict(self.model.named_buffers())
        for _ in range(steps):
            pred = functional_call(self.model, (params, buffers), (x,))
            loss = loss_fn(pred, y)
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
            params = {name: p - self.lrs[name.replace(".", "_")] * g
                      for (name, p), g in zip(params.items(), grads)}
        return params, buffers

    def predict(self, fast, x):
        return functional_call(self.model, fast, (x,))


torch.manual_seed(1)
learner = MetaSGD(Regressor())
print("lr tensors", {k: tuple(v.shape) for k, v in learner.lrs.items()})
print("buffers", [n for n, _ in learner.named_buffers()])
lr_grad_norms = []
learner.lrs["out_bias"].register_hook(lambda g: lr_grad_norms.append(g.norm().item()))

opt = torch.optim.Adam([{"params": learner.model.parameters(), "lr": 2e-3},
                        {"params": learner.lrs.parameters(), "lr": 5e-4}])
warmup = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / 10))
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2)

k_shot, k_query, meta_batch = 5, 15, 4
history = []
for it in range(60):
    x, y = family.sample(meta_batch, k_shot + k_query)
    meta_loss = 0.0
    for t in range(meta_batch):
        fast = learner.adapt(x[t, :k_shot], y[t, :k_shot])
        meta_loss = meta_loss + F.mse_loss(learner.predict(fast, x[t, k_shot:]), y[t, k_shot:])
    meta_loss = meta_loss / meta_batch
    opt.zero_grad()
    meta_loss.backward()
    opt.step()
    warmup.step()
    history.append(meta_loss.item())
    if it % 10 == 9:
        window = sum(history[-10:]) / 10
        plateau.step(window)
        print(f"meta-sgd it {it:2d} query mse {window:.4f} "
              f"lrs {[round(g['lr'], 6) for g in opt.param_groups]} "
              f"mean alpha "
              f"{torch.cat([p.flatten() for p in learner.lrs.values()]).mean().item():.4f}")
print("hooked lr grads", len(lr_grad_norms), f"{lr_grad_norms[-1]:.5f}")
print("alpha per tensor", {k: f"{v.mean().item():.4f}" for k, v in learner.lrs.items()})
print("negative alphas", sum(int((v < 0).sum()) for v in learner.lrs.values()))


# ---------------------------------------------------------------- learned loss (ML3)
class LearnedLoss(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.ELU(), nn.Linear(hidden, 1),
                                 nn.Softplus())

    def forward(self, pred, target):
        return self.net(torch.cat([pred - target, (pred - target).abs()], -1)).mean()


torch.manual_seed(2)
loss_net = LearnedLoss()
base = Regressor()
fixed_lr = MetaSGD(base, init_lr=0.1)
for p in fixed_lr.lrs.parameters():
    p.requires_grad_(False)
ml3_opt = torch.optim.Adam(loss_net.parameters(), lr=5e-3)
for it in range(30):
    x, y = family.sample(meta_batch, k_shot + k_query)
    total = 0.0
    for t in range(meta_batch):
        fast = fixed_lr.adapt(x[t, :k_shot], y[t, :k_shot], steps=2, loss_fn=loss_net)
        total = total + F.mse_loss(fixed_lr.predict(fast, x[t, k_shot:]), y[t, k_shot:])
    total = total / meta_batch
    ml3_opt.zero_grad()
    total.backward()
    ml3_opt.step()
    if it % 10 == 9:
        print(f"ml3 it {it:2d} post-adaptation mse {total.item():.4f}")
print("meta-gradients also reached the base model",
      all(p.grad is not None for p in base.parameters()))
residuals = torch.linspace(-2, 2, 5).unsqueeze(1)
with torch.no_grad():
    shape = [f"{loss_net(r.view(1, 1), torch.zeros(1, 1)).item():.4f}" for r in residuals]
print("learned loss at residuals -2..2", shape)

# ---------------------------------------------------------------- evaluation on new tasks
torch.manual_seed(3)
x, y = family.sample(10, k_shot + 40)


@torch.inference_mode()
def post_adapt_mse(meta, steps, loss_fn=F.mse_loss):
    errs = []
    for t in range(len(x)):
        with torch.inference_mode(False):  # test-time adaptation needs gradients again
            fast = meta.adapt(x[t, :k_shot], y[t, :k_shot], steps=steps, loss_fn=loss_fn,
                              create_graph=False)
        errs.append(F.mse_loss(meta.predict(fast, x[t, k_shot:]), y[t, k_shot:]))
    return torch.stack(errs).mean().item()


plain = MetaSGD(copy.deepcopy(learner.model), init_lr=0.05)
print("meta-sgd     mse after 1 step", f"{post_adapt_mse(learner, 1):.4f}")
print("fixed lr     mse after 1 step", f"{post_adapt_mse(plain, 1):.4f}")
print("learned loss mse after 2 steps", f"{post_adapt_mse(fixed_lr, 2, loss_net):.4f}",
      "mse loss", f"{post_adapt_mse(fixed_lr, 2):.4f}")

# ---------------------------------------------------------------- curvature of the inner loss
small = Regressor(hidden=4)
names = [n for n, _ in small.named_parameters()]
flat0 = torch.cat([p.detach().flatten() for p in small.parameters()])
shapes = [p.shape for p in small.parameters()]


def inner_loss_flat(flat):
    chunks = torch.split(flat, [s.numel() for s in shapes])
    params = {n: c.view(s) for n, c, s in zip(names, chunks, shapes)}
    return F.mse_loss(functional_call(small, params, (x[0, :k_shot],)), y[0, :k_shot])


H = hessian(inner_loss_flat)(flat0)
v = torch.ones_like(flat0) / flat0.numel() ** 0.5
g0, vjp_fn = vjp(grad(inner_loss_flat), flat0)
(hv,) = vjp_fn(v)  # reverse-over-reverse Hessian-vector product
loss0, dir_deriv = jvp(inner_loss_flat, (flat0,), (v,))
eig = torch.linalg.eigvalsh(H)
print("hessian", tuple(H.shape), "symmetric", torch.allclose(H, H.T, atol=1e-5),
      "hvp agrees", torch.allclose(H @ v, hv, atol=1e-5),
      "jvp agrees", torch.allclose(dir_deriv, g0 @ v, atol=1e-6), f"loss {loss0.item():.4f}")
print("top eigenvalues", [f"{e:.4f}" for e in eig[-3:].tolist()],
      "stable step size", f"{2 / eig[-1].item():.4f}")

# ---------------------------------------------------------------- checkpoint round trip
buf = io.BytesIO()
torch.save({"meta": learner.state_dict(), "opt": opt.state_dict(), "plateau": plateau.state_dict(),
            "loss_net": loss_net.state_dict()}, buf)
buf.seek(0)
ckpt = torch.load(buf, weights_only=True)
print("meta keys", list(ckpt["meta"].keys()))
print("opt groups", [(len(g["params"]), g["lr"]) for g in ckpt["opt"]["param_groups"]],
      "plateau best", f"{ckpt['plateau']['best']:.4f}",
      "bad epochs", ckpt["plateau"]["num_bad_epochs"])
clone = MetaSGD(Regressor(), init_lr=0.0)
clone.load_state_dict(ckpt["meta"])
clone_opt = torch.optim.Adam([{"params": clone.model.parameters()},
                              {"params": clone.lrs.parameters()}])
clone_opt.load_state_dict(ckpt["opt"])
print("restored mse after 1 step", f"{post_adapt_mse(clone, 1):.4f}",
      "adam step count", int(clone_opt.state[clone.lrs["out_bias"]]["step"]))
