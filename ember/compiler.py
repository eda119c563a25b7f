"""``torch.compiler``: the functions libraries call around :func:`ember.compile`.

Most of them guard code paths (``is_compiling()``) or mark functions for PyTorch's Dynamo
frontend (``disable``, ``allow_in_graph``, ``assume_constant_result``,
``substitute_in_graph``). ember.compile captures by running the Python code, so
``allow_in_graph`` and friends have nothing to change and return their function; ``disable``
makes a capture that reaches the function give up and run that call eagerly.

Not provided (no honest ember meaning): ``config``, ``set_default_backend`` /
``get_default_backend`` (ember.compile does not read a default), ``set_enable_guard_collectives``,
``load_compiled_function``, ``wrap_numpy``, ``save_cache_artifacts`` / ``load_cache_artifacts``,
``nested_compile_region`` and the ``*_guards_unsafe`` guard filters.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys

__all__ = ["compile", "disable", "allow_in_graph", "assume_constant_result",
           "substitute_in_graph", "list_backends", "reset", "set_stance",
           "cudagraph_mark_step_begin", "is_compiling", "is_dynamo_compiling", "is_exporting"]


def compile(*args, **kwargs):
    """:func:`ember.compile` (``torch.compiler.compile`` is ``torch.compile``).

    Example:
        >>> f = ember.compiler.compile(lambda x: x * 2)
        >>> f(ember.ones(2))
        tensor([2., 2.])
    """
    import ember

    return ember.compile(*args, **kwargs)


# -- is_compiling ---------------------------------------------------------------------------------

def _capture_mode() -> str | None:
    """The mode of the ``ember.fx`` capture running on this thread ("compile" for
    ember.compile, "export" for ember.onnx.export, "trace" for ember.jit.trace), or None."""
    capture = sys.modules.get("ember.fx.capture")  # not loaded: nothing can be capturing
    recorder = getattr(capture._active, "recorder", None) if capture is not None else None
    return None if recorder is None else recorder.mode


def is_compiling() -> bool:
    """True while ``ember.compile`` (or ``ember.onnx.export``) captures the code that calls it,
    False in eager code. A compiled function replays what the capture recorded, so a branch
    taken on ``is_compiling()`` stays as it was at capture.

    Example:
        >>> ember.compiler.is_compiling()
        False
        >>> ember.compile(lambda x: x + ember.compiler.is_compiling())(ember.zeros(1))
        tensor([1.])
    """
    return _capture_mode() in ("compile", "export")


def is_dynamo_compiling() -> bool:
    """Whether a graph is being traced for compilation: the same answer as
    :func:`is_compiling` (ember's one frontend plays Dynamo's part).

    Example:
        >>> ember.compiler.is_dynamo_compiling()
        False
    """
    return is_compiling()


def is_exporting() -> bool:
    """True only while ``ember.onnx.export`` captures the calling code (stricter than
    :func:`is_compiling`).

    Example:
        >>> ember.compiler.is_exporting()
        False
    """
    return _capture_mode() == "export"


# -- disable ----------------------------------------------------------------------------------

def _innermost(fn):
    """The function a compiled or disabled wrapper was made from (PyTorch's ``innermost_fn``)."""
    while hasattr(fn, "_torchdynamo_orig_callable") and (
            getattr(fn, "_torchdynamo_wrapper_id", None) == id(fn)
            or getattr(fn, "_ember_compiler", None) is not None):
        fn = fn._torchdynamo_orig_callable
    return fn


def _disabled(fn, recursive: bool, reason):
    @functools.wraps(fn)
    def _fn(*args, **kwargs):
        if _capture_mode() == "compile":
            from .fx.capture import GraphBreak

            # ember.compile cannot leave a hole in its graph for the function to run in: the
            # whole call runs eagerly instead (or raises, with fullgraph=True), as Dynamo does
            # for a disabled function it cannot skip
            caller = sys._getframe(1)
            name = getattr(fn, "__qualname__", type(fn).__name__)
            why = f" (reason: {reason})" if reason else ""
            raise GraphBreak(f"{name}()", f"{caller.f_code.co_filename}:{caller.f_lineno}",
                             reason=f"called a function marked with ember.compiler.disable{why}.")
        return fn(*args, **kwargs)

    _fn._torchdynamo_disable = True
    _fn._torchdynamo_disable_msg = reason
    _fn._torchdynamo_orig_callable = fn
    _fn._torchdynamo_wrapper_id = id(_fn)
    _fn._torchdynamo_disable_recursive = recursive
    return _fn


def disable(fn=None, recursive=True, *, reason=None):
    """Keep ``ember.compile`` from capturing ``fn``: a compiled function whose capture calls it
    runs eagerly for that input signature (or raises with ``fullgraph=True``), and eager calls
    are unchanged. With no ``fn``, a decorator. A class has its ``__init__`` and ``__call__``
    disabled in place, as in PyTorch. ``recursive=False`` is accepted; ember cannot compile
    the functions a disabled one calls separately, so they run eagerly too.

    Example:
        >>> @ember.compiler.disable(reason="prints")
        ... def log(x):
        ...     return x
        >>> log(ember.ones(1))
        tensor([1.])
    """
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)
    fn = _innermost(fn)
    if not callable(fn):
        raise AssertionError("fn must be callable")
    from . import nn

    if isinstance(fn, nn.Module):
        raise NotImplementedError(
            "ember.compiler.disable takes a function, method or class; for a module instance "
            "decorate its class (ember.compiler.disable(MyModule)) or its forward method")
    if isinstance(fn, type):
        fn.__init__ = _disabled(fn.__init__, recursive, reason)
        if any("__call__" in vars(k) for k in fn.__mro__[:-1]):  # not type.__call__
            fn.__call__ = _disabled(fn.__call__, recursive, reason)
        return fn
    return _disabled(fn, recursive, reason)


