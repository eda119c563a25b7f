"""Hooks for autograd saved tensors and the graph, after the "Hooks for autograd saved tensors"
and "Autograd mechanics" tutorials: walking grad_fn.next_functions, torch.autograd.graph
.saved_tensors_hooks that count / compress (fp16) / offload to a store what the forward saves,
save_on_cpu, disable_saved_tensors_hooks, grad_fn._saved_* attributes, Node hooks
(register_hook / register_prehook), register_multi_grad_hook, and the detect_anomaly report."""
import warnings

import torch
import torch.nn as nn


def walk(fn, depth=0, seen=None):
    """Print the backward graph below ``fn`` once per node (the tutorial's graph printer)."""
    seen = set() if seen is None else seen
    if fn is None or fn in seen:
        return
    seen.add(fn)
    print("  " * depth + fn.name())
    for nxt, _ in fn.next_functions:
        walk(nxt, depth + 1, seen)


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
x = torch.randn(5, 4)
w1 = torch.randn(4, 3, requires_grad=True)
b1 = torch.zeros(3, requires_grad=True)
hidden = torch.tanh(x @ w1 + b1)
loss = (hidden.sum(dim=1) - 1).pow(2).mean()
print("graph of the loss:")
walk(loss.grad_fn)
acc = loss.grad_fn
while acc.next_functions:
    acc = next(f for f, _ in acc.next_functions if f is not None)
print("leaf node:", type(acc).__name__, "variable is w1:", acc.variable is w1)

# counting and sizing what the forward saves
saved = []


def pack_count(t):
    saved.append(t.numel() * t.element_size())
    return t


with torch.autograd.graph.saved_tensors_hooks(pack_count, lambda t: t):
    loss = model(x).pow(2).mean()
print("saved", len(saved), "tensors,", sum(saved), "bytes:", sorted(saved))
loss.backward()
ref = [p.grad.clone() for p in model.parameters()]
model.zero_grad()

# compress saved activations to float16 and back
with torch.autograd.graph.saved_tensors_hooks(lambda t: t.to(torch.float16),
                                              lambda t: t.to(torch.float32)):
    loss16 = model(x).pow(2).mean()
loss16.backward()
err = max((p.grad - r).abs().max().item() for p, r in zip(model.parameters(), ref))
print("fp16 saved tensors: max grad error below 1e-3:", err < 1e-3)
model.zero_grad()

# offload to a dict keyed by id (the tutorial's "saving to disk" stand-in)
store = {}


def pack_to_store(t):
    key = len(store)
    store[key] = t.detach().clone()
    return key


def unpack_from_store(key):
    return store.pop(key)


with torch.autograd.graph.saved_tensors_hooks(pack_to_store, unpack_from_store):
    loss = model(x).pow(2).mean()
held = len(store)
loss.backward()
same = all(torch.allclose(p.grad, r) for p, r in zip(model.parameters(), ref))
print("stored", held, "tensors, left after backward:", len(store), "grads equal:", same)
model.zero_grad()

# unpacking twice: the hooks run per access of saved_tensors
calls = {"pack": 0, "unpack": 0}


def pack(t):
    calls["pack"] += 1
    return t


def unpack(t):
    calls["unpack"] += 1
    return t


w = torch.randn(3, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
    prod = w * w.exp()
prod.sum().backward(retain_graph=True)
after_one = dict(calls)
prod.sum().backward()
print("pack/unpack calls after one backward:", after_one, "after two:", calls)

with torch.autograd.graph.save_on_cpu(pin_memory=False):
    loss = model(x).pow(2).mean()
loss.backward()
print("save_on_cpu grads equal:",
      all(torch.allclose(p.grad, r) for p, r in zip(model.parameters(), ref)))
model.zero_grad()

with torch.autograd.graph.disable_saved_tensors_hooks("no hooks in this block"):
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
            pass
    except RuntimeError as e:
        print("disabled:", e)

# hooks on graph nodes
b = torch.randn(4, requires_grad=True)
out = (b * 2).sin()
seen = []
h1 = out.grad_fn.register_prehook(lambda gO: seen.append(("pre", round(gO[0].sum().item(), 4))))
h2 = out.grad_fn.register_hook(
    lambda gI, gO: seen.append(("post", round(gI[0].abs().sum().item(), 4))))
out.backward(torch.ones(4))
print("node hooks:", seen)
h1.remove()
h2.remove()

# a prehook that replaces the incoming gradient
out2 = (b * 2).sin()
out2.grad_fn.register_prehook(lambda gO: (gO[0] * 0,))
b.grad = None
out2.sum().backward()
print("zeroed by prehook:", b.grad.abs().sum().item())

# one hook once every listed tensor's gradient is ready
t1 = torch.randn(2, requires_grad=True)
t2 = torch.randn(2, requires_grad=True)
ready = []
handle = torch.autograd.graph.register_multi_grad_hook(
    (t1, t2), lambda grads: ready.append([g is None for g in grads]))
(t1 * 3).sum().backward()
(t1 * t2).sum().backward()
print("multi grad hook saw missing grads:", ready)
handle.remove()
ready.clear()
seen_any = []
torch.autograd.graph.register_multi_grad_hook(
    (t1, t2), lambda g: seen_any.append(round(g.sum().item(), 4)), mode="any")
(t2 * 5).sum().backward()
print("mode='any' first grad:", seen_any)

# anomaly detection: a backward that returns nan is named, with the forward call behind it


class Exploding(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * float("nan")


c = torch.tensor([1.0, 2.0], requires_grad=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", UserWarning)
    with torch.autograd.detect_anomaly():
        try:
            Exploding.apply(c).sum().backward()
        except RuntimeError as e:
            print("anomaly:", e)
for w in caught:
    head = str(w.message).split("\n")[0]
    print("warning:", w.category.__name__, "-", head)
    if "Traceback" in head:
        print("  points at the forward line:", "Exploding.apply(c)" in str(w.message))
print("anomaly enabled outside:", torch.is_anomaly_enabled())
with torch.autograd.set_detect_anomaly(True):
    print("inside set_detect_anomaly:", torch.is_anomaly_enabled(),
          torch.is_anomaly_check_nan_enabled())
