"""``torch.nn.utils.prune``: zero out parts of a parameter through a mask.

Pruning ``module.<name>`` moves the parameter to ``<name>_orig``, stores a 0/1 buffer
``<name>_mask`` and installs a forward pre-hook (the pruning method itself) that rebuilds
``module.<name> = <name>_mask * <name>_orig`` before every call, so gradients reach only the
kept entries. Pruning the same tensor again refines the mask: the new method only sees what the
earlier ones kept, and the history is kept in a :class:`PruningContainer`. :func:`remove` makes
the pruning permanent.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import ember

from .convert_parameters import parameters_to_vector

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


# -- argument checks shared by the methods ----------------------------------------------------

def _validate_pruning_amount_init(amount) -> None:
    """Check ``amount`` when a method is built: a count (int >= 0) or a fraction in [0, 1]."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if isinstance(amount, numbers.Integral):
        bad = amount < 0
    else:  # written as two comparisons so that NaN passes, as in torch
        bad = float(amount) > 1.0 or float(amount) < 0.0
    if bad:
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _validate_pruning_amount(amount, tensor_size) -> None:
    """A count can only be checked once the tensor is known: it may not exceed its size."""
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to "
                         f"prune={tensor_size}")


def _validate_structured_pruning(t) -> None:
    """Structured pruning removes slices along a dim, which needs at least two dims."""
    if len(t.shape) <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {t.shape} with {len(t.shape)} dims")


def _compute_nparams_toprune(amount, tensor_size):
    """How many of ``tensor_size`` units to drop: a count as given, a fraction rounded (Python's
    round-half-to-even, as torch)."""
    if isinstance(amount, numbers.Integral):
        return amount
    return round(amount * tensor_size)


def _validate_pruning_dim(t, dim) -> None:
    # only the upper bound is checked here; a too-negative dim fails on t.shape[dim] later
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")


def _compute_norm(t, n, dim):
    """The ``n``-norm of each slice of ``t`` along ``dim`` (reducing every other dim)."""
    keep = dim % t.dim()
    return ember.norm(t, p=n, dim=[d for d in range(t.dim()) if d != keep])


def _along(ndim: int, dim: int, index) -> tuple:
    """An indexing tuple that applies ``index`` to ``dim`` and takes everything elsewhere."""
    where = [slice(None)] * ndim
    where[dim] = index
    return tuple(where)


def _hooks_for(module, name):
    """(key, method) of the pruning hooks ``module`` holds for tensor ``name``."""
    return [(key, hook) for key, hook in module._forward_pre_hooks.items()
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name]


# -- the base class ---------------------------------------------------------------------------

