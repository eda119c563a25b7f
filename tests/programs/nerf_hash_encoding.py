"""Multi-resolution hash encoding, after instant-ngp's paper and its plain-PyTorch ports
(e.g. HashNeRF-pytorch's hash_encoding.py): per level a grid resolution growing geometrically,
the 8 voxel corners around each point found with ``torch.floor`` and a corner-offset table built
with bit shifts, corner indices hashed by multiplying int64 coordinates with large primes and
folding them with ``torch.bitwise_xor`` then masking with ``&`` (the table size is a power of
two), learnable features in an ``nn.Embedding`` initialised with ``uniform_(-1e-4, 1e-4)``, and
trilinear interpolation written by hand from ``torch.frac`` weights. A tiny MLP on the
concatenated levels fits a signed-distance field of a torus; Adam uses eps=1e-15 as instant-ngp
does and a ``LambdaLR`` warm-up then decay. Hash collisions are counted with
``torch.unique(return_counts=True)``.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
PRIMES = torch.tensor([1, 2654435761, 805459861], dtype=torch.int64)
# corner k of a voxel sits at offset (bit0, bit1, bit2) of k
BOX_OFFSETS = (torch.arange(8).unsqueeze(-1) >> torch.arange(3)) & 1


def hash_coords(coords, log2_hashmap_size):
    """coords: int64 [..., 3] -> table index in [0, 2**log2_hashmap_size)."""
    x = coords * PRIMES
    h = torch.bitwise_xor(torch.bitwise_xor(x[..., 0], x[..., 1]), x[..., 2])
    return h & ((1 << log2_hashmap_size) - 1)


class HashEmbedder(nn.Module):
    def __init__(self, bounding_box, n_levels=6, n_features_per_level=2, log2_hashmap_size=10,
                 base_resolution=4, finest_resolution=32):
        super().__init__()
        self.box_min, self.box_max = bounding_box
        self.n_levels = n_levels
        self.n_features_per_level = n_features_per_level
        self.log2_hashmap_size = log2_hashmap_size
        self.out_dim = n_levels * n_features_per_level
        self.b = math.exp((math.log(finest_resolution) - math.log(base_resolution))
                          / (n_levels - 1))
        self.resolutions = [math.floor(base_resolution * self.b ** i) for i in range(n_levels)]
        self.embeddings = nn.ModuleList([nn.Embedding(2 ** log2_hashmap_size, n_features_per_level)
                                         for _ in range(n_levels)])
        for emb in self.embeddings:
            nn.init.uniform_(emb.weight, a=-0.0001, b=0.0001)

    def trilinear_interp(self, x, voxel_min_vertex, voxel_max_vertex, voxel_embedds):
        # x, voxel_min_vertex, voxel_max_vertex: [B, 3]; voxel_embedds: [B, 8, F]
        weights = (x - voxel_min_vertex) / (voxel_max_vertex - voxel_min_vertex)
        w = weights[:, None, :]                       # [B, 1, 3]
        bits = BOX_OFFSETS.to(x.dtype)[None]          # [1, 8, 3]
        corner_w = torch.prod(bits * w + (1 - bits) * (1 - w), dim=-1)  # [B, 8]
        return (corner_w[..., None] * voxel_embedds).sum(1)

    def get_voxel_vertices(self, xyz, resolution):
        grid_size = (self.box_max - self.box_min) / resolution
        bottom_left_idx = torch.floor((xyz - self.box_min) / grid_size).long()
        voxel_min_vertex = bottom_left_idx * grid_size + self.box_min
        voxel_max_vertex = voxel_min_vertex + grid_size
        voxel_indices = bottom_left_idx.unsqueeze(1) + BOX_OFFSETS
        hashed = hash_coords(voxel_indices, self.log2_hashmap_size)
        return voxel_min_vertex, voxel_max_vertex, hashed

    def forward(self, x):
        x_embedded_all = []
        for i in range(self.n_levels):
            vmin, vmax, hashed = self.get_voxel_vertices(x, self.resolutions[i])
            voxel_embedds = self.embeddings[i](hashed)
            x_embedded_all.append(self.trilinear_interp(x, vmin, vmax, voxel_embedds))
        return torch.cat(x_embedded_all, dim=-1)


def torus_sdf(p, R=0.5, r=0.2):
    q = torch.stack([torch.norm(p[..., [0, 2]], dim=-1) - R, p[..., 1]], -1)
    return torch.norm(q, dim=-1) - r


enc = HashEmbedder((torch.tensor([-1., -1., -1.]), torch.tensor([1., 1., 1.])))
print("resolutions:", enc.resolutions, "growth", f"{enc.b:.4f}", "out_dim", enc.out_dim)
print("box offsets:", BOX_OFFSETS.tolist())
probe = torch.tensor([[0, 0, 0], [1, 2, 3], [37, 5, 60], [-4, 7, 2]])
print("hashes:", hash_coords(probe, 10).tolist(), hash_coords(probe, 19).tolist())
print("int64 products:", (probe * PRIMES).sum(-1).tolist())

# how many grid vertices share a table slot at each level
for lvl, res in enumerate(enc.resolutions):
    ax = torch.arange(res + 1)
    verts = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3)
    slots, counts = torch.unique(hash_coords(verts, enc.log2_hashmap_size), return_counts=True)
    if lvl in (0, 3, 5):
        print(f"level {lvl}: res {res} vertices {verts.shape[0]} slots used {slots.numel()}",
              f"max per slot {counts.max().item()}")

# the encoding is continuous across voxel faces: probe either side of a face
with torch.no_grad():
    for emb in enc.embeddings:
        emb.weight.copy_(torch.randn_like(emb.weight))
    face = 2.0 / enc.resolutions[0]
    pts = torch.tensor([[-1 + face - 1e-4, 0.1, 0.2], [-1 + face + 1e-4, 0.1, 0.2]])
    e = enc(pts)
    print("jump across a face:", f"{(e[0] - e[1]).abs().max().item():.3f}")
    print("frac of scaled points:", [f"{v:.4f}" for v in torch.frac(pts * 2.5).flatten().tolist()])
    for emb in enc.embeddings:
        nn.init.uniform_(emb.weight, a=-0.0001, b=0.0001)

mlp = nn.Sequential(nn.Linear(enc.out_dim, 32), nn.ReLU(), nn.Linear(32, 1))
params = [{"params": enc.parameters(), "weight_decay": 0.0},
          {"params": mlp.parameters(), "weight_decay": 1e-6}]
optimizer = torch.optim.Adam(params, lr=1e-2, betas=(0.9, 0.99), eps=1e-15)
warmup, total = 5, 60
scheduler = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda s: (s + 1) / warmup if s < warmup else 0.1 ** ((s - warmup) / total))

for step in range(total):
    pts = torch.rand(256, 3) * 2 - 1
    target = torus_sdf(pts)
    pred = mlp(enc(pts)).squeeze(-1)
    loss = F.l1_loss(pred, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    if step % 10 == 0 or step == total - 1:
        print(f"step {step:2d} l1 {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.5f}",
              f"{scheduler.get_last_lr()[1]:.5f}")

with torch.no_grad():
    test = torch.stack(torch.meshgrid(*(3 * [torch.linspace(-0.9, 0.9, 7)]),
                                            indexing="ij"), -1).reshape(-1, 3)
    chunks = [mlp(enc(c)).squeeze(-1) for c in torch.split(test, 100)]
    pred = torch.cat(chunks)
    err = (pred - torus_sdf(test)).abs()
    inside = (pred < 0) == (torus_sdf(test) < 0)
    print(f"test l1 {err.mean().item():.4f} sign agreement {inside.float().mean().item():.4f}")
    norms = [emb.weight.norm().item() for emb in enc.embeddings]
    print("table norms:", [f"{n:.3f}" for n in norms])
