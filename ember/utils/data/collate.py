"""``default_collate`` and ``default_convert``: samples to batched tensors, as PyTorch does.

Tensors, NumPy arrays and numbers are stacked along a new first dimension (Python floats give
float64, ints int64, bools bool); strings are kept as a list; mappings, named tuples and
sequences are collated field by field (a tuple sample gives a list, as in PyTorch).
"""

from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any

import numpy as np

from ... import _dtype as D
from ..._errors import with_hint
from ..._tensor import Tensor
from . import _worker

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

_np_str_obj_array_pattern = re.compile(r"[SaUO]")

# torch's wording (its stack's) for samples of different shapes; the loader recognizes it
COLLATE_SHAPE_MESSAGE = "stack expects each tensor to be equal size, but got"

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}")


def _stack_arrays(arrays: list, dtype: D.dtype) -> np.ndarray:
    """Stack raw arrays along a new first axis, straight into shared memory inside a worker."""
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise with_hint(
                RuntimeError(f"{COLLATE_SHAPE_MESSAGE} {list(first)} at entry 0 and "
                             f"{list(a.shape)} at entry {i}"),
                "Samples must have one shape to be batched: resize/crop them in the dataset's "
                "transform, or pass a collate_fn that pads.")
    out = _worker._shared_empty((len(arrays), *first), dtype.np_dtype)
    return np.stack(arrays, out=out) if out is not None else np.stack(arrays).astype(
        dtype.np_dtype, copy=False)


def collate_tensor_fn(batch, *, collate_fn_map=None) -> Tensor:
    if any(t.requires_grad for t in batch):
        from ... import stack  # keeps the graph; PyTorch's collate does too

        return stack(batch, 0)
    dtype = batch[0].dtype
    for t in batch[1:]:
        if t.dtype is not dtype:
            dtype = D.promote_types(dtype, t.dtype)
    arrays = [t._data if t.dtype is dtype else t._data.astype(dtype.np_dtype) for t in batch]
    return Tensor._make(_stack_arrays(arrays, dtype), dtype)


def collate_numpy_array_fn(batch, *, collate_fn_map=None) -> Tensor:
    elem = batch[0]
    if _np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    dtype = D.from_numpy_dtype(elem.dtype)
    for a in batch[1:]:
        if a.dtype != elem.dtype:
            dtype = D.promote_types(dtype, D.from_numpy_dtype(a.dtype))
    return Tensor._make(_stack_arrays([np.asarray(a) for a in batch], dtype), dtype)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None) -> Tensor:
    arr = np.asarray(batch)
    return Tensor._make(arr, D.from_numpy_dtype(arr.dtype))


def collate_float_fn(batch, *, collate_fn_map=None) -> Tensor:
    return Tensor._make(np.asarray(batch, np.float64), D.float64)


def collate_int_fn(batch, *, collate_fn_map=None) -> Tensor:
    if all(isinstance(b, bool) for b in batch):
        return Tensor._make(np.asarray(batch, np.bool_), D.bool)
    return Tensor._make(np.asarray(batch, np.int64), D.int64)


def collate_str_fn(batch, *, collate_fn_map=None) -> list:
    return batch


default_collate_fn_map: dict = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    (str, bytes): collate_str_fn,
}


def collate(batch, *, collate_fn_map: dict | None = None) -> Any:
    """Collate ``batch`` (a list of samples), dispatching on the first sample's type.

    ``collate_fn_map`` maps a type (or tuple of types) to ``fn(batch, *, collate_fn_map)``;
    extend ``default_collate_fn_map`` to teach ``default_collate`` a new type.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        fn = collate_fn_map.get(elem_type)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
        for collate_type, fn in collate_fn_map.items():
            if isinstance(elem, collate_type):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        for i, d in enumerate(batch):
            if set(d.keys()) != set(elem.keys()):
                raise KeyError(f"default_collate: sample {i} has keys {sorted(map(str, d))} but "
                               f"sample 0 has keys {sorted(map(str, elem))}")
        fields = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                  for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(fields)
                return clone
            return elem_type(fields)
        except TypeError:
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # named tuple
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        elem_size = len(elem)
        for i, e in enumerate(batch):
            if len(e) != elem_size:
                raise with_hint(
                    RuntimeError("each element in list of batch should be of equal size"),
                    f"sample 0 has {elem_size} fields, sample {i} has {len(e)}")
        transposed = list(zip(*batch))  # tuples: string fields stay tuples, as in torch
        if isinstance(elem, tuple):
            return [collate(s, collate_fn_map=collate_fn_map) for s in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = collate(samples, collate_fn_map=collate_fn_map)
                return clone
            return elem_type([collate(s, collate_fn_map=collate_fn_map) for s in transposed])
        except TypeError:
            return [collate(s, collate_fn_map=collate_fn_map) for s in transposed]
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, recursing into dicts, tuples and lists.

    Example:
        >>> default_collate([(ember.tensor([1., 2.]), 0), (ember.tensor([3., 4.]), 1)])
        [tensor([[1., 2.],
                [3., 4.]]), tensor([0, 1])]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays and scalars into tensors, recursing into containers (no batching).

    Example:
        >>> default_convert(np.zeros(3))
        tensor([0., 0., 0.], dtype=torch.float64)
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.bool_, np.number)):
        if isinstance(data, np.ndarray) and _np_str_obj_array_pattern.search(
                data.dtype.str) is not None:
            return data
        arr = np.asarray(data)
        return Tensor._make(arr, D.from_numpy_dtype(arr.dtype))
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update(converted)
                return clone
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
