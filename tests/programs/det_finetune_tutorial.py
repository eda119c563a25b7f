"""Object detection fine-tuning, after the official "TorchVision Object Detection Finetuning
Tutorial".

The tutorial fine-tunes a Mask R-CNN on the Penn-Fudan pedestrian images: a ``Dataset`` that
returns ``(image, target)`` with ``boxes``, ``labels``, ``masks``, ``image_id``, ``area`` and
``iscrowd``, a ``DataLoader`` with ``collate_fn=lambda b: tuple(zip(*b))``, a model whose
``roi_heads.box_predictor`` is swapped for a two-class ``FastRCNNPredictor``, SGD with momentum
and weight decay, a step learning-rate schedule, a loop summing the loss dict, then inference in
eval mode. Here the pedestrians are bright upright rectangles on a noisy background, the model
is the light ``fasterrcnn_mobilenet_v3_large_fpn`` at a small image size, and nothing is
pretrained. Untrained detectors score many boxes nearly alike, so the evaluation prints counts,
shapes and coarsely rounded top scores.
"""

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
from torchvision.ops import box_area, masks_to_boxes

torch.manual_seed(0)


class ToyPedestrians(Dataset):
    """Images with one to three tall rectangles ("pedestrians"), each with its instance mask."""

    def __init__(self, n, size=64):
        self.items = []
        for _ in range(n):
            img = torch.rand(3, size, size) * 0.3
            count = int(torch.randint(1, 4, ()).item())
            masks = torch.zeros(count, size, size, dtype=torch.uint8)
            for k in range(count):
                w = int(torch.randint(6, 14, ()).item())
                h = int(torch.randint(20, 36, ()).item())
                x = int(torch.randint(0, size - w, ()).item())
                y = int(torch.randint(0, size - h, ()).item())
                masks[k, y:y + h, x:x + w] = 1
                img[:, y:y + h, x:x + w] = torch.rand(3, 1, 1) * 0.5 + 0.5
            self.items.append((img, masks))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        img, masks = self.items[idx]
        boxes = masks_to_boxes(masks)
        # masks_to_boxes gives inclusive pixel corners; the tutorial's boxes end one past them.
        boxes[:, 2:] += 1
        target = {
            "boxes": boxes,
            "labels": torch.ones((len(masks),), dtype=torch.int64),
            "masks": masks,
            "image_id": idx,
            "area": box_area(boxes),
            "iscrowd": torch.zeros((len(masks),), dtype=torch.int64),
        }
        return img, target


dataset = ToyPedestrians(4)
img0, tgt0 = dataset[0]
print("image", tuple(img0.shape), img0.dtype)
print("boxes", tgt0["boxes"].tolist(), "areas", tgt0["area"].tolist())
print("masks", tuple(tgt0["masks"].shape), tgt0["masks"].dtype, int(tgt0["masks"].sum()))

loader = DataLoader(dataset, batch_size=2, shuffle=True, collate_fn=lambda b: tuple(zip(*b)))

model = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=91,
                                          min_size=64, max_size=64,
                                          rpn_pre_nms_top_n_train=300, rpn_post_nms_top_n_train=100,
                                          rpn_pre_nms_top_n_test=200, rpn_post_nms_top_n_test=50,
                                          box_batch_size_per_image=64)
in_features = model.roi_heads.box_predictor.cls_score.in_features
model.roi_heads.box_predictor = FastRCNNPredictor(in_features, 2)
print("predictor", in_features, model.roi_heads.box_predictor.cls_score.out_features,
      model.roi_heads.box_predictor.bbox_pred.out_features)
print("trainable", sum(p.numel() for p in model.parameters() if p.requires_grad))

params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.SGD(params, lr=0.005, momentum=0.9, weight_decay=0.0005)
lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)

model.train()
for epoch in range(2):
    for images, targets in loader:
        images = list(images)
        targets = [{k: v for k, v in t.items()} for t in targets]
        loss_dict = model(images, targets)
        losses = sum(loss for loss in loss_dict.values())
        optimizer.zero_grad()
        losses.backward()
        optimizer.step()
        print(epoch, {k: round(v.item(), 4) for k, v in loss_dict.items()},
              "total", round(losses.item(), 3))
    lr_scheduler.step()
    print("lr", optimizer.param_groups[0]["lr"])

model.eval()
with torch.no_grad():
    predictions = model([dataset[1][0], dataset[2][0]])
for pred in predictions:
    print(sorted(pred.keys()), tuple(pred["boxes"].shape), pred["labels"].dtype,
          pred["scores"].dtype)
    n = len(pred["scores"])
    print("detections", n, "labels", sorted(set(pred["labels"].tolist())))
    if n:
        print("top score", round(pred["scores"][0].item(), 3),
              "scores sorted", bool((pred["scores"][:-1] >= pred["scores"][1:]).all()),
              "inside image", bool((pred["boxes"] >= 0).all() and (pred["boxes"] <= 64).all()))
