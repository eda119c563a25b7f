"""The Spatial Transformer Networks tutorial: a localisation net regresses an affine theta,
F.affine_grid + F.grid_sample warp the input, a small CNN classifies it; SGD on synthetic,
randomly shifted 28x28 "digits". Dropout is off so that both libraries draw nothing random."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


def fake_digits(n, seed):
    """Ten bar patterns, each drawn at a random offset, on faint noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.random((n, 1, 28, 28), dtype=np.float32) * 0.2
    for i, c in enumerate(labels):
        dy, dx = rng.integers(-4, 5, 2)
        top, left = 9 + dy, 9 + dx
        r, col = divmod(int(c), 5)
        images[i, 0, top + 2 * r:top + 2 * r + 6, left + 2 * col:left + 2 * col + 2] = 1.0
        images[i, 0, top:top + 2, left:left + 10] = 0.8
    images = (images - 0.1307) / 0.3081
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(p=0.0)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

        # Spatial transformer localization-network
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True)
        )

        # Regressor for the 3 * 2 affine matrix
        self.fc_loc = nn.Sequential(
            nn.Linear(10 * 3 * 3, 32),
            nn.ReLU(True),
            nn.Linear(32, 3 * 2)
        )

    def init_weights(self):
        with torch.no_grad():
            for i, p in enumerate(self.parameters()):
                w = np.sin(np.arange(p.numel()) * (1.3 + 0.7 * i)) * 0.1
                p.copy_(torch.from_numpy(w.astype(np.float32)).view_as(p))
        # Initialize the weights/bias with identity transformation
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    # Spatial transformer network forward function
    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 10 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)

        grid = F.affine_grid(theta, x.size(), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)

        return x

    def forward(self, x):
        # transform the input
        x = self.stn(x)

        # Perform the usual forward pass
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, p=0.0, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def train(model, optimizer, train_loader, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        print('Train Epoch: {} [{}/{}]\tLoss: {:.4f}'.format(
            epoch, batch_idx * len(data), len(train_loader.dataset), loss.item()))


def test(model, test_loader):
    with torch.no_grad():
        model.eval()
        test_loss = 0
        correct = 0
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.max(1, keepdim=True)[1]
            correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        print('Test set: Average loss: {:.4f}, Accuracy: {}/{}'.format(
            test_loss, correct, len(test_loader.dataset)))


train_loader = DataLoader(fake_digits(128, 0), batch_size=64, shuffle=False)
test_loader = DataLoader(fake_digits(64, 1), batch_size=64)
model = Net()
model.init_weights()
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for epoch in range(1, 4):
    train(model, optimizer, train_loader, epoch)
    test(model, test_loader)

# the learned transforms of the first test images, and the warped images' statistics
with torch.no_grad():
    data = next(iter(test_loader))[0][:4]
    xs = model.localization(data).view(-1, 10 * 3 * 3)
    theta = model.fc_loc(xs).view(-1, 2, 3)
    print([[round(v, 3) for v in row] for row in theta[0].tolist()])
    warped = model.stn(data)
    print(tuple(warped.shape), round(warped.mean().item(), 4), round(warped.std().item(), 4))
    for mode in ('bilinear', 'nearest', 'bicubic'):
        for padding_mode in ('zeros', 'border', 'reflection'):
            grid = F.affine_grid(theta * 1.3, data.size(), align_corners=True)
            out = F.grid_sample(data, grid, mode=mode, padding_mode=padding_mode,
                                align_corners=True)
            print(mode, padding_mode, round(out.abs().sum().item() / out.numel(), 4))
