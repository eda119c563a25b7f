"""Model-agnostic and gradient-based explanations of a small tabular regressor, following the
interpretable-ML book's recipes and the influence-functions papers' reference code written in
plain PyTorch: permutation feature importance and feature ablation, Monte-Carlo Shapley values
(random feature orders, ``torch.randperm`` with a generator), a DeepLIFT rescale rule built
from forward hooks on the hidden layer, Koh & Liang influence functions (per-sample gradients
with ``torch.func.vmap(grad(...))`` over ``functional_call``, the exact Hessian of the
training loss with ``torch.func.hessian`` on a flat parameter vector from
``parameters_to_vector``, and a ``torch.linalg.solve``), checked against actually leaving
points out, and a concept activation vector found with ``torch.linalg.lstsq``."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, hessian, vmap
from torch.nn.utils import parameters_to_vector, vector_to_parameters

# double precision throughout, as influence-function code does for its Hessian solves
torch.set_default_dtype(torch.float64)
torch.manual_seed(0)
n_train, n_feat = 48, 5
X = torch.randn(n_train, n_feat)
# feature 0 matters most, feature 3 is pure noise, features 1 and 2 interact
y = 2.0 * X[:, 0] - X[:, 1] * X[:, 2] + 0.5 * torch.sin(3 * X[:, 4]) + 0.05 * torch.randn(n_train)
y = y.unsqueeze(1)
names = ["x0", "x1", "x2", "noise", "x4"]


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(n_feat, 12)
        self.act = nn.ReLU()
        self.out = nn.Linear(12, 1)

    def forward(self, x):
        return self.out(self.act(self.hidden(x)))


model = Regressor()
opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=60, line_search_fn="strong_wolfe")
l2 = 1e-2


def train_loss():
    opt.zero_grad()
    loss = F.mse_loss(model(X), y) + l2 * parameters_to_vector(model.parameters()).pow(2).sum()
    loss.backward()
    return loss


for _ in range(3):
    final = opt.step(train_loss)
print(f"train objective {final.item():.3f}")
with torch.no_grad():
    base_mse = F.mse_loss(model(X), y).item()
print(f"train mse {base_mse:.3f}")

# permutation importance: mean increase in MSE over shuffles of one column
gen = torch.Generator().manual_seed(1)
importance = torch.zeros(n_feat)
with torch.no_grad():
    for j in range(n_feat):
        for _ in range(5):
            Xp = X.clone()
            Xp[:, j] = X[torch.randperm(n_train, generator=gen), j]
            importance[j] += F.mse_loss(model(Xp), y).item() - base_mse
importance /= 5
print("permutation importance", [f"{names[j]}:{v:.2f}" for j, v in enumerate(importance.tolist())])
print("ranking", [names[j] for j in importance.argsort(descending=True).tolist()])

# feature ablation against the mean baseline, batched: one row per (point, feature)
baseline = X.mean(0)
x_explain = X[:6]
with torch.no_grad():
    f_x = model(x_explain).squeeze(1)
    ablated = x_explain.unsqueeze(1).repeat(1, n_feat, 1)  # (6, feat, feat)
    eye = torch.eye(n_feat, dtype=torch.bool)
    ablated = torch.where(eye, baseline.expand(n_feat, n_feat), ablated)
    ablation = f_x.unsqueeze(1) - model(ablated.reshape(-1, n_feat)).view(6, n_feat)
print("ablation row0", ablation[0].round(decimals=3).tolist())


def shapley_sampling(f, x, base, n_perm=64, seed=2):
    """Monte-Carlo Shapley values: add features one by one in random orders."""
    g = torch.Generator().manual_seed(seed)
    phi = torch.zeros(x.shape[0], n_feat)
    with torch.no_grad():
        for _ in range(n_perm):
            order = torch.randperm(n_feat, generator=g)
            current = base.expand_as(x).clone()
            prev = f(current).squeeze(1)
            for j in order.tolist():
                current[:, j] = x[:, j]
                now = f(current).squeeze(1)
                phi[:, j] += now - prev
                prev = now
    return phi / n_perm


phi = shapley_sampling(model, x_explain, baseline)
with torch.no_grad():
    gap = f_x - model(baseline.unsqueeze(0)).squeeze()
print("shapley row0", phi[0].round(decimals=3).tolist())
print("efficiency holds", torch.allclose(phi.sum(1), gap, atol=1e-4))
print("noise feature share", round((phi[:, 3].abs().sum() / phi.abs().sum()).item(), 3))


# DeepLIFT (rescale rule) for a one-hidden-layer ReLU net, with hooks recording activations
acts = {}
handles = [model.hidden.register_forward_hook(lambda m, i, o: acts.__setitem__("pre", o)),
           model.act.register_forward_hook(lambda m, i, o: acts.__setitem__("post", o))]
with torch.no_grad():
    model(baseline.unsqueeze(0))
    pre_ref, post_ref = acts["pre"], acts["post"]
    model(x_explain)
    pre, post = acts["pre"], acts["post"]
for h in handles:
    h.remove()
d_pre, d_post = pre - pre_ref, post - post_ref
# multiplier of each hidden unit: delta out / delta in, or the gradient where delta in ~ 0
relu_grad = (pre > 0).to(pre.dtype)
mult = torch.where(d_pre.abs() > 1e-6, d_post / torch.where(d_pre.abs() > 1e-6, d_pre,
                                                            torch.ones_like(d_pre)), relu_grad)
w1, w2 = model.hidden.weight.detach(), model.out.weight.detach()
deeplift = (x_explain - baseline) * ((mult * w2) @ w1)
print("deeplift row0", deeplift[0].round(decimals=3).tolist())
print("deeplift sums to f(x)-f(ref)", torch.allclose(deeplift.sum(1), gap, atol=1e-4))
# the plain gradient at the hidden layer: zero for every unit the ReLU switched off
pre_t = model.hidden(x_explain[:1])
(g_pre,) = torch.autograd.grad(model.out(model.act(pre_t)).sum(), pre_t)
print("hidden gradient", g_pre[0].round(decimals=3).tolist())
print("deeplift vs shapley sign agreement",
      round((deeplift.sign() == phi.sign()).float().mean().item(), 2))

# influence functions: I(z, z_test) = -grad L(z_test)^T H^-1 grad L(z). As in Koh & Liang's
# experiments, on the last layer only (the hidden features fixed), where the objective is convex
full_theta = parameters_to_vector(model.parameters()).detach()
print("all parameters", full_theta.numel())
params = {k: v.detach() for k, v in model.named_parameters() if k.startswith("out.")}
shapes = [(k, v.shape, v.numel()) for k, v in params.items()]
theta = parameters_to_vector(params.values())
print("last-layer parameters", theta.numel())


def unflatten(vec):
    out, i = {}, 0
    for k, shape, n in shapes:
        out[k] = vec[i:i + n].view(shape)
        i += n
    return out


def point_loss(p, xi, yi):
    # functional_call with only the last layer's tensors: the rest stay the module's own
    pred = functional_call(model, p, (xi.unsqueeze(0),))
    return F.mse_loss(pred, yi.unsqueeze(0))


def objective(vec, keep=None):
    pred = functional_call(model, unflatten(vec), (X,))
    per_point = (pred - y).pow(2).squeeze(1)
    if keep is not None:
        per_point = per_point * keep
    return per_point.sum() / n_train + l2 * vec.pow(2).sum()


per_sample = vmap(grad(point_loss), in_dims=(None, 0, 0))(params, X, y)
G = torch.cat([per_sample[k].reshape(n_train, -1) for k, _, _ in shapes], dim=1)
full_grad = torch.func.grad(lambda v: F.mse_loss(functional_call(model, unflatten(v), (X,)),
                                                 y))(theta)
print("per-sample grads", tuple(G.shape), "mean == full grad",
      torch.allclose(G.mean(0), full_grad, atol=1e-10))
H = hessian(objective)(theta)
eig = torch.linalg.eigvalsh(H)
print("hessian", tuple(H.shape), "symmetric", torch.allclose(H, H.T), "min eig positive",
      eig.min().item() > 0)
print("condition number", f"{torch.linalg.cond(H).item():.1f}")

x_test, y_test = torch.randn(3, n_feat), torch.randn(3, 1)
test_grads = vmap(grad(point_loss), in_dims=(None, 0, 0))(params, x_test, y_test)
Gt = torch.cat([test_grads[k].reshape(3, -1) for k, _, _ in shapes], dim=1)
s_test = torch.linalg.solve(H, Gt.T)  # (P, 3)
# change in the test losses when a training point's weight goes from 1/n to 0
influence = (G @ s_test) / n_train
top = influence[:, 0].abs().topk(3).indices
print("most influential on test0", top.tolist())
print("influence top values", influence[top, 0].round(decimals=5).tolist())
print("helpful/harmful counts", [(influence[:, j] < 0).sum().item() for j in range(3)])


def retrain_without(idx):
    """Leave-one-out refit; the objective is quadratic, so one Newton step is exact."""
    keep = torch.ones(n_train)
    keep[idx] = 0.0
    g = torch.func.grad(objective)(theta, keep)
    h = hessian(objective)(theta, keep)
    return theta - torch.linalg.solve(h, g)


with torch.no_grad():
    before = point_loss(params, x_test[0], y_test[0])
for idx in top.tolist():
    after = point_loss(unflatten(retrain_without(idx)), x_test[0], y_test[0])
    actual = (after - before).item()
    predicted = influence[idx, 0].item()
    print(f"leave out {idx}: predicted {predicted:+.5f} actual {actual:+.5f}")

# concept activation vector: a linear probe on hidden activations separates
# "x0 high" from "x0 low"; its direction's dot product with output gradients is the TCAV score
with torch.no_grad():
    hidden = model.act(model.hidden(X))
concept = (X[:, 0] > 0).to(X.dtype) * 2 - 1
design = torch.cat([hidden, torch.ones(n_train, 1)], dim=1)
fit = torch.linalg.lstsq(design, concept.unsqueeze(1))
cav = fit.solution[:-1, 0]
cav = cav / cav.norm()
probe_acc = ((design @ fit.solution).squeeze(1).sign() == concept).float().mean().item()
print("probe accuracy", round(probe_acc, 2))
h = hidden.clone().requires_grad_(True)
(out_grad,) = torch.autograd.grad(model.out(h).sum(), h)
sensitivity = out_grad @ cav
print("TCAV score", round((sensitivity > 0).float().mean().item(), 2))
cav2 = torch.linalg.pinv(design) @ concept
print("lstsq == pinv", torch.allclose(fit.solution.squeeze(1), cav2, atol=1e-4))

# vector_to_parameters writes a perturbed copy back; the loss changes as the gradient predicts
eps = 1e-3
direction = parameters_to_vector(
    torch.autograd.grad(F.mse_loss(model(X), y), model.parameters())).detach()
vector_to_parameters(full_theta - eps * direction, model.parameters())
with torch.no_grad():
    new_mse = F.mse_loss(model(X), y).item()
predicted_drop = eps * direction.dot(direction).item()
print("first-order decrease", round((base_mse - new_mse) / predicted_drop, 2))
