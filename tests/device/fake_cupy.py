"""A stand-in for CuPy that computes with NumPy but refuses what CuPy refuses.

It lets the CPU-only CI catch code that works on NumPy arrays and breaks on a GPU. Its arrays
(``fake_cupy.ndarray``) are not NumPy arrays: they wrap one, and they answer NumPy's
``__array_ufunc__``/``__array_function__`` protocols the way ``cupy.ndarray`` does
(``cupy/_core/core.pyx``): a NumPy ufunc or function called on them runs this module's function
of the same name, or fails where CuPy has none. Like CuPy, they refuse

- implicit conversion to a NumPy array (``np.asarray``, ``np.array``, ``np.ascontiguousarray``,
  ``np.lib.stride_tricks.as_strided``): ``TypeError``, CuPy's message;
- NumPy arrays mixed into device calls (ufunc operands, function arguments, values assigned
  into a device array): ``TypeError: Unsupported type <class 'numpy.ndarray'>``;
- NumPy-only features: ufunc ``where=``, ``reduce``/``accumulate`` of ufuncs other than CuPy's
  few, ``np.add.at`` through NumPy with a tuple index or host indices, ``flags.writeable``,
  ``setflags``, ``ctypes``, ``__array_interface__``, ``sliding_window_view(writeable=True)``.

What CuPy allows and this allows too: host index arrays and lists inside ``a[...]`` (CuPy copies
them to the device), ``.get()``, ``.item()``, ``.tolist()``, ``float(a)``; the module-level
API ember uses (``asarray``, ``empty``, ``zeros``, every NumPy function and ufunc by name,
``linalg``, ``fft``, ``random``, ``lib.stride_tricks``, ``cuda.Device``, ``cuda.runtime``,
streams, events, the memory pool); ``ndarray.scatter_add`` and ``add.at`` with device indices.

``host_copies`` counts explicit device-to-host copies (``.get()`` and what uses it).
"""

from __future__ import annotations

import functools
import sys
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_HOST_REFUSED = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
                 "construct a NumPy array explicitly.")
host_copies = [0]


def _unsupported(x):
    return TypeError(f"Unsupported type {type(x)}")


def _unwrap(x):
    """A device array's NumPy payload; NumPy arrays are refused; containers are walked."""
    t = type(x)
    if t is ndarray:
        return x._a
    if isinstance(x, np.ndarray):
        raise _unsupported(x)
    if t is list or t is tuple:
        return t(_unwrap(v) for v in x)
    return x


def _wrap(r):
    t = type(r)
    if t is np.ndarray:
        return ndarray._of(r)
    if isinstance(r, np.generic):  # CuPy keeps 0-d arrays where NumPy gives scalars
        return ndarray._of(np.asarray(r))
    if isinstance(r, np.ndarray):  # a NumPy subclass (a matrix, a masked array)
        return ndarray._of(np.asarray(r))
    if t is list or t is tuple:
        return t(_wrap(v) for v in r)
    if hasattr(r, "_fields") and isinstance(r, tuple):  # a namedtuple (linalg results)
        return t(*(_wrap(v) for v in r))
    return r


def _unwrap_index(key):
    """An index for ``a[key]``: device arrays unwrapped; host arrays and lists are copied to
    the device by CuPy, so they are allowed here."""
    if type(key) is ndarray:
        return key._a
    if type(key) is tuple:
        return tuple(_unwrap_index(k) for k in key)
    return key


# -- functions: NumPy's, run on the payloads, with CuPy's refusals ------------------------------

# functions CuPy does not have, keyword arguments its versions do not take
_MISSING = {"numpy": {"asmatrix", "bmat", "fromregex", "genfromtxt", "loadtxt", "savetxt",
                      "require", "busday_count", "is_busday", "busday_offset", "datetime_as_string",
                      "isnat", "spacing", "bitwise_count"},
            "numpy.lib.stride_tricks": set()}
_NO_KWARGS = {"where", "initial"}  # CuPy's reductions take neither
_KWARG_OK = {("numpy", "copyto"): {"where"}}
_WRITABLE_VIEWS = {"diagonal"}


def _device_function(np_func, module="numpy"):
    name = np_func.__name__
    allowed = _KWARG_OK.get((module, name), set())

    @functools.wraps(np_func)
    def call(*args, **kwargs):
        for k in kwargs:
            if k in _NO_KWARGS and k not in allowed and kwargs[k] is not None:
                raise TypeError(f"{name}() got an unexpected keyword argument '{k}'")
        res = np_func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
        if name in _WRITABLE_VIEWS:  # CuPy has no read-only arrays
            res.flags.writeable = True
        return _wrap(res)

    call._fake = True
    return call


