"""Errors read exactly as PyTorch's; ember's teaching hint rides along as a PEP 678 note.

A program that catches an error and prints ``str(e)`` (or ``type(e).__name__``) prints what it
prints on PyTorch; the hint (what was wrong, what to change) shows under the traceback a user
sees, because Python prints an exception's ``__notes__`` there.
"""

import decimal
import subprocess
import sys
import warnings

import numpy as np
import pytest

import ember
from ember._errors import with_hint


def _leaf(lib):
    return lib.ones(3, 4, requires_grad=True)


def _collate_in_loader(lib):
    data = lib.utils.data

    class Ragged(data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return lib.ones(i + 1)

    next(iter(data.DataLoader(Ragged(), batch_size=2)))


def _module_prefix_checkpoint(lib):
    model = lib.nn.Linear(2, 2)
    model.load_state_dict({"module." + k: v for k, v in model.state_dict().items()})


def _saved_tensor_changed(lib):
    out = _leaf(lib).exp()
    loss = out.sum()
    out.add_(1)
    loss.backward()


def _batch_of_one(lib):
    lib.nn.BatchNorm1d(3)(lib.ones(1, 3))


F64, I64, I32 = "float64", "int64", "int32"


def _t(lib, shape, dtype="float32", fill=1.0):
    return lib.full(shape, fill, dtype=getattr(lib, dtype))


# name -> (a call that fails the same way in both libraries, a word the hint must contain)
CASES = {
    # shapes and ranks
    "unfold_rank": (lambda lib: lib.nn.functional.unfold(_t(lib, (3, 4)), 2), "(N, C, H, W)"),
    "view_non_contiguous": (lambda lib: _t(lib, (3, 4)).t().view(12), ".contiguous()"),
    "fold_rank": (lambda lib: lib.nn.functional.fold(_t(lib, (4,)), (2, 2), 1), "unfold"),
    "interpolate_rank": (lambda lib: lib.nn.functional.interpolate(_t(lib, (4,)),
                                                                   scale_factor=2), "(N, C"),
    "embedding_weight_rank": (lambda lib: lib.nn.functional.embedding(
        lib.tensor([1]), _t(lib, (3,))), "rows"),
    "init_fan_of_a_vector": (lambda lib: lib.nn.init.kaiming_uniform_(_t(lib, (3,))),
                             "[3]"),
    "batch_norm_0d_training": (lambda lib: lib.nn.functional.batch_norm(
        lib.tensor(1.0), None, None, training=True), "(N, C, *)"),
    "batch_norm_eval_without_stats": (lambda lib: lib.nn.functional.batch_norm(
        _t(lib, (3,)), None, None, training=False), "(N, C, *)"),
    "batch_norm_running_mean_size": (lambda lib: lib.nn.functional.batch_norm(
        _t(lib, (2, 3)), _t(lib, (4,), fill=0.0), _t(lib, (4,))), "one value per channel"),
    "batch_norm_batch_of_one": (_batch_of_one, "model.eval()"),
    "cross_entropy_target_size": (lambda lib: lib.nn.functional.cross_entropy(
        _t(lib, (2, 3, 4)), _t(lib, (2, 5), I64, 0)), "one class index"),
    "backward_of_a_vector": (lambda lib: (_leaf(lib) * 2).backward(), "out.sum().backward()"),
    "tensor_dataset_sizes": (lambda lib: lib.utils.data.TensorDataset(
        _t(lib, (3,)), _t(lib, (4,))), "first dimension"),
    "random_split_sum": (lambda lib: lib.utils.data.random_split(range(10), [3, 3]), "sum to 6"),
    "default_collate_shapes": (lambda lib: lib.utils.data.default_collate(
        [_t(lib, (3,)), _t(lib, (4,))]), "collate_fn"),
    "dataloader_collate_shapes": (_collate_in_loader, "dataset indices [0, 1]"),
    "default_collate_field_counts": (lambda lib: lib.utils.data.default_collate(
        [[1, 2], [1]]), "sample 1 has 1"),
    "load_state_dict_module_prefix": (_module_prefix_checkpoint, "removeprefix"),
    "max_pool_rank": (lambda lib: lib.nn.functional.max_pool2d(_t(lib, (4,)), 2), "[4]"),
    "meta_to_cpu": (lambda lib: lib.empty(2, device="meta").to("cpu"), "to_empty"),
    # dtypes
    "mm_dtypes": (lambda lib: lib.mm(_t(lib, (2, 2)), _t(lib, (2, 2), F64)), "b.to(a.dtype)"),
    "matmul_int_operand": (lambda lib: _t(lib, (2, 2)) @ _t(lib, (2, 2), I64), "b.to(a.dtype)"),
    "bmm_dtypes": (lambda lib: lib.bmm(_t(lib, (1, 2, 2)), _t(lib, (1, 2, 2), F64)), "Cast"),
    "mv_dtypes": (lambda lib: lib.mv(_t(lib, (2, 2)), _t(lib, (2,), F64)), "Cast"),
    "tensordot_dtypes": (lambda lib: lib.tensordot(_t(lib, (2, 2)), _t(lib, (2, 2), F64)),
                         ".to(dtype)"),
    "einsum_dtypes": (lambda lib: lib.einsum("ij,jk->ik", _t(lib, (2, 2)),
                                             _t(lib, (2, 2), F64)), "one dtype"),
    "conv_weight_dtype": (lambda lib: lib.nn.functional.conv2d(
        _t(lib, (1, 1, 4, 4), F64), _t(lib, (1, 1, 3, 3))), "torch.float64"),
    "conv_module_on_double_input": (lambda lib: lib.nn.Conv2d(1, 1, 2)(
        _t(lib, (1, 1, 3, 3), F64)), "bias is torch.float32"),
    "conv_module_on_long_input": (lambda lib: lib.nn.Conv2d(1, 1, 2)(
        _t(lib, (1, 1, 3, 3), I64)), "input is torch.int64"),
    "layer_norm_on_double_input": (lambda lib: lib.nn.LayerNorm(2)(_t(lib, (3, 2), F64)),
                                   "convert the module or the input"),
    "batch_norm_double_weight": (lambda lib: lib.nn.functional.batch_norm(
        _t(lib, (3, 2)), _t(lib, (2,), fill=0.0), _t(lib, (2,)), _t(lib, (2,), F64)),
        "weight is torch.float64"),
    "cross_entropy_float_target": (lambda lib: lib.nn.functional.cross_entropy(
        _t(lib, (4, 3)), _t(lib, (4,))), "target.long()"),
    "nll_loss_int32_target": (lambda lib: lib.nn.functional.nll_loss(
        _t(lib, (2, 3)), _t(lib, (2,), I32, 0)), "target.long()"),
    "cross_entropy_long_logits": (lambda lib: lib.nn.functional.cross_entropy(
        _t(lib, (4, 3), I64), _t(lib, (4,), I64, 0)), "input.float()"),
    "bce_probabilities": (lambda lib: lib.nn.functional.binary_cross_entropy(
        lib.tensor([0.5, 2.0]), lib.tensor([0.0, 1.0])), "with_logits"),
    "bce_target_dtype": (lambda lib: lib.nn.functional.binary_cross_entropy(
        _t(lib, (3,), fill=0.5), _t(lib, (3,), I64)), "target.float()"),
    "multi_margin_weight_dtype": (lambda lib: lib.nn.functional.multi_margin_loss(
        _t(lib, (2, 3)), _t(lib, (2,), I64, 0), weight=_t(lib, (3,), F64)), "weight.to"),
    "softmax_of_longs": (lambda lib: _t(lib, (3,), I64).softmax(0), "x.float()"),
    "mean_of_longs": (lambda lib: _t(lib, (3,), I64).mean(), "x.float().mean()"),
    "requires_grad_on_longs": (lambda lib: _t(lib, (3,), I64).requires_grad_(), "x.float()"),
    "tensor_of_longs_requiring_grad": (lambda lib: lib.tensor([1, 2], requires_grad=True),
                                       "x.float()"),
    "where_float_condition": (lambda lib: lib.where(_t(lib, (3,)), _t(lib, (3,)),
                                                    _t(lib, (3,), fill=0.0)), "mask != 0"),
    "isclose_dtypes": (lambda lib: lib.isclose(_t(lib, (2,)), _t(lib, (2,), F64)), ".to("),
    "inv_of_longs": (lambda lib: lib.linalg.inv(lib.eye(2, dtype=lib.int64)), "A.double()"),
    "vector_norm_of_longs": (lambda lib: _t(lib, (2,), I64).norm(), "x.float()"),
    "argmax_of_bools": (lambda lib: _t(lib, (2,), "bool").argmax(), "x.int()"),
    "median_of_bools": (lambda lib: _t(lib, (2,), "bool").median(), "x.int()"),
    "argmax_of_nothing": (lambda lib: _t(lib, (0,)).argmax(), "'dim'"),
    "histc_of_longs": (lambda lib: lib.histc(_t(lib, (2,), I64)), ".float()"),
    "bincount_of_floats": (lambda lib: lib.bincount(_t(lib, (2,))), "integers"),
    "logcumsumexp_of_longs": (lambda lib: lib.logcumsumexp(_t(lib, (3,), I64), 0), "floating"),
    "index_select_float_index": (lambda lib: lib.index_select(
        _t(lib, (3,)), 0, lib.tensor([1.0])), "index.long()"),
    "index_add_float_index": (lambda lib: _t(lib, (3,)).index_add_(
        0, lib.tensor([1.0]), _t(lib, (1,))), "index.long()"),
    "take_int32_index": (lambda lib: lib.take(_t(lib, (3,)), _t(lib, (1,), I32, 0)),
                         "index.long()"),
    "take_along_dim_int32_index": (lambda lib: lib.take_along_dim(
        _t(lib, (3,)), _t(lib, (1,), I32, 0), 0), "indices.long()"),
    "index_put_value_dtype": (lambda lib: _t(lib, (2,)).__setitem__(
        lib.tensor([0]), _t(lib, (1,), F64)), ".to(torch.float32)"),
    "fft_of_halves": (lambda lib: lib.fft.fft(_t(lib, (16,), "float16")), ".float()"),
    "stft_of_halves": (lambda lib: lib.stft(_t(lib, (16,), "float16"), 4,
                                            return_complex=True), ".float()"),
    "ihfftn_of_complex": (lambda lib: lib.fft.ihfftn(_t(lib, (4,), "complex64")), "ifftn"),
    "fftfreq_complex_dtype": (lambda lib: lib.fft.fftfreq(4, dtype=lib.complex64), "float"),
    "fft_norm_name": (lambda lib: lib.fft.fft(_t(lib, (4,)), norm="bad"), '"ortho"'),
    "window_complex_dtype": (lambda lib: lib.hann_window(4, dtype=lib.complex64), "real"),
    "attention_mask_dtype": (lambda lib: lib.nn.functional.scaled_dot_product_attention(
        *[_t(lib, (1, 2, 3, 4))] * 3, attn_mask=_t(lib, (3, 3), I64)), ".bool()"),
    "baddbmm_of_bools": (lambda lib: lib.baddbmm(*[_t(lib, (1, 2, 2), "bool")] * 3),
                         "a.float()"),
    # values
    "tensor_of_a_huge_int": (lambda lib: lib.tensor([2 ** 64]), "float64"),
    "tensor_of_tensors": (lambda lib: lib.tensor([_t(lib, (2,)), _t(lib, (2,))]), "stack"),
    "tensor_of_long_tensors": (lambda lib: lib.tensor([_t(lib, (2,), I64)], dtype=lib.long),
                               "stack"),
    "tensor_of_none": (lambda lib: lib.tensor([1, None]), "numbers"),
    "tensor_of_text": (lambda lib: lib.tensor("abc"), "numbers"),
    # autograd
    "saved_tensor_changed_in_place": (_saved_tensor_changed, "out-of-place form"),
    "inplace_on_leaf": (lambda lib: _leaf(lib).add_(1), "no_grad"),
    "setitem_on_leaf": (lambda lib: _leaf(lib).__setitem__(slice(None), 0.0), "no_grad"),
    "setitem_through_view_of_leaf": (lambda lib: _leaf(lib).__setitem__(0, 0.0), "no_grad"),
    "inplace_through_view_of_leaf": (lambda lib: _leaf(lib)[0].mul_(2), "clone"),
    "out_requiring_grad": (lambda lib: lib.add(_leaf(lib), 1, out=lib.empty(3, 4)), "no_grad"),
    "clip_grad_value_without_grads": (lambda lib: lib.nn.utils.clip_grad_value_(
        [lib.nn.Parameter(_t(lib, (1,)))], 1.0), "backward() first"),
}


def _raised(fn, lib):
    with pytest.raises(Exception) as info:
        fn(lib)
    return info.value


@pytest.mark.parametrize("name", list(CASES))
def test_message_is_torchs_and_hint_is_a_note(torch, name):
    fn, hint_word = CASES[name]
    expected, got = _raised(fn, torch), _raised(fn, ember)
    assert type(got).__name__ == type(expected).__name__
    assert str(got) == str(expected)
    notes = getattr(got, "__notes__", [])
    assert any(hint_word in note for note in notes), notes


@pytest.mark.parametrize("index", [
    0, (slice(None), 1), None, slice(0, 2), (Ellipsis, 0), slice(None), Ellipsis,
    (slice(0, 3), slice(None, None, 1))], ids=repr)
def test_setitem_names_the_view_as_torch_does(torch, index):
    """A basic index other than the whole tensor writes through a view of the leaf."""
    def write(lib):
        _leaf(lib)[index] = 0.0

    assert str(_raised(write, ember)) == str(_raised(write, torch))


@pytest.mark.parametrize("index", [7, [5], "tensor"], ids=repr)
def test_setitem_on_leaf_checks_in_torchs_order(torch, index):
    """An out-of-range basic index fails making the view; an advanced one, on the leaf."""
    def write(lib):
        _leaf(lib)[lib.tensor([5]) if index == "tensor" else index] = 0.0

    expected, got = _raised(write, torch), _raised(write, ember)
    assert (type(got).__name__, str(got)) == (type(expected).__name__, str(expected))


@pytest.mark.parametrize("transposed,dtypes", [
    (False, (F64, "float32", "float32")), (False, ("float32", F64, F64)),
    (False, ("float32", F64, "float32")), (False, ("bfloat16", "float32", "float32")),
    (False, ("int16", "float32", "float32")), (True, (F64, "float32", "float32"))])
def test_conv_bias_dtype_checked_first_as_torch(torch, transposed, dtypes):
    def run(lib):
        fn = lib.nn.functional.conv_transpose2d if transposed else lib.nn.functional.conv2d
        shapes = ((1, 1, 4, 4), (1, 1, 3, 3), (1,))
        return fn(*(_t(lib, shape, dt) for shape, dt in zip(shapes, dtypes)))

    assert str(_raised(run, ember)) == str(_raised(run, torch))


def test_saved_tensor_changed_under_anomaly_mode_gives_torchs_hint(torch):
    def run(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the forward trace anomaly mode prints
            with lib.autograd.detect_anomaly():
                _saved_tensor_changed(lib)

    expected, got = _raised(run, torch), _raised(run, ember)
    assert str(got) == str(expected)
    assert any("out-of-place form" in note for note in got.__notes__)


# torch's own wording where ember said something else (no hint to keep)
PLAIN_CASES = {
    "group_norm_weight_size": lambda lib: lib.nn.functional.group_norm(
        _t(lib, (2, 6, 3)), 2, _t(lib, (4,))),
    "group_norm_weight_rank": lambda lib: lib.nn.functional.group_norm(
        _t(lib, (2, 6, 3)), 2, _t(lib, (2, 3))),
    "group_norm_bias_size": lambda lib: lib.nn.functional.group_norm(
        _t(lib, (2, 6, 3)), 2, _t(lib, (6,)), _t(lib, (4,))),
    "group_norm_bias_size_without_weight": lambda lib: lib.nn.functional.group_norm(
        _t(lib, (2, 6, 3)), 2, None, _t(lib, (4,))),
    "group_norm_module_on_other_channels": lambda lib: lib.nn.GroupNorm(2, 4)(_t(lib, (2, 6, 3))),
    "from_numpy_negative_strides": lambda lib: lib.from_numpy(np.arange(3)[::-1]),
    "tensor_of_an_object": lambda lib: lib.tensor([object()]),
    "tensor_of_a_decimal": lambda lib: lib.tensor(decimal.Decimal(1)),
    "tensor_of_bytes": lambda lib: lib.tensor(b"ab"),
}


@pytest.mark.parametrize("name", list(PLAIN_CASES))
def test_message_and_type_are_torchs(torch, name):
    expected, got = _raised(PLAIN_CASES[name], torch), _raised(PLAIN_CASES[name], ember)
    assert (type(got).__name__, str(got)) == (type(expected).__name__, str(expected))


def test_linear_layer_note_is_kept():
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied") as info:
        ember.nn.Linear(4, 2)(ember.ones(3, 5))
    assert any("nn.Flatten()" in note for note in info.value.__notes__)


def test_with_hint_returns_the_error_with_a_note():
    err = with_hint(RuntimeError("expected m1 and m2 to have the same dtype"), "cast one")
    assert str(err) == "expected m1 and m2 to have the same dtype"
    assert err.__notes__ == ["cast one"]


def test_with_hint_appends_where_python_has_no_notes():
    class NoNotes(RuntimeError):  # Python 3.10's exceptions have no add_note
        @property
        def add_note(self):
            raise AttributeError("add_note")

    err = with_hint(NoNotes("torch's words."), "ember's hint")
    assert str(err) == "torch's words. ember's hint"
    assert with_hint(NoNotes(), "hint").args == ("hint",)


def test_uncaught_error_prints_the_hint_under_the_traceback():
    code = ("import ember\n"
            "x = ember.ones(3, requires_grad=True)\n"
            "x.add_(1)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1
    lines = run.stderr.rstrip().splitlines()
    assert lines[-2] == ("RuntimeError: a leaf Variable that requires grad is being used in an "
                         "in-place operation.")
    assert "with ember.no_grad():" in lines[-1]


def test_printed_error_matches_torch_in_a_program(torch):
    """The pattern the promise is about: ``except ... as e: print(type(e).__name__, e)``."""
    def program(lib):
        lines = []
        for bad in (lambda: lib.ones(2, 3).t().view(6),
                    lambda: lib.nn.functional.cross_entropy(lib.ones(4, 3), lib.ones(4)),
                    lambda: lib.mm(lib.ones(2, 2), lib.ones(2, 2, dtype=lib.float64))):
            try:
                bad()
            except Exception as e:  # noqa: BLE001 - the program prints whatever it caught
                lines.append(f"{type(e).__name__}: {e}")
        return lines

    assert program(ember) == program(torch)
    assert len(program(ember)) == 3

