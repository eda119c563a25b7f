"""The data side and the RoI heads of a Mask R-CNN fine-tuning run, in the manner of the TorchVision
object detection finetuning tutorial and the detection reference scripts: a ``Dataset`` that
returns ``tv_tensors.Image`` with a target dict of ``BoundingBoxes``, ``Mask`` and labels, an
SSD-style ``transforms.v2`` pipeline (``RandomZoomOut`` with a per-type fill,
``RandomHorizontalFlip``, ``Resize``, ``ConvertBoundingBoxFormat``, ``ClampBoundingBoxes``,
``SanitizeBoundingBoxes``, ``ToDtype``), a ``DataLoader`` with the tutorial's
``collate_fn=lambda batch: tuple(zip(*batch))``, then the RoI heads' target building: proposals
jittered around the ground truth, matched with ``box_iou``, positive/negative sampling with
``torch.randperm``, mask targets cut out of the full-image masks with ``roi_align`` (Tensor[K, 5]
rois, as ``project_masks_on_boxes`` does), the box head's features pooled with
``roi_align(sampling_ratio=2, aligned=True)``, and the mask loss with label-indexed logits. A
grid of the results is written with ``save_image`` and read back with PIL and ``pil_to_tensor``
(torchvision.io's decoders are compiled code that this recording setup lacks)."""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torchvision import tv_tensors
from torchvision.ops import box_iou, masks_to_boxes, roi_align
from torchvision.transforms import v2
from torchvision.transforms.functional import pil_to_tensor
from torchvision.utils import draw_bounding_boxes, make_grid, save_image

torch.manual_seed(0)
NUM_CLASSES, MASK = 3, 14


