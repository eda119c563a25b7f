"""Tensor subclasses that tell ``transforms.v2`` what a tensor holds (``torchvision.tv_tensors``).

An ``Image`` is transformed as an image, a ``Mask`` with nearest-neighbour resampling, and
``BoundingBoxes`` have their coordinates moved to follow the image (flips, resizes, crops).
As in torchvision, most tensor operations on them return plain tensors (the result of ``box + 1``
no longer knows its canvas); ``clone``, ``to``, ``detach`` and ``requires_grad_`` keep the type,
and ``wrap`` puts a plain result back into a given tv_tensor's type and metadata.

Example:
    >>> from ember.vision import tv_tensors
    >>> boxes = tv_tensors.BoundingBoxes([[1, 2, 8, 9]], format="XYXY", canvas_size=(10, 20))
    >>> boxes.canvas_size
    (10, 20)
"""

from __future__ import annotations

from enum import Enum

from ..._tensor import Tensor

__all__ = ["TVTensor", "Image", "Video", "Mask", "BoundingBoxes", "BoundingBoxFormat", "KeyPoints",
           "wrap", "is_rotated_bounding_format", "set_return_type"]


def _as_tensor(data, dtype=None, device=None, requires_grad=None) -> Tensor:
    from ... import as_tensor

    if isinstance(data, Tensor) and dtype is None and device is None:
        t = data
    else:
        t = as_tensor(data, dtype=dtype, device=device)
    if requires_grad is None:
        requires_grad = data.requires_grad if isinstance(data, Tensor) else False
    t = t.detach().requires_grad_(requires_grad) if requires_grad != t.requires_grad else t
    return t


class TVTensor(Tensor):
    """Base class of the tv_tensors: a plain tensor with a meaning the v2 transforms act on.

    Example:
        >>> isinstance(tv_tensors.Mask(ember.zeros(2, 2)), tv_tensors.TVTensor)
        True
    """

    def _meta(self) -> dict:
        # keyword arguments that rebuild this tv_tensor's metadata around new data
        return {}

    @classmethod
    def _wrap(cls, tensor: Tensor, **meta):
        out = tensor.as_subclass(cls)
        for k, v in meta.items():
            setattr(out, k, v)
        return out

    def _rewrap(self, tensor: Tensor):
        return type(self)._wrap(tensor, **self._meta())

    # torchvision keeps the type through these (they do not change what the data means)
    def clone(self, *args, **kwargs):
        return self._rewrap(Tensor.clone(self, *args, **kwargs))

    def to(self, *args, **kwargs):
        return self._rewrap(Tensor.to(self, *args, **kwargs))

    def detach(self):
        return self._rewrap(Tensor.detach(self))

    def __repr__(self, *, tensor_contents=None) -> str:
        name = type(self).__name__
        body = Tensor.__repr__(self.as_subclass(Tensor))[len("tensor("):-1]
        body = body.replace("\n" + " " * len("tensor("), "\n" + " " * (len(name) + 1))
        extra = ", ".join(f"{k}={v}" for k, v in self._repr_meta())
        # torchvision's Image prints an empty metadata list after a comma: "Image([...], )"
        if extra or self._repr_always_sep:
            return f"{name}({body}, {extra})"
        return f"{name}({body})"

    _repr_always_sep = False

    def _repr_meta(self):
        return []

    def __deepcopy__(self, memo):
        return self._rewrap(Tensor.__deepcopy__(self.as_subclass(Tensor), memo))

    def __reduce_ex__(self, protocol):
        return (_rebuild, (type(self), self.as_subclass(Tensor).detach(), self._meta()))


def _rebuild(cls, tensor, meta):
    return cls._wrap(tensor, **meta)


def _image_data(data, dtype, device, requires_grad) -> Tensor:
    from PIL import Image as _PIL  # noqa: F401  (only reached for PIL input)

    from ..transforms import functional as F1

    return _as_tensor(F1.pil_to_tensor(data), dtype, device, requires_grad)


class Image(TVTensor):
    """An image tensor ``(..., C, H, W)``; a 2-D input gains a channel dimension, a PIL image
    is read as ``uint8``.

    Example:
        >>> tv_tensors.Image(ember.zeros(4, 5)).shape
        ember.Size([1, 4, 5])
    """

    _repr_always_sep = True

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        from ..transforms._functional_base import _is_pil_image

        if _is_pil_image(data):
            t = _image_data(data, dtype, device, requires_grad)
        else:
            t = _as_tensor(data, dtype, device, requires_grad)
        if t.ndim < 2:
            raise ValueError(f"Tensor must be 2D or higher, got {t.ndim}D tensor.")
        if t.ndim == 2:
            t = t.unsqueeze(0)
        return cls._wrap(t)

    def __init__(self, *args, **kwargs):
        pass


class Video(TVTensor):
    """A video tensor ``(..., T, C, H, W)``.

    Example:
        >>> tv_tensors.Video(ember.zeros(2, 3, 4, 5)).shape
        ember.Size([2, 3, 4, 5])
    """

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        t = _as_tensor(data, dtype, device, requires_grad)
        if t.ndim < 4:
            raise ValueError()  # torchvision gives no message here
        return cls._wrap(t)

    def __init__(self, *args, **kwargs):
        pass


