"""Sampling grids of ``ember.nn.functional``: ``affine_grid`` (the flow field of a batch of
affine matrices) and ``grid_sample`` (read an image at those points), the two halves of the
Spatial Transformer tutorial.

Both are composites of differentiable ember ops (``matmul``, ``floor``, ``where``, ``gather``,
arithmetic), so autograd gives the gradients to ``theta``, ``input`` and ``grid`` and they work
with ``create_graph=True``. The arithmetic follows PyTorch's CPU kernels: the same
unnormalisation, the same reflection and clipping, and PyTorch's rule that a coordinate clipped
to a border (or lying exactly on it) passes no gradient to the grid.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _autocast
from .. import _dtype as D
from .._autocast import hot as _amp
from .._factory_args import _type_title
from .._ops._core import BackwardTie, set_node_name
from .._tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]

_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")
_DEFAULT_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details.")


def _ember():
    import ember

    return ember


# -- affine_grid ------------------------------------------------------------------------------

def _linspace_from_neg_one(theta: Tensor, steps: int, align_corners: bool) -> Tensor:
    """PyTorch's pixel centres in [-1, 1]: ``steps`` points, pulled in by half a pixel at each
    end unless ``align_corners``; one point (or none) is the single centre 0."""
    em = _ember()
    if steps <= 1:
        return em.zeros((), dtype=theta.dtype, device=theta.device)
    r = em.linspace(-1, 1, steps, dtype=theta.dtype, device=theta.device)
    if not align_corners:
        r = r * (steps - 1) / steps
    return r


def affine_grid(theta: Tensor, size: list[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid of a batch of affine maps: ``theta`` (N, 2, 3) with ``size``
    (N, C, H, W) gives (N, H, W, 2); ``theta`` (N, 3, 4) with (N, C, D, H, W) gives
    (N, D, H, W, 3). Each point is ``theta @ [x, y, (z,) 1]`` for the output pixel's centre
    (x, y, z) in [-1, 1]; pass the same ``align_corners`` to :func:`grid_sample`
    (``None`` warns and means False, as in PyTorch).

    Example:
        >>> theta = ember.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
        >>> F.affine_grid(theta, [1, 1, 2, 2], align_corners=False)[0, 0]
        tensor([[-0.5000, -0.5000],
                [ 0.5000, -0.5000]])
    """
    em = _ember()
    if align_corners is None:
        warnings.warn(_DEFAULT_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid(): argument 'theta' must be Tensor, not "
                        f"{type(theta).__name__}")
    if theta._dtype.category != D._FLOAT:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    # torch's messages show ``size`` as it was given: (1, 1, 2, 2), [1, 1, 2, 2] or a Size
    shown = repr(size) if isinstance(size, (tuple, list)) else _size_str(size)
    size = list(size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{shown}. Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{shown}. Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {shown}.")
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the "
            "documentation of affine_grid for details.", UserWarning, stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {shown}")
    n, k = int(size[0]), len(spatial) + 1
    if theta.shape[0] != n:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{n}, {k}] but got: [{theta.shape[0]}, {k}].")
    # the base grid (*spatial, k): x varies along the last axis, then y, then z; then a 1
    axes = [_linspace_from_neg_one(theta, int(s), align_corners) for s in reversed(spatial)]
    shape = tuple(int(s) for s in spatial)
    cols = []
    for i, r in enumerate(axes):  # x, y, z
        view = [1] * len(shape)
        if r.ndim:
            view[len(shape) - 1 - i] = r.shape[0]
        cols.append(r.reshape(view).expand(shape))
    cols.append(em.ones(shape, dtype=theta.dtype, device=theta.device))
    base = em.stack(cols, dim=-1).reshape(1, math.prod(shape), k)
    grid = em.matmul(base, theta.transpose(1, 2))
    return set_node_name(grid.reshape(n, *shape, k - 1), "AffineGridGeneratorBackward0")


def _size_str(size) -> str:
    return "[" + ", ".join(str(int(s)) for s in size) + "]"


# -- grid_sample: checks ----------------------------------------------------------------------

def _sizes(t: Tensor) -> str:
    return _size_str(t.shape)


