"""``ember.func``: PyTorch's function transforms (``torch.func``) on ember's autograd.

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``linearize``, ``jacrev``, ``jacfwd``,
``hessian``, ``vmap``, ``functional_call`` and ``stack_module_state``, with PyTorch's
signatures, pytree inputs and outputs, and error messages; they nest (``vmap(grad(f))``,
``jacrev(jacrev(f))``) and compose with ``ember.autograd``.

Two differences in how, not what: ``vmap`` runs the function captured once with batching
rules, or where it cannot, once per batch element, stacking the results (see ``_batching``
and ``_vmap``), and forward mode (``jvp``, ``jacfwd``) is computed with reverse-mode passes
(see ``_traced_call``).

Example:
    >>> from ember.func import functional_call, grad, vmap
    >>> def loss(params, x, y):
    ...     return F.mse_loss(functional_call(model, params, (x,)), y)
    >>> per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, xs, ys)
"""

from ._batch_norm_replacement import replace_all_batch_norm_modules_
from ._forward import jvp, linearize
from ._functional_call import functional_call, stack_module_state
from ._jacobians import hessian, jacfwd, jacrev
from ._reverse import grad, grad_and_value, vjp
from ._vmap import vmap

__all__ = ["vmap", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd",
           "hessian", "functional_call", "stack_module_state", "functionalize",
           "replace_all_batch_norm_modules_"]


def functionalize(func, *, remove: str = "mutations"):
    """``func`` itself: PyTorch's ``functionalize`` rewrites in-place ops for its compilers
    and leaves the results unchanged, and ember has no such compilers to serve.

    Example:
        >>> functionalize(f)(x)   # == f(x)
    """
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument "
                           f"for remove={remove}. Valid options are:\n"
                           "     remove='mutations': all inplace and out= operators will be "
                           "removed from the program, and replaced with their out-of-place "
                           "equivalents.\n"
                           "     remove='mutations_and_views': In addition to the above, all "
                           "aliasing operators {view} will be replaced with their non-aliasing "
                           "counterparts, {view}_copy.\n")
    return func
