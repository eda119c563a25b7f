"""``torch.types``: the type aliases PyTorch's signatures (and programs' annotations) use.

Example:
    >>> from ember.types import Device, Number
    >>> Number
    int | float | bool
"""

import os
from collections.abc import Sequence
from typing import IO, Any, TypeAlias, Union  # noqa: F401  (torch.types has them too)

from . import Size, SymBool, SymFloat, SymInt, Tensor, device, dtype, layout, qscheme
from .storage import TypedStorage as Storage

__all__ = ["Number", "Device", "FileLike", "Storage"]

_bool, _int, _float, _complex, _str, _bytes = bool, int, float, complex, str, bytes
_dtype, _device, _layout, _qscheme = dtype, device, layout, qscheme
_size: TypeAlias = Size | list[int] | tuple[int, ...]
_symsize: TypeAlias = Size | Sequence[int | SymInt]
_TensorOrTensors: TypeAlias = Tensor | Sequence[Tensor]
_TensorOrOptionalTensors: TypeAlias = Tensor | Sequence[Tensor | None]
_Number = (bool, int, float)

Number: TypeAlias = int | float | bool
Device: TypeAlias = device | str | int | None
FileLike: TypeAlias = str | os.PathLike | IO[bytes]
IntLikeType: TypeAlias = int | SymInt
FloatLikeType: TypeAlias = float | SymFloat
BoolLikeType: TypeAlias = bool | SymBool
PySymType: TypeAlias = SymInt | SymFloat | SymBool
py_sym_types = (SymInt, SymFloat, SymBool)

