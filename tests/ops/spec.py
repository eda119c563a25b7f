"""The op-table entry type and the helpers that turn a sample into tensors of either library.

An ``OpSpec`` names an op and how to call it as ``fn(lib, *tensors)`` where ``lib`` is
``ember`` or ``torch``: the two APIs are the same, so one lambda drives both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class OpSpec:
    name: str
    fn: object                      # fn(lib, *tensors) -> Tensor or tuple of Tensors
    shapes: list                    # list of samples; each a tuple of input shapes
    domain: tuple = (-2.0, 2.0)     # where float inputs are drawn from
    grad: bool = True               # differentiable (gradient tests run)
    grad_inputs: tuple | None = None  # which inputs get gradients (default: all float ones)
    dtypes: tuple = ("float32", "float64")  # forward is compared in each of these
    int_inputs: dict = field(default_factory=dict)  # input index -> (low, high) integer inputs
    bool_inputs: tuple = ()         # input indices that are bool masks
    atol: float = 1e-5
    rtol: float = 1.3e-6
    grad_atol: float = 1e-5
    gradcheck: bool = True          # run the float64 finite-difference check
    gradgrad: bool = True           # compare second derivatives against torch
    noncontig: bool = True          # also run on non-contiguous (transposed) inputs
    make: object = None             # make(rng) -> list of numpy arrays, overrides shapes/domain
    nondeterministic_grad: bool = False

    def __str__(self):
        return self.name


def make_arrays(spec: OpSpec, shapes, rng, dtype: str = "float64") -> list:
    """NumPy inputs for one sample."""
    if spec.make is not None:
        return [np.array(a) for a in spec.make(rng)]
    out = []
    lo, hi = spec.domain
    for i, shape in enumerate(shapes):
        if i in spec.int_inputs:
            a, b = spec.int_inputs[i]
            out.append(rng.integers(a, b, size=shape).astype(np.int64))
        elif i in spec.bool_inputs:
            out.append(rng.random(shape) < 0.5)
        else:
            out.append(rng.uniform(lo, hi, size=shape).astype(dtype))
    return out


def is_float(a: np.ndarray) -> bool:
    return a.dtype.kind == "f"


def to_lib(lib, arrays, dtype: str | None = None, requires_grad=False, noncontig=False,
           grad_inputs=None) -> list:
    """Make tensors of ``lib`` from arrays, optionally non-contiguous and requiring grad."""
    out = []
    for i, a in enumerate(arrays):
        a = a.astype(dtype) if dtype and is_float(a) else a
        if noncontig and a.ndim >= 2:
            t = lib.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).transpose(-1, -2)
        else:
            t = lib.tensor(a)
        wants = grad_inputs is None or i in grad_inputs
        if requires_grad and is_float(a) and wants:
            t.requires_grad_(True)
        out.append(t)
    return out


def as_list(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


def to_numpy(t):
    # force=True: torch returns ZeroTensors for some second derivatives (norm, abs)
    return t.detach().cpu().numpy(force=True) if hasattr(t, "detach") else np.asarray(t)
