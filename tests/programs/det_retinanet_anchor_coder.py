"""A RetinaNet/SSD-style single-stage head trained for a few steps on synthetic boxes, in the manner
of the torchvision detection reference scripts and "RetinaNet from scratch" repositories: a
hand-written anchor grid (what ``AnchorGenerator`` builds: scales x aspect ratios at every
stride), anchor matching with ``box_iou`` + ``max(dim=0)`` / ``max(dim=1)`` (the "allow low quality
matches" rule with ``torch.where`` over ties), Faster R-CNN box encoding (log of width ratios) and
decoding with ``torch.clamp(max=math.log(1000 / 16))``, ``sigmoid_focal_loss`` with each reduction,
and the IoU-family regression losses (``generalized_box_iou_loss``, ``distance_box_iou_loss``,
``complete_box_iou_loss``) compared with the pairwise ``generalized_box_iou``, ``distance_box_iou``
and ``complete_box_iou`` matrices. Post-processing is the usual topk + score threshold + a
hand-written greedy NMS per class (torchvision's compiled ``nms`` is not used)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import (
    box_convert,
    box_iou,
    clip_boxes_to_image,
    complete_box_iou,
    complete_box_iou_loss,
    distance_box_iou,
    distance_box_iou_loss,
    generalized_box_iou,
    generalized_box_iou_loss,
    remove_small_boxes,
    sigmoid_focal_loss,
)

torch.manual_seed(0)
IMG, NUM_CLASSES = 64, 3
STRIDES, SIZES = (8, 16), (12.0, 28.0)
RATIOS = (0.5, 1.0, 2.0)
BBOX_CLIP = math.log(1000.0 / 16)


def cell_anchors(size, ratios):
    """Zero-centred anchors of one size and several aspect ratios (AnchorGenerator's rule)."""
    ratios = torch.as_tensor(ratios)
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    ws = (w_ratios[:, None] * size).view(-1)
    hs = (h_ratios[:, None] * size).view(-1)
    return (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()


def grid_anchors():
    out = []
    for stride, size in zip(STRIDES, SIZES):
        n = IMG // stride
        shifts_x = torch.arange(0, n, dtype=torch.int32) * stride
        shifts_y = torch.arange(0, n, dtype=torch.int32) * stride
        sy, sx = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
        sx, sy = sx.reshape(-1), sy.reshape(-1)
        shifts = torch.stack((sx, sy, sx, sy), dim=1)
        base = cell_anchors(size, RATIOS)
        out.append((shifts.view(-1, 1, 4) + base.view(1, -1, 4)).reshape(-1, 4))
    return torch.cat(out)


class BoxCoder:
    def __init__(self, weights=(10.0, 10.0, 5.0, 5.0)):
        self.weights = weights

    def encode(self, gt, anchors):
        wx, wy, ww, wh = self.weights
        aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
        ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
        gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
        gx, gy = gt[:, 0] + 0.5 * gw, gt[:, 1] + 0.5 * gh
        return torch.stack((wx * (gx - ax) / aw, wy * (gy - ay) / ah,
                            ww * torch.log(gw / aw), wh * torch.log(gh / ah)), dim=1)

    def decode(self, codes, anchors):
        wx, wy, ww, wh = self.weights
        aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
        ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
        dx, dy = codes[:, 0::4] / wx, codes[:, 1::4] / wy
        dw = torch.clamp(codes[:, 2::4] / ww, max=BBOX_CLIP)
        dh = torch.clamp(codes[:, 3::4] / wh, max=BBOX_CLIP)
        cx, cy = dx * aw[:, None] + ax[:, None], dy * ah[:, None] + ay[:, None]
        w, h = torch.exp(dw) * aw[:, None], torch.exp(dh) * ah[:, None]
        c_to_c_h = torch.tensor(0.5, dtype=cx.dtype) * h
        c_to_c_w = torch.tensor(0.5, dtype=cx.dtype) * w
        boxes = torch.stack((cx - c_to_c_w, cy - c_to_c_h, cx + c_to_c_w, cy + c_to_c_h), dim=2)
        return boxes.flatten(1)


def match(gt_boxes, anchors, high=0.5, low=0.4):
    """Matcher with allow_low_quality_matches: -1 background, -2 ignored, else gt index."""
    iou = box_iou(gt_boxes, anchors)  # [G, A]
    matched_vals, matches = iou.max(dim=0)
    all_matches = matches.clone()
    below = matched_vals < low
    between = (matched_vals >= low) & (matched_vals < high)
    matches[below] = -1
    matches[between] = -2
    best_per_gt, _ = iou.max(dim=1)
    gt_idx, anchor_idx = torch.where(iou == best_per_gt[:, None])
    matches[anchor_idx] = all_matches[anchor_idx]
    return matches, iou


def greedy_nms(boxes, scores, thr):
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(int(i))
        if order.numel() == 1:
            break
        ious = box_iou(boxes[i][None], boxes[order[1:]])[0]
        order = order[1:][ious <= thr]
    return torch.tensor(keep, dtype=torch.int64)


def make_batch(n):
    images = 0.1 * torch.randn(n, 3, IMG, IMG)
    targets = []
    for i in range(n):
        k = int(torch.randint(1, 4, ()).item())
        cxcywh = torch.cat([torch.randint(12, 52, (k, 2)), torch.randint(8, 30, (k, 2))], 1)
        boxes = clip_boxes_to_image(box_convert(cxcywh.float(), "cxcywh", "xyxy"), (IMG, IMG))
        labels = torch.randint(0, NUM_CLASSES, (k,))
        for b, c in zip(boxes.round().long(), labels):
            images[i, c, b[1]:b[3], b[0]:b[2]] += 1.0
        targets.append({"boxes": boxes, "labels": labels})
    return images, targets


class Head(nn.Module):
    def __init__(self, a=len(RATIOS)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU())
        self.down = nn.ModuleList([nn.Conv2d(16, 16, 3, stride=2, padding=1),
                                   nn.Conv2d(16, 16, 3, stride=2, padding=1)])
        self.cls = nn.Conv2d(16, a * NUM_CLASSES, 3, padding=1)
        self.reg = nn.Conv2d(16, a * 4, 3, padding=1)
        prior = 0.01
        nn.init.constant_(self.cls.bias, -math.log((1 - prior) / prior))
        nn.init.normal_(self.reg.weight, std=0.01)
        nn.init.zeros_(self.reg.bias)

    def forward(self, x):
        x = self.stem(x)
        feats, logits, codes = [], [], []
        for conv in self.down:
            x = F.relu(conv(x)) if not feats else F.relu(conv(x))
            feats.append(x)
        for f in [feats[0], feats[1]]:
            n, _, h, w = f.shape
            logits.append(self.cls(f).view(n, -1, NUM_CLASSES, h, w).permute(0, 3, 4, 1, 2)
                          .reshape(n, -1, NUM_CLASSES))
            codes.append(self.reg(f).view(n, -1, 4, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, 4))
        return torch.cat(logits, 1), torch.cat(codes, 1)


anchors = grid_anchors()
print("anchors", tuple(anchors.shape), anchors[:3].tolist(), anchors[-1].tolist())
coder = BoxCoder()
model = Head()
# the stem halves twice (stride 4) and the pyramid convs halve again: strides 8 and 16
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
images, targets = make_batch(4)
matched_all = [match(t["boxes"], anchors) for t in targets]
for i, (m, iou) in enumerate(matched_all):
    print("image", i, "fg", int((m >= 0).sum()), "ignored", int((m == -2).sum()),
          "best iou", [round(v, 4) for v in iou.max(dim=1).values.tolist()])

for step in range(12):
    logits, codes = model(images)
    cls_losses, reg_losses = [], []
    for i, t in enumerate(targets):
        m, _ = matched_all[i]
        fg = m >= 0
        valid = m != -2
        gt_cls = torch.zeros_like(logits[i])
        gt_cls[fg, t["labels"][m[fg]]] = 1.0
        num_fg = max(1, int(fg.sum()))
        cls_losses.append(sigmoid_focal_loss(logits[i][valid], gt_cls[valid],
                                             reduction="sum") / num_fg)
        target_codes = coder.encode(t["boxes"][m[fg]], anchors[fg])
        reg_losses.append(F.smooth_l1_loss(codes[i][fg], target_codes, beta=1.0 / 9,
                                           reduction="sum") / num_fg)
        if step == 0 and i == 0:
            decoded = coder.decode(target_codes, anchors[fg])
            print("encode/decode roundtrip err", round(
                (decoded - t["boxes"][m[fg]]).abs().max().item(), 4))
    loss = torch.stack(cls_losses).mean() + torch.stack(reg_losses).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} cls {torch.stack(cls_losses).mean().item():.4f} "
          f"reg {torch.stack(reg_losses).mean().item():.4f}")

