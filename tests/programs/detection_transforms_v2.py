"""Detection-style augmentation with torchvision.transforms.v2 and tv_tensors.

An image, its boxes, instance masks and labels go through one v2 pipeline: every random draw
(crop window, flip, colour jitter) is made once per sample and applied to all of them, so the
boxes and masks keep following the image. Seeded with torch.manual_seed, the run prints the
same numbers under torchvision and ember.
"""

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

rng = np.random.default_rng(7)
H, W = 24, 32
pixels = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
pixels[4:14, 6:18] = (220, 40, 40)   # a red object
pixels[12:22, 20:30] = (40, 40, 220)  # a blue object

image = tv_tensors.Image(torch.from_numpy(pixels).permute(2, 0, 1))
boxes = tv_tensors.BoundingBoxes([[6, 4, 18, 14], [20, 12, 30, 22], [0, 0, 1, 1]],
                                 format="XYXY", canvas_size=(H, W))
masks = np.zeros((3, H, W), np.uint8)
masks[0, 4:14, 6:18] = 1
masks[1, 12:22, 20:30] = 1
masks[2, 0:1, 0:1] = 1
target = {"boxes": boxes, "masks": tv_tensors.Mask(torch.from_numpy(masks)),
          "labels": torch.tensor([1, 2, 3])}

train_tf = v2.Compose([
    v2.RandomResizedCrop(size=(16, 16), scale=(0.4, 1.0), antialias=True),
    v2.RandomHorizontalFlip(p=0.5),
    v2.RandomApply([v2.ColorJitter(brightness=0.3, contrast=0.3)], p=0.7),
    v2.ClampBoundingBoxes(),
    v2.SanitizeBoundingBoxes(),
    v2.ToDtype(torch.float32, scale=True),
    v2.Normalize(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25]),
])

print("input:", type(image).__name__, tuple(image.shape), image.dtype)
print("boxes:", boxes.format.name, boxes.canvas_size, boxes.tolist())

torch.manual_seed(0)
for step in range(4):
    img, tgt = train_tf(image, target)
    b = tgt["boxes"]
    print(f"sample {step}: image {type(img).__name__} {tuple(img.shape)} {img.dtype}"
          f" mean={img.mean().item():.4f} std={img.std().item():.4f}")
    rows = [[round(v, 3) for v in r] for r in b.tolist()]
    print(f"  boxes {type(b).__name__} {b.canvas_size} {rows}")
    print(f"  labels {tgt['labels'].tolist()}  masks {type(tgt['masks']).__name__}"
          f" {tuple(tgt['masks'].shape)} areas {tgt['masks'].sum(dim=(1, 2)).tolist()}")

# The same boxes in another format, and the functional API on one sample.
F = v2.functional
cxcywh = F.convert_bounding_box_format(boxes, new_format="CXCYWH")
print("cxcywh:", cxcywh.tolist())
print("flipped:", F.horizontal_flip(cxcywh).tolist())
small = F.resize(image, [12, 16])
print("resized:", tuple(small.shape), small.float().mean().item())
print("resized boxes:", F.resize(boxes, [12, 16]).tolist())
print("crop boxes:", F.crop(boxes, 5, 5, 12, 12).tolist())

# Tensor maths on a tv_tensor gives a plain tensor; wrap puts the metadata back.
shifted = boxes + 1
print(type(shifted).__name__, type(tv_tensors.wrap(shifted, like=boxes)).__name__)
plain = v2.ToPureTensor()(target)
print(sorted((k, type(v).__name__) for k, v in plain.items()))
