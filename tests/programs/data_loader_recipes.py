"""DataLoader recipes from the "Reproducibility" notes and the torch.utils.data reference, run
with real seeded randomness: the ``seed_worker`` idiom (``torch.initial_seed() % 2**32`` into
NumPy and ``random``) with ``generator=``, workers augmenting with NumPy, persistent workers
across epochs, a length-bucketing batch sampler with a padding collate_fn, random_split by
fractions, weighted sampling for class balance, IterableDataset sharding by worker id, and the
batched ``__getitems__`` fetch. Every shuffle and draw is printed, so the streams must match."""
import random
from collections import Counter, namedtuple

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset,
                              IterableDataset, RandomSampler, Sampler, SequentialSampler,
                              StackDataset, Subset, TensorDataset, WeightedRandomSampler,
                              default_collate, get_worker_info, random_split)
from torch.utils.data.distributed import DistributedSampler

Sample = namedtuple("Sample", ["tokens", "label", "name"])


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


class NoisyPoints(Dataset):
    """Points jittered with NumPy's global RNG: each worker needs its own seed."""

    def __init__(self, n):
        self.base = torch.arange(n, dtype=torch.float32)

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        jitter = float(np.random.uniform(-0.5, 0.5))
        flip = random.random() < 0.5
        return {"x": self.base[i] + jitter, "flip": flip, "noise": torch.rand(2)}


def r4(t):
    return np.round(t.double().numpy(), 4).tolist()


def show(batch):
    return {k: (r4(v) if v.is_floating_point() else v.tolist()) for k, v in batch.items()}


if __name__ == "__main__":
    torch.manual_seed(0)
    g = torch.Generator()
    g.manual_seed(0)
    loader = DataLoader(NoisyPoints(8), batch_size=4, shuffle=True, num_workers=2,
                        worker_init_fn=seed_worker, generator=g)
    for epoch in range(2):
        for batch in loader:
            print("epoch", epoch, show(batch))

    # persistent workers keep their RNG state between epochs; prefetch_factor=1
    g.manual_seed(1)
    loader = DataLoader(NoisyPoints(6), batch_size=3, num_workers=2, persistent_workers=True,
                        prefetch_factor=1, worker_init_fn=seed_worker, generator=g)
    for epoch in range(2):
        print("persistent", epoch, [show(b)["x"] for b in loader])
    print("main stream after workers:", r4(torch.rand(2)))

    # no workers: the same dataset draws from the main process's streams
    np.random.seed(3)
    random.seed(3)
    for batch in DataLoader(NoisyPoints(4), batch_size=2):
        print("in process", show(batch))

    # random_split by fractions, with its own generator
    parts = random_split(range(10), [0.6, 0.2, 0.2], generator=torch.Generator().manual_seed(42))
    print("split", [list(p) for p in parts], [len(p) for p in parts])
    parts = random_split(TensorDataset(torch.arange(7) * 10), [0.5, 0.5],
                         generator=torch.Generator().manual_seed(7))
    print("uneven split", [[int(x[0]) for x in p] for p in parts], parts[0].indices)

    # class balance: inverse-frequency weights
    labels = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 2, 0])
    counts = torch.bincount(labels)
    weights = 1.0 / counts[labels].double()
    sampler = WeightedRandomSampler(weights, num_samples=30, replacement=True,
                                    generator=torch.Generator().manual_seed(5))
    drawn = labels[list(sampler)]
    print("weighted draw", sorted(Counter(drawn.tolist()).items()), list(sampler)[:8])
    print("no replacement", list(WeightedRandomSampler([0.1, 5.0, 1.0, 0.2], 3,
                                                       replacement=False)))
    print("random sampler", list(RandomSampler(range(6), num_samples=9)),
          list(RandomSampler(range(5), replacement=True, num_samples=4)))

    # variable-length sequences: bucket by length, pad in collate_fn
    lengths = [5, 2, 7, 3, 2, 6, 4, 1, 3]
    seqs = [Sample(torch.arange(1, n + 1), n % 2, f"s{i}") for i, n in enumerate(lengths)]

    class BucketSampler(Sampler):
        """Shuffle, then sort each window of 2 * batch_size by length (torchtext's idiom)."""

        def __init__(self, lengths, batch_size, generator):
            self.lengths, self.batch_size, self.generator = lengths, batch_size, generator

        def __iter__(self):
            order = torch.randperm(len(self.lengths), generator=self.generator).tolist()
            window = 2 * self.batch_size
            for start in range(0, len(order), window):
                chunk = sorted(order[start:start + window], key=lambda i: self.lengths[i])
                for b in range(0, len(chunk), self.batch_size):
                    yield chunk[b:b + self.batch_size]

        def __len__(self):
            return -(-len(self.lengths) // self.batch_size)

    def pad_collate(batch):
        tokens = pad_sequence([s.tokens for s in batch], batch_first=True, padding_value=0)
        lens = torch.tensor([len(s.tokens) for s in batch])
        return tokens, lens, default_collate([s.label for s in batch]), [s.name for s in batch]

    buckets = BucketSampler(lengths, 2, torch.Generator().manual_seed(11))
    for tokens, lens, label, names in DataLoader(seqs, batch_sampler=buckets,
                                                  collate_fn=pad_collate):
        print(names, lens.tolist(), label.tolist(), tokens.shape, int(tokens.sum()))
    print("default collate", default_collate([seqs[1], seqs[4]]))
    print("batches of a sampler", list(BatchSampler(SequentialSampler(range(7)), 3, False)),
          list(BatchSampler(RandomSampler(range(7), generator=torch.Generator().manual_seed(2)),
                            3, True)))

    # IterableDataset sharded by worker id, and composed streams
    class Stream(IterableDataset):
        def __init__(self, start, end):
            self.start, self.end = start, end

        def __iter__(self):
            info = get_worker_info()
            if info is None:
                return iter(range(self.start, self.end))
            per = -(-(self.end - self.start) // info.num_workers)
            lo = self.start + info.id * per
            return iter(range(lo, min(lo + per, self.end)))

    print("one process", list(DataLoader(Stream(3, 10), batch_size=3)))
    print("two workers", [b.tolist() for b in DataLoader(Stream(3, 10), batch_size=3,
                                                          num_workers=2)])
    print("chain", list(ChainDataset([Stream(0, 2), Stream(5, 7)])))

    # composed map-style datasets, batched fetch through StackDataset.__getitems__
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return i * i

        def __getitems__(self, indices):
            return [i * i + 1000 for i in indices]  # marks which path fetched

    stacked = StackDataset(sq=Squares(), ids=torch.arange(5))
    print("stack item", stacked[3])
    print("stack batches", [{k: v.tolist() for k, v in b.items()}
                            for b in DataLoader(stacked, batch_size=2)])
    both = ConcatDataset([Subset(Squares(), [4, 0]), TensorDataset(torch.tensor([7, 8]))])
    print("concat", len(both), both[1], both[3], both.cumulative_sizes)

    # distributed sharding: each rank a disjoint, epoch-dependent slice
    for epoch in (0, 1):
        shards = []
        for rank in range(3):
            s = DistributedSampler(range(10), num_replicas=3, rank=rank, shuffle=True, seed=3)
            s.set_epoch(epoch)
            shards.append(list(s))
        print("epoch", epoch, shards)
    print("drop_last", [list(DistributedSampler(range(10), 3, r, shuffle=False, drop_last=True))
                        for r in range(3)])
