"""detect_anomaly names the op whose backward made NaN; gradcheck catches a wrong backward."""

import numpy as np
import pytest

import ember


def _wrong_square(lib):
    class WrongSquare(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x * grad  # should be 2 * x

    return WrongSquare


def test_detect_anomaly_names_the_forward_op(torch):
    for lib in (ember, torch):
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        with pytest.warns(UserWarning):
            with lib.autograd.detect_anomaly():
                assert _anomaly_on(lib)
                y = x / x  # the line the trace must point at
                with pytest.raises(RuntimeError) as info:
                    y.sum().backward()
        assert "Function 'DivBackward0' returned nan values in its 1th output." in str(info.value)
        assert not _anomaly_on(lib)
    # the forward call's traceback goes to a warning, as PyTorch's (the error message is plain)
    ember_msg = _ember_anomaly_message()
    assert ember_msg.startswith("Error detected in DivBackward0. Traceback of forward call")
    assert "y = x / x" in ember_msg and "test_anomaly_gradcheck.py" in ember_msg


def _anomaly_on(lib):
    return lib.is_anomaly_enabled() if lib.__name__ == "torch" else \
        lib.autograd.is_anomaly_enabled()


def _ember_anomaly_message():
    x = ember.tensor([0.0, 1.0], requires_grad=True)
    with pytest.warns(UserWarning) as caught:
        with ember.autograd.detect_anomaly():
            y = x / x  # noqa: F841 (the line the trace must point at)
            with pytest.raises(RuntimeError):
                y.sum().backward()
    return next((str(w.message) for w in caught if "Error detected" in str(w.message)), "")


def test_without_anomaly_mode_nan_passes_silently(torch):
    for lib in (ember, torch):
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        (x / x).sum().backward()
        assert np.isnan(x.grad.tolist()[0])


def test_anomaly_in_custom_function_backward():
    class NanGrad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return grad * float("nan")

    x = ember.ones(2, requires_grad=True)
    with ember.autograd.detect_anomaly():
        y = NanGrad.apply(x)
        with pytest.raises(RuntimeError, match="Function 'NanGradBackward' returned nan"):
            y.sum().backward()


def test_set_detect_anomaly_as_call_and_context():
    ember.autograd.set_detect_anomaly(True)
    try:
        assert ember.autograd.is_anomaly_enabled()
    finally:
        ember.autograd.set_detect_anomaly(False)
    assert not ember.autograd.is_anomaly_enabled()
    with ember.autograd.set_detect_anomaly(True):
        assert ember.autograd.is_anomaly_enabled()
    assert not ember.autograd.is_anomaly_enabled()


def _x64():
    return ember.tensor(np.random.default_rng(1).standard_normal(3), requires_grad=True)


def test_gradcheck_passes_on_correct_functions():
    x = _x64()
    w = ember.tensor(np.random.default_rng(2).standard_normal((3, 2)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: (a @ b) * (a @ b).sum(), (x, w))
    assert ember.autograd.gradgradcheck(lambda a, b: (a @ b) * (a @ b).sum(), (x, w))
    assert ember.autograd.gradcheck(lambda a: a / (a * a + 1), (x,))


def test_gradcheck_fails_on_wrong_backward(torch):
    for lib in (ember, torch):
        if lib is torch:
            x = torch.tensor(_x64().tolist(), dtype=torch.float64, requires_grad=True)
        else:
            x = _x64()
        fn = _wrong_square(lib).apply
        assert lib.autograd.gradcheck(fn, (x,), raise_exception=False) is False
        with pytest.raises(RuntimeError if lib is torch else ember.autograd.GradcheckError,
                           match="Jacobian mismatch for output 0 with respect to input 0"):
            lib.autograd.gradcheck(fn, (x,))
        assert issubclass(ember.autograd.GradcheckError, RuntimeError)


def test_gradgradcheck_fails_on_wrong_double_backward():
    class WrongSecond(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            # right value, wrong derivative: x.detach() hides x from the second derivative
            return 3 * x.detach() * x * grad

    x = _x64()
    assert ember.autograd.gradcheck(WrongSecond.apply, (x,))
    assert ember.autograd.gradgradcheck(WrongSecond.apply, (x,), raise_exception=False) is False
