"""Constraints: the sets that distribution parameters and samples must belong to.

A constraint answers one question, ``constraint.check(value)``: which entries (or, for
constraints on vectors and matrices, which events) of ``value`` lie in the set. Distributions
use them to validate their arguments (``arg_constraints``) and to describe where their samples
live (``support``); ``biject_to`` / ``transform_to`` map an unconstrained real tensor onto them.

Two attributes describe the set: ``is_discrete`` (it holds countably many points) and
``event_dim`` (how many rightmost dimensions form one element: 0 for scalars, 1 for vectors such
as the simplex, 2 for matrices). ``check`` reduces those dimensions away, so its result has the
shape ``value.shape[:value.dim() - event_dim]``.

The public names are either ready-made instances (``real``, ``positive``, ``simplex``, ...) or
classes to instantiate with parameters (``interval(low, high)``, ``independent(c, n)``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember

__all__ = [
    "Constraint",
    "boolean",
    "cat",
    "corr_cholesky",
    "dependent",
    "dependent_property",
    "greater_than",
    "greater_than_eq",
    "independent",
    "integer_interval",
    "interval",
    "half_open_interval",
    "is_dependent",
    "less_than",
    "lower_cholesky",
    "lower_triangular",
    "MixtureSameFamilyConstraint",
    "multinomial",
    "nonnegative",
    "nonnegative_integer",
    "one_hot",
    "positive",
    "positive_semidefinite",
    "positive_definite",
    "positive_integer",
    "real",
    "real_vector",
    "simplex",
    "square",
    "stack",
    "symmetric",
    "unit_interval",
]


class Constraint:
    """Base class of all constraints: a region of values, tested with ``check``.

    Subclasses set ``is_discrete`` and ``event_dim`` and implement ``check(value)``, which
    returns a boolean tensor over the batch: one entry per event of ``value``.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> constraints.positive.check(ember.tensor([-1.0, 0.0, 2.0]))
        tensor([False, False,  True])
        >>> constraints.simplex.event_dim
        1
    """

    is_discrete = False
    event_dim = 0
    # names of the parameters ``repr`` shows, as ``name=value``
    _shown: tuple[str, ...] = ()

    def check(self, value):
        """A boolean tensor, ``True`` where an event of ``value`` satisfies the constraint."""
        raise NotImplementedError

    def __repr__(self):
        # the public objects come from private classes (``_Real`` shows as ``Real()``)
        args = ", ".join(f"{name}={getattr(self, name)}" for name in self._shown)
        return f"{type(self).__name__[1:]}({args})"


# -- constraints that depend on other values ------------------------------------------------

class _Dependent(Constraint):
    """A support that depends on the distribution's parameters, so no fixed set describes it
    (a Binomial's support depends on its ``total_count``).

    ``is_discrete`` and ``event_dim`` are known only when given here (or through a call,
    ``dependent(is_discrete=True, event_dim=0)``, which returns a new placeholder); reading
    one that was not given raises ``NotImplementedError``. ``check`` always raises
    ``ValueError``: the values it would need are not at hand.
    """

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    def _known(self, name: str):
        value = getattr(self, "_" + name)
        if value is NotImplemented:
            raise NotImplementedError(f".{name} cannot be determined statically")
        return value

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self._known("is_discrete")

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self._known("event_dim")

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        """A new placeholder; attributes not given keep this one's values."""
        if is_discrete is NotImplemented:
            is_discrete = self._is_discrete
        if event_dim is NotImplemented:
            event_dim = self._event_dim
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, x):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint):
    """Whether ``constraint`` is a placeholder for a parameter-dependent support
    (``dependent``, or a ``dependent_property`` read from a class).

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> constraints.is_dependent(constraints.dependent), constraints.is_dependent(
        ...     constraints.real)
        (True, False)
    """
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A ``property`` for a distribution's ``support`` (or an argument constraint) that
    depends on the instance.

    Read from an instance it computes the constraint, like any property; read from the class
    it is itself a dependent constraint, so code that inspects a distribution class (without
    parameters) still sees ``is_discrete`` and ``event_dim`` when they were given. Use it bare,
    ``@constraints.dependent_property``, or with those attributes,
    ``@constraints.dependent_property(is_discrete=True, event_dim=0)``.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> class Box:
        ...     def __init__(self, high):
        ...         self.high = high
        ...     @constraints.dependent_property(is_discrete=False, event_dim=0)
        ...     def support(self):
        ...         return constraints.interval(0.0, self.high)
        >>> Box(2.0).support
        Interval(lower_bound=0.0, upper_bound=2.0)
        >>> constraints.is_dependent(Box.support), Box.support.event_dim
        (True, 0)
    """

    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        is_discrete: bool | None = NotImplemented,
        event_dim: int | None = NotImplemented,
    ) -> None:
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn: Callable[..., Any]) -> _DependentProperty:  # type: ignore[override]
        # reached when used as ``@dependent_property(...)``: wrap the method now
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


# -- constraints built from other constraints -----------------------------------------------

def _require_constraint(obj, what: str = "base_constraint") -> None:
    assert isinstance(obj, Constraint), f"{what} must be a Constraint, got {type(obj).__name__}"


class _IndependentConstraint(Constraint):
    """``base_constraint`` applied to each entry, with the ``reinterpreted_batch_ndims``
    rightmost batch dimensions folded into the event: an event is valid when all its
    entries are.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> c = constraints.independent(constraints.positive, 1)
        >>> c.event_dim, c.check(ember.tensor([[1.0, 2.0], [3.0, -1.0]]))
        (1, tensor([ True, False]))
    """

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        _require_constraint(base_constraint)
        n = reinterpreted_batch_ndims
        assert isinstance(n, int), (
            f"reinterpreted_batch_ndims must be an int, got {type(n).__name__}")
        assert n >= 0, f"reinterpreted_batch_ndims must be >= 0, got {n}"
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = n

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        if ok.dim() < n:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.dim()}")
        return ok if n == 0 else ok.flatten(ok.dim() - n).all(-1)

    def __repr__(self):
        return f"{type(self).__name__[1:]}({self.base_constraint!r}, " \
               f"{self.reinterpreted_batch_ndims})"


class MixtureSameFamilyConstraint(Constraint):
    """The support of a ``MixtureSameFamily``: a sample has no component dimension, so it is
    put back (as a size-1 dimension just left of the event) before the component
    distribution's ``base_constraint`` checks it.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> c = constraints.MixtureSameFamilyConstraint(constraints.simplex)
        >>> c.check(ember.tensor([[0.5, 0.5], [0.5, 0.6]]))
        tensor([ True, False])
    """

    def __init__(self, base_constraint):
        _require_constraint(base_constraint)
        self.base_constraint = base_constraint

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim

    def check(self, value):
        ok = self.base_constraint.check(value.unsqueeze(-1 - self.event_dim))
        # the event dims are gone, so the restored component dim is now the last one
        return ok.all(-1)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_constraint!r})"


def _check_dim(dim: int, value) -> None:
    assert -value.dim() <= dim < value.dim(), \
        f"dim {dim} out of range for value with {value.dim()} dimensions"


class _PerSlice(Constraint):
    """What ``cat`` and ``stack`` share: a sequence of constraints ``cseq``, one per slice of
    a tensor along ``dim``; discrete when any of them is."""

    def __init__(self, cseq, dim=0):
        assert all(isinstance(c, Constraint) for c in cseq), \
            "All elements of cseq must be Constraint instances"
        self.cseq = list(cseq)
        self.dim = dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)


class _Cat(_PerSlice):
    """Pieces of a tensor, cut along ``dim`` with sizes ``lengths`` (default 1 each), each
    checked by its own constraint from ``cseq``; the checks are joined back along ``dim``.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> c = constraints.cat([constraints.real, constraints.positive], dim=-1, lengths=[1, 2])
        >>> c.check(ember.tensor([-1.0, 2.0, -3.0]))
        tensor([ True,  True, False])
    """

    def __init__(self, cseq, dim=0, lengths=None):
        super().__init__(cseq, dim)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        assert len(self.lengths) == len(self.cseq), \
            f"lengths ({len(self.lengths)}) must match cseq ({len(self.cseq)})"

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        _check_dim(self.dim, value)
        pieces, start = [], 0
        for c, size in zip(self.cseq, self.lengths):
            pieces.append(c.check(value.narrow(self.dim, start, size)))
            start += size
        return ember.cat(pieces, self.dim)


class _Stack(_PerSlice):
    """Slices of a tensor along ``dim``, the i-th checked by the i-th constraint of
    ``cseq``; the checks are stacked back along ``dim``.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> c = constraints.stack([constraints.real, constraints.positive], dim=-1)
        >>> c.check(ember.tensor([[-1.0, 2.0], [1.0, -2.0]]))
        tensor([[ True,  True],
                [ True, False]])
    """

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        # the stacking dim is part of the event when it lies inside a piece's event dims
        inner = max(c.event_dim for c in self.cseq)
        return inner + 1 if self.dim + inner < 0 else inner

    def check(self, value):
        _check_dim(self.dim, value)
        # one slice per constraint; surplus slices or constraints are left out
        parts = [c.check(piece) for c, piece in zip(self.cseq, value.unbind(self.dim))]
        return ember.stack(parts, self.dim)


# -- discrete sets ---------------------------------------------------------------------------

def _whole(value):
    """Entries that are whole numbers (NaN and infinities are not)."""
    return value % 1 == 0


class _Boolean(Constraint):
    """The two values 0 and 1."""

    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _OneHot(Constraint):
    """Vectors of zeros with a single one."""

    is_discrete = True
    event_dim = 1

    def check(self, value):
        return boolean.check(value).all(-1) & (value.sum(-1) == 1)


class _IntegerInterval(Constraint):
    """Integers from ``lower_bound`` to ``upper_bound``, both included.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> constraints.integer_interval(0, 3).check(ember.tensor([0.0, 1.5, 3.0, 4.0]))
        tensor([ True, False,  True, False])
    """

    is_discrete = True
    _shown = ("lower_bound", "upper_bound")

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return _whole(value) & (self.lower_bound <= value) & (value <= self.upper_bound)


class _IntegerLessThan(Constraint):
    """Integers up to ``upper_bound``, included."""

    is_discrete = True
    _shown = ("upper_bound",)

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return _whole(value) & (value <= self.upper_bound)


class _IntegerGreaterThan(Constraint):
    """Integers from ``lower_bound`` on, included."""

    is_discrete = True
    _shown = ("lower_bound",)

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return _whole(value) & (value >= self.lower_bound)


class _Multinomial(Constraint):
    """Vectors of nonnegative counts that add up to at most ``upper_bound``.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> constraints.multinomial(3).check(ember.tensor([[1.0, 2.0], [2.0, 2.0]]))
        tensor([ True, False])
    """

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, x):
        return (x >= 0).all(-1) & (x.sum(-1) <= self.upper_bound)


# -- real sets -------------------------------------------------------------------------------

class _Real(Constraint):
    """The extended real line: everything but NaN."""

    def check(self, value):
        return value == value  # False exactly at NaN


class _GreaterThan(Constraint):
    """Reals strictly above ``lower_bound``.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> constraints.greater_than(1.0).check(ember.tensor([1.0, 1.5]))
        tensor([False,  True])
    """

    _shown = ("lower_bound",)

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound


class _GreaterThanEq(Constraint):
    """Reals at or above ``lower_bound``.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> constraints.greater_than_eq(1.0).check(ember.tensor([0.5, 1.0]))
        tensor([False,  True])
    """

    _shown = ("lower_bound",)

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return value >= self.lower_bound


class _LessThan(Constraint):
    """Reals strictly below ``upper_bound``.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> constraints.less_than(0.0).check(ember.tensor([-1.0, 0.0]))
        tensor([ True, False])
    """

    _shown = ("upper_bound",)

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound


class _Interval(Constraint):
    """The closed interval ``[lower_bound, upper_bound]``.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> constraints.interval(-1.0, 1.0).check(ember.tensor([-1.0, 1.0, 1.5]))
        tensor([ True,  True, False])
    """

    _shown = ("lower_bound", "upper_bound")

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value <= self.upper_bound)


class _HalfOpenInterval(Constraint):
    """The interval ``[lower_bound, upper_bound)``: the upper end left out.

    Example:
        >>> import ember.distributions.constraints as constraints
        >>> constraints.half_open_interval(0.0, 1.0).check(ember.tensor([0.0, 1.0]))
        tensor([ True, False])
    """

    _shown = ("lower_bound", "upper_bound")

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value < self.upper_bound)


class _Simplex(Constraint):
    """Probability vectors: nonnegative entries that sum to 1 (within 1e-6)."""

    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


# -- matrix sets -----------------------------------------------------------------------------

class _LowerTriangular(Constraint):
    """Square matrices with zeros above the diagonal."""

    event_dim = 2

    def check(self, value):
        return (value == value.tril()).flatten(-2).all(-1)


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal: Cholesky factors."""

    event_dim = 2

    def check(self, value):
        triangular = lower_triangular.check(value)
        return triangular & (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1)


