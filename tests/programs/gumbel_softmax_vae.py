"""A categorical VAE with the Gumbel-softmax trick (Jang et al. 2017), after the widely copied
PyTorch Gumbel-softmax VAE examples: the encoder outputs logits for several categorical latents,
``F.gumbel_softmax`` (soft and straight-through ``hard=True``) relaxes the samples, the
temperature is annealed with an exponential schedule, and the KL to a uniform prior comes from
``torch.distributions``' ``OneHotCategorical``/``Categorical`` and ``kl_divergence``. The
relaxed distributions ``RelaxedOneHotCategorical`` and ``RelaxedBernoulli`` are checked too.
Data come from NumPy; weights and all sampling from ``torch.manual_seed``."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import (Categorical, OneHotCategorical, RelaxedBernoulli,
                                 RelaxedOneHotCategorical, kl_divergence)
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(4)
# 16-pixel binary patterns: four prototypes with bit flips
prototypes = rng.integers(0, 2, (4, 16))
labels = rng.integers(0, 4, 512)
flips = rng.random((512, 16)) < 0.05
data = np.abs(prototypes[labels] - flips).astype(np.float32)
loader = DataLoader(TensorDataset(torch.from_numpy(data)), batch_size=64, shuffle=True)

latent_dim, categorical_dim = 2, 4  # two categorical variables with four classes each


class VAE_gumbel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 64)
        self.fc2 = nn.Linear(64, latent_dim * categorical_dim)
        self.fc3 = nn.Linear(latent_dim * categorical_dim, 64)
        self.fc4 = nn.Linear(64, 16)

    def encode(self, x):
        return self.fc2(F.relu(self.fc1(x)))

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x, temp, hard):
        logits = self.encode(x).view(-1, latent_dim, categorical_dim)
        z = F.gumbel_softmax(logits, tau=temp, hard=hard, dim=-1)
        return self.decode(z.view(-1, latent_dim * categorical_dim)), logits


def loss_function(recon_logits, x, logits):
    bce = F.binary_cross_entropy_with_logits(recon_logits, x, reduction="sum") / x.size(0)
    posterior = OneHotCategorical(logits=logits)
    prior = OneHotCategorical(probs=torch.full_like(logits, 1.0 / categorical_dim))
    kld = kl_divergence(posterior, prior).sum(-1).mean()
    return bce + kld, bce, kld


model = VAE_gumbel()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
temp, temp_min, anneal_rate = 1.0, 0.5, 0.03
for epoch in range(1, 9):
    hard = epoch > 4  # straight-through samples once the temperature is low
    totals = [0.0, 0.0, 0.0]
    for batch_idx, (x,) in enumerate(loader):
        recon, logits = model(x, temp, hard)
        loss, bce, kld = loss_function(recon, x, logits)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for i, value in enumerate((loss, bce, kld)):
            totals[i] += value.item() * x.size(0)
    temp = max(temp * math.exp(-anneal_rate * epoch), temp_min)
    print(f"epoch {epoch} hard={hard}: loss {totals[0] / 512:.4f} bce {totals[1] / 512:.4f} "
          f"kl {totals[2] / 512:.4f} temp {temp:.4f}")

model.eval()
with torch.no_grad():
    logits = model.encode(torch.from_numpy(data[:256])).view(-1, latent_dim, categorical_dim)
    codes = logits.argmax(-1)
    code_ids = codes[:, 0] * categorical_dim + codes[:, 1]
    print("distinct codes", torch.unique(code_ids).numel(), "entropy per latent",
          [round(v, 4) for v in Categorical(logits=logits).entropy().mean(0).tolist()])
    # decode every combination of the first latent with the second fixed to class 0
    z = torch.zeros(categorical_dim, latent_dim, categorical_dim)
    z[torch.arange(categorical_dim), 0, torch.arange(categorical_dim)] = 1.0
    z[:, 1, 0] = 1.0
    images = torch.sigmoid(model.decode(z.view(categorical_dim, -1))) > 0.5
    print("decoded bits per code", images.sum(1).tolist())

# hard gumbel-softmax: one-hot forward, soft gradient
logits = torch.tensor([[1.0, 2.0, 0.5]], requires_grad=True)
torch.manual_seed(3)
y_hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
torch.manual_seed(3)
y_soft = F.gumbel_softmax(logits, tau=0.5, hard=False)
print("hard", y_hard.tolist(), "argmax matches soft:",
      y_hard.argmax().item() == y_soft.argmax().item())
(y_hard * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
print("grad through hard sample", [round(v, 4) for v in logits.grad[0].tolist()])

# the relaxed distributions
relaxed = RelaxedOneHotCategorical(temperature=torch.tensor(0.5),
                                   logits=torch.tensor([0.0, 1.0, 2.0]))
torch.manual_seed(5)
s = relaxed.rsample((2000,))
print("relaxed sample sums", round(s.sum(-1).mean().item(), 4), "mean",
      [round(v, 2) for v in s.mean(0).tolist()],
      "log_prob", round(relaxed.log_prob(s[0]).item(), 3))
rb = RelaxedBernoulli(torch.tensor([0.1, 2.0]), probs=torch.tensor([0.3, 0.8]))
torch.manual_seed(6)
b = rb.rsample((4000,))
print("relaxed bernoulli mean", [round(v, 2) for v in b.mean(0).tolist()],
      "temperature", rb.temperature.tolist(), "support", rb.support)
print("KL(cat || uniform)", round(kl_divergence(Categorical(probs=torch.tensor([0.7, 0.2, 0.1])),
                                                Categorical(logits=torch.zeros(3))).item(), 5))
