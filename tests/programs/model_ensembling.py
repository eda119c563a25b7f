"""Model ensembling, as in PyTorch's torch.func tutorial: several MLPs of one architecture
run as one with ``stack_module_state`` + ``functional_call`` + ``vmap``, each on its own
minibatch (in_dims=0) or all on the same one (in_dims=(0, 0, None)), checked against a loop
over the models; then the whole ensemble trained together with ``vmap(grad(...))``."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

rng = np.random.default_rng(0)
num_models = 4
data = torch.from_numpy(rng.standard_normal((num_models, 16, 1, 4, 4)).astype(np.float32))
targets = torch.from_numpy(rng.integers(0, 3, (num_models, 16)))


class SimpleMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 12)
        self.fc2 = nn.Linear(12, 12)
        self.fc3 = nn.Linear(12, 3)

    def forward(self, x):
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def make_model(seed):
    model = SimpleMLP()
    init = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy((0.4 * init.standard_normal(tuple(p.shape)))
                                     .astype(np.float32)))
    return model


models = [make_model(seed) for seed in range(num_models)]

minibatches = data[:num_models]
predictions_diff_minibatch_loop = [model(minibatch)
                                   for model, minibatch in zip(models, minibatches)]
minibatch = data[0]
predictions2 = [model(minibatch) for model in models]

params, buffers = stack_module_state(models)
print([p.size(0) for p in params.values()], len(buffers))
print({k: (tuple(v.shape), v.requires_grad, v.is_leaf) for k, v in params.items()})

base_model = copy.deepcopy(models[0])
base_model = base_model.to("meta")


def fmodel(params, buffers, x):
    return functional_call(base_model, (params, buffers), (x,))


predictions1_vmap = vmap(fmodel)(params, buffers, minibatches)
assert torch.allclose(predictions1_vmap, torch.stack(predictions_diff_minibatch_loop),
                      atol=1e-3, rtol=1e-5)
predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
assert torch.allclose(predictions2_vmap, torch.stack(predictions2), atol=1e-3, rtol=1e-5)
print(tuple(predictions1_vmap.shape), tuple(predictions2_vmap.shape))
print(predictions2_vmap[:, 0].detach().round(decimals=3))

# gradients flow through the stacked leaves
predictions1_vmap.square().mean().backward()
print("fc1.weight grad", tuple(params["fc1.weight"].grad.shape),
      round(params["fc1.weight"].grad.abs().sum().item(), 3))

# train the whole ensemble together: one vmapped grad per step, each model on its minibatch
def loss(p, b, x, y):
    return F.cross_entropy(fmodel(p, b, x), y)


step = vmap(grad_and_value(loss))
weights = {k: v.detach().clone() for k, v in params.items()}
for it in range(5):
    grads, losses = step(weights, buffers, minibatches, targets)
    weights = {k: w - 0.2 * grads[k] for k, w in weights.items()}
    print(it, [round(v, 4) for v in losses.tolist()])

# the ensemble's first member trained alone gives the same weights
solo = models[0]
opt = torch.optim.SGD(solo.parameters(), lr=0.2)
for it in range(5):
    opt.zero_grad()
    F.cross_entropy(solo(minibatches[0]), targets[0]).backward()
    opt.step()
assert torch.allclose(solo.fc3.weight, weights["fc3.weight"][0], atol=1e-5)
print("member 0 matches a solo run")
votes = vmap(fmodel, in_dims=(0, 0, None))(weights, buffers, data[1]).softmax(-1).mean(0)
print("ensemble accuracy", (votes.argmax(-1) == targets[1]).float().mean().item())
