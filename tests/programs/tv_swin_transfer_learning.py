"""Transfer learning with a Swin Transformer, after torchvision's "Transfer Learning for Computer
Vision" tutorial (feature-extractor variant) and its model-zoo documentation.

The tutorial loads a pretrained backbone, swaps the classification head for one with the new
number of classes, freezes everything else and trains the head with SGD + momentum and a StepLR
schedule. No download is possible here, so the backbone starts from its seeded random
initialisation; everything else follows the tutorial. It also looks the models up by name
(``list_models`` / ``get_model_weights``), respects MaxViT's input-size rule, and runs the video
Swin on a short clip.
"""

import torch
import torchvision
from torch import nn

torch.manual_seed(0)

# the zoo's Swin family, by name
print("swin models:", torchvision.models.list_models(include="swin*"))
weights = torchvision.models.get_model_weights("swin_v2_t").DEFAULT
print("swin_v2_t default:", weights, "min_size", weights.meta["min_size"],
      "params", weights.meta["num_params"])

model = torchvision.models.swin_t(weights=None)
num_features = model.head.in_features
model.head = nn.Linear(num_features, 3)
print("head:", model.head)

# freeze the backbone: only the new head learns
for param in model.parameters():
    param.requires_grad = False
for param in model.head.parameters():
    param.requires_grad = True
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
total = sum(p.numel() for p in model.parameters())
print(f"trainable {trainable} of {total} parameters")

optimizer = torch.optim.SGD(model.head.parameters(), lr=0.05, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
criterion = nn.CrossEntropyLoss()

# a small "dataset": two batches of 4 images, 3 classes
images = torch.randn(8, 3, 64, 64)
labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])

# the frozen backbone's features do not change, so (as the tutorial suggests for speed)
# compute them once in eval mode and train the head on them
model.eval()
with torch.no_grad():
    trunk = nn.Sequential(model.features, model.norm, model.permute, model.avgpool,
                          model.flatten)
    features = trunk(images)
print("features:", tuple(features.shape), round(features.std().item(), 4))

for epoch in range(4):
    running = 0.0
    for start in (0, 4):
        optimizer.zero_grad()
        outputs = model.head(features[start:start + 4])
        loss = criterion(outputs, labels[start:start + 4])
        loss.backward()
        optimizer.step()
        running += loss.item() * 4
    scheduler.step()
    print(f"epoch {epoch} loss {running / 8:.4f} lr {scheduler.get_last_lr()[0]:.4f}")

with torch.no_grad():
    logits = model(images[:2])
print("predictions:", logits.argmax(1).tolist(), [round(v, 3) for v in logits[0].tolist()])

# MaxViT is built for one input size: each stage's map must split into 7x7 partitions
try:
    torchvision.models.maxvit_t(input_size=(64, 64))
except ValueError as err:
    print("maxvit_t(64x64):", str(err).splitlines()[0])

# the video Swin on a clip (N, C, T, H, W) with a new 3-class head
video = torchvision.models.video.swin3d_t(num_classes=3).eval()
clip = torch.randn(1, 3, 4, 32, 32)
with torch.no_grad():
    scores = video(clip).softmax(1)
print("clip scores:", [round(v, 4) for v in scores[0].tolist()])
