"""Modules that hold other modules or parameters: ``Sequential``, ``ModuleList``, ``ModuleDict``,
``ParameterList``, ``ParameterDict`` (and the deprecated ``Container``)."""

from __future__ import annotations

import operator
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain

from ..._tensor import Tensor
from ..parameter import Parameter
from .module import Module, _addindent

__all__ = ["Container", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
           "ParameterDict"]


# -- shared helpers ----------------------------------------------------------------------------
def _position(idx, length: int) -> int:
    """Turn a (possibly negative) integer index into a position in ``range(length)``.

    ``operator.index`` gives PyTorch's TypeError for strings, floats and slices and accepts
    0-d integer tensors."""
    pos = operator.index(idx)
    if pos < 0:
        pos += length
    if not 0 <= pos < length:
        raise IndexError(f"index {idx} is out of range")
    return pos


def _refill(modules: dict, children: list) -> None:
    """Make ``children`` the content of ``modules``, named '0', '1', ... in order. The dict is
    changed in place because other code may hold a reference to a module's ``_modules``."""
    modules.clear()
    for number, child in enumerate(children):
        modules[str(number)] = child


def _drop_positions(modules: dict, idx) -> None:
    """Delete the children at an int or slice position, then renumber what is left."""
    names = list(modules)
    if isinstance(idx, slice):
        doomed = names[idx]
    else:
        doomed = [names[_position(idx, len(names))]]
    for name in doomed:
        del modules[name]
    _refill(modules, list(modules.values()))


def _as_parameter(value):
    # plain tensors are promoted to Parameters; Parameters and non-tensors are kept as given
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _describe_entry(key, value, legacy_type_name: bool) -> str:
    """One line of a ParameterList / ParameterDict repr.

    PyTorch's ParameterDict names the tensor type the legacy way (``torch.FloatTensor``) while
    ParameterList prints the dtype (``torch.float32``); both add ``(GPU n)`` for CUDA data."""
    if not isinstance(value, Tensor):
        return f"  ({key}): Object of type: {type(value).__name__}"
    kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
    type_text = value.type() if legacy_type_name else str(value.dtype)
    size_text = "x".join(str(n) for n in value.shape)
    where = f" (GPU {value.get_device()})" if value.is_cuda else ""
    return f"  ({key}): {kind} containing: [{type_text} of size {size_text}{where}]"


def _pairs_for_update(source, owner: str, plain_mapping_sorted: bool):
    """Yield ``(key, value)`` from what ``ModuleDict.update`` / ``ParameterDict.update`` accept:
    a mapping, or an iterable of 2-item iterables, validated with PyTorch's messages."""
    if isinstance(source, (Mapping, ModuleDict, ParameterDict)):
        entries = source.items()
        # ParameterDict sorts a plain mapping's keys; ordered inputs keep their order
        if plain_mapping_sorted and isinstance(source, Mapping) \
                and not isinstance(source, OrderedDict):
            entries = sorted(entries)
        yield from entries
        return
    for number, pair in enumerate(source):
        if not isinstance(pair, Iterable):
            raise TypeError(f"{owner} update sequence element #{number} should be Iterable; "
                            f"is{type(pair).__name__}")
        if len(pair) != 2:
            raise ValueError(f"{owner} update sequence element #{number} has length "
                             f"{len(pair)}; 2 is required")
        yield pair[0], pair[1]


# -- Container ---------------------------------------------------------------------------------
class Container(Module):
    """Deprecated holder of named child modules; subclass :class:`Module` instead.

    Each keyword argument becomes a child module under its name.

    Example:
        >>> c = ember.nn.Container(act=ember.nn.ReLU())  # warns: FutureWarning
        >>> list(c._modules)
        ['act']
    """

    def __init__(self, **kwargs) -> None:
        super().__init__()
        warnings.warn("`nn.Container` is deprecated. All of its functionality is now implemented "
                      "in `nn.Module`. Subclass that instead.", FutureWarning, stacklevel=2)
        for name, child in kwargs.items():
            self.add_module(name, child)


