"""Streaming data with IterableDataset (the torch.utils.data docs' sharding recipes): split the
stream across workers with get_worker_info() inside __iter__ or in worker_init_fn, per-worker
seeds, persistent_workers across epochs, prefetch_factor, batch_size=None, drop_last per
worker, worker errors and the argument checks of DataLoader."""
import math
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info


class RangeStream(IterableDataset):
    """The docs' example 1: each worker takes a contiguous share of [start, end)."""

    def __init__(self, start, end):
        super().__init__()
        assert end > start
        self.start, self.end = start, end

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            lo, hi = self.start, self.end
        else:
            per_worker = int(math.ceil((self.end - self.start) / float(info.num_workers)))
            lo = self.start + info.id * per_worker
            hi = min(lo + per_worker, self.end)
        return iter(range(lo, hi))


ds = RangeStream(3, 12)
print(list(DataLoader(ds, num_workers=0)))
# workers interleave batch by batch: worker 0 gives [3..7], worker 1 gives [8..11]
print([t.tolist() for t in DataLoader(ds, num_workers=2)])
print([t.tolist() for t in DataLoader(ds, num_workers=2, batch_size=3)])
print([t.tolist() for t in DataLoader(ds, num_workers=2, batch_size=3, drop_last=True)])
print([t.tolist() for t in DataLoader(ds, num_workers=2, batch_size=3, prefetch_factor=1)])


class PlainRange(IterableDataset):
    """The docs' example 2: the dataset knows nothing of workers."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        return iter(range(self.start, self.end))


# shard in worker_init_fn by editing the worker's copy of the dataset
def shard_worker(worker_id):
    info = get_worker_info()
    dataset = info.dataset
    overall_start, overall_end = dataset.start, dataset.end
    per_worker = int(math.ceil((overall_end - overall_start) / float(info.num_workers)))
    dataset.start = overall_start + worker_id * per_worker
    dataset.end = min(dataset.start + per_worker, overall_end)


print(sorted(int(t) for t in DataLoader(PlainRange(3, 12), num_workers=2,
                                         worker_init_fn=shard_worker)))
print([t.tolist() for t in DataLoader(PlainRange(3, 12), num_workers=2, batch_size=2,
                                      worker_init_fn=shard_worker)])
# without sharding every worker yields the whole stream: duplicates
print(sorted(int(t) for t in DataLoader(PlainRange(0, 3), num_workers=2)))


class InfoStream(IterableDataset):
    """Reports what each worker knows about itself."""

    def __iter__(self):
        info = get_worker_info()
        seed_ok = info.seed == torch.initial_seed()
        yield {"id": info.id, "num_workers": info.num_workers, "seed_ok": seed_ok,
               "same_dataset": info.dataset is not self, "noise": np.random.random()}


batches = list(DataLoader(InfoStream(), num_workers=2, batch_size=None))
print([(b["id"], b["num_workers"], b["seed_ok"]) for b in batches])
print(type(batches[0]["id"]).__name__, batches[0]["seed_ok"])
# each worker has its own torch seed: base_seed + worker id
seeds = []


class SeedStream(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        yield torch.tensor([info.id, info.seed % 1000003])


gen = torch.Generator().manual_seed(123)
rows = torch.cat(list(DataLoader(SeedStream(), num_workers=2, generator=gen)))
gen = torch.Generator().manual_seed(123)
rows2 = torch.cat(list(DataLoader(SeedStream(), num_workers=2, generator=gen)))
print(rows[:, 0].tolist(), torch.equal(rows, rows2),
      int((rows[1, 1] - rows[0, 1]) % 1000003))


class EpochCounter(IterableDataset):
    """A worker-side counter: persistent workers keep their copy of the dataset alive."""

    def __init__(self):
        self.epochs = 0

    def __iter__(self):
        self.epochs += 1
        info = get_worker_info()
        wid = -1 if info is None else info.id
        for i in range(2):
            yield torch.tensor([wid, self.epochs, i])


for persistent in (False, True):
    loader = DataLoader(EpochCounter(), num_workers=2, persistent_workers=persistent,
                        batch_size=2)
    for epoch in range(3):
        got = torch.cat(list(loader))
        print(persistent, epoch, got[:, 1].tolist(), sorted(set(got[:, 0].tolist())))


class Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return torch.tensor([i, i * i])


# map-style datasets with workers keep the sampler's order; persistent workers reused
loader = DataLoader(Squares(), batch_size=2, num_workers=2, persistent_workers=True,
                    prefetch_factor=3, shuffle=False)
for epoch in range(2):
    print(epoch, [b[:, 1].tolist() for b in loader])
print(len(loader), loader.num_workers, loader.prefetch_factor, loader.persistent_workers)
it = iter(loader)
print(next(it).tolist(), len(it))
del it

# batch_size=None: no batching, but numpy samples are still converted to tensors
class NumpyStream(IterableDataset):
    def __iter__(self):
        for i in range(3):
            yield np.full(2, i, dtype=np.float32), i


for x, y in DataLoader(NumpyStream(), batch_size=None):
    print(type(x).__name__, x.dtype, x.tolist(), type(y).__name__)
print([b[0].shape for b in DataLoader(NumpyStream(), batch_size=2)])


class SizedStream(IterableDataset):
    def __len__(self):
        return 5

    def __iter__(self):
        return iter(range(5))


print(len(DataLoader(SizedStream(), batch_size=2)),
      len(DataLoader(SizedStream(), batch_size=2, drop_last=True)))


class LyingStream(IterableDataset):
    def __len__(self):
        return 2

    def __iter__(self):
        return iter(range(4))


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = [int(t) for t in DataLoader(LyingStream())]
    lying = DataLoader(LyingStream())
    n = len(lying)  # the warning needs len() to have been asked for
    out2 = [int(t) for t in lying]
print(out, n, out2, len(caught), caught[0].category.__name__ if caught else None)
print(str(caught[0].message)[:60] if caught else None)


class Broken(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise ValueError(f"bad sample {i}")
        return i


for workers in (0, 2):
    try:
        list(DataLoader(Broken(), batch_size=1, num_workers=workers))
    except ValueError as e:
        lines = str(e).strip().splitlines()
        print("ValueError", lines[0] if workers == 0 else "worker" in lines[0], lines[-1])

class Forgetful(IterableDataset):  # no __iter__: IterableDataset is an abstract Iterable
    pass


try:
    Forgetful()
except TypeError as e:
    print("TypeError", e)

# argument checks
for kwargs in [dict(num_workers=-1), dict(num_workers=0, prefetch_factor=2),
               dict(num_workers=0, persistent_workers=True), dict(timeout=-1)]:
    try:
        DataLoader(Squares(), **kwargs)
    except ValueError as e:
        print("ValueError", e)
for kwargs in [dict(shuffle=True), dict(sampler=range(3)), dict(batch_sampler=[[0, 1]])]:
    try:
        DataLoader(RangeStream(0, 4), **kwargs)
    except ValueError as e:
        print("ValueError", e)
try:
    len(DataLoader(RangeStream(0, 4)))
except TypeError as e:
    print("TypeError", e)
