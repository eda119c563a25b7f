"""A tour of torch.utils.data (the "Datasets & DataLoaders" tutorial and its API reference):
map-style datasets, composition (ConcatDataset, Subset, StackDataset, ChainDataset, ``+``),
default_collate/default_convert on nested structures, collate_fn returning dicts and
namedtuples, every sampler, random_split with fractions, drop_last and the errors users hit.
Random draws differ between libraries, so only sizes, sums and set properties are printed."""
from collections import OrderedDict, defaultdict, namedtuple

import numpy as np
import torch
from torch.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset,
                              IterableDataset, RandomSampler, SequentialSampler, StackDataset,
                              Subset, SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                              default_collate, default_convert, random_split)
from torch.utils.data._utils.collate import collate, default_collate_fn_map
from torch.utils.data.distributed import DistributedSampler

rng = np.random.default_rng(0)
features = rng.normal(size=(10, 3)).astype(np.float32)
labels = (np.arange(10) % 3).astype(np.int64)


class PointDataset(Dataset[dict]):
    """A map-style dataset returning nested samples: a dict with a tuple and a string."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return {"x": torch.from_numpy(self.x[idx]),
                "meta": (int(self.y[idx]), float(idx) / 2),
                "name": f"p{idx}"}


ds = PointDataset(features, labels)
print(len(ds), sorted(ds[4]), ds[4]["meta"], ds[4]["x"].dtype)

# default_collate keeps the nesting: dict of (tensor, tuple-of-tensors, list-of-str)
batch = default_collate([ds[i] for i in range(3)])
print(type(batch).__name__, batch["x"].shape, batch["x"].dtype)
print(type(batch["meta"]).__name__, [m.dtype for m in batch["meta"]], batch["meta"][0].tolist(),
      batch["meta"][1].tolist())
print(batch["name"])

# numbers, numpy scalars/arrays, bools, namedtuples and lists through default_collate
Pair = namedtuple("Pair", ["left", "right"])
mixed = [(1, 2.5, np.float64(0.5), np.array([1, 2], dtype=np.int32), True, Pair(i, [i, -i]))
         for i in range(3)]
out = default_collate(mixed)
print([type(o).__name__ for o in out])
print([o.dtype for o in out[:5]], out[3].tolist(), out[4].tolist())
print(type(out[5]).__name__, out[5].left.tolist(), [t.tolist() for t in out[5].right])
print(default_collate([[1, 2], [3, 4], [5, 6]]))
print(default_collate([torch.tensor(1.5), torch.tensor(2.5)]))
od = default_collate([OrderedDict(b=i, a=float(i)) for i in range(2)])
print(type(od).__name__, list(od), od["a"].dtype)
dd = default_collate([defaultdict(list, k=torch.ones(2) * i) for i in range(2)])
print(type(dd).__name__, dd["k"].tolist())
print(default_collate([np.array(3.5), np.array(4.5)]), default_collate([b"ab", b"cd"]))
for bad in ([None, None], [np.array(["x"]), np.array(["y"])]):
    try:
        default_collate(bad)
    except TypeError as e:
        print("TypeError", str(e)[:70])

# teaching collate a new type: extend default_collate_fn_map (the torch.utils.data docs' recipe)
class Box:
    def __init__(self, w, h):
        self.w, self.h = w, h


def collate_boxes(batch, *, collate_fn_map=None):
    return torch.tensor([[b.w, b.h] for b in batch], dtype=torch.float32)


box_map = {**default_collate_fn_map, Box: collate_boxes}
boxes = collate([{"box": Box(i, i + 1), "id": i} for i in range(3)], collate_fn_map=box_map)
print(boxes["box"], boxes["id"])
try:
    default_collate([Box(1, 2)])
except TypeError as e:
    print("TypeError", str(e)[:50])

# default_convert: numpy to tensors without batching (what batch_size=None uses)
conv = default_convert({"a": np.arange(3), "b": [np.float32(1.5), "s"], "c": (np.ones(2),)})
print(conv["a"], conv["b"], conv["c"][0].dtype)
print(default_convert(np.array(["a", "b"])).tolist())

try:
    default_collate([torch.zeros(2), torch.zeros(3)])
except RuntimeError as e:
    print("RuntimeError", str(e).split("\n")[0][:40])
try:
    default_collate([object(), object()])
except TypeError as e:
    print("TypeError", str(e)[:35])
try:
    default_collate([[1, 2], [3]])
except RuntimeError as e:
    print("RuntimeError", str(e)[:52])  # ember adds which samples differ


# collate_fn returning a dict and a namedtuple
def collate_dict(samples):
    return {"x": torch.stack([s["x"] for s in samples]),
            "y": torch.tensor([s["meta"][0] for s in samples])}


Batch = namedtuple("Batch", "x y")


def collate_named(samples):
    x, y = zip(*samples)
    return Batch(torch.stack(x), torch.stack(y))


loader = DataLoader(ds, batch_size=4, collate_fn=collate_dict)
print(len(loader), [(b["x"].shape[0], b["y"].sum().item()) for b in loader])
tds = TensorDataset(torch.from_numpy(features), torch.from_numpy(labels))
print(len(tds), tds[2][1], [t.shape for t in tds.tensors])
for b in DataLoader(tds, batch_size=6, collate_fn=collate_named):
    print(type(b).__name__, b.x.shape, b.y.tolist(), f"{b.x.sum().item():.4f}")
# default collation of a TensorDataset: a list of two batched tensors
first = next(iter(DataLoader(tds, batch_size=4)))
print(type(first).__name__, [t.shape for t in first])

# drop_last and the length of a loader
for bs, drop in [(3, False), (3, True), (5, True), (20, False), (20, True)]:
    dl = DataLoader(tds, batch_size=bs, drop_last=drop)
    print(bs, drop, len(dl), [len(b[1]) for b in dl])

# composition
cat = ConcatDataset([tds, Subset(tds, [0, 1, 2]), tds])
print(len(cat), cat.cumulative_sizes, cat[11][1].item(), cat[-1][1].item(), cat[10][1].item())
plus = tds + Subset(tds, [9])
print(type(plus).__name__, len(plus), plus[10][1].item())
sub = Subset(Subset(tds, [9, 8, 7, 6]), [3, 0])
print(len(sub), [sub[i][1].item() for i in range(len(sub))], list(sub.indices))
sub_batch = sub.__getitems__([0, 1]) if hasattr(sub, "__getitems__") else None
print(type(sub_batch).__name__, len(sub_batch))
stack = StackDataset(tds, torch.arange(10) * 10)
print(len(stack), stack[3][1].item(), stack[3][0][1].item())
named = StackDataset(feat=torch.from_numpy(features), label=torch.from_numpy(labels))
print(sorted(named[5]), named[5]["label"].item())
print(next(iter(DataLoader(named, batch_size=4)))["label"].tolist())
try:
    ConcatDataset([])
except AssertionError as e:
    print("AssertionError", e)
try:
    StackDataset(tds, torch.arange(3))
except ValueError as e:
    print("ValueError", e)
try:
    tds[10]
except IndexError as e:
    print("IndexError", e)


class Count(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


chain = ChainDataset([Count(3), Count(2)])
print(list(chain), list(Count(2) + Count(3)))
print([b.tolist() for b in DataLoader(chain, batch_size=2)])
try:
    ConcatDataset([Count(3)])
except AssertionError as e:
    print("AssertionError", e)

# samplers
print(list(SequentialSampler(range(5))), len(SequentialSampler(tds)))
print(list(BatchSampler(range(10), batch_size=4, drop_last=False)),
      len(BatchSampler(range(10), 4, True)), len(BatchSampler(range(10), 4, False)))
g = torch.Generator().manual_seed(0)
rs = RandomSampler(tds, generator=g)
order = list(rs)
print(len(rs), sorted(order) == list(range(10)), sum(order))
rs = RandomSampler(tds, replacement=True, num_samples=25, generator=g)
drawn = list(rs)
print(len(rs), len(drawn), all(0 <= i < 10 for i in drawn))
rs = RandomSampler(tds, num_samples=23, generator=g)
drawn = list(rs)
print(len(drawn), sorted(drawn[:10]) == list(range(10)), sorted(drawn[10:20]) == list(range(10)))
srs = SubsetRandomSampler([1, 3, 5, 7], generator=g)
print(len(srs), sorted(srs), sum(srs))
wrs = WeightedRandomSampler([0.0, 1.0, 0.0, 2.0, 0.0], num_samples=12, generator=g)
picks = list(wrs)
print(len(wrs), len(picks), sorted(set(picks)) <= [1, 3], wrs.weights.dtype)
wrs = WeightedRandomSampler(torch.tensor([1.0, 1.0, 1.0, 1.0]), 4, replacement=False,
                            generator=g)
print(sorted(wrs))
for bad in [dict(num_samples=0), dict(num_samples=2.5), dict(replacement=1)]:
    kw = dict(weights=[1.0, 2.0], num_samples=2)
    kw.update(bad)
    try:
        WeightedRandomSampler(**kw)
    except (ValueError, TypeError) as e:
        print(type(e).__name__, e)
try:
    RandomSampler(tds, num_samples=0)
except ValueError as e:
    print("ValueError", e)
try:
    BatchSampler(range(4), batch_size=0, drop_last=False)
except ValueError as e:
    print("ValueError", e)
try:
    BatchSampler(range(4), batch_size=2, drop_last="yes")
except ValueError as e:
    print("ValueError", e)

# samplers inside a DataLoader: class-balanced sampling, a fixed subset, batch_sampler
class_count = np.bincount(labels)
sample_weights = 1.0 / class_count[labels]
sampler = WeightedRandomSampler(torch.from_numpy(sample_weights), num_samples=30,
                                generator=torch.Generator().manual_seed(1))
loader = DataLoader(tds, batch_size=8, sampler=sampler)
seen = torch.cat([y for _, y in loader])
print(len(loader), seen.shape, bool(((seen >= 0) & (seen < 3)).all()))
loader = DataLoader(tds, batch_size=2, sampler=SubsetRandomSampler(range(4), generator=g))
print(sorted(torch.cat([y for _, y in loader]).tolist()))
loader = DataLoader(tds, batch_sampler=BatchSampler(SequentialSampler(tds), 4, drop_last=True))
print(len(loader), [y.tolist() for _, y in loader])
for bad in [dict(batch_sampler=BatchSampler(range(10), 2, False), batch_size=2),
            dict(shuffle=True, sampler=SequentialSampler(tds)),
            dict(batch_size=None, drop_last=True),
            dict(batch_sampler=BatchSampler(range(10), 2, False), shuffle=True)]:
    try:
        DataLoader(tds, **bad)
    except ValueError as e:
        print("ValueError", e)
loader = DataLoader(tds, batch_size=None)
print(len(loader), next(iter(loader))[0].shape)

# random_split: absolute lengths, fractions (remainder distributed round-robin), errors
for lengths in ([7, 3], [0.5, 0.5], [0.7, 0.2, 0.1], [0.33, 0.33, 0.34], [0.25, 0.25, 0.5]):
    parts = random_split(range(10), lengths, generator=torch.Generator().manual_seed(0))
    print(lengths, [len(p) for p in parts], sorted(i for p in parts for i in p) == list(range(10)))
parts = random_split(range(11), [0.5, 0.5], generator=torch.Generator().manual_seed(0))
print([len(p) for p in parts], type(parts[0]).__name__)
for bad in ([5, 4], [0.5, 0.6], [-0.5, 1.5]):
    try:
        random_split(range(10), bad)
    except ValueError as e:
        print("ValueError", str(e).split("!")[0])  # ember adds the sums

# DistributedSampler partitioning, without a process group
for rank in range(3):
    ds_sampler = DistributedSampler(tds, num_replicas=3, rank=rank, shuffle=False)
    print(rank, len(ds_sampler), list(ds_sampler))
ds_sampler = DistributedSampler(tds, num_replicas=3, rank=0, shuffle=False, drop_last=True)
print(len(ds_sampler), list(ds_sampler), ds_sampler.total_size)
parts = []
for rank in range(4):
    s = DistributedSampler(tds, num_replicas=4, rank=rank, shuffle=True, seed=5)
    s.set_epoch(2)
    parts.append(list(s))
print([len(p) for p in parts], sorted(set(sum(parts, []))) == list(range(10)))
try:
    DistributedSampler(tds, num_replicas=2, rank=2)
except ValueError as e:
    print("ValueError", e)
