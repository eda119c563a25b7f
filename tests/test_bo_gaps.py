"""Gaps found by the black-box-optimisation programs (tests/programs/bo_*), compared with
PyTorch: ``Generator.clone_state`` (an independent generator that continues this one's
stream, used to replay a policy's exploration draws) and the CPU generator's refusals of
``graphsafe_get_state`` / ``graphsafe_set_state`` were missing."""

import pytest

import ember

torch = pytest.importorskip("torch")


def _clone_draws(lib):
    g = lib.Generator().manual_seed(7)
    lib.rand(3, generator=g)
    twin = g.clone_state()
    first = (lib.rand(4, generator=twin).tolist(), lib.randint(10, (3,), generator=g).tolist())
    # the twin is independent: g moved on, the twin did not
    again = lib.randint(10, (3,), generator=twin).tolist()
    return twin is g, twin.initial_seed(), str(twin.device), first, again


def test_clone_state_matches_torch():
    assert _clone_draws(ember) == _clone_draws(torch)


def test_clone_state_of_default_generator_follows_global_stream():
    out = []
    for lib in (ember, torch):
        lib.manual_seed(3)
        twin = lib.default_generator.clone_state()
        out.append((lib.rand(2, generator=twin).tolist(), lib.rand(2).tolist()))
    assert out[0] == out[1]


@pytest.mark.parametrize("call", [
    lambda lib, g: g.graphsafe_get_state(),
    lambda lib, g: g.graphsafe_set_state(lib.Generator()),
    lambda lib, g: g.graphsafe_set_state(1),
])
def test_graphsafe_state_refused_on_cpu(call):
    errors = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            call(lib, lib.Generator())
        errors.append((type(info.value).__name__, str(info.value)))
    assert errors[0] == errors[1]