class _CorrCholesky(Constraint):
    """Cholesky factors of correlation matrices: lower Cholesky factors whose rows have unit
    Euclidean norm (within a few machine epsilons per entry)."""

    event_dim = 2

    def check(self, value):
        tol = ember.finfo(value.dtype).eps * value.size(-1) * 10
        row_norm = ember.linalg.vector_norm(value.detach(), dim=-1)
        unit_rows = ((row_norm - 1).abs() <= tol).all(-1)
        return lower_cholesky.check(value) & unit_rows


class _Square(Constraint):
    """Square matrices (any entries)."""

    event_dim = 2

    def check(self, value):
        is_square = value.shape[-2] == value.shape[-1]
        return ember.full(value.shape[:-2], is_square, dtype=ember.bool, device=value.device)


class _Symmetric(_Square):
    """Square matrices equal to their transpose (up to ``isclose`` with atol 1e-6)."""

    def check(self, value):
        square = super().check(value)
        if not square.all():
            return square
        return ember.isclose(value, value.mT, atol=1e-6).flatten(-2).all(-1)


class _PositiveSemidefinite(_Symmetric):
    """Symmetric matrices with no negative eigenvalue."""

    def check(self, value):
        symmetric_ok = super().check(value)
        if not symmetric_ok.all():
            return symmetric_ok
        return (ember.linalg.eigvalsh(value) >= 0).all(-1)


class _PositiveDefinite(_Symmetric):
    """Symmetric matrices with only positive eigenvalues: those a Cholesky factorisation
    accepts."""

    def check(self, value):
        symmetric_ok = super().check(value)
        if not symmetric_ok.all():
            return symmetric_ok
        return ember.linalg.cholesky_ex(value).info == 0


# -- the public objects ----------------------------------------------------------------------

dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
multinomial = _Multinomial
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
stack = _Stack
