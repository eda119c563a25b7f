"""SORT-style multi-object tracking: a batched Kalman filter, IoU matching and track bookkeeping.

Follows the structure of SORT (Bewley et al.) and its PyTorch ports: every track keeps a
constant-velocity Kalman state over (cx, cy, scale, ratio) boxes, all tracks are predicted and
updated at once with batched ``torch.linalg`` calls, detections are associated with
``torchvision.ops.box_iou`` plus a greedy matcher and an exact Hungarian-style matcher
(brute force over permutations for the small frames here), Mahalanobis gating uses the
innovation covariance, and CLEAR-MOT style counts (matches, misses, false positives, identity
switches) are printed at the end.
"""

import itertools

import numpy as np
import torch
from torchvision.ops import box_iou, box_convert

torch.set_printoptions(precision=3, sci_mode=False)
rng = np.random.default_rng(11)

# ---- synthetic scene: 3 objects moving with constant velocity, noisy detections ----
T = 12
starts = np.array([[10.0, 10.0], [60.0, 20.0], [30.0, 70.0]])
vels = np.array([[3.0, 1.0], [-2.0, 2.5], [1.5, -2.0]])
sizes = np.array([[12.0, 20.0], [16.0, 16.0], [10.0, 18.0]])
frames = []
for t in range(T):
    centers = starts + t * vels + rng.normal(0, 0.6, (3, 2))
    wh = sizes + rng.normal(0, 0.4, (3, 2))
    boxes = np.concatenate([centers, wh], 1)
    ids = np.arange(3)
    keep = np.ones(3, bool)
    if t in (4, 5):
        keep[1] = False          # object 1 is occluded for two frames
    boxes, ids = boxes[keep], ids[keep]
    if t == 7:                   # a clutter detection appears
        boxes = np.concatenate([boxes, [[90.0, 90.0, 8.0, 8.0]]])
        ids = np.concatenate([ids, [-1]])
    frames.append((torch.tensor(boxes, dtype=torch.float32), torch.from_numpy(ids)))

# ---- Kalman model (SORT's 7-d state: cx, cy, s, r, vcx, vcy, vs) ----
dim_x, dim_z = 7, 4
F = torch.eye(dim_x)
F[0, 4] = F[1, 5] = F[2, 6] = 1.0
H = torch.eye(dim_z, dim_x)
R = torch.diag(torch.tensor([1.0, 1.0, 10.0, 10.0]))
Q = torch.eye(dim_x)
Q[4:, 4:] *= 0.01
Q[-1, -1] *= 0.01


def xywh_to_z(b):
    """(cx, cy, w, h) -> (cx, cy, area, aspect)."""
    return torch.stack([b[:, 0], b[:, 1], b[:, 2] * b[:, 3], b[:, 2] / b[:, 3]], dim=1)


def x_to_xyxy(x):
    s, r = x[:, 2].clamp_min(1e-6), x[:, 3]
    w = torch.sqrt(s * r)
    h = s / w
    cxcywh = torch.stack([x[:, 0], x[:, 1], w, h], 1)
    return box_convert(cxcywh, in_fmt="cxcywh", out_fmt="xyxy")


