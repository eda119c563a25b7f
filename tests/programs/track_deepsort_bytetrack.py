"""Appearance-based association: a DeepSORT-style re-ID embedding and ByteTrack's two stages.

Follows deep_sort_pytorch and ByteTrack: a small re-ID CNN is trained with a batch-hard
triplet loss (``nn.TripletMarginWithDistanceLoss`` with a cosine distance) on crops of a few
identities; a forward hook grabs the pooled embedding; each track keeps a bounded gallery
(``collections.deque``) and an exponential moving average of its features; the association
cost mixes cosine distance (``torch.cdist`` on normalized features) with a Mahalanobis gate
from the Kalman covariance (``torch.linalg.solve_triangular`` on its Cholesky factor), and a
Hungarian algorithm written with tensors solves it. ByteTrack's second stage then matches the
low-score detections to the tracks left over by IoU alone.
"""

from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import box_iou

torch.manual_seed(5)
rng = np.random.default_rng(5)
torch.set_printoptions(precision=4)

# ---- a toy re-ID dataset: 4 identities, each a colour/texture pattern, 6 crops each ----
n_ids, per_id = 4, 6
protos = rng.uniform(0, 1, (n_ids, 3, 1, 1)) * np.ones((1, 3, 16, 8))
protos[:, :, ::2] *= rng.uniform(0.5, 1.0, (n_ids, 3, 1, 1))  # stripes
crops = protos[:, None] + 0.15 * rng.standard_normal((n_ids, per_id, 3, 16, 8))
crops = torch.tensor(crops.reshape(-1, 3, 16, 8), dtype=torch.float32)
pids = torch.arange(n_ids).repeat_interleave(per_id)


class ReID(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 12, 3, padding=1, bias=False), nn.BatchNorm2d(12), nn.ELU(),
            nn.Conv2d(12, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ELU())
        self.pool = nn.AdaptiveAvgPool2d((2, 1))
        self.fc = nn.Linear(32, dim, bias=False)  # a bias before BN only drifts under Adam
        self.bn = nn.BatchNorm1d(dim)
        self.classifier = nn.Linear(dim, n_ids, bias=False)

    def forward(self, x):
        f = self.pool(self.body(x)).flatten(1)
        emb = self.bn(self.fc(f))
        return emb, self.classifier(emb)


net = ReID()
captured = {}
handle = net.pool.register_forward_hook(lambda m, i, o: captured.__setitem__("pool", o.detach()))


def cosine_distance(a, b):
    return 1.0 - F.cosine_similarity(a, b)


triplet = nn.TripletMarginWithDistanceLoss(distance_function=cosine_distance, margin=0.3)
xent = nn.CrossEntropyLoss(label_smoothing=0.1)
opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
for step in range(12):
    net.train()
    emb, logits = net(crops)
    d = torch.cdist(emb, emb)
    same = pids[:, None] == pids[None, :]
    hardest_pos = d.masked_fill(~same, -1.0).argmax(1)
    hardest_neg = d.masked_fill(same, float("inf")).argmin(1)
    loss = triplet(emb, emb[hardest_pos], emb[hardest_neg]) + xent(logits, pids)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 3 == 0:
        acc = (logits.argmax(1) == pids).float().mean()
        print(f"step {step:2d} loss {loss.item():.4f} acc {acc.item():.3f}")
handle.remove()
print("hooked pool output:", tuple(captured["pool"].shape))

net.eval()
with torch.inference_mode():
    feats = F.normalize(net(crops)[0], dim=1)
sim = feats @ feats.T
intra = sim[pids[:, None] == pids[None, :]].mean()
inter = sim[pids[:, None] != pids[None, :]].mean()
print(f"cosine similarity intra {intra:.3f} inter {inter:.3f}")


# ---- Hungarian algorithm (shortest augmenting path, O(n^3)) on a tensor cost ----
def hungarian(cost):
    cost = cost.to(torch.float64)
    n, m = cost.shape
    transposed = n > m
    if transposed:
        cost, n, m = cost.T, m, n
    INF = float("inf")
    u = torch.zeros(n + 1, dtype=torch.float64)
    v = torch.zeros(m + 1, dtype=torch.float64)
    p = torch.zeros(m + 1, dtype=torch.long)
    way = torch.zeros(m + 1, dtype=torch.long)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = torch.full((m + 1,), INF, dtype=torch.float64)
        used = torch.zeros(m + 1, dtype=torch.bool)
        while True:
            used[j0] = True
            i0 = int(p[j0])
            cur = cost[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (cur < minv[1:])
            minv[1:] = torch.where(better, cur, minv[1:])
            way[1:] = torch.where(better, torch.tensor(j0), way[1:])
            masked = minv[1:].masked_fill(~free, INF)
            delta, j1 = masked.min(0)
            j1 = int(j1) + 1
            u[p[used]] += delta
            v[used] -= delta
            minv[1:] = torch.where(free, minv[1:] - delta, minv[1:])
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = int(way[j0])
            p[j0] = p[j1]
            j0 = j1
    rows = p[1:] - 1
    cols = torch.arange(m)
    keep = rows >= 0
    pairs = torch.stack([rows[keep], cols[keep]], 1)
    if transposed:
        pairs = pairs.flip(1)
    return pairs[torch.argsort(pairs[:, 0], stable=True)]


cost = torch.tensor([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0], [1.0, 3.0, 2.0]])
pairs = hungarian(cost)
print("hungarian pairs:", pairs.tolist(), "total", cost[pairs[:, 0], pairs[:, 1]].sum().item())


