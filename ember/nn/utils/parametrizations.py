"""``torch.nn.utils.parametrizations``: orthogonal, spectral_norm and weight_norm written as
parametrizations (see :mod:`ember.nn.utils.parametrize`).

Each function registers one small module on ``module.<name>``; the state_dict keys
(``parametrizations.weight.original``, ``...original0``/``original1``, ``...0._u``,
``...0.base``) are PyTorch's, so checkpoints move between the two libraries.
"""

from __future__ import annotations

from enum import Enum, auto

from ... import cat, eye, finfo, linalg, randn
from ..._tensor import Tensor
from ...autograd import grad_mode
from ..functional import normalize
from ..modules.module import Module
from . import parametrize
from .spectral_norm import _default_dim
from .weight_norm import _weight_norm, norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# -- orthogonal --------------------------------------------------------------------------------

def _is_orthogonal(Q: Tensor, eps: float | None = None) -> bool:
    """Whether the columns of ``Q`` (``n x k``, ``n >= k``) are orthonormal, to a tolerance that
    grows with ``n``."""
    rows, cols = Q.shape[-2], Q.shape[-1]
    if eps is None:
        eps = 10.0 * rows * finfo(Q.dtype).eps
    gram = Q.mH @ Q
    return bool(gram.allclose(eye(cols, dtype=Q.dtype, device=Q.device), atol=eps))


