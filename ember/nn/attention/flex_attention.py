"""FlexAttention (``torch.nn.attention.flex_attention``): attention whose scores a Python
function edits (``score_mod``) and whose pattern a Python predicate masks (``mask_mod``).

torch turns the two functions into a fused kernel under ``torch.compile``; eagerly (and here)
the scores are materialised: ``q @ k^T * scale``, then ``score_mod(score, b, h, q_idx, kv_idx)``
called once with index tensors shaped to broadcast over ``(B, H, L, S)`` (what torch's
per-element ``vmap`` computes, for functions written with tensor operations), then the mask,
a softmax and ``@ v``. Everything is ember ops, so gradients reach ``q``, ``k``, ``v`` and any
tensor the two functions capture (torch refuses backward on the CPU).

``create_block_mask`` evaluates ``mask_mod`` on the whole grid and records, per tile of
``BLOCK_SIZE`` queries x keys, whether the tile is fully, partly or not at all visible: the
``BlockMask`` torch's kernels use to skip work, with torch's fields, ordering and printing.

Example:
    >>> from ember.nn.attention.flex_attention import create_block_mask, flex_attention
    >>> def causal(b, h, q_idx, kv_idx):
    ...     return q_idx >= kv_idx
    >>> mask = create_block_mask(causal, None, None, 64, 64)
    >>> q = ember.randn(2, 4, 64, 16)
    >>> flex_attention(q, q, q, block_mask=mask).shape
    torch.Size([2, 4, 64, 16])
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ... import _dtype as D
from ..._backend import asarray_like, to_numpy
from ..._tensor import Tensor

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions",
           "create_block_mask", "create_mask", "or_masks", "and_masks", "noop_mask"]

_DEFAULT_BLOCK = 128

# torch's typed dict of kernel tuning knobs; accepted and ignored (there is no kernel to tune)
FlexKernelOptions = dict


@dataclass(frozen=True)
class AuxRequest:
    """Which extra outputs ``flex_attention(..., return_aux=AuxRequest(lse=True))`` returns.

    Example:
        >>> out, aux = flex_attention(q, k, v, return_aux=AuxRequest(lse=True))
    """
    lse: bool = False
    max_scores: bool = False


@dataclass
class AuxOutput:
    """The extra outputs asked for with :class:`AuxRequest` (``None`` where not asked).

    Example:
        >>> out, aux = flex_attention(q, k, v, return_aux=AuxRequest(lse=True))
        >>> aux.lse.shape
    """
    lse: Tensor | None = None
    max_scores: Tensor | None = None


def _index_grids(B: int, H: int, L: int, S: int, device=None):
    """``b, h, q_idx, kv_idx`` as int64 tensors shaped to broadcast over ``(B, H, L, S)``."""
    from ... import arange

    return (arange(B, device=device).view(B, 1, 1, 1), arange(H, device=device).view(1, H, 1, 1),
            arange(L, device=device).view(1, 1, L, 1), arange(S, device=device).view(1, 1, 1, S))


def noop_mask(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """A ``mask_mod`` that hides nothing.

    Example:
        >>> create_block_mask(noop_mask, None, None, 8, 8)
    """
    from ... import ones

    return ones((), dtype=D.bool, device=batch.device)


def _combine(mask_mods, how: str):
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def combined(b, h, q_idx, kv_idx):
        from ... import ones, zeros

        result = (ones if how == "and" else zeros)((), dtype=D.bool, device=b.device)
        for mod in mask_mods:
            m = mod(b, h, q_idx, kv_idx)
            result = result & m if how == "and" else result | m
        return result

    combined.__name__ = f"{how}_mask"
    return combined


def or_masks(*mask_mods):
    """A ``mask_mod`` that shows a position when any of ``mask_mods`` does.

    Example:
        >>> either = or_masks(causal, lambda b, h, q, kv: kv == 0)
    """
    return _combine(mask_mods, "or")


def and_masks(*mask_mods):
    """A ``mask_mod`` that shows a position only when all of ``mask_mods`` do.

    Example:
        >>> window = and_masks(causal, lambda b, h, q, kv: q - kv < 16)
    """
    return _combine(mask_mods, "and")


def _dense_mask(mask_mod, B: int, H: int, L: int, S: int, device=None) -> Tensor:
    """``mask_mod`` over the whole ``(B, H, L, S)`` grid, as a bool tensor of that shape."""
    from ... import no_grad

    with no_grad():
        m = mask_mod(*_index_grids(B, H, L, S, device))
    if not isinstance(m, Tensor):
        raise TypeError(f"mask_mod must return a bool tensor, got {type(m).__name__}")
    return m.to(D.bool).expand(B, H, L, S)


def create_mask(mod_fn, B: int | None, H: int | None, Q_LEN: int, KV_LEN: int,
                device=None) -> Tensor:
    """The dense ``(B, H, Q_LEN, KV_LEN)`` mask a ``mask_mod`` describes (``B``/``H`` of
    ``None`` mean 1). Given a ``score_mod`` (five arguments), the scores it makes from zeros.

    Example:
        >>> create_mask(lambda b, h, q, kv: q >= kv, 1, 1, 4, 4)[0, 0]
    """
    B, H = B or 1, H or 1
    if _arity(mod_fn) == 5:
        from ... import no_grad, zeros

        with no_grad():
            out = mod_fn(zeros(B, H, Q_LEN, KV_LEN, device=device),
                         *_index_grids(B, H, Q_LEN, KV_LEN, device))
        return out.expand(B, H, Q_LEN, KV_LEN)
    return _dense_mask(mod_fn, B, H, Q_LEN, KV_LEN, device)


def _arity(fn) -> int:
    import inspect

    try:
        return len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return 4


def _ordered(blocks: np.ndarray):
    """Per row of ``blocks`` (bool, ``(..., rows, cols)``): how many are set, and all column
    indices with the set ones first, each group in increasing order (torch's layout)."""
    counts = blocks.sum(-1).astype(np.int32)
    order = np.argsort(~blocks, axis=-1, kind="stable").astype(np.int32)
    return counts, order


def _t(arr) -> Tensor:
    return Tensor._make(np.ascontiguousarray(arr), None)


class BlockMask:
    """Which ``BLOCK_SIZE`` tiles of the attention grid a mask leaves fully visible, partly
    visible or hidden, in torch's fields: ``kv_num_blocks``/``kv_indices`` (partly visible
    key tiles per query tile, listed first), ``full_kv_num_blocks``/``full_kv_indices``
    (fully visible ones), and the same per key tile (``q_*``); plus the ``mask_mod`` that
    decides within partly visible tiles.

    Example:
        >>> mask = create_block_mask(lambda b, h, q, kv: q >= kv, None, None, 256, 256)
        >>> print(mask)
        >>> mask.sparsity()
        25.0
    """

    def __init__(self, seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks,
                 full_kv_indices, q_num_blocks, q_indices, full_q_num_blocks, full_q_indices,
                 BLOCK_SIZE, mask_mod):
        self.seq_lengths = tuple(seq_lengths)
        self.kv_num_blocks, self.kv_indices = kv_num_blocks, kv_indices
        self.full_kv_num_blocks, self.full_kv_indices = full_kv_num_blocks, full_kv_indices
        self.q_num_blocks, self.q_indices = q_num_blocks, q_indices
        self.full_q_num_blocks, self.full_q_indices = full_q_num_blocks, full_q_indices
        self.BLOCK_SIZE = tuple(BLOCK_SIZE)
        self.mask_mod = mask_mod if mask_mod is not None else noop_mask

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks: Tensor, kv_indices: Tensor,
                       full_kv_num_blocks: Tensor | None = None,
                       full_kv_indices: Tensor | None = None,
                       BLOCK_SIZE: int | tuple = _DEFAULT_BLOCK, mask_mod=None,
                       seq_lengths: tuple | None = None, compute_q_blocks: bool = True):
        """A BlockMask from its key-tile lists (the query-tile lists are derived).

        Example:
            >>> BlockMask.from_kv_blocks(ember.tensor([[[1]]]), ember.tensor([[[[0]]]]))
        """
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise RuntimeError("full_kv_num_blocks and full_kv_indices must be both provided "
                               "or omitted")
        bs = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else tuple(BLOCK_SIZE)
        partial = _blocks_of(kv_num_blocks, kv_indices)
        full = _blocks_of(full_kv_num_blocks, full_kv_indices) \
            if full_kv_num_blocks is not None else None
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * bs[0], kv_indices.shape[-1] * bs[1])
        q_num, q_idx = _ordered(np.swapaxes(partial, -1, -2))
        fq = _ordered(np.swapaxes(full, -1, -2)) if full is not None else (None, None)
        return cls(seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices,
                   _t(q_num), _t(q_idx), *(None if a is None else _t(a) for a in fq), bs,
                   mask_mod)

    @property
    def shape(self) -> tuple:
        """``(B, H, Q_LEN, KV_LEN)`` the mask was made for."""
        return tuple(self.kv_indices.shape[:-2]) + self.seq_lengths

    def numel(self) -> int:
        """The number of positions the mask covers."""
        return math.prod(self.shape)

    def _used_blocks(self) -> np.ndarray:
        used = _blocks_of(self.kv_num_blocks, self.kv_indices)
        if self.full_kv_num_blocks is not None:
            used = used | _blocks_of(self.full_kv_num_blocks, self.full_kv_indices)
        return used

    def sparsity(self) -> float:
        """The percentage of tiles skipped (negative when the tiles, padded to
        ``BLOCK_SIZE``, cover more than the sequences, as torch reports it)."""
        blocks = int(to_numpy(self.kv_num_blocks._data).sum())
        if self.full_kv_num_blocks is not None:
            blocks += int(to_numpy(self.full_kv_num_blocks._data).sum())
        return 100 * (1 - blocks * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1] / self.numel())

    def to_dense(self) -> Tensor:
        """The tile-level mask: 1 where a tile is computed (fully or partly visible)."""
        return _t(self._used_blocks().astype(np.int32))

    def to_string(self, grid_size=(20, 20), limit: int = 4) -> str:
        """The tile mask drawn with ``█`` (all computed), ``░`` (some) and spaces, one picture
        per batch and head (at most ``limit``), each cell summarising a patch so that the
        picture is at most ``grid_size`` cells (``-1``: one cell per tile)."""
        dense = self._used_blocks()
        *lead, rows, cols = dense.shape
        if grid_size == -1:
            max_rows, max_cols = rows, cols
        elif isinstance(grid_size, int):
            max_rows = max_cols = grid_size
        else:
            max_rows, max_cols = grid_size
        row_step = max(1, -(-rows // max_rows))
        col_step = max(1, -(-cols // max_cols))
        pictures = []
        for k, idx in enumerate(itertools.product(*[range(n) for n in lead])):
            if k == limit:
                pictures += ["...", "To print out more, set BlockMask.to_string(limit=N)",
                             "You can also index (BlockMask[batch, head]) to choose a specific "
                             "batch or head"]
                break
            grid = dense[idx]
            text = f"{idx}\n"
            for r in range(0, rows, row_step):
                for c in range(0, cols, col_step):
                    frac = grid[r:r + row_step, c:c + col_step].mean()
                    text += ("█" if frac == 1 else " " if frac == 0 else "░") * 2
                text += "\n"
            pictures.append(text)
        return "\n".join(pictures)

    def __str__(self) -> str:
        return (f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n"
                f"{self.to_string().strip()}\n)")

    def __repr__(self) -> str:
        def shape_of(t):
            return None if t is None else t.shape

        fields = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices",
                  "q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices"]
        lines = [f"    {f}={shape_of(getattr(self, f))}," for f in fields]
        mod = getattr(self.mask_mod, "__name__", repr(self.mask_mod))
        lines += [f"    BLOCK_SIZE={self.BLOCK_SIZE},", f"    shape={self.shape},",
                  f"    sparsity={self.sparsity():.2f}%,", f"    mask_mod={mod}"]
        return "BlockMask(\n" + "\n".join(lines) + "\n)"

    def as_tuple(self, flatten: bool = True) -> tuple:
        """The fields as a tuple (seq lengths, block lists, block size, mask_mod)."""
        parts = (self.seq_lengths, self.kv_num_blocks, self.kv_indices,
                 self.full_kv_num_blocks, self.full_kv_indices, self.q_num_blocks,
                 self.q_indices, self.full_q_num_blocks, self.full_q_indices)
        if flatten:
            return (*self.seq_lengths, *parts[1:], *self.BLOCK_SIZE, self.mask_mod)
        return (*parts, self.BLOCK_SIZE, self.mask_mod)

    def to(self, device) -> BlockMask:
        """The mask with its block lists on ``device``."""
        def move(t):
            return None if t is None else t.to(device)

        return BlockMask(self.seq_lengths, *(move(getattr(self, f)) for f in (
            "kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices",
            "q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices")),
            self.BLOCK_SIZE, self.mask_mod)

    def _dense_positions(self, B: int, H: int, L: int, S: int, like, device) -> Tensor:
        """The element-level mask for ``(B, H, L, S)`` scores: tiles not computed are hidden,
        full tiles shown, partly visible ones decided by ``mask_mod``."""
        bq, bk = self.BLOCK_SIZE

        def expand(blocks):
            grid = np.repeat(np.repeat(blocks, bq, axis=-2), bk, axis=-1)[..., :L, :S]
            return np.broadcast_to(grid, (B, H, L, S))

        used = expand(self._used_blocks())
        full = expand(_blocks_of(self.full_kv_num_blocks, self.full_kv_indices)) \
            if self.full_kv_num_blocks is not None else np.zeros((B, H, L, S), bool)
        by_mod = to_numpy(_dense_mask(self.mask_mod, B, H, L, S, device)._data)
        # the tile structure is host data; the mask goes where the scores are
        return Tensor._make(asarray_like(np.ascontiguousarray(used & (full | by_mod)), like),
                            D.bool)


def _blocks_of(num_blocks: Tensor, indices: Tensor) -> np.ndarray:
    """The bool tile grid ``(..., q tiles, kv tiles)`` a count-and-index list describes: in
    each row, the first ``num_blocks`` entries of ``indices`` are the tiles set."""
    idx = to_numpy(indices._data).astype(np.int64)
    taken = np.arange(idx.shape[-1]) < to_numpy(num_blocks._data)[..., None]
    grid = np.zeros(idx.shape, bool)
    where = np.nonzero(taken)
    grid[where[:-1] + (idx[where],)] = True
    return grid


def create_block_mask(mask_mod, B: int | None, H: int | None, Q_LEN: int, KV_LEN: int,
                      device=None, BLOCK_SIZE: int | tuple = _DEFAULT_BLOCK, _compile=False,
                      separate_full_blocks: bool = True, compute_dq_write_order: bool = False,
                      dq_kv_order: bool = True) -> BlockMask:
    """Evaluate ``mask_mod(b, h, q_idx, kv_idx)`` over the grid and summarise it per tile of
    ``BLOCK_SIZE`` queries x keys (``B``/``H`` of ``None`` broadcast over batch and heads).

    Example:
        >>> def sliding_window(b, h, q_idx, kv_idx):
        ...     return (q_idx >= kv_idx) & (q_idx - kv_idx < 256)
        >>> mask = create_block_mask(sliding_window, None, None, 1024, 1024)
    """
    B, H = B or 1, H or 1
    bq, bk = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else tuple(BLOCK_SIZE)
    dense = to_numpy(_dense_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)._data)
    nq, nk = -(-Q_LEN // bq), -(-KV_LEN // bk)
    padded = np.zeros((B, H, nq * bq, nk * bk), bool)  # padding counts as hidden, as in torch
    padded[..., :Q_LEN, :KV_LEN] = dense
    tiles = padded.reshape(B, H, nq, bq, nk, bk)
    any_set, all_set = tiles.any(axis=(3, 5)), tiles.all(axis=(3, 5))
    if separate_full_blocks:
        partial, full = any_set & ~all_set, all_set
    else:
        partial, full = any_set, None
    kv = _ordered(partial)
    q = _ordered(np.swapaxes(partial, -1, -2))
    fkv = _ordered(full) if full is not None else (None, None)
    fq = _ordered(np.swapaxes(full, -1, -2)) if full is not None else (None, None)

    def wrap(a):
        return None if a is None else _t(a).to(device) if device is not None else _t(a)

    return BlockMask((Q_LEN, KV_LEN), *(wrap(a) for a in (*kv, *fkv, *q, *fq)), (bq, bk),
                     mask_mod)


def flex_attention(query: Tensor, key: Tensor, value: Tensor, score_mod=None,
                   block_mask: BlockMask | None = None, scale: float | None = None,
                   enable_gqa: bool = False, return_lse: bool = False, kernel_options=None,
                   *, return_aux: AuxRequest | None = None):
    """Attention over ``(B, H, L, E)`` queries and ``(B, Hkv, S, E)`` keys/values whose scores
    ``score_mod(score, b, h, q_idx, kv_idx)`` may edit and ``block_mask`` may hide.

    Fully hidden query rows give zeros (and a log-sum-exp of ``-inf``). With ``enable_gqa``,
    each key/value head serves ``H // Hkv`` query heads.

    Args:
        score_mod: ``(score, b, h, q_idx, kv_idx) -> score``, written with tensor ops; it is
            called once with index tensors that broadcast over the scores.
        block_mask: from :func:`create_block_mask`.
        scale: the score scale (default ``1 / sqrt(E)``).
        return_aux: ``AuxRequest(lse=True)`` also returns an :class:`AuxOutput` holding the
            log-sum-exp of each query's scores.

    Example:
        >>> def relative(score, b, h, q_idx, kv_idx):
        ...     return score + 0.1 * (q_idx - kv_idx)
        >>> out = flex_attention(q, k, v, score_mod=relative)
    """
    if type(query).__name__ == "NestedTensor":
        raise NotImplementedError("flex_attention does not support NestedTensor inputs. Convert "
                                  "inputs to dense tensors before calling flex_attention.")
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")
    if not enable_gqa and query.size(-3) != key.size(-3):
        raise ValueError(f"Expect query and key/value to have the same number of heads but got "
                         f"Hq={query.size(-3)} and Hkv={key.size(-3)}. Try setting "
                         "enable_gqa=True for GQA.")
    if enable_gqa and query.size(1) % key.size(1) != 0:
        raise ValueError(f"Expect number of query heads to be a multiple of kv heads for GQA but "
                         f"got Hq={query.size(1)} and Hkv={key.size(1)}.")
    if query.size(0) != key.size(0):
        raise ValueError(f"Expect query and key/value to have the same batch size, or non-none "
                         f"block_mask, but got block_mask=None, Bq={query.size(0)}, and "
                         f"Bkv={key.size(0)}.")
    if query.size(-1) != key.size(-1):
        raise ValueError(f"Expect query and key/value to have the same embedding dimension but "
                         f"got E={query.size(-1)} and E={key.size(-1)}.")
    if return_lse and return_aux is not None:
        raise ValueError("Cannot specify both return_lse and return_aux. return_lse is "
                         "deprecated, please use return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        warnings.warn("return_lse is deprecated and will be removed in v2.10. Please use "
                      "return_aux=AuxRequest(lse=True) instead.", FutureWarning, stacklevel=2)
    if return_aux is not None and return_aux.max_scores:
        raise NotImplementedError("Returning max scores is not supported on CPU/MPS.")
    B, H, L, E = query.shape
    S = key.size(-2)
    if block_mask is not None:
        mq, mk = block_mask.seq_lengths
        if L > mq or S > mk:
            raise ValueError(
                f"block_mask was created for block_mask.shape={block_mask.shape} but got "
                f"q_len={L} and kv_len={S}. As the block mask was created for a smaller length "
                "than you're using it for, you likely need to create a new block mask.")
        if L < mq or S < mk:
            raise ValueError(
                f"block_mask was created for block_mask.shape={block_mask.shape} but got "
                f"q_len={L} and kv_len={S}. Create a new block mask with the correct length.")
    if scale is None:
        scale = 1.0 / math.sqrt(E)
    if enable_gqa and key.size(1) != H:
        group = H // key.size(1)
        key = key.repeat_interleave(group, dim=1)
        value = value.repeat_interleave(group, dim=1)
    scores = (query @ key.transpose(-2, -1)) * scale
    if score_mod is not None:
        scores = score_mod(scores, *_index_grids(B, H, L, S, query.device))
        if tuple(scores.shape) != (B, H, L, S):
            scores = scores.expand(B, H, L, S)
    if block_mask is not None:
        visible = block_mask._dense_positions(B, H, L, S, query._data, query.device)
        scores = scores.masked_fill(~visible, -math.inf)
    # a query that sees nothing gets zeros and an lse of -inf; its scores are set to 0 first
    # so that neither the softmax nor its gradient meets -inf - -inf
    dead = (scores == -math.inf).all(-1, keepdim=True)
    scores = scores.masked_fill(dead, 0.0)
    out = scores.softmax(-1).masked_fill(dead, 0.0) @ value
    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    lse = scores.logsumexp(-1, keepdim=True).masked_fill(dead, -math.inf).squeeze(-1) \
        if want_lse else None
    if return_lse:
        return out, lse
    if return_aux is not None:
        return out, AuxOutput(lse=lse if return_aux.lse else None)
    return out
