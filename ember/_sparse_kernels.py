"""Array kernels of sparse COO tensors, NumPy only (no SciPy).

An entry list is ``indices`` (``(sparse_dim, nnz)`` int64) with ``values`` (``(nnz, *dense)``).
Coalesced means PyTorch's invariant: entries sorted by their row-major linear index, no
duplicates. Products run over coalesced entries: a gather of the dense operand's rows, a
multiply by the values and a sum per output row, batched over the rows that have the same
number of entries (``RowPlan``), so no Python loop touches the entries.
"""

from __future__ import annotations

import numpy as np

# Entries times columns per chunk of a product's (nnz, cols) temporary: 2^20 elements keep it
# within a few MiB (cache-sized), and wide products (1433 features) run chunk by chunk.
_CHUNK = 1 << 20


def linear_index(indices, sizes):
    """Row-major linear index of each entry over the sparse sizes."""
    nnz = indices.shape[1]
    if indices.shape[0] == 0:
        return np.zeros(nnz, np.int64)
    lin = indices[0].astype(np.int64, copy=True)
    for k in range(1, indices.shape[0]):
        lin *= sizes[k]
        lin += indices[k]
    return lin


def is_sorted_unique(lin) -> bool:
    return bool(lin.size < 2 or np.all(lin[1:] > lin[:-1]))


