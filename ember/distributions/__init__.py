r"""Probability distributions with PyTorch's ``torch.distributions`` interface.

Each distribution is parameterised by tensors whose leading dimensions form its
``batch_shape`` (independent distributions evaluated side by side) and whose trailing ones,
where the distribution is over vectors or matrices, its ``event_shape``. Every distribution
can ``sample`` and score values with ``log_prob``; most also give ``mean``, ``variance``,
``entropy`` and, for continuous ones, ``cdf`` and ``icdf``.

Gradients reach the parameters in two ways:

* through the sample, for distributions with ``has_rsample``: ``rsample`` writes the draw as a
  differentiable function of the parameters and parameter-free noise (the pathwise or
  reparameterisation estimator, as in variational autoencoders);
* through the density, for any distribution: ``-log_prob(action) * reward`` has the gradient of
  the expected reward (the score-function or REINFORCE estimator, as in policy gradients).

``kl_divergence(p, q)`` evaluates closed-form KL divergences between registered pairs
(``register_kl`` adds more); ``transforms`` and ``TransformedDistribution`` build new
distributions from old ones by change of variables, and ``biject_to`` / ``transform_to`` map
unconstrained tensors onto a constraint's set.

Draws use ember's random stream, which follows PyTorch's: after the same ``manual_seed`` the
draws of both libraries agree.

Example::

    >>> d = Normal(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 2.0]))
    >>> tuple(d.batch_shape)
    (2,)
    >>> d.log_prob(ember.tensor([0.0, 1.0]))
    tensor([-0.9189, -1.6121])
    >>> kl_divergence(d, d)
    tensor([0., 0.])
"""

# isort: off
# Grouped by family, in an order that matters: some modules import Distribution, Independent,
# Beta, Categorical or Chi2 from this package, so those are bound before the modules load.
from . import constraints, transforms  # noqa: F401 - submodules PyTorch exposes here
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .independent import Independent

# discrete
from .bernoulli import Bernoulli
from .geometric import Geometric
from .binomial import Binomial
from .negative_binomial import NegativeBinomial
from .poisson import Poisson
from .categorical import Categorical
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .multinomial import Multinomial

# continuous, on the real line or a half-line
from .normal import Normal
from .log_normal import LogNormal
from .half_normal import HalfNormal
from .cauchy import Cauchy
from .half_cauchy import HalfCauchy
from .laplace import Laplace
from .gumbel import Gumbel
from .chi2 import Chi2
from .studentT import StudentT
from .exponential import Exponential
from .gamma import Gamma
from .inverse_gamma import InverseGamma
from .fishersnedecor import FisherSnedecor
from .weibull import Weibull
from .pareto import Pareto
from .generalized_pareto import GeneralizedPareto
from .von_mises import VonMises

# continuous, on an interval or a simplex
from .uniform import Uniform
from .beta import Beta
from .kumaraswamy import Kumaraswamy
from .continuous_bernoulli import ContinuousBernoulli
from .relaxed_bernoulli import RelaxedBernoulli
from .dirichlet import Dirichlet
from .relaxed_categorical import RelaxedOneHotCategorical
from .logistic_normal import LogisticNormal

# over vectors and matrices
from .multivariate_normal import MultivariateNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .wishart import Wishart
from .lkj_cholesky import LKJCholesky

# built from other distributions, and the functions over them
from .mixture_same_family import MixtureSameFamily
from .transformed_distribution import TransformedDistribution
from .transforms import *  # noqa: F403 - every transform is exported here as well
from .constraint_registry import biject_to, transform_to
from .kl import kl_divergence, register_kl
# isort: on

# PyTorch's order, Poisson after StudentT included, then the transforms' own list
__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ContinuousBernoulli",
    "Dirichlet", "Distribution", "Exponential", "ExponentialFamily", "FisherSnedecor",
    "Gamma", "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal",
    "Independent", "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace", "LogNormal",
    "LogisticNormal", "LowRankMultivariateNormal", "MixtureSameFamily", "Multinomial",
    "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical",
    "OneHotCategoricalStraightThrough", "Pareto", "RelaxedBernoulli",
    "RelaxedOneHotCategorical", "StudentT", "Poisson", "Uniform", "VonMises", "Weibull",
    "Wishart", "TransformedDistribution", "biject_to", "kl_divergence", "register_kl",
    "transform_to",
]
__all__ += transforms.__all__
