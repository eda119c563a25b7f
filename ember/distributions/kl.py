"""Closed-form Kullback-Leibler divergences between distributions, looked up by type.

A formula is registered for an ordered pair of classes ``(P, Q)`` with :func:`register_kl`;
:func:`kl_divergence` finds the registered pair that fits the arguments' types most closely
and calls it. Cross-family formulas are mostly written as ``-H(p) - E_p[log q(x)]``, with the
expectation taken from p's moments; when p puts mass where q has none the answer is ``inf``.
"""

import math
import warnings
from collections.abc import Callable

import ember
from ember import Tensor

from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .half_normal import HalfNormal
from .independent import Independent
from .laplace import Laplace
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .pareto import Pareto
from .poisson import Poisson
from .transformed_distribution import TransformedDistribution
from .uniform import Uniform

__all__ = ["register_kl", "kl_divergence"]

# (P, Q) -> function, exactly as registered; the lookup below reads only this table.
_KL_REGISTRY: dict[tuple[type, type], Callable] = {}
# (type(p), type(q)) -> the function the lookup chose (or NotImplemented), so that the
# subclass search and its warning happen once per pair of concrete types.
_KL_MEMOIZE: dict[tuple[type, type], Callable] = {}

_EULER = 0.57721566490153286061
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def register_kl(type_p, type_q):
    """Decorator that makes a function the KL divergence for one ordered pair of classes.

    The function receives ``(p, q)`` and returns ``KL(p || q)`` with shape ``batch_shape``.
    It also serves subclasses: :func:`kl_divergence` uses the registered pair whose types are
    the closest ancestors of the arguments' types, comparing p's type first. When two pairs
    fit equally well in different ways (one closer in p, the other in q) the p-closer one is
    used and a ``RuntimeWarning`` suggests registering the exact pair.

    Args:
        type_p (type): a subclass of :class:`Distribution`, the first argument's type.
        type_q (type): a subclass of :class:`Distribution`, the second argument's type.

    Example:
        >>> from ember.distributions import Normal, kl_divergence, register_kl
        >>> class Shifted(Normal):
        ...     pass
        >>> @register_kl(Shifted, Normal)
        ... def _kl_shifted_normal(p, q):
        ...     return ember.zeros(p.batch_shape)
        >>> kl_divergence(Shifted(0.0, 1.0), Normal(3.0, 1.0))
        tensor(0.)
    """
    for t in (type_p, type_q):
        if not isinstance(t, type):
            raise TypeError(f"register_kl expects classes, got {t!r}")

    def decorator(fun):
        _KL_REGISTRY[type_p, type_q] = fun
        _KL_MEMOIZE.clear()  # an earlier choice may no longer be the closest fit
        return fun

    return decorator


def _closer(a, b):
    """Whether the type pair ``a`` fits more closely than ``b``: the first slot where they
    differ decides, in favour of ``a`` when its type there subclasses ``b``'s."""
    for x, y in zip(a, b):
        if x is not y:
            return issubclass(x, y)
    return False


def _closest(pairs):
    # a linear scan keeps the first of several incomparable pairs, i.e. registration order
    best = pairs[0]
    for pair in pairs[1:]:
        if _closer(pair, best):
            best = pair
    return best


def _dispatch_kl(type_p, type_q):
    fits = [k for k in _KL_REGISTRY if issubclass(type_p, k[0]) and issubclass(type_q, k[1])]
    if not fits:
        return NotImplemented
    p_first = _closest(fits)
    q_first = _closest([(q, p) for p, q in fits])[::-1]
    fun = _KL_REGISTRY[p_first]
    if _KL_REGISTRY[q_first] is not fun:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
                      f"Please register_kl({p_first[0].__name__}, {q_first[1].__name__})",
                      RuntimeWarning, stacklevel=3)
    return fun


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    r"""The Kullback-Leibler divergence :math:`KL(p \| q) = E_p[\log p(x) - \log q(x)]`.

    Computed in closed form by the function registered with :func:`register_kl` for the
    closest pair of types; it is differentiable with respect to both distributions'
    parameters and is ``inf`` where p gives mass to a region q excludes.

    Args:
        p (Distribution): the distribution the expectation is taken under.
        q (Distribution): the reference distribution.

    Returns:
        Tensor: one divergence per batch element, of shape ``batch_shape``.

    Raises:
        NotImplementedError: when no pair fitting ``(type(p), type(q))`` is registered.

    Example:
        >>> from ember.distributions import Bernoulli, kl_divergence
        >>> p = Bernoulli(ember.tensor([0.5, 0.5]))
        >>> kl_divergence(p, Bernoulli(ember.tensor([0.5, 0.0])))
        tensor([0., inf])
    """
    key = (type(p), type(q))
    fun = _KL_MEMOIZE.get(key)
    if fun is None:
        fun = _KL_MEMOIZE[key] = _dispatch_kl(*key)
    if fun is NotImplemented:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {key[0].__name__} "
                                  f"and q type {key[1].__name__}")
    return fun(p, q)


