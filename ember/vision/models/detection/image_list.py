"""``ImageList``: a padded batch of images together with the sizes they had before padding."""

from __future__ import annotations

__all__ = ["ImageList"]


class ImageList:
    """A batch of images padded to one size, and each image's own ``(height, width)``.

    Detection models take images of different sizes; they are zero-padded into one tensor,
    and ``image_sizes`` remembers the valid region of each.

    Args:
        tensors (Tensor[N, C, H, W]): the padded batch.
        image_sizes (List[Tuple[int, int]]): each image's size before padding.

    Example:
        >>> batch = ImageList(ember.zeros(2, 3, 32, 32), [(30, 20), (32, 32)])
        >>> batch.image_sizes[0], tuple(batch.tensors.shape)
        ((30, 20), (2, 3, 32, 32))
    """

    def __init__(self, tensors, image_sizes: list[tuple[int, int]]) -> None:
        self.tensors = tensors
        self.image_sizes = image_sizes

    def to(self, device) -> ImageList:
        """The same batch with its tensor moved to ``device`` (the sizes are plain ints)."""
        return ImageList(self.tensors.to(device), self.image_sizes)
