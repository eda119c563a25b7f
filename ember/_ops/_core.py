"""The op pattern: forward on raw arrays, backward with ember ops, side by side.

An op is a subclass of ``Op``::

    class Mul(Op):
        @staticmethod
        def forward(ctx, a, b):            # a, b: arrays (or Python scalars)
            ctx.save_for_backward(*ctx.inputs)
            return a * b

        @staticmethod
        def backward(ctx, grad):           # grad: Tensor
            a, b = ctx.saved_tensors
            return grad * b, grad * a      # ember ops, so create_graph=True works

``Mul.apply(x, y)`` runs forward and, when grad mode is on and an input requires grad,
records the node. ``save_output = True`` saves the output for backward without a reference
cycle; ``is_view = True`` marks ops whose output shares its first input's memory.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._backend import asarray_like, get_array_module
from .._layout import any_strided, follow_operands
from .._nested_tensor import NestedOperand, apply_nested
from .._tensor import Tensor
from ..autograd import anomaly, grad_mode
from ..autograd.graph import Node, _sequence, edge_of, grad_accumulator

_state = grad_mode._state
_ndarray = np.ndarray
_POINTWISE = "ember._ops.pointwise."
_NO_EDGE = (None, 0)
_anomaly = anomaly._enabled


# -- opmath: how PyTorch's CPU kernels compute on 2-byte floats --------------------------------
# A float16/bfloat16 kernel of PyTorch loads its operands as float32 ("opmath"), computes in
# float32 and rounds the result to the 2-byte type once. NumPy computes a composite formula in
# the 2-byte type step by step (rounding after each step) or rounds a Python-number operand to
# the 2-byte type first, and lands one unit off in the last place for many elements. An op
# class with ``opmath = True`` has its forward run on float32 copies of its 2-byte operands
# and its float32 results rounded back (``opmath_forward``); other dtypes never reach it.
# Backward: most of PyTorch's derivative formulas are compositions of ops in the tensor's own
# dtype (each rounding), which an ember backward written with ember ops reproduces as it is.
# Ops with a dedicated backward kernel (silu, softplus, softmax, elu ...) compute the gradient
# in float32 from the 2-byte saved values and round it once; such a class also sets
# ``opmath_backward = True`` and, when autograd records, runs on float32 tensors between two
# casts (``opmath_graph``), its saved output rounded to what PyTorch saves.
_LOW_CHARS = ("e", "E")  # NumPy's float16 and ml_dtypes' bfloat16 (both 2 bytes)
_LOW_DTYPES = frozenset((D.float16, D.bfloat16))


def is_low_float(a) -> bool:
    """Whether ``a`` is a float16/bfloat16 array or NumPy scalar (ml_dtypes' bfloat16 included).

    >>> is_low_float(np.zeros(2, np.float16)), is_low_float(np.zeros(2, np.float32))
    (True, False)
    """
    dt = getattr(a, "dtype", None)
    return dt is not None and dt.char in _LOW_CHARS and dt.itemsize == 2


def opmath_forward(forward, ctx, arrays, kwargs):
    """Run ``forward(ctx, *arrays, **kwargs)`` as PyTorch's CPU kernels do for 2-byte floats:
    float16/bfloat16 operands become float32, and float32 results are rounded once to the
    operands' 2-byte dtype (other operands pass unchanged).

    >>> out = opmath_forward(lambda ctx, x: x * np.float32(0.1), None,
    ...                      [np.array([3.0], np.float16)], {})
    >>> out.dtype, float(out[0])  # one rounding of 0.3000000119 (two give 0.2998046875)
    (dtype('float16'), 0.300048828125)
    """
    low = None
    up = []
    for a in arrays:
        if is_low_float(a):
            low = a.dtype
            a = a.astype(np.float32)
        up.append(a)
    out = forward(ctx, *up, **kwargs)
    if type(out) is tuple:
        return tuple(_round_low(o, low) for o in out)
    return _round_low(out, low)


def opmath_graph(cls, inputs, kwargs):
    """``cls.apply(*inputs, **kwargs)`` recorded as float32 arithmetic between casts: 2-byte
    float tensors go in as float32 copies, float32 results come out rounded to that dtype, and
    the final cast's node takes the op's name (``SiluBackward0`` ...). With
    ``opmath_low_output`` the saved float32 output is rounded to the 2-byte dtype in place
    before anything reads it (PyTorch's softmax/tanh backward kernels read the 2-byte output;
    its elu kernel recomputes from the input instead). Returns None when no input is a
    float16/bfloat16 tensor."""
    low = None
    up = []
    for x in inputs:
        if isinstance(x, Tensor) and (x._dtype is D.float16 or x._dtype is D.bfloat16):
            low = x._dtype
            x = x.to(D.float32)
        up.append(x)
    if low is None:
        return None
    out = cls.apply(*up, **kwargs)

    def down(o):
        if not isinstance(o, Tensor) or o._dtype is not D.float32:
            return o
        data = o._data
        if cls.save_output and cls.opmath_low_output and type(data) is _ndarray and data.ndim:
            data[...] = data.astype(low.np_dtype)  # (exact in float32)
        r = o.to(low)
        if o.grad_fn is not None and r.grad_fn is not None:
            r.grad_fn._name = o.grad_fn.name()
        return r

    return tuple(down(o) for o in out) if type(out) is tuple else down(out)


def _round_low(out, low):
    if getattr(out, "dtype", None) == np.float32:
        return out.astype(low)
    return out


class Op(Node):
    save_output = False
    _narrowable = True  # (see autograd.graph._call_narrowed)
    # forward computes 2-byte float operands in float32 and rounds once (see opmath_forward)
    opmath = False
    opmath_backward = False  # ... and so does its backward, in float32 (see opmath_graph)
    opmath_low_output = False  # ... from its output rounded to the 2-byte dtype
    # a binary op whose Python-float operand stays float32 beside a 2-byte float tensor
    # (mul, div), where others round it to the tensor's dtype first (add, fmod): see
    # _dispatch.binary, which then runs it through opmath_graph
    opmath_scalar = False
    is_view = False
    # with is_view: every output is a view of the first input (split, unbind), not only the
    # first; PyTorch refuses in-place changes to such views while they carry a gradient
    multi_view = False
    non_differentiable_outputs: tuple = ()
    # ``listed_inputs(inputs)``: the positions of the inputs PyTorch's node lists in
    # ``next_functions``, where it lists fewer than all (None: all, non-tensors as
    # ``(None, 0)``). Its Scalar overloads list no Python number (``tensor_inputs``).
    listed_inputs = None
    # elementwise: the output takes torch's TensorIterator layout (_layout.follow_operands);
    # every op of the pointwise family is one unless it says otherwise
    elementwise = False

    inputs: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_free" in cls.__dict__:  # (see _free)
            cls.holds_saved = True
        if "elementwise" not in cls.__dict__ and cls.__module__.startswith(_POINTWISE):
            cls.elementwise = not cls.is_view

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        ctx = object.__new__(cls._node_cls)  # named as PyTorch names it (Node.__init_subclass__)
        ctx.inputs = inputs
        arrays = []
        record = False
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x._data)
                if x._requires_grad:
                    record = True
            else:
                arrays.append(x)
        record = record and _state.enabled
        if not record:
            ctx._record = False
        try:
            # (an opmath op's first input carries the dtype: the others match it)
            if cls.opmath and getattr(inputs[0], "_dtype", None) in _LOW_DTYPES:
                if record and cls.opmath_backward:
                    return opmath_graph(cls, inputs, kwargs)
                out = opmath_forward(cls.forward, ctx, arrays, kwargs)
            else:
                out = cls.forward(ctx, *arrays, **kwargs)
        except ValueError as err:  # NumPy's broadcast error -> PyTorch's RuntimeError
            if "could not be broadcast" not in str(err):
                raise
            raise _broadcast_error(arrays, err) from None
        except TypeError as err:  # a ufunc without a loop for the dtype -> NotImplementedError
            if "not supported for the input types" not in str(err):
                if type(err).__name__ == "MaskedOperand":  # a MaskedTensor among the inputs
                    from ..masked.maskedtensor.binary import apply_masked

                    return apply_masked(cls, inputs, kwargs, err)
                raise
            raise _no_kernel_error(arrays, err) from None
        except NestedOperand:  # a nested tensor among the inputs: run per component
            return apply_nested(cls, inputs, kwargs)
        if cls.elementwise:
            # NumPy and torch lay the output out alike unless an operand is not row-major;
            # in a binary op, unless the first one is not (see _layout.follow_operands)
            first = arrays[0]
            if type(first) is _ndarray and not first.flags.c_contiguous and len(arrays) > 1 \
                    or len(arrays) > 2 and any_strided(arrays):
                out = follow_operands(out, arrays)
        if type(out) is tuple:
            outs = tuple(_wrap(ctx, cls, o, i, record) for i, o in enumerate(out))
            if record and "_num_outputs" not in ctx.__dict__:  # an op may have set its own
                ctx._num_outputs = len(outs)
                ctx._output_meta = [(o._data.shape, o._dtype, o.device) for o in outs]
            return outs
        return _wrap(ctx, cls, out, 0, record)

    # A second backward through a freed graph: PyTorch's built-in nodes unpack everything they
    # saved before computing, so they raise exactly when they saved a tensor; a node that saved
    # none (AddBackward0, ViewBackward0, SumBackward0) runs again. ``_free`` keeps that apart:
    # a node that saved no tensor keeps its non-tensor saves and is not marked freed, and its
    # inputs give way to a stand-in (``_FreedInputs``) that raises PyTorch's error when
    # backward reads an input's values; ``reads_input_meta`` ops (whose backward reads only
    # the inputs' shapes and dtypes, as Add's) get metadata-only stand-ins there instead.
    # ``holds_saved``: the op keeps what its backward reads on ctx (index arrays, masks) where
    # PyTorch saves tensors, so a second backward raises all the same; so does an op that
    # overrides ``_free`` (it keeps state of its own).
    reads_input_meta = False
    holds_saved = False

    def _free(self):
        saved = self._saved
        if self.holds_saved or self._saved_output is not None or saved is not None and (
                type(saved) is not list or any(hasattr(t, "_vbox") for t, _ in saved)):
            super()._free()
            self.inputs = ()
        elif type(self.inputs) is not _FreedInputs:
            self.inputs = _FreedInputs(self.inputs, self.reads_input_meta)


_PLAIN_APPLY = Op.__dict__["apply"]


class _Meta(tuple):
    """One input tensor's metadata, kept by ``_FreedInputs``."""

    __slots__ = ()


class _FreedInputs:
    """``ctx.inputs`` of a node that saved no tensor, once backward has run without
    ``retain_graph``: the input tensors are let go, as PyTorch's node holds none. Reading them
    raises PyTorch's "backward through the graph a second time" error, except for an op that
    reads only their metadata (``Op.reads_input_meta``): it gets stand-ins of the same shape,
    dtype and device (zero-strided, no memory), made only when a second backward asks."""

    __slots__ = ("_meta", "_items")

    def __init__(self, inputs, keep_meta):
        self._items = None
        # (shape, array dtype, ember dtype, array module): nothing that holds the data
        self._meta = None if not keep_meta else tuple(
            _Meta((x._data.shape, x._data.dtype, x._dtype,
                   np if type(x._data) is _ndarray else get_array_module(x._data)))
            if isinstance(x, Tensor) else x for x in inputs)

    def _stand_ins(self):
        if self._meta is None:
            from ..autograd.graph import _FREED_MSG

            raise RuntimeError(_FREED_MSG)
        if self._items is None:
            self._items = tuple(
                Tensor._make(m[3].broadcast_to(m[3].zeros((), m[1]), m[0]), m[2])
                if type(m) is _Meta else m for m in self._meta)
        return self._items

    def __iter__(self):
        return iter(self._stand_ins())

    def __getitem__(self, i):
        return self._stand_ins()[i]

    def __len__(self):
        return len(self._stand_ins())


# the wrappers now around the plain path: a graph capture's recorder and a profiler's observer
_wrappers = {"capture": None, "profiler": None, "forward_ad": None, "vmap": None}


def capturing() -> bool:
    """Whether a graph capture (ember.fx) is recording ops now."""
    return _wrappers["capture"] is not None


def set_capture(recorder) -> None:
    """Send every op application through ``recorder(cls, inputs, kwargs, plain_apply)``, or back
    to the plain path with ``None``. Graph capture (ember.fx) records ops this way; swapping the
    class attribute for the capture's duration leaves the plain path without any check."""
    _wrappers["capture"] = recorder
    _install_apply()


def set_profiler(observer) -> None:
    """Send every op application through ``observer(cls, inputs, kwargs, apply)``, or stop with
    ``None``. ``apply(cls, *inputs, **kwargs)`` runs the op: through an active capture's recorder
    if there is one (so a profile inside a capture, or a capture inside a profile, still records
    the graph), else on the plain path. ``ember.profiler`` times ops this way; as with capture,
    ``Op.apply`` is swapped only while a profiler runs, so the plain path pays nothing."""
    _wrappers["profiler"] = observer
    _install_apply()


def set_forward_ad(propagate) -> None:
    """Send every op application through ``propagate(cls, inputs, kwargs, apply, plain)`` while
    a forward-AD level is open (``ember.autograd.forward_ad``), or stop with ``None``."""
    _wrappers["forward_ad"] = propagate
    _install_apply()


def set_vmap(mark) -> None:
    """Send every op application through ``mark(cls, inputs, kwargs, apply)`` while a
    ``ember.func.vmap`` call runs (it tags the outputs of ops on batched tensors), or stop
    with ``None``."""
    _wrappers["vmap"] = mark
    _install_apply()


def _install_apply() -> None:
    recorder, observer = _wrappers["capture"], _wrappers["profiler"]
    propagate = _wrappers["forward_ad"]
    plain = _PLAIN_APPLY.__func__
    inner = plain
    if recorder is not None:
        def inner(cls, *inputs, **kwargs):
            return recorder(cls, inputs, kwargs, plain)
    if propagate is not None:  # tangents go with the op as the capture records it
        recorded = inner

        def inner(cls, *inputs, **kwargs):
            return propagate(cls, inputs, kwargs, recorded, plain)
    mark = _wrappers["vmap"]
    if mark is not None:  # outside the capture and tangents: it tags what they return
        unmarked = inner

        def inner(cls, *inputs, **kwargs):
            return mark(cls, inputs, kwargs, unmarked)
    if observer is None:
        apply = inner
    else:  # the profiler outermost: it times the op as the caller sees it, recording included
        def apply(cls, *inputs, **kwargs):
            return observer(cls, inputs, kwargs, inner)
    Op.apply = _PLAIN_APPLY if apply is plain else classmethod(apply)


def _wrap(ctx, cls, arr, nr, record):
    if type(arr) is not np.ndarray and (isinstance(arr, np.generic) or not hasattr(arr, "ndim")):
        arr = np.asarray(arr)  # NumPy reductions return scalars; ember keeps 0-d arrays
    dt = D._FROM_NP[arr.dtype]
    # integer and bool results never require grad in torch (x.long() of a leaf is a new leaf)
    diff = record and nr not in cls.non_differentiable_outputs and dt.category >= D._FLOAT
    out = Tensor._make(arr, dt, diff)
    if cls.is_view and (nr == 0 or cls.multi_view):
        _mark_view(out, ctx.inputs[0], cls, ctx, nr)
        if ctx.inputs[0]._conj_bit and out._dtype.is_complex:  # a view of a conj() view
            out._conj_bit = True
    if record:
        if nr == 0:
            edges, needs = [], []
            for x in ctx.inputs:
                if not isinstance(x, Tensor):
                    edges.append(_NO_EDGE)
                    needs.append(False)
                elif x._base is None:  # the common cases, inlined (see edge_of)
                    fn = x.grad_fn
                    if fn is not None:
                        edges.append((fn, x._output_nr))
                        needs.append(True)
                    elif x._requires_grad:
                        edges.append((grad_accumulator(x), 0))
                        needs.append(True)
                    else:
                        edges.append(_NO_EDGE)
                        needs.append(False)
                else:
                    edges.append(edge_of(x))
                    needs.append(x._requires_grad)
            listed = cls.listed_inputs
            if listed is not None:
                listed = listed(ctx.inputs)
                if listed != _IDENTITY[:len(edges)]:  # fewer, or another order (addmm's)
                    ctx._listed = listed
                    edges = [edges[i] for i in listed]
            ctx.next_functions = tuple(edges)
            ctx.needs_input_grad = tuple(needs)
            ctx._seq = next(_sequence)
            if _anomaly[0]:  # detect_anomaly: remember where this node was created
                anomaly.record_trace(ctx)
            if cls.save_output:
                ctx._saved_output = (arr, out._vbox, 0, out._dtype, True)
        if diff:
            out.grad_fn = ctx
            out._output_nr = nr
    return out


_IDENTITY = tuple(range(64))


def tensor_inputs(inputs) -> tuple:
    """The positions of the Tensor inputs: an Op's ``listed_inputs`` where PyTorch's node
    lists neither Python numbers nor absent optional tensors (``x.pow(2)``: only ``x``)."""
    return tuple(i for i, x in enumerate(inputs) if isinstance(x, Tensor))


def array_tensor(arr, dtype=None) -> Tensor:
    """A Tensor of a raw NumPy result (a first-order backward's, say): NumPy hands back
    scalars for 0-d operands, and ember keeps 0-d arrays."""
    if isinstance(arr, np.generic):
        arr = np.asarray(arr)
    return Tensor._make(arr, dtype if dtype is not None else D._FROM_NP[arr.dtype])


def _mark_view(out, base, cls, ctx, nr=0):
    """Make ``out`` a view of ``base``: shared version counter and a way to redo the view
    (``nr``: which of a multi-view op's outputs ``out`` is)."""
    if not np.may_share_memory(out._data, base._data):
        return
    root = base._base if base._base is not None else base
    out._base = root
    if out._inference is not root._inference:  # a view is an inference tensor if its base is
        out._inference = root._inference
    if (cls.multi_view or base._multi_view) and out._requires_grad:
        out._multi_view = True
    if base._custom_view is not None and out._requires_grad:
        out._custom_view = (None, base._custom_view[1])
    out._vbox = root._vbox
    if root._requires_grad and not _state.enabled and out.grad_fn is None \
            and out._dtype.category >= D._FLOAT:
        out._requires_grad = True  # PyTorch: such a view still requires grad (its base does)
        out._no_grad_view = root._vbox[0]
    parent_fn = base._view_fn
    kwargs = ctx.__dict__.get("view_args", {})  # (no attribute miss: see Node.__getattr__)

    if cls.multi_view:
        def view_fn(t, _parent=parent_fn, _cls=cls, _kw=kwargs, _nr=nr):
            return _cls.apply(_parent(t) if _parent is not None else t, **_kw)[_nr]
    else:
        def view_fn(t, _parent=parent_fn, _cls=cls, _kw=kwargs):
            return _cls.apply(_parent(t) if _parent is not None else t, **_kw)

    out._view_fn = view_fn


# -- helpers shared by op families ----------------------------------------------------------

def unbroadcast(grad: Tensor, shape) -> Tensor:
    """Sum a gradient back to an input's shape (the adjoint of broadcasting)."""
    gshape = grad._data.shape
    if gshape == tuple(shape):
        return grad
    ndiff = len(gshape) - len(shape)
    axes = tuple(range(ndiff)) + tuple(
        i + ndiff for i, s in enumerate(shape) if s == 1 and gshape[i + ndiff] != 1)
    if not _state.enabled and type(grad._data) is np.ndarray:
        # first-order backward: the same reduction on the array, without recording ops
        arr = np.add.reduce(grad._data, axis=axes, keepdims=True) if axes else grad._data
        return Tensor._make(arr.reshape(shape) if ndiff else arr, grad._dtype)
    if axes:
        grad = grad.sum(dim=axes, keepdim=True)
    if ndiff:
        grad = grad.reshape(shape)
    return grad


def broadcast_shapes(*shapes) -> tuple:
    """PyTorch's broadcast of shapes, with its error message on a mismatch."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i in range(len(s) - 1, -1, -1):  # from the last dim: PyTorch names the first
            n = s[i]                           # mismatch counted from the right
            j = ndim - len(s) + i
            if out[j] == 1:
                out[j] = n
            elif n != 1 and n != out[j]:
                raise RuntimeError(_broadcast_message(shapes, j, ndim))
    return tuple(out)


def _no_kernel_error(arrays, err: TypeError) -> NotImplementedError:
    """PyTorch's NotImplementedError for a dtype its kernel lacks (NumPy's ufunc has no loop)."""
    dtypes = [D._FROM_NP.get(a.dtype) for a in arrays if hasattr(a, "dtype")]
    dt = next((d for d in dtypes if d is not None and d.is_complex), None) or \
        next((d for d in dtypes if d is not None), None)
    title = dt._legacy[:-6] if dt is not None else "this dtype"
    message = str(err)  # "ufunc 'floor' not supported for the input types, ..."
    ufunc = message.split("'")[1] if message.count("'") >= 2 else "op"
    return NotImplementedError(f'"{ufunc}_cpu" not implemented for \'{title}\'')


def _broadcast_error(arrays, err: ValueError) -> RuntimeError:
    """The RuntimeError PyTorch raises where an op's inputs do not broadcast together."""
    shapes = [tuple(a.shape) for a in arrays if hasattr(a, "shape")]
    acc = shapes[0] if shapes else ()
    for shape in shapes[1:]:  # tensor a: the inputs so far, broadcast; tensor b: the next one
        try:
            acc = broadcast_shapes(acc, shape)
        except RuntimeError as torch_style:
            return torch_style
    return RuntimeError(f"shape mismatch: {err}")


