"""BYOL with a LARS optimizer, after the BYOL papers' public PyTorch re-implementations and the
LARS class of the Barlow Twins repository.

An online network (encoder, projector, predictor) learns to predict a target network's
projection of another view; the target is a ``copy.deepcopy`` of the online network, frozen
with ``requires_grad_(False)`` and moved by an exponential moving average written with
``torch._foreach_mul_``/``torch._foreach_add_`` under ``torch.no_grad`` (momentum on a cosine
schedule). The optimizer is a LARS subclass of ``torch.optim.Optimizer`` (two param groups,
``self.state`` momentum buffers, a ``@torch.no_grad()`` step with the trust ratio built from
``torch.where``); its ``state_dict`` survives a round trip into a fresh optimizer. Last, W-MSE
(the whitening alternative to BYOL's target network) as in its repository: sub-batches
whitened by a Cholesky factor (the legacy ``torch.cholesky``/``torch.triangular_solve``) applied
as a 1x1 ``conv2d``, with a normalised MSE between the views.
"""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
n_classes, per_class, dim = 4, 24, 16
# uniform draws only: float32 randn of 16+ values differs in its last bit between PyTorch's
# own CPU kernels (vectorised vs scalar), so it would not make a portable record
centers = (torch.rand(n_classes, dim) * 2 - 1) * 2.0
labels = torch.arange(n_classes).repeat_interleave(per_class)
data = centers[labels] + 2.5 * (torch.rand(len(labels), dim) - 0.5)


def augment(x):
    """Random feature masking plus uniform jitter: two calls give two views."""
    keep = (torch.rand_like(x) > 0.25).float()
    return x * keep + 0.6 * (torch.rand_like(x) - 0.5)


def mlp(in_dim, hidden, out_dim):
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden),
                         nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))


class Online(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(dim, 32), nn.BatchNorm1d(32), nn.ReLU(),
                                     nn.Linear(32, 24))
        self.projector = mlp(24, 32, 8)

    def forward(self, x):
        return self.projector(self.encoder(x))


def exclude_bias_and_norm(p):
    return p.ndim == 1


class LARS(torch.optim.Optimizer):
    """Layer-wise adaptive rate scaling with momentum (as in the Barlow Twins repository)."""

    def __init__(self, params, lr, weight_decay=0, momentum=0.9, eta=0.001,
                 weight_decay_filter=None, lars_adaptation_filter=None):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta,
                        weight_decay_filter=weight_decay_filter,
                        lars_adaptation_filter=lars_adaptation_filter)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        for g in self.param_groups:
            for p in g['params']:
                dp = p.grad
                if dp is None:
                    continue
                if g['weight_decay_filter'] is None or not g['weight_decay_filter'](p):
                    dp = dp.add(p, alpha=g['weight_decay'])
                if g['lars_adaptation_filter'] is None or not g['lars_adaptation_filter'](p):
                    param_norm = torch.norm(p)
                    update_norm = torch.norm(dp)
                    one = torch.ones_like(param_norm)
                    q = torch.where(param_norm > 0.,
                                    torch.where(update_norm > 0,
                                                (g['eta'] * param_norm / update_norm), one),
                                    one)
                    dp = dp.mul(q)
                param_state = self.state[p]
                if 'mu' not in param_state:
                    param_state['mu'] = torch.zeros_like(p)
                mu = param_state['mu']
                mu.mul_(g['momentum']).add_(dp)
                p.add_(mu, alpha=-g['lr'])


online = Online()
predictor = mlp(8, 32, 8)
target = copy.deepcopy(online)
for p in target.parameters():
    p.requires_grad_(False)
print("target is a copy:", all(torch.equal(a, b) for a, b in
                                zip(online.parameters(), target.parameters())),
      "| shares storage:",
      online.encoder[0].weight.data_ptr() == target.encoder[0].weight.data_ptr())
print("trainable online:", sum(p.numel() for p in online.parameters() if p.requires_grad),
      "target:", sum(p.numel() for p in target.parameters() if p.requires_grad))

