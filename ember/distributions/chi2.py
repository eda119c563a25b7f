"""The chi-squared distribution, the gamma distribution with shape ``df / 2`` and rate 1/2."""

from ember import Tensor

from . import constraints
from .gamma import Gamma

__all__ = ["Chi2"]


class Chi2(Gamma):
    r"""Chi-squared distribution with ``df`` degrees of freedom: the law of a sum of ``df``
    squared standard normals, i.e. ``Gamma(concentration=df / 2, rate=1/2)``. Sampling,
    densities and moments are the gamma's, so draws follow PyTorch's random stream and are
    reparameterised (``df`` need not be an integer).

    Args:
        df (float or Tensor): degrees of freedom, > 0.

    Example:
        >>> d = Chi2(ember.tensor([4.0]))
        >>> d.mean, d.variance
        (tensor([4.]), tensor([8.]))
    """

    # the one user-facing parameter; the gamma's two are derived from it
    arg_constraints = {"df": constraints.positive}

    def __init__(self, df: Tensor | float, validate_args: bool | None = None) -> None:
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """A Chi2 with ``batch_shape``, its parameters viewed (not copied) by expansion."""
        return super().expand(batch_shape, self._get_checked_instance(Chi2, _instance))

    @property
    def df(self) -> Tensor:
        """Degrees of freedom. Not stored: read back from the gamma shape, which is half
        of it, so that an expanded or deserialised instance cannot disagree with itself."""
        return 2 * self.concentration
