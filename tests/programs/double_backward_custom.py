"""The "Double Backward with Custom Functions" tutorial: custom autograd.Functions that save
inputs, outputs or intermediate results, gradcheck/gradgradcheck in float64, create_graph=True,
a once_differentiable Function made twice-differentiable with a second Function, and walking
the backward graph (grad_fn, next_functions) instead of torchviz."""
import numpy as np
import torch
from torch.autograd.function import once_differentiable

rng = np.random.default_rng(0)


def rand64(*shape):
    return torch.from_numpy(rng.standard_normal(shape)).requires_grad_()


def walk(fn, depth=0, seen=None):
    """Print the backward graph below ``fn`` (what torchviz would draw)."""
    seen = set() if seen is None else seen
    if fn is None or id(fn) in seen:
        return
    seen.add(id(fn))
    print("  " * depth + fn.name(), getattr(fn, "variable", None) is not None)
    for next_fn, _ in fn.next_functions:
        walk(next_fn, depth + 1, seen)


# Saving the inputs
class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        # Because we are saving one of the inputs use `save_for_backward`
        # Save non-tensors and non-inputs/non-outputs directly on ctx
        ctx.save_for_backward(x)
        return x ** 2

    @staticmethod
    def backward(ctx, grad_out):
        # A function support double backward automatically if autograd
        # is able to record the computations performed in backward
        x, = ctx.saved_tensors
        return grad_out * 2 * x


x = rand64(3, 3)
print(torch.autograd.gradcheck(Square.apply, x), torch.autograd.gradgradcheck(Square.apply, x))
out = Square.apply(x)
grad_x, = torch.autograd.grad(out, x, torch.ones_like(out), create_graph=True)
print(type(out.grad_fn).__name__, grad_x.grad_fn is not None, grad_x.requires_grad)
walk(grad_x.grad_fn)
grad_grad_x, = torch.autograd.grad(grad_x.sum(), x)
print([round(v, 4) for v in grad_grad_x.flatten().tolist()[:4]])


# Saving the outputs
class Exp(torch.autograd.Function):
    # Simple case where everything goes well
    @staticmethod
    def forward(ctx, x):
        # This time we save the output
        result = torch.exp(x)
        # Note that we should use `save_for_backward` here when
        # the tensor saved is an output (or an input).
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_out):
        result, = ctx.saved_tensors
        return result * grad_out


x = rand64(2, 2)
print(torch.autograd.gradcheck(Exp.apply, x), torch.autograd.gradgradcheck(Exp.apply, x))
out = Exp.apply(x)
grad_x, = torch.autograd.grad(out.sum(), x, create_graph=True)
walk(grad_x.grad_fn)
hvp, = torch.autograd.grad(grad_x, x, grad_outputs=torch.ones_like(grad_x))
print(torch.allclose(hvp, x.exp()), f"{hvp.sum().item():.6f}")


# Saving intermediate results
class Sinh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        expx = torch.exp(x)
        expnegx = torch.exp(-x)
        ctx.save_for_backward(expx, expnegx)
        # In order to be able to save the intermediate results, a trick is to
        # include them as our outputs, so that the backward graph is constructed
        return (expx - expnegx) / 2, expx, expnegx

    @staticmethod
    def backward(ctx, grad_out, _grad_out_exp, _grad_out_negexp):
        expx, expnegx = ctx.saved_tensors
        grad_input = grad_out * (expx + expnegx) / 2
        # We cannot skip accumulating these even though we won't use the outputs
        # directly. They will be used later in the second backward.
        grad_input += _grad_out_exp * expx
        grad_input -= _grad_out_negexp * expnegx
        return grad_input


def sinh(x):
    # Create a wrapper that only returns the first output
    return Sinh.apply(x)[0]


