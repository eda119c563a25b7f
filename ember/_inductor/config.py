"""``torch._inductor.config``: the code generator's settings, with PyTorch's defaults.

ember's ``compile`` replays captured ops through NumPy instead of generating Triton or C++
kernels, so none of these settings applies; they are kept so that programs which tune them
(``coordinate_descent_tuning``, ``fx_graph_cache``, ``triton.cudagraphs`` ...) run unchanged, and
they change nothing. An unknown name raises AttributeError, as in PyTorch.

Example:
    >>> import ember._inductor.config as inductor_config
    >>> inductor_config.coordinate_descent_tuning = True
    >>> inductor_config.triton.cudagraphs
    False
    >>> inductor_config.coordinate_descent_tuning = False
"""

import sys

from ..utils._config_module import install_config_module

_DEFAULTS = {
    "debug": False,
    "fx_graph_cache": True,
    "fx_graph_remote_cache": None,
    "autotune_local_cache": True,
    "freezing": False,
    "max_autotune": False,
    "max_autotune_gemm": False,
    "max_autotune_pointwise": False,
    "coordinate_descent_tuning": False,
    "coordinate_descent_check_all_directions": False,
    "epilogue_fusion": True,
    "aggressive_fusion": False,
    "pattern_matcher": True,
    "split_reductions": True,
    "conv_1x1_as_mm": False,
    "fallback_random": False,
    "force_fuse_int_mm_with_mul": False,
    "use_mixed_mm": True,
    "cpp_wrapper": False,
    "triton.unique_kernel_names": True,
    "triton.cudagraphs": False,
    "triton.cudagraph_trees": True,
    "triton.autotune_pointwise": True,
    "triton.max_tiles": None,
    "cpp.simdlen": None,
    "cpp.threads": -1,
    "cpp.enable_kernel_profile": False,
    "cpp.weight_prepack": True,
}

install_config_module(sys.modules[__name__], _DEFAULTS)
