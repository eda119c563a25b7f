"""The LKJ distribution over Cholesky factors of correlation matrices."""

import math

import ember
from ember import Tensor

from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    r"""LKJ distribution (Lewandowski, Kurowicka and Joe, 2009) over lower-triangular
    Cholesky factors ``L`` of ``dim x dim`` correlation matrices ``L L^T``. The density of
    the correlation matrix is proportional to ``det(L L^T)^(concentration - 1)``:
    ``concentration = 1`` is uniform over correlation matrices, larger values favour the
    identity, smaller ones strong correlations.

    Samples use the onion method: row ``i`` of ``L`` is ``sqrt(y_i) u_i`` off the diagonal,
    with ``y_i`` beta-distributed and ``u_i`` a uniform direction (normalised normals), and
    the diagonal entry that makes the row a unit vector. They are not reparameterised.

    Args:
        dim (int): size of the matrices, at least 2.
        concentration (float or Tensor): eta > 0 (default 1).

    Example:
        >>> d = LKJCholesky(3, 0.5)
        >>> d.event_shape, d.sample().shape
        (torch.Size([3, 3]), torch.Size([3, 3]))
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Tensor | float = 1.0,
                 validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(
                f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        eta = self.concentration
        # y_i ~ Beta(i / 2, eta + (dim - 2) / 2 - i / 2) for row i >= 1 (0-based); row 0 is
        # (1, 0, ..., 0) and gets a dummy beta with i = 0 so that all rows share one draw
        i = ember.arange(dim - 1, dtype=eta.dtype, device=eta.device)
        i = ember.cat([i.new_zeros((1,)), i])
        first = i + 0.5
        second = (eta + 0.5 * (dim - 2)).unsqueeze(-1) - 0.5 * i
        self._beta = Beta(first, second)
        super().__init__(eta.size(), ember.Size((dim, dim)), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        out = self._get_checked_instance(LKJCholesky, _instance)
        shape = ember.Size(batch_shape)
        out.dim = self.dim
        out.concentration = self.concentration.expand(shape)
        out._beta = self._beta.expand(shape + (self.dim,))
        super(LKJCholesky, out).__init__(shape, self.event_shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    def sample(self, sample_shape=ember.Size()):
        """Draws the beta radii first, then the normal directions (one ``randn`` of the
        full ``(..., dim, dim)`` shape, of which the strict lower triangle is used)."""
        radius2 = self._beta.sample(sample_shape).unsqueeze(-1)
        normals = ember.randn(self._extended_shape(sample_shape), dtype=radius2.dtype,
                              device=self.concentration.device).tril(-1)
        directions = normals / normals.norm(dim=-1, keepdim=True)
        # row 0 has no off-diagonal entries (its norm above was 0 / 0)
        directions[..., 0, :].fill_(0.0)
        rows = ember.sqrt(radius2) * directions
        # each diagonal entry completes its row to unit length; the clamp keeps it positive
        rest = 1 - ember.sum(rows**2, dim=-1)
        diagonal = ember.clamp(rest, min=ember.finfo(rest.dtype).tiny).sqrt()
        return rows + ember.diag_embed(diagonal)

    def log_prob(self, value):
        # log p(L) = sum_{k=2..dim} (dim - k + 2 eta - 2) log L_kk - log c(eta, dim), with the
        # normaliser c from LKJ (2009) written through the multivariate log-gamma
        if self._validate_args:
            self._validate_sample(value)
        eta = self.concentration
        n = self.dim
        k = ember.arange(2, n + 1, dtype=eta.dtype, device=eta.device)
        exponents = 2 * (eta - 1).unsqueeze(-1) + n - k
        kernel = (exponents * value.diagonal(dim1=-1, dim2=-2)[..., 1:].log()).sum(-1)
        m = n - 1
        a = eta + 0.5 * m
        log_c = 0.5 * m * math.log(math.pi) + ember.mvlgamma(a - 0.5, m) - ember.lgamma(a) * m
        return kernel - log_c
