"""A Point Transformer encoder feeding a convolutional occupancy network (ConvONet-style), in
plain torch as the reference implementations write them: k-NN by ``cdist`` + ``topk``,
neighbour features gathered with batched advanced indexing, vector self-attention
(``softmax`` over the neighbour axis of ``gamma(phi(x_i) - psi(x_j) + delta_ij)``) with a
learned relative-position encoding and ``LayerNorm``; point features are splatted into a 3-D
feature volume with ``scatter_add_`` / mean pooling, refined by ``Conv3d``, and read back at query
points with trilinear ``F.grid_sample`` on a 5-D input (``align_corners=True``,
``padding_mode='border'``); an MLP decodes occupancy logits, trained with
``BCEWithLogitsLoss(pos_weight=...)`` and Adam + ``ExponentialLR``. Evaluation: volumetric IoU
and surface normals of the implicit function from ``torch.func.vmap(torch.func.grad(...))``
checked against ``torch.autograd.grad``. Runs in float64 so that ``topk`` neighbour choices do
not depend on BLAS rounding. Everything is drawn from ``torch.manual_seed``."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
N_POINTS, K, RES, N_QUERY = 64, 8, 8, 128


def knn(x, k):
    return torch.cdist(x, x).topk(k, dim=-1, largest=False).indices  # (B, N, k)


def gather_neighbours(feat, idx):
    """feat (B, N, C), idx (B, N, k) -> (B, N, k, C)."""
    b = torch.arange(feat.shape[0]).view(-1, 1, 1)
    return feat[b, idx]


class PointTransformerLayer(nn.Module):
    def __init__(self, dim, k):
        super().__init__()
        self.k = k
        self.phi = nn.Linear(dim, dim)
        self.psi = nn.Linear(dim, dim)
        self.alpha = nn.Linear(dim, dim)
        self.delta = nn.Sequential(nn.Linear(3, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.gamma = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.norm = nn.LayerNorm(dim)

    def forward(self, xyz, feat, idx):
        q = self.phi(feat).unsqueeze(2)  # (B, N, 1, C)
        k = gather_neighbours(self.psi(feat), idx)  # (B, N, k, C)
        v = gather_neighbours(self.alpha(feat), idx)
        rel = xyz.unsqueeze(2) - gather_neighbours(xyz, idx)  # (B, N, k, 3)
        pos = self.delta(rel)
        attn = F.softmax(self.gamma(q - k + pos) / math.sqrt(feat.shape[-1]), dim=-2)
        out = torch.einsum("bnkc,bnkc->bnc", attn, v + pos)
        return self.norm(feat + out), attn


class ConvOccNet(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.embed = nn.Linear(3, dim)
        self.blocks = nn.ModuleList([PointTransformerLayer(dim, K) for _ in range(2)])
        self.unet = nn.Sequential(
            nn.Conv3d(dim, dim, 3, padding=1), nn.ReLU(), nn.Conv3d(dim, dim, 3, padding=1)
        )
        self.decoder = nn.Sequential(
            nn.Linear(dim + 3, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
        )
        self.dim = dim

    def encode(self, xyz):
        idx = knn(xyz, K)
        feat = self.embed(xyz)
        for block in self.blocks:
            feat, attn = block(xyz, feat, idx)
        B = xyz.shape[0]
        cell = ((xyz + 1) / 2 * RES).long().clamp(0, RES - 1)
        flat = (cell[..., 0] * RES + cell[..., 1]) * RES + cell[..., 2]  # (B, N)
        vol = torch.zeros(B, self.dim, RES**3)
        vol = vol.scatter_add(2, flat.unsqueeze(1).expand(-1, self.dim, -1), feat.transpose(1, 2))
        cnt = torch.zeros(B, 1, RES**3).scatter_add_(
            2, flat.unsqueeze(1), torch.ones(B, 1, xyz.shape[1])
        )
        vol = (vol / cnt.clamp_min(1)).view(B, self.dim, RES, RES, RES)
        return vol + self.unet(vol), attn

    def decode(self, vol, query):
        # grid_sample's last grid axis is (x, y, z) = (W, H, D): our volume is indexed [i, j, k]
        # along (D, H, W), so the coordinates are flipped.
        grid = query.flip(-1).view(query.shape[0], -1, 1, 1, 3)
        f = F.grid_sample(vol, grid, mode="bilinear", padding_mode="border", align_corners=True)
        f = f.view(vol.shape[0], self.dim, -1).transpose(1, 2)
        return self.decoder(torch.cat([f, query], dim=-1)).squeeze(-1)

    def forward(self, xyz, query):
        vol, attn = self.encode(xyz)
        return self.decode(vol, query), attn


def make_sample(n_pts, n_q):
    """Ellipsoid with random radii: surface points and labelled query points."""
    radii = 0.35 + 0.4 * torch.rand(3)
    d = F.normalize(torch.randn(n_pts, 3), dim=1)
    surface = d * radii + 0.01 * torch.randn(n_pts, 3)
    query = torch.rand(n_q, 3) * 1.8 - 0.9
    inside = ((query / radii) ** 2).sum(-1) < 1
    return surface, query, inside.to(torch.get_default_dtype())


data = [make_sample(N_POINTS, N_QUERY) for _ in range(20)]
surf = torch.stack([d[0] for d in data])
qry = torch.stack([d[1] for d in data])
occ = torch.stack([d[2] for d in data])
print(
    "surface", tuple(surf.shape), "query", tuple(qry.shape), f"inside frac {occ.mean().item():.4f}"
)

model = ConvOccNet()
print("params", sum(p.numel() for p in model.parameters()))
pos_weight = (1 - occ[:16].mean()) / occ[:16].mean()
criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
for epoch in range(8):
    model.train()
    total = 0.0
    for i in range(0, 16, 4):
        logits, attn = model(surf[i : i + 4], qry[i : i + 4])
        loss = criterion(logits, occ[i : i + 4])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    sched.step()
    print(
        f"epoch {epoch} loss {total / 4:.4f} lr {sched.get_last_lr()[0]:.5f}",
        f"attn max {attn.amax(-2).mean().item():.4f}",
    )

model.eval()
with torch.no_grad():
    logits, _ = model(surf[16:], qry[16:])
    pred = logits > 0
    gt = occ[16:].bool()
    iou = (pred & gt).sum(-1).float() / (pred | gt).sum(-1).clamp_min(1).float()
print(
    "test iou", [f"{v:.4f}" for v in iou.tolist()], f"acc {(pred == gt).float().mean().item():.4f}"
)

# Normals of the implicit surface: gradient of the logit w.r.t. the query point.
with torch.no_grad():
    vol, _ = model.encode(surf[16:17])
params = {k: v.detach() for k, v in model.named_parameters()}


with torch.no_grad():
    fc_logits, _ = functional_call(model, params, (surf[16:17], qry[16:17]))
print("functional_call matches", torch.allclose(fc_logits, logits[:1]))


def logit_at(p, volume):
    return model.decode(volume, p.view(1, 1, 3)).squeeze()


pts = qry[16, :6].clone()
g_func = vmap(grad(logit_at), in_dims=(0, None))(pts, vol)
pts_req = pts.clone().requires_grad_(True)
(g_auto,) = torch.autograd.grad(model.decode(vol, pts_req.unsqueeze(0)).sum(), pts_req)
print("func grad == autograd", torch.allclose(g_func, g_auto, atol=1e-10))
normals = F.normalize(-g_func, dim=-1)
print(
    "normal . radial", [f"{v:.4f}" for v in (normals * F.normalize(pts, dim=-1)).sum(-1).tolist()]
)
print("grad norms", [f"{v:.4f}" for v in g_func.norm(dim=-1).tolist()])
