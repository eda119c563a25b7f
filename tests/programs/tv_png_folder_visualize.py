"""Own-images workflow on tensors, then the visualisation utils of the tutorials: write a
class-per-folder tree of PNGs from uint8 tensors (``v2.functional.to_pil_image``), read it back
with ``datasets.ImageFolder`` and a ``transforms.v2`` pipeline (``ToImage`` on PIL images, a
greyscale loader), take a few steps on a MobileNetV3 whose intermediate features
``create_feature_extractor`` exposes, and draw: ``draw_bounding_boxes`` (boxes from
``masks_to_boxes``), ``draw_segmentation_masks``, ``make_grid`` and ``save_image`` read back.
(``torchvision.io``'s codecs are compiled ops the recording setup lacks, so Pillow does I/O.)"""
import os
import tempfile

import torch
import torch.nn as nn
import torchvision
from PIL import Image
from torchvision.datasets.folder import pil_loader
from torchvision.models.feature_extraction import create_feature_extractor
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F
from torchvision.utils import draw_bounding_boxes, draw_segmentation_masks, make_grid, save_image

torch.manual_seed(0)
root = tempfile.mkdtemp()
classes = ["circle", "square", "stripes"]
yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
for c, name in enumerate(classes):
    os.makedirs(os.path.join(root, name))
    for k in range(4):
        noise = torch.rand(3, 28, 28) * 0.3
        if c == 0:
            shape = ((yy - 14) ** 2 + (xx - 14) ** 2 < (6 + k) ** 2).float()
        elif c == 1:
            shape = ((yy - 14).abs() < 5 + k).float() * ((xx - 14).abs() < 5 + k).float()
        else:
            shape = ((xx + k) % 6 < 3).float()
        img = ((shape * 0.6 + noise) * 255).to(torch.uint8)
        path = os.path.join(root, name, f"{k}.png")
        F.to_pil_image(img).save(path)

pil = pil_loader(os.path.join(root, "circle", "0.png"))
rgb = F.pil_to_tensor(pil)
print("decoded", pil.mode, pil.size, tuple(rgb.shape), rgb.float().mean().round(decimals=3).item())
image = v2.ToImage()(pil)
print("ToImage", type(image).__name__, bool((image == rgb).all()))
gray = F.to_grayscale(image)
print("gray", tuple(gray.shape), gray.float().mean().round(decimals=3).item(),
      gray[0, 14, 10:16].tolist())
gray3 = F.rgb_to_grayscale(image, num_output_channels=3)
print("gray x3", tuple(gray3.shape), bool((gray3[0] == gray3[2]).all()),
      bool((gray3[:1] == gray).all()))


def gray_loader(path):
    with open(path, "rb") as f:
        return Image.open(f).convert("L")


gray_set = torchvision.datasets.ImageFolder(root, loader=gray_loader, transform=v2.ToImage())
g, label = gray_set[5]
print("gray set", tuple(g.shape), label, g.float().mean().round(decimals=3).item())

transform = v2.Compose([v2.ToImage(), v2.RandomHorizontalFlip(), v2.RandomCrop(24),
                        v2.ToDtype(torch.float32, scale=True),
                        v2.Normalize([0.5] * 3, [0.5] * 3)])
dataset = torchvision.datasets.ImageFolder(root, transform=transform)
print(dataset.classes, dataset.class_to_idx, len(dataset))
print([os.path.relpath(p, root) for p, _ in dataset.samples[:5]])
loader = torch.utils.data.DataLoader(dataset, batch_size=6, shuffle=True)

model = torchvision.models.mobilenet_v3_small(weights=None, num_classes=len(classes),
                                              dropout=0.0)
body = create_feature_extractor(model, {"features.1": "stride4", "features.8": "stride16",
                                        "classifier.3": "logits"})
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(2):
    for x, y in loader:
        out = body(x)
        loss = nn.functional.cross_entropy(out["logits"], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print("epoch", epoch, round(loss.item(), 3),
          {k: tuple(v.shape) for k, v in out.items()})

# --- visualise: masks from thresholded images, boxes from the masks -------------------------
images = torch.stack([F.pil_to_tensor(pil_loader(os.path.join(root, n, "1.png")))
                      for n in classes])
masks = images.float().mean(1) > 120
boxes = torchvision.ops.masks_to_boxes(masks)
print("boxes", boxes.tolist())
drawn = [draw_bounding_boxes(img, box[None], colors="yellow", width=2)
         for img, box in zip(images, boxes)]
drawn += [draw_bounding_boxes(images[0], boxes, colors=["red", "lime", (0, 0, 255)],
                              fill=True, width=1)]
painted = [draw_segmentation_masks(img, m, alpha=0.4, colors="blue")
           for img, m in zip(images, masks)]
painted += [draw_segmentation_masks(images[1], masks, alpha=0.7,
                                    colors=["#ff0000", "green", (255, 255, 0)])]
for t in drawn + painted:
    print("drawn", tuple(t.shape), t.dtype, t.long().sum().item())
grid = make_grid(torch.stack(drawn + painted), nrow=4, padding=3, pad_value=255)
print("grid", tuple(grid.shape), grid.long().sum().item())
floats = torch.stack(painted).float() / 255 * 2 - 0.5
norm_grid = make_grid(floats, nrow=2, normalize=True, scale_each=True)
print("norm grid", tuple(norm_grid.shape), round(norm_grid.mean().item(), 4),
      round(norm_grid.min().item(), 4), round(norm_grid.max().item(), 4))
out_path = os.path.join(root, "grid.png")
save_image(floats, out_path, nrow=2, padding=1, normalize=True)
saved = F.pil_to_tensor(Image.open(out_path))
print("saved", tuple(saved.shape), saved.long().sum().item())
