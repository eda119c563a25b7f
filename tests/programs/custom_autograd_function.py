"""Extending autograd: the LegendrePolynomial3 Function from "Learning PyTorch with Examples",
a custom ReLU, save_for_backward / needs_input_grad / mark_non_differentiable / once_differentiable,
setup_context style, and gradcheck in double precision."""
import math

import torch
from torch.autograd import Function, gradcheck
from torch.autograd.function import once_differentiable


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
learning_rate = 5e-6
for t in range(200):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 49:
        print(t, f"{loss.item():.3f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
coef = [round(t.item(), 3) + 0.0 for t in (a, b, c, d)]  # + 0.0: no "-0.000"
print(f"Result: y = {coef[0]:.3f} + {coef[1]:.3f} * P3({coef[2]:.3f} + {coef[3]:.3f} x)")
p3_node = y_pred.grad_fn.next_functions[1][0].next_functions[1][0]
print(y_pred.grad_fn.name(), p3_node.name(), type(p3_node).__name__)


class MyReLU(Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


v = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
MyReLU.apply(v).sum().backward()
print(v.grad)


class LinearFunction(Function):
    """The extending-autograd note's example, setup_context style."""

    @staticmethod
    def forward(input, weight, bias):
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def setup_context(ctx, inputs, output):
        input, weight, bias = inputs
        ctx.save_for_backward(input, weight, bias)

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


inp = torch.linspace(-1, 1, 20, dtype=torch.double).reshape(4, 5).requires_grad_()
weight = torch.linspace(0, 2, 15, dtype=torch.double).reshape(3, 5).requires_grad_()
bias = torch.tensor([0.1, 0.2, 0.3], dtype=torch.double, requires_grad=True)
print(gradcheck(LinearFunction.apply, (inp, weight, bias), eps=1e-6, atol=1e-4))
out = LinearFunction.apply(inp, weight, bias)
print(out.shape, out.requires_grad, f"{out.sum().item():.4f}")


class SortWithIndices(Function):
    @staticmethod
    def forward(ctx, x):
        values, idx = x.sort()
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return values, idx

    @staticmethod
    @once_differentiable
    def backward(ctx, g_values, g_idx):
        idx, = ctx.saved_tensors
        grad = torch.zeros_like(g_values)
        grad.scatter_(0, idx, g_values)
        return grad


s = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
vals, idx = SortWithIndices.apply(s)
print(vals, idx, idx.requires_grad)
(vals * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
print(s.grad)


class Exp(Function):
    """Saves its output; double backward works because backward uses differentiable ops."""

    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        result, = ctx.saved_tensors
        return grad_output * result


z = torch.tensor(0.5, requires_grad=True)
(g,) = torch.autograd.grad(Exp.apply(z), z, create_graph=True)
(gg,) = torch.autograd.grad(g, z)
print(f"{g.item():.5f} {gg.item():.5f}")


class ScaleGrad(Function):
    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.factor, None


w = torch.ones(2, requires_grad=True)
ScaleGrad.apply(w, -0.5).sum().backward()
print(w.grad, torch.autograd.gradcheck(lambda t: ScaleGrad.apply(t, 1.0),
                                       (torch.ones(2, dtype=torch.double, requires_grad=True),)))