# ---------------------------------------------------------------------------------- helpers

def _sum_last(x, n):
    """Sum away the last ``n`` dimensions (event dimensions folded into one value). A tensor
    with fewer dimensions is summed whole, as PyTorch does for e.g. a Wishart's scalar term."""
    if not n:
        return x
    return x.reshape(tuple(x.shape)[:-n] + (-1,)).sum(-1)


def _inf_like(x):
    # a pair whose supports never fit: inf in the shape of p's parameter, q's batch unused
    return ember.full_like(x, math.inf)


def _where_inf(cond, value):
    return ember.where(cond, math.inf, value)


def _mean_log_uniform(p):
    """E[log x] under Uniform(low, high), from the antiderivative x log x - x."""
    hi, lo = p.high, p.low
    return (ember.xlogy(hi, hi) - hi - ember.xlogy(lo, lo) + lo) / (hi - lo)


def _mean_log1m_uniform(p):
    """E[log(1 - x)] under Uniform(low, high)."""
    a, b = 1 - p.low, 1 - p.high
    return (ember.xlogy(a, a) - a - ember.xlogy(b, b) + b) / (p.high - p.low)


def _mean_log_beta(p):
    return ember.digamma(p.concentration1) - ember.digamma(p.concentration1 + p.concentration0)


def _log_beta_fn(a, b):
    return ember.lgamma(a) + ember.lgamma(b) - ember.lgamma(a + b)


# E_p[log q(x)] for each family q, given the moments of p that the density of q needs.

def _exp_log_normal(q, mean, var):
    return -q.scale.log() - _HALF_LOG_2PI - (var + (mean - q.loc) ** 2) / (2 * q.scale ** 2)


def _exp_log_exponential(q, mean):
    return q.rate.log() - q.rate * mean


def _exp_log_gamma(q, mean, mean_log):
    k, r = q.concentration, q.rate
    return k * r.log() - ember.lgamma(k) + (k - 1) * mean_log - r * mean


def _exp_log_gumbel(q, mean, mean_exp):
    # mean_exp is E[exp(-(x - loc) / scale)], which each caller knows in closed form
    return -q.scale.log() - (mean - q.loc) / q.scale - mean_exp


def _exp_log_cont_bernoulli(q, mean):
    return q._cont_bern_log_norm() + mean * q.logits + ember.log1p(-q.probs)


def _exp_log_beta(q, mean_log, mean_log1m):
    a, b = q.concentration1, q.concentration0
    return (a - 1) * mean_log + (b - 1) * mean_log1m - _log_beta_fn(a, b)


def _exp_log_pareto(q, mean_log):
    return q.alpha.log() + q.alpha * q.scale.log() - (q.alpha + 1) * mean_log


# ------------------------------------------------------------------------ same-family pairs

@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    sp = ember.nn.functional.softplus
    # log p - log q written with logits stays accurate near 0 and 1; the masks give the
    # 0 * log 0 = 0 convention and the infinite cost of q excluding an outcome p allows
    ones = p.probs * (sp(-q.logits) - sp(-p.logits))
    ones = ember.where(p.probs == 0, 0.0, _where_inf(q.probs == 0, ones))
    zeros = (1 - p.probs) * (sp(q.logits) - sp(p.logits))
    zeros = ember.where(p.probs == 1, 0.0, _where_inf(q.probs == 1, zeros))
    return ones + zeros


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    a1, b1, a2, b2 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    return (_log_beta_fn(a2, b2) - _log_beta_fn(a1, b1) + (a1 - a2) * ember.digamma(a1)
            + (b1 - b2) * ember.digamma(b1) + (a2 - a1 + b2 - b1) * ember.digamma(a1 + b1))


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    # fewer trials in p than in q would need q's mass beyond p's range: not defined here
    if (p.total_count < q.total_count).any():
        raise NotImplementedError(
            "KL between Binomials where q.total_count > p.total_count is not implemented")
    per_trial = p.probs * (p.logits - q.logits) + ember.log1p(-p.probs) - ember.log1p(-q.probs)
    return _where_inf(p.total_count > q.total_count, p.total_count * per_trial)


