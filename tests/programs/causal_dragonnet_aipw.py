"""DragonNet (Shi, Blei and Veitch, "Adapting Neural Networks for the Estimation of Treatment
Effects") with targeted regularisation, followed by a cross-fitted AIPW (doubly-robust)
estimator as double/debiased machine-learning tutorials write it in plain PyTorch: folds from
``torch.randperm``, ``torch.utils.data.Subset`` views for the training folds, out-of-fold
nuisance predictions written back with ``index_copy_``, the efficient influence function for the
ATE and its standard error, and the TMLE-style one-step correction with the learned epsilon."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset, TensorDataset

torch.manual_seed(0)

n, d = 600, 5
X = torch.randn(n, d)
T = torch.bernoulli(torch.sigmoid(X[:, 0] - 0.5 * X[:, 2]))
tau_true = 1.5
Y = tau_true * T + X[:, 0] + torch.sin(X[:, 1]) + 0.5 * X[:, 2] + 0.5 * torch.randn(n)
data = TensorDataset(X, T, Y)
print("naive", round((Y[T == 1].mean() - Y[T == 0].mean()).item(), 3))


class DragonNet(nn.Module):
    def __init__(self, d, rep=24, hidden=16):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d, rep), nn.ELU(), nn.Linear(rep, rep), nn.ELU())
        self.t_head = nn.Linear(rep, 1)
        self.y0 = nn.Sequential(nn.Linear(rep, hidden), nn.ELU(), nn.Linear(hidden, 1))
        self.y1 = nn.Sequential(nn.Linear(rep, hidden), nn.ELU(), nn.Linear(hidden, 1))
        self.epsilon = nn.Parameter(torch.zeros(1))  # targeted-regularisation fluctuation

    def forward(self, x):
        z = self.body(x)
        return (self.y0(z).squeeze(-1), self.y1(z).squeeze(-1),
                torch.sigmoid(self.t_head(z)).squeeze(-1))


def dragon_loss(model, x, t, y, alpha=1.0, beta=1.0):
    q0, q1, g = model(x)
    g = g.clamp(0.01, 0.99)
    q = t * q1 + (1 - t) * q0
    outcome = F.mse_loss(q, y, reduction="sum")
    treat = F.binary_cross_entropy(g, t, reduction="sum")
    h = t / g - (1 - t) / (1 - g)
    y_pert = q + model.epsilon * h
    targeted = F.mse_loss(y_pert, y, reduction="sum")
    return (outcome + alpha * treat + beta * targeted) / x.shape[0]


def fit(train_set, epochs=30, seed=0):
    torch.manual_seed(seed)
    model = DragonNet(d)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3)
    loader = DataLoader(train_set, batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    for _ in range(epochs):
        total = 0.0
        for xb, tb, yb in loader:
            loss = dragon_loss(model, xb, tb, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        sched.step(total / len(train_set))
    return model, total / len(train_set), opt.param_groups[0]["lr"]


# Whole-sample DragonNet: plug-in and targeted estimates.
model, last, lr = fit(data)
print("final loss", round(last, 2), "lr", lr)
model.eval()
with torch.no_grad():
    q0, q1, g = model(X)
    g = g.clamp(0.01, 0.99)
    eps = model.epsilon.item()
    q0_t = q0 - eps / (1 - g)
    q1_t = q1 + eps / g
print("epsilon", round(eps, 3))
print("plug-in ATE", round((q1 - q0).mean().item(), 2),
      "targeted ATE", round((q1_t - q0_t).mean().item(), 2))

# Cross-fitted AIPW with K folds.
K = 3
perm = torch.randperm(n, generator=torch.Generator().manual_seed(7))
folds = perm.tensor_split(K)
mu0_hat, mu1_hat, e_hat = torch.empty(n), torch.empty(n), torch.empty(n)
for k, held in enumerate(folds):
    train_idx = torch.cat([f for j, f in enumerate(folds) if j != k])
    fold_model, _, _ = fit(Subset(data, train_idx.tolist()), epochs=20, seed=10 + k)
    fold_model.eval()
    with torch.no_grad():
        a, b, c = fold_model(X[held])
    mu0_hat.index_copy_(0, held, a)
    mu1_hat.index_copy_(0, held, b)
    e_hat.index_copy_(0, held, c)
    print("fold", k, "size", held.numel(), "train", train_idx.numel())

e_hat = e_hat.clamp(0.02, 0.98)
psi = (mu1_hat - mu0_hat + T * (Y - mu1_hat) / e_hat
       - (1 - T) * (Y - mu0_hat) / (1 - e_hat))
ate = psi.mean()
se = psi.std(unbiased=True) / n ** 0.5
print("AIPW ATE", round(ate.item(), 2), "se", round(se.item(), 2))
z = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(0.975))
print("95% CI", round((ate - z * se).item(), 1), round((ate + z * se).item(), 1))
print("e_hat mean", round(e_hat.mean().item(), 2))
