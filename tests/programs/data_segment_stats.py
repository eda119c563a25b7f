"""Group-by statistics and histograms on tensors, the way tabular and point-cloud pipelines
compute them (pandas-style groupby via unique(return_inverse=True) + scatter_reduce, the
torch_scatter idioms, index_reduce, torch.histogram/histc/histogramdd/bincount with weights),
quantile binning with bucketize/searchsorted(sorter=), run-length encoding with
unique_consecutive, NaN-aware summaries for missing values, running extremes (drawdown),
and gradients through the segment reductions. Tensors and their grad_fns print whole."""
import torch

torch.manual_seed(0)

# a small table: store id, day, sales (NaN = missing)
store = torch.tensor([3, 1, 3, 2, 1, 3, 2, 2, 1, 3])
day = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 3, 4])
sales = torch.tensor([5.0, 2.0, float("nan"), 4.0, 7.0, 1.0, 3.0, float("nan"), 6.0, 8.0])

groups, inverse, counts = torch.unique(store, return_inverse=True, return_counts=True)
print(groups, inverse, counts)
present = ~sales.isnan()
filled = torch.nan_to_num(sales, nan=0.0)
n = len(groups)
for reduce in ("sum", "prod", "mean", "amax", "amin"):
    for include_self in (True, False):
        base = torch.full((n,), 1.0)
        out = base.scatter_reduce(0, inverse[present], sales[present], reduce=reduce,
                                  include_self=include_self)
        print(f"{reduce:5s} include_self={include_self!s:5s}", out)
per_group_count = torch.zeros(n).index_add_(0, inverse, present.float())
print("count", per_group_count, "mean", torch.zeros(n).index_add_(0, inverse, filled) /
      per_group_count)
print("int scatter", torch.zeros(n, dtype=torch.long).scatter_reduce(
    0, inverse, day, "amax", include_self=False), torch.zeros(n, dtype=torch.long).scatter_reduce(
    0, inverse, day + 1, "mean"))

# 2-D scatter along dim 1 and index_reduce over rows
src = torch.arange(1.0, 13.0).reshape(3, 4)
idx = torch.tensor([[0, 1, 0, 2], [2, 2, 1, 0], [1, 0, 0, 0]])
print(torch.zeros(3, 3).scatter_reduce(1, idx, src, "sum"),
      torch.zeros(3, 3).scatter_reduce(1, idx, src, "amax", include_self=False))
rows = torch.tensor([0, 2, 0, 1])
feats = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
for reduce in ("prod", "mean", "amax", "amin"):
    print(reduce, torch.ones(3, 2).index_reduce(0, rows, feats, reduce),
          torch.ones(3, 2).index_reduce(0, rows, feats, reduce, include_self=False))
print(torch.zeros(2, 5).index_copy(1, torch.tensor([4, 0]), torch.ones(2, 2)),
      torch.zeros(2, 3).index_fill(1, torch.tensor([2]), -1.0),
      torch.zeros(2, 3).masked_scatter(torch.tensor([[True, False, True], [False, True, True]]),
                                       torch.arange(1.0, 5.0)))

# histograms
pixels = (torch.rand(200) ** 2) * 4
print(torch.histc(pixels, bins=8, min=0, max=4), torch.histc(torch.tensor([1.0, 1.0]), bins=2))
hist, edges = torch.histogram(pixels, bins=5)
print(hist, edges.round(decimals=4))
hist, edges = torch.histogram(pixels, bins=torch.tensor([0.0, 0.5, 1.0, 2.0, 4.0]),
                              density=True)
print(hist.round(decimals=4), (hist * edges.diff()).sum().round(decimals=4))
print(torch.histogram(pixels[:20], bins=4, range=(0.0, 2.0), weight=torch.arange(20.0)))
points = torch.rand(50, 2)
h2, (ex, ey) = torch.histogramdd(points, bins=[3, 2])
print(h2, ex.round(decimals=4), ey.round(decimals=4))
print(torch.histogramdd(points, bins=[2, 2], range=[0.0, 1.0, 0.0, 1.0], density=True,
                        weight=points[:, 0]).hist.round(decimals=4))
print(torch.bincount(inverse, weights=filled), torch.bincount(day, minlength=7),
      torch.bincount(torch.tensor([1, 1, 4]), weights=torch.tensor([1, 2, 3])),
      torch.bincount(torch.tensor([], dtype=torch.long)))

