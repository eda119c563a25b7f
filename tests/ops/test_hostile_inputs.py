"""Every op-table entry called with hostile arguments: both libraries succeed with the same
answer (shape, dtype and values), or both raise the same exception type. Never a crash, a hang
or a MemoryError.

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


def _run(fn, lib, arrays) -> tuple:
    """('ok', the result), or (the exception's category name, None); MemoryError and others
    by their own name."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args = [lib.from_numpy(np.array(a)) if isinstance(a, np.ndarray) else a
                    for a in arrays]
            result = fn(lib, *args)
    except MemoryError:
        return "MemoryError", None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        for cat in _CATEGORIES:
            if isinstance(e, cat):
                return cat.__name__, None
        return type(e).__name__, None
    return "ok", result


def _outcome(fn, lib, arrays) -> str:
    return _run(fn, lib, arrays)[0]


def _leaves(value) -> list:
    if isinstance(value, (tuple, list)):  # named tuples (values, indices) too
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _as_numpy(t) -> np.ndarray:
    if t.dtype.is_floating_point and t.dtype.itemsize < 4:  # bfloat16/float16/float8
        t = t.float()
    if isinstance(t, torch.Tensor):
        return t.detach().resolve_conj().resolve_neg().numpy()
    return np.asarray(t.detach().resolve_conj().numpy())


def _value_difference(want, got) -> str | None:
    """How ember's result differs from torch's when both libraries succeed (shape, dtype or
    values, with float tolerances loose enough for another summation order), or None."""
    want, got = _leaves(want), _leaves(got)
    if len(want) != len(got):
        return f"{len(got)} outputs, not {len(want)}"
    for w, g in zip(want, got):
        if not isinstance(w, torch.Tensor):
            same = w == g or (w != w and g != g)  # plain numbers and sizes; NaN equals NaN
            if not same:
                return "values differ"
            continue
        if tuple(w.shape) != tuple(g.shape):
            return f"shape {list(g.shape)}, not {list(w.shape)}"
        if str(w.dtype) != str(g.dtype):
            return f"dtype {g.dtype}, not {w.dtype}"
        if w.layout != torch.strided:
            continue
        a, b = _as_numpy(w), _as_numpy(g)
        close = np.allclose(a, b, rtol=1e-3, atol=1e-4, equal_nan=True) if a.dtype.kind in "fc" \
            else np.array_equal(a, b)
        if not close:
            return "values differ"
    return None


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
    # -- FFTs over an empty batch: PyTorch's MKL backend fails ("Inconsistent configuration
    # parameters", pytorch#174984; its pocketfft backend returns the empty result, as ember does)
    "ifft_n_pad_ortho:empty": "torch: RuntimeError; ember: ok",
    "fftn_s_ortho:empty": "torch: RuntimeError; ember: ok",
    # -- both answer, but ember's answer differs from torch's (shape, dtype or values)
    # torch returns its input unchanged for an empty batch (shape [0, C, H, W] kept), ember
    # the unshuffled shape
    "pixel_unshuffle:empty": "torch: ok; ember: ok, shape [0, 8, 2, 1], not [0, 2, 4, 2]",
    # at the poles (negative integers) torch gives huge finite values, ember inf
    "polygamma1_negative:int64": "torch: ok; ember: ok, values differ",
}


# -- the tests -----------------------------------------------------------------------------

def _cases():
    for spec in OPS:
        yield spec.name, spec


# both answer, but torch's answer is not reproducible: its margin losses of an empty batch
# return uninitialized memory (ember: NaN for 'mean', 0 for 'sum')
UNCOMPARED_VALUES = {"loss.multi_margin:empty", "loss.multilabel_margin:empty"}


def _divergences_of(name, spec) -> dict:
    found = {}
    arrays = _first_sample(spec)
    for variant, args in _variants(arrays).items():
        t, want = _run(spec.fn, torch, args)
        e, got = _run(spec.fn, ember, args)
        if e == "MemoryError" or t != e:
            found[f"{name}:{variant}"] = f"torch: {t}; ember: {e}"
        elif t == "ok" and f"{name}:{variant}" not in UNCOMPARED_VALUES:
            diff = _value_difference(want, got)  # both answer: the answers must agree
            if diff:
                found[f"{name}:{variant}"] = f"torch: ok; ember: ok, {diff}"
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


