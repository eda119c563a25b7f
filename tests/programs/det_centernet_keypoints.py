"""A CenterNet-style ("Objects as Points") detector with a pose head, trained for a few steps on
synthetic images, in the manner of the CenterNet / SimpleBaseline pose repositories: Gaussian
centre heatmaps drawn per class with the radius from the box size, the penalty-reduced focal loss
on the heatmaps, size and sub-pixel offset regression gathered at the centre indices with
``torch.gather``, and decoding with the heatmap "NMS" (``F.max_pool2d(kernel_size=3, stride=1,
padding=1)`` peaks), ``topk`` over the flattened class x H x W maps, and unravelling with ``//``
and ``%`` (checked against ``torch.unravel_index``). Keypoints come from per-joint heatmaps decoded
by argmax with the quarter-pixel shift towards the higher neighbour and by a soft-argmax
(``softmax`` over the flattened map), scored with an OKS-style similarity, and drawn with
``torchvision.utils.draw_keypoints`` with a skeleton."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.utils import draw_keypoints

torch.manual_seed(0)
IMG, DOWN, NUM_CLASSES, NUM_JOINTS = 48, 4, 2, 3
OUT = IMG // DOWN
SKELETON = [(0, 1), (1, 2)]


def gaussian_radius(h, w, min_overlap=0.7):
    """The largest centre shift keeping IoU >= min_overlap (CenterNet's three-case bound)."""
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2 ** 2 - 16 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def draw_gaussian(heatmap, cx, cy, radius):
    d = 2 * radius + 1
    sigma = d / 6
    ys = torch.arange(-radius, radius + 1, dtype=torch.float32)[:, None]
    xs = torch.arange(-radius, radius + 1, dtype=torch.float32)[None, :]
    g = torch.exp(-(xs * xs + ys * ys) / (2 * sigma * sigma))
    g[g < torch.finfo(g.dtype).eps * g.max()] = 0
    h, w = heatmap.shape
    left, right = min(cx, radius), min(w - cx, radius + 1)
    top, bottom = min(cy, radius), min(h - cy, radius + 1)
    region = heatmap[cy - top:cy + bottom, cx - left:cx + right]
    patch = g[radius - top:radius + bottom, radius - left:radius + right]
    torch.maximum(region, patch, out=region)


def make_batch(n, max_objs=3):
    images = 0.1 * torch.randn(n, 3, IMG, IMG)
    heat = torch.zeros(n, NUM_CLASSES, OUT, OUT)
    joints = torch.zeros(n, NUM_JOINTS, OUT, OUT)
    wh = torch.zeros(n, max_objs, 2)
    reg = torch.zeros(n, max_objs, 2)
    ind = torch.zeros(n, max_objs, dtype=torch.long)
    mask = torch.zeros(n, max_objs)
    kps = torch.zeros(n, NUM_JOINTS, 2)
    for i in range(n):
        k = int(torch.randint(1, max_objs + 1, ()).item())
        for j in range(k):
            w, h = torch.randint(8, 20, (2,)).tolist()
            x0 = int(torch.randint(0, IMG - w, ()).item())
            y0 = int(torch.randint(0, IMG - h, ()).item())
            c = int(torch.randint(0, NUM_CLASSES, ()).item())
            images[i, c, y0:y0 + h, x0:x0 + w] += 1.0
            ctr = torch.tensor([x0 + w / 2, y0 + h / 2]) / DOWN
            ci = ctr.to(torch.int64)
            r = max(0, int(gaussian_radius(h / DOWN, w / DOWN)))
            draw_gaussian(heat[i, c], int(ci[0]), int(ci[1]), r)
            wh[i, j] = torch.tensor([w, h], dtype=torch.float32) / DOWN
            reg[i, j] = ctr - ci
            ind[i, j] = ci[1] * OUT + ci[0]
            mask[i, j] = 1
        # one "person" per image: three joints on a vertical line, drawn in channel 2
        base = torch.randint(8, IMG - 8, (2,)).float()
        pts = base + torch.tensor([[0.0, -6.0], [0.0, 0.0], [3.0, 6.0]])
        kps[i] = pts
        for jt, (x, y) in enumerate(pts.tolist()):
            images[i, 2, int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] += 0.5 * (jt + 1)
            draw_gaussian(joints[i, jt], int(x / DOWN), int(y / DOWN), 1)
    return images, dict(heat=heat, joints=joints, wh=wh, reg=reg, ind=ind, mask=mask, kps=kps)


def focal_loss(pred, gt):
    """CenterNet's penalty-reduced pixel-wise focal loss (pred already sigmoid'ed)."""
    pos = gt.eq(1).float()
    neg = gt.lt(1).float()
    neg_weights = torch.pow(1 - gt, 4)
    pos_loss = (torch.log(pred) * torch.pow(1 - pred, 2) * pos).sum()
    neg_loss = (torch.log(1 - pred) * torch.pow(pred, 2) * neg_weights * neg).sum()
    num_pos = pos.sum()
    return -neg_loss if num_pos == 0 else -(pos_loss + neg_loss) / num_pos


def gather_feat(feat, ind):
    """feat [B, C, H, W] -> [B, K, C] at flattened spatial indices ind [B, K]."""
    feat = feat.permute(0, 2, 3, 1).contiguous().view(feat.size(0), -1, feat.size(1))
    return feat.gather(1, ind.unsqueeze(2).expand(ind.size(0), ind.size(1), feat.size(2)))


def reg_l1_loss(output, mask, ind, target):
    pred = gather_feat(output, ind)
    m = mask.unsqueeze(2).expand_as(pred).float()
    return F.l1_loss(pred * m, target * m, reduction="sum") / (m.sum() + 1e-4)


class CenterNet(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())

        def head(out):
            return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, out, 1))

        self.hm, self.wh, self.reg, self.joints = head(NUM_CLASSES), head(2), head(2), \
            head(NUM_JOINTS)
        self.hm[-1].bias.data.fill_(-2.19)
        self.joints[-1].bias.data.fill_(-2.19)

    def forward(self, x):
        f = self.backbone(x)
        return self.hm(f), self.wh(f), self.reg(f), self.joints(f)


