"""nn.Container, PyTorch's deprecated keyword-argument container, against torch's."""

import pickle
import warnings

import pytest

import ember

torch = pytest.importorskip("torch")


def _build(lib):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = lib.nn.Container(encoder=lib.nn.Linear(3, 2), act=lib.nn.ReLU())
    return c, caught


def test_container_matches_torch():
    got, got_warnings = _build(ember)
    expected, expected_warnings = _build(torch)
    assert repr(got) == repr(expected)
    assert list(dict(got.named_children())) == list(dict(expected.named_children()))
    assert sorted(got.state_dict()) == sorted(expected.state_dict())
    assert [w.category for w in got_warnings] == [w.category for w in expected_warnings]
    assert str(got_warnings[0].message) == str(expected_warnings[0].message)
    assert got_warnings[0].filename == __file__  # points at the caller, not at ember


def test_container_is_at_torch_path_and_pickles():
    assert ember.nn.Container is ember.nn.modules.container.Container
    assert ember.nn.Container.__module__ == torch.nn.Container.__module__.replace("torch",
                                                                                   "ember")
    c, _ = _build(ember)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        back = pickle.loads(pickle.dumps(c))
    assert repr(back) == repr(c)
