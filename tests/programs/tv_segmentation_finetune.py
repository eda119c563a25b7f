"""Semantic segmentation fine-tuning in the style of torchvision's segmentation reference
(references/segmentation: ``train.py``'s criterion and ``utils.ConfusionMatrix``): a
DeepLabV3-MobileNetV3 built with ``aux_loss=True`` gets new 3-class heads (``DeepLabHead``,
``FCNHead``), trains a few SGD steps with the poly learning-rate schedule on a summed
``"out"`` + 0.5 ``"aux"`` cross entropy (``ignore_index=255`` marks unlabeled borders), then
is evaluated with a bincount confusion matrix (pixel accuracy, per-class IoU). A Lite R-ASPP
model and the checkpoint enums' metadata are used as a user would read them."""
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.segmentation import (
    DeepLabV3_MobileNet_V3_Large_Weights,
    deeplabv3_mobilenet_v3_large,
    lraspp_mobilenet_v3_large,
)
from torchvision.models.segmentation.deeplabv3 import DeepLabHead
from torchvision.models.segmentation.fcn import FCNHead

torch.manual_seed(0)
NUM_CLASSES = 3


def make_scene(n, size=48):
    # squares (class 1) and discs (class 2) on noise; a 1-pixel ring around each is ignored
    images = torch.rand(n, 3, size, size) * 0.3
    masks = torch.zeros(n, size, size, dtype=torch.int64)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    for i in range(n):
        cx, cy, r = torch.randint(12, size - 12, (3,)).tolist()
        r = r % 6 + 6
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        ring = ((xx - cx) ** 2 + (yy - cy) ** 2 <= (r + 1) ** 2) & ~disc
        sq = torch.zeros(size, size, dtype=torch.bool)
        sx, sy = torch.randint(2, size - 14, (2,)).tolist()
        sq[sy:sy + 10, sx:sx + 10] = True
        masks[i][sq] = 1
        masks[i][disc] = 2
        masks[i][ring & ~sq] = 255
        images[i, 0][sq] += 0.6
        images[i, 2][disc] += 0.6
    return images, masks


def criterion(outputs, target):
    losses = {name: F.cross_entropy(x, target, ignore_index=255) for name, x in outputs.items()}
    return losses["out"] + 0.5 * losses["aux"] if "aux" in losses else losses["out"]


class ConfusionMatrix:
    def __init__(self, num_classes):
        self.n = num_classes
        self.mat = torch.zeros((num_classes, num_classes), dtype=torch.int64)

    def update(self, target, pred):
        keep = (target >= 0) & (target < self.n)
        idx = self.n * target[keep] + pred[keep]
        self.mat += torch.bincount(idx, minlength=self.n ** 2).reshape(self.n, self.n)

    def compute(self):
        h = self.mat.float()
        acc_global = torch.diag(h).sum() / h.sum()
        iou = torch.diag(h) / (h.sum(1) + h.sum(0) - torch.diag(h))
        return acc_global, iou


weights = DeepLabV3_MobileNet_V3_Large_Weights.DEFAULT
print("checkpoint", weights.url.rsplit("/", 1)[-1], weights.meta["num_params"],
      weights.meta["categories"][:4])
model = deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, aux_loss=True)
model.classifier = DeepLabHead(960, NUM_CLASSES, atrous_rates=(6, 12, 18))
model.aux_classifier = FCNHead(40, NUM_CLASSES)
print("return layers", model.backbone.return_layers)
print("params", sum(p.numel() for p in model.parameters()))

images, masks = make_scene(4)
params = [{"params": [p for p in model.backbone.parameters() if p.requires_grad]},
          {"params": [p for p in model.classifier.parameters() if p.requires_grad]},
          {"params": [p for p in model.aux_classifier.parameters()], "lr": 0.05}]
optimizer = torch.optim.SGD(params, lr=0.02, momentum=0.9, weight_decay=1e-4)
# a short run: batch statistics over two images (the pooled ASPP branch normalises two numbers)
# make longer runs chaotic, so float32 rounding would decide the later digits
steps = 2
scheduler = torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=10, power=0.9)
model.train()
for step in range(steps):
    batch = slice(2 * (step % 2), 2 * (step % 2) + 2)
    output = model(images[batch])
    loss = criterion(output, masks[batch])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(f"step {step} loss {loss.item():.4f} lr {optimizer.param_groups[0]['lr']:.5f} "
          f"aux-lr {optimizer.param_groups[2]['lr']:.5f} "
          f"out {tuple(output['out'].shape)} aux {tuple(output['aux'].shape)}")

model.eval()
confmat = ConfusionMatrix(NUM_CLASSES)
with torch.inference_mode():
    output = model(images)
    print("eval keys", list(output))
    confmat.update(masks.flatten(), output["out"].argmax(1).flatten())
acc, iou = confmat.compute()
print("confusion", confmat.mat.tolist())
print("pixel acc", round(acc.item(), 3), "iou", [round(v, 3) for v in iou.tolist()])

lite = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=NUM_CLASSES)
lite.eval()
with torch.no_grad():
    logits = lite(images[:1])["out"]
probs = logits.softmax(dim=1)
print("lraspp", tuple(logits.shape), round(probs.sum(1).mean().item(), 4),
      round(logits.abs().mean().item(), 4))
print("segmentation builders",
      torchvision.models.list_models(module=torchvision.models.segmentation))