def heat_nms(heat, kernel=3):
    hmax = F.max_pool2d(heat, (kernel, kernel), stride=1, padding=(kernel - 1) // 2)
    return heat * (hmax == heat).float()


def decode(hm, wh, reg, k=5):
    batch, cat, height, width = hm.size()
    heat = heat_nms(hm)
    scores, inds = torch.topk(heat.view(batch, -1), k)
    clses = torch.div(inds, height * width, rounding_mode="floor")
    inds = inds % (height * width)
    ys = torch.div(inds, width, rounding_mode="floor").float()
    xs = (inds % width).float()
    off = gather_feat(reg, inds)
    size = gather_feat(wh, inds)
    xs, ys = xs + off[..., 0], ys + off[..., 1]
    boxes = torch.stack([xs - size[..., 0] / 2, ys - size[..., 1] / 2,
                         xs + size[..., 0] / 2, ys + size[..., 1] / 2], dim=2) * DOWN
    return boxes, scores, clses, heat


def joints_argmax(hm):
    """SimpleBaseline's get_max_preds plus the quarter-pixel shift to the higher neighbour."""
    b, j, h, w = hm.shape
    maxvals, idx = hm.view(b, j, -1).max(dim=2)
    coords = torch.stack([idx % w, idx // w], dim=2).float()
    out = coords.clone()
    for n in range(b):
        for p in range(j):
            x, y = int(coords[n, p, 0]), int(coords[n, p, 1])
            if 1 < x < w - 1 and 1 < y < h - 1:
                diff = torch.tensor([hm[n, p, y, x + 1] - hm[n, p, y, x - 1],
                                     hm[n, p, y + 1, x] - hm[n, p, y - 1, x]])
                out[n, p] += torch.sign(diff) * 0.25
    return out * DOWN, maxvals


def soft_argmax(hm, beta=20.0):
    b, j, h, w = hm.shape
    prob = F.softmax(beta * hm.view(b, j, -1), dim=2).view(b, j, h, w)
    xs = (prob.sum(2) * torch.arange(w, dtype=hm.dtype)).sum(-1)
    ys = (prob.sum(3) * torch.arange(h, dtype=hm.dtype)).sum(-1)
    return torch.stack([xs, ys], -1) * DOWN


def oks(pred, gt, area, sigmas=torch.tensor([0.5, 0.6, 0.7])):
    d2 = ((pred - gt) ** 2).sum(-1)
    return torch.exp(-d2 / (2 * area[:, None] * (2 * sigmas) ** 2)).mean(-1)


model = CenterNet()
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
images, t = make_batch(6)
print("heatmap peaks", int(t["heat"].eq(1).sum()), "objects", int(t["mask"].sum()),
      "heat sum", round(t["heat"].sum().item(), 4), "joint sum", round(t["joints"].sum().item(), 4))
for step in range(15):
    hm, wh, reg, joints = model(images)
    hm = torch.clamp(hm.sigmoid(), min=1e-4, max=1 - 1e-4)
    jh = torch.clamp(joints.sigmoid(), min=1e-4, max=1 - 1e-4)
    l_hm = focal_loss(hm, t["heat"])
    l_wh = reg_l1_loss(wh, t["mask"], t["ind"], t["wh"])
    l_off = reg_l1_loss(reg, t["mask"], t["ind"], t["reg"])
    l_j = focal_loss(jh, t["joints"])
    loss = l_hm + 0.1 * l_wh + l_off + l_j
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 3 == 0 or step == 14:
        print(f"step {step} hm {l_hm.item():.4f} wh {l_wh.item():.4f} off {l_off.item():.4f} "
              f"joints {l_j.item():.4f}")

model.eval()
with torch.no_grad():
    hm, wh, reg, joints = model(images)
    boxes, scores, clses, heat = decode(hm.sigmoid(), wh, reg, k=4)
    print("peaks kept by max_pool nms", int((heat > 0).sum()), "of", hm.numel())
    print("scores", [round(v, 3) for v in scores[0].tolist()], "classes", clses[0].tolist())
    print("boxes", [[round(c, 1) for c in b] for b in boxes[0, :2].tolist()])
    flat_idx = torch.topk(heat.view(6, -1), 4).indices
    unravel = torch.unravel_index(flat_idx, (NUM_CLASSES, OUT, OUT))
    print("unravel agrees", bool(torch.equal(unravel[0], clses)),
          [u[0].tolist() for u in unravel])
    jhm = joints.sigmoid()
    pred_am, maxvals = joints_argmax(jhm)
    pred_soft = soft_argmax(jhm)
    area = torch.full((6,), 16.0 * 16.0)
    print("argmax joints", [[round(c, 2) for c in p] for p in pred_am[0].tolist()],
          "gt", t["kps"][0].tolist())
    print("soft-argmax joints", [[round(c, 2) for c in p] for p in pred_soft[0].tolist()])
    print("max vals", [round(v, 3) for v in maxvals[0].tolist()])
    print("OKS argmax", [round(v, 3) for v in oks(pred_am, t["kps"], area).tolist()])
    print("OKS soft", [round(v, 3) for v in oks(pred_soft, t["kps"], area).tolist()])
    img = (images[0].clamp(0, 1) * 255).to(torch.uint8)
    kp = torch.cat([pred_am[:1], t["kps"][:1]])
    drawn = draw_keypoints(img, kp, connectivity=SKELETON, colors="red", radius=1, width=1)
    print("drawn", tuple(drawn.shape), drawn.dtype, int(drawn.sum()),
          int((drawn != img).any(0).sum()))
