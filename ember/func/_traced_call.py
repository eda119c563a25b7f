"""One call of a function on inputs made differentiable, kept so that its derivatives can be
taken as often as needed: the shared machinery of ``grad``, ``vjp``, ``jvp``, ``jacrev``,
``jacfwd`` and ``linearize``, built on ember's tape (``ember.autograd.grad``).

PyTorch gives each transform a "level" and unwraps tensors when leaving it. On a tape the
same effect comes from which graph a result stays attached to:

- an input nobody differentiates yet becomes a fresh leaf (``detach().requires_grad_()``);
- an input already on an outer graph (an enclosing ``grad``, or the user's own
  ``requires_grad`` tensor while grad mode is on) enters through a view, so the outer graph
  sees through this transform;
- results keep their graph (``create_graph=True``) only when something outside this call
  reaches them: such an input, or a tensor the function closes over that requires grad.
  Otherwise they are detached, as PyTorch's unwrapped results are.

Forward mode (``jvp``) is reverse mode twice: ``g(u) = J^T u`` is recorded with
``create_graph=True`` for a dummy cotangent ``u``, and ``J v`` is the gradient of ``<g(u), v>``
with respect to ``u``. Every ember backward is written with ember ops, so ``g`` is
differentiable in ``u`` (tests/func/test_jvp_op_table.py checks each op; ``cumprod`` through
zeros is first order only). ``g`` is linear in ``u``, so any ``u`` gives the same answer; it is
ones, because backward formulas written through ``log|grad|`` (``logcumsumexp``) are singular
at zero.
"""

from __future__ import annotations

import itertools
import weakref

from .. import autograd
from .._tensor import Tensor
from ..autograd.function import functorch_layer
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..autograd.graph import AccumulateGrad
from ..utils._pytree import tree_flatten, tree_unflatten

# Every leaf a transform made (differentiable inputs, the dummy cotangents of jvp), by id,
# with the order it was made in. A graph that reaches only leaves made by this call or by
# transforms nested in it holds nothing a caller can differentiate (an inner transform's
# leaves are constants to everyone else); a leaf an enclosing transform made earlier is that
# transform's input, so reaching it means the results must keep their graph (a mixed
# derivative: jacrev(jacrev(f, argnums=1), argnums=0)).
_INTERNAL: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_ORDER: dict = {}
_COUNTER = itertools.count()


def _internal(leaf: Tensor) -> Tensor:
    if len(_ORDER) > 2 * len(_INTERNAL) + 1024:  # forget the ids of dead leaves now and then
        for key in [k for k in _ORDER if k not in _INTERNAL]:
            del _ORDER[key]
    _INTERNAL[id(leaf)] = leaf
    _ORDER[id(leaf)] = next(_COUNTER)
    return leaf


def _is_internal(t: Tensor, since: int = 0) -> bool:
    """Whether ``t`` is a leaf some transform made, at or after the mark ``since``."""
    return _INTERNAL.get(id(t)) is t and _ORDER.get(id(t), -1) >= since


def check_argnums(argnums, num_args: int):
    """``argnums`` validated against ``num_args`` positional inputs, negatives resolved."""
    def one(a):
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"argnum must be int, got: {type(a)}")
        if -num_args <= a < num_args:
            return a % num_args
        raise RuntimeError(f"Got argnum={a}, but only {num_args} positional inputs")

    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return one(argnums)
    if isinstance(argnums, tuple):
        if len(argnums) == 0:
            raise RuntimeError("argnums must be non-empty")
        if len(set(argnums)) != len(argnums):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        return tuple(one(a) for a in argnums)
    raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")


def check_real(api: str, tree, is_input: bool) -> None:
    """PyTorch's jacrev/jacfwd refuse complex tensors."""
    for idx, leaf in enumerate(tree_flatten(tree)[0]):
        if isinstance(leaf, Tensor) and leaf.is_complex():
            kind = "inputs" if is_input else "outputs"
            raise RuntimeError(f"{api}: Expected all {kind} to be real but received complex "
                               f"tensor at flattened input idx: {idx}")