# ---- tracks with galleries and EMA features ----
class Track:
    def __init__(self, tid, box, feat):
        self.tid, self.box = tid, box
        self.gallery = deque([feat], maxlen=4)
        self.ema = feat.clone()
        self.cov = torch.diag(torch.tensor([4.0, 4.0, 9.0, 9.0]))

    def add(self, box, feat, alpha=0.8):
        self.box = box
        self.gallery.append(feat)
        self.ema.mul_(alpha).add_(feat, alpha=1 - alpha)
        self.ema = F.normalize(self.ema, dim=0)
        self.cov = 0.7 * self.cov + 0.3 * torch.eye(4)


def mahalanobis(track, boxes):
    L = torch.linalg.cholesky(track.cov)
    d = (boxes - track.box).T                               # (4, n)
    z = torch.linalg.solve_triangular(L, d, upper=False)
    return (z * z).sum(0)


start_boxes = torch.tensor([[0.0, 0, 8, 16], [20, 0, 28, 16], [40, 0, 48, 16], [60, 0, 68, 16]])
tracks = [Track(i, start_boxes[i], feats[i * per_id]) for i in range(n_ids)]
next_id = n_ids
for frame in range(1, 4):
    order = torch.randperm(n_ids)
    move = torch.tensor([[3.0, 1, 3, 1]]) * frame
    boxes = (start_boxes + move)[order] + torch.randn(n_ids, 4) * 0.5
    det_feats = feats[order * per_id + frame]
    scores = torch.rand(n_ids) * 0.5 + 0.5
    scores[order == frame % n_ids] = 0.3                         # one low-confidence detection
    high = scores > 0.5
    # stage 1: appearance + motion on high-score detections
    gal = torch.stack([torch.stack(list(t.gallery)).mean(0) for t in tracks])
    app = torch.cdist(F.normalize(gal, dim=1), det_feats[high]) ** 2 / 2
    gate = torch.stack([mahalanobis(t, boxes[high]) for t in tracks])
    cost1 = torch.where(gate > 9.4877 * 20, torch.full_like(app, 1e5), 0.9 * app + 0.1 * gate / 100)
    pairs1 = hungarian(cost1)
    pairs1 = pairs1[cost1[pairs1[:, 0], pairs1[:, 1]] < 0.5]
    high_idx = high.nonzero().squeeze(1)
    for r, c in pairs1.tolist():
        tracks[r].add(boxes[high_idx[c]], det_feats[high_idx[c]])
    # stage 2 (ByteTrack): leftover tracks vs low-score detections by IoU only
    left = sorted(set(range(len(tracks))) - set(pairs1[:, 0].tolist()))
    low_idx = (~high).nonzero().squeeze(1)
    pairs2 = []
    if left and low_idx.numel():
        track_boxes = torch.stack([tracks[i].box for i in left])
        iou = box_iou(track_boxes, boxes[low_idx])
        pairs2 = [(left[r], int(low_idx[c])) for r, c in hungarian(1 - iou).tolist()
                  if iou[r, c] > 0.3]
        for r, c in pairs2:
            tracks[r].add(boxes[c], det_feats[c])
    ids_for_dets = torch.full((n_ids,), -1, dtype=torch.long)
    stage1_ids = [tracks[r].tid for r in pairs1[:, 0].tolist()]
    ids_for_dets[high_idx[pairs1[:, 1]]] = torch.tensor(stage1_ids, dtype=torch.long)
    for r, c in pairs2:
        ids_for_dets[c] = tracks[r].tid
    correct = (ids_for_dets == order).all().item()
    print(f"frame {frame}: order {order.tolist()} high {high.int().tolist()} "
          f"stage1 {len(pairs1)} stage2 {len(pairs2)} ids {ids_for_dets.tolist()} "
          f"correct {correct}")

print("ema norms:", [f"{t.ema.norm().item():.4f}" for t in tracks])  # last-bit noise: rounded
print("gallery sizes:", [len(t.gallery) for t in tracks])
print(torch.stack([t.cov.diagonal() for t in tracks]))
uniq, inverse, counts = torch.unique(torch.tensor([3, 1, 3, 2, 1, 3]), return_inverse=True,
                                     return_counts=True)
print(uniq, inverse, counts)
for args, kwargs in [((torch.eye(4), torch.ones(4, 1)), {}),
                     ((torch.eye(4), torch.ones(4)), {"upper": False}),
                     ((torch.eye(4), torch.ones(4, 1)), {"upper": 1})]:
    try:
        torch.linalg.solve_triangular(*args, **kwargs)
    except (RuntimeError, TypeError) as err:
        print(type(err).__name__ + ":", str(err).splitlines()[0])
