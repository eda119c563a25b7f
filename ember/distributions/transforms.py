"""Maps between constrained spaces, used to build and reparametrize distributions.

A transform sends ``x`` to ``y = t(x)``; ``t.inv`` maps back where that makes sense, and
``t.log_abs_det_jacobian(x, y)`` gives ``log |dy/dx|`` so that a density can be carried
through the map (see ``TransformedDistribution``). ``domain`` and ``codomain`` are the
constraints that ``x`` and ``y`` satisfy; their ``event_dim`` says how many rightmost
dimensions one transform step treats jointly.
"""

import functools
import math
import numbers
import operator

import ember
from ember.nn import functional as F

from . import constraints
from .distribution import Distribution
from .utils import (
    _sum_rightmost,
    broadcast_all,
    lazy_property,
    tril_matrix_to_vec,
    vec_to_tril_matrix,
)

__all__ = [
    "AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform", "CorrCholeskyTransform",
    "CumulativeDistributionTransform", "ExpTransform", "IndependentTransform",
    "LowerCholeskyTransform", "PositiveDefiniteTransform", "PowerTransform", "ReshapeTransform",
    "SigmoidTransform", "SoftplusTransform", "TanhTransform", "SoftmaxTransform", "StackTransform",
    "StickBreakingTransform", "Transform", "identity_transform",
]


class Transform:
    """A map ``y = t(x)`` between constrained spaces, with the log-Jacobian densities need.

    A subclass states its ``domain`` and ``codomain`` (constraints) and implements ``_call``
    (``x`` to ``y``); when the map can be undone also ``_inverse`` (``y`` to ``x``) and
    ``log_abs_det_jacobian``. ``bijective`` and ``sign`` describe the map. Two transforms are
    equal only when they are the same object, unless a subclass compares parameters; none is
    hashable.

    Args:
        cache_size (int): 1 remembers the latest ``(x, y)`` pair, so that ``t.inv(t(x))``
            returns that very ``x`` (exact, and not recomputed); 0 (default) remembers nothing.

    Example:
        >>> t = ExpTransform(cache_size=1)
        >>> x = ember.tensor([0.0, 1.0])
        >>> y = t(x)
        >>> t.inv(y) is x, t.inv.inv is t
        (True, True)
    """

    bijective = False

    def __init__(self, cache_size=0):
        self._cache_size = cache_size
        self._inv = None
        if cache_size == 1:
            self._cached_x_y = None, None
        elif cache_size != 0:
            raise ValueError("cache_size must be 0 or 1")

    def __getstate__(self):
        # The inverse holds a reference back to this transform; a copy rebuilds its own.
        state = dict(self.__dict__)
        state["_inv"] = None
        return state

    @property
    def event_dim(self) -> int:
        """The event dims of the domain, which must equal those of the codomain."""
        dims = self.domain.event_dim
        if dims != self.codomain.event_dim:
            raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")
        return dims

    @property
    def inv(self) -> "Transform":
        """The inverse map: made on first use, then the same object (``t.inv.inv is t``)."""
        if self._inv is None:
            self._inv = _InverseTransform(self)
        return self._inv

    @property
    def sign(self) -> int:
        """+1 for an increasing map, -1 for a decreasing one (bijective maps only)."""
        raise NotImplementedError

    def with_cache(self, cache_size=1):
        """This transform with ``cache_size`` (itself when that is already its size)."""
        return self if self._cache_size == cache_size else self._remake(cache_size)

    def _remake(self, cache_size):
        # Subclasses whose constructor takes parameters override this to pass them on.
        if type(self).__init__ is not Transform.__init__:
            raise NotImplementedError(f"{type(self)}.with_cache is not implemented")
        return type(self)(cache_size=cache_size)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    def _remembered(self, value, side, compute):
        """Look ``value`` up as side ``side`` (0: x, 1: y) of the cached pair; on a miss,
        compute the other side with ``compute`` and cache the new pair."""
        pair = self._cached_x_y
        if pair[side] is value:
            return pair[1 - side]
        other = compute(value)
        self._cached_x_y = (value, other) if side == 0 else (other, value)
        return other

    def __call__(self, x):
        if not self._cache_size:
            return self._call(x)
        return self._remembered(x, 0, self._call)

    def _inv_call(self, y):
        """``x`` from ``y``; what ``t.inv(y)`` runs, sharing this transform's cache."""
        if not self._cache_size:
            return self._inverse(y)
        return self._remembered(y, 1, self._inverse)

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        """``log |dy/dx|`` at the pair ``(x, y)``, one value per batch element."""
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__ + "()"

    def forward_shape(self, shape):
        """The shape of ``t(x)`` for an ``x`` of ``shape``."""
        return shape

    def inverse_shape(self, shape):
        """The shape of ``t.inv(y)`` for a ``y`` of ``shape``."""
        return shape


