"""Extending torch.func with autograd.Function, after the "Extending torch.func with
autograd.Function" tutorial: Functions written in the setup_context style (forward without ctx),
batched by torch.func.vmap through a vmap staticmethod (the tutorial's NumpySort / NumpyTake) or
generate_vmap_rule=True (MyCube), torch.func.grad / jacrev / vjp through them,
ctx.set_materialize_grads(False) with a None output gradient, ctx.needs_input_grad,
ctx.mark_non_differentiable on the sort indices, once_differentiable refusing double backward,
and in-place changes refused on an input a Function returned as-is. The ops are fitted in a
small regression at the end."""
import contextlib
import io

import numpy as np
import torch
from torch.autograd.function import once_differentiable
from torch.func import grad, jacrev, vjp, vmap


class NumpySort(torch.autograd.Function):
    """Sort along ``dim`` through NumPy (the tutorial's example). Forward leaves torch, so it
    cannot be batched by a generated rule: a vmap staticmethod says how to batch it."""

    @staticmethod
    def forward(x, dim):
        x_np = x.detach().numpy()
        ind = np.argsort(x_np, axis=dim)
        ind_inv = np.argsort(ind, axis=dim)
        return (torch.tensor(np.take_along_axis(x_np, ind, axis=dim)),
                torch.tensor(ind), torch.tensor(ind_inv))

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, dim = inputs
        _, ind, ind_inv = output
        ctx.mark_non_differentiable(ind, ind_inv)
        ctx.save_for_backward(ind, ind_inv)
        ctx.dim = dim

    @staticmethod
    def backward(ctx, grad_output, _0, _1):
        ind, ind_inv = ctx.saved_tensors
        return NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim), None

    @staticmethod
    def vmap(info, in_dims, x, dim):
        x_bdim, _ = in_dims
        x = x.movedim(x_bdim, 0)
        dim = dim if dim >= 0 else dim + x.dim() - 1
        return NumpySort.apply(x, dim + 1), (0, 0, 0)


class NumpyTake(torch.autograd.Function):

    @staticmethod
    def forward(x, ind, ind_inv, dim):
        return torch.tensor(np.take_along_axis(x.detach().numpy(), ind.numpy(), axis=dim))

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, ind, ind_inv, dim = inputs
        ctx.save_for_backward(ind, ind_inv)
        ctx.dim = dim

    @staticmethod
    def backward(ctx, grad_output):
        ind, ind_inv = ctx.saved_tensors
        return NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim), None, None, None

    @staticmethod
    def vmap(info, in_dims, x, ind, ind_inv, dim):
        def at_front(t, bdim):
            if bdim is None:
                return t.expand(info.batch_size, *t.shape)
            return t.movedim(bdim, 0)

        logical_dim = x.dim() if in_dims[0] is None else x.dim() - 1
        dim = dim if dim >= 0 else dim + logical_dim
        x, ind, ind_inv = (at_front(t, b) for t, b in zip((x, ind, ind_inv), in_dims))
        return NumpyTake.apply(x, ind, ind_inv, dim + 1), 0


class MyCube(torch.autograd.Function):
    """x**3 returning 3x**2 as an extra output; backward uses both grads (tutorial's MyCube)."""
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return x ** 3, 3 * x ** 2

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, = inputs
        ctx.save_for_backward(x, output[1])

    @staticmethod
    def backward(ctx, grad_output, grad_dx):
        x, dx = ctx.saved_tensors
        return grad_output * dx + grad_dx * 6 * x


class ScaledTanh(torch.autograd.Function):
    """tanh(a * x): grads only where needed, and no materialized zero grads."""

    @staticmethod
    def forward(x, a):
        return torch.tanh(a * x), a * x

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, a = inputs
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, a, output[0])

    @staticmethod
    @once_differentiable
    def backward(ctx, g_y, g_ax):
        x, a, y = ctx.saved_tensors
        print("  backward: needs_input_grad", ctx.needs_input_grad,
              "g_ax is None:", g_ax is None)
        total = torch.zeros_like(x)
        if g_y is not None:
            total = total + g_y * (1 - y * y)
        if g_ax is not None:
            total = total + g_ax
        gx = total * a if ctx.needs_input_grad[0] else None
        ga = (total * x).sum() if ctx.needs_input_grad[1] else None
        return gx, ga


