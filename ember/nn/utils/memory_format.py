"""``convert_conv2d_weight_memory_format`` / ``convert_conv3d_weight_memory_format``
(``torch.nn.utils.memory_format``).

Each convolution's weight is copied into the requested layout (``channels_last`` keeps the
NCHW shape with NHWC strides) after the checks PyTorch makes; values do not change.
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
        module.weight.data = module.weight.detach().clone(memory_format=memory_format)
    for child in module.children():
        _convert(child, memory_format, classes, rank)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """``module``, with the weights of its ``Conv2d`` / ``ConvTranspose2d`` layers in
    ``memory_format``.

    Example:
        >>> model = convert_conv2d_weight_memory_format(model, ember.channels_last)
    """
    from .. import Conv2d, ConvTranspose2d

    return _convert(module, memory_format, (Conv2d, ConvTranspose2d), 4)


def convert_conv3d_weight_memory_format(module, memory_format):
    """``module``, with the weights of its ``Conv3d`` / ``ConvTranspose3d`` layers in
    ``memory_format``.

    Example:
        >>> model = convert_conv3d_weight_memory_format(model, ember.channels_last_3d)
    """
    from .. import Conv3d, ConvTranspose3d

    return _convert(module, memory_format, (Conv3d, ConvTranspose3d), 5)
