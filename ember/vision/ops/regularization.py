"""Structured dropout for vision networks: stochastic depth and DropBlock.

Both draw their masks from ember's generator (``ember.manual_seed``), so a run is
reproducible from its seed.
"""

from __future__ import annotations

import ember

from ... import nn
from ...nn import functional as F

__all__ = ["stochastic_depth", "StochasticDepth", "drop_block2d", "DropBlock2d",
           "drop_block3d", "DropBlock3d"]


def stochastic_depth(input, p: float, mode: str, training: bool = True):
    """Stochastic depth (Huang et al., 2016): zero whole residual branches at random.

    Survivors are scaled by ``1 / (1 - p)`` so the expectation is unchanged.

    Args:
        input (Tensor[N, ...]): the branch's output.
        p (float): probability of zeroing.
        mode (str): ``'batch'`` drops the whole batch together, ``'row'`` each sample.
        training (bool): apply only when True. Default: True.

    Returns:
        Tensor: the randomly zeroed input.

    Example:
        >>> stochastic_depth(ember.ones(4, 2), 0.5, "row").shape
        torch.Size([4, 2])
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = ember.empty(size, dtype=input.dtype, device=input.device).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


class StochasticDepth(nn.Module):
    """Module form of :func:`stochastic_depth` (active in training mode only).

    Example:
        >>> StochasticDepth(0.2, "row").eval()(ember.ones(2, 3)).sum().item()
        6.0
    """

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode})"


def _drop_block(input, p, block_size, inplace, eps, training, dims):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}.")
    if input.ndim != dims + 2:
        raise ValueError(f"input should be {dims + 2} dimensional. Got {input.ndim} dimensions.")
    if not training or p == 0:
        return input
    spatial = input.shape[2:]
    block_size = min(block_size, *spatial)
    if block_size % 2 == 0:  # an even block cannot be centred on its seed
        raise ValueError(f"block size should be odd. Got {block_size} which is even.")
    # seed probability chosen so that about a fraction p of the positions ends up dropped
    valid = 1
    total = 1
    for s in spatial:
        valid *= s - block_size + 1
        total *= s
    gamma = (p * total) / ((block_size ** dims) * valid)
    seeds = [s - block_size + 1 for s in spatial]
    noise = ember.empty((*input.shape[:2], *seeds), dtype=input.dtype, device=input.device)
    noise.bernoulli_(gamma)
    noise = F.pad(noise, [block_size // 2] * (2 * dims), value=0)
    pool = F.max_pool2d if dims == 2 else F.max_pool3d
    noise = pool(noise, stride=(1,) * dims, kernel_size=(block_size,) * dims,
                 padding=block_size // 2)
    noise = 1 - noise
    normalize_scale = noise.numel() / (eps + noise.sum())
    if inplace:
        input.mul_(noise).mul_(normalize_scale)
    else:
        input = input * noise * normalize_scale
    return input


def drop_block2d(input, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06,
                 training: bool = True):
    """DropBlock (Ghiasi et al., 2018): zero square blocks of a feature map at random.

    Args:
        input (Tensor[N, C, H, W]): the feature map.
        p (float): probability of zeroing an element.
        block_size (int): side of the blocks, odd (after capping at the input's size).
        inplace (bool): modify ``input``. Default: False.
        eps (float): keeps the rescaling finite. Default: 1e-6.
        training (bool): apply only when True. Default: True.

    Returns:
        Tensor[N, C, H, W]: the input with blocks dropped, rescaled to keep its sum.

    Example:
        >>> drop_block2d(ember.ones(1, 1, 8, 8), 0.1, 3).shape
        torch.Size([1, 1, 8, 8])
    """
    return _drop_block(input, p, block_size, inplace, eps, training, 2)


def drop_block3d(input, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06,
                 training: bool = True):
    """DropBlock on volumes: zero cubes of a ``(N, C, D, H, W)`` feature map at random.

    Arguments as :func:`drop_block2d`.

    Example:
        >>> drop_block3d(ember.ones(1, 1, 4, 4, 4), 0.1, 3).shape
        torch.Size([1, 1, 4, 4, 4])
    """
    return _drop_block(input, p, block_size, inplace, eps, training, 3)


class DropBlock2d(nn.Module):
    """Module form of :func:`drop_block2d` (active in training mode only).

    Example:
        >>> DropBlock2d(0.1, 3)(ember.ones(1, 1, 8, 8)).shape
        torch.Size([1, 1, 8, 8])
    """

    def __init__(self, p: float, block_size: int, inplace: bool = False,
                 eps: float = 1e-06) -> None:
        super().__init__()
        self.p = p
        self.block_size = block_size
        self.inplace = inplace
        self.eps = eps

    def forward(self, input):
        return drop_block2d(input, self.p, self.block_size, self.inplace, self.eps,
                            self.training)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(p={self.p}, block_size={self.block_size}, "
                f"inplace={self.inplace})")


class DropBlock3d(DropBlock2d):
    """Module form of :func:`drop_block3d` (active in training mode only).

    Example:
        >>> DropBlock3d(0.1, 3)(ember.ones(1, 1, 4, 4, 4)).shape
        torch.Size([1, 1, 4, 4, 4])
    """

    def forward(self, input):
        return drop_block3d(input, self.p, self.block_size, self.inplace, self.eps,
                            self.training)
