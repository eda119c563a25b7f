"""Faster R-CNN (Ren et al., 2015) and its builders
(torchvision.models.detection.faster_rcnn)."""

from __future__ import annotations

from typing import Any

from .... import nn
from ....nn import functional as F
from ...ops import layers as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._api import _WEIGHT_ENUMS
from .._utils import _no_pretrained
from ..mobilenetv3 import mobilenet_v3_large
from ..resnet import resnet50
from .anchor_utils import AnchorGenerator
from .backbone_utils import _mobilenet_extractor, _resnet_fpn_extractor, _validate_trainable_layers
from .generalized_rcnn import GeneralizedRCNN
from .roi_heads import RoIHeads
from .rpn import RegionProposalNetwork, RPNHead
from .transform import GeneralizedRCNNTransform

__all__ = ["FasterRCNN", "TwoMLPHead", "FastRCNNPredictor", "fasterrcnn_resnet50_fpn",
           "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_mobilenet_v3_large_320_fpn"]

# ImageNet statistics, the normalisation every torchvision backbone was trained with
_IMAGENET_MEAN = [0.485, 0.456, 0.406]
_IMAGENET_STD = [0.229, 0.224, 0.225]


def _default_anchorgen() -> AnchorGenerator:
    # one size per FPN level (P2 to P6), three shapes each
    sizes = ((32,), (64,), (128,), (256,), (512,))
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))


class TwoMLPHead(nn.Module):
    """The box head of FPN-based Fast R-CNN: flatten the pooled features, then two
    fully connected layers with ReLU (``fc6``, ``fc7``).

    Args:
        in_channels (int): the flattened pooled size (channels x pool height x width).
        representation_size (int): the width of both layers.

    Example:
        >>> TwoMLPHead(4 * 2 * 2, 8)(ember.rand(5, 4, 2, 2)).shape
        torch.Size([5, 8])
    """

    def __init__(self, in_channels: int, representation_size: int) -> None:
        super().__init__()
        self.fc6 = nn.Linear(in_channels, representation_size)
        self.fc7 = nn.Linear(representation_size, representation_size)

    def forward(self, x):
        return F.relu(self.fc7(F.relu(self.fc6(x.flatten(start_dim=1)))))