class _InverseTransform(Transform):
    """The inverse of another transform: every query is answered by the original, reversed."""

    def __init__(self, transform):
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform  # a strong reference: the inverse keeps its original alive

    bijective = property(lambda self: self._inv.bijective)
    sign = property(lambda self: self._inv.sign)
    inv = property(lambda self: self._inv)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return self._inv.codomain

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return self._inv.domain

    def with_cache(self, cache_size=1):
        return self._inv.with_cache(cache_size).inv

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __repr__(self):
        return f"{type(self).__name__}({self._inv!r})"

    def __call__(self, x):
        # the original owns the cache, so both directions share one remembered pair
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)


class ComposeTransform(Transform):
    """Several transforms applied one after the other: ``parts[0]`` first.

    The domain and codomain account for event dims: when a later part treats more rightmost
    dims jointly than an earlier one, the earlier part's constraint is widened to match, and
    the log-Jacobian of each part is summed over the dims it sees as batch dims.

    Args:
        parts (list of Transform): the transforms, in order of application.
        cache_size (int): 0 or 1; when 1, every part is given a cache.

    Example:
        >>> t = ComposeTransform([AffineTransform(0.0, 2.0), ExpTransform()])
        >>> t(ember.tensor([0.0, 0.5]))
        tensor([1.0000, 2.7183])
        >>> t.inv(ember.tensor([1.0]))
        tensor([0.])
        >>> t.log_abs_det_jacobian(ember.tensor([0.5]), None)
        tensor([1.6931])
    """

    def __init__(self, parts, cache_size=0):
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size=cache_size)
        self.parts = parts

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    def __call__(self, x):
        # No cache of its own: each part remembers its own pair.
        for part in self.parts:
            x = part(x)
        return x

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        if not self.parts:
            return constraints.real
        # Walk back from the output: a part must receive as many event dims as the parts
        # after it consume, and never fewer than its own domain has.
        dims = self.parts[-1].codomain.event_dim
        for part in self.parts[::-1]:
            dims = max(dims + part.domain.event_dim - part.codomain.event_dim,
                       part.domain.event_dim)
        return _widen(self.parts[0].domain, dims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        if not self.parts:
            return constraints.real
        # The mirror image of ``domain``: walk forward from the input.
        dims = self.parts[0].domain.event_dim
        for part in self.parts:
            dims = max(dims + part.codomain.event_dim - part.domain.event_dim,
                       part.codomain.event_dim)
        return _widen(self.parts[-1].codomain, dims)

    @lazy_property
    def bijective(self):
        return all(part.bijective for part in self.parts)

    @lazy_property
    def sign(self):
        return functools.reduce(operator.mul, (part.sign for part in self.parts), 1)

    @property
    def inv(self):
        """The parts' inverses in reverse order, made once; its own ``inv`` is this one."""
        if self._inv is None:
            backwards = ComposeTransform([part.inv for part in reversed(self.parts)])
            backwards._inv = self
            self._inv = backwards
        return self._inv

    def _remake(self, cache_size):
        return ComposeTransform(self.parts, cache_size=cache_size)

    def log_abs_det_jacobian(self, x, y):
        total = None
        dims = self.domain.event_dim  # event dims of the value entering the current part
        last = len(self.parts) - 1
        for index, part in enumerate(self.parts):
            out = y if index == last else part(x)
            term = _sum_rightmost(part.log_abs_det_jacobian(x, out),
                                  dims - part.domain.event_dim)
            total = term if total is None else total + term
            dims += part.codomain.event_dim - part.domain.event_dim
            x = out
        # no parts: the identity map, whose log-Jacobian is 0 everywhere
        return ember.zeros_like(x) if total is None else total

    def forward_shape(self, shape):
        return functools.reduce(lambda s, part: part.forward_shape(s), self.parts, shape)

    def inverse_shape(self, shape):
        return functools.reduce(lambda s, part: part.inverse_shape(s), self.parts[::-1], shape)

    def __repr__(self):
        listed = ",\n    ".join(repr(part) for part in self.parts)
        return f"{type(self).__name__}(\n    {listed}\n)"


def _widen(constraint, event_dim):
    """``constraint`` made to cover ``event_dim`` rightmost dims (never fewer than its own)."""
    extra = event_dim - constraint.event_dim
    assert extra >= 0
    return constraints.independent(constraint, extra) if extra else constraint


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """``base_transform`` with ``reinterpreted_batch_ndims`` more rightmost dims counted as
    event dims: values are unchanged, the log-Jacobian is summed over those dims.

    Args:
        base_transform (Transform): the transform to wrap.
        reinterpreted_batch_ndims (int): how many batch dims become event dims.
        cache_size (int): 0 or 1 (passed on to the base transform).

    Example:
        >>> t = IndependentTransform(ExpTransform(), 1)
        >>> x = ember.tensor([[0.0, 1.0], [2.0, 3.0]])
        >>> t.log_abs_det_jacobian(x, t(x))
        tensor([1., 5.])
        >>> t.event_dim
        1
    """

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def _remake(self, cache_size):
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims,
                                    cache_size=cache_size)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.independent(self.base_transform.domain,
                                       self.reinterpreted_batch_ndims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.independent(self.base_transform.codomain,
                                       self.reinterpreted_batch_ndims)

    bijective = property(lambda self: self.base_transform.bijective)
    sign = property(lambda self: self.base_transform.sign)

    @staticmethod
    def _require_dims(value, constraint):
        if value.dim() < constraint.event_dim:
            raise ValueError("Too few dimensions on input")

    def _call(self, x):
        self._require_dims(x, self.domain)
        return self.base_transform(x)

    def _inverse(self, y):
        self._require_dims(y, self.codomain)
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        per_element = self.base_transform.log_abs_det_jacobian(x, y)
        return _sum_rightmost(per_element, self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_transform!r}, {self.reinterpreted_batch_ndims})"

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)


