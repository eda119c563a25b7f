"""Vision Transformer ViT-B/16 (Dosovitskiy et al., 2020), module for module as torchvision
builds it.

State_dict keys equal torchvision's (``class_token``, ``conv_proj.weight``,
``encoder.pos_embedding``, ``encoder.layers.encoder_layer_0.self_attention.in_proj_weight``,
..., ``heads.head.weight``), so torchvision checkpoints load unchanged. The convolutional stem
(``conv_stem_configs``) is not provided.
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

__all__ = ["VisionTransformer", "vit_b_16"]


class MLPBlock(MLP):
    """The transformer's feed-forward block: Linear, GELU, Dropout, Linear, Dropout.

    Example:
        >>> MLPBlock(8, 32, 0.0)(ember.randn(2, 8)).shape
        torch.Size([2, 8])
    """

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, inplace=None,
                         dropout=dropout)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)


class EncoderBlock(nn.Module):
    """Pre-norm transformer layer: LN, self-attention, residual; LN, MLP, residual.

    Example:
        >>> EncoderBlock(2, 8, 16, 0.0, 0.0)(ember.randn(1, 5, 8)).shape
        torch.Size([1, 5, 8])
    """

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float,
                 attention_dropout: float,
                 norm_layer: Callable[..., nn.Module] = partial(nn.LayerNorm, eps=1e-6)) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads,
                                                    dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() != 3:
            raise ValueError(f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x)
        x = x + input
        y = self.mlp(self.ln_2(x))
        return x + y


class Encoder(nn.Module):
    """Learned position embedding, dropout, ``num_layers`` encoder blocks, final LayerNorm.

    Example:
        >>> Encoder(5, 1, 2, 8, 16, 0.0, 0.0)(ember.randn(1, 5, 8)).shape
        torch.Size([1, 5, 8])
    """

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float, attention_dropout: float,
                 norm_layer: Callable[..., nn.Module] = partial(nn.LayerNorm, eps=1e-6)) -> None:
        super().__init__()
        # drawn before the layers, so the random stream matches torchvision's
        self.pos_embedding = nn.Parameter(empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(num_layers):
            layers[f"encoder_layer_{i}"] = EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout,
                                                        attention_dropout, norm_layer)
        self.layers = nn.Sequential(layers)
        self.ln = norm_layer(hidden_dim)

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() != 3:
            raise ValueError(f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}")
        input = input + self.pos_embedding
        return self.ln(self.layers(self.dropout(input)))


class VisionTransformer(nn.Module):
    """ViT: non-overlapping patches projected by a strided conv, a class token, a transformer
    encoder, and a head on the class token's output.

    Example:
        >>> model = VisionTransformer(32, 16, 1, 2, 8, 16, num_classes=3)
        >>> model(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 3])
    """

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int,
                 hidden_dim: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0, num_classes: int = 1000,
                 representation_size: int | None = None,
                 norm_layer: Callable[..., nn.Module] = partial(nn.LayerNorm, eps=1e-6),
                 conv_stem_configs: Any = None) -> None:
        super().__init__()
        if image_size % patch_size != 0:
            raise AssertionError("Input shape indivisible by patch size!")
        if conv_stem_configs is not None:
            raise NotImplementedError("ember's VisionTransformer has no convolutional stem "
                                      "(conv_stem_configs); use the patchify conv")
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.mlp_dim = mlp_dim
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.num_classes = num_classes
        self.representation_size = representation_size
        self.norm_layer = norm_layer
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2
        self.class_token = nn.Parameter(zeros(1, 1, hidden_dim))
        seq_length += 1
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout,
                               attention_dropout, norm_layer)
        self.seq_length = seq_length
        heads: OrderedDict[str, nn.Module] = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)

        fan_in = self.conv_proj.in_channels * self.conv_proj.kernel_size[0] * \
            self.conv_proj.kernel_size[1]
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        if "pre_logits" in heads:
            fan_in = heads["pre_logits"].in_features
            nn.init.trunc_normal_(heads["pre_logits"].weight, std=math.sqrt(1 / fan_in))
            nn.init.zeros_(heads["pre_logits"].bias)
        # a zero head: training starts from uniform logits
        nn.init.zeros_(heads["head"].weight)
        nn.init.zeros_(heads["head"].bias)

    def _process_input(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        p = self.patch_size
        # AssertionError, as torchvision's torch._assert checks raise
        if h != self.image_size:
            raise AssertionError(f"Wrong image height! Expected {self.image_size} but got {h}!")
        if w != self.image_size:
            raise AssertionError(f"Wrong image width! Expected {self.image_size} but got {w}!")
        n_h, n_w = h // p, w // p
        x = self.conv_proj(x)  # (n, hidden_dim, n_h, n_w)
        x = x.reshape(n, self.hidden_dim, n_h * n_w)
        return x.permute(0, 2, 1)  # (n, seq, hidden_dim): the encoder is batch-first

    def forward(self, x: Tensor) -> Tensor:
        x = self._process_input(x)
        n = x.shape[0]
        batch_class_token = self.class_token.expand(n, -1, -1)
        x = cat([batch_class_token, x], dim=1)
        x = self.encoder(x)
        x = x[:, 0]  # the class token's output
        return self.heads(x)


def vit_b_16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VisionTransformer:
    """ViT-B/16 (12 layers, 12 heads, width 768, MLP 3072). ``weights`` must be None.

    ``image_size`` (default 224) may be given as a keyword.

    Example:
        >>> model = ember.vision.models.vit_b_16(image_size=32, num_classes=10)
        >>> model(ember.randn(1, 3, 32, 32)).shape
        torch.Size([1, 10])
    """
    _no_pretrained("vit_b_16", weights, kwargs)
    image_size = kwargs.pop("image_size", 224)
    return VisionTransformer(image_size=image_size, patch_size=16, num_layers=12, num_heads=12,
                             hidden_dim=768, mlp_dim=3072, **kwargs)
