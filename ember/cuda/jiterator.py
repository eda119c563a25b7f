"""``torch.cuda.jiterator``: elementwise GPU kernels compiled from a C++ string at run time.
Its functions are private in PyTorch too (``_create_jit_fn``); ember cannot compile them and
raises NotImplementedError naming CuPy's ``ElementwiseKernel`` as the way to write one.

Example:
    >>> ember.cuda.jiterator._create_jit_fn("template <typename T> T f(T x) { return x; }")
    Traceback (most recent call last):
    NotImplementedError: ...
"""

from __future__ import annotations

__all__: list = []

_NO_JIT = ("ember.cuda.jiterator: ember cannot compile CUDA C++ kernels from strings; write "
           "the kernel with cupy.ElementwiseKernel on the tensors' CuPy arrays instead")


def _create_jit_fn(code_string: str, **kwargs):
    raise NotImplementedError(_NO_JIT)


def _create_multi_output_jit_fn(code_string: str, num_outputs: int, **kwargs):
    raise NotImplementedError(_NO_JIT)
