"""A learned particle simulator in the style of DeepMind's "Learning to Simulate" (GNS) ported
to plain PyTorch: particles of a 2-D soft-body system, a radius graph built with torch.cdist
and nonzero, edge features of relative displacement and distance, an encode-process-decode
graph network whose message passing aggregates with index_add_, scatter_reduce ("sum",
"amax", "mean" with include_self=False) and scatter_add, residual LayerNorm-ed MLPs,
feature normalisation with running statistics kept in buffers, training on one-step
accelerations with random-walk input noise, and a multi-step rollout compared against the
ground-truth simulator (an explicit spring-and-gravity integrator with two particles pinned
through index_fill_ with a negative index; a corrupted edge list caught with try/except)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(11)
n_particles, radius, dt = 20, 0.35, 0.02
gravity = torch.tensor([0.0, -1.0])


def radius_graph(pos, r):
    d = torch.cdist(pos, pos)
    adj = (d < r) & ~torch.eye(pos.shape[0], dtype=torch.bool)
    senders, receivers = adj.nonzero(as_tuple=True)
    return senders, receivers


def true_acceleration(pos, vel, senders, receivers, rest):
    rel = pos[senders] - pos[receivers]
    dist = rel.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    force = 20.0 * (dist - rest[:, None]) * rel / dist           # spring along each edge
    acc = torch.zeros_like(pos).index_add_(0, receivers, force)
    acc = acc + gravity - 0.5 * vel
    acc.index_fill_(0, pinned, 0.0)                              # pinned particles stay put
    floor = (pos[:, 1] < 0).float()
    acc[:, 1] += 200.0 * floor * (-pos[:, 1])                   # penalty floor at y = 0
    return acc


pinned = torch.tensor([0, -1])                                   # first and last particle
pos0 = torch.tensor(rng.uniform(0.2, 1.0, size=(n_particles, 2)), dtype=torch.float32)
senders, receivers = radius_graph(pos0, radius)
rest = (pos0[senders] - pos0[receivers]).norm(dim=-1)
print("particles", n_particles, "edges", senders.numel(),
      "mean degree {:.2f}".format(senders.numel() / n_particles))
deg = torch.bincount(receivers, minlength=n_particles)
print("degree histogram", torch.bincount(deg).tolist())
isolated = (deg == 0).nonzero().flatten()
print("isolated particles", isolated.tolist())
# a corrupted edge list (a receiver past the last particle) is caught by index_add_
bad_receivers = receivers.clone()
bad_receivers[3] = n_particles + 2
try:
    torch.zeros(n_particles, 2).index_add_(0, bad_receivers, torch.ones(senders.numel(), 2))
except (RuntimeError, IndexError) as e:
    print(type(e).__name__, "for a bad edge list:", e)
try:
    torch.zeros(n_particles, 2).index_add_(0, receivers[None], torch.ones(senders.numel(), 2))
except (RuntimeError, IndexError) as e:
    print(type(e).__name__, "for a 2-D index:", e)

# ground-truth trajectories from a few random initial kicks
trajs = []
for traj in range(3):
    pos = pos0.clone()
    vel = torch.tensor(rng.normal(0, 0.3, size=(n_particles, 2)), dtype=torch.float32)
    frames = [pos.clone()]
    for t in range(30):
        acc = true_acceleration(pos, vel, senders, receivers, rest)
        vel = vel + dt * acc
        pos = pos + dt * vel
        frames.append(pos.clone())
    trajs.append(torch.stack(frames))
trajs = torch.stack(trajs)                                     # (3, 31, N, 2)
print("trajectories", tuple(trajs.shape), "final mean height {:.4f}".format(
    trajs[:, -1, :, 1].mean().item()))


def mlp(i, o, hidden=32, norm=True):
    layers = [nn.Linear(i, hidden), nn.SiLU(), nn.Linear(hidden, o)]
    if norm:
        layers.append(nn.LayerNorm(o))
    return nn.Sequential(*layers)


class Normalizer(nn.Module):
    """Running mean/std of a feature, accumulated in buffers while training (as GNS does)."""

    def __init__(self, size, eps=1e-8):
        super().__init__()
        self.register_buffer("count", torch.zeros((), dtype=torch.long))
        self.register_buffer("sum", torch.zeros(size))
        self.register_buffer("sum_sq", torch.zeros(size))
        self.eps = eps

    def forward(self, x, accumulate=True):
        if accumulate and self.training:
            self.count += x.shape[0]
            self.sum += x.detach().sum(0)
            self.sum_sq += x.detach().pow(2).sum(0)
        mean = self.sum / self.count.clamp(min=1)
        std = (self.sum_sq / self.count.clamp(min=1) - mean ** 2).clamp_min(self.eps).sqrt()
        return (x - mean) / std

    def inverse(self, x):
        mean = self.sum / self.count.clamp(min=1)
        std = (self.sum_sq / self.count.clamp(min=1) - mean ** 2).clamp_min(self.eps).sqrt()
        return x * std + mean


class InteractionLayer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.edge_fn = mlp(3 * d, d)
        self.node_fn = mlp(3 * d, d)

    def forward(self, x, e, senders, receivers):
        e_new = self.edge_fn(torch.cat([e, x[senders], x[receivers]], dim=-1))
        n = x.shape[0]
        idx = receivers[:, None].expand(-1, e_new.shape[1])
        agg_sum = torch.zeros_like(x).scatter_add(0, idx, e_new)
        agg_max = torch.zeros_like(x).scatter_reduce(0, idx, e_new, "amax", include_self=False)
        x_new = self.node_fn(torch.cat([x, agg_sum, agg_max], dim=-1))
        assert agg_sum.shape[0] == n
        return x + x_new, e + e_new


class GNS(nn.Module):
    def __init__(self, d=32, steps=2, history=3):
        super().__init__()
        self.history = history
        self.node_norm = Normalizer(2 * (history - 1) + 2)
        self.acc_norm = Normalizer(2)
        self.node_enc = mlp(2 * (history - 1) + 2, d)
        self.edge_enc = mlp(3, d)
        self.layers = nn.ModuleList([InteractionLayer(d) for _ in range(steps)])
        self.decoder = mlp(d, 2, norm=False)

    def features(self, window):
        vel = window.diff(dim=0)                                 # (history-1, N, 2)
        pos = window[-1]
        floor_dist = pos[:, 1:].clamp(max=radius) / radius
        walls = torch.cat([floor_dist, (pos[:, :1] - 0.6).abs() / radius], dim=-1)
        return torch.cat([vel.permute(1, 0, 2).flatten(1) / dt, walls], dim=-1)

    def forward(self, window, senders, receivers, accumulate=True):
        pos = window[-1]
        x = self.node_enc(self.node_norm(self.features(window), accumulate))
        rel = (pos[senders] - pos[receivers]) / radius
        e = self.edge_enc(torch.cat([rel, rel.norm(dim=-1, keepdim=True)], dim=-1))
        for layer in self.layers:
            x, e = layer(x, e, senders, receivers)
        return self.decoder(x)


model = GNS()
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.ndim == 2:
            p.copy_(torch.from_numpy(rng.normal(0, 1 / np.sqrt(p.shape[1]),
                                                size=tuple(p.shape)).astype(np.float32)))
print("parameters", sum(p.numel() for p in model.parameters()),
      "buffers", sorted({n.split(".")[-1] for n, _ in model.named_buffers()}))

opt = torch.optim.Adam(model.parameters(), lr=3e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40, eta_min=1e-4)
noise_gen = torch.Generator().manual_seed(5)
H = model.history
for step in range(40):
    traj = step % 2
    t = H - 1 + (step * 7) % (trajs.shape[1] - H)
    window = trajs[traj, t - H + 1:t + 1]
    noise = torch.randn(window.shape, generator=noise_gen).cumsum(0) * 3e-4
    noisy = window + noise
    target_acc = (trajs[traj, t + 1] - 2 * noisy[-1] + noisy[-2]) / dt ** 2
    pred = model(noisy, senders, receivers)
    loss = F.mse_loss(pred, model.acc_norm(target_acc))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_value_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if step % 10 == 9:
        print("step {:2d} loss {:.4f} lr {:.5f}".format(step, loss.item(),
                                                       sched.get_last_lr()[0]))
print("normaliser count", int(model.node_norm.count), "acc mean", torch.round(
    model.acc_norm.sum / model.acc_norm.count, decimals=2))

# rollout on the held-out trajectory
model.eval()
test = trajs[2]
window = test[:H].clone()
errors = []
with torch.no_grad():
    for t in range(H - 1, 15):
        acc = model.acc_norm.inverse(model(window, senders, receivers, accumulate=False))
        vel = window[-1] - window[-2] + acc * dt ** 2
        nxt = window[-1] + vel
        window = torch.cat([window[1:], nxt[None]])
        errors.append(F.mse_loss(nxt, test[t + 1]).sqrt())
errors = torch.stack(errors)
print("rollout RMSE first {:.4f} last {:.4f} monotone {}".format(
    errors[0].item(), errors[-1].item(), bool((errors.diff() >= 0).all())))

# per-node diagnostics with scatter_reduce "mean" and index_reduce
edge_len = (test[-1][senders] - test[-1][receivers]).norm(dim=-1)
mean_len = torch.zeros(n_particles).scatter_reduce(0, receivers, edge_len, "mean",
                                                   include_self=False)
max_strain = torch.zeros(n_particles).index_reduce_(0, receivers, (edge_len / rest - 1).abs(),
                                                    "amax", include_self=False)
print("mean neighbour distance", torch.round(mean_len[:6], decimals=3))
print("max strain", torch.round(max_strain[:6], decimals=3))
