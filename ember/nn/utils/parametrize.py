"""``torch.nn.utils.parametrize``: a module's tensor computed, on every read, by a chain of small
modules from tensors stored elsewhere.

After ``register_parametrization(module, "weight", p)`` the stored tensor lives at
``module.parametrizations.weight.original`` (``original0``, ``original1``, ... when ``p``'s
``right_inverse`` splits it into several), ``module`` belongs to a class made for it alone
(``ParametrizedLinear``, a subclass of ``Linear``) and that class's ``weight`` property returns
``p(original)``. The state_dict keys are PyTorch's, so checkpoints move between the two.
"""

from __future__ import annotations

import collections.abc
import copyreg
from contextlib import contextmanager
from copy import deepcopy

from ..._tensor import Tensor
from ...autograd import grad_mode
from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]

# How many ``cached()`` blocks are open, and the values computed inside them, keyed by
# (id of the module the property was made for, tensor name).
_cache_enabled = 0
_cache: dict = {}


@contextmanager
def cached():
    """Inside this block each parametrized tensor is computed once, on its first read, and the
    same tensor is returned by later reads (useful when a weight is read many times in one
    forward, as in recurrent loops). Blocks nest; the values are dropped when the outermost ends.

    Example:
        >>> m = ember.nn.Linear(2, 2)
        >>> class Double(ember.nn.Module):
        ...     def forward(self, X):
        ...         return 2 * X
        >>> _ = ember.nn.utils.parametrize.register_parametrization(m, "weight", Double())
        >>> with ember.nn.utils.parametrize.cached():
        ...     m.weight is m.weight
        True
    """
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register_parameter_or_buffer(module: Module, name: str, x) -> None:
    # a Parameter stays trainable; anything else was (or becomes) a buffer of ``module``
    if isinstance(x, Parameter):
        module.register_parameter(name, x)
    else:
        module.register_buffer(name, x)


def _maybe_set(dest: Tensor, src: Tensor) -> None:
    # in place, so that whoever holds ``dest`` (an optimizer, a tied module) sees the new value
    dest.set_(src)


def _check_meta(dtype, shape, got: Tensor, template: str) -> None:
    """Raise ValueError (``template`` filled with the attribute and both values) when ``got``
    has another dtype or shape than expected."""
    for attr, want in (("dtype", dtype), ("shape", shape)):
        have = getattr(got, attr)
        if want != have:
            raise ValueError(template.format(attr=attr, want=want, have=have))


