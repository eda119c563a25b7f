"""The base class of every ember distribution: shapes, argument and sample validation, and
the generic parts of the interface (``sample`` from ``rsample``, ``stddev`` from ``variance``,
``perplexity`` from ``entropy``)."""

import warnings

import ember
from ember import Tensor

from . import constraints
from .utils import _size, lazy_property

__all__ = ["Distribution"]


def _all_valid(check: Tensor) -> bool:
    """Whether every entry of a constraint check holds. Inside ``vmap`` PyTorch's check reads
    the whole batch without a data-dependent ``bool``, so valid values pass and only a failing
    one is refused (with vmap's ``.item()`` error); ember's per-element vmap does the same."""
    ok = check.all()
    if ok._vmap_levels:
        from ember.func._vmap import refuse_if_batched

        if bool(ok._data.item()):
            return True
        refuse_if_batched(ok, "item")
    return bool(ok)


def _not_implemented(*args, **kwargs):
    raise NotImplementedError


class Distribution:
    """Abstract base of probability distributions over tensors.

    A distribution has a ``batch_shape`` (independent, differently parameterised copies) and an
    ``event_shape`` (the shape of one draw of one copy); ``sample(sample_shape)`` returns a
    tensor of shape ``sample_shape + batch_shape + event_shape``. Subclasses supply the
    parameters (``arg_constraints``), the ``support`` and whichever of ``rsample``,
    ``log_prob``, ``cdf``, ``icdf``, ``entropy``, ``mean``, ``variance``... they can compute.

    With ``validate_args`` true (the default unless Python runs with ``-O``; change it with
    :meth:`set_default_validate_args`) parameters are checked against their constraints when
    the distribution is built, and values against the support in ``log_prob``.

    Example:
        >>> d = ember.distributions.Normal(ember.zeros(2, 3), 1.0)
        >>> isinstance(d, Distribution), tuple(d.batch_shape), tuple(d.event_shape)
        (True, (2, 3), ())
        >>> tuple(d.sample((4,)).shape)
        (4, 2, 3)
    """

    has_rsample = False
    has_enumerate_support = False
    # validation costs a check per construction and per log_prob; ``python -O`` turns it off
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument and sample validation on or off for distributions built afterwards
        without an explicit ``validate_args``.

        Example:
            >>> Distribution.set_default_validate_args(True)
        """
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args expects True or False, not {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape: _size = ember.Size(), event_shape: _size = ember.Size(),
                 validate_args: bool | None = None) -> None:
        self._batch_shape = batch_shape
        self._event_shape = event_shape
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()
        super().__init__()

    def _check_parameters(self) -> None:
        try:
            rules = self.arg_constraints
        except NotImplementedError:
            rules = {}
            warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set "
                          "`arg_constraints = {}` or initialize the distribution with "
                          "`validate_args=False` to turn off validation.", stacklevel=3)
        for name, rule in rules.items():
            if constraints.is_dependent(rule):
                continue  # the constraint depends on other parameters: nothing fixed to check
            if name not in self.__dict__ and isinstance(getattr(type(self), name, None),
                                                        lazy_property):
                continue  # an alternative parameterisation that has not been computed
            value = getattr(self, name)
            if not _all_valid(rule.check(value)):
                raise ValueError(
                    f"Expected parameter {name} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                    f"{rule!r}, but found invalid values:\n{value}")

    def expand(self, batch_shape: _size, _instance=None):
        """A distribution like this one with its parameters broadcast to ``batch_shape``
        (views, no copies). Subclasses implement it.

        Example:
            >>> tuple(ember.distributions.Normal(0.0, 1.0).expand((3,)).batch_shape)
            (3,)
        """
        raise NotImplementedError

    batch_shape = property(lambda self: self._batch_shape,
                           doc="Shape over which the parameters are batched (independent copies).")
    event_shape = property(lambda self: self._event_shape,
                           doc="Shape of a single draw of one copy.")
    # what a subclass states or computes when it can; the base knows none of them
    arg_constraints = property(_not_implemented, doc="Maps each parameter's name to the "
                               "constraint its values must satisfy.")
    support = property(_not_implemented, doc="The constraint every value lies in.")
    mean = property(_not_implemented, doc="Expected value.")
    variance = property(_not_implemented, doc="Variance of each element.")

    @property
    def mode(self) -> Tensor:
        """Most likely value."""
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def stddev(self) -> Tensor:
        """Standard deviation: the square root of ``variance``."""
        return self.variance.sqrt()

    def sample(self, sample_shape: _size = ember.Size()) -> Tensor:
        """Draw ``sample_shape`` batches of values, outside autograd."""
        with ember.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: _size = ember.Size()) -> Tensor:
        """Draw values as a differentiable function of the parameters (reparameterisation);
        only distributions with ``has_rsample`` implement it."""
        raise NotImplementedError

    def sample_n(self, n: int) -> Tensor:
        """Deprecated spelling of ``sample((n,))``."""
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
                      FutureWarning, stacklevel=2)
        return self.sample(ember.Size((n,)))

    def log_prob(self, value: Tensor) -> Tensor:
        """Log of the density (or mass) at ``value``."""
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        """Cumulative distribution function at ``value``."""
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        """Inverse of the cumulative distribution function."""
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """Every value of a discrete support along a new leading dimension, broadcast over the
        batch when ``expand`` is true (shape ``(n,) + (1,) * len(batch_shape)`` otherwise)."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """Entropy, one value per batch element."""
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        """``exp(entropy)``."""
        return ember.exp(self.entropy())

    def _extended_shape(self, sample_shape: _size = ember.Size()) -> ember.Size:
        """``sample_shape + batch_shape + event_shape``: the shape ``sample`` returns."""
        return ember.Size(tuple(sample_shape) + tuple(self._batch_shape)
                          + tuple(self._event_shape))

    def _validate_sample(self, value: Tensor) -> None:
        """Raise ValueError unless ``value`` is a tensor whose trailing dimensions are the
        event shape, that broadcasts with the batch shape, and that lies in the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        shape = value.size()
        event = ember.Size(self._event_shape)
        tail = shape[len(shape) - len(event):] if len(event) else ember.Size()
        if len(event) and (len(shape) < len(event) or tail != event):
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{shape} vs {event}.")
        wanted = ember.Size(tuple(self._batch_shape) + tuple(event))
        for got, want in zip(reversed(shape), reversed(wanted)):
            if got != want and 1 not in (got, want):
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{shape} vs {wanted}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample "
                          "validation. Please initialize the distribution with "
                          "`validate_args=False` to turn off validation.", stacklevel=3)
            return
        if not _all_valid(support.check(value)):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape "
                f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                f"distribution {self!r}, but found invalid values:\n{value}")

    def _checked(self, value: Tensor) -> Tensor:
        """``value``, after ``_validate_sample`` when this distribution validates."""
        if self._validate_args:
            self._validate_sample(value)
        return value

    def _get_checked_instance(self, cls, _instance=None):
        """The blank object ``expand`` fills: ``_instance`` when given, else a new instance of
        ``type(self)`` made without calling ``__init__``. A subclass with its own constructor
        cannot inherit ``cls.expand`` (it would not know the subclass's state), so refuse."""
        if _instance is not None:
            return _instance
        if type(self).__init__ is not cls.__init__:
            raise NotImplementedError(
                f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method.")
        return type(self).__new__(type(self))

    def _broadcast_params(self, **params) -> ember.Size:
        """Store each parameter broadcast against the others (``broadcast_all``) and return
        the batch shape they give: empty when every one is a plain Python number."""
        from .utils import _Number, broadcast_all

        for name, value in zip(params, broadcast_all(*params.values())):
            setattr(self, name, value)
        if all(isinstance(v, _Number) for v in params.values()):
            return ember.Size()
        return getattr(self, next(iter(params))).size()

    def __repr__(self) -> str:
        shown = []
        for name in self.arg_constraints:
            if name in self.__dict__:
                value = self.__dict__[name]
                shown.append(f"{name}: {value if value.numel() == 1 else value.size()}")
        return f"{type(self).__name__}({', '.join(shown)})"
