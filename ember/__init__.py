"""ember: PyTorch's API on NumPy's footprint.

``import ember as torch`` and a PyTorch program runs: tensors with autograd, ``nn``, ``optim``,
``utils.data``, vision datasets and transforms, checkpoints. NumPy does the arithmetic on the CPU
(CuPy on a GPU where one exists).
"""

import importlib as _importlib
import math as _math
import warnings as _warnings

# NumPy reports IEEE special cases (0/0, inf - inf, overflow to inf) as RuntimeWarnings;
# PyTorch computes the same results silently. The filter covers only calls made from ember's
# own modules: a user's direct NumPy calls warn as before.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ember(\.|$)")

# _allocator tunes glibc's malloc at import (EMBER_NO_MALLOPT=1 turns that off)
from . import _allocator, _dtype, _threads
from ._dtype import (
    bfloat16,
    bool,
    can_cast,
    channels_last,
    channels_last_3d,
    complex64,
    complex128,
    contiguous_format,
    dtype,
    finfo,
    float8_e4m3fn,
    float8_e4m3fnuz,
    float8_e5m2,
    float8_e5m2fnuz,
    float8_e8m0fnu,
    float16,
    float32,
    float64,
    get_default_dtype,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    legacy_contiguous_format,
    memory_format,
    preserve_format,
    promote_types,
    qint8,
    qint32,
    quint2x4,
    quint4x2,
    quint8,
    result_type,
    set_default_dtype,
    uint8,
    uint16,
    uint32,
    uint64,
)

half = float16
float = float32
double = float64
long = int64
int = int32
short = int16
cfloat = complex64
cdouble = complex128
chalf = complex64  # no complex32 in NumPy; nearest available

from . import _ops as _ops_pkg
from ._backend import Device as device
from ._buffers import from_dlpack, from_file, frombuffer, to_dlpack
from ._control_flow import cond, while_loop
from ._creation import *
from ._default_device import get_default_device, set_default_device
from ._random import *
from ._storage import (
    BFloat16Storage,
    BoolStorage,
    ByteStorage,
    CharStorage,
    ComplexDoubleStorage,
    ComplexFloatStorage,
    DoubleStorage,
    FloatStorage,
    HalfStorage,
    IntStorage,
    LongStorage,
    ShortStorage,
    Storage,
    TypedStorage,
)
from ._storage import UntypedStorage as UntypedStorage  # noqa: F811 (is_storage imports it too)
from ._streams import Event, Stream
from ._tensor import Size, Tensor, is_tensor
from ._tensor_str import set_printoptions
from ._windows import *
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)


