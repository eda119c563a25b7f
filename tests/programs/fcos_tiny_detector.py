"""A tiny anchor-free (FCOS-style) detector trained for a few steps on synthetic images, in the
manner of the torchvision detection reference scripts and the many "FCOS from scratch"
repositories: ``torchvision.ops.Conv2dNormActivation`` blocks for the backbone, per-location
class logits trained with ``sigmoid_focal_loss``, box regression (left, top, right, bottom
distances) trained with ``generalized_box_iou_loss``, ground truth assigned by centre sampling,
then inference with ``box_convert``, ``clip_boxes_to_image``, ``remove_small_boxes``,
``box_area`` and ``box_iou`` against the targets, and ``roi_align`` pooling of the kept
detections; finally the detections are drawn with ``torchvision.utils.draw_bounding_boxes``
and tiled with ``make_grid``. Everything is drawn from ``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import (
    Conv2dNormActivation,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    generalized_box_iou_loss,
    remove_small_boxes,
    roi_align,
    sigmoid_focal_loss,
)
from torchvision.utils import draw_bounding_boxes, make_grid

torch.manual_seed(0)
IMG, STRIDE, NUM_CLASSES = 32, 4, 2


def make_batch(n):
    """Images with one bright square (class 0) or cross-hatched square (class 1) each."""
    images = 0.1 * torch.randn(n, 3, IMG, IMG)
    boxes, labels = [], []
    for i in range(n):
        cxcywh = torch.cat([torch.randint(8, 24, (2,)), torch.randint(6, 14, (2,))]).float()
        box = box_convert(cxcywh[None], in_fmt="cxcywh", out_fmt="xyxy")
        box = clip_boxes_to_image(box, (IMG, IMG)).round()
        x1, y1, x2, y2 = box[0].long().tolist()
        label = int(torch.randint(0, NUM_CLASSES, ()).item())
        images[i, label, y1:y2, x1:x2] += 1.0
        if label == 1:
            images[i, 2, y1:y2:2, x1:x2] -= 0.5
        boxes.append(box)
        labels.append(torch.tensor([label]))
    return images, boxes, labels


class TinyFCOS(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(
            Conv2dNormActivation(3, 16, kernel_size=3, stride=2),
            Conv2dNormActivation(16, 32, kernel_size=3, stride=2),
            Conv2dNormActivation(32, 32, kernel_size=3),
        )
        self.cls_head = nn.Conv2d(32, NUM_CLASSES, 3, padding=1)
        self.reg_head = nn.Conv2d(32, 4, 3, padding=1)
        nn.init.constant_(self.cls_head.bias, -2.0)

    def forward(self, x):
        feats = self.backbone(x)
        return feats, self.cls_head(feats), F.relu(self.reg_head(feats)) * STRIDE


def location_centres(h, w):
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return torch.stack([xs, ys], dim=-1).reshape(-1, 2).float() * STRIDE + STRIDE / 2


def assign_targets(centres, boxes, labels):
    """Each location inside a box's central region gets that box as target (the smallest box
    on ties); the rest are background."""
    cls_t = torch.zeros(centres.shape[0], NUM_CLASSES)
    box_t = torch.zeros(centres.shape[0], 4)
    cxcy = box_convert(boxes, "xyxy", "cxcywh")[:, :2]
    radius = 1.5 * STRIDE
    inside = ((centres[:, None, :] - cxcy[None]).abs() <= radius).all(-1)
    inside &= (centres[:, None, 0] > boxes[None, :, 0]) & (centres[:, None, 0] < boxes[None, :, 2])
    inside &= (centres[:, None, 1] > boxes[None, :, 1]) & (centres[:, None, 1] < boxes[None, :, 3])
    area = box_area(boxes)
    cost = torch.where(inside, area[None].expand_as(inside), torch.full_like(inside, 1e8,
                                                                             dtype=torch.float))
    best_cost, best = cost.min(dim=1)
    pos = best_cost < 1e8
    cls_t[pos, labels[best[pos]]] = 1.0
    box_t[pos] = boxes[best[pos]]
    return cls_t, box_t, pos


def decode(centres, ltrb):
    return torch.cat([centres - ltrb[..., :2], centres + ltrb[..., 2:]], dim=-1)


model = TinyFCOS()
opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
print("parameters", sum(p.numel() for p in model.parameters()))

images, gt_boxes, gt_labels = make_batch(8)
for step in range(12):
    feats, cls_logits, ltrb = model(images)
    n, _, h, w = cls_logits.shape
    centres = location_centres(h, w)
    cls_flat = cls_logits.permute(0, 2, 3, 1).reshape(n, -1, NUM_CLASSES)
    reg_flat = ltrb.permute(0, 2, 3, 1).reshape(n, -1, 4)
    cls_losses, reg_losses, num_pos = [], [], 0
    for i in range(n):
        cls_t, box_t, pos = assign_targets(centres, gt_boxes[i], gt_labels[i])
        cls_losses.append(sigmoid_focal_loss(cls_flat[i], cls_t, alpha=0.25, gamma=2.0,
                                             reduction="sum"))
        pred_boxes = decode(centres[pos], reg_flat[i][pos])
        reg_losses.append(generalized_box_iou_loss(pred_boxes, box_t[pos], reduction="sum"))
        num_pos += int(pos.sum())
    loss_cls = torch.stack(cls_losses).sum() / max(num_pos, 1)
    loss_reg = torch.stack(reg_losses).sum() / max(num_pos, 1)
    loss = loss_cls + loss_reg
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 4 == 0 or step == 11:
        print(f"step {step} positives {num_pos} cls {loss_cls.item():.4f} "
              f"giou {loss_reg.item():.4f}")

model.eval()
with torch.no_grad():
    feats, cls_logits, ltrb = model(images)
    n, _, h, w = cls_logits.shape
    centres = location_centres(h, w)
    scores_all = cls_logits.sigmoid().permute(0, 2, 3, 1).reshape(n, -1, NUM_CLASSES)
    boxes_all = decode(centres, ltrb.permute(0, 2, 3, 1).reshape(n, -1, 4))
    kept_boxes, kept_labels = [], []
    for i in range(n):
        scores, classes = scores_all[i].max(dim=1)
        boxes = clip_boxes_to_image(boxes_all[i], (IMG, IMG))
        keep = remove_small_boxes(boxes, min_size=2.0)
        keep = keep[scores[keep] > 0.05]
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
        keep = scores.argsort(descending=True)[:3]
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
        iou = box_iou(boxes, gt_boxes[i]) if len(boxes) else torch.zeros(0, 1)
        best = iou.max().item() if iou.numel() else 0.0
        print(f"image {i}: {len(boxes)} detections, top class {classes[:1].tolist()} "
              f"(gt {gt_labels[i].tolist()}) score {scores[:1].sum().item():.3f} "
              f"best IoU {best:.3f}")
        kept_boxes.append(boxes)
        kept_labels.append([f"{'square' if c == 0 else 'hatch'} {s:.2f}"
                            for c, s in zip(classes.tolist(), scores.tolist())])

    # Pool a 4x4 feature for every kept detection (spatial_scale maps image to feature coords).
    pooled = roi_align(feats, kept_boxes, output_size=(4, 4), spatial_scale=1.0 / STRIDE,
                       sampling_ratio=2, aligned=True)
    print("roi_align", tuple(pooled.shape), round(pooled.mean().item(), 4),
          round(pooled.std().item(), 4))
    rois = torch.cat([torch.full((len(b), 1), float(i)) for i, b in enumerate(kept_boxes)]
                     + [torch.zeros(0, 1)])
    rois = torch.cat([rois, torch.cat(kept_boxes)], dim=1)
    pooled2 = roi_align(feats, rois, output_size=2, spatial_scale=0.25, sampling_ratio=-1)
    print("roi_align (Tensor[K, 5] rois)", tuple(pooled2.shape),
          round(pooled2.abs().mean().item(), 4))

# Visualise: ground truth in green, detections in red with class/score labels.
canvases = []
for i in range(4):
    img = (images[i].clamp(0, 1) * 255).to(torch.uint8)
    img = draw_bounding_boxes(img, gt_boxes[i], colors="lime", width=1)
    img = draw_bounding_boxes(img, kept_boxes[i], labels=kept_labels[i], colors="red",
                              fill=True)
    canvases.append(img)
grid = make_grid(canvases, nrow=2, padding=1)
print("drawn grid", tuple(grid.shape), "red pixels", int((grid[0] > 200).sum()),
      "green pixels", int((grid[1] == 255).sum()))
print("labels", kept_labels[0])