# quantile binning
cuts = torch.quantile(pixels, torch.tensor([0.25, 0.5, 0.75]))
print(cuts.round(decimals=4), torch.bincount(torch.bucketize(pixels, cuts)),
      torch.bucketize(torch.tensor([[0.0, 1.0], [2.0, 9.0]]), torch.tensor([0.0, 1.0, 2.0]),
                      right=True))
for how in ("linear", "lower", "higher", "midpoint", "nearest"):
    print(how, torch.quantile(torch.tensor([1.0, 2.0, 4.0, 8.0, 16.0]),
                              torch.tensor([0.1, 0.375, 0.5, 0.9]), interpolation=how))
unsorted = torch.tensor([0.7, 0.1, 0.4, 0.9, 0.2])
order = torch.argsort(unsorted)
queries = torch.tensor([0.05, 0.4, 0.95])
print(torch.searchsorted(unsorted, queries, sorter=order),
      torch.searchsorted(unsorted, queries, side="right", sorter=order),
      torch.searchsorted(torch.tensor([[1, 3, 5], [2, 4, 6]]), torch.tensor([[3], [3]])),
      torch.searchsorted(torch.tensor([1, 3, 5]), 3, right=True),
      torch.searchsorted(torch.tensor([1, 3, 5]), torch.tensor([4]), out_int32=True))
cdf = torch.cumsum(torch.tensor([0.1, 0.2, 0.3, 0.4]), 0)
u = torch.rand(12)
print("inverse-cdf draws", torch.searchsorted(cdf, u).tolist())

# run-length encoding and set ops
signal = torch.tensor([1, 1, 0, 0, 0, 1, 2, 2, 1])
values, inv, lengths = torch.unique_consecutive(signal, return_inverse=True, return_counts=True)
print(values, inv, lengths, torch.repeat_interleave(values, lengths))
grid = torch.tensor([[1, 2], [3, 4], [1, 2], [0, 9], [3, 4]])
print(torch.unique(grid, dim=0, return_inverse=True, return_counts=True))
print(torch.unique(grid, dim=1), torch.unique_consecutive(grid[:2].repeat(2, 1), dim=0),
      torch.unique(torch.tensor([2.0, float("nan"), 1.0, float("nan")]), return_counts=True))
print(torch.isin(store, torch.tensor([1, 3])), torch.isin(store, 2, invert=True))

# NaN-aware summaries
table = torch.stack([sales, sales.flip(0) * 2]).reshape(2, 10)
print(torch.nansum(table, 1), torch.nanmean(table, 1), torch.nanmedian(table, 1))
print(torch.nanmedian(table), torch.nanquantile(table, 0.5, dim=1),
      torch.nanquantile(table, torch.tensor([0.25, 0.75]), dim=1, keepdim=True).shape,
      torch.nanquantile(table[0], 0.3, interpolation="lower"),
      table.nansum(), torch.nanmean(torch.tensor([float("nan")])))

# running extremes: drawdown of a price path and a cumulative log-sum
price = torch.tensor([10.0, 12.0, 11.0, 15.0, 9.0, 13.0, 16.0, 14.0])
peak, peak_at = torch.cummax(price, 0)
trough, trough_at = torch.cummin(price, 0)
print(peak, peak_at, trough_at, ((price - peak) / peak).round(decimals=4))
print(torch.cummax(torch.tensor([1, 3, 3, 2, 3]), 0))
print(torch.logcumsumexp(torch.tensor([0.0, 1.0, float("-inf"), 2.0]), 0))

# gradients through segment reductions
x = torch.tensor([1.0, 3.0, 3.0, 2.0, 5.0], requires_grad=True)
seg = torch.tensor([0, 0, 0, 1, 1])
outs = {r: torch.zeros(2).scatter_reduce(0, seg, x, r, include_self=False)
        for r in ("sum", "mean", "amax", "prod")}
for name, out in outs.items():
    (gx,) = torch.autograd.grad(out.sum(), x)
    print(name, out, gx)
w = torch.tensor([[2.0, 3.0], [4.0, 5.0]], requires_grad=True)
base = torch.ones(3, 2, requires_grad=True)
y = base.index_reduce(0, torch.tensor([0, 0]), w, "prod")
y.sum().backward()
print(y, base.grad, w.grad)
a = torch.tensor([[0.0, 0.0], [1.0, 2.0]], requires_grad=True)
d = torch.cdist(a, torch.tensor([[1.0, 1.0], [3.0, 3.0], [0.0, 0.0]]))
d.sum().backward()
print(d, a.grad)
v, i = torch.cummax(x, 0)
v.sum().backward()
print(v, x.grad)