def _kl_categorical_terms(p_probs, p_logits, q_probs, q_logits):
    t = p_probs * (p_logits - q_logits)
    t = ember.where(p_probs == 0, 0.0, _where_inf(q_probs == 0, t))
    return t.sum(-1)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    return _kl_categorical_terms(p.probs, p.logits, q.probs, q.logits)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p, q):
    return _kl_categorical_terms(p.probs, p.logits, q.probs, q.logits)


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p, q):
    return -p.entropy() - _exp_log_cont_bernoulli(q, p.mean)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    a, b = p.concentration, q.concentration
    a0 = a.sum(-1)
    return (ember.lgamma(a0) - ember.lgamma(b.sum(-1)) - (ember.lgamma(a) - ember.lgamma(b)).sum(-1)
            + ((a - b) * (ember.digamma(a) - ember.digamma(a0).unsqueeze(-1))).sum(-1))


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - ratio.log() - 1


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    # Bregman divergence of the log-normalizer A: A(eta_q) - A(eta_p) - <eta_q - eta_p, dA/deta>
    if type(p) is not type(q):
        raise NotImplementedError("The cross KL-divergence between different exponential "
                                  "families cannot be computed using Bregman divergences")
    with ember.enable_grad():
        eta_p = [t.detach().requires_grad_() for t in p._natural_params]
        a_p = p._log_normalizer(*eta_p)
        grads = ember.autograd.grad(a_p.sum(), eta_p, create_graph=True)
    out = q._log_normalizer(*q._natural_params) - a_p
    for e_q, e_p, g in zip(q._natural_params, eta_p, grads):
        out = out - _sum_last((e_q - e_p) * g, len(q.event_shape))
    return out


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    k1, r1, k2, r2 = p.concentration, p.rate, q.concentration, q.rate
    return ((k1 - k2) * ember.digamma(k1) - ember.lgamma(k1) + ember.lgamma(k2)
            + k2 * (r1.log() - r2.log()) + k1 * (r2 - r1) / r1)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    t = p.scale / q.scale
    shift = (p.loc - q.loc) / q.scale
    return t.log().neg() + _EULER * (t - 1) + shift + (ember.lgamma(t + 1) - shift).exp() - 1


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    # E_p[log q(k)] = logit(q) + log(1 - q) / p, using E_p[k] = (1 - p) / p
    return -p.entropy() - q.logits - ember.log1p(-q.probs) / p.probs


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    ratio = (p.scale / q.scale) ** 2
    return 0.5 * (ratio - 1 - ratio.log())


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    ratio = p.scale / q.scale
    gap = (p.loc - q.loc).abs()
    return gap / q.scale + ratio * (-gap / p.scale).exp() - ratio.log() - 1


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    ratio = (p.scale / q.scale) ** 2
    return 0.5 * (ratio + ((p.loc - q.loc) / q.scale) ** 2 - 1 - ratio.log())


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    # p's support [scale_p, inf) must lie inside q's [scale_q, inf)
    out = ((p.alpha / q.alpha).log() + q.alpha * (p.scale / q.scale).log()
           + q.alpha / p.alpha - 1)
    return _where_inf(p.scale < q.scale, out)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    # the same bijection applied to both keeps the divergence of the bases
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError
    extra = len(p.event_shape) - len(p.base_dist.event_shape)
    return _sum_last(kl_divergence(p.base_dist, q.base_dist), extra)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    out = ((q.high - q.low) / (p.high - p.low)).log()
    return _where_inf((p.low < q.low) | (p.high > q.high), out)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return _sum_last(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    width = p.scale + q.scale
    return (width ** 2 + (p.loc - q.loc) ** 2).log() - (4 * p.scale * q.scale).log()


# ------------------------------------------------------------------------- Gaussian vectors

def _kl_gaussian_vectors(p, q, what):
    """KL between two full- or low-rank-covariance Gaussians through Cholesky factors:
    0.5 (tr(Sq^-1 Sp) + |Lq^-1 (mu_q - mu_p)|^2 - k) + log|Lq| - log|Lp|."""
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL-divergence between two {what} with different event shapes "
                         "cannot be computed")
    k = p.event_shape[0]
    batch = ember.broadcast_shapes(p.batch_shape, q.batch_shape)
    lp = p.scale_tril.expand(batch + (k, k))
    lq = q.scale_tril.expand(batch + (k, k))
    diff = (q.loc - p.loc).expand(batch + (k,)).unsqueeze(-1)
    solve = ember.linalg.solve_triangular
    trace = solve(lq, lp, upper=False).pow(2).sum((-2, -1))
    maha = solve(lq, diff, upper=False).pow(2).sum((-2, -1))
    half_logdet = (lq.diagonal(dim1=-2, dim2=-1).log().sum(-1)
                   - lp.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    return half_logdet + 0.5 * (trace + maha - k)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariatenormal_multivariatenormal(p, q):
    return _kl_gaussian_vectors(p, q, "Multivariate Normals")


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrankmultivariatenormal_lowrankmultivariatenormal(p, q):
    return _kl_gaussian_vectors(p, q, "Low Rank Multivariate Normals")


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_multivariatenormal_lowrankmultivariatenormal(p, q):
    return _kl_gaussian_vectors(p, q, "(Low Rank) Multivariate Normals")


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrankmultivariatenormal_multivariatenormal(p, q):
    return _kl_gaussian_vectors(p, q, "(Low Rank) Multivariate Normals")


# --------------------------------------------------------------------- cross-family pairs
# Each is -H(p) - E_p[log q]; a pair whose supports cannot nest is inf everywhere.

@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_infinity(p, q):
    return _inf_like(p.rate)


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p, q):
    return -p.entropy() - _exp_log_cont_bernoulli(q, p.mean)


