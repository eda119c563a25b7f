"""Samplers: which indices a DataLoader visits, in what order, mirroring ``torch.utils.data``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Generic

import numpy as np

from .dataset import T_co

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler"]

# Random samplers with replacement draw this many indices at a time (as torch's RandomSampler
# does), so iterating costs O(1) memory however large num_samples is.
_CHUNK = 32
_EAGER_DRAWS = 2**22  # WeightedRandomSampler: up to here one draw, as torch


def _draw_seed(generator=None) -> int:
    """A 63-bit seed drawn from ``generator`` (ember's default generator when None), as
    PyTorch's ``torch.empty((), dtype=torch.int64).random_(generator=generator)``."""
    from ... import _random

    return int(_random._gen(generator).integers(0, 2**63))


def _fresh_generator(generator):
    """The generator to draw from: the given one, or a new one seeded from the default."""
    from ... import _random

    if generator is not None:
        return generator
    return _random.Generator().manual_seed(_draw_seed())


class Sampler(Generic[T_co]):
    """Base class: subclasses define ``__iter__`` over indices (and usually ``__len__``).

    Example:
        >>> class Evens(Sampler):
        ...     def __init__(self, n): self.n = n
        ...     def __iter__(self): return iter(range(0, self.n, 2))
    """

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order.

    Example:
        >>> list(SequentialSampler(range(3)))
        [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Indices in random order: a permutation, or ``num_samples`` draws with replacement.

    Without a ``generator`` each pass draws its seed from ember's default generator, so
    ``ember.manual_seed`` makes the order reproducible.

    Example:
        >>> sorted(RandomSampler(range(4))) == [0, 1, 2, 3]
        True
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        from ... import _random

        n = len(self.data_source)
        g = _random._gen(_fresh_generator(self.generator))
        if self.replacement:
            # lazily, _CHUNK draws at a time as torch does: O(1) memory for any num_samples
            if n <= 0:
                raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                                   f"from=0 >= to={n}")
            for _ in range(self.num_samples // _CHUNK):
                yield from g.integers(0, n, size=_CHUNK).tolist()
            yield from g.integers(0, n, size=self.num_samples % _CHUNK).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from g.permutation(n).tolist()
            yield from g.permutation(n).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in random order (no replacement).

    Example:
        >>> sorted(SubsetRandomSampler([5, 7, 9]))
        [5, 7, 9]
    """

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        from ... import _random

        for i in _random._gen(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """Indices ``0 .. len(weights)-1`` drawn with probabilities proportional to ``weights``.

    Example:
        >>> list(WeightedRandomSampler([0.0, 1.0], 3))
        [1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        from ... import _creation

        w = np.asarray(weights._data if hasattr(weights, "_data") else weights, np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        self.weights = _creation.as_tensor(w)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        from ... import _random

        if self.weights.numel() == 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement:  # at most len(weights) draws: one multinomial call
            drawn = _random.multinomial(self.weights, self.num_samples, False,
                                        generator=self.generator)
            yield from iter(drawn.tolist())
            return
        # With replacement, inverse-CDF sampling as multinomial does. Up to _EAGER_DRAWS samples,
        # all are drawn at the first next(), as torch's one multinomial call does, so an
        # iterator left half-consumed (next(iter(loader))) leaves the generator where torch
        # leaves it. Beyond that (where torch's up-front draw needs gigabytes) they are drawn
        # lazily, _CHUNK at a time: the same values, O(1) memory.
        w = self.weights._data
        if not np.all(w >= 0):  # NaN fails this check too, as in torch
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry < 0)")
        if not np.all(np.isfinite(w)):
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry = infinity or NaN)")
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        cdf = np.cumsum(w)
        cdf /= cdf[-1]
        g = _random._gen(self.generator)
        last = len(w) - 1
        chunk = self.num_samples if self.num_samples <= _EAGER_DRAWS else _CHUNK
        for start in range(0, self.num_samples, chunk):
            size = min(chunk, self.num_samples - start)
            # multinomial's search: the first category whose cumulative weight reaches u
            picked = np.minimum(cdf.searchsorted(g.doubles(size), side="left"), last)
            yield from picked.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        sampler_iter = iter(self.sampler)
        if self.drop_last:
            for batch in zip(*[sampler_iter] * self.batch_size):
                yield [*batch]
        else:
            batch = [*itertools.islice(sampler_iter, self.batch_size)]
            while batch:
                yield batch
                batch = [*itertools.islice(sampler_iter, self.batch_size)]

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class DistributedSampler(Sampler[T_co]):
    """The share of the dataset seen by one of ``num_replicas`` processes (``rank``); both
    default to the process group's (``ember.distributed``).

    Shuffles from ``seed + epoch`` (call ``set_epoch`` every epoch); pads by repeating indices
    so every rank gets the same count, or trims with ``drop_last``.

    Example:
        >>> list(DistributedSampler(range(5), num_replicas=2, rank=0, shuffle=False))
        [0, 2, 4]
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if self.drop_last and len(self.dataset) % self.num_replicas != 0:
            self.num_samples = math.ceil((len(self.dataset) - self.num_replicas)
                                         / self.num_replicas)
        else:
            self.num_samples = math.ceil(len(self.dataset) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            from ... import _random

            g = _random.Generator().manual_seed(self.seed + self.epoch)
            indices = _random.randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank: self.total_size: self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that seeds the shuffle, so each epoch has its own order."""
        self.epoch = epoch
