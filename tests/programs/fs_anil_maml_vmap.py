"""MAML, ANIL and Reptile on synthetic few-shot classification tasks, written with torch.func the
way functorch's MAML example and the ANIL paper's reference code do: the inner loop is
``torch.func.grad`` of a ``functional_call`` loss, a whole meta-batch of tasks is adapted at
once with ``vmap`` (``in_dims``/``randomness``), and the outer loss is differentiated through
the inner steps by ordinary ``.backward()``. ANIL adapts only the head on frozen body features;
Reptile adapts a ``copy.deepcopy`` of the model with ``torch.optim.SGD`` and moves the meta
weights toward the adapted ones (``parameters_to_vector``/``torch._foreach_*``). Also:
``grad_and_value(has_aux=True)``, ``F.cross_entropy(label_smoothing=...)``, ``CosineAnnealingLR``,
``torch.inference_mode`` and a check that the vmapped inner step equals a per-task loop."""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, grad_and_value, vmap
from torch.nn.utils import parameters_to_vector, vector_to_parameters

rng = np.random.default_rng(0)
torch.manual_seed(0)
n_way, k_shot, n_query, dim = 4, 2, 6, 10
meta_batch = 6


def sample_tasks(n_tasks):
    """Each task: n_way gaussian classes around random means, plus a shared nonlinearity."""
    means = rng.normal(0, 1.5, size=(n_tasks, n_way, 1, dim))
    xs = means + rng.normal(0, 1.0, size=(n_tasks, n_way, k_shot, dim))
    xq = means + rng.normal(0, 1.0, size=(n_tasks, n_way, n_query, dim))
    xs = np.tanh(xs).reshape(n_tasks, n_way * k_shot, dim).astype(np.float32)
    xq = np.tanh(xq).reshape(n_tasks, n_way * n_query, dim).astype(np.float32)
    ys = np.repeat(np.arange(n_way), k_shot)[None].repeat(n_tasks, 0)
    yq = np.repeat(np.arange(n_way), n_query)[None].repeat(n_tasks, 0)
    return (torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(xq), torch.from_numpy(yq))


class Net(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        # no affine LayerNorm: torch's vmap-over-grad second-order rule for an affine
        # layer_norm is off (pytorch/functorch#534), the per-task loop and finite differences
        # agree with each other but not with it
        self.body = nn.Sequential(nn.Linear(dim, hidden),
                                  nn.LayerNorm(hidden, elementwise_affine=False), nn.GELU(),
                                  nn.Linear(hidden, hidden), nn.SiLU())
        self.head = nn.Linear(hidden, n_way)

    def forward(self, x):
        return self.head(self.body(x))


def init_like(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) * math.sqrt(1.0 / p.shape[1]))
            else:
                p.zero_()
    return net


train_tasks = [sample_tasks(meta_batch) for _ in range(12)]
test_tasks = sample_tasks(20)
print("task tensors", [tuple(t.shape) for t in train_tasks[0]], train_tasks[0][1].dtype)

inner_lr, inner_steps = 0.4, 2


# ---------------------------------------------------------------- MAML over the whole net
def make_maml(net):
    def inner_loss(params, x, y):
        return F.cross_entropy(functional_call(net, params, (x,)), y)

    def adapt_and_eval(params, xs, ys, xq, yq):
        fast = params
        for _ in range(inner_steps):
            g = grad(inner_loss)(fast, xs, ys)
            fast = {k: fast[k] - inner_lr * g[k] for k in fast}
        logits = functional_call(net, fast, (xq,))
        loss = F.cross_entropy(logits, yq, label_smoothing=0.05)
        return loss, (logits.argmax(-1) == yq).float().mean()

    return inner_loss, vmap(adapt_and_eval, in_dims=(None, 0, 0, 0, 0))


net = init_like(Net(), 1)
inner_loss, batched = make_maml(net)
params = dict(net.named_parameters())
opt = torch.optim.Adam(net.parameters(), lr=3e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=len(train_tasks), eta_min=3e-4)
print("maml params", {k: tuple(v.shape) for k, v in params.items()})

# vmapped adaptation equals a per-task loop (forward and meta-gradient)
xs, ys, xq, yq = train_tasks[0]
loss_v, acc_v = batched(params, xs, ys, xq, yq)
loop = []
for t in range(meta_batch):
    fast = params
    for _ in range(inner_steps):
        gr = torch.autograd.grad(inner_loss(fast, xs[t], ys[t]), list(fast.values()),
                                 create_graph=True)
        fast = {k: v - inner_lr * gg for (k, v), gg in zip(fast.items(), gr)}
    loop.append(F.cross_entropy(functional_call(net, fast, (xq[t],)), yq[t], label_smoothing=0.05))
loop = torch.stack(loop)
g_v = torch.autograd.grad(loss_v.mean(), list(params.values()))
g_l = torch.autograd.grad(loop.mean(), list(params.values()))
print("vmap == loop: losses", torch.allclose(loss_v, loop, atol=1e-5),
      "meta-grads", all(torch.allclose(a, b, atol=1e-5) for a, b in zip(g_v, g_l)))
print("per-task query losses", [f"{v:.4f}" for v in loss_v.tolist()])

for it, (xs, ys, xq, yq) in enumerate(train_tasks):
    losses, accs = batched(params, xs, ys, xq, yq)
    meta_loss = losses.mean()
    opt.zero_grad()
    meta_loss.backward()
    gnorm = torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
    opt.step()
    sched.step()
    if it % 6 == 0 or it == len(train_tasks) - 1:
        print(f"maml it {it:2d} query loss {meta_loss.item():.4f} acc {accs.mean().item():.4f} "
              f"grad norm {gnorm.item():.4f} lr {sched.get_last_lr()[0]:.5f}")

