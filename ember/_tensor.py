"""The Tensor: an array (NumPy, CuPy or meta) plus what autograd needs.

Math methods and operators are attached in ``_tensor_methods.py`` from the op modules, so that
this file holds only the object itself: its data, dtype, device, autograd state and the
conversions users touch first.
"""

from __future__ import annotations

import numpy as np

from . import _dtype as D
from . import _tensor_autograd
from ._backend import CPU, META, Device, MetaArray, array_device
from ._tensor_autograd import TensorAutograd
from .autograd import grad_mode
from .autograd.grad_mode import _state as _grad_state


class Size(tuple):
    """The shape of a tensor: a tuple of ints (``torch.Size([2, 3])``).

    Example:
        >>> ember.zeros(2, 3).shape
        torch.Size([2, 3])
    """

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __reduce__(self):
        return (Size, (tuple(self),))


def _real_scalar(value, c_type: str):
    """A complex tensor's value as torch's ``int()``/``float()`` read it: the real part when
    the imaginary part is zero, else its RuntimeError."""
    if type(value) is complex:
        if value.imag != 0:
            raise RuntimeError(f"value cannot be converted to type {c_type} without overflow")
        return value.real
    return value


class Tensor(TensorAutograd):
    """A multi-dimensional array with autograd, in PyTorch's image.

    Create tensors with ``ember.tensor``, ``ember.zeros``, ``ember.randn`` and friends.

    Example:
        >>> x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward(); x.grad
        tensor([2., 4., 6.])
    """

    # Every tensor sets these five; the rest are class-level defaults, overridden per instance
    # only when used (a view's base, hooks, a leaf's grad ...), so Tensor._make stays cheap.
    __slots__ = ("_data", "_dtype", "_requires_grad", "grad_fn", "_vbox", "__weakref__",
                 "__dict__")

    _output_nr = 0
    _grad = None
    _base = None
    _view_fn = None
    _inference = False  # made under inference_mode (see is_inference)
    _conj_bit = False  # made by conj() (see is_conj): its data holds the conjugated values
    _multi_view = False  # one of several views an op returned (split, unbind), or a view of one
    # a view made inside a custom Function (or an input it returned as-is), or a view of one:
    # (the Function's name or None for a view of one, whether the Function had several
    # differentiable outputs); in-place changes to it are refused
    _custom_view = None
    # a view made with grad mode off of a base that requires grad holds its base's version
    # then: it requires grad too (as PyTorch's), but no gradient accumulates in it, and using
    # it with grad mode on after an in-place change, or changing it in place then, is refused
    _no_grad_view = None
    _hooks = None
    # the ember.func.vmap calls whose mapped inputs this tensor was computed from (set only
    # while one runs): .item(), bool(), .tolist() ... refuse such a tensor, as torch's do
    _vmap_levels = ()
    _post_acc_hooks = None
    _grad_acc = None
    _grad_private = False
    _retains_grad = False
    # In-place bookkeeping for views: a base records the version of its last recorded in-place
    # change, a view the version its grad_fn was made at; a view older than its base's change
    # redoes its node (graph.edge_of).
    _rebased_at = -1
    _fresh_at = -1

    def __new__(cls, *args, **kwargs):
        if cls is Tensor and (args or kwargs):
            from ._creation import _legacy_new

            # ember.Tensor(t) aliases a tensor of any dtype; FloatTensor(t) only a float32 one
            return _legacy_new(D.get_default_dtype(), *args, _any_dtype=True, **kwargs)
        self = object.__new__(cls)
        if cls is Tensor:
            self._init(np.empty(0, D.get_default_dtype().np_dtype), D.get_default_dtype())
        return self

    def __init__(self, *args, **kwargs):
        pass

    def __init_subclass__(cls, **kwargs):
        # __torch_function__: ember's own subclasses opt out; the first subclass defined
        # elsewhere installs the dispatch layer (see _torch_function)
        super().__init_subclass__(**kwargs)
        from ._torch_function import subclass_defined

        subclass_defined(cls)

    def _init(self, data, dtype, requires_grad=False):
        self._data = data
        self._dtype = dtype
        self._requires_grad = requires_grad
        self.grad_fn = None
        self._vbox = [0]
        if _grad_state.inference:
            self._mark_inference()

    @classmethod
    def _make(cls, data, dtype=None, requires_grad=False):
        """Wrap an array without copying (internal; dtype from the array when not given)."""
        self = object.__new__(cls)
        self._data = data
        self._dtype = dtype if dtype is not None else D.from_numpy_dtype(data.dtype)
        self._requires_grad = requires_grad
        self.grad_fn = None
        self._vbox = [0]
        if _grad_state.inference:
            self._mark_inference()
        return self

    # -- basic attributes -------------------------------------------------------------------
    @property
    def dtype(self) -> D.dtype:
        return self._dtype

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape as a ``Size``, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def device(self) -> Device:
        kind = type(self._data)
        if kind is np.ndarray:
            return CPU
        if kind is MetaArray:
            return META
        return array_device(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_meta(self) -> bool:
        return self.device.type == "meta"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    def get_device(self) -> int:
        dev = self.device
        return dev.index or 0 if dev.type == "cuda" else -1

    def element_size(self) -> int:
        return self._dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self._dtype.itemsize

    def is_floating_point(self) -> bool:
        return self._dtype.is_floating_point

    def is_complex(self) -> bool:
        return self._dtype.is_complex

    @property
    def layout(self):
        from ._layout import strided

        return strided

    # -- what kind of tensor: PyTorch's is_* answers for a dense (strided) tensor -----------
    # Sparse tensors are a subclass that overrides is_sparse and is_coalesced.
    @property
    def is_sparse(self) -> bool:
        """False: a dense tensor (sparse COO tensors answer True)."""
        return False

    @property
    def is_sparse_csr(self) -> bool:
        """False: a dense tensor (CSR tensors, ember._sparse_compressed, answer True)."""
        return False

    @property
    def is_quantized(self) -> bool:
        """False: a quantized tensor is a ``QuantizedTensor`` (``ember.quantize_per_tensor``)."""
        return False

    @property
    def is_mkldnn(self) -> bool:
        """False: ember has no oneDNN tensors."""
        return False

    @property
    def is_nested(self) -> bool:
        """False: ember has no nested tensors."""
        return False

    @property
    def is_mps(self) -> bool:
        """False: ember has no MPS device."""
        return False

    @property
    def is_xpu(self) -> bool:
        """False: ember has no XPU device."""
        return False

    @property
    def is_xla(self) -> bool:
        """False: ember has no XLA device."""
        return False

    @property
    def is_ipu(self) -> bool:
        """False: ember has no IPU device."""
        return False

    @property
    def is_maia(self) -> bool:
        """False: ember has no MAIA device."""
        return False

    @property
    def is_mtia(self) -> bool:
        """False: ember has no MTIA device."""
        return False

    @property
    def is_vulkan(self) -> bool:
        """False: ember has no Vulkan device."""
        return False

    def is_distributed(self) -> bool:
        """False: ember tensors are never distributed."""
        return False

    def _mark_inference(self) -> None:
        self._inference = True
        grad_mode.inference_tensors_made = True  # from now on, saving for backward checks

    def is_inference(self) -> bool:
        """True for a tensor made under ``inference_mode``: it has no autograd history, cannot
        be changed in place outside inference mode, nor saved for backward (clone it first).

        Example:
            >>> with ember.inference_mode():
            ...     y = ember.ones(2) * 2
            >>> y.is_inference(), y.clone().is_inference()
            (True, False)
        """
        return self._inference

    def is_signed(self) -> bool:
        """Whether the dtype is signed (False for bool, the unsigned integers and
        float8_e8m0fnu).

        Example:
            >>> ember.tensor([1], dtype=ember.uint8).is_signed()
            False
        """
        return self._dtype.is_signed

    def is_nonzero(self) -> bool:
        """Whether a one-element tensor is nonzero (``bool(t)`` without the ambiguity).

        Example:
            >>> ember.tensor([0.5]).is_nonzero()
            True
        """
        if self._data.size != 1:
            what = "more than one value" if self._data.size else "no values"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        if self._vmap_levels:
            _vmap_refuse(self, "bool")
        return bool(self.item() != 0)

    def is_same_size(self, other) -> bool:
        """Whether ``other`` has the same shape.

        Example:
            >>> ember.zeros(2, 3).is_same_size(ember.ones(2, 3))
            True
        """
        return tuple(self._data.shape) == tuple(other.shape)

    def is_coalesced(self) -> bool:
        """Only sparse tensors have this; a dense tensor raises, as in PyTorch."""
        raise RuntimeError("is_coalesced expected sparse coordinate tensor layout but got "
                           "Strided")

    # -- memory layout ----------------------------------------------------------------------
    def stride(self, dim: int | None = None):
        """Strides in elements (PyTorch's convention), not bytes."""
        item = self._dtype.itemsize
        if self.device.type == "meta" or self._data.size == 0:  # torch: contiguous strides
            strides = _contiguous_strides(self._data.shape)
        else:
            strides = tuple(s // item for s in self._data.strides)
        if dim is None:
            return strides
        return strides[_wrap_dim(dim, self._data.ndim)]

    def storage_offset(self) -> int:
        """Offset of the first element from the start of the storage, in elements."""
        root = self._data
        while isinstance(getattr(root, "base", None), np.ndarray):
            root = root.base
        if root is self._data or not isinstance(root, np.ndarray):
            return 0
        start = self._data.__array_interface__["data"][0]
        return (start - root.__array_interface__["data"][0]) // self._dtype.itemsize

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the elements lie densely in memory in row-major order, or in the order of
        ``memory_format`` (``channels_last``: dims N, H, W, C from outermost to innermost;
        ``channels_last_3d``: N, D, H, W, C); size-1 dims' strides do not count, as in torch.

        Example:
            >>> ember.zeros(2, 3, 4, 5).is_contiguous(memory_format=ember.channels_last)
            False
        """
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        from . import _dtype as D

        if not isinstance(memory_format, D.memory_format):
            raise TypeError("is_contiguous(): argument 'memory_format' must be "
                            f"torch.memory_format, not {type(memory_format).__name__}")
        order = {D.channels_last: (4, (1, 3, 2, 0)),
                 D.channels_last_3d: (5, (1, 4, 3, 2, 0))}.get(memory_format)
        if order is None:  # contiguous_format, preserve_format, None
            return bool(self._data.flags.c_contiguous)
        if self.ndim != order[0]:
            return False
        shape, strides, expected = self._data.shape, self.stride(), 1
        for d in order[1]:
            if shape[d] != 1:
                if strides[d] != expected:
                    return False
                expected *= shape[d]
        return True

    def data_ptr(self) -> int:
        if self._vmap_levels:  # a tensor batched by vmap has no storage in torch
            _vmap_refuse(self, "data")
        d = self._data
        if isinstance(d, np.ndarray):
            return d.__array_interface__["data"][0]
        return int(d.data.ptr)

    def untyped_storage(self):
        from ._storage import storage_of

        return storage_of(self)

    def __dlpack__(self, *, stream=-1, max_version=None, dl_device=None, copy=None):
        """This tensor's memory as a DLPack capsule, for another library's ``from_dlpack``
        (``np.from_dlpack(t)``, ``torch.from_dlpack(t)``); refused while it requires grad."""
        from ._buffers import tensor_dlpack

        return tensor_dlpack(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self) -> tuple:
        """``(DLDeviceType, device index)`` of this tensor's memory, for DLPack consumers."""
        from ._buffers import tensor_dlpack_device

        return tensor_dlpack_device(self)

    # -- new_* constructors: same dtype and device as self unless given ----------------------
    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
        """``ember.tensor(data)`` with this tensor's dtype and device by default."""
        from ._creation import tensor

        return tensor(data, dtype=dtype or self._dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False,
                  **kwargs) -> Tensor:
        """``ember.zeros(size)`` with this tensor's dtype and device by default."""
        if kwargs:
            size = _size_keyword("new_zeros", size, kwargs)
        return self._new("zeros", size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False,
                 **kwargs) -> Tensor:
        if kwargs:
            size = _size_keyword("new_ones", size, kwargs)
        return self._new("ones", size, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False,
                  **kwargs) -> Tensor:
        if kwargs:
            size = _size_keyword("new_empty", size, kwargs)
        return self._new("empty", size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None,
                 requires_grad=False) -> Tensor:
        from ._creation import full

        return full(size, fill_value, dtype=dtype or self._dtype, device=device or self.device,
                    requires_grad=requires_grad)

    def _new(self, kind, size, dtype, device, requires_grad):
        from . import _creation

        return getattr(_creation, kind)(*size, dtype=dtype or self._dtype,
                                        device=device or self.device,
                                        requires_grad=requires_grad)

    # -- conversion to Python and NumPy -----------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array, sharing memory on the CPU."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead.")
        if self._conj_bit and not force:
            raise RuntimeError("Can't call numpy() on Tensor that has conjugate bit set. Use "
                               "tensor.resolve_conj().numpy() instead.")
        dev = self.device
        if dev.type != "cpu" and not force:
            raise TypeError(
                f"can't convert {dev} device type tensor to numpy. Use Tensor.cpu() to copy the "
                "tensor to host memory first.")
        if self._vmap_levels and not force:
            _vmap_refuse(self, "data")
        if (self._dtype is D.bfloat16 or self._dtype in D.FLOAT8) and not force:
            # NumPy has no such dtype, so torch refuses (ember holds them through ml_dtypes)
            from ._errors import with_hint

            name = D.SCALAR_TYPE[self._dtype.name]
            raise with_hint(TypeError(f"Got unsupported ScalarType {name}"),
                            "convert first, e.g. tensor.float().numpy()")
        from ._backend import to_numpy

        return to_numpy(self._data)

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr.astype(dtype) if dtype is not None else arr

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # A NumPy ufunc on a tensor hands back a tensor, as in torch (np.sin(t) is a tensor);
        # torch gives bool results as uint8, from before it had bool tensors
        if array.dtype == bool:
            array = array.astype(np.uint8)
        return Tensor._make(np.asarray(array), D.from_numpy_dtype(array.dtype))

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        if self.device.type == "meta":
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        if self._vmap_levels:
            _vmap_refuse(self, "item")
        from ._backend import to_numpy  # the one way to the host (a GPU sync)

        value = to_numpy(self._data).reshape(())
        return value.item() if self._dtype is not D.bfloat16 else float(
            value.astype(np.float32))

    def tolist(self):
        """The data as nested Python lists of numbers."""
        from ._backend import to_numpy

        if self._vmap_levels:
            _vmap_refuse(self, "data")

        if self._dtype is D.bfloat16:
            return to_numpy(self._data).astype(np.float32).tolist()
        return to_numpy(self._data).tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            what = "more than one value" if self._data.size else "no values"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        if self._vmap_levels:
            _vmap_refuse(self, "bool")
        return bool(self.item())

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if self._requires_grad:
            _warn_scalar_of_grad_tensor()
        return float(_real_scalar(self.item(), "double"))

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(_real_scalar(self.item(), "int64_t"))

    def __complex__(self) -> complex:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if self._requires_grad:
            _warn_scalar_of_grad_tensor()
        return complex(self.item())

    def __index__(self) -> int:
        if self._dtype.category != D._INT and self._dtype is not D.bool or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __repr__(self, *, tensor_contents=None) -> str:
        from ._tensor_str import tensor_repr

        cls = type(self)
        if cls is not Tensor and not cls.__module__.startswith("ember"):
            return tensor_repr(self, f"{cls.__name__}(")  # torch names a user's subclass
        return tensor_repr(self)

    def __format__(self, spec):
        if self._data.ndim == 0 and type(self) is Tensor and self.device.type != "meta":
            return self.item().__format__(spec)  # f"{loss}" prints 0.25, as in torch
        # object's own rule: str(self) for an empty spec, else torch's TypeError naming the class
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        from .serialization import _reduce_tensor

        return _reduce_tensor(self)

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
                "because of a torch.nn.utils.weight_norm usage, see "
                "https://github.com/pytorch/pytorch/pull/103001")
        if id(self) in memo:
            return memo[id(self)]
        new = type(self).__new__(type(self))
        new._init(self._data.copy(), self._dtype, self._requires_grad)
        if type(self) is not Tensor:
            new.__dict__.update(user_attributes(self))
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new

    __array_priority__ = 1000


_tensor_autograd.Tensor = Tensor

_INTERNAL = frozenset(k for k in vars(Tensor) if k.startswith("_") and not k.startswith("__"))


def user_attributes(t: Tensor) -> dict:
    """Attributes a user (or a subclass) set on a tensor, without ember's own bookkeeping."""
    return {k: v for k, v in t.__dict__.items() if k not in _INTERNAL}


def _size_keyword(name: str, size: tuple, kwargs: dict) -> tuple:
    """``x.new_zeros(2, 3)`` or torch's keyword spelling ``x.new_zeros(size=(2, 3))``."""
    if not kwargs:
        return size
    unknown = [k for k in kwargs if k != "size"]
    if unknown or size:
        raise TypeError(f"{name}() got an unexpected keyword argument "
                        f"'{unknown[0] if unknown else 'size'}'")
    return (kwargs["size"],)


def _wrap_dim(dim: int, ndim: int) -> int:
    """Normalise a possibly negative dim, raising PyTorch's IndexError when out of range (and
    its TypeError for a bool: ``x.size(True)`` is refused)."""
    if type(dim) is not int and isinstance(dim, (bool, np.bool_)):
        name = "bool" if type(dim) is bool else "numpy.bool"
        raise TypeError(f"argument 'dim' must be int, not {name}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n if ndim else 0


def _contiguous_strides(shape) -> tuple:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(strides))


def is_tensor(obj) -> bool:
    """True for ember Tensors (and Parameters)."""
    return isinstance(obj, Tensor)


def grad_enabled() -> bool:
    return grad_mode._state.enabled


_scalar_warning = [True]  # torch warns once per process (TORCH_WARN_ONCE), float and complex alike


def _vmap_refuse(t, what: str) -> None:
    """Raise torch's vmap error if ``t`` is batched by a vmap call still running (the check
    lives with vmap, imported only when a tensor carries a vmap tag)."""
    from .func._vmap import refuse_if_batched

    refuse_if_batched(t, what)


def _warn_scalar_of_grad_tensor() -> None:
    """torch's one warning when ``float()``/``complex()`` drop a tensor's autograd history."""
    if _scalar_warning[0]:
        _scalar_warning[0] = False
        import warnings

        warnings.warn(
            "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
            "behavior.\nConsider using tensor.detach() first.", UserWarning, stacklevel=3)
