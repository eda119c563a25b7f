"""Sharpness-aware minimization and the Lookahead wrapper, as the popular unofficial SAM
repository and the Lookahead re-implementations write them: an ``Optimizer`` subclass that
builds its base optimizer from its own ``param_groups``, a two-step update (climb to the
worst-case neighbour, then descend with the gradient taken there), the closure form with
``torch.enable_grad()``, BatchNorm momentum switched off on the second pass, adaptive SAM
(ASAM), annealed gradient noise, NAdam/RAdam with ``decoupled_weight_decay``, and a
``state_dict`` round trip halfway through training that must continue exactly."""
import copy
from collections import defaultdict

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class SAM(torch.optim.Optimizer):
    def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, **kwargs):
        assert rho >= 0.0, f"Invalid rho, should be non-negative: {rho}"
        defaults = dict(rho=rho, adaptive=adaptive, **kwargs)
        super(SAM, self).__init__(params, defaults)
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups
        self.defaults.update(self.base_optimizer.defaults)

    @torch.no_grad()
    def first_step(self, zero_grad=False):
        grad_norm = self._grad_norm()
        for group in self.param_groups:
            scale = group["rho"] / (grad_norm + 1e-12)
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.state[p]["old_p"] = p.data.clone()
                e_w = (torch.pow(p, 2) if group["adaptive"] else 1.0) * p.grad * scale.to(p)
                p.add_(e_w)
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad=False):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.data = self.state[p]["old_p"]
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def step(self, closure=None):
        assert closure is not None, "SAM requires closure"
        closure = torch.enable_grad()(closure)
        self.first_step(zero_grad=True)
        closure()
        self.second_step()

    def _grad_norm(self):
        shared_device = self.param_groups[0]["params"][0].device
        norm = torch.norm(
            torch.stack([
                ((torch.abs(p) if group["adaptive"] else 1.0) * p.grad).norm(p=2).to(shared_device)
                for group in self.param_groups for p in group["params"]
                if p.grad is not None
            ]),
            p=2,
        )
        return norm

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.base_optimizer.param_groups = self.param_groups


class Lookahead(torch.optim.Optimizer):
    """k fast steps of the inner optimizer, then the slow weights move alpha of the way."""

    def __init__(self, optimizer, k=5, alpha=0.5):
        # Optimizer.__init__ sets up the step hooks; the groups stay the inner optimizer's
        super().__init__(optimizer.param_groups, dict(optimizer.defaults, k=k, alpha=alpha))
        self.optimizer = optimizer
        self.k = k
        self.alpha = alpha
        self.param_groups = self.optimizer.param_groups
        self.state = defaultdict(dict)
        self.fast_state = self.optimizer.state
        for group in self.param_groups:
            group["counter"] = 0

    def update(self, group):
        for fast in group["params"]:
            param_state = self.state[fast]
            if "slow_param" not in param_state:
                param_state["slow_param"] = torch.zeros_like(fast.data)
                param_state["slow_param"].copy_(fast.data)
            slow = param_state["slow_param"]
            slow += (fast.data - slow) * self.alpha
            fast.data.copy_(slow)

    def step(self, closure=None):
        loss = self.optimizer.step(closure)
        for group in self.param_groups:
            if group["counter"] == 0:
                self.update(group)
            group["counter"] += 1
            if group["counter"] >= self.k:
                group["counter"] = 0
        return loss

    def state_dict(self):
        fast_state_dict = self.optimizer.state_dict()
        slow_state = {(id(k) if isinstance(k, torch.Tensor) else k): v
                      for k, v in self.state.items()}
        return {"fast_state": fast_state_dict["state"], "slow_state": slow_state,
                "param_groups": fast_state_dict["param_groups"]}


def disable_running_stats(model):
    def _disable(module):
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.backup_momentum = module.momentum
            module.momentum = 0
    model.apply(_disable)


def enable_running_stats(model):
    def _enable(module):
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and hasattr(module,
                                                                           "backup_momentum"):
            module.momentum = module.backup_momentum
    model.apply(_enable)


# two interleaved half-moons with label noise: the setting SAM is meant for
n = 256
t = torch.rand(n) * 3.1416
labels = (torch.rand(n) > 0.5).long()
x = torch.stack([torch.cos(t) + labels * 1.0,
                 torch.sin(t) * (1 - 2 * labels.float()) + 0.3 * labels], dim=1)
x = x + 0.15 * torch.randn(n, 2)
flip = torch.rand(n) < 0.1
noisy = torch.where(flip, 1 - labels, labels)
print("flipped labels", int(flip.sum()), "class balance", round(labels.float().mean().item(), 4))


def make_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 2))


def smooth_crossentropy(pred, gold, smoothing=0.1):
    n_class = pred.size(1)
    one_hot = torch.full_like(pred, fill_value=smoothing / (n_class - 1))
    one_hot.scatter_(dim=1, index=gold.unsqueeze(1), value=1.0 - smoothing)
    log_prob = F.log_softmax(pred, dim=1)
    return F.kl_div(input=log_prob, target=one_hot, reduction="none").sum(-1)


def accuracy(model):
    model.eval()
    with torch.no_grad():
        acc = (model(x).argmax(1) == labels).float().mean().item()
    model.train()
    return round(acc, 4)


