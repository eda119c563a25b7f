"""The frame shared by the R-CNN family: transform, backbone, RPN, RoI heads, postprocess
(torchvision.models.detection.generalized_rcnn)."""

from __future__ import annotations

from collections import OrderedDict

import ember

from .... import nn

__all__ = ["GeneralizedRCNN"]


def _require(condition: bool, message: str) -> None:
    # torchvision reports malformed inputs with AssertionError (its torch._assert)
    if not condition:
        raise AssertionError(message)


def _check_targets(targets) -> None:
    _require(targets is not None, "targets should not be none when in training mode")
    for target in targets:
        boxes = target["boxes"]
        _require(isinstance(boxes, ember.Tensor),
                 f"Expected target boxes to be of type Tensor, got {type(boxes)}.")
        _require(boxes.dim() == 2 and boxes.shape[-1] == 4,
                 f"Expected target boxes to be a tensor of shape [N, 4], got {boxes.shape}.")


def _check_degenerate(targets) -> None:
    # a box whose right/bottom edge is not past its left/top edge cannot be regressed to
    for index, target in enumerate(targets):
        boxes = target["boxes"]
        bad = (boxes[:, 2:] <= boxes[:, :2]).any(dim=1)
        if bool(bad.any()):
            first = int(ember.where(bad)[0][0])
            _require(False, "All bounding boxes should have positive height and width. Found "
                            f"invalid box {boxes[first].tolist()} for target at index {index}.")


class GeneralizedRCNN(nn.Module):
    """A two-stage detector: ``transform`` batches the images, ``backbone`` computes features,
    ``rpn`` proposes regions and ``roi_heads`` classifies them; boxes are mapped back to the
    input sizes.

    Args:
        backbone (nn.Module), rpn (nn.Module), roi_heads (nn.Module), transform (nn.Module).

    Forward takes ``(images: List[Tensor[C, H, W]], targets: List[Dict[str, Tensor]] = None)``
    and returns the loss dict in training (``targets`` required: ``boxes`` ``Tensor[N, 4]``
    in ``(x1, y1, x2, y2)`` form and int64 ``labels``) and one dict of ``boxes``, ``labels``,
    ``scores`` per image in eval.

    Example:
        >>> from ember.vision.models.detection import fasterrcnn_mobilenet_v3_large_fpn
        >>> model = fasterrcnn_mobilenet_v3_large_fpn(weights_backbone=None, min_size=64,
        ...                                           max_size=64).eval()
        >>> sorted(model([ember.rand(3, 60, 50)])[0])
        ['boxes', 'labels', 'scores']
    """

    def __init__(self, backbone: nn.Module, rpn: nn.Module, roi_heads: nn.Module,
                 transform: nn.Module) -> None:
        super().__init__()
        self.transform = transform
        self.backbone = backbone
        self.rpn = rpn
        self.roi_heads = roi_heads
        self._has_warned = False  # for TorchScript's single-output warning, kept for parity

    def eager_outputs(self, losses, detections):
        """The losses in training, the detections in eval."""
        return losses if self.training else detections

    def forward(self, images, targets=None):
        if self.training:
            _check_targets(targets)
        original_sizes = []
        for image in images:
            size = image.shape[-2:]
            _require(len(size) == 2, "expecting the last two dimensions of the Tensor to be H "
                                     f"and W instead got {image.shape[-2:]}")
            original_sizes.append((int(size[0]), int(size[1])))
        batch, targets = self.transform(images, targets)
        if targets is not None:
            _check_degenerate(targets)
        features = self.backbone(batch.tensors)
        if isinstance(features, ember.Tensor):
            features = OrderedDict([("0", features)])
        proposals, proposal_losses = self.rpn(batch, features, targets)
        detections, detector_losses = self.roi_heads(features, proposals, batch.image_sizes,
                                                     targets)
        detections = self.transform.postprocess(detections, batch.image_sizes, original_sizes)
        losses = {**detector_losses, **proposal_losses}
        return self.eager_outputs(losses, detections)
