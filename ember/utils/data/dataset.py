"""Map-style and iterable datasets plus the combinators of ``torch.utils.data``."""

from __future__ import annotations

import math
import warnings
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import Any, Generic, TypeVar

from ... import _random
from ..._errors import with_hint

T_co = TypeVar("T_co", covariant=True)
T_stack = TypeVar("T_stack", tuple, dict)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split"]


class Dataset(Generic[T_co]):
    """Base class of map-style datasets: samples looked up by key with ``dataset[key]``.

    A subclass defines ``__getitem__`` and usually ``__len__`` (samplers and the DataLoader
    need it); it may also define ``__getitems__(indices)`` to fetch a whole batch at once.
    ``a + b`` concatenates two datasets into a ``ConcatDataset``.

    Example:
        >>> class Squares(Dataset):
        ...     def __getitem__(self, i):
        ...         return i * i
        ...     def __len__(self):
        ...         return 4
        >>> Squares()[3], len(Squares() + Squares())
        (9, 8)
    """

    def __getitem__(self, index) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co], Iterable[T_co]):
    """Base class of datasets that produce their samples as a stream through ``__iter__``.

    With several DataLoader workers every worker iterates its own copy, so ``__iter__``
    should split the work itself (``get_worker_info()`` says which worker it runs in).
    ``a + b`` chains two iterable datasets into a ``ChainDataset``.

    Example:
        >>> class Count(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n))
        >>> list(Count(2) + Count(3))
        [0, 1, 0, 1, 2]
    """

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset[tuple]):
    """Tensors of equal first dimension; sample ``i`` is the tuple of their ``i``-th rows.

    Example:
        >>> ds = TensorDataset(ember.arange(3), ember.tensor([10, 20, 30]))
        >>> ds[1]
        (tensor(1), tensor(20))
    """

    def __init__(self, *tensors) -> None:
        if tensors:
            rows = tensors[0].size(0)
            if any(t.size(0) != rows for t in tensors):
                # a real exception, not an ``assert``: the check must survive ``python -O``
                shapes = [tuple(t.shape) for t in tensors]
                raise with_hint(AssertionError("Size mismatch between tensors"),
                                f"all tensors need the same first dimension, got shapes {shapes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0)


class StackDataset(Dataset[T_stack]):
    """Datasets of equal length read side by side: a tuple (positional) or dict (keywords).

    Example:
        >>> s = StackDataset(image=[0.1, 0.2], label=[1, 0])
        >>> s[1]
        {'image': 0.2, 'label': 0}
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or"
                             "``dict``- (via ``kwargs``) like input/output, but both types are "
                             "given.")
        if not (args or kwargs):
            raise ValueError("At least one dataset should be passed")
        self.datasets: tuple | dict = args if args else kwargs
        parts = args if args else tuple(kwargs.values())
        sizes = {len(part) for part in parts}
        if len(sizes) > 1:
            raise ValueError("Size mismatch between datasets")
        self._length = sizes.pop()

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: part[index] for key, part in self.datasets.items()}
        return tuple(part[index] for part in self.datasets)

    @staticmethod
    def _column(part, indices: list) -> list:
        """One member dataset's samples for ``indices``, batched when it can batch."""
        fetch = getattr(part, "__getitems__", None)
        if not callable(fetch):
            return [part[i] for i in indices]
        got = fetch(indices)
        if len(got) != len(indices):
            raise ValueError("Nested dataset's output size mismatch. "
                             f"Expected {len(indices)}, got {len(got)}")
        return got

    def __getitems__(self, indices: list) -> list:
        if isinstance(self.datasets, dict):
            keys = list(self.datasets)
            cols = [self._column(self.datasets[k], indices) for k in keys]
            return [dict(zip(keys, row)) for row in zip(*cols)]
        cols = [self._column(part, indices) for part in self.datasets]
        return [tuple(row) for row in zip(*cols)]

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset[T_co]):
    """Several map-style datasets read as one, in order; negative indices count from the end.

    ``cumulative_sizes[k]`` is the total length of the first ``k + 1`` datasets.

    Example:
        >>> cat = ConcatDataset([[1, 2, 3], [4, 5]])
        >>> len(cat), cat[3], cat[-1], cat.cumulative_sizes
        (5, 4, 5, [3, 5])
    """

    @staticmethod
    def cumsum(sequence):
        """Running totals of the lengths of ``sequence``'s members."""
        return list(accumulate(len(part) for part in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        if any(isinstance(part, IterableDataset) for part in self.datasets):
            raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @property
    def cummulative_sizes(self):
        """The old, misspelled name of ``cumulative_sizes`` (deprecated)."""
        warnings.warn("`cummulative_sizes` attribute is renamed to `cumulative_sizes`",
                      FutureWarning, stacklevel=2)
        return self.cumulative_sizes

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        total = self.cumulative_sizes[-1]
        pos = idx
        if pos < 0:
            if -pos > total:
                raise ValueError("absolute value of index should not exceed dataset length")
            pos = pos + total
        if pos >= total:
            raise IndexError(f"index {idx} is out of range for ConcatDataset of length {total}")
        # the first dataset whose running total passes ``pos`` holds it (empty ones are skipped)
        which = bisect_right(self.cumulative_sizes, pos)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][pos - start]


class ChainDataset(IterableDataset):
    """Iterable datasets streamed one after another; the list is read lazily on each pass.

    Example:
        >>> class Letters(IterableDataset):
        ...     def __init__(self, s):
        ...         self.s = s
        ...     def __iter__(self):
        ...         return iter(self.s)
        >>> list(ChainDataset([Letters("ab"), Letters("c")]))
        ['a', 'b', 'c']
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        super().__init__()
        self.datasets = datasets

    @staticmethod
    def _checked(part):
        if not isinstance(part, IterableDataset):
            raise AssertionError("ChainDataset only supports IterableDataset")
        return part

    def __iter__(self):
        for part in self.datasets:
            yield from self._checked(part)

    def __len__(self) -> int:
        return sum(len(self._checked(part)) for part in self.datasets)


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> sub = Subset([10, 20, 30, 40], [3, 0])
        >>> len(sub), sub[0], sub[1]
        (2, 40, 10)
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):  # a list of positions maps to a list of parent indices
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        parent = [self.indices[i] for i in indices]
        fetch = getattr(self.dataset, "__getitems__", None)
        if callable(fetch):
            return fetch(parent)
        return [self.dataset[i] for i in parent]

    def __len__(self) -> int:
        return len(self.indices)


def _fraction_sizes(lengths: Sequence[float], total: int) -> list[int]:
    """Whole split sizes for fractions of ``total``; the rounding remainder goes one sample
    each to the splits in order, so that the sizes add up to ``total``."""
    sizes = []
    for i, frac in enumerate(lengths):
        if not 0 <= frac <= 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        sizes.append(int(math.floor(total * frac)))
    for k in range(total - sum(sizes)):
        sizes[k % len(sizes)] += 1
    for i, size in enumerate(sizes):
        if size == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty "
                          "dataset.", stacklevel=3)
    return sizes


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator=None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping ``Subset``s of the given lengths.

    ``lengths`` holds either sizes adding up to ``len(dataset)`` or fractions adding up to 1.
    The shuffle is one ``randperm`` draw from ``generator`` (the global one by default), so a
    seed gives the same split as PyTorch.

    Example:
        >>> train, val = random_split(range(10), [0.8, 0.2],
        ...                           generator=ember.Generator().manual_seed(42))
        >>> len(train), len(val)
        (8, 2)
    """
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        lengths = _fraction_sizes(lengths, len(dataset))
        total = sum(lengths)
    if total != len(dataset):
        raise with_hint(
            ValueError("Sum of input lengths does not equal the length of the input dataset!"),
            f"lengths {list(lengths)} sum to {total}, the dataset has {len(dataset)} samples")
    order = _random.randperm(total, generator=generator).tolist()
    return [Subset(dataset, order[end - size:end])
            for end, size in zip(accumulate(lengths), lengths)]
