"""A small detector in the style of torchvision's detection tutorial, written once for both
libraries: ``run(torch, F, ops, params)`` with ``torch``/``torchvision.ops`` (to record) or
``ember``/``ember.vision.ops`` (under test).

Anchors on a feature grid, IoU matching to ground truth, an objectness head, NMS on its
scores, RoI Align of the kept proposals, focal and GIoU losses, one SGD step.
"""

import numpy as np

STRIDE = 2
SIZES = (6.0, 12.0)
RATIOS = (0.5, 1.0, 2.0)


def make_params(seed=0):
    rng = np.random.default_rng(seed)
    f32 = np.float32
    return {
        "images": rng.standard_normal((2, 3, 32, 32)).astype(f32),
        "w_backbone": (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(f32),
        "w_obj": (rng.standard_normal((len(SIZES) * len(RATIOS), 8, 1, 1)) * 0.3).astype(f32),
        "w_cls": (rng.standard_normal((8 * 4 * 4, 3)) * 0.05).astype(f32),
        "w_box": (rng.standard_normal((8 * 4 * 4, 4)) * 0.05).astype(f32),
        "gt0": np.array([[2, 3, 14, 12], [16, 18, 30, 30]], dtype=f32),
        "gt1": np.array([[5, 5, 20, 25]], dtype=f32),
        "labels0": np.array([0, 2]),
        "labels1": np.array([1]),
    }


def anchors(torch, height, width):
    """Anchors in (x1, y1, x2, y2) image coordinates, location-major, (size, ratio) minor."""
    shapes = []
    for s in SIZES:
        for r in RATIOS:
            h, w = s * r ** 0.5, s / r ** 0.5
            shapes.append([-w / 2, -h / 2, w / 2, h / 2])
    base = torch.tensor(shapes)
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) * STRIDE
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) * STRIDE
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")
    centers = torch.stack([cx, cy, cx, cy], dim=-1).reshape(-1, 1, 4)
    return (centers + base).reshape(-1, 4)


def losses(torch, F, ops, p, w):
    images = torch.from_numpy(p["images"])
    feats = F.relu(F.conv2d(images, w["w_backbone"], stride=STRIDE, padding=1))  # [2, 8, 16, 16]
    n, _, fh, fw = feats.shape
    anc = ops.clip_boxes_to_image(anchors(torch, fh, fw), (32, 32))
    obj = F.conv2d(feats, w["w_obj"]).permute(0, 2, 3, 1).reshape(n, -1)  # [2, A]
    gts = [torch.from_numpy(p["gt0"]), torch.from_numpy(p["gt1"])]
    labels = [torch.from_numpy(p["labels0"]), torch.from_numpy(p["labels1"])]
    obj_loss, rois, roi_gt, roi_cls, record = 0.0, [], [], [], {}
    for i in range(n):
        iou = ops.box_iou(anc, gts[i])  # [A, G]
        best, match = iou.max(dim=1)
        obj_target = (best >= 0.5).to(torch.float32)
        obj_loss = obj_loss + ops.sigmoid_focal_loss(obj[i], obj_target, reduction="mean")
        keep = ops.nms(anc, obj[i].detach().sigmoid(), 0.6)[:16]
        record[f"keep{i}"] = keep
        rois.append(anc[keep])
        roi_gt.append(gts[i][match[keep]])
        cls = torch.zeros(len(keep), 3)
        positive = best[keep] >= 0.3
        cls[positive, labels[i][match[keep]][positive]] = 1.0
        roi_cls.append(cls)
    pooled = ops.roi_align(feats, rois, output_size=4, spatial_scale=1.0 / STRIDE,
                           sampling_ratio=2, aligned=True)
    flat = pooled.flatten(1)
    cls_loss = ops.sigmoid_focal_loss(flat @ w["w_cls"], torch.cat(roi_cls), reduction="sum")
    cls_loss = cls_loss / max(1.0, float(torch.cat(roi_cls).sum()))
    pred = torch.cat(rois) + flat @ w["w_box"]
    box_loss = ops.generalized_box_iou_loss(pred, torch.cat(roi_gt), reduction="mean")
    record["pooled_sum"] = pooled.sum(dim=(2, 3))  # [R, C]: the RoI features, compactly
    return obj_loss + cls_loss + box_loss, record


def run(torch, F, ops, p):
    """Two forward passes around one SGD step; returns NumPy arrays to compare."""
    names = ["w_backbone", "w_obj", "w_cls", "w_box"]
    w = {k: torch.from_numpy(p[k].copy()).requires_grad_() for k in names}
    opt = torch.optim.SGD(list(w.values()), lr=0.05, momentum=0.9)
    loss, record = losses(torch, F, ops, p, w)
    opt.zero_grad()
    loss.backward()
    out = {f"grad_{k}": w[k].grad.detach().numpy().copy() for k in names}
    opt.step()
    loss2, _ = losses(torch, F, ops, p, w)
    out.update({k: v.detach().numpy().copy() for k, v in record.items()})
    out.update({f"new_{k}": w[k].detach().numpy().copy() for k in names})
    out["loss"] = np.array(loss.item())
    out["loss_after_step"] = np.array(loss2.item())
    return out
