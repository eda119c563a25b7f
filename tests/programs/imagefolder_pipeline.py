"""The "train on your own images" pipeline of the torchvision tutorials: write a tiny class-per-
folder image tree with Pillow, read it back with ``torchvision.datasets.ImageFolder`` (classes,
``class_to_idx``, ``samples``, ``targets``, an ``is_valid_file`` filter), augment with a
``transforms.Compose`` of ``RandomResizedCrop``/``RandomHorizontalFlip``/``ColorJitter``/
``ToTensor``/``Normalize``/``RandomErasing``, split with ``random_split`` and a seeded
generator, batch with ``DataLoader``, and train a ``torchvision.models.get_model("resnet18",
weights=None, num_classes=3)`` with a frozen
trunk and a new head for a few steps; ``datasets.FakeData`` stands in for a validation set and
``DatasetFolder`` reads the same tree with a custom loader. Everything is seeded."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torch.utils.data import DataLoader, random_split
import torchvision
from torchvision import datasets, models, transforms

torch.manual_seed(0)
rng = np.random.default_rng(0)
root = tempfile.mkdtemp()
palette = {"cats": (200, 60, 60), "dogs": (60, 200, 60), "owls": (60, 60, 200)}
for name, colour in palette.items():
    os.makedirs(os.path.join(root, "train", name))
    for i in range(6):
        arr = rng.integers(0, 60, (40, 48, 3)).astype(np.int64) + np.array(colour) // 2
        arr[10:30, 12 + i:30 + i] += 60
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(
            os.path.join(root, "train", name, f"{i}.png"))
    # a stray file that is not an image: is_valid_file must skip it
    with open(os.path.join(root, "train", name, "notes.txt"), "w") as f:
        f.write("not an image")

train_tf = transforms.Compose([
    transforms.RandomResizedCrop(32, scale=(0.6, 1.0)),
    transforms.RandomHorizontalFlip(),
    transforms.ColorJitter(brightness=0.2, contrast=0.2),
    transforms.ToTensor(),
    transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
    transforms.RandomErasing(p=0.5, scale=(0.02, 0.1)),
])
print("image backend", torchvision.get_image_backend())
full = datasets.ImageFolder(os.path.join(root, "train"), transform=train_tf,
                            is_valid_file=lambda p: p.endswith(".png"))
print("classes", full.classes, full.class_to_idx)
print("samples", len(full), [os.path.basename(p) for p, _ in full.samples[:3]],
      "targets", full.targets)
img, label = full[4]
print("one sample", tuple(img.shape), label, round(img.mean().item(), 4),
      round(img.std().item(), 4))

train_set, held_out = random_split(full, [14, 4], generator=torch.Generator().manual_seed(1))
print("split", len(train_set), len(held_out), sorted(held_out.indices))
loader = DataLoader(train_set, batch_size=7, shuffle=True,
                    generator=torch.Generator().manual_seed(2))

model = models.get_model("resnet18", weights=None, num_classes=3)  # as train.py --model
for p in model.parameters():  # "feature extraction" fine-tuning: only the new head learns
    p.requires_grad = False
model.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(512, 3))
opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.005,
                      momentum=0.9)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
for epoch in range(3):
    model.train()
    for step, (x, y) in enumerate(loader):
        loss = criterion(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"epoch {epoch} step {step} labels {y.tolist()} loss {loss.item():.4f}")

fake = datasets.FakeData(size=6, image_size=(3, 32, 32), num_classes=3,
                         transform=transforms.Compose([transforms.ToTensor(),
                                                       transforms.Normalize((0.5,) * 3,
                                                                            (0.25,) * 3)]),
                         random_offset=7)
fx, fy = fake[2]
print("FakeData", len(fake), tuple(fx.shape), int(fy), round(fx.mean().item(), 4))
model.eval()
with torch.no_grad():
    fake_batch = torch.stack([fake[i][0] for i in range(len(fake))])
    probs = model(fake_batch).softmax(dim=1)
print("FakeData targets", [int(fake[i][1]) for i in range(len(fake))],
      "prob sums", [round(v, 4) for v in probs.sum(0).tolist()])


def gray_loader(path):
    with open(path, "rb") as f:
        return Image.open(f).convert("L")


plain = datasets.DatasetFolder(os.path.join(root, "train"), loader=gray_loader,
                               extensions=(".png",), transform=transforms.PILToTensor())
g, t = plain[7]
print("DatasetFolder", len(plain), tuple(g.shape), g.dtype, t, int(g.float().mean().round()))