class ParametrizationList(ModuleList):
    """The chain of parametrizations of one tensor, plus the tensor(s) they start from.

    ``module.parametrizations[name]`` is one of these (made by
    :func:`register_parametrization`). Calling it evaluates the chain: the first
    parametrization receives ``original`` (or ``original0``, ``original1``, ...), each later one
    the previous result. At construction ``original`` is replaced, in place, by what the
    ``right_inverse`` methods (run from the last parametrization to the first) make of it; when
    they return a sequence the parts become ``original0``, ``original1``, ...

    Args:
        modules: the parametrizations, applied in this order.
        original: the tensor being parametrized (a Parameter or a buffer).
        unsafe: skip the check that the chain keeps ``original``'s dtype and shape.

    Example:
        >>> class Double(ember.nn.Module):
        ...     def forward(self, X):
        ...         return 2 * X
        >>> chain = ember.nn.utils.parametrize.ParametrizationList(
        ...     [Double()], ember.nn.Parameter(ember.ones(2)))
        >>> chain()
        tensor([2., 2.], grad_fn=<MulBackward0>)
    """

    original: Tensor
    unsafe: bool

    def __init__(self, modules: collections.abc.Sequence[Module], original: Tensor,
                 unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        start_dtype, start_shape = original.dtype, original.shape

        with grad_mode.no_grad():
            stored = original
            for step in reversed(list(self._modules.values())):
                invert = getattr(step, "right_inverse", None)
                if invert is None:
                    continue  # a parametrization without an inverse starts from the value itself
                try:
                    stored = invert(stored)
                except NotImplementedError:
                    pass

        if isinstance(stored, Tensor):
            self.is_tensor, self.ntensors = True, 1
            if stored.dtype != start_dtype:
                raise ValueError(
                    "When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                    f"original.dtype: {start_dtype}\nright_inverse(original).dtype: "
                    f"{stored.dtype}")
            with grad_mode.no_grad():
                _maybe_set(original, stored)
            _register_parameter_or_buffer(self, "original", original)
        elif isinstance(stored, collections.abc.Sequence):
            self.is_tensor, self.ntensors = False, len(stored)
            self._register_parts(stored, original)
        else:
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                             f"(list, tuple...). Got {type(stored).__name__}")

        if not unsafe:
            out = self()
            if not isinstance(out, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got "
                                 f"{type(out).__name__}.")
            _check_meta(start_dtype, start_shape, out,
                        "Registering a parametrization may not change the {attr} of the tensor,"
                        " unless `unsafe` flag is enabled.\nunparametrized {attr}: {want}\n"
                        "parametrized {attr}: {have}")

    def _register_parts(self, parts, original: Tensor) -> None:
        # each part is trainable exactly when the tensor it came from was
        wants_grad = original.requires_grad
        for i, part in enumerate(parts):
            if not isinstance(part, Tensor):
                raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                                 f"(list, tuple...). Got element {i} of the sequence with type "
                                 f"{type(part).__name__}.")
            if isinstance(original, Parameter):
                part = Parameter(part, wants_grad)
            part.requires_grad_(wants_grad)
            _register_parameter_or_buffer(self, f"original{i}", part)

    def _stored(self, name: str) -> Tensor:
        # the dicts directly: Module.__getattr__ costs a Python call on every read
        found = self._parameters.get(name)
        return found if found is not None else self._buffers[name]

    def right_inverse(self, value: Tensor | collections.abc.Sequence[Tensor]) -> None:
        """Store ``value`` as the parametrized tensor: run each parametrization's
        ``right_inverse`` from the last to the first and copy the result into the original(s),
        in place and without recording gradients (what ``module.weight = value`` does).

        Example:
            >>> class Double(ember.nn.Module):
            ...     def forward(self, X):
            ...         return 2 * X
            ...     def right_inverse(self, X):
            ...         return X / 2
            >>> chain = ember.nn.utils.parametrize.ParametrizationList(
            ...     [Double()], ember.nn.Parameter(ember.ones(2)))
            >>> chain.right_inverse(ember.tensor([4.0, 6.0]))
            >>> chain.original
            Parameter containing:
            tensor([2., 3.], requires_grad=True)
        """
        with grad_mode.no_grad():
            for step in reversed(list(self._modules.values())):
                if not hasattr(step, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(step).__name__} does not "
                                       "implement right_inverse.")
                value = step.right_inverse(value)
            if self.is_tensor:
                self._assign_one(value)
            else:
                self._assign_parts(value)

    def _assign_one(self, value) -> None:
        if not isinstance(value, Tensor):
            raise ValueError(f"`right_inverse` should return a tensor. Got "
                             f"{type(value).__name__}")
        target = self._stored("original")
        if value.dtype != target.dtype:
            raise ValueError(f"The tensor returned by `right_inverse` has dtype {value.dtype} "
                             f"while `original` has dtype {target.dtype}")
        _maybe_set(target, value)

    def _assign_parts(self, parts) -> None:
        if not isinstance(parts, collections.abc.Sequence):
            raise ValueError("'right_inverse' must return a sequence of tensors. Got "
                             f"{type(parts).__name__}.")
        if len(parts) != self.ntensors:
            raise ValueError("'right_inverse' must return a sequence of tensors of length "
                             f"{self.ntensors}. Got a sequence of length {len(parts)}.")
        for i, part in enumerate(parts):
            target = self._stored(f"original{i}")
            if not isinstance(part, Tensor):
                raise ValueError("'right_inverse' must return a sequence of tensors or "
                                 "reference-type opaques. Got element "
                                 f"{i} of type {type(part).__name__}.")
            if part.dtype != target.dtype:
                raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype "
                                 f"{part.dtype} while `original{i}` has dtype {target.dtype}")
            _maybe_set(target, part)

    def forward(self) -> Tensor:
        """The parametrized tensor: the chain applied to the stored original(s)."""
        steps = iter(self._modules.values())
        head = next(steps)
        if self.is_tensor:  # the hot path: read the dicts inline
            start = self._parameters.get("original")
            out = head(start if start is not None else self._buffers["original"])
        else:
            out = head(*[self._stored(f"original{i}") for i in range(self.ntensors)])
        for step in steps:
            out = step(out)
        return out


