"""Grad modes as context managers and decorators (functions and generators), thread-local."""

import threading

import pytest

import ember


def _modes(lib):
    return [lib.no_grad(), lib.enable_grad(), lib.set_grad_enabled(False),
            lib.inference_mode(), lib.inference_mode(False)]


def test_context_managers_match_torch(torch):
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        with lib.no_grad():
            assert not lib.is_grad_enabled() and not (x * 2).requires_grad
            with lib.enable_grad():
                assert (x * 2).requires_grad
            assert not lib.is_grad_enabled()
        assert lib.is_grad_enabled()
        with lib.set_grad_enabled(False):
            assert not (x * 2).requires_grad
        with lib.inference_mode():
            assert not (x * 2).requires_grad and lib.is_inference_mode_enabled()
        with lib.inference_mode(False):
            assert (x * 2).requires_grad and not lib.is_inference_mode_enabled()
        assert lib.is_grad_enabled()


def test_set_grad_enabled_as_a_call():
    ember.set_grad_enabled(False)
    try:
        assert not ember.is_grad_enabled()
    finally:
        ember.set_grad_enabled(True)
    assert ember.is_grad_enabled()


def test_state_restored_after_exception():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError
    assert ember.is_grad_enabled()


@pytest.mark.parametrize("form", ["instance", "bare"])
def test_decorators(torch, form):
    for lib in (ember, torch):
        deco = lib.no_grad() if form == "instance" else lib.no_grad

        @deco
        def f(x):
            """doc kept"""
            return x * 2, lib.is_grad_enabled()  # noqa: B023

        y, mode = f(lib.ones(2, requires_grad=True))
        assert not y.requires_grad and mode is False and f.__doc__ == "doc kept"
        assert lib.is_grad_enabled()

        @lib.enable_grad()
        def g(x):
            return x * 2

        with lib.no_grad():
            assert g(lib.ones(2, requires_grad=True)).requires_grad

        @lib.inference_mode()
        def h(x):
            return x * 2

        assert not h(lib.ones(2, requires_grad=True)).requires_grad


def test_set_grad_enabled_decorator(torch):
    for lib in (ember, torch):
        @lib.set_grad_enabled(False)
        def f(x):
            return x * 2

        assert lib.is_grad_enabled()  # creating the decorator must not leave grad off
        assert not f(lib.ones(2, requires_grad=True)).requires_grad
        assert lib.is_grad_enabled()


def test_generator_functions_keep_the_mode_per_step(torch):
    for lib in (ember, torch):
        @lib.no_grad()
        def gen():
            for _ in range(2):
                received = yield lib.is_grad_enabled()  # noqa: B023
                assert received == "ping"

        it = gen()
        assert next(it) is False
        assert lib.is_grad_enabled()  # the caller's mode between steps
        assert it.send("ping") is False
        assert lib.is_grad_enabled()
        with pytest.raises(StopIteration):
            it.send("ping")


def test_thread_started_inside_no_grad_has_grad_enabled(torch):
    for lib in (ember, torch):
        seen = []
        with lib.no_grad():
            t = threading.Thread(target=lambda: seen.append(lib.is_grad_enabled()))  # noqa: B023
            t.start()
            t.join()
            assert not lib.is_grad_enabled()
        assert seen == [True]


def test_no_grad_results_are_leaves_and_in_place_allowed(torch):
    for lib in (ember, torch):
        w = lib.ones(3, requires_grad=True)
        with lib.no_grad():
            y = w * 2
            w.sub_(lib.full((3,), 0.5))
        assert y.is_leaf and y.grad_fn is None and not y.requires_grad
        assert w.requires_grad and w.is_leaf and w.tolist() == [0.5, 0.5, 0.5]
