"""Gaps the text-pipeline programs (tests/programs/tok_*.py) found, each checked against
PyTorch: pad_sequence's argument error and result dtype, and the gradient of a mean
cross-entropy / NLL whose every target is ignored (a masked-LM batch with no masked token)."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _both(fn):
    """``fn`` run with ember and with torch (as the library argument)."""
    return fn(ember), fn(torch)


def test_pad_sequence_bad_padding_side_is_runtime_error_as_torch():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or "
                                               "right, but got middle."):
            lib.nn.utils.rnn.pad_sequence([lib.ones(2)], padding_side="middle")


@pytest.mark.parametrize("first,second", [("int64", "float32"), ("float32", "float64"),
                                          ("float64", "int32"), ("bool", "int64")])
def test_pad_sequence_takes_the_first_sequences_dtype(first, second):
    def run(lib):
        a = lib.tensor([1, 0, 1]).to(getattr(lib, first))
        b = lib.tensor([1.5, 2.0]).to(getattr(lib, second))
        return lib.nn.utils.rnn.pad_sequence([a, b], batch_first=True, padding_side="left")

    got, want = _both(run)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_pad_sequence_mixed_dtypes_gradient_keeps_each_inputs_dtype():
    def run(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0], dtype=lib.float64, requires_grad=True)
        out = lib.nn.utils.rnn.pad_sequence([a, b])
        (out * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        return out, a.grad, b.grad

    got, want = _both(run)
    assert str(got[0].dtype) == str(want[0].dtype)
    for g, w in zip(got[1:], want[1:]):
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_array_equal(g.numpy(), w.numpy())


# every target ignored: the mean is 0 / 0 = NaN, yet PyTorch's gradient is zero, so one such
# batch does not poison the weights
ALL_IGNORED = [
    ("cross_entropy", {}), ("cross_entropy", {"label_smoothing": 0.1}),
    ("cross_entropy", {"weight": [1.0, 2.0, 0.5, 1.0]}), ("nll_loss", {}),
    ("nll_loss", {"weight": [1.0, 2.0, 0.5, 1.0]}), ("cross_entropy", {"reduction": "sum"}),
]


@pytest.mark.parametrize("name,kwargs", ALL_IGNORED)
@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3)])
def test_mean_loss_with_every_target_ignored_has_zero_gradient(name, kwargs, shape):
    x0 = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    target_shape = (shape[0],) + shape[2:]

    def run(lib):
        x = lib.tensor(x0, requires_grad=True)
        kw = dict(kwargs)
        if "weight" in kw:
            kw["weight"] = lib.tensor(kw["weight"])
        inp = x if name == "cross_entropy" else lib.log_softmax(x, 1)
        loss = getattr(lib.nn.functional, name)(inp, lib.full(target_shape, -100), **kw)
        loss.backward()
        return loss, x.grad

    (loss, grad), (want_loss, want_grad) = _both(run)
    np.testing.assert_array_equal(loss.detach().numpy(), want_loss.detach().numpy())
    np.testing.assert_array_equal(grad.numpy(), want_grad.numpy())


def test_mean_loss_zero_total_weight_keeps_nan_on_kept_rows_only():
    # kept targets whose class weight is 0 give 0 / 0 in their rows; ignored rows stay 0
    x0 = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)

    def run(lib):
        x = lib.tensor(x0, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor([1, -100, 2]),
                                               weight=lib.tensor([1.0, 0.0, 0.0, 1.0]))
        loss.backward()
        return loss, x.grad

    (loss, grad), (want_loss, want_grad) = _both(run)
    np.testing.assert_array_equal(loss.detach().numpy(), want_loss.detach().numpy())
    np.testing.assert_array_equal(grad.numpy(), want_grad.numpy())


def test_mean_loss_with_every_target_ignored_double_backward():
    x0 = np.random.default_rng(2).standard_normal((3, 4))

    def run(lib):
        x = lib.tensor(x0, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.full((3,), 2), ignore_index=2)
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x, allow_unused=True)
        return g.detach(), gg

    (g, gg), (want_g, want_gg) = _both(run)
    np.testing.assert_array_equal(g.numpy(), want_g.numpy())
    assert (gg is None) == (want_gg is None)
    if gg is not None:
        np.testing.assert_array_equal(gg.numpy(), want_gg.numpy())


def test_sampler_takes_no_data_source_as_torch():
    # PyTorch 2.13's Sampler has no __init__: the old ``super().__init__(data_source)`` of a
    # custom sampler raises, so a program that runs on ember must not pass it either
    for lib in (ember, torch):
        base = lib.utils.data.Sampler

        class Legacy(base):
            def __init__(self, data_source):
                super().__init__(data_source)

        class Modern(base):
            def __init__(self, data_source):
                super().__init__()
                self.n = len(data_source)

            def __iter__(self):
                return iter(range(self.n))

        with pytest.raises(TypeError, match="takes exactly one argument"):
            Legacy([1, 2])
        with pytest.raises(TypeError, match="Sampler.. takes no arguments"):
            base([1, 2])
        assert list(Modern("abc")) == [0, 1, 2]


def _pad_outcome(lib, make_args):
    """What pad_sequence does with the arguments ``make_args(lib)`` builds: the result's
    dtype and values, or the exception's type and message."""
    try:
        out = lib.nn.utils.rnn.pad_sequence(*make_args(lib))
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__, str(e).splitlines()[0]
    return str(out.dtype), out.tolist()


