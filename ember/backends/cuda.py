"""``ember.backends.cuda``: PyTorch's CUDA backend flags (cuBLAS's TF32 and reduced-precision
modes under ``matmul``, the scaled-dot-product-attention kernel switches). ember's GPU path is
CuPy, which computes float32 matmuls in full precision; these flags are kept with PyTorch's
defaults and change nothing. ``is_built()`` is True when CuPy is installed (ember's CUDA
"build").

Example:
    >>> ember.backends.cuda.matmul.allow_tf32 = True
    >>> ember.backends.cuda.matmul.allow_tf32
    True
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

from .. import _config

__all__ = ["is_built", "matmul", "flash_sdp_enabled", "enable_flash_sdp",
           "mem_efficient_sdp_enabled", "enable_mem_efficient_sdp", "math_sdp_enabled",
           "enable_math_sdp", "cudnn_sdp_enabled", "enable_cudnn_sdp",
           "fp16_bf16_reduction_math_sdp_allowed", "allow_fp16_bf16_reduction_math_sdp",
           "is_flash_attention_available", "sdp_kernel", "SDPAParams", "can_use_flash_attention",
           "can_use_efficient_attention", "can_use_cudnn_attention"]


def is_built() -> bool:
    """True when CuPy (ember's CUDA backend) is installed, GPU or not.

    Example:
        >>> isinstance(ember.backends.cuda.is_built(), bool)
        True
    """
    import importlib.util

    return importlib.util.find_spec("cupy") is not None


class cuBLASModule:
    """``ember.backends.cuda.matmul``: cuBLAS's flags (``allow_tf32`` ...), PyTorch's defaults;
    unknown names raise AttributeError, as in PyTorch."""

    # allow_tf32 and fp32_precision live in ember._config, shared with
    # set_float32_matmul_precision
    _DEFAULTS = {
        "allow_tf32": False,
        "allow_fp16_reduced_precision_reduction": True,
        "allow_bf16_reduced_precision_reduction": True,
        "allow_fp16_reduced_precision_reduction_split_k": True,
        "allow_bf16_reduced_precision_reduction_split_k": True,
        "allow_fp16_accumulation": False,
        "fp32_precision": "none",
    }

    def __init__(self):
        object.__setattr__(self, "_values", dict(self._DEFAULTS))

    def __getattr__(self, name):
        if name == "fp32_precision":
            return _config._cublas_fp32_precision
        if name == "allow_tf32":
            return _config._cublas_fp32_precision == "tf32"
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError("Unknown attribute " + name)

    def __setattr__(self, name, value):
        if name not in self._DEFAULTS:
            raise AttributeError("Unknown attribute " + name)
        if name == "fp32_precision":
            if value not in ("none", "ieee", "tf32"):
                raise RuntimeError(f"Invalid fp32_precision {value!r} for cuBLAS matmul; "
                                   "expected 'none', 'ieee' or 'tf32'")
            _set_fp32_precision(value)
            return
        if not isinstance(value, bool):
            raise RuntimeError(f"set_{name}_cublas expects a bool, but got "
                               f"{type(value).__name__}")
        if name == "allow_tf32":
            _set_fp32_precision("tf32" if value else "ieee")
            return
        self._values[name] = value


def _set_fp32_precision(mode: str) -> None:
    """cuBLAS's float32 mode, and the float32 matmul precision that goes with it."""
    _config._cublas_fp32_precision = mode
    if mode != "none":
        _config._matmul_precision = "high" if mode == "tf32" else "highest"


matmul = cuBLASModule()

_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True,
        "fp16_bf16_reduction_math": False}


def flash_sdp_enabled() -> bool:
    """Whether the flash attention kernel may be used (a flag only; ember has one kernel)."""
    return _sdp["flash"]


def enable_flash_sdp(enabled: bool) -> None:
    """Allow or forbid the flash attention kernel (a flag only in ember)."""
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    """Whether the memory-efficient attention kernel may be used (a flag only)."""
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    """Allow or forbid the memory-efficient attention kernel (a flag only)."""
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled() -> bool:
    """Whether the math attention kernel may be used (a flag only)."""
    return _sdp["math"]


def enable_math_sdp(enabled: bool) -> None:
    """Allow or forbid the math attention kernel (a flag only)."""
    _sdp["math"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    """Whether the cuDNN attention kernel may be used (a flag only)."""
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled: bool) -> None:
    """Allow or forbid the cuDNN attention kernel (a flag only)."""
    _sdp["cudnn"] = bool(enabled)


def fp16_bf16_reduction_math_sdp_allowed() -> bool:
    """Whether the math attention kernel may reduce in fp16/bf16 (a flag only)."""
    return _sdp["fp16_bf16_reduction_math"]


def allow_fp16_bf16_reduction_math_sdp(enabled: bool) -> None:
    """Allow or forbid fp16/bf16 reductions in the math attention kernel (a flag only)."""
    _sdp["fp16_bf16_reduction_math"] = bool(enabled)


def is_flash_attention_available() -> bool:
    """False: ember has no flash attention kernel."""
    return False


@contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True,
               enable_mem_efficient: bool = True, enable_cudnn: bool = True):
    """Deprecated in PyTorch (and warns, as there): set the attention kernel flags for a
    block."""
    warnings.warn(
        "`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager "
        "will be removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context "
        "manager, with updated signature.", FutureWarning, stacklevel=3)
    saved = dict(_sdp)
    _sdp.update(flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient,
                cudnn=enable_cudnn)
    try:
        yield
    finally:
        _sdp.clear()
        _sdp.update(saved)


class SDPAParams:
    """The arguments of one ``scaled_dot_product_attention`` call, as the kernel-choice checks
    (``can_use_flash_attention`` ...) take them (``torch.backends.cuda.SDPAParams``).

    Example:
        >>> q = ember.randn(1, 2, 4, 8)
        >>> params = SDPAParams(q, q, q, None, 0.0, False, False)
    """

    def __init__(self, query, key, value, attn_mask, dropout, is_causal, enable_gqa=False):
        self.query, self.key, self.value = query, key, value
        self.attn_mask, self.dropout = attn_mask, dropout
        self.is_causal, self.enable_gqa = is_causal, enable_gqa


def _no_fused_kernel(name: str, debug: bool) -> bool:
    if debug:
        warnings.warn(f"{name} is not available: ember computes scaled_dot_product_attention "
                      "with one implementation (NumPy/CuPy operations) and has no fused "
                      "attention kernels.", UserWarning, stacklevel=3)
    return False


def can_use_flash_attention(params: SDPAParams, debug: bool = False) -> bool:
    """False: ember has no flash attention kernel (``debug=True`` warns why).

    Example:
        >>> ember.backends.cuda.can_use_flash_attention(params)
        False
    """
    return _no_fused_kernel("Flash attention", debug)


def can_use_efficient_attention(params: SDPAParams, debug: bool = False) -> bool:
    """False: ember has no memory-efficient attention kernel (``debug=True`` warns why).

    Example:
        >>> ember.backends.cuda.can_use_efficient_attention(params)
        False
    """
    return _no_fused_kernel("Memory-efficient attention", debug)


def can_use_cudnn_attention(params: SDPAParams, debug: bool = False) -> bool:
    """False: ember has no cuDNN attention kernel (``debug=True`` warns why).

    Example:
        >>> ember.backends.cuda.can_use_cudnn_attention(params)
        False
    """
    return _no_fused_kernel("cuDNN attention", debug)
