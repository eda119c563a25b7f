"""The VAE example: encoder to (mu, logvar), the reparameterization trick, BCE + KLD loss."""
import numpy as np
import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F

rng = np.random.default_rng(0)
images = (rng.random((64, 1, 8, 8)) < np.linspace(0.1, 0.9, 8)[None, None, :, None])
train_set = torch.utils.data.TensorDataset(torch.tensor(images, dtype=torch.float32),
                                           torch.zeros(64, dtype=torch.long))
train_loader = torch.utils.data.DataLoader(train_set, batch_size=16, shuffle=False)
# a fixed bank of "random" eps so that both libraries sample the same noise
eps_bank = torch.from_numpy(rng.standard_normal((16, 4)).astype(np.float32))


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = eps_bank[:std.size(0)]  # torch.randn_like(std) in the example
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


model = VAE()
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.from_numpy(rng.uniform(-0.2, 0.2, tuple(p.shape)).astype(np.float32)))
optimizer = optim.Adam(model.parameters(), lr=1e-2)


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def train(epoch):
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    print("====> Epoch: {} Average loss: {:.3f}".format(
        epoch, train_loss / len(train_loader.dataset)))


def test(epoch):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for i, (data, _) in enumerate(train_loader):
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar).item()
            if i == 0:
                n = min(data.size(0), 8)
                comparison = torch.cat([data[:n], recon_batch.view(16, 1, 8, 8)[:n]])
    test_loss /= len(train_loader.dataset)
    print("====> Test set loss: {:.3f}".format(test_loss), comparison.shape)


for epoch in range(1, 6):
    train(epoch)
    test(epoch)
with torch.no_grad():
    sample = eps_bank[:8]
    sample = model.decode(sample).cpu()
    print(sample.view(8, 1, 8, 8).shape, sample.mean(dim=0).view(8, 8).mean(1).round(decimals=2))
# the KL term alone for one (mu, logvar)
mu, logvar = torch.tensor([[0.5, -0.2]]), torch.tensor([[0.1, -0.3]])
print(round((-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())).item(), 5))
