"""The deterministic-algorithms switches read back as PyTorch's do, with its errors."""

import pytest

import ember


@pytest.fixture(autouse=True)
def restore():
    yield
    ember.use_deterministic_algorithms(False)


def flags(L):
    return (L.are_deterministic_algorithms_enabled(),
            L.is_deterministic_algorithms_warn_only_enabled(), L.get_deterministic_debug_mode())


def test_switches_read_back_as_torch(torch):
    try:
        assert flags(ember) == flags(torch) == (False, False, 0)
        for call in [lambda L: L.use_deterministic_algorithms(True),
                     lambda L: L.use_deterministic_algorithms(True, warn_only=True),
                     lambda L: L.set_deterministic_debug_mode("error"),
                     lambda L: L.set_deterministic_debug_mode(1),
                     lambda L: L.set_deterministic_debug_mode("default"),
                     lambda L: L.use_deterministic_algorithms(False, warn_only=True)]:
            call(ember)
            call(torch)
            assert flags(ember) == flags(torch)
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("call", [
    lambda L: L.use_deterministic_algorithms(1),
    lambda L: L.use_deterministic_algorithms(True, warn_only=1),
    lambda L: L.set_deterministic_debug_mode("foo"),
    lambda L: L.set_deterministic_debug_mode(3),
    lambda L: L.set_deterministic_debug_mode(1.0),
])
def test_errors_match_torch(torch, call):
    with pytest.raises(Exception) as t_err:
        call(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        call(ember)
    assert str(e_err.value) == str(t_err.value)
