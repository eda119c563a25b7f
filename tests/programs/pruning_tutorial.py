"""Pruning, after PyTorch's pruning tutorial: prune one module, iterate, remove, prune globally.

LeNet's weights come from NumPy so that the L1/Ln rankings agree between libraries; the
random pruning methods are used only where the result (how many weights) does not depend on
torch's generator.
"""
import numpy as np
import torch
from torch import nn
import torch.nn.utils.prune as prune
import torch.nn.functional as F

rng = np.random.default_rng(0)
device = torch.device("cpu")


class LeNet(nn.Module):
    def __init__(self):
        super(LeNet, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square conv kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5x5 image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, int(x.nelement() / x.shape[0]))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def fresh_model():
    model = LeNet().to(device=device)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)
                                     * 0.1))
    return model


model = fresh_model()
images = torch.from_numpy(rng.standard_normal((2, 1, 32, 32)).astype(np.float32))
print("logits before pruning:", [round(v, 4) for v in model(images)[0].tolist()])

module = model.conv1
print(list(module.named_parameters())[0][0], list(module.named_parameters())[1][0])
print(list(module.named_buffers()))

# Prune 3 random channels' worth of weights: the count is deterministic, the choice is not
prune.random_unstructured(module, name="weight", amount=0.3)
print([name for name, _ in module.named_parameters()])
print([name for name, _ in module.named_buffers()])
print("zeros after random_unstructured:", int((module.weight == 0).sum()), "of",
      module.weight.nelement())
print("forward pre hooks:", [type(h).__name__ for h in module._forward_pre_hooks.values()])

# The rest of the tutorial uses magnitude-based pruning, which is deterministic
model = fresh_model()
module = model.conv1
prune.l1_unstructured(module, name="bias", amount=3)
print("bias_mask:", module.bias_mask.tolist())
print("pruned bias:", [round(v, 4) for v in module.bias.tolist()])
print("bias_orig:", [round(v, 4) for v in module.bias_orig.tolist()])

# Iterative pruning: unstructured L1, then structured L2 pruning of half the output channels
prune.l1_unstructured(module, name="weight", amount=0.3)
prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
channel_kept = module.weight_mask.sum(dim=(1, 2, 3)) > 0
print("channels kept:", channel_kept.tolist())
for hook in module._forward_pre_hooks.values():
    if hook._tensor_name == "weight":  # select out the correct hook
        break
print("PruningContainer history:", [type(m).__name__ for m in hook])

print("state_dict keys:", list(model.state_dict().keys())[:6])

# Remove the re-parametrization: the pruned weight becomes a plain parameter
prune.remove(module, 'weight')
print([name for name, _ in module.named_parameters()])
print([name for name, _ in module.named_buffers()])
print("is_pruned(conv1):", prune.is_pruned(module))

# Pruning multiple parameters in a model
new_model = fresh_model()
for name, module in new_model.named_modules():
    # prune 20% of connections in all 2D-conv layers
    if isinstance(module, torch.nn.Conv2d):
        prune.l1_unstructured(module, name='weight', amount=0.2)
    # prune 40% of connections in all linear layers
    elif isinstance(module, torch.nn.Linear):
        prune.l1_unstructured(module, name='weight', amount=0.4)
print(dict(new_model.named_buffers()).keys())

# Global pruning
model = fresh_model()
parameters_to_prune = (
    (model.conv1, 'weight'),
    (model.conv2, 'weight'),
    (model.fc1, 'weight'),
    (model.fc2, 'weight'),
    (model.fc3, 'weight'),
)
prune.global_unstructured(
    parameters_to_prune,
    pruning_method=prune.L1Unstructured,
    amount=0.2,
)
for label, m in zip(["conv1", "conv2", "fc1", "fc2", "fc3"], [p[0] for p in parameters_to_prune]):
    print(
        "Sparsity in {}.weight: {:.2f}%".format(
            label, 100. * float(torch.sum(m.weight == 0)) / float(m.weight.nelement())
        )
    )
total_zeros = sum(torch.sum(m.weight == 0) for m, _ in parameters_to_prune)
total = sum(m.weight.nelement() for m, _ in parameters_to_prune)
print("Global sparsity: {:.2f}%".format(100. * float(total_zeros) / float(total)))
print("logits after global pruning:", [round(v, 4) for v in model(images)[0].tolist()])


# Extending torch.nn.utils.prune with custom pruning functions
class FooBarPruningMethod(prune.BasePruningMethod):
    """Prune every other entry in a tensor
    """
    PRUNING_TYPE = 'unstructured'

    def compute_mask(self, t, default_mask):
        mask = default_mask.clone()
        mask.view(-1)[::2] = 0
        return mask


def foobar_unstructured(module, name):
    FooBarPruningMethod.apply(module, name)
    return module


model = fresh_model()
foobar_unstructured(model.fc3, name='bias')
print("fc3.bias_mask:", model.fc3.bias_mask.tolist())

# Gradients flow only through the unpruned entries
out = model(images).sum()
out.backward()
print("fc3.bias_orig.grad:", [round(v, 4) for v in model.fc3.bias_orig.grad.tolist()])
