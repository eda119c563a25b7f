"""Jacobians, Hessians, hvp and the empirical neural tangent kernel, as in PyTorch's
torch.func tutorials: a Jacobian row by row with autograd.grad and then with
``vmap(vjp_fn)``, ``jacrev``/``jacfwd`` over different argnums, Hessians three ways, batch
Jacobians and Hessians with ``vmap``, a Hessian-vector product as ``jvp(grad(f))``, and the
NTK of a small CNN by Jacobian contraction and by NTK-vector products."""
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, hessian, jacfwd, jacrev, jvp, vjp, vmap

rng = np.random.default_rng(0)


def randn(*shape):
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


def predict(weight, bias, x):
    return F.linear(x, weight, bias).tanh()


D = 6
weight = randn(D, D)
bias = randn(D)
x = randn(D)

# the Jacobian row by row
def compute_jac(xp):
    jacobian_rows = [torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0]
                     for vec in unit_vectors]
    return torch.stack(jacobian_rows)


xp = x.clone().requires_grad_()
unit_vectors = torch.eye(D)
jacobian = compute_jac(xp)
print(jacobian.shape)
print(jacobian[0].round(decimals=4))

_, vjp_fn = vjp(partial(predict, weight, bias), x)
ft_jacobian, = vmap(vjp_fn)(unit_vectors)
assert torch.allclose(ft_jacobian, jacobian)

ft_jacobian = jacrev(predict, argnums=2)(weight, bias, x)
assert torch.allclose(ft_jacobian, jacobian)
ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
print(ft_jac_weight.shape, ft_jac_bias.shape)
print(ft_jac_bias.diagonal().round(decimals=4))

jacfwd_jacobian = jacfwd(predict, argnums=2)(weight, bias, x)
assert torch.allclose(jacfwd_jacobian, jacrev(predict, argnums=2)(weight, bias, x), atol=1e-6)
print("jacrev == jacfwd")

# Hessians: the API and the two compositions
hess_api = hessian(predict, argnums=2)(weight, bias, x)
hess_fwdfwd = jacfwd(jacfwd(predict, argnums=2), argnums=2)(weight, bias, x)
hess_revrev = jacrev(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
assert torch.allclose(hess_api, hess_fwdfwd, atol=1e-5)
assert torch.allclose(hess_api, hess_revrev, atol=1e-5)
print(hess_api.shape, hess_api[0, 0].round(decimals=3))

# batch Jacobian and batch Hessian
batch_size, Din, Dout = 5, 4, 3
weight = randn(Dout, Din)
bias = randn(Dout)
x = randn(batch_size, Din)
compute_batch_jacobian = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))
batch_jacobian0 = compute_batch_jacobian(weight, bias, x)


def predict_with_output_summed(weight, bias, x):
    return predict(weight, bias, x).sum(0)


batch_jacobian1 = jacrev(predict_with_output_summed, argnums=2)(weight, bias, x).movedim(1, 0)
assert torch.allclose(batch_jacobian0, batch_jacobian1)
print(batch_jacobian0.shape)
compute_batch_hessian = vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))
batch_hess = compute_batch_hessian(weight, bias, x)
print(batch_hess.shape, round(batch_hess.abs().sum().item(), 3))

# Hessian-vector product, forward over reverse
def hvp(f, primals, tangents):
    return jvp(grad(f), primals, tangents)[1]


def f(x):
    return x.sin().sum()


x = randn(32)
tangent = randn(32)
result = hvp(f, (x,), (tangent,))
assert torch.allclose(result, -x.sin() * tangent, atol=1e-6)
print("hvp", result[:4].round(decimals=4))


# the empirical NTK of a small CNN
class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, (3, 3))
        self.conv2 = nn.Conv2d(4, 4, (3, 3))
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        x = self.conv1(x)
        x = x.relu()
        x = self.conv2(x)
        x = x.flatten(1)
        x = self.fc(x)
        return x


x_train = randn(4, 3, 8, 8)
x_test = randn(3, 3, 8, 8)
net = CNN()
with torch.no_grad():
    for p in net.parameters():
        p.copy_(0.3 * randn(*p.shape))
params = {k: v.detach() for k, v in net.named_parameters()}


def fnet_single(params, x):
    return functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)


def empirical_ntk_jacobian_contraction(fnet_single, params, x1, x2):
    jac1 = vmap(jacrev(fnet_single), (None, 0))(params, x1)
    jac1 = jac1.values()
    jac1 = [j.flatten(2) for j in jac1]
    jac2 = vmap(jacrev(fnet_single), (None, 0))(params, x2)
    jac2 = jac2.values()
    jac2 = [j.flatten(2) for j in jac2]
    einsum_expr = "Naf,Mbf->NMab"
    result = torch.stack([torch.einsum(einsum_expr, j1, j2) for j1, j2 in zip(jac1, jac2)])
    return result.sum(0)


result = empirical_ntk_jacobian_contraction(fnet_single, params, x_train, x_test)
print(result.shape)
print(result[0, 0].round(decimals=1))


def empirical_ntk_ntk_vps(func, params, x1, x2, compute="full"):
    def get_ntk(x1, x2):
        def func_x1(params):
            return func(params, x1)

        def func_x2(params):
            return func(params, x2)

        output, vjp_fn = vjp(func_x1, params)

        def get_ntk_slice(vec):
            vjps = vjp_fn(vec)
            _, jvps = jvp(func_x2, (params,), vjps)
            return jvps

        basis = torch.eye(output.numel(), dtype=output.dtype).view(output.numel(), -1)
        return vmap(get_ntk_slice)(basis)

    result = vmap(vmap(get_ntk, (None, 0)), (0, None))(x1, x2)
    if compute == "full":
        return result
    if compute == "trace":
        return torch.einsum("NMKK->NM", result)
    if compute == "diagonal":
        return torch.einsum("NMKK->NMK", result)


result_from_ntk_vps = empirical_ntk_ntk_vps(fnet_single, params, x_train, x_test)
assert torch.allclose(result, result_from_ntk_vps, atol=1e-4)
print("ntk-vps match", result_from_ntk_vps.shape)
trace = torch.einsum("NMKK->NM", result)
print("trace", trace.round(decimals=0))