maml_net = net


# ---------------------------------------------------------------- ANIL: adapt the head only
net = init_like(Net(), 1)
head_params = dict(net.head.named_parameters())


def head_loss(hp, feats, y):
    logits = functional_call(net.head, hp, (feats,))
    return F.cross_entropy(logits, y), logits


def anil_task(hp, fs, ys, fq, yq):
    fast = hp
    for _ in range(inner_steps + 1):
        g, (loss, logits) = grad_and_value(head_loss, has_aux=True)(fast, fs, ys)
        fast = {k: fast[k] - inner_lr * g[k] for k in fast}
    q_logits = functional_call(net.head, fast, (fq,))
    return F.cross_entropy(q_logits, yq), (q_logits.argmax(-1) == yq).float().mean(), loss


anil_batched = vmap(anil_task, in_dims=(None, 0, 0, 0, 0))
opt = torch.optim.Adam(net.parameters(), lr=3e-3)
for it, (xs, ys, xq, yq) in enumerate(train_tasks):
    fs, fq = net.body(xs), net.body(xq)  # the body runs batched over tasks, outside vmap
    q_loss, q_acc, last_inner = anil_batched(head_params, fs, ys, fq, yq)
    opt.zero_grad()
    q_loss.mean().backward()
    opt.step()
    if it % 6 == 0 or it == len(train_tasks) - 1:
        print(f"anil it {it:2d} query loss {q_loss.mean().item():.4f} "
              f"acc {q_acc.mean().item():.4f} inner loss {last_inner.mean().item():.4f}")
print("body grads flowed", all(p.grad is not None for p in net.body.parameters()))
anil_net = net


# ---------------------------------------------------------------- Reptile
net = init_like(Net(), 1)
meta_lr, reptile_steps = 0.5, 5
for it, (xs, ys, xq, yq) in enumerate(train_tasks):
    before = parameters_to_vector(net.parameters()).detach()
    deltas = torch.zeros_like(before)
    for t in range(meta_batch):
        learner = copy.deepcopy(net)
        inner_opt = torch.optim.SGD(learner.parameters(), lr=0.1)
        x = torch.cat([xs[t], xq[t]])
        y = torch.cat([ys[t], yq[t]])
        for step in range(reptile_steps):
            idx = torch.randperm(len(y))[:8]
            loss = F.cross_entropy(learner(x[idx]), y[idx])
            inner_opt.zero_grad()
            loss.backward()
            inner_opt.step()
        deltas += parameters_to_vector(learner.parameters()).detach() - before
    with torch.no_grad():
        vector_to_parameters(before + meta_lr * deltas / meta_batch, net.parameters())
    if it % 6 == 0 or it == len(train_tasks) - 1:
        print(f"reptile it {it:2d} last inner loss {loss.item():.4f} "
              f"meta step norm {(meta_lr * deltas / meta_batch).norm().item():.4f}")

# the same Reptile update with torch._foreach ops on parameter lists
probe = init_like(Net(), 1)
adapted = copy.deepcopy(probe)
with torch.no_grad():
    for p in adapted.parameters():
        p.add_(0.01 * torch.ones_like(p))
    params_list = list(probe.parameters())
    diff = torch._foreach_sub([p.detach() for p in adapted.parameters()], params_list)
    torch._foreach_add_(params_list, diff, alpha=meta_lr)
print("foreach reptile step", f"{parameters_to_vector(probe.parameters()).sum().item():.4f}")
reptile_net = net


# ---------------------------------------------------------------- evaluation on new tasks
def finetune_eval(model, steps):
    xs, ys, xq, yq = test_tasks
    correct = 0
    for t in range(len(xs)):
        fast = {k: v.detach().requires_grad_() for k, v in model.named_parameters()}
        for _ in range(steps):
            loss = F.cross_entropy(functional_call(model, fast, (xs[t],)), ys[t])
            g = torch.autograd.grad(loss, list(fast.values()))
            fast = {k: (v - inner_lr * gg).detach().requires_grad_()
                    for (k, v), gg in zip(fast.items(), g)}
        with torch.inference_mode():
            correct += (functional_call(model, fast, (xq[t],)).argmax(-1) == yq[t]).sum()
    return correct.item()


scratch = init_like(Net(), 1)
for name, model in (("maml", maml_net), ("anil", anil_net), ("reptile", reptile_net),
                    ("scratch", scratch)):
    print(f"{name:8s} correct of {test_tasks[3].numel()} after 0/1/3 steps:",
          " ".join(str(finetune_eval(model, s)) for s in (0, 1, 3)))

# ---------------------------------------------------------------- BatchNorm under vmap
# functorch's MAML-omniglot recipe: BatchNorm that tracks running statistics cannot be vmapped
# over tasks (the shared running buffers would be updated in place by every task)
bn_net = nn.Sequential(nn.Linear(dim, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, n_way))
bn_params = dict(bn_net.named_parameters())


def bn_task_loss(p, x, y):
    return F.cross_entropy(functional_call(bn_net, p, (x,)), y)


xs, ys, xq, yq = test_tasks
try:
    vmap(bn_task_loss, in_dims=(None, 0, 0))(bn_params, xs, ys)
except RuntimeError as e:
    print("vmap with running stats:", str(e).splitlines()[0])
torch.func.replace_all_batch_norm_modules_(bn_net)
print("after replace_all_batch_norm_modules_:", bn_net[1].running_mean,
      bn_net[1].track_running_stats)
per_task = vmap(bn_task_loss, in_dims=(None, 0, 0))(bn_params, xs, ys)
print("per-task losses with batch statistics", [f"{v:.3f}" for v in per_task[:5].tolist()])
