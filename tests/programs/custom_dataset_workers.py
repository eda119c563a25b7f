"""Custom Dataset, collate_fn padding, worker processes, samplers (data loading tutorial)."""
import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset,
                              SequentialSampler, Subset, get_worker_info)


class SentenceDataset(Dataset):
    """Variable-length token sequences with a label, built from a fixed formula."""

    def __init__(self, n):
        self.items = [(list(range(1 + i % 5, 1 + i % 5 + 2 + i % 4)), i % 3) for i in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        tokens, label = self.items[idx]
        return torch.tensor(tokens, dtype=torch.long), label


def collate_batch(batch):
    seqs, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in seqs])
    padded = pad_sequence(seqs, batch_first=True, padding_value=0)
    return padded, lengths, torch.tensor(labels)


def seed_worker(worker_id):
    np.random.seed(1234 + worker_id)


ds = SentenceDataset(10)
print(len(ds), ds[3])
loader = DataLoader(ds, batch_size=4, shuffle=False, collate_fn=collate_batch, num_workers=2,
                    worker_init_fn=seed_worker, persistent_workers=False)
print(len(loader))
for padded, lengths, labels in loader:
    print(padded.shape, lengths.tolist(), labels.tolist())
    print(padded)

loader = DataLoader(ds, batch_size=3, drop_last=True, collate_fn=collate_batch)
print(len(loader), [b[0].shape[0] for b in loader])

# the default collate: tuples of tensors and numbers, dicts, numpy arrays
class DictDataset(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full((2,), i, dtype=np.float32), "y": i * 1.5, "name": f"item{i}"}


for batch in DataLoader(DictDataset(), batch_size=2, num_workers=1):
    print(batch["x"], batch["x"].dtype, batch["y"], batch["name"])

batches = list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False))
print(batches)
loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, False),
                    collate_fn=collate_batch)
print([b[2].tolist() for b in loader])

sub = Subset(ds, [0, 2, 4])
print(len(sub), [sub[i][1] for i in range(len(sub))])


class Stream(IterableDataset):
    """Each worker yields its own share of a range (the get_worker_info recipe)."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            lo, hi = self.start, self.end
        else:
            per = int(np.ceil((self.end - self.start) / info.num_workers))
            lo = self.start + info.id * per
            hi = min(lo + per, self.end)
        return iter(range(lo, hi))


print(sorted(int(v) for v in DataLoader(Stream(3, 10), num_workers=2)))
print(list(DataLoader(Stream(3, 7), num_workers=0, batch_size=2)))

# pin_memory is harmless on the CPU; tensors keep dtype through the default collate
loader = DataLoader([(torch.tensor([i, i + 1]), torch.tensor(i % 2 == 0)) for i in range(4)],
                    batch_size=2, pin_memory=False)
for x, y in loader:
    print(x, y, x.dtype, y.dtype)
