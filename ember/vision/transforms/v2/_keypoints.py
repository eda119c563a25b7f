"""Key-point kernels of ``transforms.v2.functional`` (``horizontal_flip_keypoints`` and the
rest, as torchvision 0.28 names them).

A kernel takes plain ``(..., 2)`` tensors of ``(x, y)`` and the canvas ``(H, W)`` they live
on; those that change the canvas return ``(points, new_canvas_size)``. Points are pixel
positions, so a flip maps ``x`` to ``W - 1 - x``; geometric kernels move the points the way the
image kernel moves its pixels and never clamp (points may leave the canvas). Integer points
are moved in float32 and truncated back, as torchvision does. ``ClampKeyPoints`` and
``SanitizeKeyPoints`` (the v2 transforms) live here too.

Example:
    >>> from ember.vision.transforms.v2 import functional as F
    >>> F.horizontal_flip_keypoints(ember.tensor([[1.0, 2.0]]), (10, 20))
    tensor([[18.,  2.]])
"""

from __future__ import annotations

from .... import _dtype as D
from ...._tensor import Tensor
from ._transform import Transform

__all__ = ["horizontal_flip_keypoints", "vertical_flip_keypoints", "resize_keypoints",
           "crop_keypoints", "center_crop_keypoints", "resized_crop_keypoints", "pad_keypoints",
           "rotate_keypoints", "affine_keypoints", "perspective_keypoints", "clamp_keypoints",
           "sanitize_keypoints", "get_size_keypoints"]


def _move(points: Tensor, fn, dtype=None) -> Tensor:
    """``fn(x, y) -> (x', y')`` applied to every point, in float32 for integer points (in
    ``dtype`` when given)."""
    from .... import stack

    work = points.dtype if points.is_floating_point() else D.float32
    data = points.to(dtype if dtype is not None else work)
    x, y = data[..., 0], data[..., 1]
    nx, ny = fn(x, y)
    # integer points pass through float32 on the way back (probed: a perspective result of
    # 0.99999997 rounds to 1.0 in float32 and stays 1, not 0)
    return stack([nx, ny], -1).to(work).to(points.dtype)


def horizontal_flip_keypoints(keypoints: Tensor, canvas_size) -> Tensor:
    """Points mirrored left-right on a canvas ``(H, W)``: ``x -> W - 1 - x``.

    Example:
        >>> horizontal_flip_keypoints(ember.tensor([[1.0, 2.0]]), (10, 20))
        tensor([[18.,  2.]])
    """
    right = canvas_size[1] - 1
    return _move(keypoints, lambda x, y: (-x + right, y))


def vertical_flip_keypoints(keypoints: Tensor, canvas_size) -> Tensor:
    """Points mirrored top-bottom on a canvas ``(H, W)``: ``y -> H - 1 - y``.

    Example:
        >>> vertical_flip_keypoints(ember.tensor([[1.0, 2.0]]), (10, 20))
        tensor([[1., 7.]])
    """
    bottom = canvas_size[0] - 1
    return _move(keypoints, lambda x, y: (x, -y + bottom))


def resize_keypoints(keypoints: Tensor, size, canvas_size, max_size=None):
    """Points scaled onto the resized canvas (``size`` as ``F.resize`` takes it); returns
    ``(points, new_canvas_size)``.

    Example:
        >>> resize_keypoints(ember.tensor([[1.0, 2.0]]), [5, 7], (10, 20))[1]
        (5, 7)
    """
    from .. import functional as _F1

    h, w = canvas_size
    nh, nw = _F1._output_size(h, w, size, max_size)
    sx, sy = nw / w, nh / h
    return _move(keypoints, lambda x, y: (x * sx, y * sy)), (nh, nw)


def crop_keypoints(keypoints: Tensor, top: int, left: int, height: int, width: int):
    """Points in the ``height x width`` window at ``(top, left)`` (not clamped); returns
    ``(points, (height, width))``.

    Example:
        >>> crop_keypoints(ember.tensor([[1.0, 2.0]]), 1, 2, 6, 7)[0]
        tensor([[-1.,  1.]])
    """
    return _move(keypoints, lambda x, y: (x - left, y - top)), (height, width)


