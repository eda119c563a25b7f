"""The models ``ember train`` offers: an MLP, a small CNN and ResNet-18."""

from __future__ import annotations

import ember.nn as nn


class MLP(nn.Module):
    """Flatten-Linear-ReLU-Linear-ReLU-Linear."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)


class SmallCNN(nn.Module):
    """Two 3x3 convolutions, max-pooling, dropout and two linear layers."""

    def __init__(self, in_channels: int, size: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * (size // 2) ** 2, 128), nn.ReLU(),
            nn.Linear(128, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def build_model(name: str, in_channels: int, size: int, num_classes: int) -> nn.Module:
    if name == "mlp":
        return MLP(in_channels * size * size, num_classes)
    if name == "cnn":
        return SmallCNN(in_channels, size, num_classes)
    from ember.vision.models import resnet18

    model = resnet18(num_classes=num_classes)
    if in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    return model
