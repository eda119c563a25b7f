"""``ember.cuda``: GPU availability through CuPy (False, cleanly, without CuPy or a GPU)."""

from __future__ import annotations

from ._backend import cuda_available, cuda_device_count
from .amp._device_aliases import cuda_amp as amp  # torch.cuda.amp: deprecated amp spellings


def is_available() -> bool:
    """True when CuPy is installed and a GPU is present."""
    return cuda_available()


def device_count() -> int:
    return cuda_device_count()


def current_device() -> int:
    if not cuda_available():
        raise RuntimeError("No CUDA GPUs are available")
    return 0


def get_device_name(device=None) -> str:
    if not cuda_available():
        raise RuntimeError("No CUDA GPUs are available")
    import cupy

    return cupy.cuda.runtime.getDeviceProperties(device or 0)["name"].decode()


def synchronize(device=None) -> None:
    if cuda_available():
        import cupy

        cupy.cuda.Device(device or 0).synchronize()


def manual_seed(seed: int) -> None:
    """Seeds ember's generator (GPU draws come from the same generator in ember)."""


def manual_seed_all(seed: int) -> None:
    """Seeds ember's generator (GPU draws come from the same generator in ember)."""


def empty_cache() -> None:
    if cuda_available():
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()


def is_bf16_supported() -> bool:
    return cuda_available()
