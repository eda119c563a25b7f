"""Gaps found while writing the retrieval / metric-learning programs
(tests/programs/ret_*.py), each checked against PyTorch: ``clip_grad_value_`` refuses a set of
parameters none of which has a gradient (a warm-up epoch that froze them all), where ember
used to clip nothing silently; ``max_unpool1d/2d/3d`` (unpooling the argmax of a region max
pooling) name the last invalid index, as torch does on one thread, in torch's words (a 1-d
output's size as ``Lx1``)."""

import pytest
import torch

import ember


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001  (the type and message are compared)
        return type(exc), str(exc), getattr(exc, "__notes__", [])
    return None


def _params_without_grads(lib):
    frozen = lib.nn.Linear(3, 2)
    for p in frozen.parameters():
        p.requires_grad = False
    return frozen.parameters()


@pytest.mark.parametrize("make", [lambda lib: [],
                                  lambda lib: lib.nn.Parameter(lib.ones(2)),
                                  lambda lib: [lib.nn.Parameter(lib.ones(2))],
                                  _params_without_grads])
def test_clip_grad_value_refuses_parameters_without_gradients(make):
    want = _error(lambda: torch.nn.utils.clip_grad_value_(make(torch), 10))
    got = _error(lambda: ember.nn.utils.clip_grad_value_(make(ember), 10))
    assert want is not None and got is not None
    assert got[0] is want[0]
    # torch's own words, and what to do about it in a note
    assert got[1] == want[1]
    assert any("backward()" in note for note in got[2])


def test_clip_grad_value_still_clips_when_some_gradients_exist():
    results = []
    for lib in (torch, ember):
        a, b = lib.nn.Parameter(lib.tensor([3.0, -4.0])), lib.nn.Parameter(lib.ones(2))
        (a * a).sum().backward()
        lib.nn.utils.clip_grad_value_([a, b], 5.0)  # b has no gradient: skipped
        results.append((a.grad.tolist(), b.grad))
    assert results[0] == results[1]


@pytest.mark.parametrize("nd,indices", [
    (2, [[0, 20], [17, 1]]), (2, [[0, 17], [20, 1]]), (2, [[0, -2], [20, 1]]),
    (2, [[0, 20], [-2, 1]]), (1, [[0, 20], [17, 1]]), (1, [[0, -2], [20, 1]]),
    (3, [100, -5]), (3, [-5, 100]), (3, [100, 50])])
def test_max_unpool_names_the_last_invalid_index(nd, indices):
    def unpool(lib):
        idx = {1: lib.tensor([indices]), 2: lib.tensor([[indices]]),
               3: lib.tensor([[[[indices]]]])}[nd]
        values = lib.rand(*idx.shape)
        return getattr(lib.nn.functional, f"max_unpool{nd}d")(values, idx, 2)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on several threads torch's choice is a race
    try:
        want = _error(lambda: unpool(torch))
    finally:
        torch.set_num_threads(threads)
    got = _error(lambda: unpool(ember))
    assert want is not None
    assert got == want
