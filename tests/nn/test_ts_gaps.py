"""nn gaps found by the time-series programs (tests/programs/ts_*.py), checked against torch:
``nn.RNN``/``nn.GRU`` refuse ``proj_size`` (any value) with torch's ValueError, and
``gaussian_nll_loss`` checks ``reduction`` last, in its own words."""

import pytest

import ember

torch = pytest.importorskip("torch")


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and words are what is compared
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("cls", ["RNN", "GRU"])
@pytest.mark.parametrize("kwargs", [{"proj_size": 2}, {"proj_size": 0}, {"proj_size": None},
                                    {"foo": 1}])
def test_rnn_gru_refuse_proj_size(cls, kwargs):
    t = _error(lambda: getattr(torch.nn, cls)(3, 4, **kwargs))
    e = _error(lambda: getattr(ember.nn, cls)(3, 4, **kwargs))
    assert t is not None and e == t


def test_lstm_still_takes_proj_size():
    m = ember.nn.LSTM(3, 4, proj_size=2)
    assert tuple(m.weight_hr_l0.shape) == (2, 4)


@pytest.mark.parametrize("var", ["ok", "negative", "bad_shape"])
def test_gaussian_nll_loss_reduction_checked_last(var):
    def run(L):
        v = {"ok": L.ones(3, 2), "negative": -L.ones(3, 2), "bad_shape": L.ones(2, 2)}[var]
        return (_error(lambda: L.nn.functional.gaussian_nll_loss(
                    L.zeros(3, 2), L.zeros(3, 2), v, reduction="bad")),
                _error(lambda: L.nn.GaussianNLLLoss(reduction="bad")(
                    L.zeros(3, 2), L.zeros(3, 2), v)))

    t, e = run(torch), run(ember)
    assert t[0] is not None and e == t
