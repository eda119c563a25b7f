"""Every op-table entry called with hostile arguments: both libraries succeed, or both raise
the same exception type. Never a crash, a hang or a MemoryError.

Each entry of ``op_table.OPS`` is called, in-process, on variants of its first sample:

* ``empty``        every input gets a first dimension of size 0
* ``empty_first``  only the first input does (a shape mismatch with the others)
* ``zero_dim``     every input is 0-d
* ``bool`` / ``int64`` / ``complex64``  the float inputs get a wrong dtype
* ``float_index``  the integer (index) inputs become float
* ``mixed_float``  the first float input is float64, the others float32
* ``mismatch``     the first input's last dimension grows by one (ops with 2+ inputs)

``PARAMETRIC`` adds ops called with hostile size/dim-like arguments (negative, huge, out of
range): the op table's lambdas fix those arguments, so they are listed here.

Exceptions are compared by category: NotImplementedError, IndexError, TypeError, ValueError,
RuntimeError (PyTorch's own subclasses, such as ``torch.linalg.LinAlgError``, count as their
base). ``KNOWN_DIVERGENCES`` lists the cases where ember still differs, each with PyTorch's and
ember's outcome; the test fails when a new divergence appears and when a listed one is fixed
(so the list stays honest).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember

from .op_table import OPS
from .spec import make_arrays

torch = pytest.importorskip("torch")

_CATEGORIES = (NotImplementedError, IndexError, TypeError, ValueError, RuntimeError)


def _outcome(fn, lib, arrays) -> str:
    """'ok', or the exception's category name; MemoryError and others by their own name."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args = [lib.from_numpy(np.array(a)) if isinstance(a, np.ndarray) else a
                    for a in arrays]
            fn(lib, *args)
    except MemoryError:
        return "MemoryError"
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        for cat in _CATEGORIES:
            if isinstance(e, cat):
                return cat.__name__
        return type(e).__name__
    return "ok"


# -- the variants --------------------------------------------------------------------------

def _first_sample(spec) -> list:
    rng = np.random.default_rng(7)
    return make_arrays(spec, spec.shapes[0] if spec.shapes else None, rng)


