"""The v2 ``Transform`` base: one call sees a whole (nested) sample and transforms every part.

A sample may be one object or tuples, lists and dicts of them. Its leaves are flattened; the
ones a transform acts on are PIL images, tv_tensors and plain tensors, where a plain tensor is
taken for the image only when it is the first one and no ``Image``, ``Video`` or PIL image is
present (torchvision's rule; other plain tensors, such as labels, pass through). Parameters are
drawn once per call (``make_params``) and applied to each leaf (``transform``), so boxes and
masks follow the image.
"""

from __future__ import annotations

from ...._tensor import Tensor
from ....nn.modules.module import Module
from ... import tv_tensors
from .._functional_base import _is_pil_image


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


def _is_pure_tensor(x) -> bool:
    return isinstance(x, Tensor) and not isinstance(x, tv_tensors.TVTensor)


def _needs_transform(flat: list) -> list[bool]:
    """Which leaves a transform acts on (plain tensors: only the image-like first one)."""
    has_image = any(isinstance(x, (tv_tensors.Image, tv_tensors.Video)) or _is_pil_image(x)
                    for x in flat)
    seen_pure = False
    needs = []
    for x in flat:
        if _is_pure_tensor(x):
            needs.append(not has_image and not seen_pure)
            seen_pure = True
        else:
            needs.append(isinstance(x, tv_tensors.TVTensor) or _is_pil_image(x))
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

    def __init__(self) -> None:
        super().__init__()

    def make_params(self, flat_inputs: list) -> dict:
        """The random parameters of one call, drawn once for all ``flat_inputs`` (the leaves
        this transform acts on)."""
        return {}

    def transform(self, inpt, params: dict):
        """``inpt`` (one leaf of the sample) transformed with ``params``; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define transform()")

    def _needs(self, flat: list) -> list[bool]:
        return _needs_transform(flat)

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        flat = _flatten(sample, [])
        needs = self._needs(flat)
        params = self.make_params([x for x, n in zip(flat, needs) if n])
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
