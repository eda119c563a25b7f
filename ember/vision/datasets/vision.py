"""The base class of the vision datasets and the transform pair it applies to each sample."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ...utils.data import Dataset


def _labelled(label: str, obj: Any) -> list[str]:
    """``repr(obj)`` behind ``label``, continuation lines aligned under its first character."""
    first, *rest = repr(obj).splitlines() or [""]
    pad = " " * len(label)
    return [label + first] + [pad + line for line in rest]


class StandardTransform:
    """Applies ``transform`` to the input and ``target_transform`` to the target of a sample.

    Either may be ``None`` (that half passes through unchanged). ``VisionDataset`` builds one
    from its ``transform``/``target_transform`` arguments.

    Example:
        >>> pair = StandardTransform(transform=abs, target_transform=str)
        >>> pair(-3, 7)
        (3, '7')
    """

    def __init__(self, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input: Any, target: Any) -> tuple[Any, Any]:
        fx, fy = self.transform, self.target_transform
        return (input if fx is None else fx(input)), (target if fy is None else fy(target))

    def _format_transform_repr(self, transform: Callable, head: str) -> list[str]:
        return _labelled(head, transform)

    def __repr__(self) -> str:
        lines = [type(self).__name__]
        if self.transform is not None:
            lines += self._format_transform_repr(self.transform, "Transform: ")
        if self.target_transform is not None:
            lines += self._format_transform_repr(self.target_transform, "Target transform: ")
        return "\n".join(lines)


class VisionDataset(Dataset):
    """Base class of ember's vision datasets: a root folder plus the transforms to apply.

    Pass either ``transforms`` (a callable on ``(image, target)``) or ``transform`` and/or
    ``target_transform`` (callables on one half each, wrapped in a ``StandardTransform``),
    not both. A string ``root`` has ``~`` expanded. Subclasses implement ``__getitem__`` and
    ``__len__`` and may add lines to the printed summary through ``extra_repr``.

    Example:
        >>> class Digits(VisionDataset):
        ...     def __getitem__(self, i):
        ...         return i, i % 2
        ...     def __len__(self):
        ...         return 10
        >>> print(Digits("data"))
        Dataset Digits
            Number of datapoints: 10
            Root location: data
    """

    _repr_indent = 4

    def __init__(self, root: str | os.PathLike | None = None,
                 transforms: Callable | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        # only strings are expanded; a pathlib.Path is kept as the caller gave it
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        separate = transform is not None or target_transform is not None
        if transforms is not None and separate:
            raise ValueError("Only transforms or transform/target_transform can be passed as "
                             "argument")
        self.transform = transform
        self.target_transform = target_transform
        self.transforms = StandardTransform(transform, target_transform) if separate \
            else transforms

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if getattr(self, "transforms", None) is not None:
            body.append(repr(self.transforms))
        pad = " " * self._repr_indent
        return "\n".join([f"Dataset {type(self).__name__}"] + [pad + line for line in body])

    def extra_repr(self) -> str:
        """Dataset-specific lines for ``repr`` (the split, for example); empty by default."""
        return ""


class _ImageFilesWithLabels(VisionDataset):
    """A dataset of image files with one class label each: subclasses fill ``_image_files``,
    ``_labels`` and ``loader`` (DTD, Food101, Flowers102 read the same way)."""

    def __len__(self) -> int:
        return len(self._image_files)

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        image, label = self.loader(self._image_files[idx]), self._labels[idx]
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label
