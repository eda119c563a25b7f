"""Protein contact-map prediction in the manner of RaptorX/trRosetta-style scripts: synthetic
C-alpha traces (a random walk of fixed bond length), pairwise distances with torch.cdist and
F.pdist, contacts below 8 Angstrom with |i-j| >= 6, radial-basis distance features, 1-D
sequence features turned into 2-D pair features by outer concatenation (expand + cat), a
dilated residual 2-D CNN whose output is symmetrised ((x + x^T) / 2), a masked
binary_cross_entropy_with_logits over the upper triangle (triu_indices), and the usual
evaluation: precision of the top L/5 long-range predictions, and distance-bin
classification (bucketize) scored with cross_entropy over a distogram."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(5)
L, B = 24, 6


def random_trace(n):
    steps = rng.normal(size=(n, 3))
    steps /= np.linalg.norm(steps, axis=1, keepdims=True)
    # bias successive steps to fold back on themselves (helix-like compaction)
    for i in range(2, n):
        steps[i] = 0.55 * steps[i] - 0.45 * steps[i - 2]
        steps[i] /= np.linalg.norm(steps[i])
    return np.cumsum(3.8 * steps, axis=0)


coords = torch.tensor(np.stack([random_trace(L) for _ in range(B)]), dtype=torch.float32)
seq = torch.from_numpy(rng.integers(0, 20, size=(B, L)))
print("coords", tuple(coords.shape), coords.dtype)

dist = torch.cdist(coords, coords, compute_mode="donot_use_mm_for_euclid_dist")
bond = dist.diagonal(offset=1, dim1=1, dim2=2)
print("bond lengths mean {:.4f} all within 1e-5: {}".format(
    bond.mean().item(), bool(((bond - 3.8).abs() < 1e-5).all())))
pd = F.pdist(coords[0])
iu = torch.triu_indices(L, L, offset=1)
print("pdist matches cdist:", torch.allclose(pd, dist[0][iu[0], iu[1]], atol=1e-5),
      "pairs", pd.numel())
print("radius of gyration", torch.round(
    (coords - coords.mean(1, keepdim=True)).pow(2).sum(-1).mean(-1).sqrt(), decimals=3))

sep = (torch.arange(L)[None, :] - torch.arange(L)[:, None]).abs()
valid = sep >= 6
contacts = ((dist < 8.0) & valid).float()
print("contacts per protein", contacts.sum((1, 2)).div(2).long().tolist())
print("contact density {:.4f}".format((contacts.sum() / (valid.sum() * B)).item()))

# distance bins (distogram targets)
edges = torch.tensor([4.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0])
bins = torch.bucketize(dist, edges)
print("bin histogram", torch.bincount(bins.flatten(), minlength=len(edges) + 1).tolist())

# radial basis features of neighbouring C-alphas, used as extra 1-D input
centers = torch.linspace(2.0, 22.0, 8)
rbf = torch.exp(-((dist[..., None] - centers) ** 2) / (2 * 2.5 ** 2))      # (B, L, L, 8)
neigh = (rbf * valid[..., None]).sum(2) / valid.sum(1).view(1, L, 1)
print("rbf", tuple(rbf.shape), "neigh feature mean {:.4f}".format(neigh.mean().item()))


def outer_concat(h):
    """(B, L, C) -> (B, 2C, L, L): pair (i, j) holds [h_i, h_j]."""
    n = h.shape[1]
    hi = h.unsqueeze(2).expand(-1, -1, n, -1)
    hj = h.unsqueeze(1).expand(-1, n, -1, -1)
    return torch.cat([hi, hj], dim=-1).permute(0, 3, 1, 2)


class ResBlock2d(nn.Module):
    def __init__(self, c, dilation):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation, bias=False)
        self.norm1 = nn.InstanceNorm2d(c, affine=True)
        self.conv2 = nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation, bias=False)
        self.norm2 = nn.InstanceNorm2d(c, affine=True)

    def forward(self, x):
        h = F.elu(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        return F.elu(x + h)


class ContactNet(nn.Module):
    def __init__(self, c1=8, c2=12, n_bins=8):
        super().__init__()
        self.embed = nn.Embedding(20, c1)
        self.conv1d = nn.Conv1d(c1 + 8, c1, 5, padding=2)
        self.proj = nn.Conv2d(2 * c1 + 1, c2, 1)
        self.blocks = nn.Sequential(*[ResBlock2d(c2, d) for d in (1, 2, 4)])
        self.contact = nn.Conv2d(c2, 1, 1)
        self.disto = nn.Conv2d(c2, n_bins, 1)

    def forward(self, seq, neigh, sep):
        h = torch.cat([self.embed(seq), neigh], dim=-1)
        h = F.relu(self.conv1d(h.transpose(1, 2))).transpose(1, 2)
        pair = outer_concat(h)
        rel = (sep.float().log1p() / 4)[None, None].expand(h.shape[0], 1, -1, -1)
        x = self.blocks(self.proj(torch.cat([pair, rel], dim=1)))
        x = 0.5 * (x + x.transpose(-1, -2))                   # symmetric pair features
        return self.contact(x).squeeze(1), self.disto(x)


model = ContactNet()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))
logits, disto = model(seq, neigh, sep)
print("contact logits", tuple(logits.shape), "symmetric",
      torch.equal(logits, logits.transpose(1, 2)))
print("distogram", tuple(disto.shape))

upper = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=6)
opt = torch.optim.RMSprop(model.parameters(), lr=3e-3, alpha=0.9, momentum=0.5)
for it in range(8):
    logits, disto = model(seq, neigh, sep)
    pos_frac = contacts[:, upper].mean()
    loss_c = F.binary_cross_entropy_with_logits(
        logits[:, upper], contacts[:, upper],
        pos_weight=((1 - pos_frac) / pos_frac).clamp(max=10.0))
    loss_d = F.cross_entropy(disto, bins, reduction="none")[:, upper].mean()
    loss = loss_c + 0.5 * loss_d
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 2 == 1:
        print("iter {} contact {:.4f} distogram {:.4f}".format(it, loss_c.item(), loss_d.item()))


def top_l_precision(logit, target, k_div=5, min_sep=12):
    mask = torch.triu(torch.ones_like(target, dtype=torch.bool), diagonal=min_sep)
    scores = logit.masked_fill(~mask, float("-inf")).flatten()
    k = max(1, target.shape[0] // k_div)
    top = scores.topk(k).indices
    return target.flatten()[top].mean()


with torch.no_grad():
    logits, disto = model(seq, neigh, sep)
precisions = torch.stack([top_l_precision(logits[b], contacts[b]) for b in range(B)])
print("top-L/5 long-range precision per protein", torch.round(precisions, decimals=2))
probs = disto.softmax(1)
mids = torch.cat([edges[:1] - 1, (edges[1:] + edges[:-1]) / 2, edges[-1:] + 2])
expected_dist = (probs * mids.view(1, -1, 1, 1)).sum(1)
err = (expected_dist - dist)[:, upper].abs()
print("expected-distance MAE {:.3f} median {:.3f}".format(err.mean().item(),
                                                          err.median().item()))
rank_corr = torch.corrcoef(torch.stack([expected_dist[:, upper].flatten(),
                                        dist[:, upper].flatten()]))[0, 1]
print("pearson(expected, true) {:.4f}".format(rank_corr.item()))
print("first protein contact probs (4x4 corner):")
print(torch.sigmoid(logits[0, :4, 8:12]).round(decimals=3))