def batches(epoch):
    g = torch.Generator().manual_seed(epoch)
    perm = torch.randperm(n, generator=g)
    for i in range(0, n, 64):
        idx = perm[i:i + 64]
        yield x[idx], noisy[idx]


def train_sam(model, optimizer, epochs, start=0):
    for epoch in range(start, start + epochs):
        total = 0.0
        for inputs, targets in batches(epoch):
            enable_running_stats(model)
            predictions = model(inputs)
            loss = smooth_crossentropy(predictions, targets)
            loss.mean().backward()
            optimizer.first_step(zero_grad=True)

            disable_running_stats(model)
            smooth_crossentropy(model(inputs), targets).mean().backward()
            optimizer.second_step(zero_grad=True)
            total += loss.sum().item()
        print(f"  epoch {epoch}: loss {total / n:.4f}")


for adaptive, rho in [(False, 0.05), (True, 0.5)]:
    model = make_model()
    optimizer = SAM(model.parameters(), torch.optim.SGD, rho=rho, adaptive=adaptive, lr=0.1,
                    momentum=0.9, weight_decay=5e-4)
    print("SAM adaptive" if adaptive else "SAM", "defaults",
          sorted(k for k in optimizer.defaults if k in ("rho", "adaptive", "lr", "momentum")),
          optimizer.base_optimizer.param_groups is optimizer.param_groups)
    train_sam(model, optimizer, 4)
    bn = model[1]
    print("  acc", accuracy(model), "bn mean", round(bn.running_mean.abs().sum().item(), 3),
          "batches", int(bn.num_batches_tracked))
    buf = optimizer.base_optimizer.state[model[0].weight]["momentum_buffer"]
    print("  momentum buffer norm", round(buf.norm().item(), 4),
          "old_p kept", "old_p" in optimizer.state[model[0].weight])

# state_dict round trip after two epochs must continue the same run
model_a = make_model()
opt_a = SAM(model_a.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, momentum=0.9)
train_sam(model_a, opt_a, 2)
saved_model = copy.deepcopy(model_a.state_dict())
saved_opt = copy.deepcopy(opt_a.state_dict())
# SAM's own state holds only old_p: the momentum lives in the base optimizer's state
saved_base = copy.deepcopy(opt_a.base_optimizer.state_dict())
print("saved state keys", sorted(saved_opt["state"][0]), sorted(saved_base["state"][0]),
      len(saved_opt["param_groups"]), sorted(saved_opt["param_groups"][0])[:4])
train_sam(model_a, opt_a, 1, start=2)
model_b = make_model()
model_b.load_state_dict(saved_model)
opt_b = SAM(model_b.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, momentum=0.9)
opt_b.load_state_dict(saved_opt)
opt_b.base_optimizer.load_state_dict(saved_base)
print("param_groups shared after load", opt_b.base_optimizer.param_groups is opt_b.param_groups)
train_sam(model_b, opt_b, 1, start=2)
print("resumed equal", all(torch.equal(a, b) for a, b in zip(model_a.parameters(),
                                                              model_b.parameters())))

# the closure form
model = make_model()
optimizer = SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.05)
for epoch in range(2):
    for inputs, targets in batches(epoch):
        def closure(inputs=inputs, targets=targets):
            loss = smooth_crossentropy(model(inputs), targets).mean()
            loss.backward()
            return loss
        loss = smooth_crossentropy(model(inputs), targets).mean()
        loss.backward()
        optimizer.step(closure)
        optimizer.zero_grad()
print("closure SAM acc", accuracy(model), "loss", round(loss.item(), 4))

# Lookahead around NAdam / RAdam with decoupled weight decay, with annealed gradient noise
for name, make_inner in [
    ("NAdam", lambda ps: torch.optim.NAdam(ps, lr=0.01, weight_decay=0.01, momentum_decay=4e-3,
                                           decoupled_weight_decay=True)),
    ("RAdam", lambda ps: torch.optim.RAdam(ps, lr=0.01, weight_decay=0.01,
                                           decoupled_weight_decay=True)),
    ("Adamax", lambda ps: torch.optim.Adamax(ps, lr=0.02, weight_decay=1e-3)),
]:
    model = make_model()
    inner = make_inner(model.parameters())
    optimizer = Lookahead(inner, k=5, alpha=0.5)
    torch.manual_seed(5)
    step = 0
    for epoch in range(4):
        for inputs, targets in batches(epoch):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), targets)
            loss.backward()
            # gradient noise with variance eta / (1 + t) ** gamma (Neelakantan et al.)
            std = (0.01 / (1 + step) ** 0.55) ** 0.5
            for p in model.parameters():
                p.grad.add_(torch.randn_like(p.grad) * std)
            optimizer.step()
            step += 1
    sd = optimizer.state_dict()
    inner_keys = sorted(inner.state[model[0].weight])
    print(f"{name:>6} lookahead: loss {loss.item():.4f} acc {accuracy(model)} "
          f"counter {optimizer.param_groups[0]['counter']} slow {len(sd['slow_state'])} "
          f"inner {inner_keys} decoupled {inner.param_groups[0].get('decoupled_weight_decay')}")
