"""Python custom operators, after the "Custom Python Operators" tutorial: NumPy kernels wrapped
with torch.library.custom_op, a fake (meta) kernel from register_fake, a gradient from
register_autograd (with setup_context), a mutating op declared with mutates_args, calls through
torch.ops.<namespace>.<name>, the inferred schema, torch.library.opcheck, and the operators used
inside a small nn.Module that trains."""
import numpy as np
import torch
import torch.nn as nn
from torch import Tensor


@torch.library.custom_op("extdemo::numpy_sin", mutates_args=())
def numpy_sin(x: Tensor) -> Tensor:
    return torch.from_numpy(np.sin(x.numpy(force=True))).to(x.device)


@numpy_sin.register_fake
def _(x):
    return torch.empty_like(x)


def sin_setup_context(ctx, inputs, output):
    x, = inputs
    ctx.save_for_backward(x)


def sin_backward(ctx, grad):
    x, = ctx.saved_tensors
    return grad * x.cos()


numpy_sin.register_autograd(sin_backward, setup_context=sin_setup_context)


def scale_shift_impl(x: Tensor, scale: Tensor, shift: float = 0.0) -> Tensor:
    return torch.from_numpy(x.numpy(force=True) * scale.numpy(force=True) + shift)


numpy_scale_shift = torch.library.custom_op("extdemo::numpy_scale_shift", scale_shift_impl,
                                            mutates_args=())


@numpy_scale_shift.register_fake
def _(x, scale, shift=0.0):
    torch._check(x.shape[-1] == scale.shape[-1])
    return x.new_empty(x.shape)


def scale_setup_context(ctx, inputs, output):
    x, scale, shift = inputs
    ctx.save_for_backward(x, scale)


def scale_backward(ctx, grad):
    x, scale = ctx.saved_tensors
    gx = grad * scale if ctx.needs_input_grad[0] else None
    gs = (grad * x).reshape(-1, x.shape[-1]).sum(0) if ctx.needs_input_grad[1] else None
    return gx, gs, None


torch.library.register_autograd("extdemo::numpy_scale_shift", scale_backward,
                                setup_context=scale_setup_context)


def clip_impl(x: Tensor, bound: float) -> None:
    x_np = x.numpy()
    np.clip(x_np, -bound, bound, out=x_np)


numpy_clip_ = torch.library.custom_op("extdemo::numpy_clip_", clip_impl, mutates_args={"x"})


torch.manual_seed(0)
x = torch.randn(4, 3)
print("schema:", torch.library.infer_schema(scale_shift_impl, mutates_args=()))
print("schema:", torch.library.infer_schema(clip_impl, mutates_args={"x"}))
print("sin equal:", torch.allclose(numpy_sin(x), x.sin()))
print("through torch.ops:", torch.allclose(torch.ops.extdemo.numpy_sin(x), x.sin()),
      torch.allclose(torch.ops.extdemo.numpy_sin.default(x), x.sin()))

xg = x.clone().requires_grad_()
numpy_sin(xg).sum().backward()
print("grad equals cos:", torch.allclose(xg.grad, x.cos()))
gx, = torch.autograd.grad(numpy_sin(xg).pow(2).sum(), xg)
print("grad of sin^2:", torch.allclose(gx, 2 * x.sin() * x.cos()))

meta = numpy_sin(torch.empty(5, 2, device="meta"))
print("fake kernel on meta:", meta.device, tuple(meta.shape))

y = x.clone()
numpy_clip_(y, 0.5)
print("clipped in place:", round(y.abs().max().item(), 4), torch.equal(y, x.clamp(-0.5, 0.5)))

for name, op, args in [
    ("numpy_sin", numpy_sin, (torch.randn(3, requires_grad=True),)),
    ("numpy_scale_shift", numpy_scale_shift,
     (torch.randn(2, 3, requires_grad=True), torch.randn(3, requires_grad=True), 0.5)),
    ("numpy_clip_", numpy_clip_, (torch.randn(4), 0.3)),
]:
    result = torch.library.opcheck(op, args)
    print("opcheck", name, sorted(result.values()))


# an op whose fake kernel lies about the output shape: opcheck finds it
@torch.library.custom_op("extdemo::bad_double", mutates_args=())
def bad_double(x: Tensor) -> Tensor:
    return x * 2


@bad_double.register_fake
def _(x):
    return x.new_empty(x.shape[0] + 1)


try:
    torch.library.opcheck(bad_double, (torch.randn(3),))
except Exception as e:
    print("opcheck caught a wrong fake kernel:", type(e).__name__)


class ScaledSinNet(nn.Module):
    """A layer built on the custom ops, trained to fit sin(a * x) + b."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1) * 0.5)
        self.shift = 0.1

    def forward(self, x):
        return numpy_sin(numpy_scale_shift(x, self.scale, self.shift))


torch.manual_seed(0)
net = ScaledSinNet()
data = torch.linspace(-2, 2, 40).unsqueeze(1)
target = torch.sin(1.3 * data + 0.1)
opt = torch.optim.Adam(net.parameters(), lr=0.05)
for step in range(80):
    opt.zero_grad()
    loss = (net(data) - target).pow(2).mean()
    loss.backward()
    opt.step()
    if step % 20 == 19:
        print(f"step {step + 1} loss {loss.item():.5f} scale {net.scale.item():.4f}")
