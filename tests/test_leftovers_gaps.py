"""Issue 13 leftovers, each checked against PyTorch: vmap's refusal of ``data_ptr`` and its
stacking error for outputs whose shape differs per element, the functorch layer stack kept per
thread; NumPy scalars as op arguments (``numpy.bool_`` reads as a double; ``copy_`` takes a
NumPy scalar; ``x[i] = v`` refuses NumPy floats other than float64; NumPy integers make an
int64 ``arange``); differentiable NAdam with a tensor lr (torch's backward fails through two
steps) and Rprop's step sizes joining the graph."""

import threading
import warnings

import numpy as np
import pytest
import torch

import ember


def _outcome(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fn()
        except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:
            # (ember's hint after a version-counter error is its own)
            return type(e).__name__, str(e).split("\n")[0].split(" Hint:")[0]
    if isinstance(out, (torch.dtype, ember.dtype)):
        return str(out)
    if isinstance(out, tuple):
        return tuple(_outcome(lambda o=o: o) for o in out)
    if isinstance(out, (torch.Tensor, ember.Tensor)):
        return str(out.dtype), repr(out.tolist())  # repr: NaNs compare, signed zeros differ
    return out


def _same(fn):
    got, want = _outcome(lambda: fn(ember)), _outcome(lambda: fn(torch))
    assert got == want


# -- vmap ------------------------------------------------------------------------------------

X = [[1., 0., 3.], [1., 5., -1.], [0., 5., 0.]]


@pytest.mark.parametrize("body", [
    lambda lib, r: lib.tensor(r.data_ptr()),
    lambda lib, r: lib.argwhere(r),
    lambda lib, r: lib.bincount(r.abs().long()),
], ids=["data_ptr", "argwhere", "bincount"])
def test_vmap_refusals_as_torch(body):
    _same(lambda lib: lib.vmap(lambda r: body(lib, r))(lib.tensor(X)))


@pytest.mark.parametrize("body", [
    lambda lib, r: lib.masked_select(r, r > 0),
    lambda lib, r: lib.unique(r),
    lambda lib, r: r[r > 0],
    lambda lib, r: lib.tensor(lib.allclose(r, r)),
    lambda lib, r: lib.tensor(lib.equal(r, r)),
], ids=["masked_select", "unique", "bool_mask", "allclose", "equal"])
def test_vmap_data_dependent_refusals_as_torch(body):
    _same(lambda lib: lib.vmap(lambda r: body(lib, r))(lib.tensor(X)))


def _function_beside_vmap(lib):
    """A Function without setup_context applied in one thread while another thread is inside
    vmap: torch's functorch layers are per thread, so it runs."""

    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    inside, release = threading.Event(), threading.Event()

    def body(r):
        inside.set()
        release.wait(10)
        return r * 2

    worker = threading.Thread(target=lambda: lib.vmap(body)(lib.ones(2, 3)))
    worker.start()
    try:
        inside.wait(10)
        return _outcome(lambda: Double.apply(lib.ones(3, requires_grad=True)))
    finally:
        release.set()
        worker.join()


def test_vmap_layers_are_per_thread():
    assert _function_beside_vmap(ember) == _function_beside_vmap(torch)


# -- NumPy scalars as arguments --------------------------------------------------------------

SCALARS = [np.bool_(True), np.False_, np.int64(3), np.float32(1.5), np.float16(0.5),
           np.float64(2.5), np.uint8(7)]
DTYPES = ["float32", "int64", "bool", "uint8"]
BINARY = ["add_", "mul_", "sub_", "div_", "fill_", "copy_", "add", "mul", "sub", "pow", "eq",
          "floor_divide", "remainder", "clamp_min", "__and__", "bitwise_or"]


@pytest.mark.parametrize("value", SCALARS, ids=repr)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", BINARY)
def test_numpy_scalar_operand(op, dtype, value):
    _same(lambda lib: getattr(lib.tensor([1, 2], dtype=getattr(lib, dtype)), op)(value))


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_numpy_scalar_refused_as_tensor(value):
    """torch names NumPy's types with their module in its argument errors."""
    _same(lambda lib: lib.maximum(lib.tensor([1, 2]), value))


@pytest.mark.parametrize("value", SCALARS, ids=repr)
@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_scalar_setitem(dtype, value):
    def write(lib, index):
        t = lib.tensor([1, 0], dtype=getattr(lib, dtype))
        t[index(lib)] = value
        return t

    _same(lambda lib: write(lib, lambda lib: 0))
    _same(lambda lib: write(lib, lambda lib: lib.tensor([True, False])))


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_numpy_scalar_factories(value):
    _same(lambda lib: lib.full((2,), value))
    _same(lambda lib: lib.arange(value))
    _same(lambda lib: lib.arange(np.int32(1), value, np.int64(1)))
    _same(lambda lib: lib.result_type(lib.tensor([1, 2]), value))


# -- differentiable optimizers ---------------------------------------------------------------

def _hypergradients(lib, name, options, steps, tensor_lr, second_order=True):
    """Gradients of a loss after ``steps`` recorded steps in the starting weights (and lr),
    and their second-order gradients; or torch's error."""
    rng = np.random.default_rng(0)
    w_start, x_data = rng.standard_normal((3, 2)), rng.standard_normal((5, 3))

    def run():
        w0 = lib.tensor(w_start, requires_grad=True)
        lr = lib.tensor(0.05, dtype=lib.float64, requires_grad=True) if tensor_lr else 0.05
        x, w = lib.tensor(x_data), w0.clone()
        opt = getattr(lib.optim, name)([w], lr=lr, differentiable=True, **options)
        for _ in range(steps):
            loss = ((x @ w).tanh() ** 2).sum()
            w.grad = lib.autograd.grad(loss, w, create_graph=True)[0]
            opt.step()
        final = (x @ w).sin().sum()
        inputs = [w0, lr] if tensor_lr else [w0]
        grads = lib.autograd.grad(final, inputs, create_graph=second_order)
        out = [final.item()] + [g.detach().numpy().copy() for g in grads]
        if second_order:
            total = sum((g ** 2).sum() for g in grads)
            out += [g.numpy().copy() for g in lib.autograd.grad(total, inputs)]
        return out

    return _outcome(run)


def _assert_close(got, want):
    if isinstance(want, tuple):  # an error
        assert got == want
        return
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("steps", [1, 2])
@pytest.mark.parametrize("tensor_lr", [False, True])
@pytest.mark.parametrize("options", [{}, dict(weight_decay=0.1),
                                     dict(weight_decay=0.1, decoupled_weight_decay=True)])
def test_nadam_differentiable_as_torch(options, tensor_lr, steps):
    """With an lr that requires grad, torch's product ``exp_avg * (-lr * ...)`` saves the
    buffer and the next step's lerp_ breaks that backward: ember fails the same way."""
    _assert_close(_hypergradients(ember, "NAdam", options, steps, tensor_lr),
                  _hypergradients(torch, "NAdam", options, steps, tensor_lr))


@pytest.mark.parametrize("steps", [1, 2])
@pytest.mark.parametrize("options", [{}, dict(maximize=True),
                                     dict(etas=(0.3, 1.5), step_sizes=(1e-3, 0.04))])
def test_rprop_differentiable_as_torch(options, steps):
    """The step sizes are scaled by the recorded signs (as torch), so the second step's
    in-place update of a saved step size breaks the backward with torch's message."""
    _assert_close(_hypergradients(ember, "Rprop", options, steps, False),
                  _hypergradients(torch, "Rprop", options, steps, False))


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("tensor_lr", [False, True])
@pytest.mark.parametrize("options", [{}, dict(t0=1, weight_decay=0.1), dict(maximize=True)])
def test_asgd_differentiable_as_torch(options, tensor_lr, steps):
    _assert_close(_hypergradients(ember, "ASGD", options, steps, tensor_lr),
                  _hypergradients(torch, "ASGD", options, steps, tensor_lr))


def test_rprop_step_size_joins_the_graph():
    def state(lib):
        w = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True).clone()
        opt = lib.optim.Rprop([w], differentiable=True)
        w.grad = lib.autograd.grad((w ** 2).sum(), w, create_graph=True)[0]
        opt.step()
        s = opt.state[w]["step_size"]
        return s.requires_grad, type(s.grad_fn).__name__

    assert state(ember) == state(torch)


