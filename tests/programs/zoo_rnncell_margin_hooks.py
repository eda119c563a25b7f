"""An Elman RNN unrolled by hand with ``nn.RNNCell`` (the loop that the PyTorch RNN tutorials
and many sequence-labelling repositories write), trained as a sequence classifier with the
multi-class hinge loss ``nn.MultiMarginLoss`` (p=1 and the squared p=2 form with class
weights), next to a ReLU ``RNNCell`` trained with ``MultiLabelSoftMarginLoss``. The training
loop uses the optimizer hook API as training frameworks do: step pre/post hooks for gradient
statistics and a step counter, ``register_state_dict_post_hook`` to stamp checkpoints,
``register_load_state_dict_pre_hook`` to upgrade an older checkpoint layout on load and a
load post-hook; the optimizer ``state_dict()`` layout and ``get_last_lr()`` are printed and a
resumed run is checked against the uninterrupted one."""
import copy

import torch
import torch.nn as nn

torch.manual_seed(0)

n_classes, seq_len, n_in, hidden = 4, 10, 3, 16
n = 128


def make_sequences(count):
    """Class k: a noisy sinusoid of frequency k+1 in channel 0, a drift in channel 1."""
    labels = torch.randint(0, n_classes, (count,))
    t = torch.linspace(0, 1, seq_len)
    freq = (labels.float() + 1)[:, None]
    x = torch.stack([torch.sin(6.2832 * freq * t), 0.3 * labels[:, None].float() * t,
                     torch.randn(count, seq_len)], dim=-1)
    return x + 0.8 * torch.randn(count, seq_len, n_in), labels


x_train, y_train = make_sequences(n)
x_test, y_test = make_sequences(64)


class CellClassifier(nn.Module):
    def __init__(self, nonlinearity="tanh", out=n_classes):
        super().__init__()
        self.cell = nn.RNNCell(n_in, hidden, nonlinearity=nonlinearity)
        self.out = nn.Linear(hidden, out)

    def forward(self, x):
        h = torch.zeros(x.size(0), hidden)
        for step in range(x.size(1)):  # batch-first sequence, one cell call per time step
            h = self.cell(x[:, step], h)
        return self.out(h)


model = CellClassifier()
print("cell", model.cell, "weights", tuple(model.cell.weight_ih.shape),
      tuple(model.cell.weight_hh.shape))
try:  # a common slip: a hidden state kept from a batch of another size
    model.cell(x_train[:4, 0], torch.zeros(8, hidden))
except RuntimeError as e:
    print("RuntimeError:", e)
hinge = nn.MultiMarginLoss(margin=1.0)
weighted = nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor([1.0, 1.0, 2.0, 2.0]))
logits = model(x_train[:5])
print("hinge p=1", round(hinge(logits, y_train[:5]).item(), 4),
      "p=2 weighted", round(weighted(logits, y_train[:5]).item(), 4),
      "per-sample", [round(v, 4) for v in nn.MultiMarginLoss(reduction="none")(
          logits, y_train[:5]).tolist()])

optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, momentum=0.5)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
log = {"steps": 0, "grad_norms": []}


def pre_step(opt, args, kwargs):
    norms = [p.grad.norm() for g in opt.param_groups for p in g["params"] if p.grad is not None]
    log["grad_norms"].append(torch.stack(norms).norm().item())


def post_step(opt, args, kwargs):
    log["steps"] += 1


def stamp(opt, state_dict):
    state_dict["meta"] = {"steps": log["steps"]}
    return state_dict


def upgrade(opt, state_dict):
    """Older checkpoints called the smoothing constant 'beta'; rename it on load."""
    state_dict = copy.deepcopy(state_dict)
    for group in state_dict["param_groups"]:
        if "beta" in group:
            group["alpha"] = group.pop("beta")
    state_dict.pop("meta", None)
    return state_dict


