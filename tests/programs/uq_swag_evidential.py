"""Two single-model uncertainty recipes. SWAG (Maddox et al. 2019): after SGD pre-training,
SGD at a constant rate collects the first and second moments of the flattened weights
(``parameters_to_vector``) and a deviation matrix; weights are sampled from
``LowRankMultivariateNormal`` (diagonal + low rank), written back with
``vector_to_parameters``, BatchNorm statistics refreshed with ``swa_utils.update_bn``, and
the Bayesian model average scored (NLL, accuracy, predictive entropy, mutual information).
Deep evidential regression (Amini et al. 2020): a Normal-Inverse-Gamma head trained with the
NIG negative log-likelihood (``lgamma``) plus the evidence regulariser; aleatoric and
epistemic variances in and out of the training range."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import LowRankMultivariateNormal, StudentT
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)

# ---------------------------------------------------------------- SWAG
n_cls, dim = 3, 5
lab = rng.integers(0, n_cls, 700)
ang = lab * 2 * np.pi / n_cls + rng.standard_normal(700) * 0.6
feat = np.stack([np.cos(ang), np.sin(ang)], 1) * (1 + 0.3 * rng.standard_normal((700, 1)))
feat = np.concatenate([feat, rng.standard_normal((700, dim - 2)) * 0.5], 1)
X = torch.from_numpy(feat.astype(np.float32))
Y = torch.from_numpy(lab)
train_ds = TensorDataset(X[:500], Y[:500])
Xte, Yte = X[500:], Y[500:]

model = nn.Sequential(nn.Linear(dim, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 32),
                      nn.ReLU(), nn.Linear(32, n_cls))
loader = DataLoader(train_ds, batch_size=50, shuffle=True,
                    generator=torch.Generator().manual_seed(3))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)


def run_epoch():
    model.train()
    total = 0.0
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
    return total / len(train_ds)


for epoch in range(10):
    loss = run_epoch()
print(f"pretrain loss {loss:.4f}")

n_params = sum(p.numel() for p in model.parameters())
max_rank = 6
# moments in float64: the variance is a small difference of squares
mean = torch.zeros(n_params, dtype=torch.float64)
sq_mean = torch.zeros(n_params, dtype=torch.float64)
deviations = []
for group in opt.param_groups:
    group["lr"] = 0.02  # constant SWA learning rate
for n_models in range(1, 11):
    run_epoch()
    w = parameters_to_vector(model.parameters()).detach().double()
    mean.mul_((n_models - 1) / n_models).add_(w / n_models)
    sq_mean.mul_((n_models - 1) / n_models).addcmul_(w, w, value=1 / n_models)
    deviations.append(w - mean)
    if len(deviations) > max_rank:
        deviations.pop(0)
var = torch.clamp(sq_mean - mean.square(), min=1e-10)
D = torch.stack(deviations, dim=1)  # (P, K)
K = D.shape[1]
print("swag params", n_params, "deviation matrix", tuple(D.shape),
      f"mean |w| {mean.abs().mean().item():.4f} mean var {var.mean().item():.3e}")
posterior = LowRankMultivariateNormal(mean, cov_factor=D / math.sqrt(2 * (K - 1)),
                                      cov_diag=var / 2)
print(f"posterior batch {tuple(posterior.batch_shape)} event {tuple(posterior.event_shape)} "
      f"log_prob(mean) {posterior.log_prob(mean).item():.2f} "
      f"entropy {posterior.entropy().item():.2f}")
diag = var / 2 + D.pow(2).sum(1) / (2 * (K - 1))
print(f"cov diag check {torch.allclose(posterior.variance, diag, rtol=1e-4)}")


def predict(weights):
    vector_to_parameters(weights.float(), model.parameters())
    update_bn(loader, model)  # BN statistics for the sampled weights
    model.eval()
    with torch.no_grad():
        return model(Xte).softmax(-1)


p_swa = predict(mean)
print(f"SWA    nll {F.nll_loss(p_swa.log(), Yte).item():.4f} "
      f"acc {(p_swa.argmax(1) == Yte).float().mean().item():.4f}")
bn = model[1]
print(f"bn after update_bn: momentum {bn.momentum} batches {bn.num_batches_tracked.item()} "
      f"mean[:3] {[round(v, 4) for v in bn.running_mean[:3].tolist()]}")

torch.manual_seed(11)
probs = torch.stack([predict(posterior.rsample()) for _ in range(6)])  # (S, N, C)
bma = probs.mean(0)
entropy = -(bma * bma.clamp_min(1e-12).log()).sum(-1)
exp_entropy = -(probs * probs.clamp_min(1e-12).log()).sum(-1).mean(0)
mutual_info = entropy - exp_entropy
print(f"SWAG   nll {F.nll_loss(bma.log(), Yte).item():.4f} "
      f"acc {(bma.argmax(1) == Yte).float().mean().item():.4f} "
      f"entropy {entropy.mean().item():.4f} MI {mutual_info.mean().item():.4f}")
wrong = bma.argmax(1) != Yte
print(f"entropy wrong {entropy[wrong].mean().item():.4f} right {entropy[~wrong].mean().item():.4f}")
print("sample spread per class", [f"{v:.4f}" for v in probs.std(0).mean(0).tolist()])

# ---------------------------------------------------------------- evidential regression
# float64 here: the regulariser's |y - gamma| makes a long Adam run sensitive to rounding
torch.manual_seed(1)
torch.set_default_dtype(torch.float64)
x_tr = torch.linspace(-4, 4, 300).unsqueeze(1)
y_tr = x_tr.pow(3) / 10 + torch.randn(300, 1) * 0.3
x_te = torch.linspace(-6, 6, 13).unsqueeze(1)


class DenseNormalGamma(nn.Module):
    def __init__(self, d_in):
        super().__init__()
        self.proj = nn.Linear(d_in, 4)

    def forward(self, x):
        gamma, lognu, logalpha, logbeta = self.proj(x).unbind(-1)
        nu = F.softplus(lognu)
        alpha = F.softplus(logalpha) + 1
        beta = F.softplus(logbeta)
        return gamma, nu, alpha, beta


def nig_nll(y, gamma, nu, alpha, beta):
    two_b_lambda = 2 * beta * (1 + nu)
    return (0.5 * torch.log(math.pi / nu) - alpha * torch.log(two_b_lambda)
            + (alpha + 0.5) * torch.log(nu * (y - gamma) ** 2 + two_b_lambda)
            + torch.lgamma(alpha) - torch.lgamma(alpha + 0.5))


def nig_reg(y, gamma, nu, alpha):
    return (y - gamma).abs() * (2 * nu + alpha)


net = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                    DenseNormalGamma(64))
eopt = torch.optim.Adam(net.parameters(), lr=5e-3)
ey = y_tr.squeeze(1)
for it in range(300):
    gamma, nu, alpha, beta = net(x_tr)
    nll = nig_nll(ey, gamma, nu, alpha, beta).mean()
    loss = nll + 0.01 * nig_reg(ey, gamma, nu, alpha).mean()
    eopt.zero_grad()
    loss.backward()
    eopt.step()
    if it % 75 == 74:
        print(f"evidential iter {it + 1} loss {loss.item():.4f} nll {nll.item():.4f}")

with torch.no_grad():
    gamma, nu, alpha, beta = net(x_te)
aleatoric = beta / (alpha - 1)
epistemic = beta / (nu * (alpha - 1))
for i in range(0, 13, 2):
    print(f"x {x_te[i].item():+.1f} mean {gamma[i].item():+.3f} "
          f"aleatoric {aleatoric[i].item():.4f} "
          f"epistemic {epistemic[i].item():.4f}")
inside = x_te.squeeze(1).abs() <= 4
print(f"epistemic ratio out/in {(epistemic[~inside].mean() / epistemic[inside].mean()).item():.3f}")
# the NIG's predictive is a Student-t with 2 alpha degrees of freedom
with torch.no_grad():
    g, v, a, b = net(x_tr)
pred = StudentT(df=2 * a, loc=g, scale=torch.sqrt(b * (1 + v) / (v * a)))
print(f"student-t nll {-pred.log_prob(ey).mean().item():.4f} "
      f"nig nll {nig_nll(ey, g, v, a, b).mean().item():.4f}", torch.get_default_dtype())
torch.set_default_dtype(torch.float32)
