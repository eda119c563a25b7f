"""``ember.sparse`` mirrors ``torch.sparse``: products, sums and softmaxes of sparse COO tensors,
and the legacy ``torch.sparse.FloatTensor(indices, values, size)`` constructors.

Example:
    >>> adj = ember.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 1.0], (2, 2))
    >>> ember.sparse.mm(adj, ember.tensor([[1.0], [2.0]]))
    tensor([[2.],
            [1.]])
"""

from __future__ import annotations

# torch.sparse imports torch, so ``torch.sparse.torch`` is torch itself, and code relies on it
# (the CapsNet repositories' ``torch.sparse.torch.eye(NUM_CLASSES)``)
import ember as torch  # noqa: F401

from . import _dtype as D
from . import _sparse_ops
from ._sparse_tensor import SparseTensor, sparse_coo_tensor
from ._tensor import Size, Tensor

__all__ = ["mm", "addmm", "sampled_addmm", "spdiags", "sum", "softmax", "log_softmax",
           "check_sparse_tensor_invariants",
           "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor",
           "LongTensor", "IntTensor", "ShortTensor", "CharTensor", "ByteTensor"]


_NO_REDUCE = object()  # reduce not given (an explicit None is a TypeError, as in PyTorch)


def mm(mat1: Tensor, mat2: Tensor, *args, **kwargs) -> Tensor:
    """Product of a sparse matrix and a dense (or sparse) matrix.

    With a sparse ``mat1`` and a dense ``mat2`` the gradient with respect to ``mat1`` is
    sparse, on ``mat1``'s own entries (unlike ``torch.mm``, whose gradient is dense).
    ``reduce`` (``"sum"``, ``"mean"``, ``"amax"``/``"max"``, ``"amin"``/``"min"``; a CSR
    ``mat1`` only) reduces each row's products ``mat1[i, k] * mat2[k]`` instead of summing
    them: the mean or max aggregation of a graph layer over each node's neighbours.

    Example:
        >>> s = ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
        >>> ember.sparse.mm(s, ember.ones(2, 1))
        tensor([[2.],
                [3.]])
    """
    from ._sparse_compressed import CompressedTensor, sparse_mm, sparse_mm_reduce

    if len(args) + len(kwargs) > 1 or any(k != "reduce" for k in kwargs):
        raise TypeError("mm() takes the arguments (mat1, mat2, reduce)")
    reduce = args[0] if args else kwargs.get("reduce", _NO_REDUCE)
    if reduce is None:
        where = " (position 3)" if args else ""
        raise TypeError(f"_sparse_mm(): argument 'reduce'{where} must be str, not NoneType")
    if reduce is not _NO_REDUCE:  # row-wise sum/mean/amax/amin: CSR only, as in PyTorch
        return sparse_mm_reduce(mat1, mat2, reduce)
    if isinstance(mat1, CompressedTensor) or isinstance(mat2, CompressedTensor):
        return sparse_mm(mat1, mat2)
    return _sparse_ops.sparse_mm(mat1, mat2)


def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1.0, alpha=1.0) -> Tensor:
    """``beta * mat + alpha * torch.sparse.mm(mat1, mat2)`` for a sparse ``mat1``.

    Example:
        >>> s = ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
        >>> ember.sparse.addmm(ember.ones(2, 1), s, ember.ones(2, 1))
        tensor([[3.],
                [4.]])
    """
    from ._sparse_compressed import CompressedTensor, sparse_addmm

    if isinstance(mat1, CompressedTensor):
        return sparse_addmm(mat, mat1, mat2, beta, alpha)
    return _sparse_ops.sparse_addmm(mat, mat1, mat2, beta, alpha)


