"""Per-sample gradients, as in PyTorch's torch.func tutorial: a small CNN's gradient for each
example of a batch, first with one autograd.grad call per example, then in one call with
``vmap(grad(compute_loss))`` over ``functional_call``; the two must agree. Then a DP-SGD style
step: clip each example's gradient, average, update; and per-example gradient norms through
``jacrev`` of the per-example losses."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, jacrev, vmap

rng = np.random.default_rng(0)
batch_size = 8
data = torch.from_numpy(rng.standard_normal((batch_size, 1, 10, 10)).astype(np.float32))
targets = torch.from_numpy(rng.integers(0, 5, batch_size))


class SimpleCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 6, 3, 1)
        self.fc1 = nn.Linear(6 * 3 * 3, 16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


model = SimpleCNN()
init = np.random.default_rng(1)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy((0.3 * init.standard_normal(tuple(p.shape))).astype(np.float32)))


def loss_fn(predictions, targets):
    return F.nll_loss(predictions, targets)


def compute_grad(sample, target):
    sample = sample.unsqueeze(0)  # prepend batch dimension for processing
    target = target.unsqueeze(0)
    prediction = model(sample)
    loss = loss_fn(prediction, target)
    return torch.autograd.grad(loss, list(model.parameters()))


def compute_sample_grads(data, targets):
    sample_grads = [compute_grad(data[i], targets[i]) for i in range(batch_size)]
    sample_grads = zip(*sample_grads)
    return [torch.stack(shards) for shards in sample_grads]


per_sample_grads = compute_sample_grads(data, targets)
print([tuple(g.shape) for g in per_sample_grads])

params = {k: v.detach() for k, v in model.named_parameters()}
buffers = {k: v.detach() for k, v in model.named_buffers()}


def compute_loss(params, buffers, sample, target):
    batch = sample.unsqueeze(0)
    targets = target.unsqueeze(0)
    predictions = functional_call(model, (params, buffers), (batch,))
    return loss_fn(predictions, targets)


ft_compute_grad = grad(compute_loss)
ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)
print(list(ft_per_sample_grads.keys()))
for per_sample_grad, ft_per_sample_grad in zip(per_sample_grads, ft_per_sample_grads.values()):
    assert torch.allclose(per_sample_grad, ft_per_sample_grad, atol=3e-3, rtol=1e-5)
    print(tuple(ft_per_sample_grad.shape), ft_per_sample_grad.requires_grad)
print("no .grad set:", all(p.grad is None for p in model.parameters()))

# per-example gradient norms
norms = torch.stack([g.flatten(1).norm(dim=1) for g in ft_per_sample_grads.values()]).norm(dim=0)
print("norms", [round(v, 3) for v in norms.tolist()])

# the mean of the per-sample gradients is the batch gradient
model.zero_grad()
loss_fn(model(data), targets).backward()
for name, p in model.named_parameters():
    assert torch.allclose(p.grad, ft_per_sample_grads[name].mean(0), atol=1e-5), name
print("mean matches batch gradient")

# DP-SGD style: clip each example's gradient to norm 1, average, step
max_norm = 1.0
scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
with torch.no_grad():
    new_params = {k: params[k] - 0.1 * (g * scale.view(-1, *[1] * (g.dim() - 1))).mean(0)
                  for k, g in ft_per_sample_grads.items()}
before = vmap(compute_loss, in_dims=(None, None, 0, 0))(params, buffers, data, targets)
after = vmap(compute_loss, in_dims=(None, None, 0, 0))(new_params, buffers, data, targets)
print("loss", round(before.mean().item(), 4), "->", round(after.mean().item(), 4))

# the same per-example gradients as a Jacobian of the vector of per-example losses
def per_example_losses(params):
    return vmap(compute_loss, in_dims=(None, None, 0, 0))(params, buffers, data, targets)


jac = jacrev(per_example_losses)(params)
for name, g in ft_per_sample_grads.items():
    assert torch.allclose(jac[name], g, atol=1e-5), name
print("jacrev rows match", tuple(jac["fc2.weight"].shape))