def _zeros_like(t: Tensor) -> Tensor:
    from .._creation import zeros_like

    return zeros_like(t)


class TracedCall:
    """``func(*args, **kwargs)`` run once with the arguments at ``argnums`` (all positional
    arguments when None) made differentiable.

    ``output`` is what ``func`` returned (with ``has_aux``, ``aux`` the second element);
    ``vjp``/``jvp`` take flat lists of cotangents/tangents and return flat lists of results,
    any number of times.
    """

    def __init__(self, func, args, kwargs, argnums, has_aux: bool, api: str):
        self.outer = is_grad_enabled()  # transforms ignore an enclosing no_grad, not its results
        self.connected = False
        self._start = next(_COUNTER)  # leaves made from here on are this call's or inner ones
        with enable_grad():
            if argnums is None:
                new_args = [self._wrap_tree(a) for a in args]
                diff_wrapped = tuple(new_args)
            else:
                new_args = list(args)
                picks = (argnums,) if isinstance(argnums, int) else argnums
                for i in picks:
                    new_args[i] = self._wrap_tree(args[i])
                diff_wrapped = new_args[argnums] if isinstance(argnums, int) else \
                    tuple(new_args[i] for i in argnums)
            self.flat_inputs, self.input_spec = tree_flatten(diff_wrapped)
            with functorch_layer("jvp" if api.startswith("jvp(") else "grad"):
                out = func(*new_args, **kwargs)
        self.aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError(f"{api}: output of function f should be a tuple: "
                                   "(output, aux) if has_aux is True")
            out, self.aux = out
        self.raw_output = out
        self.flat_outputs, self.output_spec = tree_flatten(out)
        self._g = None  # J^T u and the dummy u, built on the first jvp
        self._needs = None

    # -- inputs --------------------------------------------------------------------------
    def _wrap_tree(self, tree):
        leaves, spec = tree_flatten(tree)
        return tree_unflatten([self._wrap(x) for x in leaves], spec)

    def _wrap(self, x):
        if not isinstance(x, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
        if x.requires_grad and self.outer:
            self.connected = True
            return x.view_as(x)
        if not (x.is_floating_point() or x.is_complex()):
            raise RuntimeError("only Tensors of floating point dtype can require gradients "
                               f"(got {x.dtype}); differentiate with respect to a float "
                               "copy, e.g. x.float()")
        # x.detach() would do, but ember counts a detached tensor as a view of x, and
        # in-place ops on views of non-leaves pass: PyTorch refuses in-place changes to the
        # differentiated input, so this leaf shares x's memory and version without the view.
        leaf = Tensor._make(x._data, x._dtype)
        leaf._vbox = x._vbox
        if x._vmap_levels:  # still batched when grad runs inside vmap
            leaf._vmap_levels = x._vmap_levels
        return _internal(leaf.requires_grad_())

    # -- whether results keep their graph ------------------------------------------------
    def needs_graph(self) -> bool:
        """Whether anything outside this call can differentiate through its results."""
        if self._needs is None:
            self._needs = self.outer and (self.connected
                                          or self._reaches_outside(self.flat_outputs))
        return self._needs

    def _reaches_outside(self, tensors) -> bool:
        stack, seen = [], set()
        for o in tensors:
            if not isinstance(o, Tensor) or not o.requires_grad:
                continue
            if o.grad_fn is None:
                if not _is_internal(o, self._start):
                    return True
                continue
            stack.append(o.grad_fn)
        while stack:
            node = stack.pop()
            if type(node) is AccumulateGrad:
                if not _is_internal(node.variable, self._start):
                    return True
                continue
            for nxt, _ in node.next_functions:
                if nxt is not None and nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    def finish(self, tree, keep=None):
        """``tree``'s tensors as this call hands them out: detached unless an outer graph
        reaches them (``keep``: whether it does, when not the outputs' answer)."""
        if self.needs_graph() if keep is None else keep:
            return tree
        leaves, spec = tree_flatten(tree)
        return tree_unflatten([v.detach() if isinstance(v, Tensor) else v for v in leaves],
                              spec)

    def finish_aux(self):
        """The auxiliary output, checked (tensors only, as PyTorch unwraps them) and
        finished like the results."""
        leaves = tree_flatten(self.aux)[0]
        for leaf in leaves:
            if not isinstance(leaf, Tensor):
                raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
        keep = self.outer and (self.connected or self._reaches_outside(leaves))
        return self.finish(self.aux, keep)

    # -- derivatives ---------------------------------------------------------------------
    def vjp(self, cotangents, outputs=None, create_graph=None, retain_graph=True):
        """The gradients of ``sum(<output_k, cotangent_k>)`` for each flat input (zeros where
        an input does not matter). ``outputs`` picks a subset of the flat outputs."""
        outputs = self.flat_outputs if outputs is None else outputs
        keep = create_graph if create_graph is not None else is_grad_enabled()
        keep = keep and (self.needs_graph() or any(
            isinstance(c, Tensor) and c.requires_grad for c in cotangents))
        pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
        if not pairs:
            return [_zeros_like(x) for x in self.flat_inputs]
        grads = autograd.grad([o for o, _ in pairs], self.flat_inputs,
                              grad_outputs=[c for _, c in pairs], retain_graph=retain_graph,
                              create_graph=keep, allow_unused=True)
        out = [g if g is not None else _zeros_like(x) for g, x in zip(grads, self.flat_inputs)]
        return out if keep else [g.detach() for g in out]

    def jvp(self, tangents, strict: bool = False, api: str = "jvp(f, primals, tangents)"):
        """``J @ tangents`` for each flat output (zeros where an output does not depend on the
        inputs; with ``strict`` that is PyTorch's error)."""
        for x, t in zip(self.flat_inputs, tangents):
            if tuple(t.shape) != tuple(x.shape):
                raise RuntimeError(
                    "Trying to set a forward gradient that has a different size than that of "
                    "the original Tensor, this is not supported. Tensor is of size "
                    f"{list(x.shape)} while the given forward gradient is of size "
                    f"{list(t.shape)}.")
        if strict and any(not o.requires_grad for o in self.flat_outputs):
            raise RuntimeError(f"{api[:-1]}, strict=True): The output of f is independent of "
                               "the inputs. This is not allowed with strict=True.")
        g, us = self._transpose()
        keep = self.outer and (self.needs_graph() or any(t.requires_grad for t in tangents))
        pairs = [(gi, t) for gi, t in zip(g, tangents) if gi is not None and gi.requires_grad]
        live = [u for u in us if u is not None]
        result = None
        if pairs and live:
            result = autograd.grad([gi for gi, _ in pairs], live,
                                   grad_outputs=[t for _, t in pairs], retain_graph=True,
                                   create_graph=keep, allow_unused=True)
        it = iter(result) if result is not None else None
        out = []
        for o, u in zip(self.flat_outputs, us):
            r = next(it) if (u is not None and it is not None) else None
            r = r if r is not None else _zeros_like(o)
            out.append(r if keep else r.detach())
        return out

    def _transpose(self):
        """``(J^T u per flat input, u per flat output)``, recorded once with a graph."""
        if self._g is None:
            from .._creation import ones_like

            us = [_internal(ones_like(o).requires_grad_()) if o.requires_grad else None
                  for o in self.flat_outputs]
            pairs = [(o, u) for o, u in zip(self.flat_outputs, us) if u is not None]
            if pairs:
                with enable_grad():
                    g = autograd.grad([o for o, _ in pairs], self.flat_inputs,
                                      grad_outputs=[u for _, u in pairs], retain_graph=True,
                                      create_graph=True, allow_unused=True)
            else:
                g = [None] * len(self.flat_inputs)
            self._g = (list(g), us)
        return self._g
