"""Every common optimizer on the same small regression, as a comparison script would run them:
SGD (momentum, nesterov), Adam (amsgrad), AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam,
RAdam, ASGD, Rprop and LBFGS; zero_grad(set_to_none), state_dict sizes, per-group options."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(3)
X = torch.from_numpy(rng.standard_normal((32, 5)).astype(np.float32))
true_w = torch.tensor([[1.0], [-2.0], [0.5], [0.0], [3.0]])
Y = torch.tanh(X @ true_w) + 0.1


def make_model():
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            idx = torch.arange(p.numel(), dtype=torch.float32)
            p.copy_((torch.cos(idx * (0.8 + 0.5 * i)) * 0.3).view_as(p))
    return model


configs = [
    ("SGD", lambda ps: torch.optim.SGD(ps, lr=0.1)),
    ("SGD momentum", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1)),
    ("SGD nesterov", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                                weight_decay=1e-3)),
    ("Adam", lambda ps: torch.optim.Adam(ps, lr=0.01)),
    ("Adam amsgrad", lambda ps: torch.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("AdamW", lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
    ("RMSprop", lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5,
                                               centered=True)),
    ("Adagrad", lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01)),
    ("Adadelta", lambda ps: torch.optim.Adadelta(ps, lr=1.0)),
    ("Adamax", lambda ps: torch.optim.Adamax(ps, lr=0.02)),
    ("NAdam", lambda ps: torch.optim.NAdam(ps, lr=0.01)),
    ("RAdam", lambda ps: torch.optim.RAdam(ps, lr=0.01)),
    ("ASGD", lambda ps: torch.optim.ASGD(ps, lr=0.05)),
    ("Rprop", lambda ps: torch.optim.Rprop(ps, lr=0.01)),
    ("Adam maximize", lambda ps: torch.optim.Adam(ps, lr=0.01, maximize=True)),
]
loss_fn = nn.MSELoss()
for name, make_opt in configs:
    model = make_model()
    opt = make_opt(model.parameters())
    losses = []
    for step in range(15):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X), Y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    state = opt.state_dict()["state"]
    keys = sorted(state[0]) if state else []
    print(f"{name:>14}: {losses[0]:.4f} -> {losses[-1]:.4f}  state {keys}")

# LBFGS needs a closure
model = make_model()
opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=10, history_size=5)
calls = 0


def closure():
    global calls
    calls += 1
    opt.zero_grad()
    loss = loss_fn(model(X), Y)
    loss.backward()
    return loss


for step in range(3):
    loss = opt.step(closure)
    print(f"LBFGS step {step}: loss {loss.item():.4f}")
print("closure calls", calls, sorted(opt.state_dict()["state"][0])[:4])

# per-group options and changing them mid-run
model = make_model()
opt = torch.optim.Adam([
    {"params": model[0].parameters()},
    {"params": model[2].parameters(), "lr": 0.05, "betas": (0.5, 0.9)},
], lr=0.01)
print([(g["lr"], g["betas"]) for g in opt.param_groups])
for step in range(5):
    opt.zero_grad()
    loss_fn(model(X), Y).backward()
    opt.step()
    if step == 2:
        opt.param_groups[0]["lr"] = 0.001
print(f"{loss_fn(model(X), Y).item():.4f}", opt.state[model[0].weight]["step"])
print(model[0].weight.grad is not None)
opt.zero_grad()
print(model[0].weight.grad)
try:
    torch.optim.SGD(model.parameters(), lr=-1)
except ValueError as err:
    print("ValueError:", err)
try:
    torch.optim.Adam([{"params": model[0].weight}, {"params": model[0].weight}])
except ValueError as err:
    print("ValueError:", err)
