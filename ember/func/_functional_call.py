"""Calling a module with other tensors in place of its parameters and buffers
(``functional_call``), and stacking the state of several like modules
(``stack_module_state``) for model ensembling with ``vmap``."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from .._tensor import Tensor

_MISSING = object()


def _submodule(module, path: str, memo: dict):
    if not path:
        return module
    if path not in memo:
        parent, _, attr = path.rpartition(".")
        owner = _submodule(module, parent, memo)
        try:
            sub = getattr(owner, attr)
        except AttributeError as e:
            raise AttributeError(f"{owner._get_name()} has no attribute `{attr}`") from e
        from ..nn import Module

        if not isinstance(sub, Module):
            raise TypeError(f"submodule `{path}`: {sub} is not an instance of torch.nn.Module")
        memo[path] = sub
    return memo[path]


def _swap(module, name: str, value):
    """Put ``value`` (a tensor, None, or _MISSING to remove) at ``module.name`` the way
    PyTorch's ``swap_tensor`` does; return what was there (_MISSING if nothing)."""
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"{value} is not an instance of torch.Tensor")
    for store in (module._parameters, module._buffers):
        if name in store:
            old = store[name]
            if value is _MISSING:
                del store[name]
            else:
                store[name] = value
            return old
    old = getattr(module, name, _MISSING)
    if old is not _MISSING and old is not None and not isinstance(old, Tensor):
        raise TypeError(f"attribute `{name}`: {old} is not an instance of torch.Tensor")
    if value is not _MISSING:
        setattr(module, name, value)
    elif hasattr(module, name):
        delattr(module, name)
    return old


def _untie(module, given: dict) -> dict:
    """``given`` plus, for each given tensor that the module ties to other names, those
    names too (PyTorch's ``tie_weights=True``)."""
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    by_tensor: dict = {}
    for name, t in named.items():
        by_tensor.setdefault(id(t), set()).add(name)
    tied = {n: names for names in by_tensor.values() if len(names) > 1 for n in names}
    given_tied = [n for n in given if n in tied]
    for n in given_tied:
        names = tied[n]
        if len(names & set(given_tied)) > 1 and len({id(given[m]) for m in names
                                                     if m in given}) != 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             "which are tied. Consider using tie_weights=False")
    out = dict(given)
    for n in given_tied:
        for m in tied[n]:
            out[m] = given[n]
    return out


@contextlib.contextmanager
def _reparametrized(module, tensors: dict, tie_weights: bool, strict: bool):
    new = _untie(module, tensors) if tie_weights else tensors
    if strict:
        valid = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        valid |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing, unexpected = sorted(valid - set(new)), sorted(set(new) - valid)
        msgs = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t"
                               + "\n\t".join(msgs))
    memo: dict = {}
    originals: dict = {}

    def swap_all(values: dict) -> dict:
        old = {}
        try:
            for name, value in values.items():
                parent, _, attr = name.rpartition(".")
                old[name] = _swap(_submodule(module, parent, memo), attr, value)
        except Exception:
            for name, value in old.items():
                parent, _, attr = name.rpartition(".")
                _swap(_submodule(module, parent, memo), attr, value)
            raise
        return old

    originals = swap_all(new)
    try:
        yield
    finally:
        current = swap_all(originals)
        # what the call left in the module (a reassigned buffer) goes back to the caller
        tensors.update({k: current[k] for k in tensors if k in current})


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """Call ``module(*args, **kwargs)`` with the tensors of ``parameter_and_buffer_dicts``
    (a dict from dotted names to tensors, or a list/tuple of such dicts) in place of its
    parameters and buffers, which are put back afterwards (``torch.func.functional_call``).
    Names not given keep the module's own tensors (``strict=True``: every name must be
    given, and no other). With ``tie_weights``, a tensor the module shares under several
    names is replaced under all of them. ``args`` that is not a tuple is one argument.

    Example:
        >>> params = {k: v.detach() for k, v in model.named_parameters()}
        >>> out = functional_call(model, params, (x,))
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError(
                "Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        counts: dict = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
        tensors = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple "
                         f"of dicts, but got {type(parameter_and_buffer_dicts)}")
    from ..nn import DataParallel

    if isinstance(module, DataParallel):
        raise RuntimeError("The stateless API can't be used with nn.DataParallel module")
    kwargs = {} if kwargs is None else kwargs
    args = () if args is None else (args if isinstance(args, tuple) else (args,))
    with _reparametrized(module, tensors, tie_weights, strict):
        return module(*args, **kwargs)


def _stacked_leaf(tensors, name: str) -> Tensor:
    from .. import stack

    grads = [t.requires_grad for t in tensors]
    if any(grads) and not all(grads):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    result = stack(tensors)
    return result.detach().requires_grad_() if all(grads) else result


def stack_module_state(models):
    """``(params, buffers)``: each parameter and buffer of ``models`` (modules of one class,
    all in training or all in eval mode) stacked along a new first dimension; stacked
    parameters are new leaves that require grad (``torch.func.stack_module_state``). With
    ``vmap(functional_call...)`` this runs an ensemble in one call.

    Example:
        >>> params, buffers = stack_module_state([nn.Linear(3, 2) for _ in range(4)])
        >>> params["weight"].shape
        torch.Size([4, 2, 3])
    """
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode.")
    kind = type(models[0])
    if not all(type(m) is kind for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    params = {k: _stacked_leaf(tuple(p[k] for p in all_params), k) for k in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {k: _stacked_leaf(tuple(b[k] for b in all_buffers), k) for k in all_buffers[0]}
    return params, buffers