# -- pinned: what issue 13 fixed beyond the op-table variants ---------------------------------

# each raises in both libraries: the same exception type and torch's message (ember's may go
# on with a hint after it)
RAISING = {
    "einsum_mixed_contracted": lambda L: L.einsum("ij,jk->ik", L.ones(2, 3, dtype=L.float64),
                                                  L.ones(3, 4)),
    "einsum_int_sum_then_bmm": lambda L: L.einsum("ij,jk->i", L.ones(2, 3, dtype=L.int32),
                                                  L.ones(3, 4, dtype=L.int32)),
    "einsum_bool_contracted": lambda L: L.einsum("ij,jk->i", L.ones(2, 3, dtype=L.bool),
                                                 L.ones(3, 4, dtype=L.int32)),
    "einsum_ellipsis_short": lambda L: L.einsum("...ij,...jk->...ik", L.ones(2, 3), L.ones(3)),
    "tensordot_mixed": lambda L: L.tensordot(L.ones(2, dtype=L.float64), L.ones(3), dims=0),
    "conv2d_mixed_nonempty": lambda L: _F(L).conv2d(L.ones(1, 2, 4, 4, dtype=L.float64),
                                                    L.ones(3, 2, 3, 3)),
    "conv2d_empty_bias_mixed": lambda L: _F(L).conv2d(L.ones(0, 2, 4, 4, dtype=L.float64),
                                                      L.ones(3, 2, 3, 3), L.ones(3)),
    "sdpa_int_mask": lambda L: _F(L).scaled_dot_product_attention(
        L.ones(2, 3, 4), L.ones(2, 5, 4), L.ones(2, 5, 3), attn_mask=L.ones(3, 5, dtype=L.long)),
    "sdpa_float64_mask": lambda L: _F(L).scaled_dot_product_attention(
        L.ones(2, 3, 4), L.ones(2, 5, 4), L.ones(2, 5, 3),
        attn_mask=L.ones(3, 5, dtype=L.float64)),
    "batch_norm_1d_train": lambda L: _F(L).batch_norm(L.ones(3), None, None, training=True),
    "batch_norm_eval_no_stats": lambda L: _F(L).batch_norm(L.ones(2, 3), None, None),
    "batch_norm_wrong_bias": lambda L: _F(L).batch_norm(L.ones(2, 3), None, None, L.ones(3),
                                                        L.ones(5), training=True),
    "batch_norm_empty_weight0": lambda L: _F(L).batch_norm(L.ones(0, 3), None, None,
                                                           L.ones(0), training=True),
    "layer_norm_f32_f64_weight": lambda L: _F(L).layer_norm(L.ones(3, 4), (4,),
                                                            L.ones(4, dtype=L.float64)),
    "layer_norm_f64_bias": lambda L: _F(L).layer_norm(L.ones(3, 4), (4,), L.ones(4),
                                                      L.ones(4, dtype=L.float64)),
    "group_norm_bf16_f64": lambda L: _F(L).group_norm(L.ones(2, 4, 3, dtype=L.bfloat16), 2,
                                                      L.ones(4, dtype=L.float64)),
    "instance_norm_empty_weight": lambda L: _F(L).instance_norm(L.ones(0, 3, 4),
                                                                weight=L.ones(3)),
    "index_add_source_shape": lambda L: L.index_add(L.ones(3, 4), 0, L.tensor([0]),
                                                    L.ones(1, 1, 4)),
    "index_add_count": lambda L: L.index_add(L.ones(3, 5), 0, L.tensor([0, 1]), L.ones(3, 5)),
    "index_add_float_index": lambda L: L.index_add(L.ones(3), 0, L.tensor([0.0]), L.ones(1)),
    "index_copy_int32_index": lambda L: L.ones(3, 4).index_copy(1, L.tensor([0, 1],
                                                                 dtype=L.int32), L.ones(3, 2)),
    "index_copy_slice_shape": lambda L: L.ones(3, 4).index_copy(1, L.tensor([0, 1]),
                                                                L.ones(2, 2)),
    "index_copy_out_of_bounds": lambda L: L.ones(3, 4).index_copy(1, L.tensor([0, 4]),
                                                                  L.ones(3, 2)),
    "index_fill_int32_index": lambda L: L.ones(3, 4).index_fill(1, L.tensor([0],
                                                                dtype=L.int32), 1.0),
    "take_int32_index": lambda L: L.take(L.ones(3), L.tensor([0], dtype=L.int32)),
    "take_along_dim_int32": lambda L: L.take_along_dim(L.ones(3, 4),
                                                       L.tensor([[0]], dtype=L.int32), 1),
    "take_along_dim_flat_negative": lambda L: L.take_along_dim(L.ones(3, 4), L.tensor([-1])),
    "gather_int16_index": lambda L: L.gather(L.ones(3, 4), 1, L.tensor([[0]], dtype=L.int16)),
    "masked_scatter_short_source": lambda L: L.ones(3).masked_scatter(
        L.tensor([True, True, False]), L.ones(1)),
    "cosine_embedding_2d_target": lambda L: _F(L).cosine_embedding_loss(L.ones(2, 3),
                                                                        L.ones(2, 3), L.ones(2, 3)),
    "cosine_embedding_3d_input": lambda L: _F(L).cosine_embedding_loss(L.ones(2, 3, 4),
                                                                       L.ones(2, 3, 4), L.ones(2)),
    "renorm_vector": lambda L: L.renorm(L.ones(3), 2, 0, 1.0),
    "renorm_negative_maxnorm": lambda L: L.renorm(L.ones(2, 2), 2, 0, -1.5),
    "pad_reflect_empty_channels": lambda L: _F(L).pad(L.ones(2, 0, 4), (1, 1), mode="reflect"),
    "pad_replicate_empty_width": lambda L: _F(L).pad(L.ones(2, 3, 0), (1, 1), mode="replicate"),
    "quantile_empty_rows": lambda L: L.quantile(L.ones(0, 5), 0.5, dim=1),
    "kthvalue_empty_dim": lambda L: L.kthvalue(L.ones(2, 0), 1, 1),
    "unfold_matrix": lambda L: _F(L).unfold(L.ones(3, 4), 2),
    "fold_4d": lambda L: _F(L).fold(L.ones(2, 8, 18, 1), (4, 5), 2),
    "max_pool1d_vector": lambda L: _F(L).max_pool1d(L.ones(4), 2),
    "avg_pool1d_vector": lambda L: _F(L).avg_pool1d(L.ones(4), 2),
    "max_pool2d_empty_channels": lambda L: _F(L).max_pool2d(L.ones(2, 0, 4, 4), 2),
    "avg_pool2d_matrix": lambda L: _F(L).avg_pool2d(L.ones(4, 4), 2),
    "avg_pool3d_empty_depth": lambda L: _F(L).avg_pool3d(L.ones(2, 3, 4, 4, 0), 2),
    "repeat_interleave_scalar_dim": lambda L: L.tensor(1.0).repeat_interleave(2, dim=0),
    "addmm_mat_dtypes": lambda L: L.addmm(L.ones(2, 3), L.ones(2, 4, dtype=L.float64),
                                          L.ones(4, 3)),
    "addmv_dtypes": lambda L: L.addmv(L.ones(2), L.ones(2, 4, dtype=L.float64), L.ones(4)),
    "baddbmm_dtypes": lambda L: L.baddbmm(L.ones(2, 2, 3), L.ones(2, 2, 4, dtype=L.float64),
                                          L.ones(2, 4, 3)),
    "baddbmm_matrix_batch": lambda L: L.baddbmm(L.ones(2, 3, 5), L.ones(3, 4), L.ones(4, 5)),
    "addbmm_vector_batch": lambda L: L.ones(3, 5).addbmm(L.ones(4), L.ones(4)),
    "mv_scalar_matrix": lambda L: L.tensor(1.0).mv(L.ones(3)),
    "embedding_vector_weight": lambda L: _F(L).embedding(L.tensor([0]), L.ones(5)),
    "embedding_scalar_weight_padding": lambda L: _F(L).embedding(L.tensor(0), L.tensor(1.0),
                                                                 padding_idx=1),
    "embedding_scalar_weight_padding_0": lambda L: _F(L).embedding(L.tensor(0),
                                                                   L.tensor(1.0), padding_idx=0),
    "cross_entropy_batch_before_dtype": lambda L: _F(L).cross_entropy(L.ones(2, 3), L.ones(3)),
    "cross_entropy_complex_probabilities": lambda L: _F(L).cross_entropy(
        L.ones(3, 4), L.ones(3, 4, dtype=L.complex64)),
    "nll_loss_1d_dtype_before_size": lambda L: _F(L).nll_loss(L.ones(3),
                                                              L.ones(2, dtype=L.int32)),
    "nll_loss_3d_size_before_dtype": lambda L: _F(L).nll_loss(L.ones(2, 3, 4),
                                                              L.ones(2, 5, dtype=L.int32)),
    "deg2rad_complex": lambda L: L.deg2rad(L.ones(2, dtype=L.complex64)),
    "nextafter_complex": lambda L: L.nextafter(L.ones(2, dtype=L.complex64),
                                               L.ones(2, dtype=L.complex64)),
    "triangular_solve_vector_b": lambda L: L.triangular_solve(L.ones(3), L.ones(3, 3)),
    "pixel_shuffle_matrix": lambda L: _F(L).pixel_shuffle(L.ones(4, 4), 2),
    "tensor_split_scalar": lambda L: L.tensor_split(L.tensor(1.0), 2),
}


