"""One table of v2 kernels, keyed by ``(functional, input type)``.

Every dispatching functional of ``v2.functional`` (``resize``, ``horizontal_flip`` ...) has a
row here: for each input type it accepts (plain ``Tensor``, PIL image, ``Image``, ``Video``,
``Mask``, ``BoundingBoxes``, ``KeyPoints``) the callable that does the work. A call looks up
the input's class and its bases in that row, so a subclass of a registered type is served by
its parent's kernel. Users add rows for their own ``TVTensor`` subclasses with
``register_kernel``; the built-in types' entries are fixed.

What happens to a tv_tensor with no kernel (a custom one, or a ``Mask`` given to a colour
functional) depends on who asks: a functional called directly raises ``TypeError`` naming the
types it supports, while a built-in v2 transform leaves the object untouched (torchvision's
passthrough), so a sample may carry extra tv_tensors through a pipeline that knows nothing of
them.
"""

from __future__ import annotations

import functools
import inspect
import threading

from ...._tensor import Tensor
from ... import tv_tensors

# functional -> {input class -> kernel}
_KERNELS: dict = {}
# the built-in transforms set this while they run: custom tv_tensors without a kernel pass
_passthrough = threading.local()

_BUILTIN_TV = (tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask, tv_tensors.BoundingBoxes,
               tv_tensors.KeyPoints)


def _pil_class():
    try:
        from PIL import Image as _PIL
    except ImportError:  # Pillow is optional: no PIL row then
        return None
    return _PIL.Image


def _type_codes(codes: str) -> list:
    """Classes from one-letter codes, in the order torchvision lists them in its errors."""
    table = {"I": tv_tensors.Image, "T": Tensor, "P": _pil_class(), "M": tv_tensors.Mask,
             "K": tv_tensors.KeyPoints, "B": tv_tensors.BoundingBoxes, "V": tv_tensors.Video}
    return [table[c] for c in codes if table[c] is not None]


def _find_kernel(functional, cls):
    row = _KERNELS.get(functional, {})
    if issubclass(cls, tv_tensors.TVTensor):
        # a tv_tensor is served by its own class or a tv_tensor base, never by plain Tensor
        for base in cls.__mro__:
            if base is tv_tensors.TVTensor:
                break
            if base in row:
                return row[base]
        return None
    for base in cls.__mro__:
        if base in row:
            return row[base]
    return None


def _unsupported(functional, inpt) -> TypeError:
    name = getattr(functional, "__name__", str(functional))
    types = _KERNELS.get(functional, {}).keys()
    return TypeError(f"Functional F.{name} supports inputs of type {types}, "
                     f"but got {type(inpt)} instead.")


def _keyword_binder(sig: inspect.Signature):
    """``bind(inpt, args, kwargs)``: the parameters after the first as a keyword dict with
    defaults filled in, as ``sig.bind`` + ``apply_defaults`` give them but without their cost
    (the table calls it on every dispatch); any call it cannot place goes to ``sig.bind``,
    which raises Python's own TypeError for it."""
    params = list(sig.parameters.values())[1:]
    plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if any(p.kind not in plain for p in params):
        def slow(inpt, args, kwargs):
            bound = sig.bind(inpt, *args, **kwargs)
            bound.apply_defaults()
            out = dict(bound.arguments)
            out.pop(next(iter(sig.parameters)))
            return out
        return slow
    positional = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    names = {p.name for p in params}
    defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    required = names - defaults.keys()

    def bind(inpt, args, kwargs):
        out = dict(defaults)
        out.update(zip(positional, args))
        if (len(args) > len(positional) or not names.issuperset(kwargs)
                or any(k in kwargs for k in positional[:len(args)])):
            sig.bind(inpt, *args, **kwargs)  # raises the TypeError
        out.update(kwargs)
        if not required.issubset(out):
            sig.bind(inpt, *args, **kwargs)
        return out

    return bind


def dispatching(codes: str):
    """Make ``fn`` (whose body serves the built-in types in ``codes``) a table-driven
    functional: its row starts with ``fn`` itself for each of those types."""

    def decorate(fn):
        bind = _keyword_binder(inspect.signature(fn))

        @functools.wraps(fn)
        def functional(inpt, *args, **kwargs):
            cls = type(inpt)
            kernel = _KERNELS[functional].get(cls) or _find_kernel(functional, cls)
            if kernel is fn:
                return fn(inpt, *args, **kwargs)
            if kernel is None:
                if isinstance(inpt, tv_tensors.TVTensor) and getattr(_passthrough, "on", False):
                    return inpt
                raise _unsupported(functional, inpt)
            # a registered kernel receives every parameter of the functional by keyword,
            # defaults filled in, as torchvision hands them over
            return kernel(inpt, **bind(inpt, args, kwargs))

        _KERNELS[functional] = {cls: fn for cls in _type_codes(codes)}
        return functional

    return decorate


def _resolve(functional):
    from . import functional as F

    if isinstance(functional, str):
        found = getattr(F, functional, None)
        if found is None or functional.startswith("_") or not callable(found):
            raise ValueError(f"Could not find functional with name '{functional}' in "
                             f"ember.vision.transforms.v2.functional.")
        return found
    public = {id(v) for k, v in vars(F).items() if not k.startswith("_") and callable(v)}
    if id(functional) not in public or isinstance(functional, type):
        raise ValueError(f"Kernels can only be registered on functionals from the "
                         f"ember.vision.transforms.v2.functional namespace, but got "
                         f"{functional}.")
    return functional


def register_kernel(functional, tv_tensor_cls):
    """Decorator: use the decorated kernel when ``functional`` (a ``v2.functional`` function,
    or its name) is called on an instance of ``tv_tensor_cls`` (a ``TVTensor`` subclass of
    your own, not a built-in one). The kernel gets the input and the functional's other
    parameters as keywords; what it returns is returned as is. Built-in transforms then use it
    too, and without one they pass such an input through unchanged.

    Example:
        >>> class Heatmap(tv_tensors.TVTensor):
        ...     pass
        >>> @F.register_kernel(functional=F.hflip, tv_tensor_cls=Heatmap)
        ... def hflip_heatmap(heatmap):
        ...     return tv_tensors.wrap(heatmap.flip(-1), like=heatmap)
    """
    functional = _resolve(functional)
    if not (isinstance(tv_tensor_cls, type) and issubclass(tv_tensor_cls, tv_tensors.TVTensor)):
        raise ValueError(f"Kernels can only be registered for subclasses of "
                         f"ember.vision.tv_tensors.TVTensor, but got {tv_tensor_cls}.")
    if tv_tensor_cls in _BUILTIN_TV or tv_tensor_cls is tv_tensors.TVTensor:
        raise ValueError(f"Kernels cannot be registered for the builtin tv_tensor classes, "
                         f"but got {tv_tensor_cls}")
    row = _KERNELS.setdefault(functional, {})
    if tv_tensor_cls in row:
        raise ValueError(f"Functional {functional} already has a kernel registered for type "
                         f"{tv_tensor_cls}.")

    def decorate(kernel):
        row[tv_tensor_cls] = kernel
        return kernel

    return decorate


class passthrough_unknown:
    """While open with ``on``, tv_tensors without a kernel come back unchanged (built-in
    transforms' rule) instead of raising; ``on=False`` restores raising inside (a user's
    transform run by a built-in one calls the functionals as any caller does)."""

    def __init__(self, on: bool = True) -> None:
        self._on = on

    def __enter__(self):
        self._previous = getattr(_passthrough, "on", False)
        _passthrough.on = self._on
        return self

    def __exit__(self, *exc):
        _passthrough.on = self._previous