def center_crop_keypoints(inpt: Tensor, canvas_size, output_size):
    """Points in the central ``output_size`` window; returns ``(points, new_canvas_size)``.

    Example:
        >>> center_crop_keypoints(ember.tensor([[1.0, 2.0]]), (10, 20), [6, 7])[0]
        tensor([[-5.,  0.]])
    """
    from .functional import _center_crop_params

    top, left, ch, cw = _center_crop_params(*canvas_size, output_size)
    return crop_keypoints(inpt, top, left, ch, cw)


def resized_crop_keypoints(keypoints: Tensor, top: int, left: int, height: int, width: int,
                           size):
    """``crop_keypoints`` then ``resize_keypoints`` to ``size``; returns
    ``(points, new_canvas_size)``.

    Example:
        >>> resized_crop_keypoints(ember.tensor([[1.0, 2.0]]), 1, 2, 6, 7, [12, 14])[0]
        tensor([[-2.,  2.]])
    """
    points, canvas = crop_keypoints(keypoints, top, left, height, width)
    return resize_keypoints(points, size, canvas)


def pad_keypoints(keypoints: Tensor, canvas_size, padding, padding_mode: str = "constant"):
    """Points moved onto the padded canvas (``padding`` as ``F.pad`` takes it; only
    ``"constant"`` padding, since reflected content has no single place for a point); returns
    ``(points, new_canvas_size)``.

    Example:
        >>> pad_keypoints(ember.tensor([[1.0, 2.0]]), (10, 20), [1, 2, 3, 4])
        (tensor([[2., 4.]]), (16, 24))
    """
    from .. import functional as _F1

    if padding_mode != "constant":
        raise ValueError(f"Padding mode '{padding_mode}' is not supported with KeyPoints "
                         "(supported modes are constant)")
    left, top, right, bottom = _F1._parse_padding(padding)
    h, w = canvas_size
    return (_move(keypoints, lambda x, y: (x + left, y + top)),
            (h + top + bottom, w + left + right))


def _forward_affine(canvas_size, angle, translate, scale, shear, center):
    """The map ``(x, y) -> (a x + b y + c, d x + e y + f)`` that moves content the way the image
    kernel does (the inverse of the matrix the image kernel samples with)."""
    from .. import _tensor_ops as TO

    h, w = canvas_size
    c = [w * 0.5, h * 0.5] if center is None else [float(center[0]), float(center[1])]
    a, b, tx, d, e, ty = TO.inverse_affine_matrix(c, float(angle), [float(t) for t in translate],
                                                  float(scale), [float(s) for s in shear])
    det = a * e - b * d
    fa, fb, fd, fe = e / det, -b / det, -d / det, a / det
    return fa, fb, -(fa * tx + fb * ty), fd, fe, -(fd * tx + fe * ty)


def affine_keypoints(keypoints: Tensor, canvas_size, angle, translate, scale, shear,
                     center=None):
    """Points moved by the affine map ``F.affine`` applies to the image (rotation by ``angle``
    degrees, ``scale`` and ``shear`` about ``center``, default the canvas middle, then
    ``translate``); the canvas is kept. Returns ``(points, canvas_size)``.

    Example:
        >>> affine_keypoints(ember.tensor([[1.0, 2.0]]), (10, 20), 0.0, [1, 2], 1.0,
        ...                  [0.0, 0.0])[0]
        tensor([[2., 4.]])
    """
    shear = [float(shear), 0.0] if isinstance(shear, (int, float)) else list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    a, b, c, d, e, f = _forward_affine(canvas_size, angle, translate, scale, shear, center)
    return _move(keypoints, lambda x, y: (x * a + y * b + c, x * d + y * e + f)), \
        tuple(canvas_size)


