"""Tensor puzzles (in the spirit of srush's "Tensor Puzzles" and the PyTorch recipes on
indexing): rebuild library functions from arange, broadcasting and where, then check them
against the built-ins -- tril/triu_indices, combinations, cartesian_prod, block_diag, rot90,
take_along_dim, diff with prepend/append, cummax/cummin, unfold, as_strided and strides.
Tensors are printed whole, so the reprs are compared too."""
import torch


def arange(n):
    return torch.arange(n)


def where(q, a, b):
    return q * a + (~q) * b


def ones(n):
    return where(arange(n) >= 0, 1, 0)


def outer(a, b):
    return a[:, None] * b[None, :]


def triu(n):
    return arange(n)[:, None] <= arange(n)[None, :]


def cumsum(a):
    return (a[None, :] * triu(a.shape[0]).long().T).sum(1)


def diff(a):
    return a[1:] - a[:-1]


def eye(n):
    return where(arange(n)[:, None] == arange(n), 1, 0)


def vstack(a, b):
    return where(arange(2)[:, None] == 0, a, b)


def roll(a):
    i = arange(a.shape[0])
    return a[(i + 1) % a.shape[0]]


def flip(a):
    return a[a.shape[0] - 1 - arange(a.shape[0])]


def compress(g, v, size):
    idx = cumsum(g.long()) - 1
    return (v[:, None] * (g[:, None] & (idx[:, None] == arange(size)))).sum(0)


def pad_to(a, j):
    return a[arange(j) % a.shape[0]] * (arange(j) < a.shape[0])


def sequence_mask(values, length):
    return where(arange(values.shape[1])[None, :] < length[:, None], values, 0)


def bincount(a, j):
    return (a[:, None] == arange(j)).long().sum(0)


def scatter_add(values, link, j):
    return (values[:, None] * (link[:, None] == arange(j))).sum(0)


def flatten(a):
    i = arange(a.numel())
    return a[i // a.shape[1], i % a.shape[1]]


def linspace(i, j, n):
    return i + (j - i) * arange(n) / max(n - 1, 1)


def heaviside(a, b):
    return where(a == 0, b, (a > 0).to(b.dtype))


def repeat(a, d):
    return a[None, :] + torch.zeros(d, 1, dtype=a.dtype)


def bucketize(v, boundaries):
    return (v[:, None] > boundaries[None, :]).long().sum(1)


a = torch.tensor([3, -1, 4, 1, -5, 9, 2, 6])
m = torch.arange(12).reshape(3, 4)
print(ones(4), outer(a[:3], a[3:6]))
print(triu(4))
print(cumsum(a), torch.cumsum(a, 0))
print(diff(a), torch.diff(a), torch.diff(a, n=2))
print(torch.diff(a, prepend=torch.tensor([0]), append=torch.tensor([10, 20])))
print(torch.diff(m, dim=0), torch.diff(m.float(), dim=1, prepend=m[:, :1].float()))
print(eye(3), vstack(a[:4], a[4:]))
print(roll(a), torch.roll(a, -1), flip(a), torch.flip(a, [0]))
g = a > 0
print(compress(g, a, 8), a[g])
print(pad_to(a[:3], 5), pad_to(a, 5))
print(sequence_mask(m, torch.tensor([1, 4, 2])))
idx = torch.tensor([0, 2, 2, 5, 1, 2])
print(bincount(idx, 6), torch.bincount(idx, minlength=6))
print(scatter_add(a[:6], idx, 6), torch.zeros(6, dtype=a.dtype).scatter_add(0, idx, a[:6]))
print(flatten(m), linspace(0, 1, 5), torch.linspace(0, 1, 5))
print(heaviside(a.float(), torch.tensor(0.5)), torch.heaviside(a.float(), torch.tensor(0.5)))
print(repeat(a[:3], 2))
bounds = torch.tensor([-2, 0, 3, 6])
print(bucketize(a, bounds), torch.bucketize(a, bounds), torch.bucketize(a, bounds, right=True))

# index-set builders
print(torch.tril_indices(3, 3), torch.triu_indices(3, 4, offset=1))
print(torch.tril_indices(4, 3, -1), torch.triu_indices(2, 2, dtype=torch.int32))
tri = m[:3, :3][tuple(torch.tril_indices(3, 3))]
print(tri)
print(torch.combinations(torch.tensor([1, 2, 3, 4])))
print(torch.combinations(torch.tensor([1, 2, 3]), r=3), torch.combinations(torch.tensor([5, 6]),
                                                                           with_replacement=True))
print(torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([3, 4, 5])))
print(torch.block_diag(torch.ones(2, 2), torch.tensor([[5.0]]), torch.tensor([[1.0, 2.0]])))
print(torch.block_diag(torch.tensor([1, 2]), torch.tensor(7)))

