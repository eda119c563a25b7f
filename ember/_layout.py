"""Memory layouts (``torch.layout``): ``ember.strided`` for dense tensors, ``ember.sparse_coo``
for sparse COO tensors; the compressed layouts exist as names so that programs comparing
against them run, though ember builds no tensor of those layouts."""

from __future__ import annotations

__all__ = ["layout", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr",
           "sparse_bsc", "jagged"]


class layout:
    """How a tensor's elements are stored: ``tensor.layout`` is ``ember.strided`` (dense) or
    ``ember.sparse_coo`` (a sparse COO tensor).

    Example:
        >>> ember.zeros(2).layout
        torch.strided
        >>> ember.zeros(2).to_sparse().layout == ember.sparse_coo
        True
    """

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name  # pickled as the module-level name, so it loads as the same object


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")
