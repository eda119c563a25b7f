"""Gaps found by the 'extending PyTorch' programs (tests/programs/ext_*.py): detect_anomaly's
warnings, against torch."""

import warnings

import pytest

import ember


def _anomaly_warnings(lib, fail):
    """(category, first line) of each warning detect_anomaly gives around a failing backward,
    and the error's type and message."""
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            if fail == "raise":
                raise ValueError("bad backward")
            return g * float("nan")

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        # UserWarnings only: ember's filter of NumPy's RuntimeWarnings stays in place
        warnings.simplefilter("always", UserWarning)
        if fail == "outside":  # forward outside anomaly mode: no trace to show
            y = (x - x).sqrt() * 0
        with lib.autograd.detect_anomaly():
            if fail != "outside":
                y = Bad.apply(x)  # the forward line the warning points at
            try:
                y.sum().backward()
                err = None
            except (RuntimeError, ValueError) as e:
                err = (type(e).__name__, str(e))
    # torch adds where in its C++ source a warning was raised: not part of the comparison
    firsts = [(w.category.__name__, str(w.message).split("\n")[0].split(" (Triggered")[0])
              for w in caught]
    return firsts, err, [str(w.message) for w in caught]


@pytest.mark.parametrize("fail", ["nan", "raise", "outside"])
def test_detect_anomaly_warns_like_torch(torch, fail):
    got, got_err, texts = _anomaly_warnings(ember, fail)
    want, want_err, _ = _anomaly_warnings(torch, fail)
    assert got == want
    assert got_err == want_err
    if fail != "outside":
        trace = next(t for t in texts if t.startswith("Error detected"))
        assert "y = Bad.apply(x)" in trace and "test_ext_gaps.py" in trace


def test_set_detect_anomaly_does_not_warn(torch):
    for lib in (ember, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.autograd.set_detect_anomaly(True)
            lib.autograd.set_detect_anomaly(False)
        assert caught == []


def _post_accumulate_registration(lib, kind):
    t = {"plain": lib.ones(2), "nonleaf": lib.ones(2, requires_grad=True) * 2,
         "leaf": lib.ones(2, requires_grad=True)}[kind]
    try:
        t.register_post_accumulate_grad_hook(lambda p: None).remove()
    except RuntimeError as e:
        return str(e)
    return "registered"


@pytest.mark.parametrize("kind", ["plain", "nonleaf", "leaf"])
def test_post_accumulate_grad_hook_needs_a_leaf_that_requires_grad(torch, kind):
    assert _post_accumulate_registration(ember, kind) == \
        _post_accumulate_registration(torch, kind)


def _inplace_on_function_views(lib):
    """What an in-place change to views that custom Functions returned gives."""
    class Id(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    class Both(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x[1:]

        @staticmethod
        def backward(ctx, g, g2):
            return g

    class Fresh(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return (x * 2)[1:]

        @staticmethod
        def backward(ctx, g):
            return lib.cat([g[:1] * 0, g]) * 2

    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1
    plain = lib.tensor([1.0, 2.0, 3.0])
    cases = {"as-is": lambda: Id.apply(x), "second of two": lambda: Both.apply(x)[1],
             "view of first of two": lambda: Both.apply(x)[0][0:2],
             "view made inside": lambda: Fresh.apply(x), "no grad input": lambda: Id.apply(plain)}
    out = {}
    for name, make in cases.items():
        try:
            make().mul_(2)
            out[name] = "ok"
        except RuntimeError as e:
            out[name] = str(e)
    with lib.no_grad():
        Id.apply(x).mul_(2)
    return out


def test_inplace_on_a_view_a_custom_function_returned_is_refused(torch):
    assert _inplace_on_function_views(ember) == _inplace_on_function_views(torch)
