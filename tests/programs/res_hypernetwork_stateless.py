"""A hypernetwork that writes a target network's weights, in the style of research repositories
on HyperNetworks (Ha et al.) and on hypernetwork meta-learning for families of 1-D regression
tasks: a task embedding goes through an MLP whose output is cut into the target MLP's weight
and bias tensors, and the target net runs on them with ``torch.func.functional_call`` (and its
older spelling ``torch.nn.utils.stateless.functional_call``). Also: a chunked hypernetwork that
emits the weights in fixed-size chunks from learned chunk embeddings, ``vmap`` with ``in_dims``
over a batch of tasks (``torch.func.stack_module_state`` for an ensemble of target nets),
``torch.baddbmm`` for per-task linear layers, ``parameters_to_vector``/``vector_to_parameters``
and ``torch.func.grad_and_value``. Everything is drawn from ``torch.manual_seed``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad_and_value, stack_module_state, vmap
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.nn.utils.stateless import functional_call as stateless_call

torch.manual_seed(0)


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


class Target(nn.Module):
    """The target network: a small MLP whose weights come from outside."""

    def __init__(self, hidden=16):
        super().__init__()
        self.fc1 = nn.Linear(1, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.fc2(torch.tanh(self.fc1(x)))))


target = Target()
shapes = {name: p.shape for name, p in target.named_parameters()}
sizes = {name: p.numel() for name, p in target.named_parameters()}
n_target = sum(sizes.values())
print("target params", n_target, {k: tuple(v) for k, v in shapes.items()})


class HyperNet(nn.Module):
    """Maps a task embedding to every target parameter (one flat vector, split by name)."""

    def __init__(self, z_dim=8, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_target))
        # keep the emitted weights at a Kaiming-like scale from the start
        with torch.no_grad():
            self.body[2].weight.mul_(0.1)

    def forward(self, z):
        flat = self.body(z)
        chunks = torch.split(flat, list(sizes.values()), dim=-1)
        return {name: c.reshape(*z.shape[:-1], *shapes[name])
                for name, c in zip(sizes, chunks)}


def make_tasks(n_tasks, n_points):
    """Sine tasks with random amplitude and phase (the MAML/hypernet toy family)."""
    amp = torch.empty(n_tasks, 1, 1).uniform_(0.5, 2.0)
    phase = torch.empty(n_tasks, 1, 1).uniform_(0.0, math.pi)
    x = torch.empty(n_tasks, n_points, 1).uniform_(-3.0, 3.0)
    return x, amp * torch.sin(x + phase), torch.cat([amp, phase], -1).squeeze(1)


z_dim = 8
task_encoder = nn.Linear(2, z_dim)
hyper = HyperNet(z_dim)
opt = torch.optim.Adam(list(hyper.parameters()) + list(task_encoder.parameters()), lr=3e-3)

# one task with functional_call, checked against loading the weights into the module
x, y, meta = make_tasks(1, 20)
params = hyper(task_encoder(meta[0]))
pred = functional_call(target, params, (x[0],))
with torch.no_grad():
    copy = Target()
    copy.load_state_dict({k: v.detach() for k, v in params.items()})
    print("functional_call == load_state_dict:", torch.allclose(copy(x[0]), pred, atol=1e-6))
old = stateless_call(target, params, (x[0],))
print("stateless spelling agrees:", torch.equal(old, pred))
print("module's own weights untouched:", not torch.equal(target.fc1.weight, params["fc1.weight"]))

# a batch of tasks: vmap the target over per-task weights (in_dims=(0, 0)) and shared x
def run_target(p, xs):
    return functional_call(target, p, (xs,))


for step in range(60):
    x, y, meta = make_tasks(8, 16)
    z = task_encoder(meta)
    batch_params = hyper(z)
    pred = vmap(run_target, in_dims=(0, 0))(batch_params, x)
    loss = F.mse_loss(pred, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 15 == 0 or step == 59:
        print(f"step {step:2d} loss {loss.item():.4f}")

# in_dims=None for an argument shared by every task (one evaluation grid for all)
grid = torch.linspace(-3, 3, 7).unsqueeze(1)
with torch.no_grad():
    x, y, meta = make_tasks(3, 7)
    bp = hyper(task_encoder(meta))
    grid_pred = vmap(run_target, in_dims=(0, None))(bp, grid)
    print("grid pred", grid_pred.shape, r(grid_pred[:, :3], 3))
    chunked = vmap(run_target, in_dims=(0, None), chunk_size=2)(bp, grid)
    print("chunk_size=2 same:", torch.allclose(chunked, grid_pred, atol=1e-6))


class ChunkedHyperNet(nn.Module):
    """Emits the flat weight vector in chunks of ``chunk`` from learned chunk embeddings,
    so the generator's output layer stays small however large the target is."""

    def __init__(self, z_dim=8, emb_dim=4, chunk=64, hidden=32):
        super().__init__()
        self.n_chunks = math.ceil(n_target / chunk)
        self.chunk_emb = nn.Parameter(torch.randn(self.n_chunks, emb_dim) * 0.5)
        self.gen = nn.Sequential(nn.Linear(z_dim + emb_dim, hidden), nn.ELU(),
                                 nn.Linear(hidden, chunk))

    def forward(self, z):
        zz = z.unsqueeze(-2).expand(*z.shape[:-1], self.n_chunks, z.shape[-1])
        emb = self.chunk_emb.expand(*z.shape[:-1], -1, -1)
        flat = self.gen(torch.cat([zz, emb], -1)).flatten(-2)[..., :n_target] * 0.3
        return flat