@pytest.mark.parametrize("name", sorted(RAISING))
def test_hostile_input_raises_torch_error(name):
    fn = RAISING[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as t_err:
            fn(torch)
        with pytest.raises(type(t_err.value)) as e_err:
            fn(ember)
    t_msg = str(t_err.value).split("\n")[0].strip()
    assert str(e_err.value).startswith(t_msg[:60]), (str(e_err.value), t_msg)


def _c(L, values, dtype="complex64"):
    return L.tensor(values, dtype=getattr(L, dtype))


# each answers in both libraries: the same shapes, dtypes and values
ANSWERING = {
    "einsum_int_sum_promotes": lambda L: L.einsum("ij->i", L.arange(6, dtype=L.int32)
                                                  .reshape(3, 2)),
    "einsum_int_outer_sum": lambda L: L.einsum("ij,k->ik", L.ones(2, 3, dtype=L.int32),
                                               L.arange(4, dtype=L.int32)),
    "einsum_int_contraction_keeps": lambda L: L.einsum("ij,jk->ik",
                                                       L.ones(2, 3, dtype=L.int32),
                                                       L.ones(3, 4, dtype=L.int32)),
    "einsum_mixed_outer": lambda L: L.einsum("i,j->ij", L.arange(3.0, dtype=L.float64),
                                             L.arange(2.0)),
    "einsum_scalar_operand_promotes": lambda L: L.einsum("i,->i", L.arange(3.0),
                                                         L.tensor(2.0, dtype=L.float64)),
    "kron_int_float": lambda L: L.kron(L.ones(2, 2, dtype=L.int64), L.arange(3.0)),
    "conv2d_empty_f32_f64": lambda L: _F(L).conv2d(L.ones(0, 2, 4, 4),
                                                   L.ones(3, 2, 3, 3, dtype=L.float64)),
    "conv_transpose1d_empty_mixed": lambda L: _F(L).conv_transpose1d(
        L.ones(0, 2, 4, dtype=L.float64), L.ones(2, 3, 3)),
    "sdpa_no_keys": lambda L: _F(L).scaled_dot_product_attention(
        L.ones(2, 3, 4), L.ones(2, 0, 4), L.ones(2, 0, 3), attn_mask=L.ones(3, 7)),
    "sdpa_no_queries": lambda L: _F(L).scaled_dot_product_attention(
        L.ones(2, 0, 4), L.ones(2, 5, 4), L.ones(2, 5, 3), attn_mask=L.ones(7, 9)),
    "bilinear_no_outputs": lambda L: _F(L).bilinear(L.ones(3, 2), L.ones(3, 4),
                                                    L.ones(0, 2, 4)),
    "masked_select_scalar_false": lambda L: L.masked_select(L.tensor(2.0), L.tensor(False)),
    "masked_scatter_broadcast_self": lambda L: L.masked_scatter(
        L.ones(3), L.ones(2, 3, dtype=L.bool), L.arange(6.0)),
    "masked_scatter_scalar": lambda L: L.tensor(1.0).masked_scatter(L.tensor(True),
                                                                    L.tensor(5.0)),
    "batch_norm_empty_eval_no_stats": lambda L: _F(L).batch_norm(L.ones(0, 3), None, None),
    "batch_norm_empty_spatial": lambda L: _F(L).batch_norm(L.ones(2, 3, 0), None, None,
                                                           training=True),
    "instance_norm_empty_spatial": lambda L: _F(L).instance_norm(L.ones(2, 3, 0),
                                                                 weight=L.ones(5)),
    "instance_norm_bf16_f32_weight": lambda L: _F(L).instance_norm(
        L.arange(24.0).reshape(2, 3, 4).to(L.bfloat16), weight=L.tensor([1.0, 2.0, 3.0])),
    "instance_norm_eval_f32_stats": lambda L: _F(L).instance_norm(
        L.arange(24.0, dtype=L.float64).reshape(2, 3, 4), L.tensor([0.0, 1.0, 2.0]),
        L.tensor([1.0, 2.0, 3.0]), use_input_stats=False),
    "index_add_empty_self": lambda L: L.index_add(L.ones(0, 4), 0, L.tensor([7, -3]),
                                                  L.ones(2, 4)),
    "index_add_scalar": lambda L: L.index_add(L.tensor(1.0), 0, L.tensor([0]), L.tensor(2.0),
                                              alpha=2),
    "index_add_bool": lambda L: L.index_add(L.tensor([True, False, False]), 0,
                                            L.tensor([1, 1, 2]), L.tensor([True, True, False])),
    "index_add_int8_wraps": lambda L: L.index_add(L.tensor([1, 2, 3], dtype=L.int8), 0,
                                                  L.tensor([1, 1]), L.tensor([100, 100],
                                                                             dtype=L.int8)),
    "index_copy_scalar": lambda L: L.tensor(1.0).index_copy(0, L.tensor([0]), L.tensor(2.0)),
    "take_along_dim_flat_int32": lambda L: L.take_along_dim(L.arange(12.0).reshape(3, 4),
                                                            L.tensor([11, 0], dtype=L.int32)),
    "logcumsumexp_complex": lambda L: L.logcumsumexp(
        _c(L, [[1 + 2j, 1000 + 1j, -3j], [complex("-inf"), 2 + 3j, 0.5 - 7j]]), 1),
    "logcumsumexp_complex_neg_inf_phase": lambda L: L.logcumsumexp(
        _c(L, [complex(float("-inf"), 2.0), 1 + 1j]), 0),
    "logaddexp_complex": lambda L: L.logaddexp(_c(L, [1 + 2j, 1000 + 1j, -3j]),
                                               _c(L, [-3 + 0.5j, 1000 + 2j, 2 + 1j])),
    "rms_norm_complex": lambda L: _F(L).rms_norm(_c(L, [[1 + 2j, -1j, 3.0], [0.5, 2j, 1 - 1j]]),
                                                 (3,), _c(L, [1j, 2.0, 1 + 1j])),
    "rms_norm_keeps_input_dtype": lambda L: _F(L).rms_norm(L.arange(6.0).reshape(2, 3), (3,),
                                                           L.ones(3, dtype=L.float64)),
    "logdet_complex": lambda L: L.logdet(_c(L, [[1 + 1j, 2], [0, 3 - 1j]])),
    "logdet_complex_singular": lambda L: L.logdet(L.zeros(2, 2, dtype=L.complex64)),
    "sigmoid_complex": lambda L: _F(L).sigmoid(_c(L, [1 + 2j, -3 + 0.5j])),
    "silu_complex": lambda L: _F(L).silu(_c(L, [1 + 2j, -3 + 0.5j])),
    "softsign_complex": lambda L: _F(L).softsign(_c(L, [1 + 2j, -3 + 0.5j])),
    "normalize_complex": lambda L: _F(L).normalize(_c(L, [[1 + 2j, 2 - 1j], [0.5j, 3]]), dim=1),
    "normalize_complex_p1": lambda L: _F(L).normalize(_c(L, [[1 + 2j, 2 - 1j]]), p=1, dim=1),
    "l1_loss_complex": lambda L: _F(L).l1_loss(_c(L, [1 + 2j, 3j]), _c(L, [0j, 1 + 1j])),
    "bce_logits_target_dtype": lambda L: _F(L).binary_cross_entropy_with_logits(
        L.tensor([0.3, -1.2], dtype=L.float64), L.tensor([0.7, 0.1]), reduction="none"),
    "poisson_nll_int": lambda L: _F(L).poisson_nll_loss(L.tensor([1, 2]), L.tensor([1, 0]),
                                                        reduction="none"),
    "addcmul_int_truncates_value": lambda L: L.addcmul(L.tensor([1, 2]), L.tensor([3, 4]),
                                                       L.tensor([5, 6]), value=1.5),
    "cosine_embedding_vector": lambda L: _F(L).cosine_embedding_loss(
        L.tensor([1.0, 2.0, 3.0]), L.ones(3), L.tensor(-1.0)),
    "kthvalue_scalar": lambda L: L.kthvalue(L.tensor(3.0), 1, 0),
    "pad_circular_empty_batch": lambda L: _F(L).pad(L.ones(0, 3, 4), (1, 1, 1, 1),
                                                    mode="circular"),
}


@pytest.mark.parametrize("name", sorted(ANSWERING))
def test_hostile_input_answer_matches_torch(name):
    fn = ANSWERING[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, got = fn(torch), fn(ember)
    diff = _value_difference(want, got)
    assert diff is None, f"{name}: ember's answer: {diff}"


def test_empty_batch_norm_leaves_running_stats_and_gives_zero_grads():
    # torch: no statistics of an empty batch; the affine parameters still get (zero) gradients
    for L in (torch, ember):
        mean, var = L.zeros(3), L.ones(3)
        x, w = L.ones(0, 3, requires_grad=True), L.ones(3, requires_grad=True)
        out = _F(L).batch_norm(x, mean, var, w, None, training=True)
        out.sum().backward()
        assert mean.tolist() == [0.0] * 3 and var.tolist() == [1.0] * 3
        assert w.grad.tolist() == [0.0] * 3 and tuple(x.grad.shape) == (0, 3)


def test_complex_gradients_match_torch():
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex128)
    g = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex128)
    w = (rng.standard_normal(4) + 1j * rng.standard_normal(4)).astype(np.complex128)
    other = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex128)
    cases = {
        "logcumsumexp": lambda L, x: L.logcumsumexp(x, 1),
        "rms_norm": lambda L, x: _F(L).rms_norm(x, (4,), L.from_numpy(w.copy())),
        "logaddexp": lambda L, x: L.logaddexp(x, L.from_numpy(other.copy())),
    }
    for name, fn in cases.items():
        grads = []
        for L in (torch, ember):
            x = L.from_numpy(z.copy()).requires_grad_()
            fn(L, x).backward(L.from_numpy(g.copy()))
            grads.append(_as_numpy(x.grad))
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12, err_msg=name)
