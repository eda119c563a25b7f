"""torch.autograd's engine switches and module paths: anomaly_mode, multithreading, view replay."""

import threading

import pytest

import ember


def test_anomaly_mode_module_holds_the_same_objects(torch):
    from ember.autograd import anomaly_mode

    assert anomaly_mode.detect_anomaly is ember.autograd.detect_anomaly
    assert anomaly_mode.set_detect_anomaly is ember.autograd.set_detect_anomaly
    assert sorted(anomaly_mode.__all__) == sorted(torch.autograd.anomaly_mode.__all__)


def test_multithreading_flag_as_call_context_and_decorator(torch):
    for lib in (ember, torch):
        ag = lib.autograd
        assert ag.is_multithreading_enabled() is True
        with ag.set_multithreading_enabled(False):
            assert ag.is_multithreading_enabled() is False
            with ag.set_multithreading_enabled(True):
                assert ag.is_multithreading_enabled() is True
            assert ag.is_multithreading_enabled() is False
        assert ag.is_multithreading_enabled() is True

        ag.set_multithreading_enabled(False)  # as a call it stays set
        assert ag.is_multithreading_enabled() is False
        ag.set_multithreading_enabled(True)

        @ag.set_multithreading_enabled(True)
        def inside(ag=ag):
            return ag.is_multithreading_enabled()

        ag.set_multithreading_enabled(False)
        assert inside() is True and ag.is_multithreading_enabled() is False
        ag.set_multithreading_enabled(True)


def test_multithreading_flag_is_per_thread():
    seen = []
    with ember.autograd.set_multithreading_enabled(False):
        t = threading.Thread(target=lambda: seen.append(ember.autograd.is_multithreading_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_multithreading_flag_rejects_non_bool(torch):
    for lib in (ember, torch):
        with pytest.raises(TypeError) as err:
            lib.autograd.set_multithreading_enabled(1)
        assert "must be bool, not int" in str(err.value)


def test_view_replay_is_off(torch):
    assert ember.autograd.is_view_replay_enabled() is torch.autograd.is_view_replay_enabled()
    assert "set_multithreading_enabled" in ember.autograd.__all__
