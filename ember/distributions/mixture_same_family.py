"""Finite mixtures whose components all come from one batched distribution."""

import ember
from ember import Tensor

from . import Categorical, constraints
from .constraints import MixtureSameFamilyConstraint
from .distribution import Distribution

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """A mixture of ``k`` components of one family: the rightmost batch dimension of
    ``component_distribution`` (size ``k``) indexes the components, and the
    :class:`Categorical` ``mixture_distribution`` (``k`` categories) gives their weights.

    A draw first picks a component from the categorical, then takes that component's value;
    ``log_prob`` is ``logsumexp`` over components of ``log weight + component log_prob``. The
    batch shape is the component batch shape without its last dimension; the event shape is
    the components'. Sampling is not reparameterisable (the choice of component is discrete).

    Example:
        >>> weights = ember.distributions.Categorical(ember.tensor([0.25, 0.75]))
        >>> parts = ember.distributions.Normal(ember.tensor([-2.0, 2.0]), ember.ones(2))
        >>> gmm = MixtureSameFamily(weights, parts)
        >>> print(round(gmm.mean.item(), 4), tuple(gmm.batch_shape))
        1.0 ()
        >>> print(round(gmm.log_prob(ember.tensor(2.0)).item(), 4))
        -1.2065
    """

    arg_constraints: dict[str, constraints.Constraint] = {}
    has_rsample = False

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args: bool | None = None) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of "
                             "torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of "
                             "torch.distributions.Distribution")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution

        mix_batch = mixture_distribution.batch_shape
        comp_batch = component_distribution.batch_shape[:-1]
        for a, b in zip(reversed(mix_batch), reversed(comp_batch)):
            if a != b and 1 not in (a, b):
                raise ValueError(f"`mixture_distribution.batch_shape` ({mix_batch}) is not "
                                 "compatible with `component_distribution.batch_shape`"
                                 f"({comp_batch})")
        k = mixture_distribution.logits.shape[-1]
        if k != component_distribution.batch_shape[-1]:
            raise ValueError(f"`mixture_distribution component` ({k}) does not equal "
                             "`component_distribution.batch_shape[-1]` "
                             f"({component_distribution.batch_shape[-1]})")
        self._num_component = k
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(comp_batch, component_distribution.event_shape,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "MixtureSameFamily":
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = ember.Size(batch_shape)
        new._component_distribution = self._component_distribution.expand(
            batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self):
        return MixtureSameFamilyConstraint(self._component_distribution.support)

    mixture_distribution = property(lambda self: self._mixture_distribution,
                                    doc="The categorical distribution over components.")
    component_distribution = property(lambda self: self._component_distribution,
                                      doc="The batched distribution of the components.")

    def _weights(self) -> Tensor:
        # (mixture batch..., k) -> (..., k, 1 * event dims): broadcasts against component
        # moments of shape (batch..., k, event...)
        probs = self._mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    def _component_axis(self) -> int:
        return -1 - self._event_ndims

    @property
    def mean(self) -> Tensor:
        return (self._weights() * self._component_distribution.mean).sum(self._component_axis())

    @property
    def variance(self) -> Tensor:
        # law of total variance: mean of the component variances plus variance of their means
        w, axis = self._weights(), self._component_axis()
        comp = self._component_distribution
        within = (w * comp.variance).sum(axis)
        spread = (w * (comp.mean - self.mean.unsqueeze(axis)).pow(2.0)).sum(axis)
        return within + spread

    def cdf(self, x: Tensor) -> Tensor:
        per_comp = self._component_distribution.cdf(x.unsqueeze(self._component_axis()))
        return (per_comp * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(x)
        per_comp = self._component_distribution.log_prob(x.unsqueeze(self._component_axis()))
        log_w = ember.log_softmax(self._mixture_distribution.logits, dim=-1)
        return ember.logsumexp(per_comp + log_w, dim=-1)

    def sample(self, sample_shape=ember.Size()) -> Tensor:
        with ember.no_grad():
            sample_shape = ember.Size(sample_shape)
            # the categorical draws first, then every component draws: the stream's order
            which = self._mixture_distribution.sample(sample_shape)
            values = self._component_distribution.sample(sample_shape)
            axis = len(sample_shape) + len(self.batch_shape)
            event = tuple(self.event_shape)
            # a mixture batch shape that merely broadcasts against the components' picks one
            # component for all the batch entries it covers
            lead = len(sample_shape)
            pad = len(self.batch_shape) - (which.dim() - lead)
            if pad > 0:
                which = which.reshape(sample_shape + (1,) * pad + tuple(which.shape[lead:]))
            index = which.expand(sample_shape + self.batch_shape)
            index = index.reshape(tuple(index.shape) + (1,) * (1 + len(event)))
            index = index.expand(tuple(index.shape[:axis + 1]) + event)
            return values.gather(axis, index).squeeze(axis)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(\n  {self._mixture_distribution!r},\n  "
                f"{self._component_distribution!r})")