def loaded(opt):
    print("loaded: alpha", opt.param_groups[0]["alpha"], "lr", opt.param_groups[0]["lr"])


pre = optimizer.register_step_pre_hook(pre_step)
post = optimizer.register_step_post_hook(post_step)
optimizer.register_state_dict_post_hook(stamp)


def train_epoch(model, optimizer, loss_fn, x, y, batch=32):
    total = 0.0
    for i in range(0, len(x), batch):
        optimizer.zero_grad()
        loss = loss_fn(model(x[i:i + batch]), y[i:i + batch])
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / (len(x) // batch)


checkpoint = None
for epoch in range(6):
    loss = train_epoch(model, optimizer, hinge, x_train, y_train)
    scheduler.step()
    print(f"epoch {epoch} hinge {loss:.4f} last lr {scheduler.get_last_lr()} steps {log['steps']}"
          f" grad norm {log['grad_norms'][-1]:.4f}")
    if epoch == 2:
        checkpoint = {"model": copy.deepcopy(model.state_dict()),
                      "optim": copy.deepcopy(optimizer.state_dict()),
                      "sched": scheduler.state_dict()}
pre.remove()
post.remove()

sd = optimizer.state_dict()
print("state_dict keys", list(sd.keys()), "meta", sd["meta"])
print("param_groups keys", sorted(sd["param_groups"][0].keys()))
print("state ids", sorted(sd["state"].keys()), "state keys", sorted(sd["state"][0].keys()))
print("square_avg[1] mean", round(sd["state"][1]["square_avg"].mean().item(), 6))
with torch.no_grad():
    acc = (model(x_test).argmax(1) == y_test).float().mean().item()
print("test accuracy", round(acc, 4))

# resume from the epoch-2 checkpoint, saved in the older layout ('beta' for 'alpha')
old = copy.deepcopy(checkpoint["optim"])
for group in old["param_groups"]:
    group["beta"] = group.pop("alpha")
resumed = CellClassifier()
resumed.load_state_dict(checkpoint["model"])
opt2 = torch.optim.RMSprop(resumed.parameters(), lr=0.01, alpha=0.5)
opt2.register_load_state_dict_pre_hook(upgrade)
opt2.register_load_state_dict_post_hook(loaded)
opt2.load_state_dict(old)
sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=3, gamma=0.5)
sched2.load_state_dict(checkpoint["sched"])
print("resumed last lr", sched2.get_last_lr(), "momentum", opt2.param_groups[0]["momentum"])
for epoch in range(3, 6):
    loss = train_epoch(resumed, opt2, hinge, x_train, y_train)
    sched2.step()
    print(f"resumed epoch {epoch} hinge {loss:.4f} last lr {sched2.get_last_lr()}")
same = all(torch.allclose(a, b) for a, b in zip(model.parameters(), resumed.parameters()))
print("resumed equals uninterrupted", same)

# a ReLU cell tagging which frequencies appear, with the multi-label soft-margin loss
tags = nn.functional.one_hot(y_train, n_classes).float()
tags[:, 0] = 1.0  # every sequence also carries tag 0
relu_model = CellClassifier(nonlinearity="relu")
opt3 = torch.optim.Adagrad(relu_model.parameters(), lr=0.05, lr_decay=1e-3)
sched3 = torch.optim.lr_scheduler.ExponentialLR(opt3, gamma=0.8)
multilabel = nn.MultiLabelSoftMarginLoss(weight=torch.tensor([0.5, 1.0, 1.0, 1.0]))
for epoch in range(4):
    loss = train_epoch(relu_model, opt3, multilabel, x_train, tags)
    sched3.step()
    print(f"relu cell epoch {epoch} multilabel {loss:.4f} lr {sched3.get_last_lr()[0]:.5f}")
print("adagrad state keys", sorted(opt3.state_dict()["state"][0].keys()),
      "step", opt3.state_dict()["state"][0]["step"].item())