@register_kl(Beta, Pareto)
def _kl_beta_infinity(p, q):
    return _inf_like(p.concentration1)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() - _exp_log_exponential(q, p.mean)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    return -p.entropy() - _exp_log_gamma(q, p.mean, _mean_log_beta(p))


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    return -p.entropy() - _exp_log_normal(q, p.mean, p.variance)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    out = -p.entropy() + (q.high - q.low).log()
    return _where_inf((q.low > 0) | (q.high < 1), out)


@register_kl(ContinuousBernoulli, Pareto)
def _kl_continuous_bernoulli_infinity(p, q):
    return _inf_like(p.probs)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p, q):
    return -p.entropy() - _exp_log_exponential(q, p.mean)


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p, q):
    return -p.entropy() - _exp_log_normal(q, p.mean, p.variance)


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p, q):
    out = -p.entropy() + (q.high - q.low).log()
    # PyTorch treats a boundary that touches [0, 1] as not covering it, so it gives inf there
    return _where_inf((q.low >= 0) | (q.high <= 1), out)


@register_kl(Exponential, Beta)
@register_kl(Exponential, ContinuousBernoulli)
@register_kl(Exponential, Pareto)
@register_kl(Exponential, Uniform)
def _kl_exponential_infinity(p, q):
    return _inf_like(p.rate)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    mean_log = -_EULER - p.rate.log()
    return -p.entropy() - _exp_log_gamma(q, p.rate.reciprocal(), mean_log)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    # E[exp(-x / s)] under Exponential(r) is r / (r + 1 / s)
    mean_exp = (q.loc / q.scale).exp() * p.rate / (p.rate + q.scale.reciprocal())
    return -p.entropy() - _exp_log_gumbel(q, p.rate.reciprocal(), mean_exp)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    mean = p.rate.reciprocal()
    return -p.entropy() - _exp_log_normal(q, mean, mean ** 2)


@register_kl(Gamma, Beta)
@register_kl(Gamma, ContinuousBernoulli)
@register_kl(Gamma, Pareto)
@register_kl(Gamma, Uniform)
def _kl_gamma_infinity(p, q):
    return _inf_like(p.concentration)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - _exp_log_exponential(q, p.concentration / p.rate)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    # the Laplace transform of Gamma(k, r) at 1 / s is (1 + 1 / (r s)) ** -k
    k, r = p.concentration, p.rate
    mean_exp = (q.loc / q.scale - k * ember.log1p((r * q.scale).reciprocal())).exp()
    return -p.entropy() - _exp_log_gumbel(q, k / r, mean_exp)


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    k, r = p.concentration, p.rate
    return -p.entropy() - _exp_log_normal(q, k / r, k / r ** 2)


