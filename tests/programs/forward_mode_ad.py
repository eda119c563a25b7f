"""The forward-mode AD tutorial: dual tensors (dual_level, make_dual, unpack_dual), tangents
through nn.Modules (swapping parameters, functional_call), a custom Function with jvp and
save_for_forward, gradcheck(check_forward_ad=True), and torch.func.jvp / jacfwd / vmap."""
import functools

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn as nn
from torch.func import functional_call, jacfwd, jacrev, jvp, vmap

rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return torch.from_numpy(rng.standard_normal(shape).astype(dtype))


def show(name, t):
    if t is None:
        print(name, None)
    else:
        print(name, tuple(t.shape), t.dtype, [round(v, 4) for v in t.flatten().tolist()[:6]])


primal = randn(10, 10)
tangent = randn(10, 10)


def fn(x, y):
    return x ** 2 + y ** 2


print(fwAD.unpack_dual(primal).tangent)
with fwAD.dual_level() as level:
    print("level", level)
    dual_input = fwAD.make_dual(primal, tangent)
    assert fwAD.unpack_dual(dual_input).tangent is tangent
    print(dual_input.shape, dual_input.requires_grad, dual_input.grad_fn)
    # a tensor that is not dual is treated as having a zero tangent
    plain_tensor = randn(10, 10)
    dual_output = fn(dual_input, plain_tensor)
    jvp_out = fwAD.unpack_dual(dual_output).tangent
    show("jvp", jvp_out)
    print("matches 2*x*t:", torch.allclose(jvp_out, 2 * primal * tangent))
    primal_out, tangent_out = fwAD.unpack_dual(dual_output)
    show("primal", primal_out)
    print(type(fwAD.unpack_dual(dual_output)).__name__, fwAD.unpack_dual(plain_tensor).tangent)
    small = fwAD.make_dual(torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.0, 0.0, -1.0]))
    print(small)
    print(small.exp() * 2)
    print(torch.stack([small, small.flip(0)]).sum(0))
    print(fwAD.unpack_dual(small.argmax()).tangent, fwAD.unpack_dual(small > 0).tangent)
    print(fwAD.unpack_dual(small.detach()).tangent)
    with torch.no_grad():  # no_grad stops reverse mode only
        show("no_grad", fwAD.unpack_dual(small.tanh()).tangent)
    buf = torch.zeros(3)
    buf.add_(small)
    buf.mul_(3)
    show("in-place", fwAD.unpack_dual(buf).tangent)
    show("view", fwAD.unpack_dual(small[1:].unsqueeze(0)).tangent)
    for bad in (lambda: fwAD.make_dual(primal, torch.ones(3)),
                lambda: fwAD.make_dual(torch.arange(3), torch.arange(3)),
                lambda: fwAD.enter_dual_level()):
        try:
            bad()
        except (RuntimeError, ValueError) as e:
            print(type(e).__name__, e)
print("outside:", fwAD.unpack_dual(dual_output).tangent)
try:
    fwAD.make_dual(primal, tangent)
except RuntimeError as e:
    print(type(e).__name__, e)

# Usage with Modules: replace the parameters by dual tensors
model = nn.Linear(5, 5)
with torch.no_grad():
    model.weight.copy_(randn(5, 5) * 0.3)
    model.bias.copy_(randn(5) * 0.1)
inp = randn(16, 5)
params = {name: p for name, p in model.named_parameters()}
tangents = {name: torch.from_numpy(rng.random(tuple(p.shape)).astype(np.float32))
            for name, p in params.items()}
with fwAD.dual_level():
    for name, p in params.items():
        delattr(model, name)
        setattr(model, name, fwAD.make_dual(p, tangents[name]))
    out = model(inp)
    jvp_module = fwAD.unpack_dual(out).tangent
show("module jvp", jvp_module)
for name, p in params.items():
    delattr(model, name)
    model.register_parameter(name, p)

# Using the functional Module API
with fwAD.dual_level():
    dual_params = {name: fwAD.make_dual(p, tangents[name]) for name, p in params.items()}
    out = functional_call(model, dual_params, inp)
    jvp_functional = fwAD.unpack_dual(out).tangent
