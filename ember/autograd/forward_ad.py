"""Forward-mode automatic differentiation with dual tensors (``torch.autograd.forward_ad``).

Inside ``with dual_level():``, ``make_dual(primal, tangent)`` gives a tensor that carries a
tangent; every op applied to it computes the output's tangent (the Jacobian-vector product),
and ``unpack_dual(out)`` returns ``(primal, tangent)``.

ember's ops define only their backward (a vector-Jacobian product written with ember ops), so
the tangent of one op is the derivative of its VJP with respect to the cotangent: for an op
``y = f(x)`` with VJP ``v(g) = J^T g`` (``J^H g`` for complex), ``<v(g), t>`` is linear in
``g`` and its gradient with respect to ``g`` is ``J t``. The op wrapper below is installed
only while a level is open, so programs that never use forward AD pay nothing.

Example:
    >>> import ember.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     out = fwAD.make_dual(x, v).sin()
    ...     jvp = fwAD.unpack_dual(out).tangent   # == x.cos() * v
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

from .. import _dtype as D
from .._tensor import Tensor
from . import grad_mode

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]

_state = grad_mode._state
# the open level (None outside ``dual_level``), whether propagation is paused (while a tangent
# is being computed, or inside a custom Function's forward), and the tensors given a tangent
_current = {"level": None, "paused": False}
_duals: list = []


class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the ``primal`` (a view of the dual tensor) and its
    ``tangent`` (None when it has none).

    Example:
        >>> primal, tangent = fwAD.unpack_dual(dual)
    """

    primal: Tensor
    tangent: Tensor | None


def enter_dual_level() -> int:
    """Open a forward-AD level and return it (``dual_level`` does this for you).

    Example:
        >>> level = fwAD.enter_dual_level(); fwAD.exit_dual_level(level=level)
    """
    if _current["level"] is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    from .._ops import _core

    _current["level"] = 0
    _core.set_forward_ad(_propagate)
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the level: every tangent made inside it is dropped.

    Example:
        >>> level = fwAD.enter_dual_level(); fwAD.exit_dual_level(level=level)
    """
    if level is None:
        level = _current["level"]
    if level is None or level != _current["level"]:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    from .._ops import _core

    for ref in _duals:
        t = ref()
        if t is not None:
            t.__dict__.pop("_fw_tangent", None)
    _duals.clear()
    _current["level"] = None
    _current["paused"] = False
    _core.set_forward_ad(None)


class dual_level:
    """Context manager for one forward-AD level; tangents live only inside it.

    Example:
        >>> with fwAD.dual_level():
        ...     y = fwAD.make_dual(x, ember.ones_like(x)) ** 2
        ...     fwAD.unpack_dual(y).tangent    # == 2 * x
    """

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with dual_level():
                return func(*args, **kwargs)
        return wrapper


class _paused:
    """Ops run inside do not propagate tangents (internal views, a custom Function's body)."""

    def __enter__(self):
        self.prev, _current["paused"] = _current["paused"], True

    def __exit__(self, *exc):
        _current["paused"] = self.prev


def _tangent_of(t) -> Tensor | None:
    return t.__dict__.get("_fw_tangent") if isinstance(t, Tensor) else None


def _set_tangent(t: Tensor, tangent: Tensor | None) -> None:
    if tangent is None:
        t.__dict__.pop("_fw_tangent", None)
        return
    if "_fw_tangent" not in t.__dict__:
        _duals.append(weakref.ref(t))
    t.__dict__["_fw_tangent"] = tangent


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A view of ``tensor`` that carries ``tangent`` (same shape) for forward-mode AD.

    Args:
        tensor: the primal, floating point or complex.
        tangent: the direction ``v`` of the Jacobian-vector product ``J v``.

    Example:
        >>> with fwAD.dual_level():
        ...     dual = fwAD.make_dual(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.0]))
    """
    if _current["level"] is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    if level is not None and level != _current["level"]:
        raise RuntimeError(f"Invalid forward AD level {level}: the open level is "
                           f"{_current['level']}")
    for what, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dual(): argument '{what if what == 'tangent' else 'tensor'}' "
                            f"must be Tensor, not {type(t).__name__}")
        if t._dtype.category < D._FLOAT:
            raise ValueError(f"Expected {what} to be floating point or complex, but got: "
                             f"{t._dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}.")
    with _paused():
        dual = tensor.view_as(tensor)
    _set_tangent(dual, tangent)
    return dual


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of a dual tensor; ``tangent`` is None for a plain tensor or
    outside the level it was made in.

    Example:
        >>> primal, tangent = fwAD.unpack_dual(y)
    """
    if not isinstance(tensor, Tensor):
        return UnpackedDualTensor(tensor, None)
    tangent = _tangent_of(tensor)
    if tangent is None or _current["paused"]:  # paused: inside a custom Function's forward
        return UnpackedDualTensor(tensor, None)
    with _paused():
        primal = tensor.view_as(tensor)
    return UnpackedDualTensor(primal, tangent)