params = list(online.parameters()) + list(predictor.parameters())
param_weights = [p for p in params if p.ndim != 1]
param_biases = [p for p in params if p.ndim == 1]
groups = [{'params': param_weights}, {'params': param_biases}]
optimizer = LARS(groups, lr=0, weight_decay=1e-4, weight_decay_filter=exclude_bias_and_norm,
                 lars_adaptation_filter=exclude_bias_and_norm)
print("groups:", [len(g['params']) for g in optimizer.param_groups],
      "defaults:", sorted(k for k in optimizer.defaults))


def regression_loss(p, z):
    p = F.normalize(p, dim=-1, p=2)
    z = F.normalize(z, dim=-1, p=2)
    return 2 - 2 * (p * z).sum(dim=-1)


@torch.no_grad()
def update_target(tau):
    online_params = [p for p in online.parameters()]
    target_params = [p for p in target.parameters()]
    torch._foreach_mul_(target_params, tau)
    torch._foreach_add_(target_params, online_params, alpha=1 - tau)
    for tb, ob in zip(target.buffers(), online.buffers()):
        tb.copy_(ob)


epochs, batch_size, base_lr, base_tau = 12, 32, 0.2, 0.99
steps_per_epoch = len(data) // batch_size
total_steps = epochs * steps_per_epoch
step = 0
for epoch in range(epochs):
    perm = torch.randperm(len(data))
    running = 0.0
    for b in range(steps_per_epoch):
        # warmup then cosine decay, written into both param groups like the reference
        lr = base_lr * min(1.0, (step + 1) / steps_per_epoch)
        lr = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
        optimizer.param_groups[0]['lr'] = lr
        optimizer.param_groups[1]['lr'] = lr * 0.05
        x = data[perm[b * batch_size:(b + 1) * batch_size]]
        v1, v2 = augment(x), augment(x)
        p1, p2 = predictor(online(v1)), predictor(online(v2))
        with torch.no_grad():
            t1, t2 = target(v1), target(v2)
        loss = (regression_loss(p1, t2.detach()) + regression_loss(p2, t1.detach())).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tau = 1 - (1 - base_tau) * (math.cos(math.pi * step / total_steps) + 1) / 2
        update_target(tau)
        running += loss.item()
        step += 1
    if epoch % 3 == 0 or epoch == epochs - 1:
        gap = sum((a - b).pow(2).sum() for a, b in zip(online.parameters(),
                                                       target.parameters())).sqrt()
        print("epoch {:2d} loss {:.4f} tau {:.4f} online-target distance {:.4f}".format(
            epoch, running / steps_per_epoch, tau, gap.item()))

print("target grads are None:", all(p.grad is None for p in target.parameters()))
mu = optimizer.state[online.encoder[0].weight]['mu']
print("momentum buffer norm {:.4f} state entries {}".format(mu.norm().item(),
                                                            len(optimizer.state)))

# state_dict round trip: a fresh LARS that loads the state takes the same next step
state = optimizer.state_dict()
print("state_dict keys:", sorted(state), "| group keys:", sorted(state['param_groups'][0]),
      "| param ids:", state['param_groups'][1]['params'][:4])
saved = copy.deepcopy(state)
snapshot = [p.detach().clone() for p in params]
x = data[:32]
v1, v2 = augment(x), augment(x)


