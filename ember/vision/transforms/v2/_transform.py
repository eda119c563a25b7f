"""The v2 ``Transform`` base: one call sees a whole (nested) sample and transforms every part.

A sample may be one object or tuples, lists and dicts of them. Its leaves are flattened; the
ones a transform acts on are PIL images, tv_tensors and plain tensors, where a plain tensor is
taken for the image only when it is the first one and no ``Image``, ``Video`` or PIL image is
present (torchvision's rule; other plain tensors, such as labels, pass through). A subclass
narrows or widens that set with ``_transformed_types`` (classes or predicates). Every leaf is
shown to ``check_inputs`` first; parameters are then drawn once per call (``make_params``) and
applied to each leaf (``transform``), so boxes and masks follow the image. Inside the built-in
transforms, a tv_tensor that the functional in use has no kernel for is passed through as it
came (see ``_registry``).
"""

from __future__ import annotations

from ...._tensor import Tensor
from ....nn.modules.module import Module
from ... import tv_tensors
from .._functional_base import _is_pil_image
from ._registry import passthrough_unknown


def _flatten(sample, out: list):
    if isinstance(sample, (tuple, list)) and not isinstance(sample, Tensor):
        for item in sample:
            _flatten(item, out)
    elif isinstance(sample, dict):
        for item in sample.values():
            _flatten(item, out)
    else:
        out.append(sample)
    return out


def _unflatten(sample, leaves):
    if isinstance(sample, (tuple, list)) and not isinstance(sample, Tensor):
        items = [_unflatten(item, leaves) for item in sample]
        return type(sample)(items) if type(sample) in (tuple, list) else type(sample)(*items)
    if isinstance(sample, dict):
        return type(sample)((k, _unflatten(v, leaves)) for k, v in sample.items())
    return next(leaves)


def _is_builtin(cls: type) -> bool:
    return cls.__module__.startswith("ember.vision.transforms.")


def _is_pure_tensor(x) -> bool:
    return isinstance(x, Tensor) and not isinstance(x, tv_tensors.TVTensor)


def _default_transformed_types() -> tuple:
    try:
        from PIL import Image as _PIL
    except ImportError:  # Pillow is optional
        return (Tensor,)
    return (Tensor, _PIL.Image)


def _is_transformed_type(x, types: tuple) -> bool:
    # entries are classes, or predicates taking the leaf (torchvision allows both)
    return any(isinstance(x, t) if isinstance(t, type) else bool(t(x)) for t in types)


def _needs_transform(flat: list, types: tuple | None = None) -> list[bool]:
    """Which leaves a transform acts on: instances of ``types`` (the transform's
    ``_transformed_types``; tensors and PIL images by default), where a plain tensor counts
    only when it is the first one and no ``Image``, ``Video`` or PIL image is present."""
    if types is None:
        types = _default_transformed_types()
    has_image = any(isinstance(x, (tv_tensors.Image, tv_tensors.Video)) or _is_pil_image(x)
                    for x in flat)
    seen_pure = False
    needs = []
    for x in flat:
        if not _is_transformed_type(x, types):
            needs.append(False)
            if _is_pure_tensor(x):
                seen_pure = True
        elif _is_pure_tensor(x):
            needs.append(not has_image and not seen_pure)
            seen_pure = True
        else:
            needs.append(isinstance(x, tv_tensors.TVTensor) or _is_pil_image(x)
                         or not isinstance(x, Tensor))
    return needs


def query_size(flat: list) -> tuple[int, int]:
    """``(H, W)`` shared by the image-like leaves (raises if they disagree or none has one)."""
    from .functional import get_size

    sizes = {tuple(get_size(x)) for x in flat
             if isinstance(x, (tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask,
                               tv_tensors.BoundingBoxes, tv_tensors.KeyPoints))
             or _is_pure_tensor(x) or _is_pil_image(x)}
    if not sizes:
        raise TypeError("No image, video, mask or bounding box was found in the sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: "
                         f"{sorted(sizes)}")
    return sizes.pop()


class Transform(Module):
    """Base of the v2 transforms: subclass it and define ``transform(inpt, params)`` (and
    ``make_params(flat_inputs)`` for random parameters drawn once per call).

    Example:
        >>> class AddOne(v2.Transform):
        ...     def transform(self, inpt, params):
        ...         return inpt + 1
    """

    # the leaf types this transform looks at (classes, or predicates taking a leaf; a subclass
    # may narrow them); other leaves pass through untouched
    _transformed_types: tuple = _default_transformed_types()

    def __init__(self) -> None:
        super().__init__()

    def check_inputs(self, flat_inputs: list) -> None:
        """Called with every leaf of the sample before ``make_params``: raise here to refuse
        a sample (the base accepts all)."""

    def make_params(self, flat_inputs: list) -> dict:
        """The random parameters of one call, drawn once for all ``flat_inputs`` (the leaves
        this transform acts on)."""
        return {}

    def transform(self, inpt, params: dict):
        """``inpt`` (one leaf of the sample) transformed with ``params``; subclasses define it."""
        raise NotImplementedError()  # torchvision's base raises it without a message

    def _needs(self, flat: list) -> list[bool]:
        return _needs_transform(flat, self._transformed_types)

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        flat = _flatten(sample, [])
        self.check_inputs(flat)
        needs = self._needs(flat)
        params = self.make_params([x for x, n in zip(flat, needs) if n])
        # built-in transforms hand a tv_tensor with no kernel back as it came; a user's
        # transform calling a functional on it gets the functional's TypeError
        with passthrough_unknown(_is_builtin(type(self))):
            out = [self.transform(x, params) if n else x for x, n in zip(flat, needs)]
        return _unflatten(sample, iter(out))

    def extra_repr(self) -> str:
        return ""


class _RandomApplyTransform(Transform):
    """A transform applied with probability ``p``: one ``rand(1)`` per call decides."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        super().__init__()
        self.p = p

    def forward(self, *inputs):
        from .... import rand

        sample = inputs if len(inputs) > 1 else inputs[0]
        if float(rand(1).item()) >= self.p:
            return sample
        return super().forward(*inputs)
