"""Gradient attributions for a small classifier, written in plain PyTorch the way Captum's
tutorials explain them: vanilla saliency and input x gradient, Integrated Gradients along a
straight path from a baseline (all path points in one batch: ``torch.linspace`` alphas,
one ``autograd.grad`` call with ``grad_outputs``, then Riemann and trapezoid rules,
``torch.trapezoid`` / ``torch.cumulative_trapezoid``), the completeness check
(attributions sum to f(x) - f(baseline)), SmoothGrad and SmoothGrad-squared noise tunnels, and
the ``torch.autograd.functional`` helpers (vjp, jvp, hvp, vhp, jacobian) on the same model."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.functional import hvp, jacobian, jvp, vhp, vjp

torch.manual_seed(0)
n_features, n_classes = 6, 3


class TabularNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(n_features, 16)
        self.fc2 = nn.Linear(16, 16)
        self.out = nn.Linear(16, n_classes)

    def forward(self, x):
        x = torch.tanh(self.fc1(x))
        x = F.softplus(self.fc2(x))
        return self.out(x)


model = TabularNet()
# a short training run so the attributions describe a fitted model, not random weights
X = torch.randn(128, n_features)
w_true = torch.randn(n_features, n_classes)
y = (X @ w_true + 0.1 * torch.randn(128, n_classes)).argmax(dim=1)
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for epoch in range(60):
    opt.zero_grad()
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    opt.step()
model.eval()
acc = (model(X).argmax(1) == y).float().mean().item()
print(f"train loss {loss.item():.3f} acc {acc:.3f}")

inputs = X[:4].clone()
target = model(inputs).argmax(dim=1)
print("targets", target.tolist())


def forward_target(x, t):
    """Logit of class t for each row: the scalar each attribution explains."""
    return model(x).gather(1, t.unsqueeze(1)).squeeze(1)


# saliency: |d logit / d x|
x = inputs.clone().requires_grad_(True)
forward_target(x, target).sum().backward()
saliency = x.grad.abs()
print("saliency", saliency[0].round(decimals=4).tolist())
input_x_grad = inputs * x.grad
print("input x gradient", input_x_grad[0].round(decimals=4).tolist())
print("saliency rank", saliency.argsort(dim=1, descending=True)[:, 0].tolist())


def integrated_gradients(inp, baseline, t, steps=32, rule="riemann_trapezoid"):
    """Integrated Gradients with every path point of every input in one batch."""
    n = inp.shape[0]
    alphas = torch.linspace(0.0, 1.0, steps)
    diff = (inp - baseline).unsqueeze(0)
    # (steps, n, features) path points, flattened for one forward pass
    path = baseline.unsqueeze(0) + alphas.view(-1, 1, 1) * diff
    path = path.reshape(steps * n, -1).requires_grad_(True)
    out = forward_target(path, t.repeat(steps))
    (grads,) = torch.autograd.grad(out, path, grad_outputs=torch.ones_like(out))
    grads = grads.view(steps, n, -1)
    if rule == "riemann_trapezoid":
        avg = torch.trapezoid(grads, alphas, dim=0)
    elif rule == "riemann_left":
        avg = grads[:-1].mean(dim=0)
    else:
        avg = torch.trapezoid(grads, dx=1.0 / (steps - 1), dim=0)
    return diff.squeeze(0) * avg, grads, alphas


baseline = torch.zeros_like(inputs)
ig, path_grads, alphas = integrated_gradients(inputs, baseline, target)
print("IG", ig[0].round(decimals=3).tolist())
with torch.no_grad():
    delta = forward_target(inputs, target) - forward_target(baseline, target)
print("completeness gap", (ig.sum(1) - delta).abs().max().item() < 5e-3)
print("f(x) - f(b)", delta.round(decimals=3).tolist())
ig_dx, _, _ = integrated_gradients(inputs, baseline, target, rule="dx")
print("trapezoid x vs dx agree", torch.allclose(ig, ig_dx, atol=1e-5))
ig_left, _, _ = integrated_gradients(inputs, baseline, target, rule="riemann_left")
print("left Riemann error", round((ig_left.sum(1) - delta).abs().max().item(), 2))

# cumulative attribution along the path: how the logit builds up as alpha goes 0 -> 1
contrib = (path_grads * (inputs - baseline)).sum(-1)  # (steps, n)
cum = torch.cumulative_trapezoid(contrib, alphas, dim=0)
print("cumulative shape", tuple(cum.shape))
print("cumulative at half/end", cum[15].round(decimals=3).tolist(),
      cum[-1].round(decimals=3).tolist())

# a blurred/mean baseline instead of zeros
mean_baseline = X.mean(0, keepdim=True).expand_as(inputs)
ig_mean, _, _ = integrated_gradients(inputs, mean_baseline, target, steps=48)
print("IG mean baseline", ig_mean[1].round(decimals=3).tolist())
top2 = ig_mean.abs().topk(2, dim=1)
print("top-2 features", top2.indices.tolist())


def smoothgrad(inp, t, n_samples=16, stdev_spread=0.15, squared=False):
    """Average the gradient over noisy copies of the input (a noise tunnel)."""
    gen = torch.Generator().manual_seed(7)
    sigma = stdev_spread * (inp.max() - inp.min())
    total = torch.zeros_like(inp)
    for _ in range(n_samples):
        noisy = (inp + sigma * torch.randn(inp.shape, generator=gen)).requires_grad_(True)
        (g,) = torch.autograd.grad(forward_target(noisy, t).sum(), noisy)
        total += g * g if squared else g
    return total / n_samples


sg = smoothgrad(inputs, target)
sg2 = smoothgrad(inputs, target, squared=True)
print("smoothgrad", sg[0].round(decimals=3).tolist())
print("smoothgrad^2", sg2[0].round(decimals=2).tolist())
cos = F.cosine_similarity(sg.flatten(), x.grad.flatten(), dim=0)
print("smoothgrad vs grad cosine", round(cos.item(), 3))

# torch.autograd.functional on the single-example logit function
x0 = inputs[0]
t0 = target[0]


def logit_fn(v):
    return model(v.unsqueeze(0))[0, t0]


def logits_fn(v):
    return model(v.unsqueeze(0))[0]


out, vjp_val = vjp(logits_fn, x0, torch.tensor([1.0, -1.0, 0.5]))
print("vjp out", out.round(decimals=3).tolist(), "vjp", vjp_val.round(decimals=3).tolist())
direction = torch.ones(n_features) / n_features ** 0.5
out, jvp_val = jvp(logits_fn, x0, direction)
print("jvp", jvp_val.round(decimals=4).tolist())
J = jacobian(logits_fn, x0)
print("jacobian shape", tuple(J.shape), "jvp matches J@v", torch.allclose(J @ direction, jvp_val,
                                                                           atol=1e-5))
_, hv = hvp(logit_fn, x0, direction)
_, vh = vhp(logit_fn, x0, direction)
print("hvp", hv.round(decimals=4).tolist())
print("hvp == vhp (symmetric Hessian)", torch.allclose(hv, vh, atol=1e-5))
J_batched = jacobian(lambda v: forward_target(v, target), inputs, vectorize=True)
print("batched jacobian diag equals grad", torch.allclose(
    torch.einsum("iij->ij", J_batched), x.grad, atol=1e-5))