@register_kl(Gumbel, Beta)
@register_kl(Gumbel, ContinuousBernoulli)
@register_kl(Gumbel, Exponential)
@register_kl(Gumbel, Gamma)
@register_kl(Gumbel, Pareto)
@register_kl(Gumbel, Uniform)
def _kl_gumbel_infinity(p, q):
    return _inf_like(p.loc)


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    return -p.entropy() - _exp_log_normal(q, p.mean, p.variance)


@register_kl(Laplace, Beta)
@register_kl(Laplace, ContinuousBernoulli)
@register_kl(Laplace, Exponential)
@register_kl(Laplace, Gamma)
@register_kl(Laplace, Pareto)
@register_kl(Laplace, Uniform)
def _kl_laplace_infinity(p, q):
    return _inf_like(p.loc)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    return -p.entropy() - _exp_log_normal(q, p.loc, 2 * p.scale ** 2)


@register_kl(Normal, Beta)
@register_kl(Normal, ContinuousBernoulli)
@register_kl(Normal, Exponential)
@register_kl(Normal, Gamma)
@register_kl(Normal, Pareto)
@register_kl(Normal, Uniform)
def _kl_normal_infinity(p, q):
    return _inf_like(p.loc)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    # the moment generating function of N(mu, sigma) at -1 / s
    mean_exp = ((q.loc - p.loc) / q.scale + 0.5 * (p.scale / q.scale) ** 2).exp()
    return -p.entropy() - _exp_log_gumbel(q, p.loc, mean_exp)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    # E|x - m| under N(mu, sigma): the mean of a folded normal with offset d = mu - m
    d = p.loc - q.loc
    mean_abs = (p.scale * math.sqrt(2 / math.pi) * (-0.5 * (d / p.scale) ** 2).exp()
                + d * ember.erf(d / (p.scale * math.sqrt(2))))
    return -p.entropy() + (2 * q.scale).log() + mean_abs / q.scale


@register_kl(Pareto, Beta)
@register_kl(Pareto, ContinuousBernoulli)
@register_kl(Pareto, Uniform)
def _kl_pareto_infinity(p, q):
    return _inf_like(p.scale)


def _mean_log_pareto(p):
    return p.scale.log() + p.alpha.reciprocal()


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    return -p.entropy() - _exp_log_exponential(q, p.mean)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    return -p.entropy() - _exp_log_gamma(q, p.mean, _mean_log_pareto(p))


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    return -p.entropy() - _exp_log_normal(q, p.mean, p.variance)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    out = -p.entropy() - _exp_log_beta(q, _mean_log_uniform(p), _mean_log1m_uniform(p))
    return _where_inf((p.low < 0) | (p.high > 1), out)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p, q):
    out = -p.entropy() - _exp_log_cont_bernoulli(q, p.mean)
    # as for ContinuousBernoulli || Uniform, PyTorch counts touching 0 or 1 as leaving [0, 1]
    return _where_inf((p.low <= 0) | (p.high >= 1), out)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponetial(p, q):
    return _where_inf(p.low < 0, -p.entropy() - _exp_log_exponential(q, p.mean))


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    out = -p.entropy() - _exp_log_gamma(q, p.mean, _mean_log_uniform(p))
    return _where_inf(p.low < 0, out)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    s = q.scale
    mean_exp = s * (((q.loc - p.low) / s).exp() - ((q.loc - p.high) / s).exp()) / (p.high - p.low)
    return -p.entropy() - _exp_log_gumbel(q, p.mean, mean_exp)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    return -p.entropy() - _exp_log_normal(q, p.mean, (p.high - p.low) ** 2 / 12)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    out = -p.entropy() - _exp_log_pareto(q, _mean_log_uniform(p))
    return _where_inf(p.low < q.scale, out)


def _add_kl_info():
    """Append the registered pairs to :func:`kl_divergence`'s docstring (run once at import,
    after every module has registered its pairs)."""
    pairs = sorted(f"{p.__name__} || {q.__name__}" for p, q in _KL_REGISTRY)
    lines = "\n".join(f"        * {pair}" for pair in pairs)
    kl_divergence.__doc__ += ("\n    Closed forms are registered for these pairs (p || q):\n\n"
                              f"{lines}\n")