# -- ufuncs ---------------------------------------------------------------------------------------

_REDUCIBLE = {"add", "multiply", "maximum", "minimum", "logical_and", "logical_or",
              "bitwise_and", "bitwise_or", "bitwise_xor"}
_AT = {"add", "subtract", "maximum", "minimum"}
_CALL_KWARGS = {"out", "dtype", "casting"}
_MISSING_UFUNCS = {"spacing", "isnat", "bitwise_count", "vecdot", "matvec", "vecmat",
                   "_ones_like", "_arg", "clip"}


def _ufunc_operand(x):
    t = type(x)
    if t is ndarray:
        return x._a
    if t in (bool, int, float, complex) or isinstance(x, np.generic):
        return x
    raise _unsupported(x)


class ufunc:
    """CuPy's ufunc: device operands and scalars only, no ``where=``."""

    def __init__(self, np_ufunc):
        self._u = np_ufunc
        self.__name__ = np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs

    def __repr__(self):
        return f"<ufunc '{self.__name__}'>"

    def _kwargs(self, kwargs, allowed=_CALL_KWARGS):
        bad = {k: v for k, v in kwargs.items() if k not in allowed}
        if bad:
            raise TypeError(f"Wrong arguments {bad}")
        out = {}
        for k, v in kwargs.items():
            if k == "out":
                if isinstance(v, tuple):
                    v = tuple(_ufunc_operand(o) for o in v)
                elif v is not None:
                    v = _ufunc_operand(v)
            out[k] = v
        return out

    def __call__(self, *args, **kwargs):
        if len(args) > self.nin:  # out given positionally
            args, kwargs = args[:self.nin], {**kwargs, "out": args[self.nin:]}
        return _wrap(self._u(*(_ufunc_operand(a) for a in args), **self._kwargs(kwargs)))

    def _method(self, method, supported):
        if self.__name__ not in supported:
            raise NotImplementedError(
                f"{self.__name__}.{method} is not supported by this fake CuPy (nor by CuPy)")
        return getattr(self._u, method)

    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False, **kw):
        fn = self._method("reduce", _REDUCIBLE)
        self._kwargs(kw, set())
        return _wrap(fn(_ufunc_operand(a), axis=axis, dtype=dtype,
                        out=None if out is None else _ufunc_operand(out), keepdims=keepdims))

    def accumulate(self, a, axis=0, dtype=None, out=None, **kw):
        fn = self._method("accumulate", _REDUCIBLE)
        self._kwargs(kw, set())
        return _wrap(fn(_ufunc_operand(a), axis=axis, dtype=dtype,
                        out=None if out is None else _ufunc_operand(out)))

    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        fn = self._method("reduceat", {"add"})
        return _wrap(fn(_ufunc_operand(a), _ufunc_operand(indices), axis=axis, dtype=dtype,
                        out=None if out is None else _ufunc_operand(out)))

    def outer(self, a, b, **kw):
        return _wrap(self._u.outer(_ufunc_operand(a), _ufunc_operand(b), **self._kwargs(kw)))

    def at(self, a, indices, b=None):
        fn = self._method("at", _AT)
        if type(a) is not ndarray:
            raise _unsupported(a)
        idx = _device_index(indices)
        if b is None:
            fn(a._a, idx)
        else:
            fn(a._a, idx, _ufunc_operand(b))


def _device_index(indices):
    """An index of device arrays, slices and ints (host arrays are refused)."""
    if type(indices) is tuple:
        return tuple(_device_index(i) for i in indices)
    if type(indices) is ndarray:
        return indices._a
    if isinstance(indices, (np.ndarray, list)):
        raise _unsupported(indices)
    return indices


# -- the array ------------------------------------------------------------------------------------

class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.base is None

    def __getitem__(self, name):
        key = {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
               "OWNDATA": "owndata"}.get(name)
        if key is None:
            raise KeyError(name)
        return getattr(self, key)


class _MemoryPointer:
    """CuPy's ``MemoryPointer``: an address in a device buffer (``+`` moves it by bytes)."""

    __slots__ = ("_root", "_offset", "ptr", "device")

    def __init__(self, root, offset):
        self._root, self._offset = root, offset
        self.ptr = root.__array_interface__["data"][0] + offset
        self.device = _DEVICE0

    def __add__(self, nbytes):
        return _MemoryPointer(self._root, self._offset + int(nbytes))


def _pointer(a):
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    return _MemoryPointer(root, a.__array_interface__["data"][0]
                          - root.__array_interface__["data"][0])


