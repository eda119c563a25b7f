"""How tensors print (the "Tensors" basics and torch.set_printoptions docs): int, float, bool
and complex tensors, summarization of large tensors, precision / sci_mode / linewidth /
profile options, requires_grad and grad_fn in reprs, dtypes and devices in reprs, type
promotion results, and exceptions printed as type plus message."""
import math

import numpy as np
import torch

rng = np.random.default_rng(0)

print(torch.tensor([1, 2, 3]))
print(torch.tensor([[1, -2], [300, 4]], dtype=torch.int32))
print(torch.tensor([True, False]), torch.tensor(7), torch.tensor(2.5), torch.tensor(True))
print(torch.tensor([1.0, 2.5, -3.25]), torch.tensor([1e-5, 1.0, 1e5]))
print(torch.tensor([1e-10, 1e10]), torch.tensor([0.1, 123456.7]))
print(torch.tensor([float("inf"), float("-inf"), float("nan"), 1.5]))
print(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([1, 2], dtype=torch.uint8))
print(torch.tensor([1.5, 2.25], dtype=torch.float16), torch.tensor([1.5], dtype=torch.bfloat16))
print(torch.tensor([1 + 2j, -0.5 - 1j]), torch.tensor([1j], dtype=torch.complex128))
print(torch.zeros(2, 0), torch.empty(0), torch.ones(0, 3, dtype=torch.long))
print(torch.arange(6).reshape(1, 2, 3))
print(torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 7)
print(torch.from_numpy(rng.standard_normal((3, 4)).astype(np.float32)))
print(torch.tensor([[0.0001, 2.0], [3.0, 4000.0]]))
print(torch.tensor([-0.0, 0.0, 1.0]), torch.tensor([100.0, 200.0]), torch.tensor([1.0, 10.0]))

big = torch.arange(2000, dtype=torch.float32).reshape(40, 50)
print(big)
print(torch.arange(1001))
print(torch.linspace(0, 1, 1500)[:12])

torch.set_printoptions(precision=2)
print(torch.tensor([math.pi, math.e, 1 / 3]))
torch.set_printoptions(sci_mode=True)
print(torch.tensor([math.pi, 1234.5]))
torch.set_printoptions(sci_mode=False, precision=6)
print(torch.tensor([1e-8, 1.0]))
torch.set_printoptions(threshold=5, edgeitems=1)
print(torch.arange(10), torch.arange(20).reshape(4, 5))
torch.set_printoptions(linewidth=30)
print(torch.arange(12.0))
torch.set_printoptions(profile="short")
print(torch.tensor([math.pi, 2.0]), torch.arange(30))
torch.set_printoptions(profile="full")
print(torch.arange(1005)[-3:], torch.arange(1005).shape)
torch.set_printoptions(profile="default")
print(torch.tensor([math.pi]), torch.arange(1001)[:3])

x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * 2
z = y.sum()
print(x, y, z, sep="\n")
print(repr(x.detach()), x.grad_fn, y.grad_fn.name(), z.grad_fn.name())
print((x ** 2).mean(), x.exp(), x[0], x.view(2, 1), x.t(), x.clone(), x.double())
w = torch.nn.Parameter(torch.ones(2, 2))
print(w)
print(torch.nn.Parameter(torch.ones(2), requires_grad=False))
with torch.no_grad():
    print(x * 3)
print(f"{z.item():.3f}", f"{torch.tensor(2.5):.2f}", f"{x[1]}", str(torch.tensor([1, 2])))
print(format(torch.tensor(3.14159), ".3f"), "{:>8.2f}".format(torch.tensor(1.5).item()))
print(x.tolist(), torch.tensor([[1, 2]]).tolist(), torch.tensor(5).item(), torch.tensor(1.5).dtype)

print(x.shape, x.size(), x.size(0), x.dtype, x.device, x.layout, x.is_leaf, y.is_leaf)
print(torch.float32, torch.int64, torch.complex64, torch.bool, torch.device("cpu"),
      torch.Size([2, 3]))
print(repr(torch.float16), str(torch.bfloat16), torch.get_default_dtype())

a_int = torch.tensor([1, 2])
promotions = {
    "int+float": a_int + 1.5,
    "int/int": a_int / 2,
    "int//int": a_int // 2,
    "int*bool": a_int * torch.tensor([True, False]),
    "uint8+int64 0-d": torch.tensor([250], dtype=torch.uint8) + torch.tensor(10),
    "int32+int64": torch.tensor([1], dtype=torch.int32) + torch.tensor([1]),
    "half+float 0-d": torch.tensor([1.0], dtype=torch.float16) + torch.tensor(1.0),
    "float+complex": torch.tensor([1.0]) + 1j,
    "double+float": torch.tensor([1.0], dtype=torch.float64) + torch.tensor([1.0]),
    "bool+bool": torch.tensor([True]) + torch.tensor([True]),
    "int**float": a_int ** 0.5,
    "int.mean": a_int.float().mean(),
    "sum(bool)": torch.tensor([True, True, False]).sum(),
}
for name, value in promotions.items():
    print(f"{name:>16}: {value.dtype} {value}")
print(torch.result_type(a_int, 1.0), torch.promote_types(torch.int32, torch.float16),
      torch.can_cast(torch.float32, torch.int32))

errors = [
    lambda: a_int.mean(),
    lambda: torch.ones(2, 3) @ torch.ones(2, 3),
    lambda: torch.ones(2) + torch.ones(3),
    lambda: torch.ones(2, 3).view(4),
    lambda: torch.ones(2, 3).t().view(6),
    lambda: torch.tensor([1.0, 2.0], requires_grad=True).numpy(),
    lambda: torch.ones(2, requires_grad=True).add_(1),
    lambda: torch.ones(3)[5],
    lambda: torch.tensor([1, 2]).item(),
    lambda: a_int.add_(1.5),
    lambda: torch.zeros(2, 2).sum(dim=2),
    lambda: torch.cat([torch.ones(2, 2), torch.ones(3, 3)]),
    lambda: torch.tensor([[1, 2], [3]]),
    lambda: torch.ones(2).backward(),
    lambda: torch.tensor([1, 2]).requires_grad_(),
]
for make in errors:
    try:
        make()
        print("no error")
    except Exception as e:  # noqa: BLE001
        print(type(e).__name__ + ":", str(e).splitlines()[0][:56])  # ember may add a fix
