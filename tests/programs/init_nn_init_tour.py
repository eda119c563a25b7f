"""A tour of torch.nn.init under torch.manual_seed: every initialiser, gains, fans and errors."""
import math
import warnings

import torch
import torch.nn as nn


def stats(name, t):
    """Print a tensor's shape and rounded summary statistics."""
    t = t.detach()
    print(f"{name:28s} {tuple(t.shape)} mean={t.mean().item():.4f} std={t.std().item():.4f} "
          f"min={t.min().item():.4f} max={t.max().item():.4f}")


print("calculate_gain")
for nl in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid", "tanh",
           "relu", "selu"]:
    print(f"  {nl:18s} {nn.init.calculate_gain(nl):.6f}")
print(f"  leaky_relu default {nn.init.calculate_gain('leaky_relu'):.6f}")
print(f"  leaky_relu 0.2     {nn.init.calculate_gain('leaky_relu', 0.2):.6f}")
print(f"  leaky_relu sqrt5   {nn.init.calculate_gain('leaky_relu', math.sqrt(5)):.6f}")
try:
    nn.init.calculate_gain("gelu")
except ValueError as e:
    print("  ValueError:", e)
try:
    nn.init.calculate_gain("leaky_relu", "x")
except ValueError as e:
    print("  ValueError:", e)

print("fans")
for shape in [(20, 10), (16, 3, 5, 5), (8, 4, 3), (6, 2, 3, 3, 3), (7,), ()]:
    w = torch.empty(shape)
    try:
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
        print(f"  {shape} fan_in={fan_in} fan_out={fan_out}")
    except ValueError as e:
        print(f"  {shape} ValueError: {e}")

torch.manual_seed(0)
w = torch.empty(64, 32)
stats("uniform_", nn.init.uniform_(w, -0.5, 0.5))
stats("normal_", nn.init.normal_(w, 1.0, 0.02))
stats("constant_", nn.init.constant_(w, 0.3))
stats("ones_", nn.init.ones_(w))
stats("zeros_", nn.init.zeros_(w))
stats("xavier_uniform_", nn.init.xavier_uniform_(w))
stats("xavier_uniform_ gain", nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh")))
stats("xavier_normal_", nn.init.xavier_normal_(w))
stats("kaiming_uniform_", nn.init.kaiming_uniform_(w))
stats("kaiming_uniform_ a=sqrt5", nn.init.kaiming_uniform_(w, a=math.sqrt(5)))
stats("kaiming_uniform_ fan_out", nn.init.kaiming_uniform_(w, mode="fan_out",
                                                           nonlinearity="relu"))
stats("kaiming_normal_", nn.init.kaiming_normal_(w))
stats("kaiming_normal_ fan_out", nn.init.kaiming_normal_(w, mode="fan_out",
                                                         nonlinearity="leaky_relu", a=0.1))
stats("trunc_normal_", nn.init.trunc_normal_(w, std=0.02))
stats("trunc_normal_ a,b", nn.init.trunc_normal_(w, mean=0.5, std=1.0, a=0.0, b=1.0))
stats("orthogonal_", nn.init.orthogonal_(w))
q = nn.init.orthogonal_(torch.empty(4, 6), gain=2.0)
print("orthogonal_ q q^T\n", (q @ q.t()).round(decimals=4))
stats("sparse_", nn.init.sparse_(w, sparsity=0.25, std=0.01))
print("  zeros per column", (w == 0).sum(0)[:8].tolist())
print("eye_\n", nn.init.eye_(torch.empty(3, 5)))
d = nn.init.dirac_(torch.empty(4, 2, 3))
print("dirac_ 1d\n", d)
d2 = nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2)
print("dirac_ groups=2 nonzero", d2.nonzero().tolist())

print("generator argument")
g = torch.Generator().manual_seed(7)
a = nn.init.kaiming_normal_(torch.empty(3, 4), generator=g)
g.manual_seed(7)
b = nn.init.kaiming_normal_(torch.empty(3, 4), generator=g)
print("  same:", torch.equal(a, b))
print(a)

print("init on views and non-contiguous tensors")
big = torch.zeros(4, 6)
nn.init.ones_(big[:, ::2])
print(big)
wt = torch.zeros(5, 3).t()
print("  contiguous:", wt.is_contiguous())
nn.init.orthogonal_(wt)
print("  orthogonal on transpose rows:", (wt @ wt.t()).diagonal().round(decimals=4))
nn.init.uniform_(big[1], 2.0, 3.0)
print("  row 1 in [2,3]:", bool(((big[1] >= 2) & (big[1] <= 3)).all()))
torch.manual_seed(5)
sp = nn.init.sparse_(torch.empty(6, 4).t(), sparsity=0.5, std=1.0)  # drawn in memory order
print("sparse_ on a transposed weight\n", sp)

print("errors")
for fn, args in [(nn.init.xavier_uniform_, ()), (nn.init.kaiming_normal_, ()),
                 (nn.init.orthogonal_, ()), (nn.init.eye_, ()), (nn.init.sparse_, (0.1,))]:
    try:
        fn(torch.empty(5), *args)
        print(f"  {fn.__name__}: no error")
    except ValueError as e:
        print(f"  {fn.__name__} ValueError: {e}")
try:
    nn.init.dirac_(torch.empty(3, 3))
except ValueError as e:
    print("  dirac_ ValueError:", e)
try:
    nn.init.dirac_(torch.empty(5, 2, 3), groups=2)
except ValueError as e:
    print("  dirac_ groups ValueError:", e)
try:
    nn.init.kaiming_uniform_(torch.empty(3, 4), mode="fan_avg")
except ValueError as e:
    print("  kaiming mode ValueError:", e)
for fn, kwargs in [(nn.init.uniform_, {"a": 1.0, "b": 0.0}),
                   (nn.init.normal_, {"std": -0.5})]:
    try:
        fn(torch.empty(2, 2), **kwargs)
    except RuntimeError as e:
        print(f"  {fn.__name__} RuntimeError: {e}")
try:
    nn.init.kaiming_uniform_(torch.empty(3, 4, dtype=torch.int64))
except NotImplementedError as e:
    print("  kaiming_uniform_ on int64 NotImplementedError:", e)
print("  next draw after the refusals:", torch.rand(3))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    nn.init.kaiming_uniform_(torch.empty(0, 4))
print("  kaiming on empty warns:", [str(w.message) for w in caught])

p = nn.Parameter(torch.empty(3, 3))
out = nn.init.xavier_uniform_(p)
print("returns same object:", out is p, "requires_grad:", p.requires_grad, "grad_fn:", p.grad_fn)
