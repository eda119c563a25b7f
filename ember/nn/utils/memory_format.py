"""``convert_conv2d_weight_memory_format`` / ``convert_conv3d_weight_memory_format``
(``torch.nn.utils.memory_format``).

ember stores every tensor in one (contiguous) layout and has no ``channels_last`` storage,
so these accept PyTorch's memory formats, check them as PyTorch does for each convolution
they meet, and leave the weights as they are: the module comes back and computes what it
computed before.
"""

from __future__ import annotations

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, memory_format, classes: tuple, rank: int):
    from ... import _dtype as D

    if isinstance(module, classes):
        if not isinstance(memory_format, D.memory_format):
            raise TypeError("clone(): argument 'memory_format' must be torch.memory_format, "
                            f"not {type(memory_format).__name__}")
        if memory_format is D.preserve_format:
            raise RuntimeError("Unsupported memory formatPreserve")
        needed = {D.channels_last: 4, D.channels_last_3d: 5}.get(memory_format)
        if needed is not None and needed != rank:
            raise RuntimeError(f"required rank {needed} tensor to use {memory_format} format"
                               .replace("torch.", ""))
    for child in module.children():
        _convert(child, memory_format, classes, rank)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """``module``, with the weights of its ``Conv2d`` / ``ConvTranspose2d`` layers in
    ``memory_format`` (in ember: checked and left unchanged, see the module note).

    Example:
        >>> model = convert_conv2d_weight_memory_format(model, ember.channels_last)
    """
    from .. import Conv2d, ConvTranspose2d

    return _convert(module, memory_format, (Conv2d, ConvTranspose2d), 4)


def convert_conv3d_weight_memory_format(module, memory_format):
    """``module``, with the weights of its ``Conv3d`` / ``ConvTranspose3d`` layers in
    ``memory_format`` (in ember: checked and left unchanged, see the module note).

    Example:
        >>> model = convert_conv3d_weight_memory_format(model, ember.channels_last_3d)
    """
    from .. import Conv3d, ConvTranspose3d

    return _convert(module, memory_format, (Conv3d, ConvTranspose3d), 5)
