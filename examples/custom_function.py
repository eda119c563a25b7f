"""A custom autograd.Function (a ReLU with a hand-written backward), checked by gradcheck."""

import ember as torch


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (x > 0)


x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
y = MyReLU.apply(x)
print(y)
y.sum().backward()
print(x.grad)
inputs = torch.tensor([0.3, -0.7, 1.2], dtype=torch.float64, requires_grad=True)
print("gradcheck:", torch.autograd.gradcheck(MyReLU.apply, (inputs,)))
