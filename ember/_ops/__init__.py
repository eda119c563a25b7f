"""Built-in ops, one family per module. Each module lists its public functions in ``__all__``
(exported as ``ember.<name>``) and its Tensor methods in ``TENSOR_METHODS``."""

OP_MODULES = [
    "elementwise", "unary", "compare", "reduce", "linalg", "movement", "indexing", "conversion",
    "nn_ops", "conv", "pool", "norm", "loss_ops", "misc", "special",
]