@pytest.mark.parametrize("steps", [1, 2])
@pytest.mark.parametrize("tensor_lr", [False, True])
@pytest.mark.parametrize("options", [{}, dict(weight_decay=0.1), dict(maximize=True)])
def test_adamax_differentiable_as_torch(options, tensor_lr, steps):
    """torch's addcdiv_ keeps exp_avg for its backward: the next step's lerp_ breaks it."""
    _assert_close(_hypergradients(ember, "Adamax", options, steps, tensor_lr),
                  _hypergradients(torch, "Adamax", options, steps, tensor_lr))


def _addcdiv_then_write(lib, dtype, write, divisor_grad):
    x = lib.tensor([1.5, -2.0, 3.0], dtype=dtype, requires_grad=True)
    t1, t2 = x * 2, (x * 3 if divisor_grad else lib.tensor([[3.0], [0.7]], dtype=dtype))
    out = lib.zeros(2, 3, dtype=dtype).addcdiv(t1, t2, value=-0.3)
    if write == "tensor1":
        t1.mul_(2)
    elif write == "tensor2":
        t2.mul_(2)
    return lib.autograd.grad(out.sum(), x)[0], out.grad_fn.name()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("write", [None, "tensor1", "tensor2"])
@pytest.mark.parametrize("divisor_grad", [False, True])
def test_addcdiv_saves_as_torch(dtype, write, divisor_grad):
    """AddcdivBackward0 keeps tensor1 (when tensor2 needs a gradient) and tensor2."""
    _same(lambda lib: _addcdiv_then_write(lib, getattr(lib, dtype), write, divisor_grad))
