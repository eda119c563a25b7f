"""A message-passing neural network (Gilmer et al.'s MPNN, as chemprop/PyG examples write it) on
small hand-built molecules: atoms one-hot encoded with F.one_hot, bonds stored both ways in an
``edge_index`` with bond-type features, graphs batched PyG-style (node offsets added to
``edge_index``, a ``batch`` vector from repeat_interleave, a ``ptr`` from cumsum), messages
aggregated with ``index_add_`` and ``scatter_reduce`` ("amax", "mean", include_self=False),
node degrees by bincount, a GRUCell update, global mean/max pooling by the batch vector,
to_dense_batch with a mask, unbatching with split, and an edge-level softmax. Targets are
simple molecular descriptors (heavy-atom count, hetero fraction) learned with Adam."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(3)

ATOMS = ["C", "N", "O", "F", "S"]
BONDS = ["single", "double", "triple", "aromatic"]

# name: (atoms, [(i, j, bond type)])
MOLECULES = {
    "ethanol": ("CCO", [(0, 1, 0), (1, 2, 0)]),
    "acetic acid": ("CCOO", [(0, 1, 0), (1, 2, 1), (1, 3, 0)]),
    "acetonitrile": ("CCN", [(0, 1, 0), (1, 2, 2)]),
    "benzene": ("CCCCCC", [(i, (i + 1) % 6, 3) for i in range(6)]),
    "pyridine": ("NCCCCC", [(i, (i + 1) % 6, 3) for i in range(6)]),
    "fluoromethane": ("CF", [(0, 1, 0)]),
    "dimethyl sulfide": ("CSC", [(0, 1, 0), (1, 2, 0)]),
    "urea": ("NCNO", [(0, 1, 0), (1, 2, 0), (1, 3, 1)]),
    "propyne": ("CCC", [(0, 1, 2), (1, 2, 0)]),
    "furan": ("OCCCC", [(i, (i + 1) % 5, 3) for i in range(5)]),
}


def featurize(atoms, bonds):
    """Node features, edge_index (both directions) and edge features of one molecule."""
    z = torch.tensor([ATOMS.index(a) for a in atoms])
    src = [i for i, j, _ in bonds] + [j for i, j, _ in bonds]
    dst = [j for i, j, _ in bonds] + [i for i, j, _ in bonds]
    edge_index = torch.tensor([src, dst], dtype=torch.long)
    btype = torch.tensor([b for _, _, b in bonds] * 2)
    degree = torch.bincount(edge_index[0], minlength=len(atoms))
    x = torch.cat([F.one_hot(z, len(ATOMS)).float(),
                   F.one_hot(degree.clamp(max=3), 4).float()], dim=1)
    edge_attr = F.one_hot(btype, len(BONDS)).to(x.dtype)
    hetero = (z != 0).float().mean()
    y = torch.stack([torch.tensor(float(len(atoms))), hetero])
    return x, edge_index, edge_attr, y


graphs = [featurize(*MOLECULES[name]) for name in MOLECULES]
x0, ei0, ea0, y0 = graphs[0]
print("ethanol x\n", x0)
print("ethanol edge_index\n", ei0)
print("edge_attr", ea0.dtype, tuple(ea0.shape), "y", y0)


def collate(batch):
    """PyG-style batching: one disjoint graph with node offsets and a batch vector."""
    xs, eis, eas, ys = zip(*batch)
    counts = torch.tensor([x.size(0) for x in xs])
    ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    edge_index = torch.cat([ei + ptr[k] for k, ei in enumerate(eis)], dim=1)
    batch_vec = torch.arange(len(xs)).repeat_interleave(counts)
    return torch.cat(xs), edge_index, torch.cat(eas), torch.stack(ys), batch_vec, ptr


x, edge_index, edge_attr, y, batch, ptr = collate(graphs)
print("batched nodes", x.shape[0], "edges", edge_index.shape[1], "graphs", int(batch.max()) + 1)
print("ptr", ptr)
print("batch", batch)
deg = torch.bincount(edge_index[1], minlength=x.size(0))
print("in-degree histogram", torch.bincount(deg))


def global_mean_pool(h, batch, size):
    out = torch.zeros(size, h.size(1), dtype=h.dtype).index_add_(0, batch, h)
    count = torch.bincount(batch, minlength=size).clamp(min=1).unsqueeze(1)
    return out / count


def global_max_pool(h, batch, size):
    index = batch.unsqueeze(1).expand_as(h)
    out = h.new_full((size, h.size(1)), float("-inf"))
    return out.scatter_reduce(0, index, h, reduce="amax", include_self=False)


def to_dense_batch(h, batch, ptr):
    counts = ptr[1:] - ptr[:-1]
    max_n = int(counts.max())
    pos = torch.arange(h.size(0)) - ptr[batch]
    dense = h.new_zeros(counts.numel(), max_n, h.size(1))
    mask = torch.zeros(counts.numel(), max_n, dtype=torch.bool)
    dense[batch, pos] = h
    mask[batch, pos] = True
    return dense, mask


dense, mask = to_dense_batch(x, batch, ptr)
print("dense", tuple(dense.shape), "mask row sums", mask.sum(1))
print("mean pool == dense mean:",
      torch.allclose(global_mean_pool(x, batch, 10), dense.sum(1) / mask.sum(1, keepdim=True)))


class MPNNLayer(nn.Module):
    """Edge network messages, three aggregations, a GRU update."""

    def __init__(self, dim, edge_dim):
        super().__init__()
        self.message = nn.Sequential(nn.Linear(2 * dim + edge_dim, dim), nn.SiLU())
        self.combine = nn.Linear(3 * dim, dim)
        self.update = nn.GRUCell(dim, dim)

    def forward(self, h, edge_index, edge_attr):
        src, dst = edge_index
        m = self.message(torch.cat([h[dst], h[src], edge_attr], dim=-1))
        n, d = h.shape
        summed = torch.zeros(n, d).index_add_(0, dst, m)
        idx = dst.view(-1, 1).expand(-1, d)
        mx = torch.zeros(n, d).scatter_reduce(0, idx, m, reduce="amax", include_self=False)
        mean = torch.zeros(n, d).scatter_reduce(0, idx, m, reduce="mean", include_self=False)
        agg = self.combine(torch.cat([summed, mx, mean], dim=-1))
        return self.update(agg, h)


class MPNN(nn.Module):
    def __init__(self, in_dim, edge_dim, dim=16, steps=3, out_dim=2):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.layers = nn.ModuleList([MPNNLayer(dim, edge_dim) for _ in range(steps)])
        self.readout = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, out_dim))

    def forward(self, x, edge_index, edge_attr, batch, num_graphs):
        h = F.relu(self.embed(x))
        for layer in self.layers:
            h = layer(h, edge_index, edge_attr)
        pooled = torch.cat([global_mean_pool(h, batch, num_graphs),
                            global_max_pool(h, batch, num_graphs)], dim=1)
        return self.readout(pooled), h


model = MPNN(x.size(1), edge_attr.size(1))
print(model.layers[0])
print("parameters", sum(p.numel() for p in model.parameters()))
y_mean, y_std = y.mean(0), y.std(0)
target = (y - y_mean) / y_std
opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.97)
for epoch in range(40):
    order = torch.randperm(len(graphs)).tolist()
    total = 0.0
    for start in range(0, len(order), 5):
        xb, eib, eab, yb, bb, pb = collate([graphs[i] for i in order[start:start + 5]])
        tb = (yb - y_mean) / y_std
        pred, _ = model(xb, eib, eab, bb, yb.size(0))
        loss = F.mse_loss(pred, tb)
        opt.zero_grad()
        loss.backward()
        gn = nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        opt.step()
        total += loss.item() * yb.size(0)
    sched.step()
    if epoch % 10 == 9:
        print("epoch {:2d} loss {:.4f} grad-norm {:.3f} lr {:.5f}".format(
            epoch + 1, total / len(graphs), gn.item(), sched.get_last_lr()[0]))

model.eval()
with torch.no_grad():
    pred, h = model(x, edge_index, edge_attr, batch, 10)
pred = pred * y_std + y_mean
for name, p, t in zip(list(MOLECULES)[:4], pred, y):
    print("{:14s} atoms {:.2f} (true {:.0f}) hetero {:.3f} (true {:.3f})".format(
        name, p[0].item(), t[0].item(), p[1].item(), t[1].item()))
print("MAE per target", torch.round((pred - y).abs().mean(0), decimals=2))

# unbatch node embeddings per molecule and compare molecules by pooled cosine similarity
per_mol = h.split((ptr[1:] - ptr[:-1]).tolist())
print("unbatched sizes", [t.shape[0] for t in per_mol])
emb = F.normalize(torch.stack([t.mean(0) for t in per_mol]), dim=1)
sim = emb @ emb.T
sim.fill_diagonal_(-1.0)
best = sim.argmax(1)
print("nearest neighbour of benzene:", list(MOLECULES)[int(best[3])])

# attention over incoming bonds: an edge softmax per destination atom
score = (h[edge_index[0]] * h[edge_index[1]]).sum(-1)
idx = edge_index[1]
smax = torch.full((x.size(0),), float("-inf")).scatter_reduce(0, idx, score, "amax")
ex = (score - smax[idx]).exp()
den = torch.zeros(x.size(0)).index_add(0, idx, ex)
alpha = ex / den[idx]
print("edge-softmax sums (first 6 atoms):",
      torch.zeros(x.size(0)).index_add(0, idx, alpha)[:6].round(decimals=4))
print("alpha dtype", alpha.dtype, "requires_grad", alpha.requires_grad)

# the classic scatter mistakes: an index not expanded to the messages' shape, or too long
m = torch.ones(edge_index.size(1), 4)
try:
    torch.zeros(x.size(0), 4).scatter_add(0, edge_index[1], m)
except RuntimeError as e:
    print("scatter_add error:", e)
try:
    torch.zeros(x.size(0), 4).scatter_reduce(0, edge_index[1].view(-1, 1).expand(-1, 4),
                                             m[:10], reduce="amax")
except RuntimeError as e:
    print("scatter_reduce error:", e)
try:
    torch.zeros(x.size(0)).scatter_add(0, edge_index[1], torch.tensor(1.0))
except RuntimeError as e:
    print("0-d src error:", e)
print("empty index is a no-op:",
      torch.equal(x, x.scatter_add(0, torch.zeros(0, 9, dtype=torch.long), x)))
try:
    torch.zeros(3).scatter_reduce(0, torch.tensor([0, 1]), torch.ones(2), reduce="maximum")
except RuntimeError as e:
    print("scatter_reduce error:", str(e).split("\n")[0])
try:
    torch.zeros(3, 2).index_add_(0, torch.tensor([0, 5]), torch.ones(2, 2))
except (IndexError, RuntimeError) as e:
    print("index_add_ error:", type(e).__name__)
