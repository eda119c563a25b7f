"""Tensor basics from the study notes: creation, arithmetic, shapes, NumPy, devices, autograd."""

import numpy as np

import ember as torch

# Creation
a = torch.tensor([1.0, 2.0, 3.0])
print(f"1-D tensor: {a}, shape: {a.shape}")
zeros = torch.zeros(3, 4)
print(f"zeros: shape = {zeros.shape}")
ones = torch.ones(2, 3)
rand = torch.randn(2, 3)
print(f"ones: {ones.shape}, randn: {rand.shape} (standard normal draws)")
tensor_from_np = torch.from_numpy(np.array([1, 2, 3]))
print(f"from_numpy: {tensor_from_np}, dtype: {tensor_from_np.dtype}")

# Arithmetic and broadcasting
x = torch.tensor([1.0, 2.0, 3.0])
y = torch.tensor([4.0, 5.0, 6.0])
print(f"add: {x + y}")
print(f"mul: {x * y}")
print(f"matmul: {x @ y}")
print("broadcast [[1, 2]] + [[3], [5]]:")
print(torch.FloatTensor([[1, 2]]) + torch.FloatTensor([[3], [5]]))

# Shapes
a = torch.randn(2, 3, 4)
b = a.view(2, 12)
c = a.reshape(6, 4)
print(f"{a.shape} -> view: {b.shape}, reshape: {c.shape}")
x = torch.randn(3, 4)
print(f"unsqueeze(0): {x.unsqueeze(0).shape}, then squeeze(0): {x.unsqueeze(0).squeeze(0).shape}")

# gather, as in the notes
t = torch.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
print("gather(t, dim=0, index=[[0, 1, 2], [2, 1, 0]]):")
print(torch.gather(t, dim=0, index=torch.tensor([[0, 1, 2], [2, 1, 0]])))

# Devices
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"device: {device}, tensor on {torch.randn(3, 3).to(device).device}")

# Autograd
w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
loss = (w * w).sum()
loss.backward()
print(f"loss {loss.item():.1f}, grad {w.grad}")
with torch.no_grad():
    print(f"inside no_grad, (w * 2).requires_grad: {(w * 2).requires_grad}")
