"""A SchNet-style neural network potential trained on energies and forces, as SchNetPack /
TorchANI-style scripts write it in plain PyTorch: random conformers of a small molecule
(float64 coordinates), neighbour lists from torch.cdist under a cutoff, Gaussian radial basis
with a cosine cutoff, continuous-filter convolutions aggregated with index_add, shifted
softplus, per-atom energies summed per molecule with scatter_add over a batch vector, forces as
-dE/dx from torch.autograd.grad(create_graph=True) so the force-matching loss trains through a
second derivative, a harmonic reference potential for the labels, ReduceLROnPlateau, and a
check of the learned forces against torch.func.grad and of rotation invariance with an
orthogonal matrix from torch.linalg.qr."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(17)
torch.set_default_dtype(torch.float64)

# a water-like triatomic and a methane-like pentatomic molecule, perturbed conformers
BASE = {
    "water": (torch.tensor([8, 1, 1]),
              torch.tensor([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])),
    "methane": (torch.tensor([6, 1, 1, 1, 1]),
                torch.tensor([[0.0, 0.0, 0.0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63],
                              [-0.63, 0.63, -0.63], [0.63, -0.63, -0.63]])),
}
R0 = {(8, 1): 0.96, (6, 1): 1.09, (1, 1): 1.6}


def reference_energy(z, pos):
    """A harmonic bond-stretch potential over all pairs within 2 Å (the 'quantum' labels)."""
    d = torch.cdist(pos, pos)
    i, j = torch.triu_indices(len(z), len(z), 1)
    r0 = torch.tensor([R0[tuple(sorted((int(z[a]), int(z[b])), reverse=True))]
                       for a, b in zip(i.tolist(), j.tolist())])
    k = torch.where(d[i, j] < 2.0, 5.0, 0.0)
    return (k * (d[i, j] - r0) ** 2).sum()


def make_conformers(name, n):
    z, pos0 = BASE[name]
    data = []
    for _ in range(n):
        pos = (pos0 + torch.from_numpy(rng.normal(0, 0.05, pos0.shape))).requires_grad_(True)
        e = reference_energy(z, pos)
        (f,) = torch.autograd.grad(-e, pos)
        data.append((z, pos.detach(), e.detach(), f))
    return data


data = make_conformers("water", 8) + make_conformers("methane", 8)
print("conformers", len(data), "dtype", data[0][1].dtype)
print("water energy {:.5f}, max force {:.4f}".format(data[0][2].item(),
                                                     data[0][3].abs().max().item()))
print("net force on a conformer ~0:", bool(data[0][3].sum(0).abs().max() < 1e-12))


def collate(items):
    zs, pos, es, fs = zip(*items)
    counts = torch.tensor([len(z) for z in zs])
    batch = torch.repeat_interleave(torch.arange(len(zs)), counts)
    return torch.cat(zs), torch.cat(pos), torch.stack(es), torch.cat(fs), batch


def radius_graph(pos, batch, cutoff):
    """Directed edges between atoms of the same molecule closer than ``cutoff``."""
    d = torch.cdist(pos, pos)
    same = batch[:, None] == batch[None, :]
    adj = (d < cutoff) & same & ~torch.eye(len(pos), dtype=torch.bool)
    return adj.nonzero().t()


class GaussianRBF(nn.Module):
    def __init__(self, n=8, cutoff=2.5):
        super().__init__()
        self.register_buffer("centers", torch.linspace(0.0, cutoff, n))
        self.gamma = 0.5 / (self.centers[1] - self.centers[0]) ** 2
        self.cutoff = cutoff

    def forward(self, r):
        rbf = torch.exp(-self.gamma * (r[:, None] - self.centers) ** 2)
        fcut = 0.5 * (torch.cos(r * math.pi / self.cutoff) + 1.0) * (r < self.cutoff)
        return rbf * fcut[:, None]


def ssp(x):
    return F.softplus(x) - math.log(2.0)


class Interaction(nn.Module):
    def __init__(self, dim, n_rbf):
        super().__init__()
        self.filter = nn.Sequential(nn.Linear(n_rbf, dim), nn.Tanh(), nn.Linear(dim, dim))
        self.in2f = nn.Linear(dim, dim, bias=False)
        self.out = nn.Linear(dim, dim)

    def forward(self, h, rbf, edge_index):
        src, dst = edge_index
        msg = self.in2f(h)[src] * self.filter(rbf)
        agg = torch.zeros_like(h).index_add(0, dst, msg)
        return h + self.out(ssp(agg))


class SchNet(nn.Module):
    def __init__(self, dim=16, n_rbf=8, n_interactions=2, cutoff=2.5):
        super().__init__()
        self.embedding = nn.Embedding(10, dim)
        self.rbf = GaussianRBF(n_rbf, cutoff)
        self.interactions = nn.ModuleList(Interaction(dim, n_rbf) for _ in range(n_interactions))
        self.head = nn.Sequential(nn.Linear(dim, dim // 2), nn.Tanh(), nn.Linear(dim // 2, 1))
        self.cutoff = cutoff

    def forward(self, z, pos, batch, n_mol):
        edge_index = radius_graph(pos, batch, self.cutoff)
        r = (pos[edge_index[0]] - pos[edge_index[1]]).norm(dim=-1)
        rbf = self.rbf(r)
        h = self.embedding(z)
        for block in self.interactions:
            h = block(h, rbf, edge_index)
        atom_e = self.head(h).squeeze(-1)
        return torch.zeros(n_mol).scatter_add(0, batch, atom_e)


def energy_and_forces(model, z, pos, batch, n_mol, training):
    pos = pos.requires_grad_(True)
    e = model(z, pos, batch, n_mol)
    (grad,) = torch.autograd.grad(e.sum(), pos, create_graph=training)
    return e, -grad


model = SchNet()
print(model.interactions[0])
print("parameter dtype", next(model.parameters()).dtype)
energies = torch.stack([d[2] for d in data])
e_mean, e_std = energies.mean(), energies.std()
print("energy mean {:.4f} std {:.4f}".format(e_mean.item(), e_std.item()))
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
rho = 0.9  # weight of the force term
for epoch in range(12):
    perm = torch.randperm(len(data)).tolist()
    total = 0.0
    for start in range(0, len(perm), 8):
        z, pos, e_ref, f_ref, batch = collate([data[i] for i in perm[start:start + 8]])
        e, f = energy_and_forces(model, z, pos.clone(), batch, len(e_ref), training=True)
        loss = ((1 - rho) * F.mse_loss(e, (e_ref - e_mean) / e_std)
                + rho * F.mse_loss(f, f_ref / e_std))
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    sched.step(total)
    if epoch % 4 == 3:
        print("epoch {:2d} loss {:.5f} lr {:.4f}".format(epoch + 1, total / 2,
                                                         opt.param_groups[0]["lr"]))

z, pos, e_ref, f_ref, batch = collate(data[:2] + data[-2:])
e, f = energy_and_forces(model, z, pos.clone(), batch, 4, training=False)
e = e.detach() * e_std + e_mean
f = f * e_std
print("energies", e.round(decimals=3), "reference", e_ref.round(decimals=3))
cos = F.cosine_similarity(f.flatten(), f_ref.flatten(), dim=0)
print("force MAE {:.4f} cosine {:.3f}".format((f - f_ref).abs().mean().item(), cos.item()))

# the same forces from torch.func on one molecule
z1, pos1 = data[0][0], data[0][1]
b1 = torch.zeros(len(z1), dtype=torch.long)
f_func = -torch.func.grad(lambda p: model(z1, p, b1, 1).sum())(pos1)
f_auto = energy_and_forces(model, z1, pos1.clone(), b1, 1, training=False)[1]
print("torch.func.grad == autograd.grad:", torch.allclose(f_func, f_auto))

# rotation invariance of the energy, equivariance of the forces
q, _ = torch.linalg.qr(torch.from_numpy(rng.normal(size=(3, 3))))
e_rot, f_rot = energy_and_forces(model, z1, (pos1 @ q.T).clone(), b1, 1, training=False)
e_0 = model(z1, pos1, b1, 1)
print("det(Q) {:.1f}, energy change below 1e-10: {}".format(
    torch.linalg.det(q).item(), bool((e_rot - e_0).abs() < 1e-10)))
print("invariant:", torch.allclose(e_rot, e_0), "equivariant:", torch.allclose(f_rot, f_auto @ q.T))

# a Hessian at one conformer: harmonic frequencies from its eigenvalues
hess = torch.autograd.functional.hessian(lambda p: model(z1, p, b1, 1).sum(), pos1)
evals = torch.linalg.eigvalsh(hess.reshape(9, 9))
print("hessian", tuple(hess.shape), "symmetric:", torch.allclose(hess.reshape(9, 9),
                                                             hess.reshape(9, 9).T))
print("near-zero modes (translations/rotations):", int((evals.abs() < 1e-6 * e_std).sum()))
torch.set_default_dtype(torch.float32)
print("default dtype restored:", torch.get_default_dtype(), torch.ones(1).dtype)
