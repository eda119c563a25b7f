"""Box encoding, proposal-to-target matching and balanced sampling, shared by the RPN and the
RoI heads (torchvision.models.detection._utils)."""

from __future__ import annotations

import math

import ember

from ....nn import functional as F

__all__ = ["BoxCoder", "Matcher", "BalancedPositiveNegativeSampler", "smooth_l1_loss",
           "SSDMatcher", "retrieve_out_channels"]


class BalancedPositiveNegativeSampler:
    """Draw a fixed-size training batch of positives and negatives from each image.

    Labels ``>= 1`` are positives, ``0`` negatives and ``-1`` ignored. At most
    ``positive_fraction`` of the ``batch_size_per_image`` draws are positives; negatives fill
    the rest. Both draws use ``ember.randperm`` on the global generator (positives first, then
    negatives, image by image), so a seeded run draws what torchvision draws.

    Args:
        batch_size_per_image (int): samples per image.
        positive_fraction (float): the largest share of positives.

    Returns (of a call):
        Two lists of ``uint8`` masks, one per image: the sampled positives and negatives.

    Example:
        >>> sampler = BalancedPositiveNegativeSampler(4, 0.5)
        >>> pos, neg = sampler([ember.tensor([1, 0, 0, 0, 0, -1, 2])])
        >>> int(pos[0].sum()), int(neg[0].sum())
        (2, 2)
    """

    def __init__(self, batch_size_per_image: int, positive_fraction: float) -> None:
        self.batch_size_per_image = batch_size_per_image
        self.positive_fraction = positive_fraction

    def __call__(self, matched_idxs):
        positives, negatives = [], []
        for labels in matched_idxs:
            pos_where = ember.where(labels >= 1)[0]
            neg_where = ember.where(labels == 0)[0]
            n_pos = min(int(self.batch_size_per_image * self.positive_fraction),
                        pos_where.numel())
            n_neg = min(self.batch_size_per_image - n_pos, neg_where.numel())
            chosen_pos = pos_where[ember.randperm(pos_where.numel(), device=labels.device)[:n_pos]]
            chosen_neg = neg_where[ember.randperm(neg_where.numel(), device=labels.device)[:n_neg]]
            for chosen, out in ((chosen_pos, positives), (chosen_neg, negatives)):
                mask = ember.zeros_like(labels, dtype=ember.uint8)
                mask[chosen] = 1
                out.append(mask)
        return positives, negatives


class BoxCoder:
    """Encode boxes as offsets from reference boxes, and decode them back (the R-CNN
    parameterisation): centre shifts in units of the reference size, log size ratios, each
    multiplied by ``weights``.

    Args:
        weights (Tuple[float, float, float, float]): ``(wx, wy, ww, wh)``.
        bbox_xform_clip (float): the largest log size ratio decoded (keeps ``exp`` finite).
            Default: ``log(1000 / 16)``.

    Example:
        >>> coder = BoxCoder((1.0, 1.0, 1.0, 1.0))
        >>> anchors = ember.tensor([[0., 0, 10, 10]])
        >>> codes = coder.encode_single(ember.tensor([[2., 2, 12, 12]]), anchors)
        >>> coder.decode_single(codes, anchors)
        tensor([[ 2.,  2., 12., 12.]])
    """

    def __init__(self, weights: tuple[float, float, float, float],
                 bbox_xform_clip: float = math.log(1000.0 / 16)) -> None:
        self.weights = weights
        self.bbox_xform_clip = bbox_xform_clip

    def encode(self, reference_boxes, proposals):
        """Per-image lists in, per-image lists of ``Tensor[K, 4]`` codes out."""
        counts = [len(b) for b in reference_boxes]
        codes = self.encode_single(ember.cat(reference_boxes, dim=0), ember.cat(proposals, dim=0))
        return codes.split(counts, 0)

    def encode_single(self, reference_boxes, proposals):
        """The codes that move each of ``proposals`` onto the matching ``reference_boxes``."""
        weights = ember.as_tensor(self.weights, dtype=reference_boxes.dtype,
                                  device=reference_boxes.device)
        return _encode(reference_boxes, proposals, weights)

    def decode(self, rel_codes, boxes):
        """Apply ``rel_codes`` (all images, ``Tensor[K, 4 * C]``) to the per-image ``boxes``;
        returns ``Tensor[K, C, 4]``."""
        reference = ember.cat(list(boxes), dim=0)
        total = reference.shape[0]
        decoded = self.decode_single(rel_codes.reshape(total, -1), reference)
        return decoded.reshape(total, -1, 4) if total > 0 else decoded

    def decode_single(self, rel_codes, boxes):
        """Apply ``rel_codes`` (``Tensor[K, 4 * C]``) to ``boxes`` (``Tensor[K, 4]``)."""
        boxes = boxes.to(rel_codes.dtype)
        wx, wy, ww, wh = self.weights
        widths = (boxes[:, 2] - boxes[:, 0])[:, None]
        heights = (boxes[:, 3] - boxes[:, 1])[:, None]
        centre_x = boxes[:, 0][:, None] + 0.5 * widths
        centre_y = boxes[:, 1][:, None] + 0.5 * heights
        dx = rel_codes[:, 0::4] / wx
        dy = rel_codes[:, 1::4] / wy
        # a huge predicted log-ratio would overflow exp(): cap it
        dw = ember.clamp(rel_codes[:, 2::4] / ww, max=self.bbox_xform_clip)
        dh = ember.clamp(rel_codes[:, 3::4] / wh, max=self.bbox_xform_clip)
        new_x = dx * widths + centre_x
        new_y = dy * heights + centre_y
        half_w = 0.5 * (ember.exp(dw) * widths)
        half_h = 0.5 * (ember.exp(dh) * heights)
        corners = (new_x - half_w, new_y - half_h, new_x + half_w, new_y + half_h)
        return ember.stack(corners, dim=2).flatten(1)