# -- propagation through ops ---------------------------------------------------------------

def _propagate(cls, inputs, kwargs, apply, plain):
    """``Op.apply`` while a level is open: run the op, then give its outputs tangents."""
    if _current["paused"]:
        return apply(cls, *inputs, **kwargs)
    tangents = [_tangent_of(x) for x in inputs]
    if all(t is None for t in tangents):
        return apply(cls, *inputs, **kwargs)
    out_tangents = _op_jvp(cls, inputs, kwargs, tangents, plain)
    out = apply(cls, *inputs, **kwargs)
    outs = out if type(out) is tuple else (out,)
    for o, t in zip(outs, out_tangents):
        if t is not None and isinstance(o, Tensor):
            _set_tangent(o, t)
    return out


def _op_jvp(cls, inputs, kwargs, tangents, plain):
    """The output tangents of one op: the gradient of ``<VJP(g), tangent>`` with respect to g."""
    from . import grad as autograd_grad

    positions = [i for i, t in enumerate(tangents) if t is not None]
    # like PyTorch's, the tangent is differentiable (reverse mode) in the op's inputs and in
    # the input tangents when grad mode is on and one of them requires grad
    differentiable = _state.enabled and any(
        isinstance(x, Tensor) and x._requires_grad for x in list(inputs) + list(tangents))
    args = list(inputs)
    leaves = []
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            continue
        if i in positions:
            # a copy: the op is run again here and must not touch the real input
            if differentiable and x._requires_grad:
                with _paused():
                    leaf = x.clone()
            else:
                leaf = Tensor._make(x._data.copy(), x._dtype, True)
            leaves.append(leaf)
            args[i] = leaf
        elif not (differentiable and x._requires_grad):
            args[i] = Tensor._make(x._data, x._dtype)
    prev, _state.enabled = _state.enabled, True
    paused, _current["paused"] = _current["paused"], True
    try:
        out = plain(cls, *args, **kwargs)
        outs = out if type(out) is tuple else (out,)
        diff = [j for j, o in enumerate(outs) if isinstance(o, Tensor) and o._requires_grad]
        result = [None] * len(outs)
        if not diff:
            return result
        from .._creation import zeros_like

        cotangents = [zeros_like(outs[j]).requires_grad_() for j in diff]
        vjps = autograd_grad([outs[j] for j in diff], leaves, cotangents, create_graph=True,
                             allow_unused=True)
        total = None
        for v, i in zip(vjps, positions):
            if v is None:
                continue
            t = tangents[i]
            if v.is_complex():  # Re(conj(v) t), written without conj so no -0.0 appears
                term = (v.real * t.real + v.imag * t.imag).sum()
            else:
                term = (v * t).sum()
            total = term if total is None else total + term
        if total is not None and total.requires_grad:
            jvps = autograd_grad(total, cotangents, create_graph=differentiable, allow_unused=True)
        else:
            jvps = [None] * len(diff)
        for j, jv in zip(diff, jvps):
            jv = jv if jv is not None else zeros_like(outs[j])
            result[j] = jv if differentiable else jv.detach()
        return result
    finally:
        _state.enabled = prev
        _current["paused"] = paused


def is_active() -> bool:
    """Whether a level is open and tangents are propagating (internal)."""
    return _current["level"] is not None and not _current["paused"]


def inplace_update(t: Tensor, result: Tensor) -> None:
    """``t`` now holds ``result`` (an in-place op): it takes the result's tangent (internal)."""
    tangent = _tangent_of(result)
    if tangent is None:
        _set_tangent(t, None)
        return
    if tangent._dtype is not t._dtype:
        tangent = tangent.to(t._dtype)
    if tuple(tangent.shape) != tuple(t.shape):
        tangent = tangent.expand(t.shape).clone()
    _set_tangent(t, tangent)