# -- markers for Dynamo that ember.compile does not need -----------------------------------------

def allow_in_graph(fn):
    """Return ``fn`` (a list for a list or tuple of functions). PyTorch's Dynamo then puts the
    call into its graph without looking inside; ember.compile records the ops ``fn`` runs, so
    there is nothing to change.

    Example:
        >>> f = ember.compiler.allow_in_graph(ember.sin)
        >>> f is ember.sin
        True
    """
    if isinstance(fn, (list, tuple)):
        return [allow_in_graph(x) for x in fn]
    if not callable(fn):
        raise AssertionError("allow_in_graph expects a callable")
    return fn


def assume_constant_result(fn):
    """Mark ``fn`` as returning a constant and return it. ember.compile already takes
    Python values computed during capture as constants, so the mark changes nothing.

    Example:
        >>> def size():
        ...     return 4
        >>> ember.compiler.assume_constant_result(size)()
        4
    """
    fn._dynamo_marked_constant = True
    return fn


_polyfills: dict = {}


def _signature_id(sig: inspect.Signature) -> tuple:
    params = sig.parameters.values()
    return (tuple(p.name for p in params
                  if p.kind not in (p.KEYWORD_ONLY, p.VAR_POSITIONAL, p.VAR_KEYWORD)),
            {p.name for p in params if p.kind == p.KEYWORD_ONLY},
            {p.name: p.default for p in params if p.kind not in (p.VAR_POSITIONAL,
                                                                   p.VAR_KEYWORD)})


def _is_function(value) -> bool:
    import types

    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType,
                              types.MethodDescriptorType, types.WrapperDescriptorType))


def substitute_in_graph(original_fn, *, can_constant_fold_through: bool = False,
                        skip_signature_check: bool = False):
    """A decorator that registers a Python stand-in for ``original_fn`` (usually a C function)
    for PyTorch's Dynamo to trace. It returns a function that calls ``original_fn``; ember.compile
    runs C functions directly, so the stand-in is kept but not used. The signatures must match
    unless ``skip_signature_check``; one stand-in per function.

    Example:
        >>> import math
        >>> @ember.compiler.substitute_in_graph(math.hypot, skip_signature_check=True)
        ... def hypot(*coordinates):
        ...     return sum(c * c for c in coordinates) ** 0.5
        >>> hypot(3, 4)
        5.0
    """
    if not _is_function(original_fn):
        raise TypeError(f"substitute_in_graph expects a function but got {type(original_fn)!r}")

    def wrapper(traceable_fn):
        if not _is_function(traceable_fn):
            raise TypeError(f"@substitute_in_graph(...) expects a function but got "
                            f"{type(traceable_fn)!r}")
        if not skip_signature_check:
            try:
                original_sig = inspect.signature(original_fn)
            except ValueError:
                original_sig = None  # a C function without a signature: nothing to compare
            if original_sig is not None:
                traceable_sig = inspect.signature(traceable_fn)
                wildcard = _signature_id(inspect.signature(lambda *args, **kwargs: None))
                ids = (_signature_id(original_sig), _signature_id(traceable_sig))
                if ids[0] != ids[1] and wildcard not in ids:
                    raise TypeError(f"Signature mismatch between {original_fn} and "
                                    f"{traceable_fn}: {original_sig} != {traceable_sig}")
        if original_fn in _polyfills:
            raise ValueError(f"Duplicate polyfill handlers for {original_fn}: already handled "
                             f"by {_polyfills[original_fn]}")

        @functools.wraps(traceable_fn)
        def wrapped(*args, **kwargs):
            return original_fn(*args, **kwargs)

        _polyfills[original_fn] = _polyfills[wrapped] = wrapped
        wrapped.__torch_dynamo_original__ = original_fn
        wrapped.__torch_dynamo_polyfill__ = traceable_fn
        wrapped.__torch_dynamo_can_constant_fold_through__ = can_constant_fold_through
        return wrapped

    return wrapper


