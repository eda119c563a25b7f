"""PyTorch's ``torch.utils.data._utils.collate`` names, re-exported from
``ember.utils.data.collate``: add a type to a copy of ``default_collate_fn_map`` and call
``collate`` with it to batch samples ``default_collate`` does not know.

Example:
    >>> fn_map = {**default_collate_fn_map, Point: lambda batch, *, collate_fn_map: ...}
    >>> collate(samples, collate_fn_map=fn_map)
"""

from ..collate import (
    _np_str_obj_array_pattern as np_str_obj_array_pattern,
)
from ..collate import (
    collate,
    collate_float_fn,
    collate_int_fn,
    collate_numpy_array_fn,
    collate_numpy_scalar_fn,
    collate_str_fn,
    collate_tensor_fn,
    default_collate,
    default_collate_err_msg_format,
    default_collate_fn_map,
    default_convert,
)

__all__ = ["collate", "collate_float_fn", "collate_int_fn", "collate_numpy_array_fn",
           "collate_numpy_scalar_fn", "collate_str_fn", "collate_tensor_fn", "default_collate",
           "default_collate_err_msg_format", "default_collate_fn_map", "default_convert",
           "np_str_obj_array_pattern"]