# -- the per-module class and its properties ---------------------------------------------------

def _refuse_pickle(self):
    raise RuntimeError(
        "Serialization of parametrized modules is only supported through state_dict(). See:\n"
        "https://pytorch.org/tutorials/beginner/saving_loading_models.html"
        "#saving-loading-a-general-checkpoint-for-inference-and-or-resuming-training")


def _deepcopy_parametrized(self, memo):
    # ``__getstate__`` refuses pickling, which copy.deepcopy would otherwise go through
    if id(self) in memo:
        return memo[id(self)]
    cls = type(self)
    twin = cls.__new__(cls)
    memo[id(self)] = twin
    twin.__dict__.update(deepcopy(self.__dict__, memo))
    for slot in copyreg._slotnames(cls):
        if hasattr(self, slot):
            setattr(twin, slot, deepcopy(getattr(self, slot), memo))
    return twin


def _inject_new_class(module: Module) -> None:
    """Move ``module`` to a new subclass of its class, ``Parametrized<Name>``, so that the
    properties added for its parametrized tensors touch no other instance."""
    base = type(module)
    namespace = {"__getstate__": _refuse_pickle}
    if not hasattr(base, "__deepcopy__"):
        namespace["__deepcopy__"] = _deepcopy_parametrized
    module.__class__ = type(f"Parametrized{base.__name__}", (base,), namespace)


def _inject_property(module: Module, tensor_name: str) -> None:
    """Give ``module``'s own class a ``tensor_name`` property: reading evaluates the chain
    (once per :func:`cached` block), assigning goes through its ``right_inverse``."""
    # As PyTorch, the cache key names the module the property was made for (a deepcopy shares
    # the class, and so the key); built once here rather than on every read.
    key = (id(module), tensor_name)

    def get_parametrized(self) -> Tensor:
        chain = self._modules["parametrizations"]._modules[tensor_name]
        if not _cache_enabled:
            return chain()
        value = _cache.get(key)
        if value is None:
            value = _cache[key] = chain()
        return value

    def set_original(self, value: Tensor) -> None:
        self._modules["parametrizations"]._modules[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(get_parametrized, set_original))


# -- public functions --------------------------------------------------------------------------

