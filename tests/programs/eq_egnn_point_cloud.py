"""An E(n)-equivariant graph network (Satorras et al. 2021) on small point clouds.

Messages use only invariant quantities (features and squared distances); coordinates move
along relative vectors, and index_add_ sums messages per receiving node. A random rotation
from the QR decomposition of a Gaussian matrix checks invariance of the predicted energy and
equivariance of the updated coordinates.
"""

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(1)


def fully_connected_edges(n_nodes):
    rows, cols = torch.meshgrid(torch.arange(n_nodes), torch.arange(n_nodes), indexing="ij")
    mask = rows != cols
    return rows[mask], cols[mask]


class EGCL(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.edge_mlp = nn.Sequential(nn.Linear(2 * hidden + 1, hidden), nn.SiLU(),
                                      nn.Linear(hidden, hidden), nn.SiLU())
        self.node_mlp = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(),
                                      nn.Linear(hidden, hidden))
        last = nn.Linear(hidden, 1, bias=False)
        nn.init.xavier_uniform_(last.weight, gain=0.001)
        self.coord_mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), last)

    def forward(self, h, x, row, col):
        diff = x[row] - x[col]
        radial = diff.pow(2).sum(-1, keepdim=True)
        m = self.edge_mlp(torch.cat([h[row], h[col], radial], dim=-1))
        trans = diff * self.coord_mlp(m)
        count = torch.zeros(x.shape[0], 1).index_add_(0, row, torch.ones_like(radial))
        x = x + torch.zeros_like(x).index_add_(0, row, trans) / count.clamp(min=1)
        agg = h.new_zeros(h.shape[0], m.shape[1]).index_add_(0, row, m)
        h = h + self.node_mlp(torch.cat([h, agg], dim=1))
        return h, x


class EGNN(nn.Module):
    def __init__(self, in_dim, hidden, n_layers):
        super().__init__()
        self.embed = nn.Linear(in_dim, hidden)
        self.layers = nn.ModuleList(EGCL(hidden) for _ in range(n_layers))
        self.readout = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, h, x, row, col, graph_index, n_graphs):
        h = self.embed(h)
        for layer in self.layers:
            h, x = layer(h, x, row, col)
        pooled = torch.zeros(n_graphs, h.shape[1]).index_add_(0, graph_index, h)
        return self.readout(pooled).squeeze(-1), x


def random_rotation(dim, generator):
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    if torch.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q.float()


n_graphs, n_nodes, n_types = 16, 5, 3
coords = torch.tensor(rng.standard_normal((n_graphs, n_nodes, 3)), dtype=torch.float32)
types = torch.tensor(rng.integers(0, n_types, (n_graphs, n_nodes)))
# a toy "energy": pairwise 1/(1+r^2) weighted by type products
d2 = torch.cdist(coords, coords).pow(2)
w = (types.unsqueeze(-1) + 1) * (types.unsqueeze(-2) + 1)
energy = (w / (1 + d2)).triu(diagonal=1).sum((-2, -1)) / 10
print("energy mean/std:", f"{energy.mean():.4f}", f"{energy.std():.4f}")

row1, col1 = fully_connected_edges(n_nodes)
print("edges per graph:", row1.numel(), "first:", list(zip(row1[:4].tolist(), col1[:4].tolist())))

loader = DataLoader(TensorDataset(coords, types, energy), batch_size=8, shuffle=True,
                    generator=torch.Generator().manual_seed(0))


def batch_graph(xb, tb):
    b = xb.shape[0]
    offsets = (torch.arange(b) * n_nodes).repeat_interleave(row1.numel())
    row = row1.repeat(b) + offsets
    col = col1.repeat(b) + offsets
    graph_index = torch.arange(b).repeat_interleave(n_nodes)
    h = nn.functional.one_hot(tb.reshape(-1), n_types).to(torch.float32)
    return h, xb.reshape(-1, 3), row, col, graph_index, b


model = EGNN(n_types, 16, 2)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=15)
for epoch in range(15):
    total = 0.0
    for xb, tb, eb in loader:
        pred, _ = model(*batch_graph(xb, tb))
        loss = nn.functional.smooth_l1_loss(pred, eb, beta=0.5)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * xb.shape[0]
    sched.step()
    if epoch % 5 == 4:
        print(f"epoch {epoch + 1:2d} loss {total / n_graphs:.4f}")

gen = torch.Generator().manual_seed(3)
rot = random_rotation(3, gen)
print("orthogonal:", torch.allclose(rot.T @ rot, torch.eye(3), atol=1e-6),
      "det:", f"{torch.linalg.det(rot).item():.4f}")
shift = torch.randn(1, 3, generator=gen)

model.eval()
with torch.no_grad():
    h, x, row, col, gi, b = batch_graph(coords[:4], types[:4])
    e0, x0 = model(h, x, row, col, gi, b)
    e1, x1 = model(h, x @ rot.T + shift, row, col, gi, b)
    print("energy invariant:", torch.allclose(e0, e1, atol=1e-4))
    print("coords equivariant:", torch.allclose(x0 @ rot.T + shift, x1, atol=1e-4))
    perm = torch.randperm(n_nodes, generator=gen)
    e2, _ = model(*batch_graph(coords[:4, perm], types[:4, perm]))
    print("permutation invariant:", torch.allclose(e0, e2, atol=1e-4))
    print("predicted:", [f"{v:.3f}" for v in e0.tolist()])
    print("target:   ", [f"{v:.3f}" for v in energy[:4].tolist()])

x_req = coords[:2].reshape(-1, 3).clone().requires_grad_(True)
h, _, row, col, gi, b = batch_graph(coords[:2], types[:2])
e, _ = model(h, x_req, row, col, gi, b)
(forces,) = torch.autograd.grad(-e.sum(), x_req)
net_force = forces.view(2, n_nodes, 3).sum(1)
print("forces sum to zero:", torch.allclose(net_force, torch.zeros(2, 3), atol=1e-5))
print("force norm:", f"{forces.norm():.4f}")