def rotate_keypoints(keypoints: Tensor, canvas_size, angle: float, expand: bool = False,
                     center=None):
    """Points turned counter-clockwise by ``angle`` degrees about ``center`` (default the canvas
    middle) as ``F.rotate`` turns the image; with ``expand`` they move onto the grown canvas.
    Returns ``(points, new_canvas_size)``.

    Example:
        >>> rotate_keypoints(ember.tensor([[10.0, 2.0]]), (10, 20), 180.0)[0]
        tensor([[10.,  8.]])
    """
    from .. import _tensor_ops as TO

    h, w = canvas_size
    # a counter-clockwise turn is the affine map of angle ``-angle``; torchvision applies it as
    # one matrix in the points' dtype (probed: the centre itself may move by a float32 ulp)
    a, b, c, d, e, f = _forward_affine(canvas_size, -float(angle), [0.0, 0.0], 1.0, [0.0, 0.0],
                                       center)
    if not expand:
        return _move(keypoints, lambda x, y: (x * a + y * b + c, x * d + y * e + f)), (h, w)
    # the grown canvas is sized as the expanded boxes' is (about ``center`` in pixels); the
    # points shift so the turned canvas's corners start at 0, the corners turned in the
    # points' dtype alongside them (probed: this rounds as torchvision does)
    cx, cy = (w * 0.5, h * 0.5) if center is None else (float(center[0]), float(center[1]))
    matrix = TO.inverse_affine_matrix([cx, cy], -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    ow, oh = TO.affine_output_size(matrix, w, h)

    def turn(x, y):
        from .... import tensor

        corners = tensor([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]], dtype=x.dtype)
        kx, ky = corners[:, 0], corners[:, 1]
        nx, ny = x * a + y * b + c, x * d + y * e + f
        return nx - (kx * a + ky * b + c).min(), ny - (kx * d + ky * e + f).min()
    return _move(keypoints, turn), (oh, ow)


def perspective_keypoints(keypoints: Tensor, canvas_size, startpoints, endpoints,
                          coefficients=None) -> Tensor:
    """Points carried by the homography that takes ``startpoints`` to ``endpoints`` (the warp
    ``F.perspective`` applies to the image); ``coefficients`` give the image's (output to
    input) homography directly.

    Example:
        >>> corners = [[0, 0], [19, 0], [19, 9], [0, 9]]
        >>> perspective_keypoints(ember.tensor([[1.0, 2.0]]), (10, 20), corners, corners)
        tensor([[1., 2.]])
    """
    import numpy as np

    from .._functional_affine import _perspective_coeffs

    if coefficients is not None:
        if startpoints is not None and endpoints is not None:
            raise ValueError("The startpoints/endpoints and the coefficients shouldn't be "
                             "defined concurrently.")
        if len(coefficients) != 8:
            raise ValueError("Argument coefficients should have 8 float values")
    elif startpoints is not None and endpoints is not None:
        coefficients = _perspective_coeffs(startpoints, endpoints)
    else:
        raise ValueError("Either the startpoints/endpoints or the coefficients must have non "
                         "`None` values.")
    # the image's homography maps output to input pixels (float32 coefficients); points go
    # the other way, through its inverse taken in float64 (probed: torchvision's answers agree
    # to the last bit or so, not with a homography solved forwards)
    inv = np.linalg.inv(np.array([float(v) for v in coefficients] + [1.0]).reshape(3, 3))
    (a, b, c), (d, e, f), (g, h_, k) = inv.tolist()

    def warp(x, y):
        den = x * g + y * h_ + k
        return (x * a + y * b + c) / den, (x * d + y * e + f) / den
    return _move(keypoints, warp, D.float64)


def get_size_keypoints(keypoints) -> list[int]:
    """``[H, W]`` of the canvas a ``KeyPoints`` lives on.

    Example:
        >>> get_size_keypoints(tv_tensors.KeyPoints([[1, 2]], canvas_size=(10, 20)))
        [10, 20]
    """
    return list(keypoints.canvas_size)


def clamp_keypoints(inpt: Tensor, canvas_size=None) -> Tensor:
    """Points clamped into the canvas: ``x`` into ``[0, W - 1]``, ``y`` into ``[0, H - 1]``.
    ``KeyPoints`` carry their canvas; a plain tensor needs ``canvas_size``.

    Example:
        >>> clamp_keypoints(tv_tensors.KeyPoints([[-1.0, 9.9]], canvas_size=(10, 20)))
        KeyPoints([[0., 9.]], canvas_size=(10, 20))
    """
    from ... import tv_tensors

    if isinstance(inpt, tv_tensors.KeyPoints):
        if canvas_size is not None:
            raise ValueError("For keypoints tv_tensor inputs, `canvas_size` must not be "
                             "passed.")
        out = _clamp(inpt.as_subclass(Tensor), inpt.canvas_size)
        return tv_tensors.wrap(out, like=inpt)
    if canvas_size is None:
        raise ValueError("For pure tensor inputs, `canvas_size` has to be passed.")
    return _clamp(inpt, canvas_size)


