"""``jvp`` swept over the op table. ember computes a Jacobian-vector product as the
derivative of a vector-Jacobian product with respect to its cotangent, so every op's
backward must be differentiable in its incoming gradient. Checked by the dot-product identity
``<J v, w> == <v, J^T w>``, with ``J v`` from ``ember.func.jvp`` and ``J^T w`` from torch's
reverse mode, for every differentiable entry of the op table."""

import numpy as np
import pytest

import ember
from ember.func import jvp

from ..ops.op_table import OPS
from ..ops.spec import as_list, make_arrays, to_lib

# Entries whose backward is not differentiable in its incoming gradient, with the reason.
KNOWN = {
    "cross_map_lrn2d": "PyTorch's legacy CrossMapLRN2d has no second derivative, so its "
                       "backward raises when differentiated (as torch's does)",
}
CASES = [pytest.param(s, i, marks=pytest.mark.xfail(reason=KNOWN[s.name], strict=True))
         if s.name in KNOWN else (s, i)
         for s in OPS for i in range(len(s.shapes)) if s.grad and not s.nondeterministic_grad]
IDS = [f"{s.name}-{i}" for s in OPS for i in range(len(s.shapes))
       if s.grad and not s.nondeterministic_grad]


def _arrays(spec, i):
    return make_arrays(spec, spec.shapes[i], np.random.default_rng(1234 + i))


def _float_outputs(outs):
    return [o for o in as_list(outs) if o is not None and o.is_floating_point()]


@pytest.mark.parametrize("spec,i", CASES, ids=IDS)
def test_jvp_agrees_with_torch_vjp(torch, spec, i):
    arrays = _arrays(spec, i)
    if any(a.dtype.kind == "c" for a in arrays):
        pytest.skip("complex inputs: the identity needs conjugates")
    idx = [k for k, a in enumerate(arrays) if a.dtype.kind == "f" and
           (spec.grad_inputs is None or k in spec.grad_inputs)]
    if not idx:
        pytest.skip("no float input")
    rng = np.random.default_rng(7 + i)
    tangents_np = [rng.standard_normal(arrays[k].shape) for k in idx]

    base = to_lib(ember, arrays, "float64")

    def f(*diff):
        full = list(base)
        for k, d in zip(idx, diff):
            full[k] = d
        return tuple(_float_outputs(spec.fn(ember, *full)))

    e_outs, e_tangents = jvp(f, tuple(base[k] for k in idx),
                             tuple(ember.tensor(v) for v in tangents_np))
    if any(o.is_complex() for o in e_outs):
        pytest.skip("complex outputs: the identity needs conjugates")

    t_in = to_lib(torch, arrays, "float64", requires_grad=True, grad_inputs=idx)
    t_outs = _float_outputs(spec.fn(torch, *t_in))
    assert len(t_outs) == len(e_outs)
    ws = [rng.standard_normal(tuple(o.shape)) for o in t_outs]
    lhs = sum(float(np.sum(e.numpy() * w)) for e, w in zip(e_tangents, ws))
    live = [(o, w) for o, w in zip(t_outs, ws) if o.requires_grad]
    rhs = 0.0
    if live:
        grads = torch.autograd.grad([o for o, _ in live], [t_in[k] for k in idx],
                                    [torch.tensor(w) for _, w in live], allow_unused=True)
        rhs = sum(float(np.sum(v * g.numpy())) for v, g in zip(tangents_np, grads)
                  if g is not None)
    scale = sum(float(np.abs(e.numpy()).sum()) for e in e_tangents) + abs(rhs) + 1.0
    assert abs(lhs - rhs) <= 1e-7 * scale + 10 * spec.grad_atol, (lhs, rhs)