def sampled_addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1.0, alpha=1.0,
                  out=None) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` computed only at the entries of the CSR matrix
    ``input`` (a sampled dense-dense product, SDDMM): the result is CSR with ``input``'s
    pattern. Gradients flow to ``input``'s values, ``mat1`` and ``mat2``.

    Example:
        >>> s = ember.tensor([[0.0, 1.0], [1.0, 0.0]]).to_sparse_csr()
        >>> ember.sparse.sampled_addmm(s, ember.ones(2, 3), ember.ones(3, 2)).values()
        tensor([4., 4.])
    """
    from ._sparse_compressed import sampled_addmm as _sampled_addmm

    return _sampled_addmm(input, mat1, mat2, beta=beta, alpha=alpha, out=out)


def spdiags(diagonals: Tensor, offsets: Tensor, shape, layout=None) -> Tensor:
    """A sparse 2-D matrix of ``shape`` with the rows of ``diagonals`` on the diagonals named
    by ``offsets`` (0 main, positive above, negative below). As in SciPy's ``spdiags``, entry
    ``(j - k, j)`` of diagonal ``k`` takes ``diagonals[i, j]`` (values are picked by column).
    ``layout`` is ``ember.sparse_coo`` (default), ``sparse_csr`` or ``sparse_csc``.

    Example:
        >>> ember.sparse.spdiags(ember.tensor([[1.0, 2.0, 3.0]]), ember.tensor([0]),
        ...                      (3, 3)).to_dense()
        tensor([[1., 0., 0.],
                [0., 2., 0.],
                [0., 0., 3.]])
    """
    from ._sparse_compressed import spdiags as _spdiags

    return _spdiags(diagonals, offsets, shape, layout)


def sum(input: Tensor, dim=None, dtype=None) -> Tensor:
    """Sum of a sparse tensor's entries over ``dim`` (all dims: a dense 0-d tensor; some sparse
    dims: a sparse tensor over the others).

    Example:
        >>> s = ember.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
        >>> ember.sparse.sum(s)
        tensor(5.)
    """
    if not isinstance(input, SparseTensor):
        return input.sum() if dim is None else input.sum(dim)
    return _sparse_ops.sparse_sum(input, dim, dtype=dtype)


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Softmax over the specified entries along ``dim`` (unspecified entries count as -inf, so
    the result has the input's entries).

    Example:
        >>> s = ember.tensor([[0.0, 1.0], [2.0, 2.0]]).to_sparse()
        >>> ember.sparse.softmax(s, 1).to_dense()
        tensor([[0.0000, 1.0000],
                [0.5000, 0.5000]])
    """
    return _sparse_ops.softmax(input, dim, dtype, log=False)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Log of ``torch.sparse.softmax``, on the specified entries.

    Example:
        >>> s = ember.tensor([[0.0, 1.0], [2.0, 2.0]]).to_sparse()
        >>> ember.sparse.log_softmax(s, 1).values()
        tensor([ 0.0000, -0.6931, -0.6931])
    """
    return _sparse_ops.softmax(input, dim, dtype, log=True)


class check_sparse_tensor_invariants:
    """Accepted for compatibility: ember checks every sparse tensor's indices against its size
    whatever this says (an out-of-range index always raises).

    Example:
        >>> with ember.sparse.check_sparse_tensor_invariants():
        ...     s = ember.sparse_coo_tensor([[0]], [1.0], (2,))
    """

    _enabled = False
    _explicit = False  # set once chosen: silences the "implicitly disabled" warning, as in torch

    def __init__(self, enable: bool = True):
        self.state = enable

    @staticmethod
    def is_enabled() -> bool:
        return check_sparse_tensor_invariants._enabled

    @staticmethod
    def enable() -> None:
        check_sparse_tensor_invariants._enabled = True
        check_sparse_tensor_invariants._explicit = True

    @staticmethod
    def disable() -> None:
        check_sparse_tensor_invariants._enabled = False
        check_sparse_tensor_invariants._explicit = True

    def __enter__(self):
        check_sparse_tensor_invariants._explicit = True
        self._saved = check_sparse_tensor_invariants._enabled
        check_sparse_tensor_invariants._enabled = self.state
        return self

    def __exit__(self, *exc):
        check_sparse_tensor_invariants._enabled = self._saved

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with check_sparse_tensor_invariants(self.state):
                return fn(*args, **kwargs)

        return wrapper


_WARNED: set = set()


def _deprecated(form: str, modern: str) -> None:
    """PyTorch's once-per-form warning for the legacy sparse constructors."""
    if form not in _WARNED:
        _WARNED.add(form)
        import warnings

        warnings.warn(f"torch.sparse.SparseTensor({form}, *, device=) is deprecated.  Please use "
                      f"torch.sparse_coo_tensor({modern}dtype=, device=).", UserWarning,
                      stacklevel=3)


def _legacy(dtype: D.dtype, name: str):
    def ctor(*args, device=None):
        """Legacy sparse constructor."""
        if args and isinstance(args[0], Tensor):
            # as in PyTorch, the values keep their own dtype
            indices, values = args[0], args[1]
            if len(args) > 2:
                _deprecated("indices, values, shape", "indices, values, shape, ")
                return sparse_coo_tensor(indices, values, args[2], device=device)
            _deprecated("indices, values", "indices, values, ")
            return sparse_coo_tensor(indices, values, device=device)
        shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list, Size)) \
            else tuple(args)
        _deprecated("shape", "shape, ")
        import numpy as np

        return sparse_coo_tensor(np.zeros((len(shape), 0), np.int64),
                                 np.zeros((0,), dtype.np_dtype), shape, device=device,
                                 dtype=dtype)

    ctor.__name__ = ctor.__qualname__ = name
    ctor.__doc__ = (f"Legacy constructor: ``torch.sparse.{name}(indices, values, size)`` makes "
                    f"a sparse COO tensor; ``torch.sparse.{name}(*size)`` an empty one "
                    f"({dtype}).")
    return ctor


FloatTensor = _legacy(D.float32, "FloatTensor")
DoubleTensor = _legacy(D.float64, "DoubleTensor")
HalfTensor = _legacy(D.float16, "HalfTensor")
BFloat16Tensor = _legacy(D.bfloat16, "BFloat16Tensor")
LongTensor = _legacy(D.int64, "LongTensor")
IntTensor = _legacy(D.int32, "IntTensor")
ShortTensor = _legacy(D.int16, "ShortTensor")
CharTensor = _legacy(D.int8, "CharTensor")
ByteTensor = _legacy(D.uint8, "ByteTensor")
