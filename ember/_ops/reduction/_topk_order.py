"""The order in which PyTorch's CPU ``topk`` returns indices when it is not fixed by the values
(ties, and ``sorted=False``).

PyTorch selects the top ``k`` of each row with the C++ standard library's algorithms on
(value, index) pairs compared by value only: a partial sort (a heap select then a heap sort)
when ``k * 64 <= n``, else an introselect ``nth_element`` at ``k - 1`` followed, when
``sorted``, by an introsort of the first ``k - 1``. None of these is stable, so among equal
values the indices come out in the order those algorithms leave them. This module re-runs
the same classic algorithms (median-of-three partitioning, binary heaps, insertion sort below
16 elements) on one row, in pure Python; ``topk`` calls it only for the rows whose result the
values do not determine.
"""

from __future__ import annotations

import math

import numpy as np

_THRESHOLD = 16  # below this many elements the introsort leaves the rest to insertion sort


def _comparator(largest: bool):
    # "comes before": NaN is the largest value (and equal to NaN)
    if largest:
        return lambda x, y: x > y or (x != x and y == y)
    return lambda x, y: x < y or (y != y and x == x)


class _Row:
    """One row as (value, index) pairs and the algorithms that reorder it."""

    def __init__(self, values: list, largest: bool):
        self.a = [(v, i) for i, v in enumerate(values)]
        self.comp = _comparator(largest)

    def before(self, i: int, j: int) -> bool:
        return self.comp(self.a[i][0], self.a[j][0])

    def swap(self, i: int, j: int) -> None:
        a = self.a
        a[i], a[j] = a[j], a[i]

    # -- insertion sort -------------------------------------------------------------------
    def insertion_sort(self, lo: int, hi: int) -> None:
        a, comp = self.a, self.comp
        for i in range(lo + 1, hi):
            item = a[i]
            if comp(item[0], a[lo][0]):
                a[lo + 1:i + 1] = a[lo:i]
                a[lo] = item
            else:
                j = i
                while comp(item[0], a[j - 1][0]):
                    a[j] = a[j - 1]
                    j -= 1
                a[j] = item

    # -- partitioning ---------------------------------------------------------------------
    def median_to_first(self, result: int, x: int, y: int, z: int) -> None:
        if self.before(x, y):
            pick = y if self.before(y, z) else (z if self.before(x, z) else x)
        elif self.before(x, z):
            pick = x
        else:
            pick = z if self.before(y, z) else y
        self.swap(result, pick)

    def partition(self, first: int, last: int) -> int:
        """Median-of-three pivot moved to ``first``, then a Hoare partition of the rest."""
        self.median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
        a, comp = self.a, self.comp
        pivot = a[first][0]
        lo, hi = first + 1, last
        while True:
            while comp(a[lo][0], pivot):
                lo += 1
            hi -= 1
            while comp(pivot, a[hi][0]):
                hi -= 1
            if not lo < hi:
                return lo
            a[lo], a[hi] = a[hi], a[lo]
            lo += 1

    # -- binary heap (the root is the element that comes last) ----------------------------
    def adjust_heap(self, first: int, hole: int, length: int, item) -> None:
        a, comp = self.a, self.comp
        top = hole
        child = hole
        while child < (length - 1) // 2:
            child = 2 * (child + 1)
            if comp(a[first + child][0], a[first + child - 1][0]):
                child -= 1
            a[first + hole] = a[first + child]
            hole = child
        if length % 2 == 0 and child == (length - 2) // 2:
            child = 2 * (child + 1)
            a[first + hole] = a[first + child - 1]
            hole = child - 1
        parent = (hole - 1) // 2
        while hole > top and comp(a[first + parent][0], item[0]):
            a[first + hole] = a[first + parent]
            hole = parent
            parent = (hole - 1) // 2
        a[first + hole] = item

    def make_heap(self, first: int, last: int) -> None:
        length = last - first
        if length < 2:
            return
        for parent in range((length - 2) // 2, -1, -1):
            self.adjust_heap(first, parent, length, self.a[first + parent])

    def pop_heap(self, first: int, last: int, result: int) -> None:
        item = self.a[result]
        self.a[result] = self.a[first]
        self.adjust_heap(first, 0, last - first, item)

    def heap_select(self, first: int, middle: int, last: int) -> None:
        self.make_heap(first, middle)
        for i in range(middle, last):
            if self.before(i, first):
                self.pop_heap(first, middle, i)

    def sort_heap(self, first: int, last: int) -> None:
        while last - first > 1:
            last -= 1
            self.pop_heap(first, last, last)

    def partial_sort(self, first: int, middle: int, last: int) -> None:
        self.heap_select(first, middle, last)
        self.sort_heap(first, middle)

    # -- introselect / introsort ----------------------------------------------------------
    @staticmethod
    def _depth(n: int) -> int:
        return 2 * int(math.log2(n)) if n > 0 else 0

    def nth_element(self, first: int, nth: int, last: int) -> None:
        depth = self._depth(last - first)
        while last - first > 3:
            if depth == 0:
                self.heap_select(first, nth + 1, last)
                self.swap(first, nth)
                return
            depth -= 1
            cut = self.partition(first, last)
            if cut <= nth:
                first = cut
            else:
                last = cut
        self.insertion_sort(first, last)

    def sort(self, first: int, last: int) -> None:
        if last - first < 2:
            return
        self._introsort(first, last, self._depth(last - first))
        self.insertion_sort(first, last)

    def _introsort(self, first: int, last: int, depth: int) -> None:
        while last - first > _THRESHOLD:
            if depth == 0:
                self.partial_sort(first, last, last)
                return
            depth -= 1
            cut = self.partition(first, last)
            self._introsort(cut, last, depth)
            last = cut


def _beats(block, top, largest: bool):
    """Which elements of the NumPy ``block`` come before the value ``top`` (NaN largest)."""
    if top != top:
        return np.zeros(block.shape, bool) if largest else ~np.isnan(block)
    return (block > top) | np.isnan(block) if largest else block < top


def _heap_select_top(values, k: int, largest: bool) -> list:
    """``partial_sort(0, k, n)`` of one row, the first ``k`` (value, index) pairs as it leaves
    them. Positions past ``k`` are read once, in order, and written only after that read, so
    only the heap is kept. The heap's top only improves, so a block of later elements that
    cannot beat the top at the block's start is skipped without Python comparisons: an
    all-tied row of a million elements takes milliseconds, not a third of a second."""
    row = _Row(values[:k].tolist(), largest)
    row.make_heap(0, k)
    comp, a = row.comp, row.a
    i, n, block = k, len(values), 256
    while i < n:
        chunk = values[i:i + block]
        cand = np.flatnonzero(_beats(chunk, a[0][0], largest))
        for c, v in zip(cand.tolist(), chunk[cand].tolist()):
            if comp(v, a[0][0]):
                row.adjust_heap(0, 0, k, (v, i + c))
        i += len(chunk)
        block = min(block * 2, 1 << 16)
    row.sort_heap(0, k)
    return row.a


def topk_row(values, k: int, largest: bool, sorted: bool) -> list:
    """The indices PyTorch's CPU ``topk`` returns for one row of ``values`` (a 1-D NumPy
    array)."""
    n = len(values)
    if k == 0:
        return []
    if k * 64 <= n:
        return [i for _, i in _heap_select_top(values, k, largest)]
    row = _Row(values.tolist(), largest)
    row.nth_element(0, k - 1, n)
    if sorted:
        row.sort(0, k - 1)  # the k-th is already in place
    return [i for _, i in row.a[:k]]