class CoalescePlan:
    """How an entry list becomes coalesced: ``order`` (a stable sort; None when already in
    order), ``starts`` of each run of equal indices (None when there are no duplicates) and
    the coalesced ``indices``. Depends on the indices only, so it is computed once per list."""

    __slots__ = ("order", "starts", "indices")

    def __init__(self, indices, sizes):
        lin = linear_index(indices, sizes)
        if is_sorted_unique(lin):
            self.order, self.starts, self.indices = None, None, indices
            return
        order = np.argsort(lin, kind="stable")
        slin = lin[order]
        first = np.empty(slin.size, bool)
        first[:1] = True
        np.not_equal(slin[1:], slin[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        self.order = order
        self.starts = None if starts.size == slin.size else starts
        self.indices = indices[:, order if self.starts is None else order[starts]]

    def values(self, values):
        """The coalesced values (duplicates summed in their original order)."""
        if self.order is None:
            return values
        values = values[self.order]
        if self.starts is None:
            return values
        return np.add.reduceat(values, self.starts, axis=0)


def segments(keys):
    """(distinct keys, start of each run) of a sorted key array."""
    if keys.size == 0:
        return keys, np.zeros(0, np.int64)
    first = np.empty(keys.size, bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys[starts], starts


def to_dense(indices, values, shape, plan):
    """The dense array of an entry list (duplicates summed)."""
    sd = indices.shape[0]
    dense_shape = tuple(shape[sd:])
    n = 1
    for s in shape[:sd]:
        n *= s
    out = np.zeros((n,) + dense_shape, values.dtype)
    if values.shape[0]:
        idx = plan.indices
        out[linear_index(idx, shape[:sd])] = plan.values(values)
    return out.reshape(shape)


def from_dense(arr, sparse_dim):
    """(indices, values) of the entries of ``arr`` whose values (over the dense dims) are not
    all zero, in coalesced order."""
    lead = arr.shape[:sparse_dim]
    if sparse_dim == arr.ndim:
        mask = arr != 0
    else:
        mask = np.any(arr.reshape(lead + (-1,)) != 0, axis=-1)
    indices = np.stack(np.nonzero(mask)) if sparse_dim else np.zeros((0, 1), np.int64)
    if not sparse_dim:
        return indices, arr[None]
    indices = indices.astype(np.int64, copy=False).reshape(sparse_dim, -1)
    return indices, arr[tuple(indices)]


class RowPlan:
    """The entries of a sparse matrix grouped for products with dense matrices: rows with the
    same number of entries (at most ``HEAVY``) share a bucket, so one gather and one batched
    reduction (``einsum``) serve the whole bucket with contiguous inner loops; longer rows are
    each one vector-matrix product. Built from the indices only, once per matrix.

    ``rows``/``cols`` are the entries in row order; ``entry`` maps that order back to
    positions in the values array (None: the same order)."""

    HEAVY = 64
    __slots__ = ("buckets", "heavy")

    def __init__(self, rows, cols, entry=None):
        keys, starts = segments(rows)
        counts = np.diff(np.append(starts, rows.size))
        self.buckets, self.heavy = [], []
        light = counts <= self.HEAVY
        lk, ls, lc = keys[light], starts[light], counts[light]
        order = np.argsort(lc, kind="stable")
        lengths = lc[order]
        if lengths.size:
            ds, first = np.unique(lengths, return_index=True)
            ends = np.append(first[1:], lengths.size)
            for d, a, b in zip(ds.tolist(), first.tolist(), ends.tolist()):
                sel = order[a:b]
                pos = ls[sel][:, None] + np.arange(d)
                self.buckets.append((lk[sel], pos if entry is None else entry[pos], cols[pos]))
        for key, st, c in zip(keys[~light].tolist(), starts[~light].tolist(),
                              counts[~light].tolist()):
            pos = np.arange(st, st + c)
            self.heavy.append((key, pos if entry is None else entry[pos], cols[pos]))


def spmm(plan: RowPlan, vals, x, n):
    """``S @ x`` for a 2-D sparse S (its ``RowPlan`` and values) and a 2-D dense ``x``; ``n``
    output rows. Each row's entries are summed in their order, as PyTorch does."""
    f = x.shape[1]
    out = np.zeros((n, f), np.result_type(vals.dtype, x.dtype))
    if f == 0:
        return out
    for keys, entries, cols in plan.buckets:
        v = vals[entries]
        step = max(1, _CHUNK // (entries.shape[1] * f))
        for s in range(0, keys.size, step):
            out[keys[s:s + step]] = np.einsum("nd,ndf->nf", v[s:s + step],
                                              np.take(x, cols[s:s + step], axis=0))
    for key, entries, cols in plan.heavy:
        out[key] = vals[entries] @ np.take(x, cols, axis=0)
    return out


def rowwise_dot(a, b, rows, cols):
    """``sum(a[rows[k]] * b[cols[k]])`` for each entry ``k``: the gradient of ``S @ b`` with
    respect to S's values, at S's entries, when ``a`` is the output gradient."""
    nnz = rows.shape[0]
    out = np.empty(nnz, np.result_type(a.dtype, b.dtype))
    step = max(1, _CHUNK // max(a.shape[1], 1))
    for s in range(0, nnz, step):
        out[s:s + step] = np.einsum("ij,ij->i", np.take(a, rows[s:s + step], axis=0),
                                    np.take(b, cols[s:s + step], axis=0))
    return out


def spspmm(a_idx, a_vals, b_rowptr, b_cols, b_vals, n, m):
    """Entries (coalesced) of ``A @ B`` for 2-D sparse A (any order) and B (coalesced, with
    ``b_rowptr``: the start of each row of B's entries)."""
    k = a_idx[1]
    counts = b_rowptr[k + 1] - b_rowptr[k]
    total = int(counts.sum())
    rows = np.repeat(a_idx[0], counts)
    scale = np.repeat(a_vals, counts, axis=0)
    first = np.cumsum(counts) - counts
    pos = np.arange(total) - np.repeat(first, counts) + np.repeat(b_rowptr[k], counts)
    cols = b_cols[pos]
    vals = scale * b_vals[pos]
    idx = np.stack([rows, cols]).astype(np.int64, copy=False)
    plan = CoalescePlan(idx, (n, m))
    return plan.indices, plan.values(vals)


def merge_add(a_idx, a_vals, b_idx, b_vals, sizes, coalesced):
    """PyTorch's sparse add: a merge of the two entry lists by linear index, summing entries
    that meet. With both lists coalesced the result is their coalesced union; otherwise it is
    the same two-pointer merge PyTorch runs (entries left as they meet)."""
    la = linear_index(a_idx, sizes)
    lb = linear_index(b_idx, sizes)
    if coalesced:
        lin = np.concatenate([la, lb])
        vals = np.concatenate([a_vals, b_vals])
        idx = np.concatenate([a_idx, b_idx], axis=1)
        order = np.argsort(lin, kind="stable")  # a's entry before b's at equal indices
        slin = lin[order]
        keys, starts = segments(slin)
        return idx[:, order[starts]], np.add.reduceat(vals[order], starts, axis=0)
    la_l, lb_l = la.tolist(), lb.tolist()
    take, pair = [], []  # (source, position) of each output entry; pairs sum a and b
    i = j = 0
    while i < len(la_l) and j < len(lb_l):
        if la_l[i] < lb_l[j]:
            take.append((0, i))
            i += 1
        elif la_l[i] == lb_l[j]:
            take.append((2, len(pair)))
            pair.append((i, j))
            i += 1
            j += 1
        else:
            take.append((1, j))
            j += 1
    take.extend((0, p) for p in range(i, len(la_l)))
    take.extend((1, p) for p in range(j, len(lb_l)))
    src = np.array([t[0] for t in take], np.int64).reshape(-1)
    pos = np.array([t[1] for t in take], np.int64).reshape(-1)
    out_idx = np.empty((a_idx.shape[0], src.size), np.int64)
    out_vals = np.empty((src.size,) + a_vals.shape[1:], np.result_type(a_vals, b_vals))
    for s, (idx, vals) in enumerate(((a_idx, a_vals), (b_idx, b_vals))):
        sel = src == s
        out_idx[:, sel] = idx[:, pos[sel]]
        out_vals[sel] = vals[pos[sel]]
    sel = src == 2
    if sel.any():
        pairs = np.array(pair, np.int64).reshape(-1, 2)[pos[sel]]
        out_idx[:, sel] = a_idx[:, pairs[:, 0]]
        out_vals[sel] = a_vals[pairs[:, 0]] + b_vals[pairs[:, 1]]
    return out_idx, out_vals


def lookup(idx, vals, query, sizes):
    """Values of a coalesced entry list at the ``query`` indices (zeros where it has none)."""
    lin = linear_index(idx, sizes)
    q = linear_index(query, sizes)
    out = np.zeros((q.size,) + vals.shape[1:], vals.dtype)
    if lin.size == 0 or q.size == 0:
        return out
    pos = np.searchsorted(lin, q)
    pos_c = np.minimum(pos, lin.size - 1)
    hit = lin[pos_c] == q
    out[hit] = vals[pos_c[hit]]
    return out


def group_softmax(keys, vals, log):
    """Softmax (or log-softmax) of ``vals`` within each run of equal sorted ``keys``."""
    if vals.shape[0] == 0:
        return vals.copy()
    _, starts = segments(keys)
    counts = np.diff(np.append(starts, keys.size))
    vmax = np.repeat(np.maximum.reduceat(vals, starts, axis=0), counts, axis=0)
    shifted = vals - vmax
    e = np.exp(shifted)
    total = np.repeat(np.add.reduceat(e, starts, axis=0), counts, axis=0)
    if log:
        return shifted - np.log(total)
    return e / total


def group_sum(keys, vals):
    """The sum of ``vals`` within each run of equal sorted ``keys``, repeated over the run."""
    if vals.shape[0] == 0:
        return vals.copy()
    _, starts = segments(keys)
    counts = np.diff(np.append(starts, keys.size))
    return np.repeat(np.add.reduceat(vals, starts, axis=0), counts, axis=0)