class Mask(TVTensor):
    """A segmentation or detection mask ``(..., H, W)``: resized with nearest neighbours.

    Example:
        >>> tv_tensors.Mask(ember.zeros(2, 4, 5, dtype=ember.uint8)).dtype
        ember.uint8
    """

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        from ..transforms._functional_base import _is_pil_image

        if _is_pil_image(data):  # (1, H, W), as torchvision reads it
            t = _image_data(data, dtype, device, requires_grad)
        else:
            t = _as_tensor(data, dtype, device, requires_grad)
        return cls._wrap(t)

    def __init__(self, *args, **kwargs):
        pass


class BoundingBoxFormat(Enum):
    """The coordinate layout of ``BoundingBoxes``: corners (``XYXY``), corner and size
    (``XYWH``) or centre and size (``CXCYWH``); rotated boxes add an angle in degrees,
    counter-clockwise on the image, to the first corner (``XYWHR``) or the centre
    (``CXCYWHR``), or list their four corners (``XYXYXYXY``).

    Example:
        >>> tv_tensors.BoundingBoxFormat["XYWH"]
        <BoundingBoxFormat.XYWH: 'XYWH'>
    """

    XYXY = "XYXY"
    XYWH = "XYWH"
    CXCYWH = "CXCYWH"
    XYWHR = "XYWHR"
    CXCYWHR = "CXCYWHR"
    XYXYXYXY = "XYXYXYXY"


def is_rotated_bounding_format(format) -> bool:
    """Whether ``format`` (a ``BoundingBoxFormat`` or its name) describes rotated boxes.

    Example:
        >>> tv_tensors.is_rotated_bounding_format("XYWHR")
        True
    """
    rotated = ("XYWHR", "CXCYWHR", "XYXYXYXY")
    if isinstance(format, str):  # names match exactly; any other is simply not rotated
        return format in rotated
    if not isinstance(format, BoundingBoxFormat):
        raise ValueError(f"format should be str or BoundingBoxFormat, got {type(format)}")
    return format.value in rotated


class BoundingBoxes(TVTensor):
    """Boxes ``(N, 4)`` (one box ``(4,)`` becomes ``(1, 4)``) in ``format`` on an image of
    ``canvas_size = (H, W)``.

    Example:
        >>> b = tv_tensors.BoundingBoxes([[1, 2, 8, 9]], format="XYXY", canvas_size=(10, 20))
        >>> b.format
        <BoundingBoxFormat.XYXY: 'XYXY'>
    """

    format: BoundingBoxFormat
    canvas_size: tuple[int, int]
    clamping_mode: str

    def __new__(cls, data, *, format, canvas_size, clamping_mode="soft", dtype=None,
                device=None, requires_grad=None):
        t = _as_tensor(data, dtype, device, requires_grad)
        if t.ndim == 1:  # one box, as torchvision: always (N, 4)
            t = t.unsqueeze(0)
        elif t.ndim != 2:
            raise ValueError(f"Expected a 1D or 2D tensor, got {t.ndim}D")
        if isinstance(format, str):
            format = BoundingBoxFormat[format.upper()]
        if clamping_mode not in ("soft", "hard", None):
            raise ValueError(f"clamping_mode must be soft, hard or None, got {clamping_mode}.")
        return cls._wrap(t, format=format, canvas_size=tuple(canvas_size),
                         clamping_mode=clamping_mode)

    def __init__(self, *args, **kwargs):
        pass

    def _meta(self) -> dict:
        return {"format": self.format, "canvas_size": self.canvas_size,
                "clamping_mode": self.clamping_mode}

    def _repr_meta(self):
        return [("format", self.format), ("canvas_size", self.canvas_size),
                ("clamping_mode", self.clamping_mode)]


class KeyPoints(TVTensor):
    """Points ``(..., 2)`` as ``(x, y)`` pixel coordinates on an image of
    ``canvas_size = (H, W)``: a 1-D ``[x, y]`` becomes ``(1, 2)``; a leading ``(N, K, 2)``
    layout holds ``K`` points for each of ``N`` objects (``SanitizeKeyPoints`` drops an object
    when any of its points left the canvas).

    The v2 geometric transforms move the points with the image (a flip maps ``x`` to
    ``W - 1 - x``); points that leave the canvas are kept until ``ClampKeyPoints`` or
    ``SanitizeKeyPoints``.

    Example:
        >>> kp = tv_tensors.KeyPoints([[1.0, 2.0], [3.0, 4.5]], canvas_size=(10, 20))
        >>> kp.canvas_size
        (10, 20)
    """

    canvas_size: tuple[int, int]

    def __new__(cls, data, *, canvas_size, dtype=None, device=None, requires_grad=None):
        t = _as_tensor(data, dtype, device, requires_grad)
        return cls._wrap(cls._checked(t), canvas_size=canvas_size)

    def __init__(self, *args, **kwargs):
        pass

    @staticmethod
    def _checked(tensor: Tensor) -> Tensor:
        # a 1-D input is one point (its length is not checked), anything else must end in 2;
        # the constructor and ``wrap`` check, while clone/to/detach keep the data as it is
        if tensor.ndim == 1:
            return tensor.unsqueeze(0)
        if tensor.ndim == 0:
            raise IndexError("tuple index out of range")
        if tensor.shape[-1] != 2:
            raise ValueError(f"Expected a tensor of shape (..., 2), not {tensor.shape}")
        return tensor

    @classmethod
    def _wrap(cls, tensor: Tensor, *, canvas_size, **ignored):
        # torchvision's wrap passes other metadata (a box ``format``) to this type silently
        return super()._wrap(tensor, canvas_size=canvas_size)

    def _meta(self) -> dict:
        return {"canvas_size": self.canvas_size}

    def _repr_meta(self):
        return [("canvas_size", self.canvas_size)]