print("functional_call agrees:", torch.allclose(jvp_module, jvp_functional))
mlp = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.LayerNorm(8), nn.Linear(8, 2), nn.Softplus())
with torch.no_grad():
    for p in mlp.parameters():
        p.copy_(randn(*p.shape) * 0.4)
mlp_params = dict(mlp.named_parameters())
mlp_tangents = {n: torch.ones_like(p) * 0.1 for n, p in mlp_params.items()}
with fwAD.dual_level():
    out = functional_call(mlp, {n: fwAD.make_dual(p, mlp_tangents[n])
                                for n, p in mlp_params.items()}, (inp,))
    loss = nn.functional.mse_loss(out, torch.zeros_like(out))
    show("mlp out jvp", fwAD.unpack_dual(out).tangent)
    print("loss", f"{loss.item():.4f}", "dloss", f"{fwAD.unpack_dual(loss).tangent.item():.4f}")
_, jvp_func = jvp(lambda p: nn.functional.mse_loss(functional_call(mlp, p, (inp,)),
                                                   torch.zeros(16, 2)),
                  (mlp_params,), (mlp_tangents,))
print("torch.func.jvp", f"{jvp_func.item():.4f}")


# Custom autograd Function
class Fn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, foo):
        result = torch.exp(foo)
        # Tensors stored in ctx can be used in the subsequent forward grad computation.
        ctx.result = result
        return result

    @staticmethod
    def jvp(ctx, gI):
        gO = gI * ctx.result
        # If the tensor stored in ctx will not also be used in the backward pass,
        # one can manually free it using ``del``
        del ctx.result
        return gO


fn_apply = Fn.apply
primal64 = randn(10, 10, dtype=np.float64).requires_grad_()
tangent64 = randn(10, 10, dtype=np.float64)
with fwAD.dual_level():
    dual_input = fwAD.make_dual(primal64, tangent64)
    dual_output = fn_apply(dual_input)
    jvp_custom = fwAD.unpack_dual(dual_output).tangent
print("custom jvp ok:", torch.allclose(jvp_custom, tangent64 * primal64.exp()))
print(torch.autograd.gradcheck(Fn.apply, (primal64[:2, :2].detach().requires_grad_(),),
                               check_forward_ad=True, check_backward_ad=False,
                               check_undefined_grad=False, check_batched_grad=False))


class MulAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, alpha):
        ctx.save_for_forward(x, y)
        ctx.alpha = alpha
        return x * y + alpha, x.clone()

    @staticmethod
    def jvp(ctx, x_t, y_t, _):
        x, y = ctx.saved_tensors
        return x_t * y + x * y_t, x_t


class NoJvp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


with fwAD.dual_level():
    x = fwAD.make_dual(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 1.0]))
    a, b = MulAdd.apply(x, torch.tensor([3.0, 4.0]), 0.5)
    print(a, b, sep="\n")
    try:
        NoJvp.apply(x)
    except NotImplementedError as e:
        print(type(e).__name__, e)


# torch.func: jvp, jacfwd, vmap of jvp
def f(x, y):
    return torch.sin(x) * y + x.pow(3).sum()


x = randn(4)
y = randn(4)
value, jv = jvp(f, (x, y), (torch.ones(4), torch.zeros(4)))
show("func.jvp value", value)
show("func.jvp tangent", jv)
jf = jacfwd(f)(x, y)
jr = jacrev(f)(x, y)
print(tuple(jf.shape), torch.allclose(jf, jr, atol=1e-6))
jf2 = jacfwd(f, argnums=(0, 1))(x, y)
print([tuple(j.shape) for j in jf2])
partial = functools.partial(f, y=y)
basis = torch.eye(4)
columns = vmap(lambda v: jvp(partial, (x,), (v,))[1])(basis)
print("vmap(jvp) == jacfwd.T:", torch.allclose(columns.T, jf, atol=1e-6))
hess = jacfwd(jacrev(lambda z: z.pow(3).sum() + (z[0] * z[1])))(x)
show("hessian diag", torch.diagonal(hess))
print(hess[0, 1].item(), hess[1, 0].item())
