"""A small fully-convolutional segmentation net trained on synthetic shapes, in the manner of
the torchvision segmentation reference (``train.py``) and the FCN tutorials: an encoder with
strided convolutions, a 1x1 classifier upsampled back with ``F.interpolate(mode="bilinear")``
plus an auxiliary head, ``nn.CrossEntropyLoss(ignore_index=255)`` with a void border around
each object, a poly learning-rate schedule (``LambdaLR``), the confusion-matrix mIoU of the
reference's ``ConfusionMatrix``, and the visualisation step: predictions turned into boolean
masks and painted with ``torchvision.utils.draw_segmentation_masks``, the centroid of each
predicted object marked with ``draw_keypoints``, then tiled with ``make_grid``. Everything
is drawn from ``torch.manual_seed``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.utils import draw_keypoints, draw_segmentation_masks, make_grid

torch.manual_seed(0)
NUM_CLASSES, SIZE, VOID = 3, 32, 255


def make_sample():
    """A noisy image with a square (class 1) and a disc (class 2); a 1-pixel void ring."""
    image = 0.2 * torch.randn(3, SIZE, SIZE)
    target = torch.zeros(SIZE, SIZE, dtype=torch.long)
    x0, y0 = torch.randint(2, 14, (2,)).tolist()
    target[y0:y0 + 10, x0:x0 + 10] = 1
    cy, cx = torch.randint(18, 28, (2,)).tolist()
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    dist = ((yy - cy) ** 2 + (xx - cx) ** 2).float().sqrt()
    target[dist < 5] = 2
    ring = (dist >= 5) & (dist < 6)
    target[ring] = VOID
    image[0] += (target == 1).float()
    image[1] += (target == 2).float() * 0.8
    return image, target


class TinyFCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1),
                                    nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.stage2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1),
                                    nn.BatchNorm2d(32), nn.ReLU(inplace=True),
                                    nn.Conv2d(32, 32, 3, padding=2, dilation=2),
                                    nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Conv2d(32, NUM_CLASSES, 1))
        self.aux_classifier = nn.Conv2d(16, NUM_CLASSES, 1)

    def forward(self, x):
        size = x.shape[-2:]
        low = self.stage1(x)
        out = {"out": F.interpolate(self.classifier(self.stage2(low)), size=size,
                                    mode="bilinear", align_corners=False)}
        if self.training:
            out["aux"] = F.interpolate(self.aux_classifier(low), size=size, mode="bilinear",
                                       align_corners=False)
        return out


def confusion(pred, target, n):
    keep = target != VOID
    idx = n * target[keep] + pred[keep]
    return torch.bincount(idx, minlength=n * n).reshape(n, n)


samples = [make_sample() for _ in range(12)]
images = torch.stack([s[0] for s in samples])
targets = torch.stack([s[1] for s in samples])
print("void pixels", int((targets == VOID).sum()), "class pixels",
      torch.bincount(targets[targets != VOID], minlength=NUM_CLASSES).tolist())

model = TinyFCN()
criterion = nn.CrossEntropyLoss(ignore_index=VOID)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
iters = 40
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: (1 - it / iters) ** 0.9)
model.train()
for it in range(iters):
    batch = slice((it % 3) * 4, (it % 3) * 4 + 4)
    out = model(images[batch])
    loss = criterion(out["out"], targets[batch]) + 0.5 * criterion(out["aux"], targets[batch])
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if it % 10 == 0 or it == iters - 1:
        print(f"iter {it} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.5f}")

model.eval()
with torch.no_grad():
    logits = model(images)["out"]
pred = logits.argmax(1)
mat = confusion(pred.flatten(), targets.flatten(), NUM_CLASSES)
iou = mat.diag().float() / (mat.sum(0) + mat.sum(1) - mat.diag()).float()
print("confusion\n", mat)
print("per-class IoU", [round(v, 3) for v in iou.tolist()], "mIoU", round(iou.mean().item(), 3))
print("pixel acc", round((mat.diag().sum() / mat.sum()).item(), 4))
print("ignored loss equals masked mean:",
      round(criterion(logits, targets).item(), 4),
      round(F.cross_entropy(logits.permute(0, 2, 3, 1)[targets != VOID],
                            targets[targets != VOID]).item(), 4))

# Visualise: uint8 images with the predicted classes painted over them.
vis_images = ((images[:4] - images[:4].amin()) / (images[:4].amax() - images[:4].amin())
              * 255).to(torch.uint8)
class_masks = pred[:4, None] == torch.arange(1, NUM_CLASSES)[None, :, None, None]
painted = [draw_segmentation_masks(img, m, alpha=0.6, colors=["red", (0, 255, 0)])
           for img, m in zip(vis_images, class_masks)]
# centroid (x, y) of each predicted class region, one "instance" of two keypoints per image
ys, xs = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
area = class_masks.sum(dim=(2, 3)).clamp(min=1)
centroids = torch.stack([(class_masks * xs).sum(dim=(2, 3)) / area,
                         (class_masks * ys).sum(dim=(2, 3)) / area], dim=-1)
print("centroids", [[round(v, 2) for v in pt] for pt in centroids[0].tolist()])
painted = [draw_keypoints(img, c[None], connectivity=[(0, 1)], colors="blue", radius=2,
                          width=1, visibility=(m.flatten(1).any(1))[None])
           for img, c, m in zip(painted, centroids, class_masks)]
grid = make_grid(torch.stack(painted), nrow=2, padding=2, pad_value=255)
print("grid", tuple(grid.shape), grid.dtype, "channel sums", grid.sum(dim=(1, 2)).tolist())
soft = logits.softmax(1)[:4, 1:] > 0.5
float_overlay = draw_segmentation_masks(images[0].clamp(0, 1), soft[0], alpha=0.4)
print("float overlay", round(float_overlay.mean().item(), 4),
      round(float_overlay[1].max().item(), 4))