class ShapesDataset(torch.utils.data.Dataset):
    """Images with 1-3 objects (filled rectangles or discs) and their instance masks."""

    def __init__(self, n, transforms=None):
        g = torch.Generator().manual_seed(1)
        self.items = []
        yy, xx = torch.meshgrid(torch.arange(40), torch.arange(48), indexing="ij")
        for _ in range(n):
            k = int(torch.randint(1, 4, (), generator=g))
            masks = torch.zeros(k, 40, 48, dtype=torch.uint8)
            labels = torch.randint(1, NUM_CLASSES, (k,), generator=g)
            for j in range(k):
                cx = int(torch.randint(8, 40, (), generator=g))
                cy = int(torch.randint(8, 32, (), generator=g))
                r = int(torch.randint(3, 8, (), generator=g))
                if labels[j] == 1:
                    masks[j, cy - r:cy + r, cx - r:cx + r] = 1
                else:
                    masks[j][(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = 1
            img = (torch.rand(3, 40, 48, generator=g) * 60).to(torch.uint8)
            for j in range(k):
                img[labels[j] - 1][masks[j].bool()] = 200
            self.items.append((img, masks, labels))
        self.transforms = transforms

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        img, masks, labels = self.items[idx]
        img = tv_tensors.Image(img)
        target = {
            "boxes": tv_tensors.BoundingBoxes(masks_to_boxes(masks), format="XYXY",
                                              canvas_size=v2.functional.get_size(img)),
            "masks": tv_tensors.Mask(masks),
            "labels": labels,
            "image_id": idx,
        }
        target["area"] = (target["boxes"][:, 3] - target["boxes"][:, 1]) * (
            target["boxes"][:, 2] - target["boxes"][:, 0])
        if self.transforms is not None:
            img, target = self.transforms(img, target)
        return img, target


train_tf = v2.Compose([
    v2.RandomZoomOut(fill={tv_tensors.Image: (124, 116, 104), "others": 0},
                     side_range=(1.0, 1.6), p=0.5),
    v2.RandomHorizontalFlip(p=0.5),
    v2.Resize((48, 56), antialias=True),
    v2.ConvertBoundingBoxFormat("XYWH"),
    v2.ClampBoundingBoxes(),
    v2.ConvertBoundingBoxFormat(tv_tensors.BoundingBoxFormat.XYXY),
    v2.SanitizeBoundingBoxes(min_size=2),
    v2.ToDtype(torch.float32, scale=True),
])
print(train_tf)
dataset = ShapesDataset(6, train_tf)
loader = torch.utils.data.DataLoader(dataset, batch_size=3, shuffle=True,
                                     collate_fn=lambda batch: tuple(zip(*batch)))
images, targets = next(iter(loader))
for img, t in zip(images, targets):
    print("image", t["image_id"], type(img).__name__, tuple(img.shape), img.dtype,
          round(img.mean().item(), 4), "boxes", t["boxes"].format.name, t["boxes"].canvas_size,
          [[round(c, 2) for c in b] for b in t["boxes"].tolist()],
          "masks", tuple(t["masks"].shape), int(t["masks"].sum()), "labels", t["labels"].tolist())


def jitter_proposals(gt, n, g):
    """Proposals around each ground-truth box plus random ones (what an RPN would hand over)."""
    wh = (gt[:, 2:] - gt[:, :2]).repeat_interleave(n, 0)
    near = gt.repeat_interleave(n, 0) + torch.randn(len(gt) * n, 4, generator=g) * \
        wh.repeat(1, 2) * 0.15
    xy = torch.rand(n, 2, generator=g) * 40
    rand = torch.cat([xy, xy + 6 + torch.rand(n, 2, generator=g) * 10], 1)
    props = torch.cat([near, rand, gt])
    x1y1 = torch.minimum(props[:, :2], props[:, 2:])
    x2y2 = torch.maximum(props[:, :2], props[:, 2:])
    return torch.cat([x1y1, x2y2], 1).clamp(min=0, max=47)


def sample_rois(proposals, gt_boxes, gt_labels, batch=16, pos_fraction=0.25):
    iou = box_iou(gt_boxes, proposals)
    vals, idx = iou.max(dim=0)
    labels = gt_labels[idx].clone()
    labels[vals < 0.5] = 0
    pos = torch.where(labels >= 1)[0]
    neg = torch.where(labels == 0)[0]
    num_pos = min(pos.numel(), int(batch * pos_fraction))
    num_neg = min(neg.numel(), batch - num_pos)
    pos = pos[torch.randperm(pos.numel())[:num_pos]]
    neg = neg[torch.randperm(neg.numel())[:num_neg]]
    keep = torch.cat([pos, neg])
    return proposals[keep], labels[keep], idx[keep], num_pos


def project_masks_on_boxes(gt_masks, boxes, matched_idxs, m):
    """Mask targets: each positive's matched instance mask, cut to its proposal and resized to
    m x m with roi_align (rois as [batch index, x1, y1, x2, y2])."""
    matched_idxs = matched_idxs.to(boxes)
    rois = torch.cat([matched_idxs[:, None], boxes], dim=1)
    gt_masks = gt_masks[:, None].to(rois)
    return roi_align(gt_masks, rois, (m, m), 1.0)[:, 0]


class RoIHeads(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU())
        self.box_head = nn.Sequential(nn.Flatten(), nn.Linear(c * 7 * 7, 32), nn.ReLU())
        self.cls_score = nn.Linear(32, NUM_CLASSES)
        self.mask_head = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                                       nn.ConvTranspose2d(c, c, 2, stride=2), nn.ReLU(),
                                       nn.Conv2d(c, NUM_CLASSES, 1))

    def forward(self, images, rois):
        feats = self.backbone(images)
        # one pooling serves both heads here (Mask R-CNN pools 14 x 14 for its mask head)
        pooled = roi_align(feats, rois, output_size=(7, 7), spatial_scale=0.5,
                           sampling_ratio=2, aligned=True)
        return self.cls_score(self.box_head(pooled)), self.mask_head(pooled)


g = torch.Generator().manual_seed(3)
model = RoIHeads()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
batch = torch.stack(images)
# proposals are sampled once (an RPN's would change every step); the mask targets of all
# images come from one roi_align call over their concatenated instance masks
rois, cls_t, mask_boxes, mask_idx, pos_counts, offset = [], [], [], [], [], 0
for i, t in enumerate(targets):
    props = jitter_proposals(t["boxes"].as_subclass(torch.Tensor), 4, g)
    boxes, labels, matched, num_pos = sample_rois(props, t["boxes"], t["labels"])
    rois.append(torch.cat([torch.full((len(boxes), 1), float(i)), boxes], 1))
    cls_t.append(labels)
    mask_boxes.append(boxes[:num_pos])
    mask_idx.append(matched[:num_pos] + offset)
    offset += len(t["masks"])
    pos_counts.append(num_pos)
rois, cls_t = torch.cat(rois), torch.cat(cls_t)
all_masks = torch.cat([t["masks"] for t in targets])
mask_t = project_masks_on_boxes(all_masks, torch.cat(mask_boxes), torch.cat(mask_idx), MASK)
print("rois", tuple(rois.shape), "positives", pos_counts, "labels", cls_t.tolist())
print("mask targets", tuple(mask_t.shape), round(mask_t.mean().item(), 4),
      [round(v, 4) for v in mask_t[0, MASK // 2, ::3].tolist()])
pos = torch.where(cls_t > 0)[0]
labels_pos = cls_t[pos]
for step in range(8):
    logits, mask_logits = model(batch, rois)
    mask_loss = F.binary_cross_entropy_with_logits(mask_logits[pos, labels_pos], mask_t)
    cls_loss = F.cross_entropy(logits, cls_t)
    loss = cls_loss + mask_loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} cls {cls_loss.item():.4f} mask {mask_loss.item():.4f} "
          f"acc {(logits.argmax(1) == cls_t).float().mean().item():.4f}")

# draw, tile, save, and read the grid back
with torch.no_grad():
    shown = []
    for img, t in zip(images, targets):
        u8 = v2.functional.to_dtype(img, torch.uint8, scale=True)
        names = [["bg", "box", "disc"][c] for c in t["labels"].tolist()]
        shown.append(draw_bounding_boxes(u8, t["boxes"], labels=names, colors="yellow"))
    grid = make_grid(shown, nrow=3, padding=2)
    print("grid", tuple(grid.shape), grid.dtype, int(grid.sum()))
    save_image(torch.stack(shown).float() / 255, "grid.png", nrow=3, padding=2)
    with Image.open("grid.png") as png:
        back = pil_to_tensor(png.convert("RGB"))
    print("read back", tuple(back.shape), back.dtype, bool(torch.equal(back, grid)),
          int((back.int() - grid.int()).abs().max()))
    os.remove("grid.png")
