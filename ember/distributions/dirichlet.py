"""The Dirichlet distribution over the probability simplex."""

import ember
from ember import Tensor

from . import constraints
from ._parameters import expand_params
from ._sampling import sample_dirichlet
from .exp_family import ExponentialFamily
from .utils import _one_hot, _size

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    r"""Dirichlet distribution on the simplex ``{x : x_i > 0, sum_i x_i = 1}`` with density
    proportional to ``prod_i x_i^(alpha_i - 1)``. The last dimension of ``concentration``
    is the event dimension (``K`` categories); the others are batch dimensions.

    Samples are normalised gamma draws; their gradients to ``concentration`` are PyTorch's,
    each coordinate's implicit derivative through its marginal Beta CDF.

    Args:
        concentration (Tensor): alpha, shape ``(..., K)``, every entry > 0.

    Example:
        >>> d = Dirichlet(ember.tensor([1.0, 2.0, 1.0]))
        >>> d.mean, d.event_shape
        (tensor([0.2500, 0.5000, 0.2500]), torch.Size([3]))
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        *batch, k = concentration.shape
        super().__init__(ember.Size(batch), ember.Size([k]), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Dirichlet, batch_shape, _instance, ("concentration",))

    def rsample(self, sample_shape: _size = ()) -> Tensor:
        """Normalised gamma draws, on PyTorch's random stream (see ``sample_dirichlet``)."""
        shape = self._extended_shape(sample_shape)
        return sample_dirichlet(self.concentration.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        alpha = self.concentration
        # the kernel sum (alpha_i - 1) log x_i (xlogy: 0 * log 0 = 0 where alpha_i = 1), then
        # the normaliser 1 / B(alpha) = Gamma(sum alpha) / prod Gamma(alpha_i), term by term
        kernel = ember.xlogy(alpha - 1.0, value).sum(-1)
        return kernel + ember.lgamma(alpha.sum(-1)) - ember.lgamma(alpha).sum(-1)

    @property
    def mean(self) -> Tensor:
        """alpha / sum(alpha)."""
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        # interior mode (alpha_i - 1) / sum(alpha - 1) on the coordinates with alpha_i > 1;
        # when every alpha_i < 1 the density is unbounded at the vertices and the first
        # coordinate's vertex is reported
        excess = (self.concentration - 1).clamp(min=0.0)
        mode = excess / excess.sum(-1, keepdim=True)
        corner = (self.concentration < 1).all(dim=-1)
        mode[corner] = _one_hot(excess[corner].argmax(dim=-1), excess.shape[-1]).to(mode)
        return mode

    @property
    def variance(self) -> Tensor:
        alpha = self.concentration
        total = alpha.sum(-1, keepdim=True)
        return alpha * (total - alpha) / (total.pow(2) * (total + 1))

    def entropy(self):
        """log B(alpha) + (sum(alpha) - K) digamma(sum(alpha))
        - sum_i (alpha_i - 1) digamma(alpha_i), in nats."""
        alpha = self.concentration
        k = alpha.size(-1)
        total = alpha.sum(-1)
        return (ember.lgamma(alpha).sum(-1) - ember.lgamma(total)
                - (k - total) * ember.digamma(total)
                - ((alpha - 1.0) * ember.digamma(alpha)).sum(-1))

    # exponential-family form: the natural parameter is alpha itself
    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.concentration,)

    def _log_normalizer(self, x):
        return ember.lgamma(x).sum(-1) - ember.lgamma(x.sum(-1))