def _clamp(points: Tensor, canvas_size) -> Tensor:
    h, w = canvas_size
    return _move(points, lambda x, y: (x.clamp(0, w - 1), y.clamp(0, h - 1)))


def sanitize_keypoints(key_points: Tensor, canvas_size=None):
    """The points inside the canvas (``0 <= x < W`` and ``0 <= y < H``) and the mask that
    keeps them: for ``(N, 2)`` one flag per point, for ``(N, K, 2)`` one per group of ``K``
    (a group with any point outside is dropped). Returns ``(points, valid)``.

    Example:
        >>> kp = tv_tensors.KeyPoints([[1.0, 2.0], [20.0, 2.0]], canvas_size=(10, 20))
        >>> sanitize_keypoints(kp)[1]
        tensor([ True, False])
    """
    from ... import tv_tensors

    if isinstance(key_points, tv_tensors.KeyPoints):
        if canvas_size is not None:
            raise ValueError("canvas_size must be None when key_points is a "
                             "tv_tensors.KeyPoints instance. Got canvas_size="
                             f"{canvas_size}. Leave it to None or pass key_points as a pure "
                             "tensor.")
        canvas_size = key_points.canvas_size
    elif canvas_size is None:
        raise ValueError("canvas_size cannot be None if key_points is a pure tensor. Set it "
                         "to an appropriate value or pass key_points as a tv_tensors.KeyPoints "
                         "object.")
    h, w = canvas_size
    data = key_points.as_subclass(Tensor)
    x, y = data[..., 0], data[..., 1]
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    valid = inside.flatten(1).all(-1) if inside.ndim > 1 else inside
    kept = data[valid]
    if isinstance(key_points, tv_tensors.KeyPoints):
        kept = tv_tensors.wrap(kept, like=key_points)
    return kept, valid


# --- transforms --------------------------------------------------------------------------------

class ClampKeyPoints(Transform):
    """Clamp every ``KeyPoints`` of the sample into its canvas (``F.clamp_keypoints``); other
    leaves pass through.

    Example:
        >>> from ember.vision.transforms import v2
        >>> v2.ClampKeyPoints()(tv_tensors.KeyPoints([[-1.0, 9.9]], canvas_size=(10, 20)))
        KeyPoints([[0., 9.]], canvas_size=(10, 20))
    """

    def _needs(self, flat):
        from ... import tv_tensors

        return [isinstance(x, tv_tensors.KeyPoints) for x in flat]

    def transform(self, inpt, params):
        return clamp_keypoints(inpt)


class SanitizeKeyPoints(Transform):
    """Drop the key points (or point groups) that left the canvas. The first ``KeyPoints`` of
    the sample decides which entries stay; every ``KeyPoints`` and the labels found by
    ``labels_getter`` (``None`` by default; ``"default"`` looks for a ``"labels"`` key, as
    ``SanitizeBoundingBoxes`` does; or a callable) keep the same entries. Masks and boxes are
    left alone.

    Example:
        >>> kp = tv_tensors.KeyPoints([[1.0, 2.0], [30.0, 2.0]], canvas_size=(10, 20))
        >>> v2.SanitizeKeyPoints("default")({"kp": kp, "labels": ember.tensor([1, 2])})["labels"]
        tensor([1])
    """

    def __init__(self, labels_getter=None) -> None:
        super().__init__()
        from ._transforms import _resolve_labels_getter

        self.labels_getter, self._default_getter = _resolve_labels_getter(labels_getter)

    def forward(self, *inputs):
        from ... import tv_tensors
        from ._transform import _flatten, _unflatten
        from ._transforms import _label_ids

        sample = inputs if len(inputs) > 1 else inputs[0]
        labels = None if self.labels_getter is None else self.labels_getter(sample)
        flat = _flatten(sample, [])
        points = [x for x in flat if isinstance(x, tv_tensors.KeyPoints)]
        if not points:
            raise ValueError("No keypoints were found in the sample")
        _, valid = sanitize_keypoints(points[0])
        label_ids = _label_ids(labels)
        out = []
        for x in flat:
            if isinstance(x, tv_tensors.KeyPoints):
                x = tv_tensors.wrap(x.as_subclass(Tensor)[valid], like=x)
            elif id(x) in label_ids:
                x = x[valid]
            out.append(x)
        return _unflatten(sample, iter(out))

    def extra_repr(self) -> str:
        return "labels_getter=default" if self._default_getter else ""
