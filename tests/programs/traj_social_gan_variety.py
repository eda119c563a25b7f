"""Social-GAN-style trajectory forecasting on synthetic pedestrian scenes: observed positions are
turned into relative displacements with ``torch.diff``, an LSTM encoder summarises each agent, a
social pooling layer gathers neighbours within a radius (``torch.cdist`` plus a boolean mask,
``masked_fill`` and a max over neighbours), and an LSTMCell decoder rolls out displacements that
``torch.cumsum`` turns back into absolute positions. The decoder is trained with teacher forcing
under scheduled sampling (a Bernoulli coin per step whose probability decays), the generator
draws K noise samples and the variety (best-of-K) loss keeps only the closest one per agent;
ADE/FDE metrics are reported for min-over-K and for the mean prediction."""
import torch
import torch.nn as nn

torch.manual_seed(0)

OBS, PRED, AGENTS, SCENES, K = 6, 5, 4, 8, 3


def make_scenes(n):
    """Agents walking in straight lines with a little curvature and noise."""
    start = torch.rand(n, AGENTS, 2) * 4.0
    velocity = torch.randn(n, AGENTS, 2) * 0.3
    turn = torch.randn(n, AGENTS, 1) * 0.05
    steps = torch.arange(OBS + PRED, dtype=torch.float32).view(1, 1, -1, 1)
    curve = torch.stack([-velocity[..., 1], velocity[..., 0]], dim=-1).unsqueeze(2)
    path = start.unsqueeze(2) + velocity.unsqueeze(2) * steps + turn.unsqueeze(2) * curve * steps**2
    path = path + 0.01 * torch.randn_like(path)
    return path[:, :, :OBS], path[:, :, OBS:]


class SocialPooling(nn.Module):
    """Max-pool neighbour hidden states (shifted by relative position) within a radius."""

    def __init__(self, hidden, radius=2.0):
        super().__init__()
        self.radius = radius
        self.mlp = nn.Sequential(nn.Linear(hidden + 2, hidden), nn.ReLU())

    def forward(self, hidden, pos):
        dist = torch.cdist(pos, pos)
        eye = torch.eye(pos.shape[1], dtype=torch.bool).unsqueeze(0)
        near = (dist < self.radius) & ~eye
        rel = pos.unsqueeze(1) - pos.unsqueeze(2)
        pair = torch.cat([hidden.unsqueeze(1).expand(-1, pos.shape[1], -1, -1), rel], dim=-1)
        feats = self.mlp(pair).masked_fill(~near.unsqueeze(-1), float("-inf"))
        pooled = feats.max(dim=2).values
        return torch.where(near.any(-1, keepdim=True), pooled, torch.zeros_like(pooled)), near


class Generator(nn.Module):
    def __init__(self, hidden=16, noise=4):
        super().__init__()
        self.noise = noise
        self.embed = nn.Linear(2, 8)
        self.encoder = nn.LSTM(8, hidden, batch_first=True)
        self.pool = SocialPooling(hidden)
        self.to_dec = nn.Linear(2 * hidden + noise, hidden)
        self.decoder = nn.LSTMCell(8, hidden)
        self.head = nn.Linear(hidden, 2)

    def forward(self, obs, fut_rel=None, teacher_p=0.0):
        n, a = obs.shape[:2]
        rel = torch.diff(obs, dim=2, prepend=obs[:, :, :1])
        _, (h, _) = self.encoder(self.embed(rel.flatten(0, 1)))
        h = h[-1].view(n, a, -1)
        pooled, near = self.pool(h, obs[:, :, -1])
        z = torch.randn(n, a, self.noise)
        hx = torch.tanh(self.to_dec(torch.cat([h, pooled, z], dim=-1))).flatten(0, 1)
        cx = torch.zeros_like(hx)
        step = rel[:, :, -1].flatten(0, 1)
        outs = []
        for t in range(PRED):
            hx, cx = self.decoder(self.embed(step), (hx, cx))
            delta = self.head(hx)
            outs.append(delta)
            use_truth = fut_rel is not None and torch.rand(()) < teacher_p
            step = fut_rel[:, :, t].flatten(0, 1) if use_truth else delta.detach()
        pred_rel = torch.stack(outs, dim=1).view(n, a, PRED, 2)
        return obs[:, :, -1:] + torch.cumsum(pred_rel, dim=2), near


def ade_fde(pred, truth):
    err = torch.linalg.vector_norm(pred - truth, dim=-1)
    return err.mean(-1), err[..., -1]


def variety_loss(samples, truth):
    """Best-of-K: per agent, the L2 of the sample closest to the truth."""
    l2 = (samples - truth.unsqueeze(0)).pow(2).sum(-1).sum(-1)
    best, idx = l2.min(dim=0)
    return best.mean() / PRED, idx


obs, fut = make_scenes(SCENES)
fut_rel = torch.diff(torch.cat([obs[:, :, -1:], fut], dim=2), dim=2)
print("rel displacement shape:", tuple(fut_rel.shape))
print("cumsum round trip:", torch.allclose(obs[:, :, -1:] + fut_rel.cumsum(2), fut, atol=1e-5))

model = Generator()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=15, gamma=0.5)
for epoch in range(40):
    teacher_p = max(0.0, 1.0 - epoch / 25)
    samples = torch.stack([model(obs, fut_rel, teacher_p)[0] for _ in range(K)])
    loss, best_idx = variety_loss(samples, fut)
    opt.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
    sched.step()
    if epoch % 10 == 0 or epoch == 39:
        counts = torch.bincount(best_idx.flatten(), minlength=K)
        print(f"epoch {epoch:2d} loss {loss.item():.3f} grad {norm.item():.3f} "
              f"tf {teacher_p:.2f} lr {sched.get_last_lr()[0]:.4f} best-of-K {counts.tolist()}")

model.eval()
test_obs, test_fut = make_scenes(4)
with torch.no_grad():
    samples = torch.stack([model(test_obs)[0] for _ in range(8)])
    _, near = model(test_obs)
    ade_k, fde_k = ade_fde(samples, test_fut.unsqueeze(0))
    min_ade, min_fde = ade_k.min(0).values.mean(), fde_k.min(0).values.mean()
    ade_mean, fde_mean = ade_fde(samples.mean(0), test_fut)
print(f"minADE@8 {min_ade:.4f} minFDE@8 {min_fde:.4f}")
print(f"meanADE {ade_mean.mean():.4f} meanFDE {fde_mean.mean():.4f}")
print("neighbours per agent:", near.sum(-1).tolist())
print("last-step prediction, scene 0:")
print(samples.mean(0)[0, :, -1].round(decimals=2))
linear = test_obs[:, :, -1:] + (test_obs[:, :, -1:] - test_obs[:, :, -2:-1]) * torch.arange(
    1, PRED + 1).view(1, 1, -1, 1)
print(f"constant-velocity ADE {ade_fde(linear, test_fut)[0].mean():.4f}")
