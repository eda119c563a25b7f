"""Transfer learning tutorial: freeze a pretrained backbone, replace the head, param groups."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim import lr_scheduler


def fill_(model, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            v = np.cos(np.arange(p.numel()) * (0.37 + 0.11 * i)).astype(np.float32) * scale
            p.copy_(torch.from_numpy(v.reshape(tuple(p.shape))))


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 1000)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.conv2(x))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


model_conv = Backbone()
fill_(model_conv)
rng = np.random.default_rng(1)
images = torch.tensor(rng.standard_normal((24, 3, 8, 8)).astype(np.float32))
labels = torch.tensor(rng.integers(0, 2, 24))

# ConvNet as fixed feature extractor
for param in model_conv.parameters():
    param.requires_grad = False
num_ftrs = model_conv.fc.in_features
model_conv.fc = nn.Linear(num_ftrs, 2)
fill_(model_conv.fc, 0.1)
print(num_ftrs, model_conv.fc)
trainable = [n for n, p in model_conv.named_parameters() if p.requires_grad]
print(trainable, sum(p.numel() for p in model_conv.parameters() if p.requires_grad))

criterion = nn.CrossEntropyLoss()
optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.1, momentum=0.9)
exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=2, gamma=0.1)
frozen_before = model_conv.conv1.weight.clone()
running_mean_before = model_conv.bn1.running_mean.clone()

for epoch in range(4):
    model_conv.train()
    running_loss, running_corrects = 0.0, 0
    for i in range(0, 24, 8):
        inputs, targets = images[i:i + 8], labels[i:i + 8]
        optimizer_conv.zero_grad()
        with torch.set_grad_enabled(True):
            outputs = model_conv(inputs)
            _, preds = torch.max(outputs, 1)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer_conv.step()
        running_loss += loss.item() * inputs.size(0)
        running_corrects += torch.sum(preds == targets.data)
    exp_lr_scheduler.step()
    epoch_loss = running_loss / 24
    epoch_acc = running_corrects.double() / 24
    print(f"Epoch {epoch} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f} "
          f"lr {exp_lr_scheduler.get_last_lr()[0]:.4g}")

print(torch.equal(frozen_before, model_conv.conv1.weight), model_conv.conv1.weight.grad)
print(torch.equal(running_mean_before, model_conv.bn1.running_mean))
print(model_conv.bn1.num_batches_tracked, model_conv.bn1.running_mean[:3].round(decimals=4))

# Fine-tuning: unfreeze, smaller lr for the backbone through parameter groups
for param in model_conv.parameters():
    param.requires_grad = True
head_params = list(model_conv.fc.parameters())
head_ids = {id(p) for p in head_params}
backbone_params = [p for p in model_conv.parameters() if id(p) not in head_ids]
optimizer_ft = optim.SGD([
    {"params": backbone_params, "lr": 0.001},
    {"params": head_params},
], lr=0.01, momentum=0.9, weight_decay=1e-4)
print([g["lr"] for g in optimizer_ft.param_groups], len(optimizer_ft.param_groups[0]["params"]))
print(sorted(k for k in optimizer_ft.param_groups[1] if k != "params"))
model_conv.eval()
for step in range(3):
    optimizer_ft.zero_grad()
    loss = criterion(model_conv(images), labels)
    loss.backward()
    optimizer_ft.step()
    print(f"fine-tune step {step} loss {loss.item():.4f}")
optimizer_ft.add_param_group({"params": [nn.Parameter(torch.zeros(2))], "lr": 0.5})
print(len(optimizer_ft.param_groups), optimizer_ft.param_groups[2]["momentum"])
with torch.no_grad():
    print(model_conv(images[:4]).argmax(1))
