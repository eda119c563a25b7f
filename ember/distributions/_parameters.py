"""How distributions hold their parameters: the probs-or-logits pair of the discrete ones,
the Categorical that one-hot, multinomial and relaxed distributions wrap, and the ``expand``
that copies parameters onto a larger batch.

Discrete distributions take a probability either as ``probs`` or as ``logits``: exactly one is
given, kept as given (it is what ``expand`` copies and what ``param_shape`` reports), and the
other is derived the first time it is read, so a distribution built from logits never
round-trips through probabilities unless someone asks for them.
"""

from __future__ import annotations

import ember
from ember import Tensor

from .distribution import Distribution
from .utils import lazy_property, logits_to_probs, probs_to_logits


def exactly_one(probs, logits) -> tuple[str, object]:
    """``("probs", probs)`` or ``("logits", logits)``, whichever was given; both or neither is
    an error, worded as PyTorch words it."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    return ("probs", probs) if logits is None else ("logits", logits)


def checked(dist: Distribution, value):
    """``value`` after the support and shape check that ``validate_args`` asks for."""
    if dist._validate_args:
        dist._validate_sample(value)
    return value


def expand_params(dist: Distribution, cls, batch_shape, instance, names) -> Distribution:
    """The body every ``expand`` shares: a ``cls`` over ``batch_shape`` whose tensors among
    ``names`` are ``dist``'s, expanded (views, no copies), each keeping its dimensions after
    the batch ones. Parameters never computed on ``dist`` stay uncomputed on the copy.
    ``_param``, where ``dist`` has one, follows the parameter it aliases; a distribution among
    ``names`` (one the class is built on) is expanded to ``batch_shape``."""
    new = dist._get_checked_instance(cls, instance)
    batch_shape = ember.Size(batch_shape)
    old_batch = len(dist.batch_shape)
    for name in names:
        if name not in dist.__dict__:
            continue
        value = getattr(dist, name)
        if isinstance(value, Distribution):  # a distribution the class is built on
            value = value.expand(batch_shape)
        else:
            value = value.expand(batch_shape + value.shape[old_batch:])
        setattr(new, name, value)
        if dist.__dict__.get("_param") is dist.__dict__[name]:
            new._param = value
    Distribution.__init__(new, batch_shape, dist.event_shape, validate_args=False)
    new._validate_args = dist._validate_args
    return new


class BinaryParameter:
    """Mixin for distributions driven by one success probability per batch element, or its
    log-odds. The class stores the tensor it was given under that name and as ``_param``."""

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> ember.Size:
        return self._param.size()

    def _new(self, *args, **kwargs):
        return self._param.new(*args, **kwargs)

    def _store_param(self, name: str, param: Tensor) -> ember.Size:
        """Keep the given parameter under its name and as ``_param``; its shape is the batch
        shape."""
        setattr(self, name, param)
        self._param = param
        return param.size()


class CategoricalParameter:
    """Mixin for distributions built on a :class:`Categorical` held as ``_categorical``
    (one-hot draws, multinomial counts, relaxed one-hot vectors): the class weights and their
    shape are read from it, and ``expand`` expands it."""

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def _param(self) -> Tensor:
        return self._categorical._param

    @property
    def param_shape(self) -> ember.Size:
        return self._categorical.param_shape

    def _new(self, *args, **kwargs):
        return self._categorical._new(*args, **kwargs)

    def _expand_categorical(self, cls, batch_shape, instance):
        return expand_params(self, cls, batch_shape, instance, ("_categorical",))
