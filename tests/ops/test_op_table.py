"""Generic tests that sweep the op table: forward, gradients, gradcheck, second order,
non-contiguous inputs. Forward and gradients are compared with PyTorch (skipped without it);
the finite-difference gradcheck needs no torch."""

import numpy as np
import pytest

import ember

from .op_table import OPS
from .spec import as_list, make_arrays, to_lib, to_numpy

CASES = [(spec, i) for spec in OPS for i in range(len(spec.shapes))]
IDS = [f"{spec.name}-{i}" for spec, i in CASES]
GRAD_CASES = [(s, i) for s, i in CASES if s.grad]
GRAD_IDS = [f"{s.name}-{i}" for s, i in GRAD_CASES]


def _arrays(spec, i):
    rng = np.random.default_rng(1234 + i)
    return make_arrays(spec, spec.shapes[i], rng)


def _grad_indices(spec, arrays):
    idx = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
    if spec.grad_inputs is not None:
        idx = [k for k in idx if k in spec.grad_inputs]
    return idx


def _compare(e_out, t_out, atol, rtol, check_dtype=True):
    e_list, t_list = as_list(e_out), as_list(t_out)
    assert len(e_list) == len(t_list)
    for e, t in zip(e_list, t_list):
        if e is None or t is None:
            assert e is None and t is None
            continue
        assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
        if check_dtype:
            assert str(e.dtype) == str(t.dtype), (e.dtype, t.dtype)
        np.testing.assert_allclose(to_numpy(e).astype(np.float64) if to_numpy(e).dtype.kind != "b"
                                   else to_numpy(e), to_numpy(t), atol=atol, rtol=rtol,
                                   equal_nan=True)


@pytest.mark.parametrize("spec,i", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_matches_torch(torch, spec, i, dtype):
    if dtype not in spec.dtypes:
        pytest.skip("dtype not in this op's table entry")
    arrays = _arrays(spec, i)
    e_out = spec.fn(ember, *to_lib(ember, arrays, dtype))
    t_out = spec.fn(torch, *to_lib(torch, arrays, dtype))
    tol = 1e-4 if dtype == "float32" else spec.atol
    _compare(e_out, t_out, max(tol, spec.atol), max(spec.rtol, 1e-5 if dtype == "float32" else 0))


@pytest.mark.parametrize("spec,i", CASES, ids=IDS)
def test_noncontiguous_inputs(spec, i):
    if not spec.noncontig:
        pytest.skip("op takes no non-contiguous inputs")
    arrays = _arrays(spec, i)
    if not any(a.ndim >= 2 for a in arrays):
        pytest.skip("no input with two dimensions")
    plain = spec.fn(ember, *to_lib(ember, arrays))
    strided = spec.fn(ember, *to_lib(ember, arrays, noncontig=True))
    _compare(strided, plain, 1e-12, 1e-12)


def _grads(lib, spec, arrays, upstream_seed, create_graph=False, noncontig=False):
    idx = _grad_indices(spec, arrays)
    tensors = to_lib(lib, arrays, "float64", requires_grad=True, noncontig=noncontig,
                     grad_inputs=idx)
    outs = [o for o in as_list(spec.fn(lib, *tensors)) if o.requires_grad]
    rng = np.random.default_rng(upstream_seed)
    ups = [lib.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
    inputs = [tensors[k] for k in idx]
    grads = lib.autograd.grad(outs, inputs, ups, allow_unused=True, create_graph=create_graph)
    return tensors, inputs, grads, idx


@pytest.mark.parametrize("spec,i", GRAD_CASES, ids=GRAD_IDS)
def test_gradients_match_torch(torch, spec, i):
    arrays = _arrays(spec, i)
    _, _, e_grads, _ = _grads(ember, spec, arrays, 7)
    _, _, t_grads, _ = _grads(torch, spec, arrays, 7)
    for e, t in zip(e_grads, t_grads):
        if t is None:
            assert e is None or np.all(to_numpy(e) == 0)
            continue
        assert e is not None, "ember gave no gradient where torch did"
        # a 0-d result must stay an array (NumPy hands back scalars for 0-d operands)
        assert type(e._data) is np.ndarray, type(e._data)
        _compare(e, t, spec.grad_atol, 1e-6)


@pytest.mark.parametrize("spec,i", GRAD_CASES, ids=GRAD_IDS)
def test_gradients_noncontiguous(spec, i):
    arrays = _arrays(spec, i)
    if not any(a.ndim >= 2 for a in arrays) or not spec.noncontig:
        pytest.skip("no input with two dimensions")
    _, _, plain, _ = _grads(ember, spec, arrays, 3)
    _, _, strided, _ = _grads(ember, spec, arrays, 3, noncontig=True)
    for a, b in zip(plain, strided):
        if a is not None:
            np.testing.assert_allclose(to_numpy(b), to_numpy(a), atol=1e-12)


@pytest.mark.parametrize("spec,i", GRAD_CASES, ids=GRAD_IDS)
def test_numerical_gradcheck(spec, i):
    if not spec.gradcheck:
        pytest.skip("op is not smooth enough for finite differences")
    arrays = _arrays(spec, i)
    idx = _grad_indices(spec, arrays)
    tensors = to_lib(ember, arrays, "float64", requires_grad=True, grad_inputs=idx)
    assert ember.autograd.gradcheck(lambda *xs: spec.fn(ember, *xs), tensors, eps=1e-6,
                                    atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("spec,i", GRAD_CASES, ids=GRAD_IDS)
def test_second_order_matches_torch(torch, spec, i):
    if not spec.gradgrad:
        pytest.skip("second order not compared for this op")
    arrays = _arrays(spec, i)

    def second(lib):
        tensors, inputs, grads, idx = _grads(lib, spec, arrays, 11, create_graph=True)
        terms = [(g * lib.tensor(np.random.default_rng(5 + k).standard_normal(tuple(g.shape))))
                 .sum() for k, g in enumerate(grads) if g is not None and g.requires_grad]
        if not terms:
            return None
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return lib.autograd.grad(total, inputs, allow_unused=True)

    e2, t2 = second(ember), second(torch)
    if t2 is None:
        assert e2 is None or all(g is None or not np.any(to_numpy(g)) for g in e2)
        return
    assert e2 is not None, "ember's gradient is not differentiable where torch's is"
    for e, t in zip(e2, t2):
        if t is None:
            assert e is None or np.allclose(to_numpy(e), 0)
        elif e is None:
            np.testing.assert_allclose(to_numpy(t), 0, atol=spec.grad_atol)
        else:
            _compare(e, t, spec.grad_atol * 10, 1e-5)
