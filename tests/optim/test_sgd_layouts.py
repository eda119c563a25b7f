"""SGD's fused update (OpenBLAS axpby/axpy) and its NumPy fallback give PyTorch's numbers for
every layout and dtype: contiguous, transposed and strided parameters and gradients."""

import numpy as np
import pytest

import ember

KW = [dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
      dict(lr=0.05, momentum=0.8, nesterov=True), dict(lr=0.1)]


def _leaf(lib, arr, layout):
    if layout == "transposed":  # a Fortran-ordered leaf: BLAS's flat kernels must not see it
        t = lib.from_numpy(np.ascontiguousarray(arr.T)).t()
    else:
        t = lib.from_numpy(arr.copy())
    return t.detach().requires_grad_(True)


def _grad(lib, arr, layout):
    if layout == "strided":  # every other column of a wider array
        wide = np.repeat(arr, 2, axis=1)
        return lib.from_numpy(wide)[:, ::2]
    if layout == "transposed":
        return lib.from_numpy(np.ascontiguousarray(arr.T)).t()
    return lib.from_numpy(arr.copy())


@pytest.mark.parametrize("kwargs", KW)
@pytest.mark.parametrize("param_layout,grad_layout", [
    ("contiguous", "contiguous"), ("contiguous", "strided"), ("contiguous", "transposed"),
    ("transposed", "contiguous"), ("transposed", "transposed")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_sgd_matches_torch_for_layouts(torch, kwargs, param_layout, grad_layout, dtype):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((6, 5)).astype(dtype)
    grads = [rng.standard_normal((6, 5)).astype(dtype) for _ in range(4)]
    results = []
    for lib in (ember, torch):
        p = _leaf(lib, p0, param_layout)
        opt = lib.optim.SGD([p], **kwargs)
        for g in grads:
            p.grad = _grad(lib, g, grad_layout)
            opt.step()
        results.append(p.detach().numpy().astype(np.float64))
    tol = dict(rtol=2e-3, atol=2e-3) if dtype == np.float16 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[0], results[1], **tol)