x = rand64(3, 3)
print(torch.autograd.gradcheck(sinh, x), torch.autograd.gradgradcheck(sinh, x))
out = sinh(x)
grad_x, = torch.autograd.grad(out.sum(), x, create_graph=True)
walk(grad_x.grad_fn)
second, = torch.autograd.grad(grad_x.sum(), x)
print(torch.allclose(second, torch.sinh(x)), f"{second.sum().item():.6f}")


# Saving intermediate results: what not to do
class SinhBad(torch.autograd.Function):
    # This is an example of what NOT to do!
    @staticmethod
    def forward(ctx, x):
        expx = torch.exp(x)
        expnegx = torch.exp(-x)
        ctx.expx = expx
        ctx.expnegx = expnegx
        return (expx - expnegx) / 2

    @staticmethod
    def backward(ctx, grad_out):
        expx = ctx.expx
        expnegx = ctx.expnegx
        grad_input = grad_out * (expx + expnegx) / 2
        return grad_input


out = SinhBad.apply(x)
grad_x, = torch.autograd.grad(out.sum(), x, create_graph=True)
print(grad_x.requires_grad, type(grad_x.grad_fn).__name__)
print(torch.autograd.gradcheck(SinhBad.apply, x),
      torch.autograd.gradgradcheck(SinhBad.apply, x, raise_exception=False))


# When backward is not tracked
def cube_forward(x):
    return x ** 3


def cube_backward(grad_out, x):
    return grad_out * 3 * x ** 2


def cube_backward_backward(grad_out, sav_grad_out, x):
    return grad_out * sav_grad_out * 6 * x


def cube_backward_backward_grad_out(grad_out, x):
    return grad_out * 3 * x ** 2


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return cube_forward(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved_tensors
        return CubeBackward.apply(grad_out, x)


class CubeBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grad_out, x):
        ctx.save_for_backward(x, grad_out)
        return cube_backward(grad_out, x)

    @staticmethod
    def backward(ctx, grad_out):
        x, sav_grad_out = ctx.saved_tensors
        dx = cube_backward_backward(grad_out, sav_grad_out, x)
        dgrad_out = cube_backward_backward_grad_out(grad_out, x)
        return dgrad_out, dx


x = rand64(2, 2)
print(torch.autograd.gradcheck(Cube.apply, x), torch.autograd.gradgradcheck(Cube.apply, x))
out = Cube.apply(x)
grad_x, = torch.autograd.grad(out.sum(), x, create_graph=True)
walk(grad_x.grad_fn)
g2, = torch.autograd.grad(grad_x.sum(), x, create_graph=True)
g3, = torch.autograd.grad(g2.sum(), x)
print(torch.allclose(g2, 6 * x), [round(v, 4) for v in g3.flatten().tolist()])


class CubeOnce(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, = ctx.saved_tensors
        return grad_out * 3 * x ** 2


out = CubeOnce.apply(x)
grad_x, = torch.autograd.grad(out.sum(), x, create_graph=True)
print(grad_x.requires_grad, type(grad_x.grad_fn).__name__)
try:
    grad_x.sum().backward()
except RuntimeError as e:
    print(type(e).__name__, e)
print(torch.autograd.gradcheck(CubeOnce.apply, x))
try:
    torch.autograd.gradgradcheck(CubeOnce.apply, x)
except RuntimeError as e:
    print(type(e).__name__, str(e).splitlines()[0])

# gradient penalty style: grad of a grad norm through built-in ops, and a Hessian
w = rand64(3)
inp = torch.from_numpy(rng.standard_normal((5, 3)))
inp.requires_grad_(True)
score = torch.tanh(inp @ w).sum()
g_inp, = torch.autograd.grad(score, inp, create_graph=True)
penalty = (g_inp.norm(2, dim=1) - 1).pow(2).mean()
penalty.backward()
print(f"{penalty.item():.6f}", [round(v, 5) for v in w.grad.tolist()])
H = torch.autograd.functional.hessian(lambda t: Sinh.apply(t)[0].pow(2).sum(), w.detach())
print(tuple(H.shape), [round(v, 5) for v in torch.diagonal(H).tolist()])
