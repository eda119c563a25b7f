"""``ember.functional``: the functions ``torch.functional`` exports, each the same object as
the top-level ``ember.<name>``. Names ember does not implement are absent.

Example:
    >>> ember.functional.einsum is ember.einsum
    True
"""

import ember as _ember

# torch.functional.__all__ in PyTorch 2.13
_TORCH_NAMES = ["atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
                "cartesian_prod", "block_diag", "cdist", "chain_matmul", "einsum", "istft", "lu",
                "norm", "meshgrid", "pca_lowrank", "split", "stft", "svd_lowrank", "tensordot",
                "unique", "unique_consecutive", "unravel_index"]

# vars(), not hasattr(): a missing name must not reach ember's lazy submodule lookup
__all__ = [n for n in _TORCH_NAMES if n in vars(_ember)]
globals().update({n: getattr(_ember, n) for n in __all__})