chunk_hyper = ChunkedHyperNet()
flat = chunk_hyper(torch.randn(z_dim))
print("chunks", chunk_hyper.n_chunks, "flat", tuple(flat.shape))
# vector_to_parameters writes a flat vector into a module's parameters (in place, no grad)
holder = Target()
vector_to_parameters(flat.detach(), holder.parameters())
back = parameters_to_vector(holder.parameters())
print("vector round trip:", torch.equal(back, flat.detach()), r(back[:4]))

# grad_and_value over the hypernetwork's own parameters, through the target's functional call
hparams = {k: v.detach() for k, v in chunk_hyper.named_parameters()}
x, y, meta = make_tasks(1, 16)
zt = torch.randn(z_dim)


def task_loss(hp, z, xs, ys):
    flat_w = functional_call(chunk_hyper, hp, (z,))
    pieces = torch.split(flat_w, list(sizes.values()))
    tp = {n: c.view(shapes[n]) for n, c in zip(sizes, pieces)}
    return F.mse_loss(functional_call(target, tp, (xs,)), ys)


g, val = grad_and_value(task_loss)(hparams, zt, x[0], y[0])
print("grad_and_value loss", round(val.item(), 4),
      {k: round(v.norm().item(), 4) for k, v in g.items()})
# the same gradient from autograd on the module itself
chunk_hyper.zero_grad()
task_loss(dict(chunk_hyper.named_parameters()), zt, x[0], y[0]).backward()
print("matches .backward():", all(torch.allclose(g[k], p.grad, atol=1e-6)
                                  for k, p in chunk_hyper.named_parameters()))

# an ensemble of target nets: stack_module_state + vmap over the stacked parameters
members = [Target() for _ in range(4)]
stacked, buffers = stack_module_state(members)
print("stacked", {k: tuple(v.shape) for k, v in stacked.items()})
print("stacked leaves require grad:", all(v.requires_grad and v.is_leaf for v in stacked.values()))
grid = torch.linspace(-1, 1, 5).unsqueeze(1)


def member_out(p, b, xs):
    return functional_call(target, (p, b), (xs,))


ens = vmap(member_out, in_dims=(0, 0, None))(stacked, buffers, grid)
loop = torch.stack([m(grid) for m in members])
print("ensemble out", tuple(ens.shape), "matches loop:", torch.allclose(ens, loop, atol=1e-6))
print("ensemble mean", r(ens.mean(0), 4))

# per-task linear layers in one call: baddbmm(bias, x, W^T) with per-task weights
tasks_w = hyper(task_encoder(meta.expand(5, -1) + torch.randn(5, 2) * 0.1))
w1, b1 = tasks_w["fc1.weight"], tasks_w["fc1.bias"]
xs = torch.randn(5, 6, 1)
h = torch.baddbmm(b1.unsqueeze(1), xs, w1.transpose(1, 2))
ref = torch.stack([F.linear(xs[i], w1[i], b1[i]) for i in range(5)])
print("baddbmm per-task linear:", tuple(h.shape), torch.allclose(h, ref, atol=1e-6))
h2 = torch.baddbmm(b1.unsqueeze(1), xs, w1.transpose(1, 2), beta=0.5, alpha=2.0)
print("baddbmm beta/alpha:", torch.allclose(h2, 0.5 * b1.unsqueeze(1) + 2 * (xs @ w1.mT),
                                             atol=1e-5))
h.sum().backward()
print("grad reached hypernet:", round(hyper.body[2].weight.grad.abs().sum().item(), 1))
