"""A tiny ResNet: BasicBlock with BatchNorm and a projection shortcut, kaiming init through
nn.init on fixed weights, train/eval modes, SGD with nesterov and weight decay."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, layers=(1, 1), num_classes=3):
        super().__init__()
        self.inplanes = 8
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(8, layers[0])
        self.layer2 = self._make_layer(16, layers[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16 * BasicBlock.expansion, num_classes)
        rng = np.random.default_rng(5)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                w = rng.normal(0, np.sqrt(2.0 / fan_out), tuple(m.weight.shape))
                with torch.no_grad():
                    m.weight.copy_(torch.tensor(w, dtype=torch.float32))
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                with torch.no_grad():
                    m.weight.copy_(torch.tensor(rng.uniform(-0.25, 0.25, (num_classes, 16)),
                                                dtype=torch.float32))
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, BasicBlock):
                nn.init.constant_(m.bn2.weight, 0)  # zero-init the last BN in each block

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * BasicBlock.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * BasicBlock.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * BasicBlock.expansion),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * BasicBlock.expansion
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


model = ResNet()
print(model.layer2)
print(sum(p.numel() for p in model.parameters()), len(list(model.buffers())))
rng = np.random.default_rng(9)
labels = rng.integers(0, 3, 32)
images = rng.standard_normal((32, 3, 12, 12)).astype(np.float32) * 0.5
for i, c in enumerate(labels):
    images[i, c] += 1.0  # class = the brighter channel
x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)

optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                            weight_decay=5e-4)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
for epoch in range(4):
    model.train()
    for i in range(0, 32, 16):
        out = model(x_all[i:i + 16])
        loss = criterion(out, y_all[i:i + 16])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(x_all)
        acc = (logits.argmax(1) == y_all).float().mean().item()
        val = F.cross_entropy(logits, y_all).item()
    print(f"epoch {epoch}: train loss {loss.item():.4f} eval loss {val:.4f} acc {acc:.3f}")

bn = model.bn1
print(bn.training, bn.num_batches_tracked.item(), bn.running_mean.round(decimals=3))
print(model.layer1[0].bn2.weight.abs().max().item() < 1, model.fc.weight.grad.shape)
with torch.no_grad():
    single = model(x_all[:1])
print(single.shape, single.argmax(1), model.training)
model.train()
try:
    model(x_all[:1, :, :1, :1])
except ValueError as err:
    print("ValueError:", str(err).split(". ")[0])