def _broadcast_message(shapes, j, ndim):
    a, b = shapes[0], shapes[1] if len(shapes) > 1 else shapes[0]
    dim_a = a[j - (ndim - len(a))] if j >= ndim - len(a) else 1
    dim_b = b[j - (ndim - len(b))] if j >= ndim - len(b) else 1
    return (f"The size of tensor a ({dim_a}) must match the size of tensor b ({dim_b}) at "
            f"non-singleton dimension {j}")  # j counts dims of the broadcast result


def check_broadcast(a_shape, b_shape):
    if a_shape != b_shape:
        broadcast_shapes(a_shape, b_shape)


def _refuse_bool_dim(dim) -> None:
    """torch takes no bool (nor NumPy bool) where it wants a dim: ``x.sum(True)`` is refused,
    not read as ``x.sum(1)``."""
    name = "bool" if type(dim) is bool else "numpy.bool"
    raise TypeError(f"argument 'dim' must be int, not {name}")


def wrap_dim(dim: int, ndim: int) -> int:
    if type(dim) is not int and isinstance(dim, (bool, np.bool_)):  # ints: one check
        _refuse_bool_dim(dim)
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def int_dim(d) -> int:
    """A dim given as a Python or NumPy int, as a Python int (a bool is refused, as torch)."""
    if isinstance(d, (bool, np.bool_)):
        _refuse_bool_dim(d)
    return int(d)


