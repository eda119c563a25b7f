"""Learning learning rates through ``optimizer.step()``: PyTorch optimizers built with
``differentiable=True`` record their update in autograd, so a validation loss after a few
inner steps can be differentiated with respect to a tensor learning rate, as in hypergradient
descent (Baydin et al., "Online Learning Rate Adaptation with Hypergradient Descent") and
Meta-SGD (Li et al.), which learns one inner learning rate per layer with MAML-style
second-order gradients (``create_graph=True``). The inner weights are non-leaf clones, which
only a differentiable optimizer accepts. The program also shows ``capturable=True`` (a
CUDA-graph option that the recipe turns on only when CUDA is present, and that ``step()``
refuses on the CPU)."""
import math

import torch
import torch.nn.functional as F

torch.manual_seed(0)

# a sine-regression task family, as in MAML's toy problem
def make_task(n=20):
    amp = 0.5 + 4.5 * torch.rand(())
    phase = math.pi * torch.rand(())
    x = 10 * torch.rand(2 * n, 1) - 5
    y = amp * torch.sin(x + phase)
    return (x[:n], y[:n]), (x[n:], y[n:])


def init_weights(hidden=24):
    w1 = torch.randn(1, hidden) * 0.8
    b1 = torch.zeros(hidden)
    w2 = torch.randn(hidden, 1) / math.sqrt(hidden)
    b2 = torch.zeros(1)
    return [w1, b1, w2, b2]


def net(params, x):
    w1, b1, w2, b2 = params
    return torch.tanh(x @ w1 + b1) @ w2 + b2


# --- 1. hypergradient descent on one task: learn log(lr) through unrolled SGD ---------------
(train_x, train_y), (val_x, val_y) = make_task()
base = [p.clone() for p in init_weights()]
log_lr = torch.tensor(math.log(0.01), requires_grad=True)
hyper_opt = torch.optim.Adam([log_lr], lr=0.1)
for outer in range(12):
    weights = [p.detach().clone() for p in base]
    opt = torch.optim.SGD(weights, lr=log_lr.exp(), differentiable=True)
    for _ in range(4):
        leaves = [w.detach().requires_grad_() for w in weights]
        loss = F.mse_loss(net(leaves, train_x), train_y)
        grads = torch.autograd.grad(loss, leaves)  # first-order: the gradient is data
        for w, g in zip(weights, grads):
            w.grad = g
        opt.step()
    val_loss = F.mse_loss(net([w.clone() for w in weights], val_x), val_y)
    hyper_opt.zero_grad()
    val_loss.backward()
    if outer % 3 == 0 or outer == 11:
        print(f"hd outer {outer:2d} val {val_loss.item():.4f} lr {log_lr.exp().item():.5f} "
              f"dval/dloglr {log_lr.grad.item():.4f} step grad_fn "
              f"{type(weights[0].grad_fn).__name__}")
    hyper_opt.step()
    base = [w.detach() for w in weights]

print("group keys", sorted(opt.param_groups[0].keys()))
print("differentiable", opt.defaults["differentiable"], "lr requires grad",
      opt.param_groups[0]["lr"].requires_grad)

# --- 2. Meta-SGD: per-layer learning rates, MAML second-order meta-gradients ----------------
meta_weights = [p.requires_grad_() for p in init_weights()]
log_lrs = [torch.full((), math.log(0.02), requires_grad=True) for _ in meta_weights]
meta_opt = torch.optim.Adam([{"params": meta_weights, "lr": 3e-3},
                             {"params": log_lrs, "lr": 2e-2}])
for meta_step in range(25):
    meta_opt.zero_grad()
    total = 0.0
    for _ in range(3):
        (sx, sy), (qx, qy) = make_task()
        fast = [w.clone() for w in meta_weights]
        inner = torch.optim.SGD([{"params": [f], "lr": lr.exp()} for f, lr in zip(fast, log_lrs)],
                                differentiable=True)
        for _ in range(2):
            copies = [f.clone() for f in fast]  # keep the saved inputs off the stepped tensors
            support = F.mse_loss(net(copies, sx), sy)
            for f, g in zip(fast, torch.autograd.grad(support, copies, create_graph=True)):
                f.grad = g
            inner.step()
        query = F.mse_loss(net([f.clone() for f in fast], qx), qy)
        (query / 3).backward()
        total += query.item() / 3
    meta_opt.step()
    if meta_step % 6 == 0 or meta_step == 24:
        print(f"meta-sgd step {meta_step:2d} query {total:.3f} lrs",
              [round(lr.exp().item(), 4) for lr in log_lrs])
print("meta grad norms", [round(w.grad.norm().item(), 3) for w in meta_weights])

# --- 3. the tensor-lr and non-leaf rules of ordinary (non-differentiable) optimizers --------
w = torch.zeros(3)
try:
    torch.optim.SGD([w.requires_grad_().clone()], lr=0.1)
except ValueError as e:
    print("ValueError:", e)
w = torch.zeros(3, requires_grad=True)
w.grad = torch.ones(3)
plain = torch.optim.SGD([w], lr=torch.tensor(0.25))
plain.step()
print("tensor lr step", w.tolist())
try:
    torch.optim.SGD([w], lr=torch.tensor(0.1, requires_grad=True), differentiable=True).step()
except RuntimeError as e:
    print("RuntimeError:", str(e).split(".")[0])

# --- 4. capturable: the recipe asks for it only where CUDA graphs exist ---------------------
capturable = torch.cuda.is_available()
model = torch.nn.Linear(3, 1)
adam = torch.optim.Adam(model.parameters(), lr=0.01, capturable=capturable)
model(torch.ones(2, 3)).sum().backward()
adam.step()
print("capturable", adam.param_groups[0]["capturable"], "step",
      adam.state[model.weight]["step"].item(), adam.state[model.weight]["step"].dtype)
forced = torch.optim.AdamW(model.parameters(), lr=0.01, capturable=True)
try:
    forced.step()
except AssertionError as e:
    print("AssertionError:", e)
print("weight after refused step", [round(v, 4) for v in model.weight.flatten().tolist()])
