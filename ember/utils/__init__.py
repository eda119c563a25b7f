"""Utilities mirroring ``torch.utils``: ``ember.utils.data`` (datasets, samplers, DataLoader),
``checkpoint``, ``hooks``, ``tensorboard``, ``benchmark``, ``_pytree``, ``flop_counter``,
``model_zoo``, ``dlpack``, ``weak``, ``collect_env``; and ``swap_tensors``."""

import copyreg as _copyreg
import importlib as _importlib
import importlib.util as _importlib_util
import weakref as _weakref

__all__ = ["swap_tensors"]


def swap_tensors(t1, t2):
    """Swap the contents of two Tensor objects (class, attributes, data and autograd state),
    keeping each object's identity: ``t1`` is the same Python object afterwards, holding
    what ``t2`` held.

    As in torch, neither may have a weak reference, both must have the same slots, and a
    leaf's gradient accumulator that already exists is poisoned: running backward through a
    graph recorded before the swap raises.

    Example:
        >>> a, b = ember.zeros(2), ember.ones(3)
        >>> ida = id(a)
        >>> ember.utils.swap_tensors(a, b)
        >>> id(a) == ida, a.tolist(), b.tolist()
        (True, [1.0, 1.0, 1.0], [0.0, 0.0])
    """
    if _weakref.getweakrefs(t1):
        raise RuntimeError("Cannot swap t1 because it has weakref associated with it")
    if _weakref.getweakrefs(t2):
        raise RuntimeError("Cannot swap t2 because it has weakref associated with it")
    t1_slots = set(_copyreg._slotnames(t1.__class__))
    t2_slots = set(_copyreg._slotnames(t2.__class__))
    if t1_slots != t2_slots:
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")

    def swap_attr(name):
        tmp = getattr(t1, name)
        setattr(t1, name, getattr(t2, name))
        setattr(t2, name, tmp)

    def error_pre_hook(grad_outputs):
        raise RuntimeError(
            "Trying to execute AccumulateGrad node that was poisoned by swap_tensors "
            "this can happen when you try to run backward on a tensor that was swapped. "
            "For a module m with `torch.__future__.set_swap_module_params_on_conversion(True)` "
            "you should not change the device or dtype of the module (e.g. `m.cpu()` or "
            "`m.half()`) between running forward and backward. To resolve this, please only "
            "change the device/dtype before running forward (or after both forward and "
            "backward).")

    # a graph recorded before the swap accumulates into the leaf through its AccumulateGrad
    # node (torch's use count of 2): that node would now write into the other content
    for t in (t1, t2):
        ref = getattr(t, "_grad_acc", None)
        node = ref() if ref is not None else None
        if node is not None:
            node.register_prehook(error_pre_hook)

    swap_attr("__class__")
    swap_attr("__dict__")
    for slot in t1_slots - {"__dict__", "__weakref__"}:
        if hasattr(t1, slot) and hasattr(t2, slot):
            swap_attr(slot)
        elif hasattr(t1, slot):
            setattr(t2, slot, getattr(t1, slot))
            delattr(t1, slot)
        elif hasattr(t2, slot):
            setattr(t1, slot, getattr(t2, slot))
            delattr(t2, slot)


def __getattr__(name):
    # Subpackages load on first use so that `import ember.utils` stays cheap. Only modules that
    # exist qualify: for any other name hasattr() answers False instead of raising.
    # _pytree is private in name only: libraries reach it as `torch.utils._pytree`
    public = not name.startswith("_") or name == "_pytree"
    if public and _importlib_util.find_spec(f"ember.utils.{name}") is not None:
        return _importlib.import_module(f"ember.utils.{name}")
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