class ReshapeTransform(Transform):
    """Reshapes the rightmost ``in_shape`` dims into ``out_shape`` (a volume-preserving map).

    Args:
        in_shape (ember.Size): event shape of the input.
        out_shape (ember.Size): event shape of the output; same number of elements.
        cache_size (int): 0 or 1.

    Example:
        >>> t = ReshapeTransform((4,), (2, 2))
        >>> tuple(t(ember.arange(8.0).reshape(2, 4)).shape)
        (2, 2, 2)
        >>> tuple(t.forward_shape((5, 4)))
        (5, 2, 2)
    """

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size=0):
        self.in_shape, self.out_shape = ember.Size(in_shape), ember.Size(out_shape)
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    def _remake(self, cache_size):
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    @constraints.dependent_property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def _batch(self, value, event_shape):
        return value.shape[: value.dim() - len(event_shape)]

    def _call(self, x):
        return x.reshape(self._batch(x, self.in_shape) + self.out_shape)

    def _inverse(self, y):
        return y.reshape(self._batch(y, self.out_shape) + self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        # a permutation of entries: the Jacobian has |det| 1
        return x.new_zeros(self._batch(x, self.in_shape))

    @staticmethod
    def _swap(shape, old, new):
        if len(shape) < len(old):
            raise ValueError("Too few dimensions on input")
        split = len(shape) - len(old)
        if shape[split:] != old:
            raise ValueError(f"Shape mismatch: expected {shape[split:]} but got {old}")
        return ember.Size(tuple(shape[:split]) + tuple(new))

    def forward_shape(self, shape):
        return self._swap(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._swap(shape, self.out_shape, self.in_shape)


def _same_kind(cls):
    """Class decorator: instances compare equal to any instance of ``cls`` (they hold no
    parameters), and hashing stays off as for every transform."""
    cls.__eq__ = lambda self, other: isinstance(other, cls)
    return cls


@_same_kind
class ExpTransform(Transform):
    """``y = exp(x)``, from the real line onto the positive reals.

    Example:
        >>> ExpTransform()(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 2.7183])
        >>> ExpTransform().inv(ember.tensor([1.0]))
        tensor([0.])
    """

    domain, codomain = constraints.real, constraints.positive
    bijective, sign = True, +1
    _call, _inverse = staticmethod(ember.exp), staticmethod(ember.log)

    def log_abs_det_jacobian(self, x, y):
        return x  # d exp(x)/dx = exp(x), whose log is x


class PowerTransform(Transform):
    """``y = x ** exponent`` on the positive reals.

    Args:
        exponent (Tensor or float): the power (broadcast against the input).
        cache_size (int): 0 or 1.

    Example:
        >>> t = PowerTransform(2.0)
        >>> t(ember.tensor([3.0]))
        tensor([9.])
        >>> t.inv(ember.tensor([16.0]))
        tensor([4.])
    """

    domain = codomain = constraints.positive
    bijective = True

    def __init__(self, exponent, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.exponent = broadcast_all(exponent)[0]

    def _remake(self, cache_size):
        return PowerTransform(self.exponent, cache_size=cache_size)

    @lazy_property
    def sign(self):
        return self.exponent.sign()

    def __eq__(self, other):
        return isinstance(other, PowerTransform) and bool(
            (self.exponent == other.exponent).all().item())

    def _call(self, x):
        return ember.pow(x, self.exponent)

    def _inverse(self, y):
        return ember.pow(y, self.exponent.reciprocal())

    def log_abs_det_jacobian(self, x, y):
        # dy/dx = p * x ** (p - 1), which is p * y / x
        return ember.log(ember.abs(self.exponent * y / x))

    def forward_shape(self, shape):
        return ember.broadcast_shapes(shape, self.exponent.shape)

    inverse_shape = forward_shape


def _clipped_sigmoid(x):
    """sigmoid(x) kept strictly inside (0, 1) so that its logit stays finite."""
    info = ember.finfo(x.dtype)
    return ember.clamp(ember.sigmoid(x), min=info.tiny, max=1.0 - info.eps)


@_same_kind
class SigmoidTransform(Transform):
    """``y = 1 / (1 + exp(-x))``, from the real line into the unit interval.

    Outputs are clipped away from 0 and 1 so that the inverse (the logit) stays finite.

    Example:
        >>> t = SigmoidTransform()
        >>> t(ember.tensor([0.0, 2.0]))
        tensor([0.5000, 0.8808])
        >>> t.inv(ember.tensor([0.5]))
        tensor([0.])
    """

    domain, codomain = constraints.real, constraints.unit_interval
    bijective, sign = True, +1
    _call = staticmethod(_clipped_sigmoid)

    def _inverse(self, y):
        info = ember.finfo(y.dtype)
        p = ember.clamp(y, min=info.tiny, max=1.0 - info.eps)
        return ember.log(p) - ember.log1p(-p)

    def log_abs_det_jacobian(self, x, y):
        # sigmoid' = sigmoid(x) * sigmoid(-x); softplus gives both logs without overflow
        return -(F.softplus(x) + F.softplus(-x))


@_same_kind
class SoftplusTransform(Transform):
    """``y = log(1 + exp(x))``, from the real line onto the positive reals.

    Example:
        >>> t = SoftplusTransform()
        >>> t(ember.tensor([0.0]))
        tensor([0.6931])
        >>> t.inv(ember.tensor([2.0]))
        tensor([1.8546])
    """

    domain, codomain = constraints.real, constraints.positive
    bijective, sign = True, +1
    _call = staticmethod(F.softplus)

    def _inverse(self, y):
        # log(exp(y) - 1) written as y + log(1 - exp(-y)), which neither overflows nor cancels
        return y + ember.log(-ember.expm1(-y))

    def log_abs_det_jacobian(self, x, y):
        return F.logsigmoid(x)  # softplus' = sigmoid


_LOG2 = math.log(2.0)


def _log_tanh_slope(x):
    """log(1 - tanh(x)^2) = 2 * (log 2 - x - softplus(-2x)), stable for large |x|."""
    return 2.0 * (_LOG2 - x - F.softplus(-2.0 * x))



@_same_kind
class TanhTransform(Transform):
    """``y = tanh(x)``, from the real line into (-1, 1).

    The inverse does not clip, so ``inv`` of exactly ±1 is ±inf; to keep samples of a
    transformed distribution usable, build it with ``cache_size=1``.

    Example:
        >>> t = TanhTransform()
        >>> t(ember.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7616])
        >>> t.log_abs_det_jacobian(ember.tensor([0.0]), t(ember.tensor([0.0])))
        tensor([0.])
    """

    domain, codomain = constraints.real, constraints.interval(-1.0, 1.0)
    bijective, sign = True, +1
    _call, _inverse = staticmethod(ember.tanh), staticmethod(ember.atanh)

    def log_abs_det_jacobian(self, x, y):
        return _log_tanh_slope(x)


@_same_kind
class AbsTransform(Transform):
    """``y = |x|``; not invertible, so ``inv`` returns its input unchanged.

    Example:
        >>> AbsTransform()(ember.tensor([-2.0, 3.0]))
        tensor([2., 3.])
        >>> AbsTransform().inv(ember.tensor([2.0]))
        tensor([2.])
    """

    domain, codomain = constraints.real, constraints.positive
    _call = staticmethod(ember.abs)

    def _inverse(self, y):
        return y  # of the two preimages, the nonnegative one


class AffineTransform(Transform):
    """``y = loc + scale * x``, pointwise.

    Args:
        loc (Tensor or float): shift.
        scale (Tensor or float): scale factor.
        event_dim (int): rightmost dims treated as one event (their log-Jacobians are summed).
        cache_size (int): 0 or 1.

    Example:
        >>> t = AffineTransform(1.0, 2.0)
        >>> t(ember.tensor([0.0, 1.0]))
        tensor([1., 3.])
        >>> t.inv(ember.tensor([5.0]))
        tensor([2.])
        >>> t.log_abs_det_jacobian(ember.tensor([0.0]), ember.tensor([1.0]))
        tensor([0.6931])
    """

    bijective = True

    def __init__(self, loc, scale, event_dim=0, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    def _remake(self, cache_size):
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    event_dim = property(lambda self: self._event_dim)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return _widen(constraints.real, self._event_dim)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return _widen(constraints.real, self._event_dim)

    def __eq__(self, other):
        return (isinstance(other, AffineTransform) and _same(self.loc, other.loc)
                and _same(self.scale, other.scale))

    @property
    def sign(self):
        s = self.scale
        if not isinstance(s, numbers.Real):
            return s.sign()
        return (float(s) > 0) - (float(s) < 0)

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        k = self._event_dim
        if isinstance(self.scale, numbers.Real):
            logs = ember.full_like(x, math.log(abs(self.scale)))
        else:
            logs = ember.log(ember.abs(self.scale))
        if k:
            # add up the scale's own event entries, then broadcast over the batch of x
            logs = logs.reshape(tuple(logs.shape[:-k]) + (-1,)).sum(-1)
            return logs.expand(x.shape[:-k])
        return logs.expand(x.shape)

    def forward_shape(self, shape):
        return ember.broadcast_shapes(shape, *(getattr(v, "shape", ()) for v in
                                               (self.loc, self.scale)))

    inverse_shape = forward_shape


def _same(a, b):
    """Equality of two affine parameters, each a number or a tensor."""
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return a == b
    return bool((a == b).all().item())


class CorrCholeskyTransform(Transform):
    """Maps an unconstrained vector of length ``D*(D-1)/2`` to the Cholesky factor of a
    ``D x D`` correlation matrix (lower triangular, positive diagonal, unit-norm rows).

    Each entry goes through ``tanh`` to land in (-1, 1); row ``i`` is then filled left to
    right, each entry taking that fraction of the norm still left in the row and the
    diagonal taking the rest (a stick-breaking of each row's unit norm).

    Example:
        >>> t = CorrCholeskyTransform()
        >>> y = t(ember.tensor([0.5, -0.3, 1.0]))
        >>> tuple(y.shape)
        (3, 3)
        >>> (y * y).sum(-1)
        tensor([1., 1., 1.])
        >>> t.inv(y)
        tensor([ 0.5000, -0.3000,  1.0000])
    """

    domain, codomain = constraints.real_vector, constraints.corr_cholesky
    bijective = True

    def _call(self, x):
        eps = ember.finfo(x.dtype).eps
        # fractions of the remaining row norm, kept off ±1 so the diagonal stays positive
        frac = vec_to_tril_matrix(ember.clamp(ember.tanh(x), -1 + eps, 1 - eps), diag=-1)
        left = ember.cumprod(ember.sqrt(1 - frac * frac), -1)  # norm left after each column
        before = F.pad(left[..., :-1], [1, 0], value=1)  # norm left before each column
        eye = ember.eye(frac.shape[-1], dtype=x.dtype, device=x.device)
        return (frac + eye) * before

    def _inverse(self, y):
        used = ember.cumsum(y * y, -1)
        before = F.pad(1 - used[..., :-1], [1, 0], value=1)
        frac = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(before, diag=-1).sqrt()
        return ember.atanh(frac)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        # stick-breaking part: d y_ij / d frac_ij = sqrt(norm left before column j), j < i;
        # the first column's factor is 1, so only entries two below the diagonal contribute
        left = 1 - ember.cumsum(y * y, -1)
        stick = 0.5 * ember.log(tril_matrix_to_vec(left, diag=-2)).sum(-1)
        return stick + _log_tanh_slope(x).sum(-1)

    def forward_shape(self, shape):
        _need_dims(shape, 1)
        n = shape[-1]
        d = round((1 + math.sqrt(1 + 8 * n)) / 2)  # solves d * (d - 1) / 2 = n
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return shape[:-1] + (d, d)

    def inverse_shape(self, shape):
        _need_dims(shape, 2)
        d = shape[-1]
        if shape[-2] != d:
            raise ValueError("Input is not square")
        return shape[:-2] + (d * (d - 1) // 2,)


def _need_dims(shape, n):
    if len(shape) < n:
        raise ValueError("Too few dimensions on input")


@_same_kind
class SoftmaxTransform(Transform):
    """Softmax over the last dim: real vectors onto the simplex.

    Not a bijection (adding a constant to ``x`` changes nothing); ``inv`` returns ``log(y)``,
    one of the preimages. Use ``StickBreakingTransform`` where a Jacobian is needed.

    Example:
        >>> t = SoftmaxTransform()
        >>> t(ember.tensor([0.0, 0.0, 0.0, 0.0]))
        tensor([0.2500, 0.2500, 0.2500, 0.2500])
        >>> t.inv(ember.tensor([0.5, 0.5]))
        tensor([-0.6931, -0.6931])
    """

    domain, codomain = constraints.real_vector, constraints.simplex
    _inverse = staticmethod(ember.log)

    def _call(self, x):
        # shift by the max so exp cannot overflow
        w = ember.exp(x - ember.amax(x, -1, keepdim=True))
        return w / w.sum(-1, keepdim=True)

    def forward_shape(self, shape):
        _need_dims(shape, 1)
        return shape

    inverse_shape = forward_shape


@_same_kind
class StickBreakingTransform(Transform):
    """Bijection from vectors of length ``K-1`` onto the ``K``-simplex by stick breaking.

    Entry ``i`` becomes a fraction ``z_i = sigmoid(x_i - log(K-1-i))`` of the stick still
    left; the offset makes ``x = 0`` map to the uniform point. The last entry is what remains.

    Example:
        >>> t = StickBreakingTransform()
        >>> t(ember.tensor([0.0, 0.0]))
        tensor([0.3333, 0.3333, 0.3333])
        >>> t.inv(ember.tensor([0.2, 0.3, 0.5]))
        tensor([-0.6931, -0.5108])
    """

    domain, codomain = constraints.real_vector, constraints.simplex
    bijective = True

    @staticmethod
    def _log_offsets(like, n):
        # log(n), log(n-1), ..., log(1)
        return ember.log(n + 1 - like.new_ones(n).cumsum(-1))

    def _call(self, x):
        frac = _clipped_sigmoid(x - self._log_offsets(x, x.shape[-1]))
        left = ember.cumprod(1 - frac, -1)  # stick left after each break
        return F.pad(frac, [0, 1], value=1) * F.pad(left, [1, 0], value=1)

    def _inverse(self, y):
        head = y[..., :-1]
        left = ember.clamp(1 - ember.cumsum(head, -1), min=ember.finfo(y.dtype).tiny)
        # logit of each fraction: log(piece) - log(stick left after it)
        return ember.log(head) - ember.log(left) + self._log_offsets(y, head.shape[-1])

    def log_abs_det_jacobian(self, x, y):
        # triangular Jacobian: dy_i/dx_i = y_i * (1 - z_i), log(1 - z) = logsigmoid(u) - u
        u = x - self._log_offsets(x, x.shape[-1])
        return (F.logsigmoid(u) - u + ember.log(y[..., :-1])).sum(-1)

    def forward_shape(self, shape):
        _need_dims(shape, 1)
        return shape[:-1] + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        _need_dims(shape, 1)
        return shape[:-1] + (shape[-1] - 1,)


def _map_diagonal(m, fn):
    """``m`` with its strictly upper part zeroed and ``fn`` applied to its diagonal."""
    return ember.tril(m, -1) + ember.diag_embed(fn(ember.diagonal(m, dim1=-2, dim2=-1)))


@_same_kind
class LowerCholeskyTransform(Transform):
    """Square matrices to lower-triangular ones with a positive diagonal.

    Keeps the strictly lower part and exponentiates the diagonal; the upper part is dropped,
    so the map is not injective.

    Example:
        >>> LowerCholeskyTransform()(ember.tensor([[0.0, 5.0], [2.0, 0.0]]))
        tensor([[1., 0.],
                [2., 1.]])
    """

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x):
        return _map_diagonal(x, ember.exp)

    def _inverse(self, y):
        return _map_diagonal(y, ember.log)


@_same_kind
class PositiveDefiniteTransform(Transform):
    """Square matrices to positive definite ones: ``L @ L.mT`` with ``L`` from
    ``LowerCholeskyTransform``; the inverse goes back through a Cholesky factorization.

    Example:
        >>> PositiveDefiniteTransform()(ember.tensor([[0.0, 0.0], [1.0, 0.0]]))
        tensor([[1., 1.],
                [1., 2.]])
    """

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x):
        factor = _map_diagonal(x, ember.exp)
        return ember.matmul(factor, factor.mT)

    def _inverse(self, y):
        return _map_diagonal(ember.linalg.cholesky(y), ember.log)


class _PiecewiseTransform(Transform):
    """Shared checks of ``CatTransform`` and ``StackTransform``: one transform per piece of
    the input along ``dim``."""

    def __init__(self, tseq, dim, cache_size):
        assert all(isinstance(t, Transform) for t in tseq), (
            "All elements of tseq must be Transform instances")
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) if cache_size else t for t in tseq]
        self.dim = dim

    def _check_dim(self, value, label):
        if not -value.dim() <= self.dim < value.dim():
            raise AssertionError(
                f"dim {self.dim} out of range for {label} with {value.dim()} dimensions")

    def _check_size(self, value, var, size, what):
        if value.size(self.dim) != size:
            raise AssertionError(
                f"{var}.size({self.dim}) = {value.size(self.dim)} must equal {what} {size}")

    bijective = property(lambda self: all(t.bijective for t in self.transforms))


class CatTransform(_PiecewiseTransform):
    """Applies a list of transforms to consecutive blocks along ``dim``, like ``ember.cat``.

    Block ``i`` has ``lengths[i]`` entries (1 each by default) and goes through ``tseq[i]``.

    Args:
        tseq (list of Transform): one transform per block.
        dim (int): the dim along which blocks are laid out.
        lengths (list of int, optional): block sizes.
        cache_size (int): cache size given to every transform.

    Example:
        >>> t = CatTransform([ExpTransform(), AffineTransform(0.0, 2.0)], dim=0, lengths=[1, 2])
        >>> t(ember.tensor([0.0, 1.0, 2.0]))
        tensor([1., 2., 4.])
    """

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        super().__init__(tseq, dim, cache_size)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        assert len(self.lengths) == len(self.transforms), (
            f"lengths ({len(self.lengths)}) must match transforms ({len(self.transforms)})")

    def _remake(self, cache_size):
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    @lazy_property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @lazy_property
    def length(self):
        return sum(self.lengths)

    def _blocks(self, value):
        start = 0
        for n in self.lengths:
            yield value.narrow(self.dim, start, n)
            start += n

    def _call(self, x):
        self._check_dim(x, "tensor")
        self._check_size(x, "x", self.length, "length")
        return ember.cat([t(b) for t, b in zip(self.transforms, self._blocks(x))], self.dim)

    def _inverse(self, y):
        self._check_dim(y, "tensor")
        self._check_size(y, "y", self.length, "length")
        return ember.cat([t.inv(b) for t, b in zip(self.transforms, self._blocks(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        for value, var in ((x, "x"), (y, "y")):
            self._check_dim(value, var)
            self._check_size(value, var, self.length, "length")
        pieces = [
            # bring every block to this transform's (largest) event rank
            _sum_rightmost(t.log_abs_det_jacobian(a, b), self.event_dim - t.event_dim)
            for t, a, b in zip(self.transforms, self._blocks(x), self._blocks(y))
        ]
        # counted from the right, does dim survive in the log-Jacobian (a batch dim)?
        from_right = (self.dim if self.dim < 0 else self.dim - x.dim()) + self.event_dim
        if from_right < 0:
            return ember.cat(pieces, dim=from_right)
        return sum(pieces)  # dim is an event dim: the blocks' terms add up

    @constraints.dependent_property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(_PiecewiseTransform):
    """Applies transform ``i`` to slice ``i`` along ``dim`` and stacks the results.

    Args:
        tseq (list of Transform): one transform per slice.
        dim (int): the dim that is sliced.
        cache_size (int): cache size given to every transform.

    Example:
        >>> t = StackTransform([ExpTransform(), AffineTransform(1.0, 3.0)], dim=1)
        >>> t(ember.tensor([[0.0, 1.0], [1.0, 2.0]]))
        tensor([[1.0000, 4.0000],
                [2.7183, 7.0000]])
    """

    def __init__(self, tseq, dim=0, cache_size=0):
        super().__init__(tseq, dim, cache_size)

    def _remake(self, cache_size):
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slice(self, z):
        return [z.select(self.dim, i) for i in range(z.size(self.dim))]

    def _each(self, value, var, inverse):
        self._check_dim(value, "tensor")
        self._check_size(value, var, len(self.transforms), "len(transforms)")
        maps = [t.inv if inverse else t for t in self.transforms]
        return ember.stack([m(s) for m, s in zip(maps, self._slice(value))], dim=self.dim)

    def _call(self, x):
        return self._each(x, "x", inverse=False)

    def _inverse(self, y):
        return self._each(y, "y", inverse=True)

    def log_abs_det_jacobian(self, x, y):
        n = len(self.transforms)
        for value, var in ((x, "x"), (y, "y")):
            self._check_dim(value, var)
            self._check_size(value, var, n, "len(transforms)")
        terms = [t.log_abs_det_jacobian(a, b)
                 for t, a, b in zip(self.transforms, self._slice(x), self._slice(y))]
        return ember.stack(terms, dim=self.dim)

    @constraints.dependent_property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @constraints.dependent_property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)


class CumulativeDistributionTransform(Transform):
    """A distribution's CDF as a transform: its support onto the unit interval.

    The inverse is the distribution's ``icdf`` and the log-Jacobian its ``log_prob``, which
    is how a copula is built from marginals.

    Args:
        distribution (Distribution): a univariate distribution with ``cdf``/``icdf``.
        cache_size (int): 0 or 1.

    Example:
        >>> t = CumulativeDistributionTransform(Normal(0.0, 1.0))
        >>> t(ember.tensor([0.0]))
        tensor([0.5000])
        >>> t.log_abs_det_jacobian(ember.tensor([0.0]), None)
        tensor([-0.9189])
    """

    codomain = constraints.unit_interval
    bijective, sign = True, +1

    def __init__(self, distribution: Distribution, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    def _remake(self, cache_size):
        return type(self)(self.distribution, cache_size=cache_size)

    domain = property(lambda self: self.distribution.support)

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)  # the CDF's derivative is the density