def _check(input: Tensor, grid: Tensor, mode: str) -> None:
    """PyTorch's grid_sampler checks, in its order, with its messages."""
    if input.device != grid.device:
        raise RuntimeError(
            "grid_sampler(): expected input and grid to be on same device, but input is on "
            f"{input.device} and grid is on {grid.device}")
    if input.ndim == 0 or grid.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid and input to have same batch size, but got input "
            f"with sizes {_sizes(input)} and grid with sizes {_sizes(grid)}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, "
            f"but got grid with sizes {_sizes(grid)}")
    for i in range(2, input.ndim):
        if input.shape[i] <= 0:
            raise RuntimeError(
                "grid_sampler(): expected input to have non-empty spatial dimensions, but "
                f"input has sizes {_sizes(input)} with dimension {i} being empty")
    rank = 4 if input.ndim == 4 else 5
    if not (input.ndim == rank and grid.ndim == rank):
        raise RuntimeError(
            f"grid_sampler(): expected {rank}D input and grid with same number of dimensions, "
            f"but got input with sizes {_sizes(input)} and grid with sizes {_sizes(grid)}")
    if rank == 5 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input._dtype.category != D._FLOAT:
        kernel = "grid_sampler_2d_cpu_kernel_impl" if rank == 4 else "grid_sampler3d_cpu"
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{_type_title(input._dtype)}'")
    if grid._dtype != input._dtype:
        raise RuntimeError(f"expected scalar type {_type_title(input._dtype)} but found "
                           f"{_type_title(grid._dtype)}")


# -- grid_sample: coordinates -----------------------------------------------------------------

def _unnormalize(coord: Tensor, size: int, align_corners: bool, vectorised: bool) -> Tensor:
    """[-1, 1] to pixel units, as PyTorch's 2-D (vectorised) or 3-D (scalar) CPU kernel."""
    if vectorised:
        if align_corners:
            return (coord + 1) * ((size - 1) / 2)
        a = coord + 1
        plain = a * (size / 2) - 0.5
        # PyTorch's compiled kernel fuses this multiply-subtract (one rounding). The identity
        # transform puts points within an ulp of pixel centres, where the rounding decides the
        # side a bilinear gradient is taken from; so take the fused value, keep plain's grad.
        delta = _fused_multiply_sub_half(a.detach(), size / 2) - plain.detach()
        return plain + _ember().where(delta.isfinite(), delta, 0.0)  # inf, NaN: plain
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _fused_multiply_sub_half(a: Tensor, s: float) -> Tensor:
    """``a * s - 0.5`` rounded once (a fused multiply-add) for a small half-integer ``s``."""
    if a._dtype != D.float64:  # float32 (or narrower): exact in float64, then one rounding
        return (a.to(D.float64) * s - 0.5).to(a.dtype)
    p = a * s  # Dekker: a * s == p + e exactly (s has few bits, so only a is split)
    c = a * 134217729.0
    hi = c - (c - a)
    e = (hi * s - p) + (a - hi) * s
    q = p - 0.5  # Knuth's two-sum: p - 0.5 == q + f exactly
    bv = q - p
    f = (p - (q - bv)) + (-0.5 - bv)
    return q + (f + e)  # NaN where a is not finite or huge; the caller keeps plain there


def _clip(coord: Tensor, size: int) -> Tensor:
    """``coord`` clipped to [0, size - 1]; NaN becomes 0. Points on or beyond a border pass no
    gradient (PyTorch counts the borders as outside)."""
    em = _ember()
    high = float(size - 1)
    inside = (coord > 0) & (coord < high)
    edge = em.where(coord > 0, high, 0.0).to(coord.dtype)
    return em.where(inside, coord, edge)