class Tracks:
    def __init__(self):
        self.x = torch.empty(0, dim_x)
        self.P = torch.empty(0, dim_x, dim_x)
        self.ids = torch.empty(0, dtype=torch.long)
        self.hits = torch.empty(0, dtype=torch.long)
        self.misses = torch.empty(0, dtype=torch.long)
        self.next_id = 0

    def __len__(self):
        return self.x.shape[0]

    def predict(self):
        # keep the area positive, as SORT does
        neg = (self.x[:, 6] + self.x[:, 2]) <= 0
        self.x[neg, 6] = 0.0
        self.x = self.x @ F.T
        self.P = F @ self.P @ F.T + Q
        return x_to_xyxy(self.x)

    def innovation(self, z):
        S = H @ self.P @ H.T + R                       # (N, 4, 4)
        pred = self.x @ H.T                            # (N, 4)
        y = z - (pred.unsqueeze(1) if z.dim() == 3 else pred)
        return y, S

    def update(self, rows, z):
        x, P = self.x[rows], self.P[rows]
        S = H @ P @ H.T + R
        L = torch.linalg.cholesky(S)
        PHt = P @ H.T
        # K = P H^T S^-1 via two triangular solves on the transposed system
        K = torch.cholesky_solve(PHt.transpose(1, 2), L).transpose(1, 2)
        y = z - x @ H.T
        self.x[rows] = x + (K @ y.unsqueeze(-1)).squeeze(-1)
        I_KH = torch.eye(dim_x) - K @ H
        self.P[rows] = I_KH @ P @ I_KH.transpose(1, 2) + K @ R @ K.transpose(1, 2)

    def spawn(self, z):
        n = z.shape[0]
        x = torch.zeros(n, dim_x)
        x[:, :4] = z
        P = torch.diag(torch.tensor([10.0, 10.0, 10.0, 10.0, 1e4, 1e4, 1e4])).expand(n, -1, -1)
        self.x = torch.cat([self.x, x])
        self.P = torch.cat([self.P, P.clone()])
        new_ids = torch.arange(self.next_id, self.next_id + n)
        self.next_id += n
        self.ids = torch.cat([self.ids, new_ids])
        self.hits = torch.cat([self.hits, torch.ones(n, dtype=torch.long)])
        self.misses = torch.cat([self.misses, torch.zeros(n, dtype=torch.long)])

    def prune(self, max_age):
        keep = self.misses <= max_age
        for name in ("x", "P", "ids", "hits", "misses"):
            setattr(self, name, getattr(self, name)[keep])
        return int((~keep).sum())


def greedy_match(iou, thresh):
    iou = iou.clone()
    pairs = []
    while iou.numel() and iou.max() > thresh:
        flat = torch.argmax(iou)
        r, c = torch.unravel_index(flat, iou.shape)
        pairs.append((int(r), int(c)))
        iou[r, :] = -1.0
        iou[:, c] = -1.0
    return pairs


def optimal_match(cost, thresh_cost):
    """Exact minimum-cost assignment by enumeration (fine for the few boxes per frame)."""
    n, m = cost.shape
    if n == 0 or m == 0:
        return []
    best, best_pairs = float("inf"), []
    if n <= m:
        for perm in itertools.permutations(range(m), n):
            total = cost[torch.arange(n), torch.tensor(perm)].sum()
            if total < best:
                best, best_pairs = float(total), list(zip(range(n), perm))
    else:
        for perm in itertools.permutations(range(n), m):
            total = cost[torch.tensor(perm), torch.arange(m)].sum()
            if total < best:
                best, best_pairs = float(total), list(zip(perm, range(m)))
    return [(r, c) for r, c in best_pairs if cost[r, c] < thresh_cost]


