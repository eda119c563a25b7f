"""One SSDlite training step as torchvision's detection reference runs it: its "ssdlite"
augmentation on ``tv_tensors`` (``RandomPhotometricDistort``, ``RandomZoomOut`` with the mean
fill, ``RandomIoUCrop``, ``RandomHorizontalFlip``, ``ToDtype``, ``SanitizeBoundingBoxes``),
the tuple-of-lists collate, ``ssdlite320_mobilenet_v3_large(weights=None)`` returning its loss
dict in train mode, an SGD step, then eval-mode postprocessing (score threshold, NMS, boxes
mapped back to each image's size). Small synthetic images."""
import torch
import torchvision
from torchvision import tv_tensors
from torchvision.transforms import v2

torch.manual_seed(0)


def make_sample(i):
    h, w = 120 + 8 * i, 160 - 8 * i
    image = tv_tensors.Image(torch.randint(0, 256, (3, h, w), dtype=torch.uint8))
    boxes = tv_tensors.BoundingBoxes(
        torch.tensor([[10.0, 12.0, 70.0, 90.0], [60.0, 30.0, 140.0 - 8 * i, 110.0],
                      [5.0, 100.0, 9.0, 104.0]]),
        format="XYXY", canvas_size=(h, w))
    return image, {"boxes": boxes, "labels": torch.tensor([1, 2, 1])}


train_tf = v2.Compose([
    v2.RandomPhotometricDistort(p=1.0),
    v2.RandomZoomOut(fill={tv_tensors.Image: (123, 117, 104), "others": 0}),
    v2.RandomIoUCrop(),
    v2.RandomHorizontalFlip(p=0.5),
    v2.ToDtype(torch.float, scale=True),
    v2.SanitizeBoundingBoxes(min_size=2),
])

batch = [train_tf(*make_sample(i)) for i in range(3)]
images, targets = tuple(zip(*batch))
for img, tgt in zip(images, targets):
    print("sample", tuple(img.shape), img.dtype, round(img.mean().item(), 4),
          type(tgt["boxes"]).__name__, tgt["boxes"].round().int().tolist(),
          tgt["labels"].tolist())

model = torchvision.models.detection.ssdlite320_mobilenet_v3_large(
    weights=None, weights_backbone=None, num_classes=3)
print("anchors per location", model.anchor_generator.num_anchors_per_location())
print("transform", model.transform.min_size, model.transform.max_size)
optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01,
                            momentum=0.9, weight_decay=4e-5)
model.train()
loss_dict = model(list(images), [dict(t) for t in targets])
losses = sum(loss for loss in loss_dict.values())
print("losses", {k: round(v.item(), 3) for k, v in loss_dict.items()}, round(losses.item(), 2))
optimizer.zero_grad()
losses.backward()
grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
# coarse: hard negative mining picks among near-equal losses of an untrained model, so
# float32 summation order moves which negatives get gradient (about 0.03% here)
print("grad norm", round(grad_norm.item(), -1))
optimizer.step()

model.eval()
model.score_thresh = 0.3
model.detections_per_img = 5
eval_images = [v2.functional.to_dtype(make_sample(i)[0], torch.float, scale=True)
               for i in range(2)]
with torch.no_grad():
    detections = model(eval_images)
for img, det in zip(eval_images, detections):
    boxes = det["boxes"]
    inside = bool((boxes[:, 2] <= img.shape[-1] + 1e-3).all() and
                  (boxes[:, 3] <= img.shape[-2] + 1e-3).all())
    print("detections", len(boxes), sorted(det.keys()), inside,
          [round(s, 3) for s in det["scores"].tolist()], det["labels"].tolist())