def _with_out(fn):
    """Give a public op PyTorch's ``out=`` keyword when it has none of its own."""
    import functools

    code = getattr(fn, "__code__", None)
    if code is None or "out" in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
        return fn

    @functools.wraps(fn)
    def op(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        from ._autocast import run_without_autocast
        from ._ops._dispatch import finish_out

        result = run_without_autocast(fn, *args, **kwargs)  # PyTorch: out= calls never autocast
        return finish_out(result, out, fn.__name__, *args)

    return op


from ._numpy_aliases import with_numpy_aliases as _with_numpy_aliases

for _name in _ops_pkg.OP_MODULES:
    try:
        _mod = _importlib.import_module(f"ember._ops.{_name}")
    except ModuleNotFoundError as _err:
        if _err.name != f"ember._ops.{_name}":
            raise
        continue
    for _fn in getattr(_mod, "__all__", ()):
        globals()[_fn] = _with_numpy_aliases(_with_out(getattr(_mod, _fn)), _fn)
# torch.conj flags its result (is_conj); ember's own formulas import the plain conj
conj = _with_numpy_aliases(
    _with_out(_importlib.import_module("ember._ops.pointwise.complex").conj_view), "conj")

from ._tensor_methods import bind as _bind

_bind()

from . import _torch_function  # noqa: E402, F401  (Tensor.__torch_function__)
from ._sparse_compressed import bind_dense_methods as _bind_compressed
from ._sparse_compressed import sparse_compressed_tensor, sparse_csc_tensor, sparse_csr_tensor
from ._sparse_ops import route_sparse as _route_sparse
from ._sparse_ops import spmm
from ._sparse_tensor import bind_dense_methods as _bind_sparse
from ._sparse_tensor import sparse_coo_tensor
from ._torch_function import DisableTorchFunction, DisableTorchFunctionSubclass

_bind_sparse()
_bind_compressed()
# torch.mm(sparse, dense) and friends reach the sparse (COO, CSR/CSC) forms
for _name in ("mm", "matmul", "addmm", "mv", "add"):
    globals()[_name] = _route_sparse(globals()[_name])
# torch.sin(csr), torch.sum(csr, 1, keepdim=True), torch.mul(dense, csr) ...
from ._sparse_compressed import COMPRESSED_FUNCS as _COMPRESSED_FUNCS  # noqa: E402
from ._sparse_compressed import route_compressed as _route_compressed  # noqa: E402

for _name in _COMPRESSED_FUNCS:
    globals()[_name] = _route_compressed(globals()[_name], _name)
from ._sparse_ops import hspmm, smm, sspaddmm  # noqa: E402
from ._sparse_ops import route_narrow_copy as _route_narrow_copy  # noqa: E402

narrow_copy = _route_narrow_copy(globals()["narrow_copy"])

from ._fake_quantize import *  # noqa: E402  (fake_quantize_per_tensor_affine, ..._per_channel_)
from ._quantized_tensor import *  # noqa: E402  (quantize_per_tensor, dequantize, qscheme ...)
from ._quantized_tensor import bind_dense_methods as _bind_quantized  # noqa: E402

_bind_quantized()

from . import autograd, cpu, cuda
from ._autocast import *
from .amp import autocast
from .torch_version import TorchVersion as _TorchVersion

__version__ = _TorchVersion("0.1.0")  # a str that compares as a version, as torch.__version__

from ._layout import (
    jagged,
    layout,
    sparse_bsc,
    sparse_bsr,
    sparse_coo,
    sparse_csc,
    sparse_csr,
    strided,
)

# torch.inf and friends are plain Python floats; torch.newaxis is None, as in NumPy
inf, nan, pi, e = _math.inf, _math.nan, _math.pi, _math.e
newaxis = None


def is_floating_point(input) -> bool:
    """True if ``input``'s dtype is a floating point type (float16, bfloat16, float32, float64).

    Example:
        >>> ember.is_floating_point(ember.tensor([1.0]))
        True
    """
    return input.is_floating_point()


def is_complex(input) -> bool:
    """True if ``input``'s dtype is a complex type (complex64, complex128).

    Example:
        >>> ember.is_complex(ember.tensor([1.0]))
        False
    """
    return input.is_complex()


def numel(input) -> int:
    """The number of elements in ``input``.

    Example:
        >>> ember.numel(ember.zeros(2, 3))
        6
    """
    return input.numel()


def is_storage(obj) -> bool:
    """Whether ``obj`` is a storage (what ``tensor.untyped_storage()`` returns).

    Example:
        >>> ember.is_storage(ember.ones(2).untyped_storage())
        True
    """
    from ._storage import UntypedStorage

    return isinstance(obj, UntypedStorage)


def set_num_threads(n: int) -> None:
    """Set the number of threads ember's parallel work and NumPy's OpenBLAS use.

    Example:
        >>> ember.set_num_threads(1)
    """
    _threads.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads used for parallel work (``set_num_threads`` changes it)."""
    return _threads.num_threads()


from ._config import *  # noqa: E402  (set_float32_matmul_precision, typename, ...)
from ._deterministic import *  # noqa: E402  (use_deterministic_algorithms and friends)
from ._einops_backend import install as _install_einops_backend  # noqa: E402
from ._foreach import *  # noqa: E402  (torch._foreach_add_, _foreach_lerp_, ...)
from ._lobpcg import lobpcg  # noqa: E402
from ._symbolic import *  # noqa: E402  (sym_int, sym_max, SymInt and friends)
from ._symbolic import (  # noqa: E402, F401  (torch._assert, traceable; torch._check family)
    _assert,
    _check,
    _check_index,
    _check_not_implemented,
    _check_tensor_all,
    _check_type,
    _check_value,
    _check_with,
)
from .autograd.anomaly import (  # noqa: E402
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_anomaly_enabled,
)

# einops finds ember tensors (its own PyTorch backend answers to `torch` only); einops itself
# is not imported here
_install_einops_backend()


def compile(model=None, *, fullgraph=False, dynamic=None, backend=None, mode=None, options=None,
            name=None, disable=False, recompile_limit=None, isolate_recompiles=False,
            shapes_spec=None):
    """Capture ``model`` (a module or function) on its first call per input signature and
    replay the captured ops after (``torch.compile``'s signature; backend ``"inductor"``, the
    default, is ember's ``"replay"``; also ``"eager"`` and ``"onnxruntime"``). See
    ``ember._compile.compile`` for the arguments and limits.

    Example:
        >>> model = ember.compile(ember.nn.Linear(4, 2))
        >>> model(ember.randn(3, 4)).shape
        torch.Size([3, 2])
    """
    from ._compile import compile as _compile  # loads nn and fx on first use

    return _compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                    options=options, name=name, disable=disable,
                    recompile_limit=recompile_limit, isolate_recompiles=isolate_recompiles,
                    shapes_spec=shapes_spec)


def __getattr__(name):
    # Subpackages load on first use so that `import ember` stays fast. Any public module or
    # package under ember/ qualifies, found on disk (no list to keep in step); any other name
    # is an AttributeError, so hasattr() answers False.
    if name in ("save", "load", "add_safe_globals", "safe_globals", "get_safe_globals",
                "clear_safe_globals"):
        return getattr(_importlib.import_module("ember.serialization"), name)
    if name == "vmap":  # torch.vmap is torch.func.vmap
        return _importlib.import_module("ember.func").vmap
    if _is_submodule(name) or name in ("_dynamo", "_inductor", "_C"):  # private, but programs set
        return _importlib.import_module(f"ember.{name}")          # torch._dynamo.config.x
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


_submodules = None


def _is_submodule(name: str) -> bool:
    """Whether ``ember.<name>`` is a public module or package on disk (listed once, on the
    first lookup that misses, so later misses cost a set lookup)."""
    global _submodules
    if _submodules is None:
        import os

        found = set()
        for entry in os.scandir(os.path.dirname(__file__)):
            stem, ext = os.path.splitext(entry.name)
            if entry.is_dir():
                if os.path.exists(os.path.join(entry.path, "__init__.py")):
                    found.add(entry.name)
            elif ext == ".py":
                found.add(stem)
        _submodules = frozenset(n for n in found if n.isidentifier() and not n.startswith("_"))
    return name in _submodules