class FastRCNNPredictor(nn.Module):
    """Class scores and per-class box offsets from the box head's representation.

    Args:
        in_channels (int): the representation's width.
        num_classes (int): classes including the background.

    Forward returns ``(scores: Tensor[N, num_classes], bbox_deltas: Tensor[N, 4 *
    num_classes])``; a 4-d input must be ``[N, C, 1, 1]``.

    Example:
        >>> scores, deltas = FastRCNNPredictor(8, 3)(ember.rand(2, 8))
        >>> tuple(scores.shape), tuple(deltas.shape)
        ((2, 3), (2, 12))
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.cls_score = nn.Linear(in_channels, num_classes)
        self.bbox_pred = nn.Linear(in_channels, num_classes * 4)

    def forward(self, x):
        if x.dim() == 4:
            if list(x.shape[2:]) != [1, 1]:
                raise AssertionError("x has the wrong shape, expecting the last two dimensions "
                                     f"to be [1,1] instead of {list(x.shape[2:])}")
        x = x.flatten(1)
        return self.cls_score(x), self.bbox_pred(x)


class FasterRCNN(GeneralizedRCNN):
    """Faster R-CNN: a backbone (with ``out_channels``), a Region Proposal Network and Fast
    R-CNN box heads.

    Images are a list of ``Tensor[C, H, W]`` in ``[0, 1]`` (sizes may differ). In training the
    targets are a list of dicts with ``boxes`` (``FloatTensor[N, 4]``, ``(x1, y1, x2, y2)``
    pixels) and ``labels`` (``Int64Tensor[N]``), and the forward returns the losses
    ``loss_classifier``, ``loss_box_reg``, ``loss_objectness``, ``loss_rpn_box_reg``. In eval
    it returns per image ``boxes``, ``labels`` and ``scores`` in input-image coordinates.

    Args:
        backbone (nn.Module): returns a Tensor or an ordered dict of feature maps, and has
            ``out_channels``.
        num_classes (int, optional): classes including the background; leave ``None`` when
            ``box_predictor`` is given.
        min_size, max_size, image_mean, image_std: the :class:`GeneralizedRCNNTransform`'s.
        rpn_anchor_generator, rpn_head: default to five FPN-level anchors and
            :class:`RPNHead`.
        rpn_pre_nms_top_n_train/test, rpn_post_nms_top_n_train/test, rpn_nms_thresh,
        rpn_fg_iou_thresh, rpn_bg_iou_thresh, rpn_batch_size_per_image, rpn_positive_fraction,
        rpn_score_thresh: the :class:`RegionProposalNetwork`'s settings.
        box_roi_pool, box_head, box_predictor: default to a 7x7 :class:`MultiScaleRoIAlign`
            over levels ``"0"``-``"3"``, :class:`TwoMLPHead` (1024) and
            :class:`FastRCNNPredictor`.
        box_score_thresh, box_nms_thresh, box_detections_per_img, box_fg_iou_thresh,
        box_bg_iou_thresh, box_batch_size_per_image, box_positive_fraction, bbox_reg_weights:
            the :class:`RoIHeads`' settings.

    Example:
        >>> from ember.vision.models import mobilenet_v2
        >>> backbone = mobilenet_v2().features
        >>> backbone.out_channels = 1280
        >>> model = FasterRCNN(backbone, num_classes=2, min_size=64, max_size=64,
        ...                    rpn_anchor_generator=AnchorGenerator(((32, 64),), ((1.0,),)),
        ...                    box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2)).eval()
        >>> sorted(model([ember.rand(3, 64, 64)])[0])
        ['boxes', 'labels', 'scores']
    """

    def __init__(self, backbone: nn.Module, num_classes: int | None = None,
                 min_size: int = 800, max_size: int = 1333, image_mean=None, image_std=None,
                 rpn_anchor_generator=None, rpn_head=None, rpn_pre_nms_top_n_train: int = 2000,
                 rpn_pre_nms_top_n_test: int = 1000, rpn_post_nms_top_n_train: int = 2000,
                 rpn_post_nms_top_n_test: int = 1000, rpn_nms_thresh: float = 0.7,
                 rpn_fg_iou_thresh: float = 0.7, rpn_bg_iou_thresh: float = 0.3,
                 rpn_batch_size_per_image: int = 256, rpn_positive_fraction: float = 0.5,
                 rpn_score_thresh: float = 0.0, box_roi_pool=None, box_head=None,
                 box_predictor=None, box_score_thresh: float = 0.05,
                 box_nms_thresh: float = 0.5, box_detections_per_img: int = 100,
                 box_fg_iou_thresh: float = 0.5, box_bg_iou_thresh: float = 0.5,
                 box_batch_size_per_image: int = 512, box_positive_fraction: float = 0.25,
                 bbox_reg_weights=None, **kwargs: Any) -> None:
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the "
                             "number of output channels (assumed to be the same for all the "
                             "levels)")
        if not isinstance(rpn_anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("rpn_anchor_generator should be of type AnchorGenerator or None "
                            f"instead of {type(rpn_anchor_generator)}")
        if not isinstance(box_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError("box_roi_pool should be of type MultiScaleRoIAlign or None instead "
                            f"of {type(box_roi_pool)}")
        if num_classes is not None and box_predictor is not None:
            raise ValueError("num_classes should be None when box_predictor is specified")
        if num_classes is None and box_predictor is None:
            raise ValueError("num_classes should not be None when box_predictor is not "
                             "specified")
        channels = backbone.out_channels
        # built in torchvision's order, so a seeded model draws the same initial weights
        if rpn_anchor_generator is None:
            rpn_anchor_generator = _default_anchorgen()
        if rpn_head is None:
            rpn_head = RPNHead(channels, rpn_anchor_generator.num_anchors_per_location()[0])
        rpn = RegionProposalNetwork(
            rpn_anchor_generator, rpn_head, rpn_fg_iou_thresh, rpn_bg_iou_thresh,
            rpn_batch_size_per_image, rpn_positive_fraction,
            {"training": rpn_pre_nms_top_n_train, "testing": rpn_pre_nms_top_n_test},
            {"training": rpn_post_nms_top_n_train, "testing": rpn_post_nms_top_n_test},
            rpn_nms_thresh, score_thresh=rpn_score_thresh)
        if box_roi_pool is None:
            box_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=7,
                                              sampling_ratio=2)
        if box_head is None:
            pooled = box_roi_pool.output_size[0]
            box_head = TwoMLPHead(channels * pooled ** 2, 1024)
        if box_predictor is None:
            box_predictor = FastRCNNPredictor(1024, num_classes)
        roi_heads = RoIHeads(box_roi_pool, box_head, box_predictor, box_fg_iou_thresh,
                             box_bg_iou_thresh, box_batch_size_per_image, box_positive_fraction,
                             bbox_reg_weights, box_score_thresh, box_nms_thresh,
                             box_detections_per_img)
        transform = GeneralizedRCNNTransform(
            min_size, max_size, _IMAGENET_MEAN if image_mean is None else image_mean,
            _IMAGENET_STD if image_std is None else image_std, **kwargs)
        super().__init__(backbone, rpn, roi_heads, transform)


def _detection_classes(name: str, weights, num_classes: int | None) -> int:
    # no detection checkpoints can be fetched; without one, COCO's 91 classes by default
    _no_pretrained(name, weights, {})
    return 91 if num_classes is None else num_classes


def fasterrcnn_resnet50_fpn(*, weights=None, progress: bool = True,
                            num_classes: int | None = None,
                            weights_backbone=_WEIGHT_ENUMS["ResNet50_Weights"].IMAGENET1K_V1,
                            trainable_backbone_layers: int | None = None,
                            **kwargs: Any) -> FasterRCNN:
    """Faster R-CNN with a ResNet-50 FPN backbone ("Faster R-CNN: Towards Real-Time Object
    Detection with Region Proposal Networks").

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict`` (torchvision's loads unchanged). Without backbone weights the
    backbone uses ``BatchNorm2d`` and trains all its layers; with them, ``FrozenBatchNorm2d``
    and the last ``trainable_backbone_layers`` (default 3) stages.

    Args:
        weights: must be ``None``.
        progress (bool): ignored.
        num_classes (int, optional): classes including the background. Default: 91.
        weights_backbone: must be ``None`` here (the default names ImageNet weights).
        trainable_backbone_layers (int, optional): 0 to 5.
        **kwargs: passed to :class:`FasterRCNN`.

    Example:
        >>> model = fasterrcnn_resnet50_fpn(weights_backbone=None, num_classes=3,
        ...                                 min_size=64, max_size=64).eval()
        >>> model.roi_heads.box_predictor.cls_score.out_features
        3
    """
    num_classes = _detection_classes("fasterrcnn_resnet50_fpn", weights, num_classes)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable)
    return FasterRCNN(backbone, num_classes=num_classes, **kwargs)


def fasterrcnn_mobilenet_v3_large_fpn(
        *, weights=None, progress: bool = True, num_classes: int | None = None,
        weights_backbone=_WEIGHT_ENUMS["MobileNet_V3_Large_Weights"].IMAGENET1K_V1,
        trainable_backbone_layers: int | None = None, **kwargs: Any) -> FasterRCNN:
    """Faster R-CNN with a MobileNetV3-Large FPN backbone (two pyramid levels plus a pooled
    one, anchors of five sizes and three shapes at every level, ``rpn_score_thresh=0.05``).

    ember cannot download weights: pass ``weights_backbone=None`` (and ``weights=None``) and
    load a saved ``state_dict``. Arguments as for :func:`fasterrcnn_resnet50_fpn`
    (``trainable_backbone_layers`` from 0 to 6, default 3).

    Example:
        >>> model = fasterrcnn_mobilenet_v3_large_fpn(weights_backbone=None, num_classes=5)
        >>> model.rpn.anchor_generator.num_anchors_per_location()
        [15, 15, 15]
    """
    num_classes = _detection_classes("fasterrcnn_mobilenet_v3_large_fpn", weights, num_classes)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 6, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = mobilenet_v3_large(weights=weights_backbone, progress=progress,
                                  norm_layer=norm_layer)
    backbone = _mobilenet_extractor(backbone, True, trainable)
    sizes = ((32, 64, 128, 256, 512),) * 3
    anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    kwargs = {"rpn_score_thresh": 0.05, **kwargs}
    return FasterRCNN(backbone, num_classes=num_classes, rpn_anchor_generator=anchors, **kwargs)


def fasterrcnn_mobilenet_v3_large_320_fpn(
        *, weights=None, progress: bool = True, num_classes: int | None = None,
        weights_backbone=_WEIGHT_ENUMS["MobileNet_V3_Large_Weights"].IMAGENET1K_V1,
        trainable_backbone_layers: int | None = None, **kwargs: Any) -> FasterRCNN:
    """The low-resolution :func:`fasterrcnn_mobilenet_v3_large_fpn` for mobile use: the same
    network, but images are resized to a shorter side of 320 (longer side at most 640) and the
    RPN keeps only 150 proposals before and after NMS at test time
    (``rpn_pre_nms_top_n_test=150``, ``rpn_post_nms_top_n_test=150``). Keywords override those
    defaults; other arguments as :func:`fasterrcnn_mobilenet_v3_large_fpn`.

    Example:
        >>> model = fasterrcnn_mobilenet_v3_large_320_fpn(weights_backbone=None, num_classes=5)
        >>> model.transform.min_size, model.transform.max_size, model.rpn.post_nms_top_n()
        ((320,), 640, 2000)
    """
    num_classes = _detection_classes("fasterrcnn_mobilenet_v3_large_320_fpn", weights,
                                     num_classes)
    low_res = {"min_size": 320, "max_size": 640, "rpn_pre_nms_top_n_test": 150,
               "rpn_post_nms_top_n_test": 150}
    return fasterrcnn_mobilenet_v3_large_fpn(
        weights=None, progress=progress, num_classes=num_classes,
        weights_backbone=weights_backbone, trainable_backbone_layers=trainable_backbone_layers,
        **{**low_res, **kwargs})


# ---------------------------------------------------------------------------------------------
# Faster R-CNN v2 ("Benchmarking Detection Transfer Learning with Vision Transformers" recipe):
# batch norm in the FPN and the box head, a two-conv RPN head and a conv + fc box head.
__all__ += ["fasterrcnn_resnet50_fpn_v2", "FasterRCNN_ResNet50_FPN_V2_Weights"]

from .._api import _DETECTION_WEIGHT_ENUMS  # noqa: E402
from .._utils import _ovewrite_named_param  # noqa: E402

FasterRCNN_ResNet50_FPN_V2_Weights = _DETECTION_WEIGHT_ENUMS["FasterRCNN_ResNet50_FPN_V2_Weights"]
FasterRCNN_ResNet50_FPN_V2_Weights.__module__ = __name__  # torchvision homes it in this module


class FastRCNNConvFCHead(nn.Sequential):
    """A box head of 3x3 convolutions (each a ``Conv2dNormActivation`` with ``norm_layer`` and
    ReLU), then a flatten and fully connected layers with ReLU.

    Args:
        input_size (Tuple[int, int, int]): the pooled features' (channels, height, width).
        conv_layers (List[int]): each convolution's output channels.
        fc_layers (List[int]): each fully connected layer's width.
        norm_layer (callable, optional): a norm after each convolution (then it has no bias).

    Example:
        >>> head = FastRCNNConvFCHead((4, 3, 3), [8, 8], [16], norm_layer=nn.BatchNorm2d)
        >>> head(ember.rand(5, 4, 3, 3)).shape
        torch.Size([5, 16])
    """

    def __init__(self, input_size: tuple[int, int, int], conv_layers: list[int],
                 fc_layers: list[int], norm_layer=None) -> None:
        channels, height, width = input_size
        blocks: list[nn.Module] = []
        for out in conv_layers:
            blocks.append(misc_nn_ops.Conv2dNormActivation(channels, out,
                                                           norm_layer=norm_layer))
            channels = out
        blocks.append(nn.Flatten())
        features = channels * height * width
        for out in fc_layers:
            blocks += [nn.Linear(features, out), nn.ReLU(inplace=True)]
            features = out
        super().__init__(*blocks)
        # the convolutions are redrawn (He normal, fan-out) and their biases zeroed; the
        # fully connected layers keep their default draws
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)


def fasterrcnn_resnet50_fpn_v2(*, weights=None, progress: bool = True,
                               num_classes: int | None = None, weights_backbone=None,
                               trainable_backbone_layers: int | None = None,
                               **kwargs: Any) -> FasterRCNN:
    """Faster R-CNN v2 with a ResNet-50 FPN backbone: batch norm in the FPN, an RPN head of
    two 3x3 convolutions and a :class:`FastRCNNConvFCHead` box head (four 256-channel
    conv + batch norm blocks and one 1024-wide layer).

    ember cannot download weights: keep ``weights=None`` and ``weights_backbone=None`` (the
    default here, as in torchvision) and load a saved ``state_dict`` (torchvision's loads
    unchanged).

    Args:
        weights (FasterRCNN_ResNet50_FPN_V2_Weights, optional): must be ``None``.
        progress (bool): ignored.
        num_classes (int, optional): classes including the background. Default: 91.
        weights_backbone (ResNet50_Weights, optional): must be ``None``.
        trainable_backbone_layers (int, optional): 0 to 5 (all five without weights).
        **kwargs: passed to :class:`FasterRCNN`.

    Example:
        >>> model = fasterrcnn_resnet50_fpn_v2(num_classes=3, min_size=64, max_size=64)
        >>> len(model.rpn.head.conv), model.roi_heads.box_head[5].out_features
        (2, 1024)
    """
    weights = FasterRCNN_ResNet50_FPN_V2_Weights.verify(weights)
    weights_backbone = _WEIGHT_ENUMS["ResNet50_Weights"].verify(weights_backbone)
    num_classes = _v2_classes("fasterrcnn_resnet50_fpn_v2", weights, num_classes)
    backbone, rpn_head, box_head = _v2_parts(weights_backbone, progress,
                                             trainable_backbone_layers)
    return FasterRCNN(backbone, num_classes=num_classes,
                      rpn_anchor_generator=_default_anchorgen(), rpn_head=rpn_head,
                      box_head=box_head, **kwargs)


def _v2_classes(name: str, weights, num_classes: int | None) -> int:
    # a checkpoint fixes COCO's 91 classes (checked first, as torchvision does), then ember
    # refuses the download
    if weights is not None and num_classes is not None:
        _ovewrite_named_param({"num_classes": num_classes}, "num_classes", 91)
    return _detection_classes(name, weights, num_classes)


def _v2_parts(weights_backbone, progress: bool, trainable_backbone_layers):
    # the backbone, RPN head and box head the v2 R-CNNs share, built in torchvision's order
    # (so a seeded build draws the same initial weights)
    trainable = _validate_trainable_layers(weights_backbone is not None,
                                           trainable_backbone_layers, 5, 3)
    body = resnet50(weights=weights_backbone, progress=progress)
    backbone = _resnet_fpn_extractor(body, trainable, norm_layer=nn.BatchNorm2d)
    channels = backbone.out_channels
    anchors = _default_anchorgen().num_anchors_per_location()[0]
    rpn_head = RPNHead(channels, anchors, conv_depth=2)
    box_head = FastRCNNConvFCHead((channels, 7, 7), [256] * 4, [1024],
                                  norm_layer=nn.BatchNorm2d)
    return backbone, rpn_head, box_head