# IoU-family losses on the decoded boxes of the positives, checked against the matrices
logits, codes = model(images)
m, _ = matched_all[0]
fg = m >= 0
pred = coder.decode(codes[0][fg].detach(), anchors[fg])
gt = targets[0]["boxes"][m[fg]]
pred.requires_grad_(True)
for name, loss_fn, pair_fn in (("giou", generalized_box_iou_loss, generalized_box_iou),
                               ("diou", distance_box_iou_loss, distance_box_iou),
                               ("ciou", complete_box_iou_loss, complete_box_iou)):
    per_box = loss_fn(pred, gt, reduction="none")
    mean = loss_fn(pred, gt, reduction="mean")
    total = loss_fn(pred, gt, reduction="sum")
    diag = 1 - torch.diagonal(pair_fn(pred, gt))
    grad, = torch.autograd.grad(mean, pred)
    print(name, [round(v, 4) for v in per_box[:4].tolist()], round(mean.item(), 4),
          round(total.item(), 4), "matrix agrees", bool(torch.allclose(per_box, diag, atol=1e-5)),
          "grad", round(grad.abs().sum().item(), 4))
    print(" pairwise", tuple(pair_fn(pred[:3], gt[:2]).shape),
          [round(v, 4) for v in pair_fn(pred[:2], gt[:2]).flatten().tolist()])