def one_step(opt):
    loss = regression_loss(predictor(online(v1)), target(v2)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


for module in (online, predictor, target):
    module.eval()
l1 = one_step(optimizer)
after_first = [p.detach().clone() for p in params]
with torch.no_grad():
    for p, s in zip(params, snapshot):
        p.copy_(s)
fresh = LARS([{'params': param_weights}, {'params': param_biases}], lr=0, weight_decay=1e-4,
             weight_decay_filter=exclude_bias_and_norm,
             lars_adaptation_filter=exclude_bias_and_norm)
fresh.load_state_dict(saved)
print("loaded lr:", round(fresh.param_groups[0]['lr'], 6),
      "filter kept:", fresh.param_groups[0]['weight_decay_filter'] is exclude_bias_and_norm)
l2 = one_step(fresh)
print("same loss:", l1 == l2, "same step:",
      all(torch.allclose(a, b, atol=1e-7) for a, b in zip(after_first, params)))

# linear probe on frozen features
with torch.no_grad():
    feats = online.encoder(data)
probe = nn.Linear(feats.shape[1], n_classes)
probe_opt = torch.optim.SGD(probe.parameters(), lr=0.5, momentum=0.9)
for _ in range(50):
    probe_opt.zero_grad()
    loss = F.cross_entropy(probe(feats), labels)
    loss.backward()
    probe_opt.step()
acc = (probe(feats).argmax(1) == labels).float().mean().item()
print("probe loss {:.3f} accuracy {:.3f}".format(loss.item(), acc))


# W-MSE: whiten each sub-batch's embeddings (Cholesky of the covariance), then pull views together
class Whitening1d(nn.Module):
    def __init__(self, num_features, eps=0):
        super().__init__()
        self.num_features = num_features
        self.eps = eps

    def forward(self, x):
        m = x.mean(0).view(self.num_features, -1).mean(-1).view(1, -1)
        xn = x - m
        f_cov = torch.mm(xn.t(), xn) / (xn.shape[0] - 1)
        eye = torch.eye(self.num_features).type(f_cov.type())
        f_cov_shrinked = (1 - self.eps) * f_cov + self.eps * eye
        inv_sqrt = torch.triangular_solve(eye, torch.cholesky(f_cov_shrinked), upper=False)[0]
        inv_sqrt = inv_sqrt.contiguous().view(self.num_features, self.num_features, 1, 1)
        decorrelated = F.conv2d(xn.view(*xn.shape, 1, 1), inv_sqrt)
        return decorrelated.squeeze(2).squeeze(2)


def norm_mse_loss(x0, x1):
    x0 = F.normalize(x0)
    x1 = F.normalize(x1)
    return 2 - 2 * (x0 * x1).sum(dim=-1).mean()


torch.manual_seed(1)
wmse_net = Online()
whitening = Whitening1d(8, eps=0.01)
wmse_opt = torch.optim.Adam(wmse_net.parameters(), lr=2e-3, weight_decay=1e-6)
w_size, w_iter = 16, 2
print("tensor type string:", torch.ones(1).type(), torch.ones(1).type('torch.DoubleTensor').dtype)
for step in range(30):
    x = data[torch.randperm(len(data))[:64]]
    h = [wmse_net(augment(x)) for _ in range(2)]
    loss = 0
    for _ in range(w_iter):
        z = torch.empty_like(h[0])
        perm = torch.randperm(len(x)).view(-1, w_size)
        for idx in perm:
            z[idx] = whitening(h[0][idx])
        z1 = torch.empty_like(h[1])
        for idx in perm:
            z1[idx] = whitening(h[1][idx])
        loss += norm_mse_loss(z, z1)
    loss /= w_iter
    wmse_opt.zero_grad()
    loss.backward()
    wmse_opt.step()
    if step % 10 == 9:
        print("w-mse step {:2d} loss {:.4f}".format(step, loss.item()))
with torch.no_grad():
    wmse_net.eval()
    w = whitening(wmse_net(data[:w_size]))
    cov = w.T @ w / (w_size - 1)
print("whitened covariance: diagonal mean {:.2f} max |off-diagonal| {:.2f}".format(
    torch.diagonal(cov).mean().item(), (cov - torch.diag(torch.diagonal(cov))).abs().max().item()))
emb = wmse_net(data[:w_size]).double()
emb_cov = torch.cov(emb.T) + 0.1 * torch.eye(8, dtype=torch.float64)
chol = torch.linalg.cholesky(emb_cov)
print("embedding log-det:", torch.logdet(emb_cov).detach().round(decimals=2),
      "| grad_fns:", torch.logdet(emb_cov).grad_fn.name(), chol.grad_fn.name(),
      torch.linalg.slogdet(emb_cov)[1].grad_fn.name())
