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


def _sequence_to_str(seq) -> str:
    # torchvision's ``sequence_to_str``: "'a', 'b', 'c'"
    return ", ".join(f"'{item}'" for item in seq)


def check_type(obj, types_or_checks: tuple) -> bool:
    """Whether ``obj`` is an instance of one of ``types_or_checks`` (classes, or predicates
    taking ``obj``).

    Example:
        >>> v2.check_type(tv_tensors.Mask(ember.zeros(2, 2)), (tv_tensors.Image, tv_tensors.Mask))
        True
    """
    return _is_transformed_type(obj, types_or_checks)


def has_any(flat_inputs: list, *types_or_checks) -> bool:
    """Whether any leaf of ``flat_inputs`` matches any of ``types_or_checks``.

    Example:
        >>> v2.has_any([ember.zeros(3), "label"], tv_tensors.Image, str)
        True
    """
    return any(check_type(x, types_or_checks) for x in flat_inputs)


def has_all(flat_inputs: list, *types_or_checks) -> bool:
    """Whether every one of ``types_or_checks`` is matched by some leaf of ``flat_inputs``.

    Example:
        >>> v2.has_all([tv_tensors.Image(ember.zeros(1, 2, 2)), "label"], tv_tensors.Image, str)
        True
    """
    return all(any(check_type(x, (check,)) for x in flat_inputs) for check in types_or_checks)


def get_bounding_boxes(flat_inputs: list) -> tv_tensors.BoundingBoxes:
    """The first ``BoundingBoxes`` among ``flat_inputs`` (``ValueError`` if there is none).

    Example:
        >>> v2.get_bounding_boxes([img, boxes, labels]) is boxes
        True
    """
    for x in flat_inputs:
        if isinstance(x, tv_tensors.BoundingBoxes):
            return x
    raise ValueError("No bounding boxes were found in the sample")


def get_keypoints(flat_inputs: list) -> tv_tensors.KeyPoints:
    """The first ``KeyPoints`` among ``flat_inputs`` (``ValueError`` if there is none).

    Example:
        >>> v2.get_keypoints([img, points]) is points
        True
    """
    for x in flat_inputs:
        if isinstance(x, tv_tensors.KeyPoints):
            return x
    raise ValueError("No keypoints were found in the sample")


def query_chw(flat_inputs: list) -> tuple[int, int, int]:
    """``(C, H, W)`` shared by the images and videos (plain tensors, ``Image``, ``Video``, PIL
    images) among ``flat_inputs``; raises if they disagree or there is none.

    Example:
        >>> v2.query_chw([tv_tensors.Image(ember.zeros(3, 4, 5)), "label"])
        (3, 4, 5)
    """
    from .functional import get_dimensions

    chws = {tuple(get_dimensions(x)) for x in flat_inputs
            if isinstance(x, (tv_tensors.Image, tv_tensors.Video))
            or _is_pure_tensor(x) or _is_pil_image(x)}
    if not chws:
        raise TypeError("No image or video was found in the sample")
    if len(chws) > 1:
        raise ValueError(f"Found multiple CxHxW dimensions in the sample: "
                         f"{_sequence_to_str(sorted(chws))}")
    c, h, w = chws.pop()
    return c, h, w


def query_size(flat_inputs: list) -> tuple[int, int]:
    """``(H, W)`` shared by the image-like leaves of ``flat_inputs`` (images, videos, masks,
    box and key-point canvases); raises if they disagree or there is none.

    Example:
        >>> v2.query_size([tv_tensors.Mask(ember.zeros(4, 5)), "label"])
        (4, 5)
    """
    from .functional import get_size

    sizes = {tuple(get_size(x)) for x in flat_inputs
             if isinstance(x, (tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask,
                               tv_tensors.BoundingBoxes, tv_tensors.KeyPoints))
             or _is_pure_tensor(x) or _is_pil_image(x)}
    if not sizes:
        # torchvision's wording, typo included
        raise TypeError("No image, video, mask, bounding box of keypoint was found in the "
                        "sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: "
                         f"{_sequence_to_str(sorted(sizes))}")
    h, w = sizes.pop()
    return h, w


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
