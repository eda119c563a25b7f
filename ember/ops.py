"""``torch.ops`` on ember: operators by namespace and name.

``ember.ops.aten.<name>`` is ember's implementation of PyTorch's ATen operator ``<name>``
(``ember.ops.aten.add(x, y)``, ``ember.ops.aten.relu_.default(x)``), found among ember's
functions, ``nn.functional``, ``linalg``/``special``/``fft`` (``aten.linalg_solve``) and the
Tensor methods (in-place forms such as ``aten.mul_``). Every overload name PyTorch writes
(``.default``, ``.Tensor``, ``.Scalar``, ...) is the same Python function here, since ember's
functions take every overload's arguments. Namespaces made with ``ember.library``
(``custom_op("mylib::op", ...)``) appear as ``ember.ops.mylib.op``.

Example:
    >>> ember.ops.aten.add.Tensor(ember.ones(2), ember.ones(2))
    tensor([2., 2.])
"""

from __future__ import annotations

import importlib
import types

__all__ = ["aten", "load_library", "loaded_libraries", "OpOverloadPacket", "OpOverload"]

# The overload names PyTorch's ATen schemas use; each resolves to the same function here.
_OVERLOAD_NAMES = frozenset("""
    default Tensor Scalar int float dim dims dim_IntList self other out Tensor_Scalar
    Scalar_Tensor Tensor_Tensor Tensor_mode Scalar_mode using_ints using_sizes input names vec
    memory_format correction dim_int intlist bool str t tensor_split_indices sections indices
    src value reduce reduce_out two source dtype device Tensor_out Scalar_out
""".split())

loaded_libraries: set = set()


class OpOverload:
    """One overload of an operator (``ember.ops.aten.add.Tensor``); call it as the function."""

    def __init__(self, packet: OpOverloadPacket, overload: str):
        self._packet = packet
        self._overloadname = overload
        self.__name__ = f"{packet._name}.{overload}"

    def __call__(self, *args, **kwargs):
        return self._packet._fn(*args, **kwargs)

    @property
    def overloadpacket(self) -> OpOverloadPacket:
        return self._packet

    @property
    def op(self):
        return self._packet._fn

    def name(self) -> str:
        return f"{self._packet._namespace}::{self._packet._name}.{self._overloadname}"

    def __repr__(self) -> str:
        return f"<OpOverload(op='{self._packet._namespace}.{self._packet._name}', " \
               f"overload='{self._overloadname}')>"

    def __str__(self) -> str:
        return f"{self._packet._namespace}.{self._packet._name}.{self._overloadname}"


class OpOverloadPacket:
    """An operator with its overloads (``ember.ops.aten.add``); calling it calls the op."""

    def __init__(self, namespace: str, name: str, fn):
        self._namespace = namespace
        self._name = name
        self._fn = fn
        self.__name__ = name
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def __getattr__(self, overload: str):
        if overload in _OVERLOAD_NAMES:
            return OpOverload(self, overload)
        raise AttributeError(f"The underlying op of '{self._namespace}.{self._name}' has no "
                             f"overload name '{overload}'")

    def overloads(self) -> list[str]:
        return ["default"]

    @property
    def op(self):
        return self._fn

    def __repr__(self) -> str:
        return f"<OpOverloadPacket(op='{self._namespace}.{self._name}')>"

    def __str__(self) -> str:
        return f"{self._namespace}.{self._name}"


def _aten_function(name: str):
    """ember's function for ATen's ``name``, or None."""
    import ember
    from ember import _tensor
    from ember.nn import functional

    for prefix, module in (("linalg_", "linalg"), ("special_", "special"), ("fft_", "fft")):
        if name.startswith(prefix):
            fn = getattr(importlib.import_module(f"ember.{module}"), name[len(prefix):], None)
            if fn is not None:
                return fn
    for source in (ember, functional):
        fn = getattr(source, name, None)
        if callable(fn) and not isinstance(fn, (type, types.ModuleType)):
            return fn
    method = getattr(_tensor.Tensor, name, None)
    if callable(method):
        return method
    return None


class _OpNamespace(types.ModuleType):
    """``ember.ops.<namespace>``: attribute access finds the operator."""

    def __init__(self, namespace: str):
        super().__init__(f"ember.ops.{namespace}")
        self._namespace = namespace

    def __getattr__(self, name: str) -> OpOverloadPacket:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._namespace == "aten":
            fn = _aten_function(name)
        else:
            from . import library

            fn = library._REGISTRY.get(f"{self._namespace}::{name}")
        if fn is None:
            raise AttributeError(f"'_OpNamespace' '{self._namespace}' object has no attribute "
                                 f"'{name}'")
        packet = OpOverloadPacket(self._namespace, name, fn)
        if self._namespace != "aten":
            packet._custom_op = fn
        return packet


aten = _OpNamespace("aten")
_namespaces: dict[str, _OpNamespace] = {"aten": aten}


def __getattr__(namespace: str) -> _OpNamespace:
    if namespace.startswith("__"):
        raise AttributeError(namespace)
    if namespace not in _namespaces:
        _namespaces[namespace] = _OpNamespace(namespace)
    return _namespaces[namespace]


def load_library(path) -> None:
    """Refused: ``torch.ops.load_library`` loads compiled C++/CUDA operators, and ember runs
    no compiled code of its own. Define the operator in Python with ``ember.library.custom_op``.

    Example:
        >>> ember.ops.load_library("libmyops.so")
        Traceback (most recent call last):
        ...
        RuntimeError: ember cannot load the compiled operator library 'libmyops.so' ...
    """
    raise RuntimeError(
        f"ember cannot load the compiled operator library {str(path)!r} (PyTorch C++/CUDA "
        "extensions need libtorch). Write the operator in Python with "
        "ember.library.custom_op('namespace::name', mutates_args=()) instead.")
