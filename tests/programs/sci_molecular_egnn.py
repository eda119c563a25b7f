"""Machine-learned interatomic potentials, the way SchNet/EGNN-style repositories (Satorras et
al.'s ``egnn``, the SchNetPack and NequIP tutorials) write them in plain PyTorch: Lennard-Jones
reference energies over ``torch.pdist``/``torch.triu_indices``, forces as
``-torch.autograd.grad(E.sum(), pos, create_graph=True)``, a velocity-Verlet trajectory, radial
basis functions from ``torch.special.spherical_bessel_j0`` / ``torch.sinc`` with a cosine
cutoff, an E(n)-equivariant GNN whose messages are gathered with ``index_add_`` and
``scatter_reduce`` ('sum', 'amax'), per-molecule readout from a ``batch`` vector, energy +
force matching, and checks of rotation invariance (orthogonal matrices from
``torch.linalg.qr``) and of chirality with ``torch.cross`` / ``torch.linalg.det``."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)
n_atoms, n_mol = 5, 24


def random_cluster(n, min_dist=0.95):
    """Atoms placed one by one in a box, rejecting ones closer than ``min_dist``."""
    pos = torch.zeros(1, 3)
    while pos.shape[0] < n:
        cand = pos.mean(0) + 1.2 * (torch.rand(3) * 2 - 1)
        if torch.cdist(cand[None], pos).min() > min_dist:
            pos = torch.cat([pos, cand[None]])
    return pos - pos.mean(0)


def lj_energy(pos, eps=1.0, sigma=1.0):
    """Lennard-Jones energy of one cluster (each pair once)."""
    r = torch.pdist(pos)
    sr6 = (sigma / r) ** 6
    return (4 * eps * (sr6 ** 2 - sr6)).sum()


positions = torch.stack([random_cluster(n_atoms) for _ in range(n_mol)])
pos = positions.clone().requires_grad_(True)
energies = torch.stack([lj_energy(p) for p in pos])
forces = -torch.autograd.grad(energies.sum(), pos)[0]
print("clusters", tuple(positions.shape), "E[:4]", [round(e, 4) for e in energies[:4].tolist()])
print("net force ~ 0:", round(forces.sum(1).abs().max().item(), 4),
      "max |F|", round(forces.norm(dim=-1).max().item(), 3))

# the same pair energy over triu_indices and cdist, and an analytic force check
i, j = torch.triu_indices(n_atoms, n_atoms, offset=1)
d = torch.cdist(positions[0], positions[0])
print("pairs", i.numel(), "pdist == cdist[triu]:",
      torch.allclose(torch.pdist(positions[0]), d[i, j]))
rij = positions[0][i] - positions[0][j]
r = torch.linalg.vector_norm(rij, dim=-1, keepdim=True)
fmag = 24 * (2 * r ** -13 - r ** -7)
f_analytic = torch.zeros(n_atoms, 3).index_add_(0, i, fmag * rij / r).index_add_(
    0, j, -fmag * rij / r)
print("analytic forces match autograd:", torch.allclose(f_analytic, forces[0], atol=1e-3))

# velocity Verlet on the first cluster: the total energy is conserved
x = positions[0].clone()
v = torch.zeros_like(x)
dt, mass = 0.002, 1.0


def force_fn(x):
    x = x.detach().requires_grad_(True)
    e = lj_energy(x)
    return -torch.autograd.grad(e, x)[0], e.detach()


f, e_pot = force_fn(x)
e_start = e_pot + 0.5 * mass * (v ** 2).sum()
for step in range(200):
    v = v + 0.5 * dt * f / mass
    x = x + dt * v
    f, e_pot = force_fn(x)
    v = v + 0.5 * dt * f / mass
e_kin = 0.5 * mass * (v ** 2).sum()
print("MD: potential", round(e_pot.item(), 3), "kinetic", round(e_kin.item(), 3),
      "energy drift", round((e_pot + e_kin - e_start).abs().item(), 3))


def bessel_rbf(r, n_rbf=8, cutoff=2.5):
    """sin(n pi r / rc) / r basis (DimeNet) via spherical_bessel_j0, times a cosine cutoff."""
    n = torch.arange(1, n_rbf + 1, dtype=r.dtype)
    arg = n * math.pi * r / cutoff
    envelope = 0.5 * (torch.cos(math.pi * r / cutoff) + 1.0) * (r < cutoff)
    return math.sqrt(2 / cutoff) * torch.special.spherical_bessel_j0(arg) * n * math.pi \
        / cutoff * envelope


r_probe = torch.tensor([[0.5], [1.0], [2.0]])
sinc_form = torch.sinc(torch.arange(1, 9) * r_probe / 2.5) * math.pi * torch.arange(1, 9) / 2.5
print("j0(x) == sinc(x/pi):", torch.allclose(bessel_rbf(r_probe), math.sqrt(2 / 2.5) * sinc_form
                                              * 0.5 * (torch.cos(math.pi * r_probe / 2.5) + 1),
                                              atol=1e-5),
      "rbf[1]", [round(val, 3) for val in bessel_rbf(r_probe)[1, :4].tolist()])


class EGCL(nn.Module):
    """One E(n)-equivariant graph convolutional layer (Satorras et al. 2021)."""

    def __init__(self, hidden, n_rbf=8):
        super().__init__()
        self.edge_mlp = nn.Sequential(nn.Linear(2 * hidden + n_rbf, hidden), nn.SiLU(),
                                      nn.Linear(hidden, hidden), nn.SiLU())
        self.node_mlp = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.SiLU(),
                                      nn.Linear(hidden, hidden))
        self.coord_mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(),
                                       nn.Linear(hidden, 1, bias=False))
        nn.init.xavier_uniform_(self.coord_mlp[-1].weight, gain=0.001)

    def forward(self, h, x, edge_index):
        row, col = edge_index
        diff = x[row] - x[col]
        dist = torch.linalg.vector_norm(diff, dim=-1, keepdim=True)
        m = self.edge_mlp(torch.cat([h[row], h[col], bessel_rbf(dist)], dim=-1))
        trans = diff / (dist + 1.0) * self.coord_mlp(m)
        x = x + torch.zeros_like(x).index_add_(0, row, trans) / (n_atoms - 1)
        agg_sum = torch.zeros_like(h).index_add_(0, row, m)
        agg_max = torch.zeros_like(h).scatter_reduce(0, row[:, None].expand_as(m), m,
                                                     reduce="amax", include_self=False)
        h = h + self.node_mlp(torch.cat([h, agg_sum, agg_max], dim=-1))
        return h, x


class EGNN(nn.Module):
    def __init__(self, hidden=16, layers=2):
        super().__init__()
        self.embed = nn.Embedding(2, hidden)
        self.layers = nn.ModuleList(EGCL(hidden) for _ in range(layers))
        self.readout = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, species, pos, edge_index, batch, num_graphs):
        h, x = self.embed(species), pos
        for layer in self.layers:
            h, x = layer(h, x, edge_index)
        atom_e = self.readout(h).squeeze(-1)
        return torch.zeros(num_graphs, dtype=atom_e.dtype).scatter_reduce(
            0, batch, atom_e, reduce="sum")


def batch_graphs(pos):
    """Fully connected graphs (no self loops) of a (mol, atoms, 3) batch, flattened."""
    n_m, n_a = pos.shape[:2]
    src, dst = torch.meshgrid(torch.arange(n_a), torch.arange(n_a), indexing="ij")
    keep = src != dst
    offsets = (torch.arange(n_m) * n_a).repeat_interleave(keep.sum())
    edge_index = torch.stack([src[keep].repeat(n_m), dst[keep].repeat(n_m)]) + offsets
    batch = torch.arange(n_m).repeat_interleave(n_a)
    return pos.reshape(-1, 3), edge_index, batch


species = torch.zeros(n_mol * n_atoms, dtype=torch.long)
flat_pos, edge_index, batch = batch_graphs(positions)
print("edges", tuple(edge_index.shape), "atoms per molecule", torch.bincount(batch).tolist()[:3])
model = EGNN()
e_mean, e_std = energies.mean().detach(), energies.std().detach()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
for epoch in range(60):
    p = flat_pos.clone().requires_grad_(True)
    pred = model(species, p, edge_index, batch, n_mol) * e_std + e_mean
    pred_f = -torch.autograd.grad(pred.sum(), p, create_graph=True)[0]
    loss_e = F.mse_loss(pred, energies.detach())
    loss_f = F.mse_loss(pred_f, forces.reshape(-1, 3))
    loss = loss_e / e_std ** 2 + 0.1 * loss_f
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 20 == 19:
        print(f"epoch {epoch + 1} energy mse {loss_e.item():.2f} force mse {loss_f.item():.2f}")

# invariance: rotate and translate every molecule; energies stay, forces rotate along
Q, R = torch.linalg.qr(torch.randn(3, 3))
Q = Q * torch.sign(torch.diagonal(R))           # a uniformly random orthogonal matrix
print("orthogonal:", torch.allclose(Q @ Q.T, torch.eye(3), atol=1e-6),
      "det", round(torch.linalg.det(Q).abs().item(), 4))
p1 = flat_pos.clone().requires_grad_(True)
p2 = (flat_pos @ Q.T + torch.tensor([0.3, -1.0, 2.0])).requires_grad_(True)
e1 = model(species, p1, edge_index, batch, n_mol)
e2 = model(species, p2, edge_index, batch, n_mol)
f1 = torch.autograd.grad(e1.sum(), p1)[0]
f2 = torch.autograd.grad(e2.sum(), p2)[0]
print("energy invariant:", torch.allclose(e1, e2, atol=1e-4),
      "forces equivariant:", torch.allclose(f1 @ Q.T, f2, atol=1e-4))

# chirality: the signed volume of three bonds flips under a reflection, distances do not
a, b, c = (positions[0, k] - positions[0, 0] for k in (1, 2, 3))
vol = torch.dot(torch.cross(a, b, dim=-1), c)
mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))
vol_m = torch.linalg.det(torch.stack([a, b, c]) @ mirror)
print("signed volume", round(vol.item(), 4), "mirrored", round(vol_m.item(), 4),
      "cross == linalg.cross:", torch.equal(torch.cross(a, b, dim=-1), torch.linalg.cross(a, b)))