def _check_appended(module: Module, tensor_name: str, parametrization: Module) -> None:
    """The checks for a parametrization added to an existing chain: it and its
    ``right_inverse`` keep the current tensor's dtype and shape."""
    current = getattr(module, tensor_name)
    after = parametrization(current)
    if not isinstance(after, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(after).__name__}.")
    where = f"module.{tensor_name}"
    keep = (current.dtype, current.shape)
    _check_meta(*keep, after, "Registering a parametrization may not change the {attr} of the "
                "tensor, unless the `unsafe` flag is enabled.\n" + where + ".{attr}: {want}\n"
                "parametrization(" + where + ").{attr}: {have}")
    if not hasattr(parametrization, "right_inverse"):
        return
    try:
        back = parametrization.right_inverse(after)
    except NotImplementedError:  # torch allows a parametrization without an inverse here
        return
    if not isinstance(back, Tensor):
        raise ValueError("parametrization.right_inverse must return a tensor. Got: "
                         f"{type(back).__name__}")
    _check_meta(*keep, back, "The tensor returned by parametrization.right_inverse must have "
                "the same {attr} as " + where + ", unless the `unsafe` flag is enabled.\n"
                + where + ".{attr}: {want}\nreturned {attr}: {have}")


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` applied to a stored
    tensor, recomputed at every read.

    The first registration moves the parameter or buffer to
    ``module.parametrizations[tensor_name].original`` (after ``parametrization.right_inverse``,
    if it has one, has turned it into the value to store; a sequence is stored as
    ``original0``, ``original1``, ...) and makes ``module`` an instance of
    ``Parametrized<Class>``. Later registrations on the same name add to the chain. Assigning
    ``module.<tensor_name> = value`` stores ``value`` through the ``right_inverse`` methods.

    Args:
        module: the module that owns the tensor.
        tensor_name: the parameter, buffer or already parametrized tensor.
        parametrization: a module whose ``forward`` maps the stored tensor(s) to the
            parametrized one; ``right_inverse`` (optional) maps back.
        unsafe: allow a parametrization that changes the dtype or shape (skips the checks).

    Returns:
        ``module``.

    Example:
        >>> class Symmetric(ember.nn.Module):
        ...     def forward(self, X):
        ...         return X.triu() + X.triu(1).mT
        >>> m = ember.nn.utils.parametrize.register_parametrization(
        ...     ember.nn.Linear(3, 3), "weight", Symmetric())
        >>> bool((m.weight == m.weight.T).all()), type(m).__name__
        (True, 'ParametrizedLinear')
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            _check_appended(module, tensor_name, parametrization)
        chain = module.parametrizations[tensor_name]
        chain.append(parametrization)
        chain.unsafe |= unsafe  # one unchecked step makes the whole chain unchecked
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    # built (and checked) before ``module`` changes, so a failure leaves it as it was
    chain = ParametrizationList([parametrization], getattr(module, tensor_name), unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _inject_new_class(module)
        module.parametrizations = ModuleDict()
    _inject_property(module, tensor_name)
    module.parametrizations[tensor_name] = chain
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has a parametrization on ``tensor_name`` (on any tensor when it is
    None).

    Example:
        >>> m = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(2, 2))
        >>> P = ember.nn.utils.parametrize
        >>> P.is_parametrized(m), P.is_parametrized(m, "weight"), P.is_parametrized(m, "bias")
        (True, True, False)
    """
    table = getattr(module, "parametrizations", None)
    if not isinstance(table, ModuleDict):
        return False
    return tensor_name in table if tensor_name is not None else len(table) > 0


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo the parametrizations of ``module.<tensor_name>``: it becomes a plain parameter (or
    buffer) again, holding the current parametrized value (``leave_parametrized=True``) or
    the stored original. When nothing parametrized is left the module gets its class back.

    With ``leave_parametrized=True`` and a single original, the value is written into that
    same tensor object, so optimizers holding it keep working. A tensor stored as several
    originals cannot be left unparametrized.

    Example:
        >>> P = ember.nn.utils.parametrize
        >>> m = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(2, 2))
        >>> m = P.remove_parametrizations(m, "weight")
        >>> type(m).__name__, P.is_parametrized(m)
        ('Linear', False)
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:
        keep = chain.original
        if leave_parametrized:
            with grad_mode.no_grad():
                _maybe_set(keep, getattr(module, tensor_name))
    elif leave_parametrized:
        value = getattr(module, tensor_name)
        keep = Parameter(value.detach()) if value.requires_grad else value.detach()
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                         "that is parametrized in terms of a sequence of tensors.")

    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, keep)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The class ``module`` had before it was parametrized (its own class otherwise).

    Example:
        >>> m = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(2, 2))
        >>> ember.nn.utils.parametrize.type_before_parametrizations(m).__name__
        'Linear'
    """
    cls = type(module)
    return cls.__bases__[0] if is_parametrized(module) else cls


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Register on ``to_module`` the parametrizations ``from_module`` has on ``tensor_name``
    (all of them when None), sharing the same parametrization modules and the same original
    tensors. A tensor ``to_module`` lacks is first created from ``from_module``'s value.

    Returns:
        ``to_module``.

    Example:
        >>> P = ember.nn.utils.parametrize
        >>> src = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(2, 2))
        >>> dst = P.transfer_parametrizations_and_params(src, ember.nn.Linear(2, 2))
        >>> dst.parametrizations.weight.original1 is src.parametrizations.weight.original1
        True
    """
    if not is_parametrized(from_module):
        return to_module
    source = from_module.parametrizations
    for name in (list(source) if tensor_name is None else [tensor_name]):
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name)))
        from_chain = source[name]
        for step in from_chain:
            register_parametrization(to_module, name, step)
        to_chain = to_module.parametrizations[name]
        # share the stored tensors themselves, not copies of them
        if from_chain.is_tensor:
            to_chain.original = from_chain.original
        else:
            for i in range(from_chain.ntensors):
                setattr(to_chain, f"original{i}", getattr(from_chain, f"original{i}"))
    return to_module
