"""``torch.cuda.sparse``: the legacy types of sparse COO tensors on a GPU.

Example:
    >>> isinstance(ember.zeros(2), ember.cuda.sparse.FloatTensor)
    False
"""

from ._legacy_types import SPARSE_TENSOR_TYPES

FloatTensor = SPARSE_TENSOR_TYPES["FloatTensor"]
DoubleTensor = SPARSE_TENSOR_TYPES["DoubleTensor"]
HalfTensor = SPARSE_TENSOR_TYPES["HalfTensor"]
BFloat16Tensor = SPARSE_TENSOR_TYPES["BFloat16Tensor"]
LongTensor = SPARSE_TENSOR_TYPES["LongTensor"]
IntTensor = SPARSE_TENSOR_TYPES["IntTensor"]
ShortTensor = SPARSE_TENSOR_TYPES["ShortTensor"]
CharTensor = SPARSE_TENSOR_TYPES["CharTensor"]
ByteTensor = SPARSE_TENSOR_TYPES["ByteTensor"]

__all__ = list(SPARSE_TENSOR_TYPES)
