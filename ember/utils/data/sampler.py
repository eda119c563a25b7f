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


def _process_group_query(name: str) -> int:
    """World size or rank of the default process group, for DistributedSampler's defaults."""
    from ... import distributed

    if not distributed.is_available():
        raise RuntimeError("Requires distributed package to be available")
    return getattr(distributed, name)()


class Sampler(Generic[T_co]):
    """Base class: subclasses define ``__iter__`` over indices (and usually ``__len__``).

    Example:
        >>> class Evens(Sampler):
        ...     def __init__(self, n): self.n = n
        ...     def __iter__(self): return iter(range(0, self.n, 2))
    """

    # no __init__ (PyTorch 2.13 dropped the deprecated ``data_source`` argument):
    # ``Sampler(ds)`` and ``super().__init__(ds)`` raise TypeError there too

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """Every index of ``data_source`` once, in increasing order.

    Example:
        >>> list(SequentialSampler("abc"))
        [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __len__(self) -> int:
        return len(self.data_source)

    def __iter__(self) -> Iterator[int]:
        # The length is read when iteration starts, so a dataset that grows is followed.
        return iter(range(len(self)))


class RandomSampler(Sampler[int]):
    """Indices of ``data_source`` in random order.

    Without replacement the output is whole permutations of ``range(len(data_source))`` (the
    last one cut short when ``num_samples`` is not a multiple of the length); with replacement
    every index is an independent uniform draw. The draws come from ``generator``, or from a
    private generator seeded from ember's default generator when iteration starts, so seeding
    with ``ember.manual_seed`` gives PyTorch's order.

    Example:
        >>> _ = ember.manual_seed(0)
        >>> sorted(RandomSampler(range(4)))
        [0, 1, 2, 3]
        >>> len(RandomSampler(range(4), replacement=True, num_samples=10))
        10
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator=None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        count = self.num_samples
        if not isinstance(count, int) or count <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={count}")

    @property
    def num_samples(self) -> int:
        """How many indices one pass yields (the dataset's length unless given)."""
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self) -> Iterator[int]:
        from ... import _random

        size = len(self.data_source)
        stream = _random._gen(_fresh_generator(self.generator))
        wanted = self.num_samples
        if self.replacement:
            if size == 0:
                raise RuntimeError("random_ expects 'from' to be less than 'to', but got "
                                   "from=0 >= to=0")
            # Drawn _CHUNK at a time: memory stays flat for any num_samples, and the stream
            # is consumed exactly as PyTorch's chunked randint calls consume it.
            while wanted > 0:
                step = min(wanted, _CHUNK)
                yield from stream.integers(0, size, step).tolist()
                wanted -= step
            return
        whole, tail = divmod(wanted, size)
        for _ in range(whole):
            yield from stream.permutation(size).tolist()
        # PyTorch draws this last permutation even when no index of it is needed (tail == 0);
        # doing the same keeps the generator's later draws identical.
        yield from stream.permutation(size).tolist()[:tail]

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

    The last, shorter list is kept unless ``drop_last``. Indices are pulled from ``sampler``
    one batch at a time, so an endless or huge sampler costs one batch of memory.

    Example:
        >>> list(BatchSampler(range(5), 2, drop_last=False))
        [[0, 1], [2, 3], [4]]
        >>> list(BatchSampler(range(5), 2, drop_last=True))
        [[0, 1], [2, 3]]
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        positive_int = (isinstance(batch_size, int) and not isinstance(batch_size, bool)
                        and batch_size > 0)
        if not positive_int:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        size = self.batch_size
        batch = list(itertools.islice(indices, size))
        while len(batch) == size:
            yield batch
            batch = list(itertools.islice(indices, size))
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        full, partial = divmod(len(self.sampler), self.batch_size)
        return full if self.drop_last or not partial else full + 1


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
        if num_replicas is None:
            num_replicas = _process_group_query("get_world_size")
        if rank is None:
            rank = _process_group_query("get_rank")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        length = len(dataset)
        # Every rank must see the same count: round down (drop the surplus) with drop_last,
        # up (repeat indices to pad) without.
        self.num_samples = length // num_replicas if drop_last else -(-length // num_replicas)
        self.total_size = self.num_samples * num_replicas
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
