"""A hypernetwork that generates the weights of a target MLP for many conditioning codes at
once, in the style of HyperNetwork repositories that moved to ``torch.func`` (continual
learning with task-conditioned hypernetworks, implicit neural representations with
hypernetwork-generated SIRENs).

The hypernetwork's flat output is split into the target's named parameters with
``torch.split`` and ``unflatten``; the target runs through ``torch.func.functional_call``
(``strict=True``, a ``(params, buffers)`` tuple, tied weights) and ``torch.vmap`` maps it over
several generated weight sets (``in_dims`` given as a dict, ``chunk_size``, ``out_dims``).
``torch.func.grad`` and ``jacrev`` take derivatives through the generated weights; a
task-conditioned output regularizer keeps earlier tasks' generated weights in place. Errors a
user meets (missing keys with ``strict=True``, a vmap over mismatched sizes) are caught and
printed. Weights come from ``torch.manual_seed``.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, jacrev, vmap

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)


def r(t, nd=4):
    return [round(v, nd) for v in t.flatten().tolist()]


class TargetMLP(nn.Module):
    """The network whose weights are generated: 1 -> 8 -> 8 -> 1 with sine activations."""

    def __init__(self, hidden=8, w0=3.0):
        super().__init__()
        self.l1 = nn.Linear(1, hidden)
        self.l2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)
        self.register_buffer("w0", torch.tensor(w0))
        self.register_buffer("calls", torch.zeros((), dtype=torch.long), persistent=False)

    def forward(self, x):
        x = torch.sin(self.w0 * self.l1(x))
        x = torch.sin(self.l2(x))
        return self.out(x)


target = TargetMLP().to("meta")  # only the shapes are needed; weights come from outside
shapes = {n: p.shape for n, p in target.named_parameters()}
sizes = [math.prod(s) for s in shapes.values()]
print("target params", {n: tuple(s) for n, s in shapes.items()})
print("buffers", list(dict(target.named_buffers()).keys()), "state_dict",
      list(target.state_dict().keys()))
print("total generated", sum(sizes), "device", next(target.parameters()).device)


class HyperNetwork(nn.Module):
    def __init__(self, num_tasks, emb_dim=4, hidden=32):
        super().__init__()
        self.task_emb = nn.Embedding(num_tasks, emb_dim)
        nn.init.normal_(self.task_emb.weight, std=1.0)
        self.body = nn.Sequential(nn.Linear(emb_dim, hidden), nn.ELU(),
                                  nn.Linear(hidden, sum(sizes)))
        with torch.no_grad():  # start from a small output, as hyperfan-style inits do
            self.body[-1].weight.mul_(0.3)

    def forward(self, task_ids):
        flat = self.body(self.task_emb(task_ids))
        chunks = torch.split(flat, sizes, dim=-1)
        return {name: chunk.unflatten(-1, shape)
                for (name, shape), chunk in zip(shapes.items(), chunks)}


num_tasks = 3
hnet = HyperNetwork(num_tasks)
params = hnet(torch.arange(num_tasks))
print({n: tuple(p.shape) for n, p in params.items()})
print("grad_fn", type(params["l1.weight"].grad_fn).__name__)
# the older spelling: slice the flat output and reshape each piece
flat = hnet.body(hnet.task_emb(torch.tensor([0, 1])))
print(flat[:, :8].reshape(2, 8, 1))

real_target = TargetMLP()
buffers = {n: b for n, b in real_target.named_buffers()}
x = torch.linspace(-1, 1, 16).unsqueeze(-1)


def run_target(p, xs):
    return functional_call(real_target, (p, buffers), (xs,), strict=True)


# one generated weight set
single = {n: p[0] for n, p in params.items()}
y0 = run_target(single, x)
print("single output", tuple(y0.shape), r(y0[:4]))

# all tasks at once: map over dim 0 of every weight, share the inputs
ys = vmap(run_target, in_dims=({n: 0 for n in params}, None))(params, x)
print("vmapped", tuple(ys.shape), "task 0 matches single:", torch.allclose(ys[0], y0, atol=1e-6))
ys_chunked = vmap(run_target, in_dims=(0, None), chunk_size=2)(params, x)
print("chunked equal", torch.allclose(ys, ys_chunked))
ys_T = vmap(run_target, in_dims=(0, None), out_dims=1)(params, x)
print("out_dims=1", tuple(ys_T.shape))
print(vmap(run_target, in_dims=(0, None))(params, x[:2]))

# per-task regression targets: three sine waves
freqs = torch.tensor([1.0, 2.0, 3.0])
phase = torch.tensor([0.0, 0.5, 1.0])
targets = torch.sin(freqs[:, None, None] * math.pi * x + phase[:, None, None])

opt = torch.optim.Adam(hnet.parameters(), lr=5e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40, eta_min=1e-4)
for step in range(40):
    opt.zero_grad()
    params = hnet(torch.arange(num_tasks))
    preds = vmap(run_target, in_dims=(0, None))(params, x)
    per_task = F.mse_loss(preds, targets, reduction="none").mean((1, 2))
    loss = per_task.sum()
    loss.backward()
    opt.step()
    sched.step()
    if step % 10 == 9:
        print(f"step {step} per-task {r(per_task, 3)} lr {sched.get_last_lr()[0]:.5f}")

print("== continual learning: add task 3 with an output regularizer ==")
with torch.no_grad():
    old_weights = {n: p.detach().clone() for n, p in hnet(torch.arange(num_tasks)).items()}
new_hnet = HyperNetwork(num_tasks + 1)
with torch.no_grad():
    new_hnet.task_emb.weight[:num_tasks] = hnet.task_emb.weight
missing = new_hnet.load_state_dict(
    {k: v for k, v in hnet.state_dict().items() if not k.startswith("task_emb")}, strict=False)
print("missing", missing.missing_keys, "unexpected", missing.unexpected_keys)
new_target = torch.sin(4.0 * math.pi * x)
opt = torch.optim.Adam(new_hnet.parameters(), lr=5e-3)
beta = 0.05
for step in range(30):
    opt.zero_grad()
    gen = new_hnet(torch.arange(num_tasks + 1))
    new_w = {n: p[num_tasks] for n, p in gen.items()}
    task_loss = F.mse_loss(run_target(new_w, x), new_target)
    reg = sum((gen[n][:num_tasks] - old_weights[n]).pow(2).sum() for n in gen)
    (task_loss + beta * reg).backward()
    opt.step()
    if step % 10 == 9:
        print(f"step {step} task {task_loss.item():.4f} reg {reg.item():.5f}")
with torch.no_grad():
    gen = new_hnet(torch.arange(num_tasks + 1))
    old_preds = vmap(run_target, in_dims=(0, None))(
        {n: p[:num_tasks] for n, p in gen.items()}, x)
    print("old tasks mse", r(F.mse_loss(old_preds, targets, reduction="none").mean((1, 2)), 3))

print("== derivatives through generated weights ==")
emb = new_hnet.task_emb.weight[1].detach()


def output_at_zero(e):
    flat = new_hnet.body(e)
    w = {n: c.unflatten(-1, s)
         for (n, s), c in zip(shapes.items(), torch.split(flat, sizes, dim=-1))}
    return run_target(w, torch.zeros(1, 1)).squeeze()


g = grad(output_at_zero)(emb)
print("d out / d embedding", g.detach())
J = jacrev(lambda e: new_hnet.body(e)[:5])(emb)
print("jacobian", tuple(J.shape), f"frobenius {J.norm().item():.4f}")
# a per-task input gradient of the target (e.g. for a SIREN-style gradient loss)
dy_dx = vmap(grad(lambda xi, p: run_target(p, xi.view(1, 1)).squeeze()), in_dims=(0, None))
slopes = dy_dx(x.squeeze(-1), {n: p[0].detach() for n, p in gen.items()})
print("slopes", tuple(slopes.shape), r(slopes[:4], 3))

print("== tied weights and errors ==")


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(3, 3, bias=False)
        self.dec = nn.Linear(3, 3, bias=False)
        self.dec.weight = self.enc.weight

    def forward(self, v):
        return self.dec(self.enc(v))


tied = Tied()
print([n for n, _ in tied.named_parameters()],
      [n for n, _ in tied.named_parameters(remove_duplicate=False)])
v = torch.ones(1, 3)
out_tied = functional_call(tied, {"enc.weight": torch.eye(3) * 2}, (v,))
out_untied = functional_call(tied, {"enc.weight": torch.eye(3) * 2}, (v,), tie_weights=False)
print("tied", out_tied, "untied", r(out_untied, 4) == r(tied.dec(v * 2), 4))
try:
    functional_call(real_target, {"l1.weight": torch.zeros(8, 1)}, (x,), strict=True)
except RuntimeError as e:
    print("RuntimeError:", str(e).split("\n")[0][:60])
try:
    vmap(run_target, in_dims=(0, 0))(params, torch.zeros(5, 16, 1))
except ValueError as e:
    print("ValueError:", str(e)[:60])
print("calls buffer untouched", real_target.calls.item(), real_target.l1.weight.requires_grad)