def _is_float(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _is_int(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "iu"


def _empty(a):
    if not isinstance(a, np.ndarray) or a.ndim == 0:
        return a
    return np.zeros((0,) + a.shape[1:], a.dtype)


def _variants(arrays) -> dict:
    with np.errstate(invalid="ignore", over="ignore"):  # int64 of inf/NaN samples
        return _make_variants(arrays)


def _make_variants(arrays) -> dict:
    n = len(arrays)
    out = {
        "empty": [_empty(a) for a in arrays],
        "zero_dim": [np.array(a.reshape(-1)[0] if a.size else np.zeros((), a.dtype))
                     if isinstance(a, np.ndarray) else a for a in arrays],
        "bool": [a > 0 if _is_float(a) else a for a in arrays],
        "int64": [np.round(a).astype(np.int64) if _is_float(a) else a for a in arrays],
        "complex64": [a.astype(np.complex64) if _is_float(a) else a for a in arrays],
    }
    if n > 1:
        out["empty_first"] = [_empty(arrays[0])] + list(arrays[1:])
    if any(_is_int(a) for a in arrays):
        out["float_index"] = [a.astype(np.float32) if _is_int(a) else a for a in arrays]
    floats = [i for i, a in enumerate(arrays) if _is_float(a)]
    if len(floats) > 1:
        mixed = [a.astype(np.float32) if _is_float(a) else a for a in arrays]
        mixed[floats[0]] = arrays[floats[0]].astype(np.float64)
        out["mixed_float"] = mixed
    if n > 1 and isinstance(arrays[0], np.ndarray) and arrays[0].ndim >= 1:
        a = arrays[0]
        grown = np.concatenate([a, a[..., :1]], axis=-1) if a.shape[-1] else \
            np.zeros(a.shape[:-1] + (1,), a.dtype)
        out["mismatch"] = [grown] + list(arrays[1:])
    # NumPy turns 0-d results into scalars: make them arrays again; float inputs default to
    # float32 (as a user's would be)
    out = {k: [np.asarray(a) if isinstance(a, np.generic) else a for a in v]
           for k, v in out.items()}
    return {k: [a.astype(np.float32) if _is_float(a) and k != "mixed_float" else a
                for a in v] for k, v in out.items()}


# -- ops with hostile size / dim arguments -------------------------------------------------

def _F(L):
    return L.nn.functional


BIG = 2**62
PARAMETRIC = {
    "sum_dim_out_of_range": lambda L: L.ones(2, 3).sum(dim=5),
    "sum_dim_huge": lambda L: L.ones(2, 3).sum(dim=BIG),
    "mean_dim_negative": lambda L: L.ones(2, 3).mean(dim=-3),
    "softmax_dim_out_of_range": lambda L: L.softmax(L.ones(2, 3), dim=2),
    "cumsum_dim_out_of_range": lambda L: L.cumsum(L.ones(2, 3), dim=-3),
    "argmax_dim_out_of_range": lambda L: L.argmax(L.ones(2, 3), dim=2),
    "topk_k_too_big": lambda L: L.topk(L.ones(3), 4),
    "topk_k_negative": lambda L: L.topk(L.ones(3), -1),
    "kthvalue_k_zero": lambda L: L.kthvalue(L.ones(3), 0),
    "narrow_negative_length": lambda L: L.ones(4).narrow(0, 1, -1),
    "narrow_start_huge": lambda L: L.ones(4).narrow(0, BIG, 1),
    "split_size_zero": lambda L: L.ones(4).split(0),
    "split_size_negative": lambda L: L.ones(4).split(-1),
    "chunk_zero": lambda L: L.ones(4).chunk(0),
    "reshape_two_minus_one": lambda L: L.ones(4).reshape(-1, -1),
    "reshape_negative": lambda L: L.ones(4).reshape(-2, -2),
    "reshape_huge": lambda L: L.ones(4).reshape(BIG, 4),
    "view_wrong_numel": lambda L: L.ones(4).view(3),
    "expand_negative": lambda L: L.ones(1, 3).expand(-2, 3),
    "expand_huge": lambda L: L.ones(1, 3).expand(BIG, 3).sum(),
    "repeat_negative": lambda L: L.ones(3).repeat(-1),
    "repeat_fewer_dims": lambda L: L.ones(2, 3).repeat(2),
    "tile_negative": lambda L: L.tile(L.ones(3), (-1,)),
    "zeros_negative": lambda L: L.zeros(-1),
    "zeros_huge": lambda L: L.zeros(BIG, BIG),
    "ones_huge_1d": lambda L: L.ones(BIG),
    "empty_negative": lambda L: L.empty(2, -3),
    "full_negative": lambda L: L.full((-1,), 1.0),
    "randn_negative": lambda L: L.randn(-1),
    "rand_huge": lambda L: L.rand(BIG, BIG),
    "randint_empty_range": lambda L: L.randint(5, 5, (2,)),
    "arange_zero_step": lambda L: L.arange(0, 5, 0),
    "arange_wrong_sign": lambda L: L.arange(0, 5, -1),
    "arange_huge": lambda L: L.arange(0, 2**62, 1),
    "linspace_negative_steps": lambda L: L.linspace(0, 1, -1),
    "eye_negative": lambda L: L.eye(-1),
    "unsqueeze_dim_out_of_range": lambda L: L.ones(2).unsqueeze(3),
    "squeeze_dim_out_of_range": lambda L: L.ones(2).squeeze(2),
    "transpose_dim_out_of_range": lambda L: L.ones(2, 3).transpose(0, 2),
    "permute_repeated": lambda L: L.ones(2, 3).permute(0, 0),
    "permute_too_few": lambda L: L.ones(2, 3).permute(0),
    "movedim_out_of_range": lambda L: L.movedim(L.ones(2, 3), 0, 2),
    "flatten_start_after_end": lambda L: L.ones(2, 3, 4).flatten(2, 1),
    "unflatten_wrong_product": lambda L: L.ones(6).unflatten(0, (4, 2)),
    "diagonal_same_dims": lambda L: L.ones(3, 3).diagonal(0, 0, 0),
    "roll_dims_mismatch": lambda L: L.roll(L.ones(3), (1, 2), (0,)),
    "cat_dim_out_of_range": lambda L: L.cat([L.ones(2), L.ones(2)], dim=1),
    "cat_empty_list": lambda L: L.cat([]),
    "stack_shape_mismatch": lambda L: L.stack([L.ones(2), L.ones(3)]),
    "gather_index_out_of_range": lambda L: L.gather(L.ones(3), 0, L.tensor([3])),
    "gather_negative_index": lambda L: L.gather(L.ones(3), 0, L.tensor([-1])),
    "index_select_out_of_range": lambda L: L.index_select(L.ones(3), 0, L.tensor([5])),
    "index_select_negative": lambda L: L.index_select(L.ones(3), 0, L.tensor([-1])),
    "getitem_out_of_range": lambda L: L.ones(3)[5],
    "getitem_huge": lambda L: L.ones(3)[BIG],
    "take_out_of_range": lambda L: L.take(L.ones(3), L.tensor([3])),
    "scatter_out_of_range": lambda L: L.zeros(3).scatter(0, L.tensor([4]), 1.0),
    "index_add_out_of_range": lambda L: L.zeros(3).index_add(0, L.tensor([3]), L.ones(1)),
    "embedding_out_of_range": lambda L: _F(L).embedding(L.tensor([3]), L.ones(3, 2)),
    "one_hot_negative": lambda L: _F(L).one_hot(L.tensor([-1]), 3),
    "one_hot_too_few_classes": lambda L: _F(L).one_hot(L.tensor([3]), 3),
    "nll_loss_target_out_of_range": lambda L: _F(L).nll_loss(L.zeros(2, 3), L.tensor([0, 3])),
    "cross_entropy_target_negative": lambda L: _F(L).cross_entropy(L.zeros(2, 3),
                                                                   L.tensor([0, -2])),
    "pad_negative_beyond_size": lambda L: _F(L).pad(L.ones(1, 1, 2), (-3, 0)),
    "pad_odd_length": lambda L: _F(L).pad(L.ones(1, 1, 2), (1,)),
    "pad_reflect_too_big": lambda L: _F(L).pad(L.ones(1, 1, 2), (2, 2), mode="reflect"),
    "interpolate_zero_size": lambda L: _F(L).interpolate(L.ones(1, 1, 4), size=0),
    "interpolate_negative_scale": lambda L: _F(L).interpolate(L.ones(1, 1, 4),
                                                              scale_factor=-1.0),
    "conv2d_stride_zero": lambda L: _F(L).conv2d(L.ones(1, 1, 3, 3), L.ones(1, 1, 2, 2),
                                                 stride=0),
    "conv2d_stride_huge": lambda L: _F(L).conv2d(L.ones(1, 1, 3, 3), L.ones(1, 1, 2, 2),
                                                 stride=BIG),
    "conv2d_padding_negative": lambda L: _F(L).conv2d(L.ones(1, 1, 3, 3),
                                                      L.ones(1, 1, 2, 2), padding=-1),
    "conv2d_padding_huge": lambda L: _F(L).conv2d(L.ones(1, 1, 3, 3), L.ones(1, 1, 2, 2),
                                                  padding=BIG),
    "conv1d_dilation_zero": lambda L: _F(L).conv1d(L.ones(1, 1, 5), L.ones(1, 1, 2),
                                                   dilation=0),
    "conv_transpose1d_stride_huge": lambda L: _F(L).conv_transpose1d(
        L.ones(1, 1, 3), L.ones(1, 1, 2), stride=BIG),
    "conv_transpose2d_output_padding_big": lambda L: _F(L).conv_transpose2d(
        L.ones(1, 1, 3, 3), L.ones(1, 1, 2, 2), output_padding=3),
    "max_pool2d_stride_huge": lambda L: _F(L).max_pool2d(L.ones(1, 1, 4, 4), 2, stride=BIG),
    "max_pool2d_kernel_huge": lambda L: _F(L).max_pool2d(L.ones(1, 1, 4, 4), BIG),
    "avg_pool2d_padding_huge": lambda L: _F(L).avg_pool2d(L.ones(1, 1, 4, 4), 2,
                                                          padding=BIG),
    "avg_pool2d_divisor_zero": lambda L: _F(L).avg_pool2d(L.ones(1, 1, 4, 4), 2,
                                                          divisor_override=0),
    "adaptive_avg_pool2d_negative": lambda L: _F(L).adaptive_avg_pool2d(L.ones(1, 1, 4, 4),
                                                                        -1),
    "adaptive_max_pool2d_empty": lambda L: _F(L).adaptive_max_pool2d(L.ones(1, 2, 0, 4), 2),
    "adaptive_avg_pool2d_empty": lambda L: _F(L).adaptive_avg_pool2d(L.ones(1, 2, 0, 4), 2),
    "unfold_kernel_negative": lambda L: _F(L).unfold(L.ones(1, 1, 4, 4), -1),
    "unfold_dilation_negative": lambda L: _F(L).unfold(L.ones(1, 1, 4, 4), 2, dilation=-1),
    "fold_output_too_small": lambda L: _F(L).fold(L.ones(1, 4, 4), (1, 1), 2),
    "tensor_unfold_step_zero": lambda L: L.ones(5).unfold(0, 2, 0),
    "tensor_unfold_size_huge": lambda L: L.ones(5).unfold(0, BIG, 1),
    "diff_negative_order": lambda L: L.diff(L.ones(3), n=-1),
    "tril_indices_negative": lambda L: L.tril_indices(-1, 3),
    "multinomial_too_many": lambda L: L.multinomial(L.ones(3), 4),
    "multinomial_negative_prob": lambda L: L.multinomial(L.tensor([1.0, -1.0]), 1),
    "bernoulli_p_out_of_range": lambda L: L.bernoulli(L.tensor([1.5])),
    "histc_negative_bins": lambda L: L.histc(L.ones(3), bins=-1),
    "bincount_negative": lambda L: L.bincount(L.tensor([-1])),
    "dropout_p_out_of_range": lambda L: _F(L).dropout(L.ones(3), p=1.5),
    "layer_norm_shape_mismatch": lambda L: _F(L).layer_norm(L.ones(2, 3), (4,)),
    "group_norm_not_divisible": lambda L: _F(L).group_norm(L.ones(1, 3, 2), 2),
    "batch_norm_wrong_running": lambda L: _F(L).batch_norm(L.ones(2, 3), L.zeros(4),
                                                           L.ones(4)),
    "linear_shape_mismatch": lambda L: _F(L).linear(L.ones(2, 3), L.ones(4, 5)),
    "matmul_shape_mismatch": lambda L: L.matmul(L.ones(2, 3), L.ones(4, 5)),
    "mm_zero_dim": lambda L: L.mm(L.ones(()), L.ones(())),
    "bmm_batch_mismatch": lambda L: L.bmm(L.ones(2, 2, 3), L.ones(3, 3, 2)),
    "cross_entropy_empty_batch": lambda L: _F(L).cross_entropy(L.ones(0, 3),
                                                               L.ones(0, dtype=L.long)),
    "flip_dim_out_of_range": lambda L: L.flip(L.ones(2), (1,)),
    "flip_repeated_dim": lambda L: L.flip(L.ones(2), (0, 0)),
    "sort_dim_out_of_range": lambda L: L.sort(L.ones(2), dim=1),
    "unique_dim_out_of_range": lambda L: L.unique(L.ones(2), dim=1),
    "norm_p_string_bad": lambda L: L.norm(L.ones(2), p="bad"),
    "einsum_bad_equation": lambda L: L.einsum("ij,jk->il", L.ones(2, 2), L.ones(2, 2)),
    "clamp_min_gt_max": lambda L: L.clamp(L.ones(2), min=L.ones(3)),
    "where_shape_mismatch": lambda L: L.where(L.ones(2, dtype=L.bool), L.ones(3), L.ones(2)),
    "masked_fill_mask_float": lambda L: L.ones(2).masked_fill(L.ones(2), 0.0),
    "set_default_dtype_int": lambda L: L.set_default_dtype(L.int64),
}


# -- known divergences ---------------------------------------------------------------------

# (case id) -> "torch: <outcome>; ember: <outcome>": each is a real, still-open difference
# (ember is stricter, more lenient, or raises another type). The test fails when one of them
# goes away, so this list only shrinks as they are fixed; it is not a skip list.
KNOWN_DIVERGENCES: dict[str, str] = {
    # -- bool inputs: torch's kernel has no bool loop (or refuses bool) where ember computes, or the two refuse with different types
    "addmm_:bool": "torch: RuntimeError; ember: NotImplementedError",
    # -- integer inputs where torch's kernel takes floating types only (or vice versa)
    # -- complex inputs: torch's CPU kernel has no complex loop
    "deg2rad:complex64": "torch: RuntimeError; ember: NotImplementedError",
    "logcumsumexp:complex64": "torch: ok; ember: NotImplementedError",
    "loss.cross_entropy_probs:complex64": "torch: RuntimeError; ember: NotImplementedError",
    "rad2deg:complex64": "torch: RuntimeError; ember: NotImplementedError",
    "rms_norm:complex64": "torch: ok; ember: RuntimeError",
    # -- float64 mixed with float32: torch demands one dtype in some kernels and promotes in others; ember promotes or refuses the other way round
    "conv2d_empty_batch:mixed_float": "torch: ok; ember: RuntimeError",
    "einsum_batch_diag:mixed_float": "torch: ok; ember: RuntimeError",
    "einsum_broadcast_letter:mixed_float": "torch: ok; ember: RuntimeError",
    "einsum_outer_sum:mixed_float": "torch: ok; ember: RuntimeError",
    "einsum_scalar:mixed_float": "torch: ok; ember: RuntimeError",
    "group_norm:mixed_float": "torch: RuntimeError; ember: ok",
    "instance_norm:mixed_float": "torch: RuntimeError; ember: ok",
    "kron:mixed_float": "torch: ok; ember: RuntimeError",
    "layer_norm:mixed_float": "torch: RuntimeError; ember: ok",
    "layer_norm_2d:mixed_float": "torch: RuntimeError; ember: ok",
    # -- 0-d inputs: the two check the rank in another order (IndexError vs RuntimeError) or ember accepts a rank torch refuses
    "addbmm:zero_dim": "torch: IndexError; ember: RuntimeError",
    "avg_pool2d:zero_dim": "torch: IndexError; ember: RuntimeError",
    "avg_pool2d_divisor:zero_dim": "torch: IndexError; ember: RuntimeError",
    "avg_pool2d_pad_ceil:zero_dim": "torch: IndexError; ember: RuntimeError",
    "baddbmm:zero_dim": "torch: IndexError; ember: RuntimeError",
    "batch_norm_eval:zero_dim": "torch: RuntimeError; ember: ValueError",
    "batch_norm_train:zero_dim": "torch: IndexError; ember: ValueError",
    "batch_norm_train_no_affine:zero_dim": "torch: IndexError; ember: ValueError",
    "cholesky:zero_dim": "torch: RuntimeError; ember: IndexError",
    "cholesky_upper:zero_dim": "torch: RuntimeError; ember: IndexError",
    "eigh:zero_dim": "torch: RuntimeError; ember: IndexError",
    "einsum_ellipsis:zero_dim": "torch: RuntimeError; ember: KeyError",
    "fold:zero_dim": "torch: RuntimeError; ember: NotImplementedError",
    "kthvalue:zero_dim": "torch: IndexError; ember: RuntimeError",
    "logdet:zero_dim": "torch: RuntimeError; ember: IndexError",
    "loss.cosine_embedding:zero_dim": "torch: RuntimeError; ember: ok",
    "loss.multilabel_soft_margin:zero_dim": "torch: IndexError; ember: ok",
    "lp_pool2d:zero_dim": "torch: IndexError; ember: RuntimeError",
    "masked_scatter:zero_dim": "torch: ok; ember: ValueError",
    "masked_select:zero_dim": "torch: ok; ember: ValueError",
    "mv:zero_dim": "torch: IndexError; ember: RuntimeError",
    "nn.embedding_plain:zero_dim": "torch: RuntimeError; ember: IndexError",
    "pixel_shuffle:zero_dim": "torch: RuntimeError; ember: ValueError",
    "pixel_unshuffle:zero_dim": "torch: RuntimeError; ember: ValueError",
    "renorm:zero_dim": "torch: RuntimeError; ember: ok",
    "renorm_p1:zero_dim": "torch: RuntimeError; ember: IndexError",
    "repeat_interleave_tensor:zero_dim": "torch: IndexError; ember: RuntimeError",
    "take_along_dim_flat:zero_dim": "torch: RuntimeError; ember: IndexError",
    "tensor_split:zero_dim": "torch: RuntimeError; ember: IndexError",
    "tensor_split_idx:zero_dim": "torch: RuntimeError; ember: IndexError",
    "triangular_solve:zero_dim": "torch: RuntimeError; ember: IndexError",
    "unfold:zero_dim": "torch: IndexError; ember: NotImplementedError",
    # -- empty inputs
    "batch_norm_eval:empty": "torch: IndexError; ember: RuntimeError",
    "batch_norm_train:empty": "torch: IndexError; ember: RuntimeError",
    "batch_norm_train_no_affine:empty": "torch: ok; ember: ValueError",
    "index_copy:empty": "torch: IndexError; ember: RuntimeError",
    "instance_norm:empty": "torch: IndexError; ember: ValueError",
    "kthvalue_flat:empty": "torch: IndexError; ember: RuntimeError",
    "nn.bilinear:empty": "torch: ok; ember: RuntimeError",
    "pad_replicate:empty": "torch: RuntimeError; ember: ok",
    "sdpa_bool_mask:empty": "torch: ok; ember: RuntimeError",
    "sdpa_float_mask:empty": "torch: ok; ember: RuntimeError",
    # -- only the first input empty (a shape mismatch)
    "batch_norm_train:empty_first": "torch: ok; ember: ValueError",
    "index_add:empty_first": "torch: ok; ember: IndexError",
    "instance_norm:empty_first": "torch: IndexError; ember: ok",
    "loss.cross_entropy_probs:empty_first": "torch: ValueError; ember: RuntimeError",
    "masked_scatter:empty_first": "torch: RuntimeError; ember: ValueError",
    "quantile_dim:empty_first": "torch: RuntimeError; ember: ok",
    "take_along_dim_flat:empty_first": "torch: RuntimeError; ember: IndexError",
    # -- mismatched shapes
    "index_add:mismatch": "torch: RuntimeError; ember: ValueError",
    "masked_scatter:mismatch": "torch: RuntimeError; ember: ValueError",
    # -- float tensors where indices are expected
    "index_fill:float_index": "torch: IndexError; ember: RuntimeError",
    "take:float_index": "torch: RuntimeError; ember: IndexError",
    "take_along_dim_flat:float_index": "torch: RuntimeError; ember: IndexError",
    # -- FFTs over an empty batch: PyTorch's MKL backend fails ("Inconsistent configuration
    # parameters", pytorch#174984; its pocketfft backend returns the empty result, as ember does)
    "ifft_n_pad_ortho:empty": "torch: RuntimeError; ember: ok",
    "fftn_s_ortho:empty": "torch: RuntimeError; ember: ok",
    # -- size/dim arguments (PARAMETRIC)
    "param:arange_huge": "torch: RuntimeError; ember: ValueError",
    "param:rand_huge": "torch: RuntimeError; ember: ValueError",
}


# -- the tests -----------------------------------------------------------------------------

def _cases():
    for spec in OPS:
        yield spec.name, spec


def _divergences_of(name, spec) -> dict:
    found = {}
    arrays = _first_sample(spec)
    for variant, args in _variants(arrays).items():
        t = _outcome(spec.fn, torch, args)
        e = _outcome(spec.fn, ember, args)
        if e == "MemoryError" or t != e:
            found[f"{name}:{variant}"] = f"torch: {t}; ember: {e}"
    return found


SPECS = list(_cases())


@pytest.mark.parametrize("name,spec", SPECS, ids=[n for n, _ in SPECS])
def test_op_table_entry_under_hostile_inputs(name, spec):
    found = _divergences_of(name, spec)
    known = {k: v for k, v in KNOWN_DIVERGENCES.items() if k.split(":")[0] == name}
    new = {k: v for k, v in found.items() if k not in known}
    fixed = sorted(set(known) - set(found))
    assert not new, f"new divergences from PyTorch: {new}"
    assert not fixed, f"listed divergences no longer happen (remove them): {fixed}"


@pytest.mark.parametrize("name", sorted(PARAMETRIC))
def test_hostile_size_and_dim_arguments(name):
    fn = PARAMETRIC[name]
    dtype = torch.get_default_dtype()
    try:
        t = _outcome(lambda L: fn(L), torch, [])
        e = _outcome(lambda L: fn(L), ember, [])
    finally:
        torch.set_default_dtype(dtype)
        ember.set_default_dtype(ember.float32)
    key = f"param:{name}"
    if key in KNOWN_DIVERGENCES:
        assert e != t or e == "MemoryError", f"{key} is fixed: remove it from the list"
        return
    assert e != "MemoryError", f"{name}: ember raised MemoryError (torch: {t})"
    assert e == t, f"{name}: torch {t}, ember {e}"
