"""Video classification models, mirroring ``torchvision.models.video``: inputs are clips
shaped ``(N, C, T, H, W)``.

Example:
    >>> from ember.vision.models.video import r3d_18
    >>> model = r3d_18(num_classes=5).eval()
    >>> model(ember.randn(1, 3, 4, 32, 32)).shape
    torch.Size([1, 5])
"""

from .mvit import MViT, MViT_V1_B_Weights, MViT_V2_S_Weights, mvit_v1_b, mvit_v2_s
from .resnet import (
    BasicBlock,
    BasicStem,
    Bottleneck,
    Conv2Plus1D,
    Conv3DNoTemporal,
    Conv3DSimple,
    MC3_18_Weights,
    R2Plus1D_18_Weights,
    R2Plus1dStem,
    R3D_18_Weights,
    VideoResNet,
    mc3_18,
    r2plus1d_18,
    r3d_18,
)
from .s3d import S3D, S3D_Weights, s3d

__all__ = ["VideoResNet", "BasicBlock", "Bottleneck", "Conv3DSimple", "Conv3DNoTemporal",
           "Conv2Plus1D", "BasicStem", "R2Plus1dStem", "r3d_18", "mc3_18", "r2plus1d_18",
           "R3D_18_Weights", "MC3_18_Weights", "R2Plus1D_18_Weights"]
__all__ += ["S3D", "S3D_Weights", "s3d"]
__all__ += ["MViT", "MViT_V1_B_Weights", "MViT_V2_S_Weights", "mvit_v1_b", "mvit_v2_s"]
from .swin_transformer import (  # noqa: E402
    Swin3D_B_Weights,
    Swin3D_S_Weights,
    Swin3D_T_Weights,
    SwinTransformer3d,
    swin3d_b,
    swin3d_s,
    swin3d_t,
)

__all__ += ["SwinTransformer3d", "Swin3D_T_Weights", "Swin3D_S_Weights", "Swin3D_B_Weights",
            "swin3d_t", "swin3d_s", "swin3d_b"]