def _reflect(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """``coord`` reflected at the borders (pixel centres 0 and size-1 with ``align_corners``,
    else the image edges -0.5 and size-0.5) until it lies between them; gradient +-1."""
    em = _ember()
    if align_corners:
        if size <= 1:
            return coord * 0
        low, twice_span = 0.0, 2.0 * (size - 1)
    else:
        low, twice_span = -0.5, 2.0 * size
    t = coord - low if low else coord
    a = em.where(t < 0, -t, t)
    flips = (a.detach() / twice_span).trunc()
    extra = a - flips * twice_span
    back = twice_span - extra
    out = em.where(extra > back, back, extra)
    return out + low if low else out


def _pad(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":
        return _clip(_reflect(coord, size, align_corners), size)
    return coord


def _index(pos: Tensor, size: int):
    """The whole-number float positions ``pos`` as int64 indices (0 where outside the image)
    and the mask of those inside."""
    em = _ember()
    inside = (pos > -1) & (pos < size)
    return em.where(inside, pos, 0.0).to(D.int64), inside


class _Reader:
    """Reads ``input`` (N, C, *spatial) at integer points given per axis as (N, P) tensors."""

    def __init__(self, input: Tensor):
        self.n, self.c = input.shape[0], input.shape[1]
        self.spatial = tuple(input.shape[2:])
        self.flat = input.reshape(self.n, self.c, math.prod(self.spatial))

    def __call__(self, idx: list[Tensor], masks: list[Tensor]) -> Tensor:
        """Values (N, C, P) at the points ``idx`` (x, y[, z] order); 0 where a mask is False."""
        em = _ember()
        lin, stride = None, 1
        for i, size in zip(idx, reversed(self.spatial)):
            lin = i if lin is None else lin + i * stride
            stride *= size
        mask = masks[0]
        for m in masks[1:]:
            mask = mask & m
        p = lin.shape[-1]
        vals = em.gather(self.flat, 2, lin.unsqueeze(1).expand(self.n, self.c, p))
        return em.where(mask.unsqueeze(1), vals, 0.0)


def _cubic_weights(t: Tensor) -> list[Tensor]:
    """Keys' cubic convolution weights (A = -0.75) of the 4 taps around a fraction ``t``."""
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


# -- grid_sample ------------------------------------------------------------------------------

def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Read ``input`` at the points of ``grid``: input (N, C, H, W) with grid
    (N, H_out, W_out, 2) gives (N, C, H_out, W_out); 5-D input (N, C, D, H, W) with grid
    (N, D_out, H_out, W_out, 3) gives (N, C, D_out, H_out, W_out). ``grid[..., 0]`` is x
    (width) and ``grid[..., 1]`` is y, normalised so -1 and 1 are the image's edges (the
    corner pixels' centres with ``align_corners=True``; ``None`` warns and means False).

    ``mode`` is ``"bilinear"``, ``"nearest"`` or ``"bicubic"`` (4-D input only, Keys' cubic
    with A = -0.75); points outside read zeros, the nearest border value (``"border"``) or the
    value mirrored at the borders (``"reflection"``). Gradients flow to ``input`` and ``grid``
    (none to the grid with ``"nearest"``).

    Example:
        >>> img = ember.arange(4.0).reshape(1, 1, 2, 2)
        >>> grid = ember.tensor([[[[0.0, 0.0], [1.0, -1.0]]]])
        >>> F.grid_sample(img, grid, align_corners=True)
        tensor([[[[1.5000, 1.0000]]]])
    """
    if mode not in _MODES:
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_DEFAULT_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    for pos, (name, arg) in enumerate((("input", input), ("grid", grid)), 1):
        if not isinstance(arg, Tensor):
            raise TypeError(f"grid_sampler(): argument '{name}' (position {pos}) must be "
                            f"Tensor, not {type(arg).__name__}")
    if _amp.active and _autocast.state.active:  # PyTorch's autocast runs it in float32
        if _autocast.state.enabled.get(input.device.type):
            input, grid = (t.to(D.float32) if t._dtype in (D.float16, D.bfloat16) else t
                           for t in (input, grid))
        return _autocast.run_without_autocast(grid_sample, input, grid, mode, padding_mode,
                                              align_corners)
    _check(input, grid, mode)
    n, c = input.shape[0], input.shape[1]
    out_spatial = tuple(grid.shape[1:-1])
    p = math.prod(out_spatial)
    sizes = tuple(reversed(input.shape[2:]))  # W, H[, D]: the order of grid's last axis
    vectorised = input.ndim == 4
    name = f"GridSampler{input.ndim - 2}DBackward"
    # under create_graph the composite's gradients depend on input and grid together, as
    # those of torch's one node do (a constant grid's input gradient still requires grad)
    given = input
    if input._requires_grad:
        input = BackwardTie.apply(input, grid, name=name + "Backward0")
    if grid._requires_grad:
        grid = BackwardTie.apply(grid, given, name=name + "Backward0")
    g = grid.reshape(n, p, len(sizes))
    read = _Reader(input)
    with np.errstate(invalid="ignore"):  # NaN/inf grid points give NaN quietly, as PyTorch
        coords = [_unnormalize(g[..., k], s, bool(align_corners), vectorised)
                  for k, s in enumerate(sizes)]
        if mode == "bicubic":
            out = _bicubic(read, coords, sizes, padding_mode, bool(align_corners))
        else:
            coords = [_pad(x, s, padding_mode, bool(align_corners))
                      for x, s in zip(coords, sizes)]
            if mode == "nearest":
                out = _nearest(read, coords, sizes)
            else:
                out = _linear(read, coords, sizes, vectorised)
    return set_node_name(out.reshape(n, c, *out_spatial), name + "0")


def _linear(read: _Reader, coords: list[Tensor], sizes, vectorised: bool) -> Tensor:
    """Bilinear (trilinear for 5-D input): the 2 or 3 axes' corner pairs, weighted.

    The corners are summed in PyTorch's order (x fastest, then y, then z) with the weights
    multiplied x * y * z; its 2-D CPU kernel also fuses each term after the first into a
    multiply-add, which the float32 result reproduces (the gradient follows the plain sum)."""
    corners = []  # per axis: [(index, mask, weight) for the low and the high neighbour]
    for x, s in zip(coords, sizes):
        low = x.detach().floor()
        frac = x - low
        i0, m0 = _index(low, s)
        i1, m1 = _index(low + 1, s)
        corners.append([(i0, m0, 1 - frac), (i1, m1, frac)])
    fused = vectorised and coords[0]._dtype == D.float32
    out = acc = None
    for combo in _product(corners[::-1]):  # combo is (z,) y, x
        combo = combo[::-1]
        weight = combo[0][2]
        for _, _, w in combo[1:]:
            weight = weight * w
        vals = read([i for i, _, _ in combo], [m for _, m, _ in combo])
        weight = weight.unsqueeze(1)
        term = vals * weight
        out = term if out is None else out + term
        if fused:  # float32 products are exact in float64, so one rounding there is an FMA's
            prod = vals.detach().to(D.float64) * weight.detach().to(D.float64)
            acc = (prod if acc is None else prod + acc).to(D.float32).to(D.float64)
    if fused:
        link = out - out.detach()  # value acc, gradient out's (0 link where out is inf/NaN)
        acc = acc.to(D.float32)
        out = acc + _ember().where(link.isfinite(), link, 0.0) if out.requires_grad else acc
    return out


def _product(lists):
    """Every choice of one item from each list (itertools.product without the import)."""
    combos = [[]]
    for items in lists:
        combos = [c + [it] for c in combos for it in items]
    return combos


def _nearest(read: _Reader, coords: list[Tensor], sizes) -> Tensor:
    """The pixel nearest each point (ties to even, as PyTorch); the grid gets zero gradient."""
    em = _ember()
    idx, masks, link = [], [], None
    for x, s in zip(coords, sizes):
        r = x.round()  # zero gradient, but keeps the grid in the graph as PyTorch does
        i, m = _index(r.detach(), s)
        idx.append(i)
        masks.append(m)
        z = em.where(m, r - r.detach(), 0.0)
        link = z if link is None else link + z
    vals = read(idx, masks)
    if link is not None and link.requires_grad:
        vals = vals + link.unsqueeze(1)
    return vals


def _bicubic(read: _Reader, coords: list[Tensor], sizes, padding_mode: str,
             align_corners: bool) -> Tensor:
    """Keys' bicubic on the 4x4 taps around each point; the taps are padded, the point is not."""
    (x, y), (w, h) = coords, sizes
    x0, y0 = x.detach().floor(), y.detach().floor()
    wx, wy = _cubic_weights(x - x0), _cubic_weights(y - y0)
    taps = []
    for pos0, s in ((x0, w), (y0, h)):
        row = []
        for k in range(4):
            pos = _pad(pos0 + (k - 1), s, padding_mode, align_corners)
            row.append(_index(pos, s))
        taps.append(row)
    out = None
    for j in range(4):
        line = None
        for i in range(4):
            (ix, mx), (iy, my) = taps[0][i], taps[1][j]
            term = read([ix, iy], [mx, my]) * wx[i].unsqueeze(1)
            line = term if line is None else line + term
        term = line * wy[j].unsqueeze(1)
        out = term if out is None else out + term
    return out
