"""Feature-embedding anomaly localisation, PaDiM (Defard et al. 2020) and PatchCore (Roth et
al. 2022), as their reference code writes them, on a small frozen CNN. PaDiM: features from two
layers, the deeper one upsampled with ``F.interpolate`` and concatenated, a random channel
subset by ``index_select``, a Gaussian per patch position (mean, ``torch.cov`` checked against
the manual covariance, regularised) and the Mahalanobis distance by ``einsum`` with
``linalg.inv`` and, equivalently, ``cholesky`` + ``solve_triangular``. PatchCore: locally aware
patch features (``avg_pool2d`` 3x3), a memory bank subsampled by the greedy k-center coreset
on a sparse random projection, nearest-neighbour scores by ``torch.cdist`` + ``topk`` with
the reweighting of the paper. Maps are upsampled bilinearly and smoothed by a Gaussian
``conv2d``; image and pixel AUROC by the rank statistic."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
S = 24


def make_images(n, defects=False):
    yy, xx = np.meshgrid(np.linspace(0, 1, S), np.linspace(0, 1, S), indexing="ij")
    imgs = np.empty((n, 3, S, S))
    masks = np.zeros((n, S, S))
    for i in range(n):
        f = rng.uniform(8, 10)
        base = 0.5 + 0.25 * np.sin(f * xx + rng.uniform(0, 0.3)) * np.sin(f * yy)
        imgs[i] = base[None] * np.array([1.0, 0.8, 0.6])[:, None, None]
        imgs[i] += 0.02 * rng.standard_normal((3, S, S))
        if defects:
            r, c = rng.integers(3, S - 8, size=2)
            imgs[i, :, r : r + 5, c : c + 5] = rng.uniform(0, 1, size=(3, 1, 1))
            masks[i, r : r + 5, c : c + 5] = 1
    return torch.from_numpy(imgs).float(), torch.from_numpy(masks).bool()


train_x, _ = make_images(40)
good_x, good_m = make_images(10)
bad_x, bad_m = make_images(10, defects=True)
test_x = torch.cat([good_x, bad_x])
test_m = torch.cat([good_m, bad_m]).unsqueeze(1)
test_y = torch.tensor([0] * 10 + [1] * 10)


class Backbone(nn.Module):
    """A frozen random CNN standing in for the pretrained wide-ResNet (layer1/layer2)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.layer1 = nn.Sequential(
            nn.Conv2d(16, 24, 3, stride=2, padding=1), nn.BatchNorm2d(24), nn.ReLU()
        )
        self.layer2 = nn.Sequential(
            nn.Conv2d(24, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU()
        )

    def forward(self, x):
        f1 = self.layer1(self.stem(x))
        f2 = self.layer2(f1)
        return f1, f2


backbone = Backbone().eval()
for p in backbone.parameters():
    p.requires_grad_(False)
feats = {}
backbone.layer1.register_forward_hook(lambda m, i, o: feats.__setitem__("layer1", o))
backbone.layer2.register_forward_hook(lambda m, i, o: feats.__setitem__("layer2", o))


@torch.inference_mode()
def embed(x):
    backbone(x)
    f1, f2 = feats["layer1"], feats["layer2"]
    f2 = F.interpolate(f2, size=f1.shape[-2:], mode="nearest")
    return torch.cat([f1, f2], dim=1)


def auroc(scores, labels):
    scores, labels = scores.flatten().double(), labels.flatten().bool()
    ranks = torch.empty_like(scores)
    ranks[scores.argsort(stable=True)] = torch.arange(1, scores.numel() + 1).double()
    n_pos, n_neg = labels.sum(), (~labels).sum()
    return ((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).item()


def gaussian_blur(maps, sigma=2.0):
    radius = int(4 * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=maps.dtype)
    k1 = torch.exp(-0.5 * (t / sigma) ** 2)
    k1 = k1 / k1.sum()
    k2 = (k1[:, None] * k1[None, :])[None, None]
    return F.conv2d(F.pad(maps, [radius] * 4, mode="reflect"), k2)


# ---------------- PaDiM ----------------
emb_train = embed(train_x)
B, C, H, W = emb_train.shape
print("embedding", tuple(emb_train.shape), "inference_mode", emb_train.is_inference())
idx = torch.tensor(
    sorted(torch.randperm(C, generator=torch.Generator().manual_seed(1))[:20].tolist())
)
emb_train = torch.index_select(emb_train, 1, idx).reshape(B, 20, H * W)
mean = emb_train.mean(dim=0)
cov = torch.zeros(20, 20, H * W)
I = torch.eye(20)
for i in range(H * W):
    cov[:, :, i] = torch.cov(emb_train[:, :, i].T) + 0.01 * I
centered = emb_train - mean
manual = torch.einsum("bip,bjp->ijp", centered, centered) / (B - 1) + 0.01 * I[..., None]
print(
    f"cov check {torch.allclose(cov, manual, atol=1e-5)} max diff ok "
    f"{(cov - manual).abs().max().item() < 1e-5} trace[77] {cov[:, :, 77].trace().item():.4f}"
)
cov_inv = torch.linalg.inv(cov.permute(2, 0, 1))  # (HW, 20, 20)
L = torch.linalg.cholesky(cov.permute(2, 0, 1))
print(
    "cholesky lower",
    bool(torch.all(L.triu(1) == 0)),
    "logdet[77]",
    f"{2 * L[77].diagonal().log().sum().item():.4f}",
    f"slogdet {torch.linalg.slogdet(cov[:, :, 77])[1].item():.4f}",
)

emb_test = torch.index_select(embed(test_x), 1, idx).reshape(20, 20, H * W)
delta = (emb_test - mean).permute(2, 0, 1)  # (HW, N, 20)
m2 = torch.einsum("pni,pij,pnj->pn", delta, cov_inv, delta)
z = torch.linalg.solve_triangular(L, delta.transpose(1, 2), upper=False)
m2_chol = (z**2).sum(1)
rel = ((m2 - m2_chol).abs() / m2).max().item()
print(f"mahalanobis inv vs cholesky max rel diff small {rel < 1e-3}")
dist = m2.clamp_min(0).sqrt().T.reshape(20, 1, H, W)
padim_map = gaussian_blur(F.interpolate(dist, size=(S, S), mode="bilinear", align_corners=False))
padim_img = padim_map.amax(dim=(1, 2, 3))
print(f"PaDiM map range {padim_map.min().item():.3f}..{padim_map.max().item():.3f}")
print(
    f"PaDiM image AUROC {auroc(padim_img, test_y):.4f} pixel AUROC {auroc(padim_map, test_m):.4f}"
)

# ---------------- PatchCore ----------------


def patch_features(x):
    e = embed(x)
    e = F.avg_pool2d(e, kernel_size=3, stride=1, padding=1)
    return e.permute(0, 2, 3, 1).reshape(-1, e.shape[1])


bank = patch_features(train_x)
print("memory bank", tuple(bank.shape))


def greedy_coreset(features, n_select, proj_dim=16, n_starts=10):
    g = torch.Generator().manual_seed(3)
    # sparse random projection (Johnson-Lindenstrauss), as sklearn's SparseRandomProjection
    density = 1 / np.sqrt(features.shape[1])
    mask = torch.rand(features.shape[1], proj_dim, generator=g) < density
    signs = torch.where(torch.rand(features.shape[1], proj_dim, generator=g) < 0.5, -1.0, 1.0)
    proj = mask * signs / np.sqrt(density * proj_dim)
    reduced = features @ proj
    starts = torch.randint(len(reduced), (n_starts,), generator=g)
    min_d = torch.cdist(reduced, reduced[starts]).mean(dim=1, keepdim=True)
    chosen = []
    for _ in range(n_select):
        i = int(torch.argmax(min_d))
        chosen.append(i)
        d = torch.linalg.norm(reduced - reduced[i : i + 1], dim=1, keepdim=True)
        min_d = torch.minimum(min_d, d)
    return torch.tensor(chosen)


core_idx = greedy_coreset(bank, 120)
core = bank[core_idx]
print(
    "coreset",
    tuple(core.shape),
    "first picks",
    core_idx[:6].tolist(),
    "unique",
    core_idx.unique().numel(),
)

test_feats = patch_features(test_x)
d = torch.cdist(test_feats, core, compute_mode="use_mm_for_euclid_dist")
d_exact = torch.cdist(test_feats, core, compute_mode="donot_use_mm_for_euclid_dist")
print(f"cdist modes agree {torch.allclose(d, d_exact, atol=1e-3)}")
knn_d, knn_i = d_exact.topk(3, dim=1, largest=False)
patch_score = knn_d[:, 0].reshape(20, H * W)
# image score with the paper's reweighting by the neighbourhood of the nearest memory patch
max_pos = patch_score.argmax(dim=1)
rows = torch.arange(20) * H * W + max_pos
s_star = patch_score.max(dim=1).values
nn_idx = knn_i[rows, 0]
nb = torch.cdist(core[nn_idx], core).topk(4, largest=False).values[:, 1:]
m_star = test_feats[rows]
dist_nb = torch.stack(
    [
        torch.linalg.vector_norm(
            m_star[j]
            - core[torch.cdist(core[nn_idx[j]][None], core).topk(4, largest=False).indices[0, 1:]],
            dim=1,
        )
        for j in range(20)
    ]
)
w = 1 - torch.exp(s_star) / torch.exp(torch.cat([s_star[:, None], dist_nb], dim=1)).sum(1)
pc_img = w * s_star
pc_map = gaussian_blur(
    F.interpolate(patch_score.reshape(20, 1, H, W), size=(S, S), mode="bilinear"), sigma=4.0
)
print(
    f"neighbour dists mean {nb.mean().item():.4f} weights {[round(v, 3) for v in w[:4].tolist()]}"
)
print(
    f"PatchCore image AUROC {auroc(pc_img, test_y):.4f} (raw {auroc(s_star, test_y):.4f}) "
    f"pixel AUROC {auroc(pc_map, test_m):.4f}"
)
thr = torch.quantile(pc_map[:10].flatten(), 0.995)
seg = pc_map > thr
print(
    f"threshold {thr.item():.4f} segmented pixels {int(seg.sum())} hit {int((seg & test_m).sum())}"
)
print("top scores", [f"{v:.3f}" for v in pc_img.sort(descending=True).values[:5].tolist()])