def wrap(wrappee: Tensor, *, like: TVTensor, **kwargs):
    """``wrappee`` as a tv_tensor of ``like``'s type and metadata (``kwargs`` override it).

    Example:
        >>> shifted = tv_tensors.wrap(boxes + 1, like=boxes)
        >>> type(shifted).__name__
        'BoundingBoxes'
    """
    meta = {**like._meta(), **kwargs}
    if isinstance(like, KeyPoints):
        wrappee = KeyPoints._checked(wrappee)
    return type(like)._wrap(wrappee, **meta)


# --- what tensor operations on tv_tensors return ---------------------------------------------
# By default a tv_tensor takes no part in ``__torch_function__`` (ops give plain tensors, as in
# torchvision). ``set_return_type("TVTensor")`` switches the whole TVTensor family over to a
# live handler that re-wraps results like the first tv_tensor argument; it installs ember's
# dispatch layer only then, so programs that never ask pay nothing.
_return_type = ["Tensor"]


def _tv_torch_function(cls, func, types, args=(), kwargs=None):
    from ..._torch_function import _NOWRAP, DisableTorchFunctionSubclass

    if kwargs is None:
        kwargs = {}
    # mixing tv_tensor kinds (Image + Mask) has no answer, as with torch's default rule
    if not all(issubclass(cls, t) for t in types):
        return NotImplemented
    with DisableTorchFunctionSubclass():
        out = func(*args, **kwargs)
    if _return_type[0] != "TVTensor" or func in _NOWRAP:
        return out
    like = _first_tv_tensor(args, kwargs)
    return out if like is None else _rewrap_all(out, like)


def _first_tv_tensor(args, kwargs):
    for a in (*args, *kwargs.values()):
        if isinstance(a, TVTensor):
            return a
        if isinstance(a, (tuple, list)):
            for b in a:
                if isinstance(b, TVTensor):
                    return b
    return None


def _rewrap_all(out, like):
    if isinstance(out, Tensor):
        return out if isinstance(out, type(like)) else type(like)._wrap(out, **like._meta())
    if isinstance(out, (tuple, list)):
        items = [_rewrap_all(o, like) for o in out]
        return type(out)(*items) if hasattr(type(out), "_fields") else type(out)(items)
    return out


def _family():
    todo, seen = [TVTensor], []
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


def _switch(return_type: str) -> None:
    from ... import _torch_function as TF

    _return_type[0] = return_type
    live = return_type == "TVTensor"
    handler = classmethod(_tv_torch_function) if live else TF._disabled_torch_function_impl
    for cls in _family():
        own = cls.__dict__.get("__torch_function__")
        if cls is TVTensor or own is TF._disabled_torch_function_impl or \
                getattr(own, "__func__", None) is _tv_torch_function:
            if cls is TVTensor:
                cls.__torch_function__ = handler
            else:  # inherit TVTensor's, whichever it is now
                delattr(cls, "__torch_function__")
    TF._type_cache.clear()
    if live:
        TF.install()


class _ReturnType:
    """What ``set_return_type`` returns: the setting is already made; used as a context
    manager, it puts the previous one back on exit."""

    def __init__(self, previous: str) -> None:
        self._previous = previous

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _switch(self._previous)


def set_return_type(return_type: str):
    """Choose what tensor operations on tv_tensors return: ``"Tensor"`` (the default, a plain
    tensor) or ``"TVTensor"`` (the type and metadata of the first tv_tensor argument). Works
    globally, or for a ``with`` block.

    Example:
        >>> img = tv_tensors.Image(ember.ones(1, 2, 2))
        >>> with tv_tensors.set_return_type("TVTensor"):
        ...     type(img + 1).__name__
        'Image'
        >>> type(img + 1).__name__
        'Tensor'
    """
    names = {"tensor": "Tensor", "tvtensor": "TVTensor"}
    chosen = names.get(str(return_type).lower()) if isinstance(return_type, str) else None
    if chosen is None:
        raise ValueError(f"return_type must be 'TVTensor' or 'Tensor', got {return_type}")
    previous = _return_type[0]
    _switch(chosen)
    return _ReturnType(previous)
