"""Autograd tutorial: graphs, grad_fn, backward, gradient accumulation, no_grad, detach."""
import torch

x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
w = torch.tensor([[0.1 * (i - j) for j in range(3)] for i in range(5)], requires_grad=True)
b = torch.tensor([0.5, -0.5, 0.25], requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn}".split(" object")[0])
print(f"Gradient function for loss = {loss.grad_fn}".split(" object")[0])
loss.backward()
print(w.grad)
print(b.grad)
print(round(loss.item(), 4))

z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad)

inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

# leaf and non-leaf tensors, retain_grad
a = torch.tensor([2.0, 3.0], requires_grad=True)
h = a * a
h.retain_grad()
s = (h * 3).sum()
s.backward()
print(a.is_leaf, h.is_leaf, a.grad, h.grad, s.grad_fn.name())

# grad_fn graph walk
q = torch.tensor([1.0, 2.0], requires_grad=True)
r = (q.exp() * 2).sum()
names = []
fn = r.grad_fn
while fn is not None:
    names.append(fn.name())
    fn = fn.next_functions[0][0] if fn.next_functions else None
print(names)

# dynamic control flow
def f(v):
    out = v
    while out.norm() < 100:
        out = out * 2
    return out.sum() if out.sum() > 0 else -out.sum()

v = torch.tensor([0.3, -0.1, 0.7], requires_grad=True)
y = f(v)
y.backward()
print(round(y.item(), 4), v.grad)

# set_grad_enabled, requires_grad_, in-place on leaf error
with torch.set_grad_enabled(False):
    print((a * 2).requires_grad)
c = torch.zeros(2).requires_grad_()
print(c.requires_grad, torch.is_grad_enabled())
try:
    c.add_(1)
except RuntimeError as err:
    print("RuntimeError:", str(err).split(".")[0])

# second derivative
x2 = torch.tensor(3.0, requires_grad=True)
y2 = x2 ** 3
(g,) = torch.autograd.grad(y2, x2, create_graph=True)
(gg,) = torch.autograd.grad(g, x2)
print(g.item(), gg.item())

# inference_mode
with torch.inference_mode():
    t = torch.ones(2) * 3
print(t.requires_grad, torch.is_inference_mode_enabled())