class BasePruningMethod(ABC):
    """Base of every pruning method; subclasses define :meth:`compute_mask` and a
    ``PRUNING_TYPE`` (``"unstructured"``, ``"structured"`` with a ``dim``, or ``"global"``).

    An instance doubles as the forward pre-hook that re-applies the mask before each call; its
    ``_tensor_name`` says which tensor it prunes.

    Example:
        >>> class EveryOther(ember.nn.utils.prune.BasePruningMethod):
        ...     PRUNING_TYPE = "unstructured"
        ...     def compute_mask(self, t, default_mask):
        ...         mask = default_mask.clone()
        ...         mask.view(-1)[::2] = 0
        ...         return mask
        >>> m = ember.nn.Linear(2, 2)
        >>> _ = EveryOther.apply(m, "bias")
        >>> m.bias_mask
        tensor([0., 1.])
    """

    _tensor_name: str

    def __call__(self, module, inputs) -> None:
        # the pre-hook: rebuild the pruned tensor from the current _orig and _mask
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The new mask for ``t`` (same shape), starting from ``default_mask``, the mask of
        earlier prunings (all ones at first)."""

    def apply_mask(self, module):
        """``<name>_mask * <name>_orig`` of ``module``, the mask cast to the tensor's dtype.

        Example:
            >>> m = ember.nn.utils.prune.l1_unstructured(ember.nn.Linear(2, 2), "bias", 1)
            >>> hook = next(iter(m._forward_pre_hooks.values()))
            >>> bool((hook.apply_mask(m) == m.bias).all())
            True
        """
        name = self._tensor_name
        kept = getattr(module, name + "_orig")
        mask = getattr(module, name + "_mask")
        return mask.to(dtype=kept.dtype) * kept

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)`` and return the hook installed
        (the method, or the container holding it when the tensor was pruned before).

        ``importance_scores`` (same shape as the tensor) rank the entries instead of the
        tensor's own values. On a failure of a first pruning the module is left as found.

        Example:
            >>> m = ember.nn.Linear(3, 2)
            >>> hook = ember.nn.utils.prune.L1Unstructured.apply(m, "weight", amount=2)
            >>> type(hook).__name__, int((m.weight_mask == 0).sum())
            ('L1Unstructured', 2)
        """
        earlier = _hooks_for(module, name)
        if len(earlier) > 1:
            raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} "
                                 f"of module {module}. Use a PruningContainer.")
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if earlier:
            # one hook per tensor: the history moves into a container, registered again below
            # so that it runs after any hook added since
            key, previous = earlier[0]
            del module._forward_pre_hooks[key]
            if not isinstance(previous, PruningContainer):
                previous = PruningContainer(previous)
            previous.add_pruning_method(method)
            method = previous

        current = getattr(module, name)
        if importance_scores is None:
            importance_scores = current
        elif importance_scores.shape != current.shape:
            raise AssertionError(f"importance_scores should have the same shape as parameter "
                                 f"{name} of {module}, got {importance_scores.shape} vs "
                                 f"{current.shape}")

        if earlier:
            start = getattr(module, name + "_mask").detach().clone()
        else:
            # the Parameter object itself becomes <name>_orig: optimizers keep training it
            module.register_parameter(name + "_orig", current)
            del module._parameters[name]
            start = ember.ones_like(current)
        try:
            mask = method.compute_mask(importance_scores, default_mask=start)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if not earlier:
                module.register_parameter(name, module._parameters.pop(name + "_orig"))
            raise
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` times the mask this method computes for it (nothing is attached to a module).

        Example:
            >>> ember.nn.utils.prune.L1Unstructured(amount=2).prune(
            ...     ember.tensor([3.0, 1.0, 2.0, 0.5]))
            tensor([3., 0., 2., 0.])
        """
        if importance_scores is None:
            importance_scores = t
        elif importance_scores.shape != t.shape:
            raise AssertionError("importance_scores should have the same shape as tensor t, "
                                 f"got {importance_scores.shape} vs {t.shape}")
        if default_mask is None:
            default_mask = ember.ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module) -> None:
        """Make the pruning permanent: ``module.<name>`` becomes the ``<name>_orig`` Parameter
        holding the masked values; ``_orig``, ``_mask`` and the computed tensor are dropped.
        The hook itself is left to the caller (see :func:`remove`).

        Example:
            >>> m = ember.nn.utils.prune.l1_unstructured(ember.nn.Linear(2, 2), "bias", 1)
            >>> hook = next(iter(m._forward_pre_hooks.values()))
            >>> hook.remove(m)
            >>> sorted(n for n, _ in m.named_parameters())
            ['bias', 'weight']
        """
        name = self._tensor_name
        final = self.apply_mask(module)
        if hasattr(module, name):
            delattr(module, name)
        param = module._parameters.pop(name + "_orig")
        param.data = final.data
        del module._buffers[name + "_mask"]
        setattr(module, name, param)


# -- a chain of prunings on one tensor --------------------------------------------------------

def _region_left(method, t, mask):
    """Index of the part of ``t`` that ``method`` may still prune given the current ``mask``:
    unstructured methods see the entries still at 1, structured ones the slices along their
    dim with any entry left, global ones the whole tensor."""
    kind = method.PRUNING_TYPE
    if kind == "unstructured":
        return mask == 1
    if kind == "structured":
        if not hasattr(method, "dim"):
            raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the '
                                 "attribute `dim` defined.")
        ndim = t.dim()
        dim = method.dim + ndim if method.dim < 0 else method.dim
        if dim < 0:
            raise IndexError(f"Index is out of bounds for tensor with dimensions {ndim}")
        alive = mask.sum(dim=[d for d in range(ndim) if d != dim]) != 0
        return _along(ndim, dim, alive)
    if kind == "global":
        return (slice(None),) * t.dim()
    raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")


class PruningContainer(BasePruningMethod):
    """The ordered history of pruning methods applied to one tensor; its mask is that of the
    latest method, computed on what the earlier ones left. Built for you when a tensor is
    pruned a second time.

    Example:
        >>> m = ember.nn.Linear(4, 3)
        >>> _ = ember.nn.utils.prune.l1_unstructured(m, "weight", amount=2)
        >>> _ = ember.nn.utils.prune.random_unstructured(m, "weight", amount=3)
        >>> hook = next(iter(m._forward_pre_hooks.values()))
        >>> [type(p).__name__ for p in hook], int((m.weight_mask == 0).sum())
        (['L1Unstructured', 'RandomUnstructured'], 5)
    """

    def __init__(self, *args) -> None:
        self._pruning_methods: tuple = ()
        if len(args) == 1:
            # a single method names the tensor the container is bound to
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method) -> None:
        """Append ``method``, which must prune the same tensor as the container.

        Example:
            >>> first = ember.nn.utils.prune.L1Unstructured(1)
            >>> first._tensor_name = "weight"
            >>> box = ember.nn.utils.prune.PruningContainer(first)
            >>> second = ember.nn.utils.prune.RandomUnstructured(1)
            >>> second._tensor_name = "weight"
            >>> box.add_pruning_method(second)
            >>> len(box)
            2
        """
        if method is not None and not isinstance(method, BasePruningMethod):
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def compute_mask(self, t, default_mask):
        """``default_mask`` refined by the latest method, which sees only the part of ``t``
        the mask has left (see the class docstring)."""
        latest = self._pruning_methods[-1]
        region = _region_left(latest, t, default_mask)
        refined = default_mask.clone()
        part = latest.compute_mask(t[region], default_mask=default_mask[region])
        refined[region] = part.to(dtype=refined.dtype)
        return refined

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]


# -- the built-in methods ---------------------------------------------------------------------

class Identity(BasePruningMethod):
    """A pruning that keeps everything (an all-ones mask): ``_orig``/``_mask`` without loss.

    Example:
        >>> m = ember.nn.utils.prune.identity(ember.nn.Linear(2, 2), "bias")
        >>> m.bias_mask
        tensor([1., 1.])
    """

    PRUNING_TYPE = "unstructured"

    @classmethod
    def apply(cls, module, name):
        """Install an identity pruning on ``module.<name>``."""
        return super().apply(module, name)

    def compute_mask(self, t, default_mask):
        return default_mask


def _drop_entries(amount, t, default_mask, pick):
    """``default_mask`` with the entries ``pick(count).indices`` (into ``t`` flattened) set to
    zero, ``count`` being ``amount`` of ``t``'s entries (a count, or a fraction)."""
    size = t.nelement()
    count = _compute_nparams_toprune(amount, size)
    _validate_pruning_amount(count, size)
    mask = default_mask.clone()
    if count:
        mask.view(-1)[pick(count).indices] = 0
    return mask


class RandomUnstructured(BasePruningMethod):
    """Drop ``amount`` entries (a count, or a fraction of the tensor) chosen at random.

    Example:
        >>> m = ember.nn.utils.prune.random_unstructured(ember.nn.Linear(4, 4), "weight", 0.25)
        >>> int((m.weight_mask == 0).sum())
        4
    """

    def __init__(self, amount) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    PRUNING_TYPE = "unstructured"

    @classmethod
    def apply(cls, module, name, amount):
        """Prune ``amount`` random entries of ``module.<name>``."""
        return super().apply(module, name, amount=amount)

    def compute_mask(self, t, default_mask):
        # one uniform draw per entry; the `count` highest draws lose (torch's draw order)
        return _drop_entries(self.amount, t, default_mask,
                             lambda count: ember.topk(ember.rand_like(t).view(-1), k=count))


class L1Unstructured(BasePruningMethod):
    """Drop the ``amount`` entries (a count, or a fraction) of smallest absolute value.

    Example:
        >>> m = ember.nn.Linear(2, 2)
        >>> _ = ember.nn.utils.prune.l1_unstructured(m, "bias", 1,
        ...                                          importance_scores=ember.tensor([5.0, 1.0]))
        >>> m.bias_mask
        tensor([1., 0.])
    """

    def __init__(self, amount) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    PRUNING_TYPE = "unstructured"

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        """Prune the ``amount`` smallest-magnitude entries of ``module.<name>`` (ranked by
        ``importance_scores`` when given)."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)

    def compute_mask(self, t, default_mask):
        return _drop_entries(self.amount, t, default_mask,
                             lambda count: ember.topk(ember.abs(t).view(-1), k=count,
                                                      largest=False))


class RandomStructured(BasePruningMethod):
    """Drop ``amount`` whole slices along ``dim`` (a count, or a fraction of the slices),
    chosen at random.

    Example:
        >>> m = ember.nn.utils.prune.random_structured(ember.nn.Linear(3, 4), "weight", 2, dim=0)
        >>> int((m.weight_mask.sum(dim=1) == 0).sum())
        2
    """

    def __init__(self, amount, dim=-1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.dim = dim

    PRUNING_TYPE = "structured"

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        """Prune ``amount`` random slices of ``module.<name>`` along ``dim``."""
        return super().apply(module, name, amount=amount, dim=dim)

    def compute_mask(self, t, default_mask):
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        slices = t.shape[self.dim]
        count = _compute_nparams_toprune(self.amount, slices)
        _validate_pruning_amount(count, slices)
        if count == 0:
            return default_mask
        # a uniform draw per slice; those at or below the count-th smallest draw are dropped
        draws = ember.rand(slices)
        kept = draws > ember.kthvalue(draws, k=count).values
        mask = ember.zeros_like(t)
        mask[_along(t.dim(), self.dim, kept)] = 1
        return mask * default_mask.to(dtype=mask.dtype)


class LnStructured(BasePruningMethod):
    """Drop the ``amount`` slices along ``dim`` (a count, or a fraction) with the smallest
    ``n``-norm (``n`` as ``p`` of :func:`ember.norm`: an int, ``inf``, ``'fro'`` ...).

    Example:
        >>> m = ember.nn.Linear(2, 3)
        >>> with ember.no_grad():
        ...     _ = m.weight.copy_(ember.tensor([[1.0, 1.0], [5.0, 0.0], [0.1, 0.1]]))
        >>> _ = ember.nn.utils.prune.ln_structured(m, "weight", amount=1, n=2, dim=0)
        >>> m.weight_mask
        tensor([[1., 1.],
                [1., 1.],
                [0., 0.]])
    """

    def __init__(self, amount, n, dim=-1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    PRUNING_TYPE = "structured"

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        """Prune the ``amount`` lowest-norm slices of ``module.<name>`` along ``dim``."""
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)

    def compute_mask(self, t, default_mask):
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        slices = t.shape[self.dim]
        count = _compute_nparams_toprune(self.amount, slices)
        _validate_pruning_amount(count, slices)
        strongest = ember.topk(_compute_norm(t, self.n, self.dim), k=slices - count).indices
        if count == 0:
            return default_mask
        mask = ember.zeros_like(t)
        mask[_along(t.dim(), self.dim, strongest)] = 1
        return mask * default_mask.to(dtype=mask.dtype)


class CustomFromMask(BasePruningMethod):
    """Prune with a mask given by the caller (multiplied into any earlier mask).

    Example:
        >>> m = ember.nn.utils.prune.custom_from_mask(ember.nn.Linear(2, 3), "bias",
        ...                                           ember.tensor([1, 0, 1]))
        >>> m.bias_mask
        tensor([1., 0., 1.])
    """

    PRUNING_TYPE = "global"

    def __init__(self, mask) -> None:
        self.mask = mask

    @classmethod
    def apply(cls, module, name, mask):
        """Prune ``module.<name>`` with ``mask``."""
        return super().apply(module, name, mask=mask)

    def compute_mask(self, t, default_mask):
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match self.mask "
                                 f"shape {self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)


# -- the functional interface -----------------------------------------------------------------

def identity(module, name):
    """Reparametrize ``module.<name>`` as ``_orig * _mask`` with an all-ones mask (nothing is
    pruned). Returns ``module``.

    Example:
        >>> m = ember.nn.utils.prune.identity(ember.nn.Linear(2, 3), "bias")
        >>> sorted(n for n, _ in m.named_buffers())
        ['bias_mask']
    """
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` randomly chosen entries of ``module.<name>`` (an int: how many; a float
    in [0, 1]: which fraction). Returns ``module``.

    Example:
        >>> m = ember.nn.utils.prune.random_unstructured(ember.nn.Linear(5, 2), "weight", 0.3)
        >>> int((m.weight == 0).sum())
        3
    """
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` with the smallest absolute value (or
    smallest ``importance_scores``). Returns ``module``.

    Example:
        >>> m = ember.nn.Linear(3, 1)
        >>> with ember.no_grad():
        ...     _ = m.weight.copy_(ember.tensor([[0.5, -3.0, 0.1]]))
        >>> ember.nn.utils.prune.l1_unstructured(m, "weight", amount=2).weight_mask
        tensor([[0., 1., 0.]])
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random slices of ``module.<name>`` along ``dim`` (e.g. whole output
    channels with ``dim=0``). Returns ``module``.

    Example:
        >>> m = ember.nn.utils.prune.random_structured(ember.nn.Conv2d(1, 4, 3), "weight",
        ...                                            amount=0.5, dim=0)
        >>> int((m.weight_mask.sum(dim=(1, 2, 3)) == 0).sum())
        2
    """
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` slices of ``module.<name>`` along ``dim`` whose ``n``-norm is
    smallest (norms of ``importance_scores`` when given). Returns ``module``.

    Example:
        >>> m = ember.nn.utils.prune.ln_structured(ember.nn.Conv2d(1, 4, 3), "weight",
        ...                                        amount=1, n=2, dim=0)
        >>> int((m.weight_mask.sum(dim=(1, 2, 3)) == 0).sum())
        1
    """
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune several tensors together: ``pruning_method(**kwargs)`` (an unstructured method
    class such as :class:`L1Unstructured`) ranks the entries of all ``(module, name)`` pairs in
    ``parameters`` at once, so one threshold applies to all of them; existing masks are kept.
    ``importance_scores`` maps a pair to the scores that replace its values.

    Example:
        >>> a, b = ember.nn.Linear(4, 4), ember.nn.Linear(4, 2)
        >>> ember.nn.utils.prune.global_unstructured(
        ...     [(a, "weight"), (b, "weight")],
        ...     pruning_method=ember.nn.utils.prune.L1Unstructured, amount=6)
        >>> int((a.weight == 0).sum() + (b.weight == 0).sum())
        6
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    if importance_scores is None:
        importance_scores = {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")

    # `parameters` is walked once per pass, as torch does (a generator therefore fails)
    flat_scores = parameters_to_vector(
        [importance_scores.get((mod, name), getattr(mod, name)) for mod, name in parameters])
    flat_mask = parameters_to_vector(
        [_mask_or_ones(mod, name) for mod, name in parameters])

    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    # the container restricts the method to entries no earlier pruning removed
    combined = PruningContainer(method).compute_mask(flat_scores, flat_mask)

    offset = 0
    for mod, name in parameters:
        target = getattr(mod, name)
        size = target.numel()
        custom_from_mask(mod, name, mask=combined[offset:offset + size].view_as(target))
        offset += size


def _mask_or_ones(module, name):
    mask = getattr(module, name + "_mask", None)
    return ember.ones_like(getattr(module, name)) if mask is None else mask


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` with the given ``mask`` (same shape; zeros prune). Returns
    ``module``.

    Example:
        >>> m = ember.nn.utils.prune.custom_from_mask(ember.nn.Linear(2, 2), "bias",
        ...                                           ember.tensor([0.0, 1.0]))
        >>> float(m.bias[0])
        0.0
    """
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent: the masked values become the plain
    parameter ``<name>`` again and the ``_orig``/``_mask`` pair and the hook go away. Raises
    ValueError when ``name`` is not pruned. Returns ``module``.

    Example:
        >>> m = ember.nn.utils.prune.l1_unstructured(ember.nn.Linear(2, 2), "weight", 1)
        >>> m = ember.nn.utils.prune.remove(m, "weight")
        >>> int((m.weight == 0).sum()), ember.nn.utils.prune.is_pruned(m)
        (1, False)
    """
    found = _hooks_for(module, name)
    if not found:
        raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before "
                         "pruning can be removed")
    key, hook = found[0]
    hook.remove(module)
    del module._forward_pre_hooks[key]
    return module


def is_pruned(module) -> bool:
    """Whether ``module`` or any submodule carries a pruning hook.

    Example:
        >>> net = ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.ReLU())
        >>> before = ember.nn.utils.prune.is_pruned(net)
        >>> _ = ember.nn.utils.prune.identity(net[0], "weight")
        >>> before, ember.nn.utils.prune.is_pruned(net)
        (False, True)
    """
    return any(isinstance(hook, BasePruningMethod)
               for sub in module.modules() for hook in sub._forward_pre_hooks.values())
