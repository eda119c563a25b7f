"""Built-in ops, grouped in family folders the way PyTorch's documentation groups them.

Shared machinery sits at the bottom (``_core``: the op pattern; ``_dispatch``: promotion,
device checks and ``out=`` for elementwise ops; ``inplace``: in-place writes), then the
families, each importing only lower ones: ``pointwise`` < ``indexing`` < ``shape`` <
``reduction`` < ``spectral`` < ``linalg`` < ``nn``; ``conversion`` and ``inplace_methods``
(the Tensor API's in-place and metadata methods) sit on top.
``tests/ops/test_ops_layout.py`` checks the order.

Each module listed in ``OP_MODULES`` names its public functions in ``__all__`` (exported as
``ember.<name>``) and its Tensor methods in ``TENSOR_METHODS``; where two modules export the
same name, the later one in the list wins.
"""

OP_MODULES = [
    "pointwise.arithmetic", "pointwise.binary_math", "pointwise.bitwise", "pointwise.power",
    "pointwise.unary", "pointwise.abs_round_clamp", "pointwise.compare",
    "reduction.sums", "reduction.select", "reduction.norms", "reduction.statistics",
    "linalg.matmul", "linalg.einsum", "linalg.inv_solve_det", "linalg.products",
    "shape.views", "shape.joining", "shape.reshaping", "shape.copies",
    "indexing.subscript", "indexing.gather_scatter", "reduction.sorting",
    "conversion",
    "nn.linear_softmax", "nn.conv", "nn.pool", "nn.pool_adaptive", "nn.normalization", "nn.loss",
    "inplace_methods", "reduction.cumulative", "reduction.histogram", "shape.builders",
    "shape.strided", "reduction.quantile", "linalg.legacy", "pointwise.complex", "nn.activation",
    "nn.dropout",
    "pointwise.special", "indexing.scatter_reduce", "linalg.matrix_exp", "linalg.triangular",
    "spectral.stft", "shape.view_copies", "nn.aten_forms",
]
