"""Vision Transformer (Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for
Image Recognition at Scale", 2021) with torchvision 0.28's module layout: ``state_dict`` keys,
``repr`` and seeded initialisation match ``torchvision.models.vit_b_16``.

The image is cut into ``patch_size`` squares by one strided conv, a learned class token is
prepended to the patch tokens, learned position embeddings are added, a stack of pre-norm
transformer blocks mixes the tokens, and the class token's final state feeds the head.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

from ... import cat, empty, nn, zeros
from ..._tensor import Tensor
from ..ops.layers import MLP
from ._utils import _no_pretrained

__all__ = ["VisionTransformer", "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"]

_LayerNorm = partial(nn.LayerNorm, eps=1e-6)


def _check_tokens(tokens: Tensor) -> None:
    if tokens.dim() != 3:
        raise AssertionError(
            f"Expected (batch_size, seq_length, hidden_dim) got {tokens.shape}")


class MLPBlock(MLP):
    """The transformer's feed-forward part: ``Linear(in_dim, mlp_dim)``, GELU, ``Dropout``,
    ``Linear(mlp_dim, in_dim)``, ``Dropout`` (an :class:`~ember.vision.ops.MLP`), with
    Xavier-uniform weights and biases drawn from N(0, 1e-6^2).

    Example:
        >>> block = MLPBlock(8, 32, dropout=0.0)
        >>> block(ember.randn(2, 5, 8)).shape
        torch.Size([2, 5, 8])
    """

    # version 2 numbers the layers 0..4; version-1 checkpoints named the linears linear_1/2
    _version = 2

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, inplace=None,
                         dropout=dropout)
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                if layer.bias is not None:
                    nn.init.normal_(layer.bias, std=1e-6)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        if (local_metadata.get("version") or 0) < 2:
            # linear_1 sits at index 0 of the Sequential, linear_2 at index 3
            for old, new in (("linear_1", "0"), ("linear_2", "3")):
                for kind in ("weight", "bias"):
                    key = f"{prefix}{old}.{kind}"
                    if key in state_dict:
                        state_dict[f"{prefix}{new}.{kind}"] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class EncoderBlock(nn.Module):
    """One pre-norm transformer block on ``(batch, tokens, hidden_dim)`` input:
    ``x + Dropout(SelfAttention(LN(x)))``, then ``y + MLP(LN(y))``.

    Example:
        >>> block = EncoderBlock(num_heads=2, hidden_dim=8, mlp_dim=16, dropout=0.0,
        ...                      attention_dropout=0.0)
        >>> block(ember.randn(3, 5, 8)).shape
        torch.Size([3, 5, 8])
    """

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float,
                 attention_dropout: float,
                 norm_layer: Callable[..., nn.Module] = _LayerNorm) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads,
                                                    dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input: Tensor) -> Tensor:
        _check_tokens(input)
        normed = self.ln_1(input)
        attended, _ = self.self_attention(normed, normed, normed, need_weights=False)
        mixed = input + self.dropout(attended)
        return mixed + self.mlp(self.ln_2(mixed))


class Encoder(nn.Module):
    """The token encoder: add the learned position embeddings (``pos_embedding``, drawn from
    N(0, 0.02^2)), ``Dropout``, ``num_layers`` :class:`EncoderBlock` s (``layers``, named
    ``encoder_layer_<i>``), and a final norm ``ln``.

    Example:
        >>> encoder = Encoder(seq_length=5, num_layers=2, num_heads=2, hidden_dim=8,
        ...                   mlp_dim=16, dropout=0.0, attention_dropout=0.0)
        >>> encoder(ember.randn(1, 5, 8)).shape
        torch.Size([1, 5, 8])
    """

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float, attention_dropout: float,
                 norm_layer: Callable[..., nn.Module] = _LayerNorm) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        blocks = OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout,
                                                attention_dropout, norm_layer))
            for i in range(num_layers))
        self.layers = nn.Sequential(blocks)
        self.ln = norm_layer(hidden_dim)

    def forward(self, input: Tensor) -> Tensor:
        _check_tokens(input)
        tokens = self.dropout(input + self.pos_embedding)
        return self.ln(self.layers(tokens))


class VisionTransformer(nn.Module):
    """Vision Transformer for ``image_size`` x ``image_size`` RGB images cut into
    ``patch_size`` patches: ``conv_proj`` embeds the patches, ``class_token`` is prepended,
    ``encoder`` (an :class:`Encoder`) mixes the ``seq_length`` tokens, and ``heads`` maps the
    class token to ``num_classes`` logits (through a ``Linear`` + tanh ``pre_logits`` layer of
    width ``representation_size`` when one is given).

    Example:
        >>> model = VisionTransformer(image_size=32, patch_size=16, num_layers=1, num_heads=2,
        ...                           hidden_dim=8, mlp_dim=16, num_classes=3)
        >>> model.seq_length, model(ember.randn(2, 3, 32, 32)).shape
        (5, torch.Size([2, 3]))
    """

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int,
                 hidden_dim: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0, num_classes: int = 1000,
                 representation_size: int | None = None,
                 norm_layer: Callable[..., nn.Module] = _LayerNorm,
                 conv_stem_configs: Any = None) -> None:
        super().__init__()
        if image_size % patch_size != 0:
            raise AssertionError("Input shape indivisible by patch size!")
        if conv_stem_configs is not None:
            raise NotImplementedError("ember's VisionTransformer has no convolutional stem "
                                      "(conv_stem_configs); use the patchify conv")
        # the configuration stays readable on the model, as in torchvision
        self.image_size, self.patch_size = image_size, patch_size
        self.hidden_dim, self.mlp_dim = hidden_dim, mlp_dim
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.num_classes, self.representation_size = num_classes, representation_size
        self.norm_layer = norm_layer

        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        # one token per patch plus the class token
        tokens = (image_size // patch_size) ** 2 + 1
        self.class_token = nn.Parameter(zeros(1, 1, hidden_dim))
        self.encoder = Encoder(tokens, num_layers, num_heads, hidden_dim, mlp_dim, dropout,
                               attention_dropout, norm_layer)
        self.seq_length = tokens
        self.heads = nn.Sequential(self._head_layers(hidden_dim, representation_size,
                                                     num_classes))
        self._init_weights()

    @staticmethod
    def _head_layers(hidden_dim: int, representation_size: int | None,
                     num_classes: int) -> OrderedDict:
        if representation_size is None:
            return OrderedDict(head=nn.Linear(hidden_dim, num_classes))
        return OrderedDict(pre_logits=nn.Linear(hidden_dim, representation_size),
                           act=nn.Tanh(), head=nn.Linear(representation_size, num_classes))

    def _init_weights(self) -> None:
        # LeCun-normal (std 1/sqrt(fan_in), truncated) for the patch embedding and pre-logits
        # layer; the classifier starts at zero so initial logits are all equal
        proj = self.conv_proj
        patch_fan_in = proj.in_channels * proj.kernel_size[0] * proj.kernel_size[1]
        nn.init.trunc_normal_(proj.weight, std=math.sqrt(1.0 / patch_fan_in))
        nn.init.zeros_(proj.bias)
        pre = getattr(self.heads, "pre_logits", None)
        if isinstance(pre, nn.Linear):
            nn.init.trunc_normal_(pre.weight, std=math.sqrt(1.0 / pre.in_features))
            nn.init.zeros_(pre.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _process_input(self, x: Tensor) -> Tensor:
        """Patch tokens ``(batch, patches, hidden_dim)`` of an image batch of the built size."""
        n, _, h, w = x.shape
        for side, got in (("height", h), ("width", w)):
            if got != self.image_size:
                raise AssertionError(
                    f"Wrong image {side}! Expected {self.image_size} but got {got}!")
        grid = self.conv_proj(x)  # (n, hidden_dim, h / patch, w / patch)
        return grid.reshape(n, self.hidden_dim, -1).permute(0, 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        tokens = self._process_input(x)
        cls = self.class_token.expand(tokens.shape[0], -1, -1)
        encoded = self.encoder(cat([cls, tokens], dim=1))
        # classify from the class token's final state
        return self.heads(encoded[:, 0])


def vit_b_16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """Build torchvision's ``vit_b_16`` (ViT-Base, 16x16 patches: 12 layers, 12 heads, width
    768, MLP width 3072). ``image_size`` (default 224) and other keywords go to
    :class:`VisionTransformer`; ``weights`` must be ``None`` (ember does not download
    checkpoints).

    Example:
        >>> vit_b_16(image_size=32, num_classes=2).seq_length
        5
    """
    return _vision_transformer("vit_b_16", 16, 12, 12, 768, 3072, weights, kwargs)


def _vision_transformer(name: str, patch_size: int, num_layers: int, num_heads: int,
                        hidden_dim: int, mlp_dim: int, weights: Any,
                        kwargs: dict[str, Any]) -> VisionTransformer:
    # the architecture numbers are the variant's own: a caller's ``patch_size`` (or any of
    # them) is the TypeError of a keyword given twice; ``image_size`` may change
    _no_pretrained(name, weights, kwargs)
    image_size = kwargs.pop("image_size", 224)
    return VisionTransformer(image_size=image_size, patch_size=patch_size, num_layers=num_layers,
                             num_heads=num_heads, hidden_dim=hidden_dim, mlp_dim=mlp_dim,
                             **kwargs)


def vit_b_32(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-Base with 32x32 patches (12 layers, 12 heads, width 768, MLP width 3072); arguments
    as :func:`vit_b_16`.

    Example:
        >>> vit_b_32(image_size=64, num_classes=2).seq_length
        5
    """
    return _vision_transformer("vit_b_32", 32, 12, 12, 768, 3072, weights, kwargs)


def vit_l_16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-Large with 16x16 patches (24 layers, 16 heads, width 1024, MLP width 4096);
    arguments as :func:`vit_b_16`.

    Example:
        >>> vit_l_16(image_size=32, num_classes=2).heads.head  # doctest: +SKIP
        Linear(in_features=1024, out_features=2, bias=True)
    """
    return _vision_transformer("vit_l_16", 16, 24, 16, 1024, 4096, weights, kwargs)


def vit_l_32(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-Large with 32x32 patches (24 layers, 16 heads, width 1024, MLP width 4096);
    arguments as :func:`vit_b_16`.

    Example:
        >>> vit_l_32(image_size=64, num_classes=2).seq_length  # doctest: +SKIP
        5
    """
    return _vision_transformer("vit_l_32", 32, 24, 16, 1024, 4096, weights, kwargs)


def vit_h_14(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-Huge with 14x14 patches (32 layers, 16 heads, width 1280, MLP width 5120; 632M
    parameters at 224 pixels); arguments as :func:`vit_b_16`.

    Example:
        >>> vit_h_14(image_size=28, num_classes=2).seq_length  # doctest: +SKIP
        5
    """
    return _vision_transformer("vit_h_14", 14, 32, 16, 1280, 5120, weights, kwargs)
