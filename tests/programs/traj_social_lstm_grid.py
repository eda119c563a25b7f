"""Social-LSTM on a batch of scenes packed the Social-GAN way: a ``DataLoader`` with a custom
``collate_fn`` concatenates the agents of several scenes and returns ``seq_start_end``, a
block-diagonal same-scene mask (``torch.block_diag``) keeps pooling inside each scene, and an
occupancy-grid pooling bins each neighbour's offset into cells (``torch.bucketize``) and sums
hidden states into them with ``index_add_``. Frames where an agent is missing are NaN and are
handled with ``torch.isnan``, ``nan_to_num`` and ``nanmean``. The model outputs a bivariate
Gaussian per step (means, log-stds and a ``tanh`` correlation) scored by
``MultivariateNormal(scale_tril=...)``; scenes are augmented by random rotations (``einsum``
with rotation matrices from ``atan2``-derived headings); training uses RMSprop with
``ReduceLROnPlateau``, and a forward hook records the grid occupancy."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import MultivariateNormal
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(2)
OBS, PRED, GRID, CELL = 5, 4, 4, 0.75


class Scenes(Dataset):
    """Each scene: a (agents, OBS + PRED, 2) trajectory tensor with a varying number of agents."""

    def __init__(self, n):
        g = torch.Generator().manual_seed(7)
        self.scenes = []
        for _ in range(n):
            agents = int(torch.randint(2, 5, (), generator=g))
            start = torch.rand(agents, 1, 2, generator=g) * 3
            vel = torch.randn(agents, 1, 2, generator=g) * 0.25
            t = torch.arange(OBS + PRED).view(1, -1, 1)
            path = start + vel * t + 0.02 * torch.randn(agents, OBS + PRED, 2, generator=g)
            path[0, 0] = float("nan")  # the first agent enters the scene one frame late
            self.scenes.append(path)

    def __len__(self):
        return len(self.scenes)

    def __getitem__(self, i):
        return self.scenes[i]


def collate(scenes):
    counts = torch.tensor([len(s) for s in scenes])
    ends = counts.cumsum(0)
    seq_start_end = torch.stack([ends - counts, ends], dim=1)
    same_scene = torch.block_diag(*[torch.ones(c, c) for c in counts.tolist()]).bool()
    return torch.cat(scenes), seq_start_end, same_scene


def rotate(paths, angle):
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[c, -s], [s, c]])
    return torch.einsum("ij,atj->ati", rot, paths)


class GridPool(nn.Module):
    """Sum neighbours' hidden states into a GRID x GRID occupancy grid around each agent."""

    def __init__(self, hidden):
        super().__init__()
        self.edges = (torch.arange(1, GRID) - GRID / 2) * CELL
        self.proj = nn.Linear(GRID * GRID * hidden, hidden)

    def forward(self, hidden, pos, same_scene):
        n = len(pos)
        offset = pos.unsqueeze(0) - pos.unsqueeze(1)  # [i, j] = pos_j - pos_i
        inside = (offset.abs() < GRID / 2 * CELL).all(-1) & same_scene & ~torch.eye(n).bool()
        bins = torch.bucketize(offset.permute(2, 0, 1).contiguous(), self.edges)
        cell = bins[0] * GRID + bins[1]
        rows, cols = inside.nonzero(as_tuple=True)
        grid = torch.zeros(n * GRID * GRID, hidden.shape[1])
        grid.index_add_(0, rows * GRID * GRID + cell[rows, cols], hidden[cols])
        return torch.relu(self.proj(grid.view(n, -1))), inside.sum()


class SocialLSTM(nn.Module):
    def __init__(self, hidden=12):
        super().__init__()
        self.hidden = hidden
        self.embed = nn.Linear(2, 8)
        self.cell = nn.LSTMCell(8 + hidden, hidden)
        self.pool = GridPool(hidden)
        self.out = nn.Linear(hidden, 5)

    def step(self, pos, state, same_scene):
        h, c = state
        pooled, _ = self.pool(h, pos, same_scene)
        return self.cell(torch.cat([F.relu(self.embed(pos)), pooled], dim=-1), (h, c))

    def forward(self, obs, same_scene):
        n = len(obs)
        state = (torch.zeros(n, self.hidden), torch.zeros(n, self.hidden))
        for t in range(OBS):
            state = self.step(torch.nan_to_num(obs[:, t]), state, same_scene)
        params, pos = [], obs[:, -1]
        for _ in range(PRED):
            out = self.out(state[0])
            params.append(out)
            pos = pos + out[:, :2]
            state = self.step(pos.detach(), state, same_scene)
        return torch.stack(params, dim=1)


def bivariate(params, last):
    mu = last.unsqueeze(1) + params[..., :2].cumsum(1)
    sx, sy = params[..., 2].exp() + 1e-3, params[..., 3].exp() + 1e-3
    rho = torch.tanh(params[..., 4]) * 0.95
    tril = torch.zeros(*params.shape[:-1], 2, 2)
    tril[..., 0, 0] = sx
    tril[..., 1, 0] = rho * sy
    tril[..., 1, 1] = sy * torch.sqrt(1 - rho**2)
    return MultivariateNormal(mu, scale_tril=tril)


loader = DataLoader(Scenes(12), batch_size=4, shuffle=True, collate_fn=collate,
                    generator=torch.Generator().manual_seed(0))
paths, seq_start_end, same_scene = next(iter(loader))
print("agents per batch:", len(paths), "seq_start_end:", seq_start_end.tolist())
print("missing frames:", torch.isnan(paths[..., 0]).sum().item())
print("mean observed speed:", f"{torch.diff(paths, dim=1).norm(dim=-1).nanmean():.4f}")

model = SocialLSTM()
occupancy = []
model.pool.register_forward_hook(lambda mod, inp, out: occupancy.append(out[1].item()))
opt = torch.optim.RMSprop(model.parameters(), lr=5e-3)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
for epoch in range(4):
    total = 0.0
    for paths, seq_start_end, same_scene in loader:
        heading = torch.atan2(*(paths[:, -1] - paths[:, 0]).nansum(0).flip(0))
        paths = rotate(paths, -heading.item())
        obs, fut = paths[:, :OBS], paths[:, OBS:]
        dist = bivariate(model(obs, same_scene), obs[:, -1])
        loss = -dist.log_prob(fut).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    plateau.step(total)
    print(f"epoch {epoch} nll {total / len(loader):.3f} lr {opt.param_groups[0]['lr']:.5f} "
          f"occupied {sum(occupancy)}")
    occupancy.clear()

with torch.no_grad():
    paths, seq_start_end, same_scene = next(iter(loader))
    obs, fut = paths[:, :OBS], paths[:, OBS:]
    dist = bivariate(model(obs, same_scene), obs[:, -1])
    ade = (dist.mean - fut).norm(dim=-1).mean()
    fde = (dist.mean[:, -1] - fut[:, -1]).norm(dim=-1).mean()
    print(f"ADE {ade:.3f} FDE {fde:.3f}")
    for start, end in seq_start_end.tolist():
        scene_err = (dist.mean[start:end] - fut[start:end]).norm(dim=-1).mean()
        print(f"scene agents {end - start} ADE {scene_err:.3f}")
    print("first covariance:")
    print(dist.covariance_matrix[0, 0].round(decimals=3))
    print("log_prob shape:", tuple(dist.log_prob(fut).shape), "event:", dist.event_shape)