# ndarray methods NumPy has and CuPy's ndarray has not
_MISSING_METHODS = {"setflags", "resize", "byteswap", "newbyteorder", "itemset", "getfield",
                    "setfield", "tofile", "dump", "dumps", "ctypes", "__array_interface__",
                    "__array_struct__", "__buffer__", "to_device", "__array_namespace__",
                    "searchsorted", "__array_wrap__", "__array_finalize__",
                    "__array_prepare__"}


class ndarray(NDArrayOperatorsMixin):
    """An array "on the device": NumPy memory nobody may read as NumPy."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is None:
            if strides is not None:
                raise ValueError("memptr is required if strides is given.")
            self._a = np.empty(shape, dtype, order=order)
            return
        root = memptr._root  # a view of the buffer the pointer points into, as CuPy makes
        buf = root.reshape(-1).view(np.uint8) if root.flags.c_contiguous else root
        self._a = np.ndarray(shape, dtype, buffer=buf, offset=memptr._offset, strides=strides)

    @classmethod
    def _of(cls, a):
        self = object.__new__(cls)
        self._a = a
        return self

    # -- NumPy's protocols, answered as CuPy answers them
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_HOST_REFUSED)

    def __array_ufunc__(self, uf, method, *inputs, **kwargs):
        if method not in ("__call__", "outer", "at", "reduce", "accumulate", "reduceat"):
            return NotImplemented
        fn = _ufuncs.get(uf.__name__)
        if fn is None:
            return NotImplemented
        inout = inputs
        if "out" in kwargs:
            out = kwargs["out"]
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            inout += out
            kwargs["out"] = out[0]
        for x in inout:  # anything else than arrays and scalars: NumPy gets NotImplemented
            if not (type(x) is ndarray or isinstance(x, np.ndarray)
                    or type(x) in (bool, int, float, complex) or isinstance(x, np.generic)):
                return NotImplemented
        if uf.__name__ in ("greater", "greater_equal", "less", "less_equal", "equal",
                           "not_equal"):
            inputs = tuple(x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x
                           for x in inputs)
        if method != "__call__":
            fn = getattr(fn, method)
        return fn(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        fn = _resolve(func)
        if fn is None:
            return NotImplemented
        for t in types_:
            if not issubclass(t, (ndarray, np.ndarray)):
                return NotImplemented
        return fn(*args, **kwargs)

    # -- attributes
    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    T = property(lambda self: ndarray._of(self._a.T))
    mT = property(lambda self: ndarray._of(self._a.mT))
    flags = property(lambda self: _Flags(self._a))
    device = property(lambda self: _DEVICE0)
    data = property(lambda self: _pointer(self._a))

    @property
    def base(self):
        b = self._a.base
        return ndarray._of(b) if isinstance(b, np.ndarray) else None

    @property
    def real(self):
        return ndarray._of(self._a.real)

    @real.setter
    def real(self, value):
        self._a.real = _ufunc_operand(value)

    @property
    def imag(self):
        return ndarray._of(self._a.imag)

    @imag.setter
    def imag(self, value):
        self._a.imag = _ufunc_operand(value)

    def __getattr__(self, name):
        if name in _MISSING_METHODS or name.startswith("__"):
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        meth = getattr(self._a, name)  # AttributeError for what NumPy lacks too
        if not callable(meth):
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")

        def call(*args, **kwargs):
            for k in _NO_KWARGS:
                if kwargs.get(k) is not None:
                    raise TypeError(f"{name}() got an unexpected keyword argument '{k}'")
            res = meth(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
            if name in _WRITABLE_VIEWS:
                res.flags.writeable = True
            return _wrap(res)
        return call

    # -- conversion: explicit copies to the host, as CuPy's
    def get(self, stream=None, order="C", out=None):
        host_copies[0] += 1
        if out is not None:
            np.copyto(out, self._a)
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if arr.shape != self._a.shape or arr.dtype != self._a.dtype:
            raise ValueError("Shape or dtype mismatch")
        self._a[...] = arr

    def item(self, *args):
        host_copies[0] += 1
        if args:
            raise TypeError("cupy.ndarray.item() takes no arguments")
        if self._a.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self._a.item()

    def tolist(self):
        return self.get().tolist()

    def tobytes(self, order="C"):
        return self.get().tobytes(order)

    def __int__(self):
        return int(self.get())

    def __float__(self):
        return float(self.get())

    def __complex__(self):
        return complex(self.get())

    def __bool__(self):
        return bool(self.get())

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self.get(), spec)

    # -- containers
    def __len__(self):
        if self._a.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getitem__(self, key):
        key = _unwrap_index(key)
        r = self._a[key]
        if not isinstance(r, np.ndarray):  # CuPy gives a 0-d view where NumPy gives a scalar
            r = self._a[(*key, Ellipsis) if type(key) is tuple else (key, Ellipsis)]
        return ndarray._of(r)

    def __setitem__(self, key, value):
        if type(value) is ndarray:
            value = value._a
        elif isinstance(value, (np.ndarray, list, tuple)):
            raise _unsupported(value)
        self._a[_unwrap_index(key)] = value

    def scatter_add(self, slices, value):
        np.add.at(self._a, _unwrap_index(slices), _ufunc_operand(value))

    def scatter_max(self, slices, value):
        np.maximum.at(self._a, _unwrap_index(slices), _ufunc_operand(value))

    def scatter_min(self, slices, value):
        np.minimum.at(self._a, _unwrap_index(slices), _ufunc_operand(value))

    def copy(self, order="C"):
        return ndarray._of(self._a.copy(order=order))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return ndarray._of(self._a.astype(dtype, order=order, copy=copy))

    def view(self, dtype=None, type=None):
        if type is not None:
            raise TypeError("cupy.ndarray.view(type=) is not supported")
        return ndarray._of(self._a.view() if dtype is None else self._a.view(dtype))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return (array, (self.get(),))

    __hash__ = None


# -- the module: NumPy's names, run on the device ------------------------------------------------

_ufuncs: dict = {}
for _name in dir(np):
    _obj = getattr(np, _name)
    if isinstance(_obj, np.ufunc) and _obj.__name__ not in _MISSING_UFUNCS:
        _ufuncs[_obj.__name__] = ufunc(_obj)


def _module_getattr(namespace, np_module, modname):
    missing = _MISSING.get(modname, set())

    def __getattr__(name):
        if name.startswith("__") or name in missing:
            raise AttributeError(f"module 'cupy' has no attribute '{name}'")
        obj = getattr(np_module, name)  # AttributeError for what NumPy lacks too
        if isinstance(obj, np.ufunc):
            if obj.__name__ not in _ufuncs:
                raise AttributeError(f"module 'cupy' has no attribute '{name}'")
            res = _ufuncs[obj.__name__]
        elif callable(obj) and not isinstance(obj, type):
            res = _device_function(obj, modname)
        else:  # dtypes, scalar types, constants, finfo/iinfo, errstate
            res = obj
        setattr(namespace, name, res)
        return res
    return __getattr__


def _resolve(func):
    """This module's function for a NumPy function (CuPy's ``__array_function__`` lookup)."""
    mod = sys.modules[__name__]
    try:
        for part in func.__module__.split(".")[1:]:
            mod = getattr(mod, part)
        fn = getattr(mod, func.__name__)
    except AttributeError:
        return None
    return fn if getattr(fn, "_fake", False) or isinstance(fn, ufunc) else None


def asarray(a, dtype=None, order=None, *, blocking=False):
    """Host data (or a device array) as a device array: the explicit transfer."""
    if type(a) is ndarray:
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    if isinstance(a, (list, tuple)):
        a = _unwrap(a) if not any(isinstance(v, np.ndarray) for v in a) else a
    return ndarray._of(np.array(a, dtype=dtype, order=order or "K", copy=True))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if type(obj) is ndarray:
        obj = obj._a
    out = np.array(obj, dtype=dtype, copy=True, order=order, ndmin=ndmin)
    return ndarray._of(out)


asanyarray = asarray


def ascontiguousarray(a, dtype=None):
    if type(a) is not ndarray:
        raise TypeError(f"Argument 'a' has incorrect type (expected cupy.ndarray, got "
                        f"{type(a).__name__})")
    return ndarray._of(np.ascontiguousarray(a._a, dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if type(a) is ndarray:
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if any(type(a) is ndarray for a in args) else np


for _n in ("asarray", "array", "asanyarray", "ascontiguousarray"):
    globals()[_n]._fake = True


def _sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
    if writeable:
        raise TypeError("sliding_window_view() got an unexpected keyword argument 'writeable'")
    return _wrap(np.lib.stride_tricks.sliding_window_view(_unwrap(x), window_shape, axis))


def _as_strided(x, shape=None, strides=None):
    return ndarray._of(np.lib.stride_tricks.as_strided(_unwrap(x), shape, strides))


_sliding_window_view._fake = _as_strided._fake = True

linalg = types.ModuleType(__name__ + ".linalg")
linalg.__getattr__ = _module_getattr(linalg, np.linalg, "numpy.linalg")


def _solve(a, b):
    """CuPy's ``linalg.solve``: batch dims are not broadcast."""
    if b.ndim > 1 and (a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]):
        raise ValueError("a must have (..., M, M) shape and b must have (..., M, K) for "
                         "multidimensional b")
    return _wrap(np.linalg.solve(_unwrap(a), _unwrap(b)))


