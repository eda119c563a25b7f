"""From unconstrained reals to a constraint: ``biject_to`` and ``transform_to``.

Both are lookup tables from a constraint's class to a factory that builds a
:class:`~ember.distributions.transforms.Transform` whose domain is the real numbers
(``constraints.real`` or a vector/matrix of reals) and whose codomain is the constraint.
Optimising an unconstrained tensor ``u`` and using ``transform(u)`` keeps the value inside
the constraint throughout.

They differ in what they promise:

* ``biject_to(c)`` returns a bijection, so ``inv`` and ``log_abs_det_jacobian`` are defined:
  what a change of variables needs (HMC and other samplers that work in unconstrained space).
  It can map into a space of lower dimension than its input is drawn from (the simplex is
  reached from one fewer real per vector, via stick breaking).
* ``transform_to(c)`` only promises a codomain of ``c``; it may be many-to-one (the simplex is
  reached via softmax), and so it exists for more constraints (``lower_cholesky``,
  ``positive_definite``), which suits plain gradient-based optimisation.

A constraint without a factory raises ``NotImplementedError``. New ones are added with
``register``, for a constraint class or for the class of a given constraint object.
"""

from __future__ import annotations

from . import constraints, transforms
from .utils import _Number

__all__ = [
    "ConstraintRegistry",
    "biject_to",
    "transform_to",
]


class ConstraintRegistry:
    """A table from constraint classes to factories ``factory(constraint) -> Transform``.

    Calling the registry with a constraint object finds the factory registered for the
    object's exact class and hands it the object, so a parameterised constraint
    (``interval(a, b)``) gets a transform built from its own parameters.

    Example:
        >>> from ember.distributions import biject_to, constraints, transform_to
        >>> biject_to(constraints.unit_interval)
        SigmoidTransform()
        >>> transform_to(constraints.simplex)(ember.zeros(3))
        tensor([0.3333, 0.3333, 0.3333])
    """

    def __init__(self):
        self._registry = {}

    def register(self, constraint, factory=None):
        """Use ``factory`` for ``constraint`` (a ``Constraint`` subclass, or an instance
        standing for its class); without ``factory``, return a decorator that registers the
        function it decorates. Returns the factory.

        Example:
            >>> from ember.distributions import constraints, transforms
            >>> from ember.distributions.constraint_registry import ConstraintRegistry
            >>> registry = ConstraintRegistry()
            >>> @registry.register(constraints.positive)
            ... def to_positive(constraint):
            ...     return transforms.ExpTransform()
            >>> registry(constraints.greater_than(0.0))
            ExpTransform()
        """
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        key = type(constraint) if isinstance(constraint, constraints.Constraint) else constraint
        if not (isinstance(key, type) and issubclass(key, constraints.Constraint)):
            raise TypeError("Expected constraint to be either a Constraint subclass or "
                            f"instance, but got {constraint}")
        self._registry[key] = factory
        return factory

    def __call__(self, constraint):
        """The transform from unconstrained reals onto ``constraint``."""
        factory = self._registry.get(type(constraint))
        if factory is None:
            raise NotImplementedError(
                f"Cannot transform {type(constraint).__name__} constraints")
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _on_both(*classes):
    """Register the decorated factory for ``classes`` in both registries: for these
    constraints the same bijection serves either purpose."""

    def add(factory):
        for cls in classes:
            biject_to.register(cls, factory)
            transform_to.register(cls, factory)
        return factory

    return add


@_on_both(constraints._Real)
def _identity(constraint):
    return transforms.identity_transform


@_on_both(constraints._GreaterThan, constraints._GreaterThanEq)
def _exp_from_below(constraint):
    # exp reaches (0, inf); the shift moves the bound (the boundary itself is never reached)
    return transforms.ComposeTransform([
        transforms.ExpTransform(), transforms.AffineTransform(constraint.lower_bound, 1)])


@_on_both(constraints._LessThan)
def _exp_from_above(constraint):
    return transforms.ComposeTransform([
        transforms.ExpTransform(), transforms.AffineTransform(constraint.upper_bound, -1)])


@_on_both(constraints._Interval, constraints._HalfOpenInterval)
def _sigmoid_into(constraint):
    low, high = constraint.lower_bound, constraint.upper_bound
    if isinstance(low, _Number) and isinstance(high, _Number) and low == 0 and high == 1:
        return transforms.SigmoidTransform()  # the unit interval needs no rescaling
    return transforms.ComposeTransform([
        transforms.SigmoidTransform(), transforms.AffineTransform(low, high - low)])


@_on_both(constraints._CorrCholesky)
def _corr_cholesky(constraint):
    return transforms.CorrCholeskyTransform()


biject_to.register(constraints.simplex, lambda c: transforms.StickBreakingTransform())
# the rest have no bijection from unconstrained reals: only ``transform_to`` covers them
transform_to.register(constraints.simplex, lambda c: transforms.SoftmaxTransform())
transform_to.register(constraints.lower_cholesky, lambda c: transforms.LowerCholeskyTransform())
for _cls in (constraints._PositiveDefinite, constraints._PositiveSemidefinite):
    transform_to.register(_cls, lambda c: transforms.PositiveDefiniteTransform())


def _compound_factories(registry):
    """Factories for constraints made of other constraints: each part is mapped by the same
    ``registry``, so ``biject_to`` composes bijections and ``transform_to`` the rest."""

    @registry.register(constraints.independent)
    def _independent(constraint):
        return transforms.IndependentTransform(
            registry(constraint.base_constraint), constraint.reinterpreted_batch_ndims)

    @registry.register(constraints.cat)
    def _cat(constraint):
        return transforms.CatTransform(
            [registry(c) for c in constraint.cseq], constraint.dim, constraint.lengths)

    @registry.register(constraints.stack)
    def _stack(constraint):
        return transforms.StackTransform([registry(c) for c in constraint.cseq], constraint.dim)


_compound_factories(biject_to)
_compound_factories(transform_to)