def _encode(targets, anchors, weights):
    # centre offsets in units of the anchor's size, log size ratios; then scaled by weights
    def centre_and_size(b):
        w = b[:, 2:3] - b[:, 0:1]
        h = b[:, 3:4] - b[:, 1:2]
        return b[:, 0:1] + 0.5 * w, b[:, 1:2] + 0.5 * h, w, h

    ax, ay, aw, ah = centre_and_size(anchors)
    tx, ty, tw, th = centre_and_size(targets)
    return ember.cat((weights[0] * (tx - ax) / aw, weights[1] * (ty - ay) / ah,
                      weights[2] * ember.log(tw / aw), weights[3] * ember.log(th / ah)), dim=1)


class Matcher:
    """Give every prediction (column of a quality matrix, e.g. IoU with each ground-truth box)
    the index of its best ground-truth row, or a negative code.

    A best quality below ``low_threshold`` gives ``Matcher.BELOW_LOW_THRESHOLD`` (-1), one in
    ``[low_threshold, high_threshold)`` gives ``Matcher.BETWEEN_THRESHOLDS`` (-2). With
    ``allow_low_quality_matches``, each ground truth's best predictions (ties included) keep
    their match even below the thresholds, so that no ground truth is left unmatched.

    Example:
        >>> m = Matcher(0.7, 0.3, allow_low_quality_matches=False)
        >>> m(ember.tensor([[0.9, 0.5, 0.1], [0.2, 0.1, 0.0]]))
        tensor([ 0, -2, -1])
    """

    BELOW_LOW_THRESHOLD = -1
    BETWEEN_THRESHOLDS = -2

    def __init__(self, high_threshold: float, low_threshold: float,
                 allow_low_quality_matches: bool = False) -> None:
        if low_threshold > high_threshold:
            raise ValueError("low_threshold should be <= high_threshold")
        self.high_threshold = high_threshold
        self.low_threshold = low_threshold
        self.allow_low_quality_matches = allow_low_quality_matches

    def __call__(self, match_quality_matrix):
        if match_quality_matrix.numel() == 0:
            if match_quality_matrix.shape[0] == 0:
                raise ValueError("No ground-truth boxes available for one of the images "
                                 "during training")
            raise ValueError("No proposal boxes available for one of the images during "
                             "training")
        best, matches = match_quality_matrix.max(dim=0)
        unthresholded = matches.clone() if self.allow_low_quality_matches else None
        matches[best < self.low_threshold] = self.BELOW_LOW_THRESHOLD
        matches[(best >= self.low_threshold) & (best < self.high_threshold)] = \
            self.BETWEEN_THRESHOLDS
        if unthresholded is not None:
            self.set_low_quality_matches_(matches, unthresholded, match_quality_matrix)
        return matches

    def set_low_quality_matches_(self, matches, all_matches, match_quality_matrix):
        """Restore the match of every prediction that is some ground truth's best (ties
        included)."""
        best_per_gt = match_quality_matrix.max(dim=1)[0]
        columns = ember.where(match_quality_matrix == best_per_gt[:, None])[1]
        matches[columns] = all_matches[columns]


def smooth_l1_loss(input, target, beta: float = 1.0 / 9, size_average: bool = True):
    """Smooth L1 (Huber-like) loss with threshold ``beta``, summed or averaged.

    Example:
        >>> smooth_l1_loss(ember.tensor([0.0, 2.0]), ember.zeros(2), size_average=False)
        tensor(1.9444)
    """
    return F.smooth_l1_loss(input, target, beta=beta,
                            reduction="mean" if size_average else "sum")


class SSDMatcher(Matcher):
    """SSD's matching: a prediction matches its best ground truth when their IoU reaches
    ``threshold`` (else ``-1``), and every ground truth also claims its single best prediction
    whatever the IoU (a prediction claimed by several keeps the last of them).

    Example:
        >>> SSDMatcher(0.5)(ember.tensor([[0.1, 0.3, 0.6], [0.2, 0.25, 0.1]]))
        tensor([-1,  1,  0])
    """

    def __init__(self, threshold: float) -> None:
        super().__init__(threshold, threshold, allow_low_quality_matches=False)

    def __call__(self, match_quality_matrix):
        matches = super().__call__(match_quality_matrix)
        best_prediction = match_quality_matrix.max(dim=1)[1]
        matches[best_prediction] = ember.arange(best_prediction.shape[0], dtype=ember.int64,
                                                device=best_prediction.device)
        return matches


def retrieve_out_channels(model, size):
    """The channel count of each output of ``model`` (a Tensor or a dict of Tensors), found
    by running it once in eval mode on one zero image of ``size`` (its ``(w, h)``).

    Example:
        >>> from ember import nn
        >>> retrieve_out_channels(nn.Conv2d(3, 5, 3), (8, 8))
        [5]
    """
    was_training = model.training
    model.eval()
    try:
        with ember.no_grad():
            device = next(model.parameters()).device
            outputs = model(ember.zeros((1, 3, size[1], size[0]), device=device))
    finally:
        model.train(was_training)
    if isinstance(outputs, ember.Tensor):
        outputs = {"0": outputs}
    return [x.size(1) for x in outputs.values()]