class _NoDim:
    """The default of an argument that torch does not let be given as None: a ``dim``
    (``max``, ``prod``, ``median``, ``squeeze`` …: ``x.max()`` reduces all, ``x.max(None)``
    is a TypeError as in torch), ``var``'s ``unbiased``, ``arange``'s ``end``, ``eye``'s
    ``m``. ember's own code may still pass None internally to the private helpers."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "None"

    def __reduce__(self):
        return "NO_DIM"


NO_DIM = _NoDim()
NOT_GIVEN = NO_DIM  # the same sentinel, named for arguments that are not dims


def _arg_type_name(value) -> str:
    t = type(value)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


def int_arg(value, fname: str, name: str):
    """An int argument other than a dim (``k``, ``offset``, ``chunks``, ``steps`` …) as torch
    parses it: a bool (or NumPy bool) is refused, not read as 0 or 1.

    Example::

        >>> int_arg(2, "topk", "k")
        2
    """
    if type(value) is not int and isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fname}(): argument '{name}' must be int, not "
                        f"{'bool' if type(value) is bool else 'numpy.bool'}")
    return value


def int_list_arg(values, fname: str, name: str) -> None:
    """Check an int list (``repeat``'s repeats, ``tile``'s dims, ``pad``) as torch's parser
    reads it: a float or NumPy bool anywhere, or a bool first, is a TypeError; a Python bool
    after the first element is read as an int there (``x.repeat(2, True)``).

    Example::

        >>> int_list_arg((2, 3), "repeat", "repeats")
    """
    for i, v in enumerate(values):
        if type(v) is not int and isinstance(v, (bool, np.bool_, float, np.floating)) and (
                type(v) is not bool or not i):
            raise TypeError(f"{fname}(): argument '{name}' must be tuple of ints, but found "
                            f"element of type {_arg_type_name(v)} at pos {i}")


def required_int_dim(fname: str, position: int = 2):
    """Decorator: the op's second parameter, ``dim``, is a required int, checked as torch's
    parser does (``cumsum()``: 'missing 1 required positional arguments: "dim"'; a str, float
    or None dim: "argument 'dim' (position 2) must be int, not str"). ``position`` counts the
    function form's arguments; methods listed in ``_tensor_methods._SHIFT`` renumber it.

    Example::

        >>> @required_int_dim("cumsum")
        ... def cumsum(input, dim): ...
    """
    import functools

    def decorate(fn):
        @functools.wraps(fn)
        def checked(input, *args, **kwargs):
            if args:
                dim = args[0]
                if type(dim) is int:  # the common case: nothing more to check
                    return fn(input, *args, **kwargs)
                where = f" (position {position})"
            elif "dim" in kwargs:
                dim, where = kwargs["dim"], ""
            else:
                raise TypeError(f'{fname}() missing 1 required positional arguments: "dim"')
            if type(dim) is not int and (isinstance(dim, (bool, np.bool_)) or
                                         not hasattr(dim, "__index__")):
                raise TypeError(f"{fname}(): argument 'dim'{where} must be int, not "
                                f"{_arg_type_name(dim)}")
            return fn(input, *args, **kwargs)

        return checked

    return decorate


def _int_like(v) -> bool:
    return hasattr(v, "__index__") and not isinstance(v, (bool, np.bool_))


def dims_arg(fname: str, overloads: tuple | None = None):
    """Decorator: the op's ``dim`` (None, an int or a sequence of ints; its second parameter)
    refused as torch's parser refuses anything else. With ``overloads`` (torch's signature
    lines, function form) a dim given alone is met by its 'invalid combination' message, which
    the method form (``_tensor_methods._SHIFT``) rewords; otherwise "argument 'dim' (position
    2) must be tuple of ints, not str".

    Example::

        >>> @dims_arg("nansum")
        ... def nansum(input, dim=None, keepdim=False, *, dtype=None): ...
    """
    import functools

    def decorate(fn):
        @functools.wraps(fn)
        def checked(input, *args, **kwargs):
            dim = args[0] if args else kwargs.get("dim")
            if dim is None or type(dim) is int or _int_like(dim) or (
                    isinstance(dim, (tuple, list)) and all(
                        _int_like(d) or (i and type(d) is bool) for i, d in enumerate(dim))):
                return fn(input, *args, **kwargs)
            kind = _arg_type_name(dim)
            alone = len(args) + len(kwargs) == 1
            if overloads is None or not alone:
                where = " (position 2)" if args else ""
                raise TypeError(f"{fname}(): argument 'dim'{where} must be tuple of ints, not "
                                f"{kind}")

            def message(got, lines):
                return (f"{fname}() received an invalid combination of arguments - got ({got}), "
                        "but expected one of:\n" + "".join(f" * ({line})\n" for line in lines))

            method_lines = [line.replace("Tensor input, ", "").replace("Tensor input", "")
                            .replace(", Tensor out = None", "") for line in overloads]
            err = TypeError(message(f"Tensor, {kind}" if args else f"Tensor, dim={kind}",
                                    overloads))
            err.method_form = message(kind if args else f"dim={kind}, ", method_lines)
            raise err

        return checked

    return decorate


def bool_arg(value, fname: str, name: str = "keepdim"):
    """A bool flag (``keepdim``, ``largest`` …) as torch parses it: a Python bool only; an
    int, a NumPy bool or None is refused (``x.sum(0, 1)`` is a TypeError in torch).

    Example::

        >>> bool_arg(True, "sum")
        True
    """
    if value is True or value is False:
        return value
    raise TypeError(f"{fname}(): argument '{name}' must be bool, not {_arg_type_name(value)}")


def wrap_dims(dim, ndim: int) -> tuple:
    """Normalise ``dim`` (None, an int or a sequence) to a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    if type(dim) is int:
        return (wrap_dim(dim, ndim),)
    if isinstance(dim, (bool, np.bool_)):
        _refuse_bool_dim(dim)
    if isinstance(dim, np.integer):
        return (wrap_dim(int(dim), ndim),)
    dims = tuple(wrap_dim(int_dim(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        dup = next(d for i, d in enumerate(dims) if d in dims[:i])
        raise RuntimeError(f"dim {dup} appears multiple times in the list of dims")
    return tuple(sorted(dims)) if dims else tuple(range(ndim))


def mapped_by_vmap(t) -> bool:
    """Whether ``t`` is (made from) one element of an input mapped by a ``vmap`` call still
    running: ops that PyTorch's batching rules compute from other ops name their node after
    the rule's last op then (``set_vmapped_node_name``)."""
    return t is not None and any(level.active for level in t._vmap_levels)


def set_vmapped_node_name(out, name: str):
    """Name the node behind ``out`` after the last op of PyTorch's batching rule for the op
    (``linear`` under vmap ends in ``AddBackward0``); vmap's result keeps the name as it is
    (``func._vmap.batched_node_name``). Returns ``out``."""
    set_node_name(out, name)
    if out.grad_fn is not None:
        out.grad_fn._vmap_rule_name = True
    return out


def set_node_name(out, name: str):
    """Give the node behind ``out`` (a tensor, or a tuple led by one) PyTorch's node name, for
    ops built from several ember ops or named by a different kernel; returns ``out``."""
    t = out[0] if isinstance(out, tuple) else out
    if isinstance(t, Tensor) and t.grad_fn is not None:
        t.grad_fn._name = name
    return out


def list_inputs(out, keep: tuple):
    """Have the node behind ``out`` list only its inputs at positions ``keep`` in
    ``next_functions``, as PyTorch's Scalar overload of the op does where ember wrapped the
    number as a tensor to compute with (``xlogy(x, 2.0)``: only ``x``); returns ``out``."""
    t = out[0] if isinstance(out, tuple) else out
    node = t.grad_fn if isinstance(t, Tensor) else None
    if node is not None and node._listed is None:
        node.next_functions = tuple(node.next_functions[i] for i in keep)
        node._listed = tuple(keep)
    return out


def named_node(name: str):
    """Decorator form of ``set_node_name`` for a function's result."""
    def decorate(fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return set_node_name(fn(*args, **kwargs), name)

        return wrapper

    return decorate


def as_tensor_arg(x, like: Tensor | None = None) -> Tensor:
    """Accept a Tensor, a Python number, a NumPy array or a nested list where ops take a tensor."""
    if isinstance(x, Tensor):
        return x
    from .._creation import tensor

    if like is not None and isinstance(x, (int, float, bool)):
        return tensor(x, dtype=D.result_type(like, x), device=like.device)
    return tensor(x, device=like.device if like is not None else None)


def _named(out: Tensor, name: str) -> Tensor:
    """Give the node that made ``out`` PyTorch's name for the whole composite."""
    if out.grad_fn is not None:
        out.grad_fn._name = name
    return out


_t = array_tensor  # the short name raw backward paths use


class ConstLike(Op):
    """A constant array that is formally a function of ``x`` with zero derivative.

    Piecewise-linear ops use it for their masks when building a differentiable backward, so
    that (as in PyTorch) their gradient stays connected to ``x`` and second derivatives are
    zeros rather than "does not require grad" errors.
    """

    @staticmethod
    def forward(ctx, x, value):
        ctx.shape, ctx.dtype = x.shape, x.dtype
        return value

    @staticmethod
    def backward(ctx, grad):
        return _t(get_array_module(grad._data).zeros(ctx.shape, ctx.dtype))


def const_like(x: Tensor, value: np.ndarray) -> Tensor:
    """``value`` as a Tensor, linked to ``x``'s graph only when a graph is being built."""
    value = asarray_like(value, x._data)  # a host constant goes next to the data
    if _state.enabled and x._requires_grad:
        return ConstLike.apply(x, value=value)
    return _t(value)


class ZeroTie(Op):
    """``value`` unchanged, formally also a function of ``like`` with zero derivative: a
    differentiable backward whose result does not depend on the input (pooling, padding,
    resampling) ties it to the input as PyTorch's backward node does, so a second derivative
    with respect to the input is zeros, not None ("zeros_like(self)" in PyTorch)."""

    @staticmethod
    def forward(ctx, value, like):
        ctx.shape, ctx.dtype = like.shape, like.dtype
        return value

    @staticmethod
    def backward(ctx, grad):
        zeros = _t(get_array_module(grad._data).zeros(ctx.shape, ctx.dtype))
        return grad, (zeros if ctx.needs_input_grad[1] else None)


def tie_to(value: Tensor, like: Tensor) -> Tensor:
    """``value``, tied to ``like`` with zero derivative when a graph is being built."""
    if _state.enabled and isinstance(like, Tensor) and like._requires_grad:
        return ZeroTie.apply(value, like)
    return value


class OperandTie(Op):
    """``value`` unchanged, formally also a function of ``operands`` with no derivative (None):
    see ``tie_operands``."""

    @staticmethod
    def forward(ctx, value, *operands):
        return value

    @staticmethod
    def backward(ctx, grad):
        return (grad,) + (None,) * (len(ctx.inputs) - 1)


def tie_operands(value: Tensor, *operands, name: str | None = None) -> Tensor:
    """``value`` (a gradient being built with ``create_graph=True``) tied to ``operands`` as
    PyTorch's double-backward node ties each gradient it makes to all the inputs of the op:
    a gradient that does not depend on them (a bias's, or a linear op's input gradient) still
    requires grad, and differentiating it reaches them as None (``allow_unused=True``), not
    "does not require grad". ``name``: the tie's node name (PyTorch's node). Without a graph
    being built, or no operand requiring grad, ``value`` itself.

    Example:
        >>> gb = tie_operands(grad.sum(0), x, w, name="NativeBatchNormBackwardBackward0")
    """
    if _state.enabled and any(isinstance(t, Tensor) and t._requires_grad for t in operands):
        value = OperandTie.apply(value, *operands)
        if name is not None:
            value.grad_fn._name = name
    return value


class BackwardTie(Op):
    """Identity on ``value``, whose backward passes the gradient on tied (``tie_operands``)
    to ``value`` and ``operands``: placed where a composite op (``grid_sample``) takes its
    input, it gives the composite's first-order gradient the graph PyTorch's one backward
    node gives it under ``create_graph=True``."""

    @staticmethod
    def forward(ctx, value, *operands, name=None):
        ctx.tie_name = name
        return value

    @staticmethod
    def backward(ctx, grad):
        tied = tie_operands(grad, *ctx.inputs, name=ctx.tie_name)
        return (tied,) + (None,) * (len(ctx.inputs) - 1)


def zeros_grad(grad: Tensor, shape=None) -> Tensor:
    """PyTorch's ``zeros_like(grad)`` for an input whose derivative is 0 (floor, sign,
    rounding division...): +0.0 everywhere, never the -0.0 or NaN that ``grad * 0`` gives a
    negative or NaN gradient. ``shape``: the input's, when it differs from ``grad``'s."""
    data = grad._data
    shape = data.shape if shape is None else tuple(shape)
    return _t(get_array_module(data).zeros(shape, data.dtype), grad._dtype)
