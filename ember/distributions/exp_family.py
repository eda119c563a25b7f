"""The exponential family: the base class of distributions with densities of the form
``exp(<t(x), theta> - F(theta) + k(x))``."""

from __future__ import annotations

import ember
from ember import Tensor

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    r"""Base class for exponential-family distributions, whose density (or mass) is

    .. math::

        p(x; \theta) = \exp\big(\langle t(x), \theta\rangle - F(\theta) + k(x)\big)

    with :math:`\theta` the natural parameters, :math:`t(x)` the sufficient statistic,
    :math:`F(\theta)` the log normalizer and :math:`k(x)` the carrier measure.

    A subclass states :math:`\theta` (``_natural_params``), :math:`F` (``_log_normalizer``)
    and :math:`E[k(x)]` (``_mean_carrier_measure``). From these alone the base class derives
    the entropy, through the gradient of :math:`F` (the mean of :math:`t(x)`), and the KL
    divergence between two members of one family is the Bregman divergence of :math:`F`.

    Example:
        >>> class Exp(ExponentialFamily):  # rate r: theta = -r, F = -log(-theta), k = 0
        ...     arg_constraints = {}
        ...     def __init__(self, rate):
        ...         self.rate = rate
        ...         super().__init__(rate.shape)
        ...     @property
        ...     def _natural_params(self):
        ...         return (-self.rate,)
        ...     def _log_normalizer(self, theta):
        ...         return -(-theta).log()
        ...     @property
        ...     def _mean_carrier_measure(self):
        ...         return 0.0
        >>> rate = ember.tensor([0.5, 2.0])
        >>> ember.allclose(Exp(rate).entropy(), Exponential(rate).entropy())
        True
    """

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        """The natural parameters :math:`\\theta`, one tensor per sufficient statistic,
        each of shape ``batch_shape`` plus that statistic's own shape."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        """:math:`F(\\theta)`, a function of the natural parameters given as arguments (so
        that it can be differentiated with respect to them); shape ``batch_shape``."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> float:
        """:math:`E[k(x)]` under this distribution."""
        raise NotImplementedError

    def entropy(self):
        """The entropy :math:`F(\\theta) - \\langle\\theta, \\nabla F(\\theta)\\rangle -
        E[k(x)]`, with :math:`\\nabla F` taken by autograd (its value is
        :math:`E[t(x)]`)."""
        # differentiate F at fresh leaves: only the gradient in theta is wanted here, and
        # create_graph keeps the result differentiable in turn
        theta = [p.detach().requires_grad_() for p in self._natural_params]
        log_norm = self._log_normalizer(*theta)
        grads = ember.autograd.grad(log_norm.sum(), theta, create_graph=True)
        result = log_norm - self._mean_carrier_measure
        for param, grad in zip(theta, grads):
            inner = (param * grad).reshape(*self._batch_shape, -1).sum(-1)
            result = result - inner
        return result
