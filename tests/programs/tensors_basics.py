"""Tensors tutorial: creation, attributes, indexing, joining, arithmetic, NumPy bridge."""
import numpy as np
import torch

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
print(x_data, x_data.dtype)

np_array = np.array(data)
x_np = torch.from_numpy(np_array)
print(x_np)

x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \n {x_ones} \n")
x_float = torch.zeros_like(x_data, dtype=torch.float)
print(f"Zeros Tensor: \n {x_float} \n")

shape = (2, 3,)
ones_tensor = torch.ones(shape)
zeros_tensor = torch.zeros(shape)
full = torch.full((2, 2), 7.5)
print(ones_tensor, zeros_tensor, full, sep="\n")

tensor = torch.arange(12, dtype=torch.float32).reshape(3, 4)
print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")

print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)

t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1.shape, torch.stack([tensor, tensor]).shape)

y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
print(y1, torch.equal(y1, y2), torch.equal(y1, y3))

z1 = tensor * tensor
z2 = tensor.mul(tensor)
z3 = torch.empty_like(tensor)
torch.mul(tensor, tensor, out=z3)
print(z1, torch.equal(z1, z3))

agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))

print(f"{tensor} \n")
tensor.add_(5)
print(tensor)

t = torch.ones(5)
print(f"t: {t}")
n = t.numpy()
print(f"n: {n}")
t.add_(1)
print(f"t: {t}")
print(f"n: {n}")

n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")

# broadcasting, views, dtype promotion, reductions
a = torch.arange(6).view(2, 3)
b = torch.tensor([10, 20, 30])
print(a + b, (a + b).dtype)
print(a / 2, (a / 2).dtype, a // 4, a % 4)
print(a.float().mean(), a.sum(dim=0), a.max(dim=1), a.argmax())
print(a.t().contiguous().view(-1), a.t().is_contiguous())
print(a.unsqueeze(0).shape, a.unsqueeze(-1).squeeze(-1).shape, a.flatten())
print(torch.where(a > 2, a, -a))
print(a[a % 2 == 0], a[:, [0, 2]], a[1, 1:])
print(torch.linspace(0, 1, steps=5), torch.eye(3))
print(torch.tensor([1.5, 2.5]).to(torch.int64), torch.tensor([True, False]).dtype)
print(torch.tensor(3.0) * 2, torch.tensor([[0.1234567, 100.5], [1e-4, 3.0]]))
print(x_data.tolist(), x_data.numel(), x_data.dim(), x_data.size(1))
print(torch.clamp(torch.tensor([-2.0, 0.5, 3.0]), min=0, max=1))
print(torch.tensor([3, 1, 2]).sort(), torch.topk(torch.tensor([1.0, 5.0, 3.0, 4.0]), 2))
print(torch.chunk(torch.arange(7), 3), torch.split(torch.arange(5), 2))
print(torch.tensor([[1, 2], [3, 4]]).repeat(1, 2), torch.arange(3).expand(2, 3))
print(torch.tensor([1.0, float("nan"), float("inf")]), torch.zeros(2, 0).shape)
