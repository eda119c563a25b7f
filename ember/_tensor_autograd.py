"""Tensor's autograd surface: ``requires_grad``, ``grad``, hooks, ``backward``, ``detach``.

A base class of ``ember.Tensor`` (kept in its own file so that ``_tensor.py`` stays readable).
"""

from __future__ import annotations

from . import _dtype as D
from ._errors import with_hint
from .autograd.graph import grad_accumulator

Tensor = None  # set by _tensor.py once the class exists (it derives from TensorAutograd)
_BACKWARD = None


def _autograd_backward():
    global _BACKWARD
    if _BACKWARD is None:
        from .autograd import backward as _BACKWARD
    return _BACKWARD


class TensorAutograd:
    """The autograd part of ``Tensor``; see ``ember.Tensor``."""

    __slots__ = ()

    # -- autograd state ---------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        self._set_requires_grad(value, "only Tensors of floating point and complex dtype")

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records operations on this (leaf) tensor; returns it."""
        # torch words the dtype error differently for the method, the setter and creation
        return self._set_requires_grad(requires_grad, "only Tensors of floating point dtype")

    def _set_requires_grad(self, requires_grad: bool, who: str) -> Tensor:
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if requires_grad and self._dtype.category < D._FLOAT:
            raise with_hint(RuntimeError(f"{who} can require gradients"),
                            f"got {self._dtype}; convert first, e.g. x.float().requires_grad_()")
        if requires_grad and self._inference:
            _refuse_inference_requires_grad()
        if self._no_grad_view is not None:
            return self  # a view made under no_grad requires grad as long as its base does
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        if self._grad is None and self.grad_fn is not None and not self._retains_grad:
            import warnings

            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed "
                "want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() "
                "on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure "
                "you access the leaf Tensor instead.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                cls = type(value)
                name = (cls.__name__ if cls.__module__ == "builtins"
                        else f"{cls.__module__}.{cls.__qualname__}")
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {name}")
            if value is self:
                raise RuntimeError("can't assign Variable as its own grad")
            # PyTorch's checks, in its order: dtype, device type, size
            if value.dtype != self._dtype:
                from ._creation import _CPP_NAMES
                from ._dtype import SCALAR_TYPE

                raise RuntimeError(
                    f"attempting to assign a gradient with dtype "
                    f"'{_CPP_NAMES.get(value.dtype, value.dtype)}' to a tensor with grad_dtype "
                    f"'{SCALAR_TYPE.get(self._dtype.name, self._dtype)}'. The gradient must "
                    "match the tensor's grad_dtype (defaults to the tensor's dtype). You can set "
                    "the tensor's grad_dtype attribute with a specific dtype, or None to allow "
                    "any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and "
                    "its gradient may break downstream systems that assume they match.")
            if value.device.type != self.device.type:
                raise RuntimeError(
                    f"attempting to assign a gradient with device type '{value.device.type}' to "
                    f"a tensor with device type '{self.device.type}'. Please ensure that the "
                    "gradient and the tensor are on the same device")
            if value.shape != self.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor "
                    f"of size '{list(self.shape)}'. Please ensure that the gradient and the "
                    "tensor are the same size")
        self._grad = value
        self._grad_private = False

    @grad.deleter
    def grad(self):
        self._grad = None
        self._grad_private = False

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        import weakref

        node = self.grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one.

        Example:
            >>> h = x.register_hook(lambda g: g * 2); ...; h.remove()
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.graph import _RemovableHandle

        if self.grad_fn is not None:
            return self.grad_fn._add_pre_hook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after a leaf's ``.grad`` has been updated (an optimizer step
        fused into backward). Only leaves that require grad take one.

        Example:
            >>> w = ember.ones(2, requires_grad=True)
            >>> h = w.register_post_accumulate_grad_hook(lambda p: print(p.grad))
            >>> (w * 3).sum().backward()
            tensor([3., 3.])
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors")
        from .autograd.graph import _RemovableHandle

        if self._post_acc_hooks is None:
            self._post_acc_hooks = []
        self._post_acc_hooks.append(hook)
        return _RemovableHandle(self._post_acc_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor w.r.t. graph leaves, into their ``.grad``.

        Example:
            >>> loss.backward()
        """
        _autograd_backward()(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph."""
        out = Tensor._make(self._data, self._dtype)
        out._vbox = self._vbox  # shared, as PyTorch's: in-place changes stay visible
        out._inference = self._inference  # detaching an inference tensor gives one
        if self._conj_bit:
            out._conj_bit = True
        if self._vmap_levels:  # still batched inside vmap (func.grad detaches its inputs)
            out._vmap_levels = self._vmap_levels
        # not a view in autograd's sense (``_base`` is None, as in PyTorch): it may change in
        # place even when this tensor is a leaf that requires grad
        return out

    def detach_(self) -> Tensor:
        if self._base is not None:  # any view, as in PyTorch (its base may require grad later)
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
                "as True, gradients are views of DDP buckets, and hence detach_() cannot be "
                "called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        out = Tensor._make(self._data, self._dtype)
        out._vbox = [0]  # .data hides in-place changes from autograd, as in PyTorch
        out._inference = self._inference
        return out

    @data.setter
    def data(self, value: Tensor):
        # PyTorch's checks: ``p.data = p.data.half()`` is fine, a list or an int tensor on a
        # tensor that requires grad is refused with a clear message (not an AttributeError)
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {_c_type_name(value)}")
        if self._requires_grad and not (value._dtype.is_floating_point
                                        or value._dtype.is_complex):
            raise RuntimeError("data set to a tensor that requires gradients must be floating "
                               "point or complex dtype")
        self._data = value._data
        self._dtype = value._dtype

    @property
    def _grad_accumulator(self):
        return grad_accumulator(self)

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def _version(self) -> int:
        """How many in-place changes the tensor's memory has had (PyTorch's ``_version``;
        views share the count). ember keeps it in ``_vbox``, a one-element list that views
        share, so one increment is seen by all."""
        return self._vbox[0]

    @property
    def _version_counter(self) -> int:
        return self._vbox[0]


def _c_type_name(value) -> str:
    """The name CPython's ``tp_name`` gives ``type(value)``, as PyTorch's C++ messages print
    it: ``list``, ``float``, ``numpy.ndarray``, a Python class's bare name."""
    cls = type(value)
    if cls.__flags__ & (1 << 9) or cls.__module__ == "builtins":  # Py_TPFLAGS_HEAPTYPE
        return cls.__name__
    return f"{cls.__module__}.{cls.__name__}"


def _refuse_inference_requires_grad() -> None:
    """An inference tensor has no version counter for autograd: PyTorch lets it require grad
    only inside ``inference_mode``."""
    from .autograd import grad_mode

    if not grad_mode._state.inference:
        raise RuntimeError(
            "Setting requires_grad=True on inference tensor outside InferenceMode is not "
            "allowed.")