PAD_ARGUMENTS = {
    "list element": lambda lib: ([lib.ones(2), [2.0]],),
    "int element": lambda lib: ([lib.ones(2), 3],),
    "0-d first": lambda lib: ([lib.tensor(1)],),
    "0-d later": lambda lib: ([lib.ones(1), lib.tensor(2.0)],),
    "not iterable": lambda lib: (5,),
    "padding_value str": lambda lib: ([lib.ones(2)], False, "x"),
    "padding_value None": lambda lib: ([lib.ones(2)], False, None),
    "padding_value complex": lambda lib: ([lib.ones(2)], False, 2 + 0j),
    "padding_value 1-d tensor": lambda lib: ([lib.ones(2), lib.ones(1)], False,
                                             lib.tensor([3.0])),
    "padding_value 0-d tensor": lambda lib: ([lib.ones(2), lib.ones(1)], False, lib.tensor(3.0)),
    "padding_value numpy": lambda lib: ([lib.ones(2), lib.ones(1)], False, np.float32(-1)),
    "padding_value into int": lambda lib: ([lib.tensor([1, 2]), lib.tensor([3])], True, 2.7),
    "batch_first int": lambda lib: ([lib.ones(2)], 1),
    "padding_side None": lambda lib: ([lib.ones(2)], False, 0.0, None),
    "empty before side": lambda lib: ([], False, 0.0, "x"),
    "trailing broadcast": lambda lib: ([lib.ones(2, 3), lib.full((1, 1), 2.0)],),
    "trailing mismatch": lambda lib: ([lib.ones(2, 3, 2), lib.ones(1, 3, 5)],),
    "fewer dims": lambda lib: ([lib.ones(2, 3), lib.ones(2)],),
    "more dims": lambda lib: ([lib.ones(2, 3), lib.ones(2, 2, 3)],),
    "slot too narrow": lambda lib: ([lib.ones(2, 1), lib.ones(2, 3)],),
}


@pytest.mark.parametrize("case", sorted(PAD_ARGUMENTS))
def test_pad_sequence_arguments_as_torch(case):
    make_args = PAD_ARGUMENTS[case]
    assert _pad_outcome(ember, make_args) == _pad_outcome(torch, make_args)


def test_pad_sequence_broadcast_sequence_gradient():
    def run(lib):
        x = lib.ones(2, 1, requires_grad=True)
        out = lib.nn.utils.rnn.pad_sequence([lib.ones(3, 3), x], batch_first=True)
        (out * lib.arange(18.0).reshape(2, 3, 3)).sum().backward()
        return x.grad

    got, want = _both(run)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


GRAD_MODE_NESTINGS = {
    "inference + enable_grad": lambda lib: [lib.inference_mode(), lib.enable_grad()],
    "inference + set_grad_enabled": lambda lib: [lib.inference_mode(), lib.set_grad_enabled(True)],
    "inference + enable_grad + no_grad": lambda lib: [lib.inference_mode(), lib.enable_grad(),
                                                      lib.no_grad()],
    "inference + enable_grad + inference(False)": lambda lib: [
        lib.inference_mode(), lib.enable_grad(), lib.inference_mode(False)],
    "no_grad + inference + enable_grad": lambda lib: [lib.no_grad(), lib.inference_mode(),
                                                      lib.enable_grad()],
    "inference(False) + no_grad": lambda lib: [lib.inference_mode(False), lib.no_grad()],
}


@pytest.mark.parametrize("case", sorted(GRAD_MODE_NESTINGS))
def test_enable_grad_inside_inference_mode_records_nothing(case):
    # inference mode wins over enable_grad: is_grad_enabled() reports the grad mode, but no
    # graph is recorded and results are inference tensors
    import contextlib

    def run(lib):
        w = lib.ones(2, requires_grad=True)
        with contextlib.ExitStack() as stack:
            for ctx in GRAD_MODE_NESTINGS[case](lib):
                stack.enter_context(ctx)
            y = w * 2
            inside = (lib.is_grad_enabled(), lib.is_inference_mode_enabled(), y.requires_grad,
                      y.is_inference())
        return inside, (lib.is_grad_enabled(), lib.is_inference_mode_enabled())

    assert _both(run)[0] == _both(run)[1]


def test_set_grad_enabled_enter_reapplies_and_exit_restores_construction_mode():
    def run(lib):
        seen = []
        sge = lib.set_grad_enabled(False)  # applies at once, remembers True
        seen.append(lib.is_grad_enabled())
        lib.set_grad_enabled(True)
        with sge:  # entering applies False again
            seen.append(lib.is_grad_enabled())
            with lib.inference_mode():
                with lib.set_grad_enabled(True):
                    seen.append(lib.is_grad_enabled())
                seen.append(lib.is_grad_enabled())
        seen.append(lib.is_grad_enabled())  # back to the mode seen at construction: True

        @lib.set_grad_enabled(False)
        def decorated():
            return lib.is_grad_enabled()

        seen.extend([lib.is_grad_enabled(), decorated(), lib.is_grad_enabled()])
        return seen

    assert _both(run)[0] == _both(run)[1]