def _make_orthogonal(A: Tensor) -> Tensor:
    """The ``Q`` factor of ``A = QR``, with the signs fixed so that ``R`` has a positive diagonal
    (so the result does not depend on LAPACK's sign choices)."""
    reflectors, tau = A.geqrf()
    Q = linalg.householder_product(reflectors, tau)
    return Q * reflectors.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    """Maps an unconstrained matrix to one with orthonormal columns (or rows, when wide).

    ``matrix_exp`` and ``cayley`` read the strictly lower triangle as a skew-symmetric (skew-
    Hermitian) ``A`` and return ``exp(A)`` or ``(I - A/2)^-1 (I + A/2)``; ``householder`` reads
    it as Householder reflectors. With the trivialization the result is multiplied by a stored
    orthogonal ``base``, which ``right_inverse`` sets to the assigned matrix.
    """

    base: Tensor

    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *,
                 use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        # work on a tall matrix; a wide one is handled as its transpose
        wide = X.shape[-2] < X.shape[-1]
        if wide:
            X = X.mT
        rows, cols = X.shape[-2], X.shape[-1]
        if self.orthogonal_map == _OrthMaps.householder:
            reflectors = X.tril(-1)
            tau = 2.0 / (1.0 + (reflectors * reflectors).sum(dim=-2))
            Q = linalg.householder_product(reflectors, tau)
            # the diagonal carries the sign of each column (-1 after right_inverse)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        else:
            low = X.tril()
            if rows != cols:  # square it up with zero columns; keep the first ``cols`` at the end
                pad = low.new_zeros(rows, rows - cols).expand(*low.shape[:-2], -1, -1)
                low = cat([low, pad], dim=-1)
            skew = low - low.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = linalg.matrix_exp(skew)
            else:
                ident = eye(rows, dtype=skew.dtype, device=skew.device)
                Q = linalg.solve(ident - 0.5 * skew, ident + 0.5 * skew)
            if rows != cols:
                Q = Q[..., :cols]
        if "base" in self._buffers:
            Q = self.base @ Q
        return Q.mT if wide else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        with grad_mode.no_grad():
            return self._inverse(Q)

    def _inverse(self, Q: Tensor) -> Tensor:
        assigned = Q
        wide = Q.shape[-2] < Q.shape[-1]
        if wide:
            Q = Q.mT
        rows, cols = Q.shape[-2], Q.shape[-1]

        if "base" not in self._buffers:
            if self.orthogonal_map != _OrthMaps.householder:
                raise NotImplementedError("It is not possible to assign to the matrix exponential "
                                          "or the Cayley parametrizations when "
                                          "use_trivialization=False.")
            # geqrf's reflectors reproduce Q's column space; the diagonal keeps only the sign
            # that forward multiplies back in (flipped where a reflector is the identity)
            reflectors, tau = Q.geqrf()
            signs = reflectors.diagonal(dim1=-2, dim2=-1)
            signs.sign_()
            signs[tau == 0.0] *= -1
            return reflectors.mT if wide else reflectors

        if rows != cols:  # complete the columns to a square orthogonal matrix
            extra = randn(*Q.shape[:-2], rows, rows - cols, dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(cat([Q, extra], dim=-1))
        elif _is_orthogonal(Q):
            Q = Q.clone()
        else:
            Q = _make_orthogonal(Q)
        self.base = Q
        # forward(-I) is the identity for every map: the skew part of -I is zero, and the k
        # reflections householder builds from it flip signs that its -1 diagonal flips back;
        # so the module reads back base[..., :k] = Q
        start = assigned.new_zeros(assigned.shape)
        start.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return start


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain ``module.<name>`` (a matrix or a batch of them) to have orthonormal columns,
    or rows when it is wider than tall.

    Args:
        module: the module holding the tensor.
        name: the parameter or buffer.
        orthogonal_map: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; None picks
            ``matrix_exp`` for square or complex matrices, ``householder`` otherwise.
        use_trivialization: keep a ``base`` buffer so that the optimization starts from the
            current weight and assigning to ``module.<name>`` works for every map.

    Returns:
        ``module``.

    Example:
        >>> m = ember.nn.utils.parametrizations.orthogonal(ember.nn.Linear(3, 5))
        >>> w = m.weight
        >>> bool((w.T @ w - ember.eye(3)).abs().max() < 1e-5)
        True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError("Expected a matrix or batch of matrices. "
                         f"Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    chosen = getattr(_OrthMaps, orthogonal_map, None)
    if chosen is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    parametrize.register_parametrization(
        module, name, _Orthogonal(weight, chosen, use_trivialization=use_trivialization),
        unsafe=True)
    return module


# -- weight_norm -------------------------------------------------------------------------------

class _WeightNorm(Module):
    """``g * v / ||v||`` from ``original0 = g`` and ``original1 = v`` (norms over every dim but
    ``dim``; ``dim=None`` means over the whole tensor)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int = 0) -> Module:
    """Weight normalization as a parametrization: ``module.<name>`` becomes ``g * v / ||v||``
    with the magnitude ``g`` stored as ``parametrizations.<name>.original0`` and the direction
    ``v`` as ``original1``. A state_dict of the hook-based ``nn.utils.weight_norm``
    (``<name>_g``/``<name>_v``) still loads.

    Args:
        module: the module holding the weight.
        name: the parameter's name.
        dim: the dimension kept by the norm (None: the norm of the whole tensor).

    Returns:
        ``module``.

    Example:
        >>> m = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(20, 40))
        >>> m.parametrizations.weight.original0.shape, m.parametrizations.weight.original1.shape
        (torch.Size([40, 1]), torch.Size([40, 20]))
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _weight_norm_compat_hook(state_dict, prefix, local_metadata, strict, missing_keys,
                                 unexpected_keys, error_msgs) -> None:
        # rename the older hook-based keys to this layout before loading
        old_g, old_v = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if old_g in state_dict and old_v in state_dict:
            new = f"{prefix}parametrizations.{name}.original"
            state_dict[new + "0"] = state_dict.pop(old_g)
            state_dict[new + "1"] = state_dict.pop(old_v)

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


# -- spectral_norm -----------------------------------------------------------------------------

class _SpectralNorm(Module):
    """Divides a weight by an estimate of its largest singular value, ``u . (W v)``, where the
    buffers ``_u`` and ``_v`` are refined by power iteration in training mode; a 1-D tensor
    is just divided by its norm."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if not -ndim <= dim < ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim == 1:
            return  # a vector needs no singular vectors
        self.n_power_iterations = n_power_iterations
        matrix = self._reshape_weight_to_matrix(weight)
        rows, cols = matrix.shape
        u = matrix.new_empty(rows).normal_(0, 1)
        v = matrix.new_empty(cols).normal_(0, 1)
        self.register_buffer("_u", normalize(u, dim=0, eps=eps))
        self.register_buffer("_v", normalize(v, dim=0, eps=eps))
        # start from good estimates, so the first forward is already close to normalized
        self._power_method(matrix, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        # in place, without a graph: the estimates are state, not part of the model's function
        u, v = self._u, self._v
        with grad_mode.no_grad():
            for _ in range(n_power_iterations):
                u.copy_(normalize(weight_mat.mv(v), dim=0, eps=self.eps))
                v.copy_(normalize(weight_mat.H.mv(u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        matrix = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        # copies: the next training-mode call updates the buffers in place under this graph
        sigma = self._u.clone().vdot(matrix.mv(self._v.clone()))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        # any weight is a valid starting point: the normalization happens in forward
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Spectral normalization as a parametrization: ``module.<name>`` reads as the stored
    weight divided by an estimate of its largest singular value (the buffers
    ``parametrizations.<name>.0._u``/``_v``, refined by ``n_power_iterations`` power-iteration
    steps per training-mode read).

    Args:
        module: the module holding the weight.
        name: the parameter or buffer.
        n_power_iterations: power-iteration steps per read in training mode.
        eps: the smallest norm used when normalizing.
        dim: the output dimension (None: 1 for transposed convolutions, else 0).

    Returns:
        ``module``.

    Example:
        >>> m = ember.nn.utils.parametrizations.spectral_norm(ember.nn.Linear(20, 40))
        >>> m.parametrizations.weight[0]._u.shape
        torch.Size([40])
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = _default_dim(module)
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