# rearranging
print(torch.rot90(m), torch.rot90(m, 2), torch.rot90(m, -1, [0, 1]))
print(torch.rot90(torch.arange(8).reshape(2, 2, 2), 1, [1, 2]))
order = torch.argsort(m.float().sin(), dim=1)
print(order, torch.take_along_dim(m, order, dim=1))
print(torch.take_along_dim(a, torch.tensor([7, 0, 3])))
top = torch.topk(m.float().cos(), 2, dim=1).indices
print(torch.take_along_dim(m, top, 1), m.gather(1, top))

# running extremes
values, where_at = torch.cummax(a, 0)
print(values, where_at)
values, where_at = torch.cummin(torch.tensor([[2.0, 1.0, 3.0], [0.5, 0.5, -1.0]]), 1)
print(values, where_at)
print(torch.cummax(torch.tensor([1, 3, 3, 2, 3]), 0))

# strides, unfold and as_strided
x = torch.arange(10.0)
print(x.unfold(0, 4, 3), x.unfold(0, 2, 2).stride())
img = torch.arange(16.0).reshape(1, 4, 4)
print(img.unfold(1, 2, 2).unfold(2, 2, 2).reshape(1, 4, 4))
print(torch.as_strided(x, (3, 3), (1, 1)), torch.as_strided(x, (2, 2), (3, 1), 2))
print(m.stride(), m.t().stride(), m.t().is_contiguous(), m[:, ::2].stride(), m.stride(1))
print(m.t().contiguous().stride(), m.expand(2, 3, 4).stride(), m[None].stride())
win = x.as_strided((4, 3), (2, 1))
print(win, win.sum(1), win.is_contiguous())
print(torch.empty(2, 3, 4, 5).stride(),
      torch.empty(2, 3, 4, 5).contiguous(memory_format=torch.channels_last).stride())
nhwc = torch.arange(24.0).reshape(1, 2, 3, 4).to(memory_format=torch.channels_last)
print(nhwc.is_contiguous(), nhwc.is_contiguous(memory_format=torch.channels_last))
print(nhwc.stride(), (nhwc * 2).stride(), nhwc.permute(0, 2, 3, 1).is_contiguous())

# which results come back row-major (so .view works) and which keep the input's layout
mt = m.t()
print(mt.cumsum(0).view(-1), mt.masked_fill(mt > 5, 0).view(-1), torch.cat([mt, mt]).stride())
print(mt.tril().is_contiguous(), mt.sum(0, keepdim=True).is_contiguous(), mt.exp().stride(),
      mt.flip(0).stride(), mt.roll(1, 0).stride(), mt.float().var(1).is_contiguous())
print(nhwc.flip(3).stride(), nhwc.roll(1, 3).stride(), torch.cat([nhwc, nhwc], 1).stride(),
      nhwc.sum(1, keepdim=True).view(-1), nhwc.cumsum(1).is_contiguous(),
      torch.cat([nhwc, nhwc.contiguous()]).is_contiguous())
