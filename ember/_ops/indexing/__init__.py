"""Indexing: ``x[...]`` and ``x[...] = v`` with PyTorch's basic/advanced split (``subscript``),
the gather/scatter families (``gather``, ``scatter``, ``index_*``, ``masked_*``, ``take``,
``put``, ``nonzero``, ``one_hot``) and ``scatter_reduce``. Builds on ``pointwise`` only."""