# -- Sequential --------------------------------------------------------------------------------
class Sequential(Module):
    """A chain of modules: ``forward`` feeds the input through each child in order.

    Children are given positionally (named ``'0'``, ``'1'``, ...) or as one ``OrderedDict``
    of ``name -> module``. Integer indexing returns a child, slicing returns a new
    ``Sequential`` of the same class that shares the children.

    Example:
        >>> net = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
        >>> net(ember.ones(3, 4)).shape
        torch.Size([3, 2])
        >>> net[:2]
        Sequential(
          (0): Linear(in_features=4, out_features=8, bias=True)
          (1): ReLU()
        )
    """

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            named = args[0].items()
        else:
            named = ((str(number), child) for number, child in enumerate(args))
        for name, child in named:
            self.add_module(name, child)

    def forward(self, input):
        # the hot path of nearly every model: walk the dict's values directly
        for child in self._modules.values():
            input = child(input)
        return input

    # -- element access -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            kept = list(self._modules.items())[idx]
            return self.__class__(OrderedDict(kept))
        children = list(self._modules.values())
        return children[_position(idx, len(children))]

    def __setitem__(self, idx, module) -> None:
        names = list(self._modules)
        setattr(self, names[_position(idx, len(names))], module)

    def __delitem__(self, idx) -> None:
        _drop_positions(self._modules, idx)

    def pop(self, key) -> Module:
        """Remove the child (or the slice of children) at ``key`` and return it.

        Example:
            >>> net = ember.nn.Sequential(ember.nn.ReLU(), ember.nn.Tanh())
            >>> net.pop(0)
            ReLU()
        """
        taken = self[key]
        del self[key]
        return taken

    # -- growing --------------------------------------------------------------------------------
    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position) and return ``self``.

        Example:
            >>> ember.nn.Sequential(ember.nn.ReLU()).append(ember.nn.Tanh())[1]
            Tanh()
        """
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, sequential: Iterable[Module]) -> Sequential:
        """Append every module of an iterable and return ``self``.

        Example:
            >>> len(ember.nn.Sequential(ember.nn.ReLU()).extend([ember.nn.Tanh(), ember.nn.ELU()]))
            3
        """
        for child in sequential:
            self.append(child)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Put ``module`` before position ``index`` (negative counts from the end); the
        children are renumbered. Returns ``self``.

        Example:
            >>> net = ember.nn.Sequential(ember.nn.ReLU(), ember.nn.Tanh())
            >>> net.insert(1, ember.nn.ELU())[1]
            ELU(alpha=1.0)
        """
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        count = len(self._modules)
        if not -count <= index <= count:
            raise IndexError(f"Index out of range: {index}")
        children = list(self._modules.values())
        children.insert(index, module)
        _refill(self._modules, children)
        return self

    def _check_sequential(self, other) -> None:
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")

    def __add__(self, other: Sequential) -> Sequential:
        self._check_sequential(other)
        joined = Sequential()
        for child in chain(self, other):
            joined.append(child)
        return joined

    def __iadd__(self, other: Sequential) -> Sequential:
        self._check_sequential(other)
        for child in other:
            self.append(child)
        return self

    def _check_factor(self, other) -> None:
        if not isinstance(other, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")

    def __mul__(self, other: int) -> Sequential:
        # repeats share the same module objects, as in PyTorch
        self._check_factor(other)
        repeated = Sequential()
        for child in list(self) * other:
            repeated.append(child)
        return repeated

    def __rmul__(self, other: int) -> Sequential:
        return self.__mul__(other)

    def __imul__(self, other: int) -> Sequential:
        self._check_factor(other)
        for child in list(self) * (other - 1):
            self.append(child)
        return self


# -- ModuleList --------------------------------------------------------------------------------
class ModuleList(Module):
    """A list of child modules, registered so ``parameters()``, ``to()`` and ``state_dict()``
    see them (a plain Python list would hide them). It has no ``forward``: iterate it.

    Example:
        >>> layers = ember.nn.ModuleList([ember.nn.Linear(4, 4) for _ in range(3)])
        >>> x = ember.ones(2, 4)
        >>> for layer in layers:
        ...     x = layer(x)
        >>> len(layers), x.shape
        (3, torch.Size([2, 4]))
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self += modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self.__class__(list(self._modules.values())[idx])
        return self._modules[str(_position(idx, len(self._modules)))]

    def __setitem__(self, idx, module) -> None:
        setattr(self, str(_position(idx, len(self._modules))), module)

    def __delitem__(self, idx) -> None:
        _drop_positions(self._modules, idx)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        joined = ModuleList()
        for number, child in enumerate(chain(self, other)):
            joined.add_module(str(number), child)
        return joined

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end and return ``self``.

        Example:
            >>> len(ember.nn.ModuleList().append(ember.nn.ReLU()))
            1
        """
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of an iterable and return ``self``.

        Example:
            >>> len(ember.nn.ModuleList([ember.nn.ReLU()]).extend([ember.nn.Tanh()]))
            2
        """
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleList.extend should be called with an iterable, but got "
                            f"{type(modules).__name__}")
        start = len(self._modules)
        for offset, child in enumerate(modules):
            self.add_module(str(start + offset), child)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put ``module`` before position ``index``, moving the later children up by one.

        Like PyTorch this shifts the keys ``str(i)`` in place (a negative ``index`` raises
        ``KeyError``, one past the end just adds that key).

        Example:
            >>> layers = ember.nn.ModuleList([ember.nn.ReLU(), ember.nn.Tanh()])
            >>> layers.insert(1, ember.nn.ELU())
            >>> layers[1]
            ELU(alpha=1.0)
        """
        children = self._modules
        for slot in range(len(children), index, -1):
            children[str(slot)] = children[str(slot - 1)]
        children[str(index)] = module

    def pop(self, key) -> Module:
        """Remove the child (or the slice of children) at ``key`` and return it.

        Example:
            >>> ember.nn.ModuleList([ember.nn.ReLU(), ember.nn.Tanh()]).pop(-1)
            Tanh()
        """
        taken = self[key]
        del self[key]
        return taken

    def __repr__(self) -> str:
        # runs of children with the same repr print once, as "(first-last): count x child"
        lines = []
        runs: list[list] = []  # [first index, last index, text]
        for number, child in enumerate(self._modules.values()):
            text = repr(child)
            if runs and runs[-1][2] == text:
                runs[-1][1] = number
            else:
                runs.append([number, number, text])
        for first, last, text in runs:
            body = _addindent(text, 2)
            if first == last:
                lines.append(f"({first}): {body}")
            else:
                lines.append(f"({first}-{last}): {last - first + 1} x {body}")
        head = self._get_name() + "("
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


# -- ModuleDict --------------------------------------------------------------------------------
class ModuleDict(Module):
    """An ordered dict of child modules keyed by string, registered like attributes.

    Insertion order is kept (for plain dicts too). It has no ``forward``: index it.

    Example:
        >>> acts = ember.nn.ModuleDict({"relu": ember.nn.ReLU(), "tanh": ember.nn.Tanh()})
        >>> acts["tanh"](ember.zeros(2))
        tensor([0., 0.])
        >>> list(acts.keys())
        ['relu', 'tanh']
    """

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        """The child names (a dict keys view).

        Example:
            >>> list(ember.nn.ModuleDict({"a": ember.nn.ReLU()}).keys())
            ['a']
        """
        return self._modules.keys()

    def values(self):
        """The child modules, in order.

        Example:
            >>> list(ember.nn.ModuleDict({"a": ember.nn.ReLU()}).values())
            [ReLU()]
        """
        return self._modules.values()

    def items(self):
        """``(name, module)`` pairs, in order.

        Example:
            >>> list(ember.nn.ModuleDict({"a": ember.nn.ReLU()}).items())
            [('a', ReLU())]
        """
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove the child named ``key`` and return it.

        Example:
            >>> ember.nn.ModuleDict({"a": ember.nn.ReLU()}).pop("a")
            ReLU()
        """
        taken = self._modules[key]
        del self._modules[key]
        return taken

    def clear(self) -> None:
        """Remove every child.

        Example:
            >>> d = ember.nn.ModuleDict({"a": ember.nn.ReLU()}); d.clear(); len(d)
            0
        """
        self._modules.clear()

    def update(self, modules) -> None:
        """Add or replace children from a mapping or an iterable of ``(name, module)`` pairs.

        Example:
            >>> d = ember.nn.ModuleDict()
            >>> d.update([("act", ember.nn.ReLU())])
            >>> list(d)
            ['act']
        """
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleDict.update should be called with an iterable of key/value "
                            f"pairs, but got {type(modules).__name__}")
        for name, child in _pairs_for_update(modules, "ModuleDict", plain_mapping_sorted=False):
            self[name] = child


# -- ParameterList -----------------------------------------------------------------------------
class ParameterList(Module):
    """A list of parameters; plain tensors are wrapped into :class:`Parameter` on the way in.

    Entry ``i`` is stored as attribute ``str(i)``, so tensors show up in ``parameters()`` and
    ``state_dict()`` and modules as children; other objects are kept as plain attributes.

    Example:
        >>> params = ember.nn.ParameterList([ember.zeros(2), ember.ones(3)])
        >>> type(params[0]).__name__, [tuple(p.shape) for p in params.parameters()]
        ('Parameter', [(2,), (3,)])
    """

    def __init__(self, values: Iterable | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self += values

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        return (getattr(self, str(number)) for number in range(self._size))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            part = self.__class__()
            for number in range(*idx.indices(self._size)):
                part.append(self[number])
            return part
        return getattr(self, str(_position(idx, self._size)))

    def __setitem__(self, idx, param) -> None:
        setattr(self, str(_position(idx, self._size)), _as_parameter(param))

    def __iadd__(self, parameters: Iterable) -> ParameterList:
        return self.extend(parameters)

    def append(self, value) -> ParameterList:
        """Add ``value`` at the end (a tensor becomes a Parameter) and return ``self``.

        Example:
            >>> len(ember.nn.ParameterList().append(ember.zeros(2)))
            1
        """
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values: Iterable) -> ParameterList:
        """Append every value of an iterable (not a single tensor) and return ``self``.

        Example:
            >>> len(ember.nn.ParameterList().extend([ember.zeros(2), ember.ones(1)]))
            2
        """
        # a tensor is iterable, but extending by its rows is never what is meant
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError("ParameterList.extend should be called with an iterable, but got "
                            f"{type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_describe_entry(number, value, legacy_type_name=False)
                         for number, value in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


# -- ParameterDict -----------------------------------------------------------------------------
class ParameterDict(Module):
    """An ordered dict of parameters keyed by string; plain tensors are wrapped into
    :class:`Parameter`.

    A plain ``dict`` given to the constructor or ``update`` is added in sorted key order; an
    ``OrderedDict``, another ``ParameterDict`` or a list of pairs keeps its order.

    Example:
        >>> table = ember.nn.ParameterDict({"scale": ember.ones(3), "bias": ember.zeros(3)})
        >>> list(table), type(table["scale"]).__name__
        (['bias', 'scale'], 'Parameter')
    """

    def __init__(self, parameters=None) -> None:
        super().__init__()
        self._keys: dict = {}  # insertion-ordered key set; values are unused
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _attr_name(key) -> str:
        if not isinstance(key, str):
            raise TypeError("Index given to ParameterDict cannot be used as a key as it is not a "
                            f"string (type is '{type(key).__name__}'). Open an issue on github "
                            "if you need non-string keys.")
        return key

    def __getitem__(self, key: str):
        return getattr(self, self._attr_name(key))

    def __setitem__(self, key: str, value) -> None:
        name = self._attr_name(key)
        self._keys[name] = None
        setattr(self, name, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, self._attr_name(key))

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key) -> bool:
        return key in self._keys

    def keys(self):
        """The keys, in order (a dict keys view).

        Example:
            >>> list(ember.nn.ParameterDict({"w": ember.ones(1)}).keys())
            ['w']
        """
        return self._keys.keys()

    def values(self):
        """The stored values, in key order.

        Example:
            >>> [tuple(v.shape) for v in ember.nn.ParameterDict({"w": ember.ones(2)}).values()]
            [(2,)]
        """
        return (self[key] for key in self._keys)

    def items(self):
        """``(key, value)`` pairs, in order.

        Example:
            >>> [k for k, _ in ember.nn.ParameterDict({"w": ember.ones(1)}).items()]
            ['w']
        """
        return ((key, self[key]) for key in self._keys)

    def get(self, key: str, default=None):
        """The value for ``key``, or ``default`` when it is absent.

        Example:
            >>> ember.nn.ParameterDict().get("missing", 0)
            0
        """
        return self[key] if key in self else default

    def setdefault(self, key: str, default=None):
        """Return the value for ``key``, first storing ``default`` there when it is absent.

        Example:
            >>> type(ember.nn.ParameterDict().setdefault("w", ember.ones(1))).__name__
            'Parameter'
        """
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str):
        """Remove ``key`` and return its value.

        Example:
            >>> tuple(ember.nn.ParameterDict({"w": ember.ones(2)}).pop("w").shape)
            (2,)
        """
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        """Remove the most recently added entry and return it as ``(key, value)``.

        Example:
            >>> ember.nn.ParameterDict({"a": ember.ones(1), "b": ember.ones(1)}).popitem()[0]
            'b'
        """
        if not self._keys:
            raise KeyError("popitem(): dictionary is empty")
        last = next(reversed(self._keys))
        return last, self.pop(last)

    def clear(self) -> None:
        """Remove every entry.

        Example:
            >>> d = ember.nn.ParameterDict({"w": ember.ones(1)}); d.clear(); len(d)
            0
        """
        for key in list(self._keys):
            del self[key]

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same objects (a shallow copy).

        Example:
            >>> d = ember.nn.ParameterDict({"w": ember.ones(1)})
            >>> d.copy()["w"] is d["w"]
            True
        """
        return ParameterDict(OrderedDict(self.items()))

    def fromkeys(self, keys: Iterable[str], default=None) -> ParameterDict:
        """A new ParameterDict with each of ``keys`` set to ``default``.

        Example:
            >>> list(ember.nn.ParameterDict().fromkeys(["a", "b"], ember.zeros(1)))
            ['a', 'b']
        """
        return ParameterDict((key, default) for key in keys)

    def update(self, parameters) -> None:
        """Add or replace entries from a mapping or an iterable of ``(key, value)`` pairs.

        Example:
            >>> d = ember.nn.ParameterDict()
            >>> d.update({"b": ember.ones(1), "a": ember.ones(1)})
            >>> list(d)
            ['a', 'b']
        """
        if not isinstance(parameters, Iterable):
            raise TypeError("ParametersDict.update should be called with an iterable of "
                            f"key/value pairs, but got {type(parameters).__name__}")
        for key, value in _pairs_for_update(parameters, "ParameterDict",
                                            plain_mapping_sorted=True):
            self[key] = value

    def __or__(self, other) -> ParameterDict:
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other):
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other) -> ParameterDict:
        self.update(other)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_describe_entry(key, value, legacy_type_name=True)
                         for key, value in self.items())

    def __call__(self, input):
        raise RuntimeError("ParameterDict should not be called.")