fl = sigmoid_focal_loss(logits[0, :5], torch.zeros(5, NUM_CLASSES), alpha=-1, gamma=0)
print("focal alpha=-1 gamma=0 == bce",
      bool(torch.allclose(fl, F.binary_cross_entropy_with_logits(
          logits[0, :5], torch.zeros(5, NUM_CLASSES), reduction="none"))))

# inference: sigmoid scores, topk, threshold, decode, clip, small-box removal, class-wise NMS
with torch.no_grad():
    scores = torch.sigmoid(logits[0]).flatten()
    top_scores, top_idx = scores.topk(40)
    anchor_idx = torch.div(top_idx, NUM_CLASSES, rounding_mode="floor")
    labels = top_idx % NUM_CLASSES
    boxes = coder.decode(codes[0][anchor_idx], anchors[anchor_idx])
    boxes = clip_boxes_to_image(boxes, (IMG, IMG))
    keep = remove_small_boxes(boxes, min_size=2.0)
    boxes, top_scores, labels = boxes[keep], top_scores[keep], labels[keep]
    # the coordinate trick of batched_nms: offset each class so boxes of different classes
    # never overlap
    offsets = labels.to(boxes) * (boxes.max() + 1)
    kept = greedy_nms(boxes + offsets[:, None], top_scores, 0.3)
    print("kept", kept.numel(), "of", boxes.shape[0], "labels", labels[kept].tolist())
    print("top scores", [round(v, 4) for v in top_scores[kept][:5].tolist()])
    print("top boxes", [[round(c, 2) for c in b] for b in boxes[kept][:3].tolist()])
    print("cxcywh", [[round(c, 2) for c in b]
                     for b in box_convert(boxes[kept][:2], "xyxy", "cxcywh").tolist()])
    print("xywh", [[round(c, 2) for c in b]
                   for b in box_convert(boxes[kept][:2], "xyxy", "xywh").tolist()])