_solve._fake = True
linalg.solve = _solve
fft = types.ModuleType(__name__ + ".fft")
fft.__getattr__ = _module_getattr(fft, np.fft, "numpy.fft")
lib = types.ModuleType(__name__ + ".lib")
lib.stride_tricks = types.SimpleNamespace(sliding_window_view=_sliding_window_view,
                                          as_strided=_as_strided)
__getattr__ = _module_getattr(sys.modules[__name__], np, "numpy")


# -- random: CuPy's generator API, drawing on the host and landing on the device ------------------

class _Generator:
    def __init__(self, seed=None):
        self._g = np.random.default_rng(seed)

    def __getattr__(self, name):
        meth = getattr(self._g, name)
        return lambda *a, **k: _wrap(meth(*_unwrap(a), **{x: _unwrap(v) for x, v in k.items()}))


random = types.ModuleType(__name__ + ".random")
random.default_rng = _Generator
random.Generator = _Generator
random._state = _Generator(0)
random.seed = lambda seed=None: setattr(random, "_state", _Generator(seed))
for _n in ("random", "standard_normal", "normal", "uniform", "integers", "permutation",
           "choice", "exponential", "poisson", "binomial", "gamma", "beta"):
    setattr(random, _n, lambda *a, _n=_n, **k: getattr(random._state, _n)(*a, **k))