# -- backends, caches, stance -----------------------------------------------------------------

# PyTorch tags its "eager" and "aot_eager" backends as debugging ones
_BACKEND_TAGS = {"eager": ("debug",), "aot_eager": ("debug",)}


def list_backends(exclude_tags=("debug", "experimental")) -> list[str]:
    """The backend names ``ember.compile`` takes, sorted, leaving out those tagged with one of
    ``exclude_tags`` (``"eager"`` is a ``"debug"`` backend, as in PyTorch; ``None`` or ``()``
    lists all). ``"onnxruntime"`` is listed when onnx and onnxruntime are installed.

    Example:
        >>> "inductor" in ember.compiler.list_backends()
        True
    """
    from ._compile import _BACKENDS

    excluded = set(exclude_tags or ())
    usable = [b for b in _BACKENDS if b != "onnxruntime"
              or all(importlib.util.find_spec(p) for p in ("onnx", "onnxruntime"))]
    return sorted(b for b in usable if not excluded.intersection(_BACKEND_TAGS.get(b, ())))


def reset() -> None:
    """Reset the compiler's process-wide state. ember.compile keeps each compiled function's
    graphs on that function, not in a process-wide cache, so there is nothing to clear: a
    compiled function keeps replaying what it captured.

    Example:
        >>> ember.compiler.reset()
    """


def cudagraph_mark_step_begin() -> None:
    """Mark the start of a training or inference step for CUDA graphs. ember records no CUDA
    graphs, so this does nothing.

    Example:
        >>> ember.compiler.cudagraph_mark_step_begin()
    """


_STANCES = ("default", "force_eager", "eager_on_recompile", "fail_on_recompile",
            "eager_then_compile", "aot_eager_then_compile")
_stance = ("default", False, None)  # (stance, skip_guard_eval_unsafe, force_backend)


class _SetStance:
    """What :func:`set_stance` returns: the stance is set already; used with ``with`` it is
    put back on exit, and used as a decorator it applies during each call only."""

    def __init__(self, stance, skip_guard_eval_unsafe, force_backend):
        self.stance = (stance, skip_guard_eval_unsafe, force_backend)
        self.prev = _set(self.stance)

    def __enter__(self):
        _set(self.stance)

    def __exit__(self, *exc):
        _set(self.prev)

    def __call__(self, fn):
        _set(self.prev)  # as a decorator the stance holds only inside fn

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


def _set(stance: tuple) -> tuple:
    global _stance
    if is_compiling():
        raise RuntimeError("attempted to set_stance in a torch.compile region")
    prev, _stance = _stance, stance
    return prev


def set_stance(stance: str = "default", *, skip_guard_eval_unsafe: bool = False,
               force_backend=None):
    """Set the compiler's stance (``"default"``, ``"force_eager"``, ``"eager_on_recompile"``,
    ``"fail_on_recompile"``, ``"eager_then_compile"``, ``"aot_eager_then_compile"``): a call,
    a context manager or a decorator, as in PyTorch. Names and ``force_backend`` are checked
    and the stance is kept, but ember.compile does not consult it yet: compiled functions
    capture and replay as under ``"default"`` (their values are eager's either way).

    Example:
        >>> with ember.compiler.set_stance("force_eager"):
        ...     pass
    """
    if force_backend is not None and stance != "default":
        raise RuntimeError("non-default stance cannot have force_backend set")
    if stance not in _STANCES:
        raise RuntimeError(f"invalid torch.compile stance {stance!r}: expected one of "
                           f"{', '.join(_STANCES)}")
    if force_backend is not None:
        from ._compile import _BACKENDS

        if force_backend not in _BACKENDS:
            raise RuntimeError(f"Invalid backend: {force_backend!r}, ember.compile's backends "
                               f"are {', '.join(repr(b) for b in _BACKENDS)}")
    return _SetStance(stance, skip_guard_eval_unsafe, force_backend)