# ---- run the tracker ----
chi2_95_4dof = 9.4877
tracks = Tracks()
gt_to_track = {}
stats = dict(matches=0, misses=0, fps=0, switches=0)
for t, (dets_xywh, gt_ids) in enumerate(frames):
    z = xywh_to_z(dets_xywh)
    det_xyxy = box_convert(dets_xywh, "cxcywh", "xyxy")
    if len(tracks):
        pred_xyxy = tracks.predict()
        iou = box_iou(pred_xyxy, det_xyxy)
        y, S = tracks.innovation(z[:, None].expand(-1, len(tracks), -1).transpose(0, 1))
        maha = torch.einsum("tdi,tij,tdj->td", y, torch.linalg.inv(S), y)
        gated = iou.masked_fill(maha > chi2_95_4dof * 40, 0.0)
        greedy = greedy_match(gated, 0.2)
        pairs = optimal_match(1.0 - gated, 0.8)
        if sorted(greedy) != sorted(pairs):
            print(f"t={t:2d} greedy and optimal disagree: {greedy} vs {pairs}")
    else:
        iou = torch.zeros(0, len(z))
        pairs = []
    matched_t = [r for r, _ in pairs]
    matched_d = [c for _, c in pairs]
    if pairs:
        tracks.update(torch.tensor(matched_t), z[matched_d])
    hit = torch.zeros(len(tracks), dtype=torch.bool)
    hit[matched_t] = True
    tracks.hits = torch.where(hit, tracks.hits + 1, tracks.hits)
    tracks.misses = torch.where(hit, torch.zeros_like(tracks.misses), tracks.misses + 1)
    # bookkeeping against ground truth
    for r, c in pairs:
        gid, tid = int(gt_ids[c]), int(tracks.ids[r])
        if gid < 0:
            stats["fps"] += 1
            continue
        stats["matches"] += 1
        if gid in gt_to_track and gt_to_track[gid] != tid:
            stats["switches"] += 1
        gt_to_track[gid] = tid
    unmatched = [d for d in range(len(z)) if d not in matched_d]
    stats["fps"] += sum(int(gt_ids[d] < 0) for d in unmatched)
    stats["misses"] += 3 - int((gt_ids >= 0).sum())
    if unmatched:
        tracks.spawn(z[unmatched])
    removed = tracks.prune(max_age=3)
    confirmed = (tracks.hits >= 3) & (tracks.misses == 0)
    boxes = x_to_xyxy(tracks.x[confirmed])
    print(f"t={t:2d} dets={len(z)} matched={len(pairs)} new={len(unmatched)} "
          f"removed={removed} confirmed ids={tracks.ids[confirmed].tolist()}")
    if t in (2, 6, 11):
        print(boxes.round(decimals=1))
        print("max IoU per detection:", iou.amax(0).round(decimals=3) if iou.numel() else None)

print("final velocities (vcx, vcy):")
print(tracks.x[:, 4:6])
print("position std:", torch.sqrt(torch.diagonal(tracks.P, dim1=-2, dim2=-1)[:, :2]))
sign, logdet = torch.linalg.slogdet(tracks.P)
print("log|P| signs", sign.tolist(), "values", [f"{v:.2f}" for v in logdet.tolist()])
mota = 1.0 - (stats["misses"] + stats["fps"] + stats["switches"]) / (3 * T)
print(stats, f"MOTA={mota:.3f}")

# the filter's likelihood of one trajectory as a MultivariateNormal check
track0 = tracks.x[0]
y, S = tracks.innovation(xywh_to_z(frames[-1][0][:1]).expand(len(tracks), -1))
mvn = torch.distributions.MultivariateNormal(torch.zeros(4), covariance_matrix=S[0])
print("innovation log-lik:", f"{mvn.log_prob(y[0]).item():.3f}")
try:
    torch.linalg.cholesky(-S[0])
except torch.linalg.LinAlgError as err:
    print("LinAlgError:", str(err).splitlines()[0])

# evaluation over the whole clip at once: batched IoU of (T, 3, 4) boxes, in cxcywh directly
gt_seq = torch.stack([f[0][:3] for f in frames if len(f[0]) == 3 and f[1].min() >= 0])
shifted = gt_seq + torch.tensor([0.7, -0.4, 0.3, -0.2])
seq_iou = box_iou(shifted, gt_seq, fmt="cxcywh")
print("batched IoU", tuple(seq_iou.shape),
      "diag mean", f"{seq_iou.diagonal(dim1=1, dim2=2).mean():.6f}")
as_xyxy = [box_convert(b, "cxcywh", "xyxy") for b in (shifted, gt_seq)]
print("fmt agrees with conversion:", torch.allclose(seq_iou, box_iou(*as_xyxy)))
print("sum of IoU bits:", seq_iou.sum().item())
try:
    tracks.x[..., 7]             # the state has 7 entries: 0..6
except IndexError as err:
    print("IndexError:", err)
# a track whose innovation covariance collapsed (e.g. zeroed by a bad reset) breaks the gain
S_bad = S.clone()
S_bad[1] = 0.0
try:
    torch.linalg.solve(S_bad, y.unsqueeze(-1))
except torch.linalg.LinAlgError as err:
    print("LinAlgError:", err)
LU, pivots, info = torch.linalg.lu_factor_ex(S_bad)
print("lu_factor_ex info:", info.tolist())
try:
    torch.linalg.lu_factor(S_bad)
except RuntimeError as err:
    print(type(err).__name__ + ":", str(err)[:80])