random.rand = lambda *shape: random._state.random(shape)
random.randn = lambda *shape: random._state.standard_normal(shape)


# -- cuda: one device, streams and events that only keep order -----------------------------------

class _Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(getattr(device, "id", device))
        if self.id != 0:
            raise RuntimeError(f"CUDA error: invalid device ordinal {self.id}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def use(self):
        pass

    def synchronize(self):
        pass

    def __eq__(self, other):
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


_DEVICE0 = _Device(0)


class _Stream:
    null = None

    def __init__(self, null=False, non_blocking=False, ptr=0, priority=0):
        self.ptr = 0 if null else id(self)
        self.priority = priority
        self._prev = []

    def synchronize(self):
        pass

    def query(self):
        return True

    def record(self, event=None):
        event = event or _Event()
        event.record(self)
        return event

    def wait_event(self, event):
        pass

    def use(self):
        _current_stream[0] = self
        return self

    def __enter__(self):
        self._prev.append(_current_stream[0])
        _current_stream[0] = self
        return self

    def __exit__(self, *exc):
        _current_stream[0] = self._prev.pop()
        return False

    def __eq__(self, other):
        return isinstance(other, _Stream) and other.ptr == self.ptr

    def __hash__(self):
        return hash(self.ptr)


_Stream.null = _Stream(null=True)
_current_stream = [_Stream.null]


class _Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self._t = None
        self.ptr = id(self)

    def record(self, stream=None):
        import time

        self._t = time.perf_counter()

    def synchronize(self):
        pass

    @property
    def done(self):
        return True


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass

    def n_free_blocks(self):
        return 0


_pool = _MemoryPool()
get_default_memory_pool = lambda: _pool  # noqa: E731
get_default_pinned_memory_pool = lambda: _pool  # noqa: E731

runtime = types.SimpleNamespace(
    getDeviceCount=lambda: 1,
    getDevice=lambda: 0,
    setDevice=lambda i: _Device(i) and None,
    deviceSynchronize=lambda: None,
    getDeviceProperties=lambda i: {"name": b"Fake CUDA device (NumPy)", "major": 9,
                                   "minor": 0, "totalGlobalMem": 2 ** 34,
                                   "multiProcessorCount": 1},
    memGetInfo=lambda: (2 ** 33, 2 ** 34),
    streamLegacy=1,
)
cuda = types.SimpleNamespace(
    Device=_Device, runtime=runtime, Stream=_Stream, Event=_Event,
    get_current_stream=lambda: _current_stream[0],
    get_elapsed_time=lambda start, end: max(1e-3, 1e3 * ((end._t or 0) - (start._t or 0))),
    is_available=lambda: True,
)
cuda.runtime.CUDARuntimeError = RuntimeError


__all__ = ["ndarray", "ufunc", "asarray", "array", "asnumpy", "ascontiguousarray", "cuda",
           "linalg", "fft", "random", "lib", "get_array_module", "host_copies"]
