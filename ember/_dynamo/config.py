"""``torch._dynamo.config``: the compiler front end's settings, with PyTorch's defaults.

``recompile_limit`` (alias ``cache_size_limit``) is how many input signatures a function that
``ember.compile`` wraps captures before further new signatures run eagerly; it is read when
``compile`` is called. The other settings steer parts of TorchDynamo that ember does not have
(bytecode tracing, DDP graph splitting, symbolic integers): they are kept so that programs
which set them run, and change nothing. An unknown name raises AttributeError, as in PyTorch.

Example:
    >>> import ember._dynamo
    >>> ember._dynamo.config.cache_size_limit = 16
    >>> ember._dynamo.config.recompile_limit
    16
    >>> ember._dynamo.config.cache_size_limit = 8
"""

import sys

from ..utils._config_module import install_config_module

_DEFAULTS = {
    "recompile_limit": 8,
    "cache_size_limit": 8,
    "accumulated_recompile_limit": 256,
    "accumulated_cache_size_limit": 256,
    "suppress_errors": False,
    "verbose": False,
    "capture_scalar_outputs": False,
    "capture_dynamic_output_shape_ops": False,
    "automatic_dynamic_shapes": True,
    "assume_static_by_default": True,
    "specialize_int": False,
    "specialize_float": False,
    "force_parameter_static_shapes": True,
    "force_nn_module_property_static_shapes": True,
    "optimize_ddp": True,
    "inline_inbuilt_nn_modules": True,
    "guard_nn_modules": True,
    "error_on_recompile": False,
    "replay_record_enabled": False,
    "log_compilation_metrics": True,
    "allow_unspec_int_on_nn_module": False,
    "skip_nnmodule_hook_guards": True,
    "raise_on_ctx_manager_usage": True,
    "dead_code_elimination": None,
    "rewrite_assert_with_torch_assert": True,
    "use_lazy_graph_module": True,
}


def _alias(other: str):
    def keep_in_step(settings, value):
        settings.values[other] = value
    return keep_in_step


install_config_module(sys.modules[__name__], _DEFAULTS, {
    "recompile_limit": _alias("cache_size_limit"),
    "cache_size_limit": _alias("recompile_limit"),
    "accumulated_recompile_limit": _alias("accumulated_cache_size_limit"),
    "accumulated_cache_size_limit": _alias("accumulated_recompile_limit"),
})
