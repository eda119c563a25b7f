"""ember.nn.modules.utils against torch.nn.modules.utils: the tuple helpers and
consume_prefix_in_state_dict_if_present on a DataParallel checkpoint."""

from collections import OrderedDict

import pytest

import ember
from ember.nn.modules import utils as eu

torch = pytest.importorskip("torch")
tu = torch.nn.modules.utils


def test_tuple_helpers_match_torch():
    for name in ("_single", "_pair", "_triple", "_quadruple"):
        for value in (3, [1, 2, 3], (4, 5)):
            assert getattr(eu, name)(value) == getattr(tu, name)(value)
    assert eu._reverse_repeat_tuple((1, 2), 2) == tu._reverse_repeat_tuple((1, 2), 2)
    assert eu._list_with_default([None, 5], [1, 2, 3]) == tu._list_with_default([None, 5],
                                                                                 [1, 2, 3])
    assert ember.nn.modules.utils is eu
    # the module must not shadow ember.nn.utils (clip_grad_norm_, rnn ...)
    assert ember.nn.utils.__name__ == "ember.nn.utils" and ember.nn.utils.rnn.pack_sequence


def test_consume_prefix_matches_torch():
    def state(L):
        model = L.nn.DataParallel(L.nn.Sequential(L.nn.Linear(2, 2)))
        return model.state_dict()

    e, t = state(ember), state(torch)
    e._metadata = OrderedDict({"": {}, "module": {}, "module.0": {}})
    t._metadata = OrderedDict({"": {}, "module": {}, "module.0": {}})
    eu.consume_prefix_in_state_dict_if_present(e, "module.")
    tu.consume_prefix_in_state_dict_if_present(t, "module.")
    assert list(e) == list(t) == ["0.weight", "0.bias"]
    assert list(e._metadata) == list(t._metadata)
    plain = ember.nn.Sequential(ember.nn.Linear(2, 2))
    assert str(plain.load_state_dict(e)) == "<All keys matched successfully>"
