"""Semantic segmentation evaluation as torchvision's segmentation reference does it (a
``ConfusionMatrix`` built with ``torch.bincount``, global accuracy, per-class IoU, mIoU) for
LR-ASPP and DeepLabV3 MobileNetV3 (``weights=None``) in eval mode on a synthetic batch, the
masks drawn with ``draw_segmentation_masks``; then Mask R-CNN v2 inference
(small ``min_size``) whose boxes are drawn with ``draw_bounding_boxes``, as the visualization
gallery shows."""
import torch
import torchvision
from torchvision.utils import draw_bounding_boxes, draw_segmentation_masks

torch.manual_seed(0)
NUM_CLASSES = 4


class ConfusionMatrix:
    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.mat = None

    def update(self, a, b):
        n = self.num_classes
        if self.mat is None:
            self.mat = torch.zeros((n, n), dtype=torch.int64, device=a.device)
        with torch.inference_mode():
            k = (a >= 0) & (a < n)
            inds = n * a[k].to(torch.int64) + b[k]
            self.mat += torch.bincount(inds, minlength=n**2).reshape(n, n)

    def compute(self):
        h = self.mat.float()
        acc_global = torch.diag(h).sum() / h.sum()
        acc = torch.diag(h) / h.sum(1)
        iu = torch.diag(h) / (h.sum(1) + h.sum(0) - torch.diag(h))
        return acc_global, acc, iu


images = torch.rand(2, 3, 64, 64)
normalized = torchvision.transforms.functional.normalize(
    images, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
target = torch.randint(0, NUM_CLASSES, (2, 64, 64))
target[:, :4] = 255  # ignore index border, skipped by the confusion matrix

builders = {
    "lraspp": torchvision.models.segmentation.lraspp_mobilenet_v3_large,
    "deeplabv3": torchvision.models.segmentation.deeplabv3_mobilenet_v3_large,
}
for name, build in builders.items():
    model = build(weights=None, weights_backbone=None, num_classes=NUM_CLASSES).eval()
    with torch.inference_mode():
        out = model(normalized)
    print(name, sorted(out.keys()), tuple(out["out"].shape), round(out["out"].std().item(), 4))
    pred = out["out"].argmax(1)
    cm = ConfusionMatrix(NUM_CLASSES)
    cm.update(target.flatten(), pred.flatten())
    acc_global, acc, iu = cm.compute()
    print(" confusion", cm.mat.tolist())
    print(" global acc", round(acc_global.item() * 100, 2), "mIoU",
          round(iu.nan_to_num().mean().item() * 100, 2))
    probs = out["out"].softmax(1)
    masks = probs.argmax(1)[0] == torch.arange(NUM_CLASSES)[:, None, None]
    canvas = (images[0] * 255).to(torch.uint8)
    drawn = draw_segmentation_masks(canvas, masks, alpha=0.6,
                                    colors=["red", "green", "blue", "#ffff00"])
    print(" overlay", drawn.dtype, tuple(drawn.shape), drawn.float().mean().round().item())

# (Mask R-CNN v2 only: it holds Faster R-CNN v2's whole box path, and each ResNet-50-FPN
# build costs seconds)
for name, build in [("maskrcnn_v2", torchvision.models.detection.maskrcnn_resnet50_fpn_v2)]:
    torch.manual_seed(1)
    model = build(weights=None, weights_backbone=None, num_classes=3, min_size=48,
                  max_size=64, box_score_thresh=0.0, box_detections_per_img=4).eval()
    with torch.no_grad():
        preds = model([images[0], images[1, :, :48]])
    for img, pred in zip(images, preds):
        print(name, sorted(pred.keys()), tuple(pred["boxes"].shape),
              pred["labels"].tolist(), [round(s, 3) for s in pred["scores"].tolist()])
        if "masks" in pred:
            print(" masks", tuple(pred["masks"].shape), round(pred["masks"].mean().item(), 3))
    canvas = (images[0] * 255).to(torch.uint8)
    labels = [f"cls{c}: {s:.2f}" for c, s in zip(preds[0]["labels"].tolist(),
                                                  preds[0]["scores"].tolist())]
    drawn = draw_bounding_boxes(canvas, preds[0]["boxes"], labels, colors="red", width=2)
    print(" boxes drawn", tuple(drawn.shape), (drawn != canvas).any(0).sum().item() > 0)