torch.manual_seed(0)
x = torch.randn(3, 5)

# vmap over the sort (the generated rule moves the batch dim), compared with torch.sort
sorted_x, ind, ind_inv = vmap(NumpySort.apply, in_dims=(0, None))(x, 0)
print("vmap sort:", torch.equal(sorted_x, torch.sort(x, dim=1).values),
      "ind dtype", ind.dtype, "requires_grad", ind.requires_grad)


def sort_loss(x):
    y, _, _ = NumpySort.apply(x, 0)
    return (y * torch.arange(1.0, x.shape[0] + 1)).sum()


g = grad(sort_loss)(x[0])
print("grad of weighted sort:", [round(v, 4) for v in g.tolist()])
print("per-row grads via vmap(grad):", vmap(grad(sort_loss))(x).argsort(dim=1).tolist())

# MyCube: grad, grad of grad (its backward is built from differentiable ops), jacrev, vjp
cube = lambda t: MyCube.apply(t)[0]
print("grad cube(2):", grad(cube)(torch.tensor(2.0)).item(),
      "second:", grad(grad(cube))(torch.tensor(2.0)).item())
v = torch.tensor([0.5, -1.0, 2.0])
print("jacrev diag:", torch.diagonal(jacrev(cube)(v)).tolist())
out, fn = vjp(lambda t: MyCube.apply(t), v)
gx, = fn((torch.ones(3), torch.ones(3)))
print("vjp both outputs:", gx.tolist(), "outputs", [o.tolist() for o in out])
print("vmap(jacrev) batched:", vmap(jacrev(cube))(v.unsqueeze(1)).squeeze(-1).squeeze(-1).tolist())

# ScaledTanh with materialize_grads off: only the first output used
xs = torch.randn(4, requires_grad=True)
a = torch.tensor(1.5, requires_grad=True)
y, _ = ScaledTanh.apply(xs, a)
y.sum().backward()
print("x.grad", [round(t, 4) for t in xs.grad.tolist()], "a.grad", round(a.grad.item(), 4))
ref_x = xs.detach().clone().requires_grad_()
torch.tanh(1.5 * ref_x).sum().backward()
print("matches autograd:", torch.allclose(ref_x.grad, xs.grad, atol=1e-6))

# a does not need grad: needs_input_grad says so
y, ax = ScaledTanh.apply(xs, torch.tensor(0.5))
(y.sum() + ax.sum()).backward()

# once_differentiable: a double backward through it raises
xs2 = torch.randn(3, requires_grad=True)
y2, _ = ScaledTanh.apply(xs2, a)
(gx2,) = torch.autograd.grad(y2.sum(), xs2, create_graph=True)
try:
    gx2.sum().backward()
except RuntimeError as e:
    print("double backward:", type(e).__name__, "-", str(e).split(".")[0])

# an input returned as-is comes out as a view: changing it in place would skip the Function's
# backward, so autograd refuses (clone it first)
class Passthrough(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, g):
        return 3 * g


h = xs2 * 1
try:
    Passthrough.apply(h).add_(1)
except RuntimeError as e:
    print("in-place on a returned input:", str(e).split(". ")[0])
h2 = Passthrough.apply(h).clone()
h2.add_(1)
h2.sum().backward()
print("after clone:", xs2.grad.tolist())

# fit w in tanh(w * x) with the custom op
torch.manual_seed(1)
data_x = torch.linspace(-2, 2, 32)
data_y = torch.tanh(0.7 * data_x) + 0.01 * torch.randn(32)
w = torch.tensor(2.0, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.5)
for step in range(60):
    opt.zero_grad()
    with contextlib.redirect_stdout(io.StringIO()):
        pred, _ = ScaledTanh.apply(data_x, w)
        loss = ((pred - data_y) ** 2).mean()
        loss.backward()
    opt.step()
    if step % 20 == 19:
        print(f"step {step + 1} loss {loss.item():.5f} w {w.item():.4f}")
