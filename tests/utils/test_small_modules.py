"""ember.utils.model_zoo, dlpack, weak and swap_tensors, against torch's."""

import copy
import gc

import numpy as np
import pytest

import ember
import ember.utils
from ember.utils import dlpack, model_zoo, weak


def test_model_zoo_load_url_is_the_hub_function(torch):
    import torch.utils.model_zoo as tz

    assert model_zoo.load_url is ember.hub.load_state_dict_from_url
    assert tz.load_url is torch.hub.load_state_dict_from_url  # the same aliasing as torch


def test_model_zoo_load_url_reads_a_cached_file(tmp_path):
    ember.save({"w": ember.arange(3.0)}, tmp_path / "weights-abc123.pth")
    sd = model_zoo.load_url("https://example.invalid/weights-abc123.pth",
                            model_dir=str(tmp_path))
    assert sd["w"].tolist() == [0.0, 1.0, 2.0]


def test_dlpack_module_matches_torch(torch):
    import torch.utils.dlpack as td

    assert dlpack.__all__ == td.__all__
    assert {m.name: m.value for m in dlpack.DLDeviceType} == {
        m.name: m.value for m in td.DLDeviceType}
    assert dlpack.from_dlpack is ember.from_dlpack and dlpack.to_dlpack is ember.to_dlpack
    a = np.arange(4.0)
    t = dlpack.from_dlpack(a)
    a[0] = 9.0
    assert t.tolist() == [9.0, 1.0, 2.0, 3.0]
    # ember -> torch and back, sharing memory both ways
    tt = td.from_dlpack(dlpack.to_dlpack(t))
    tt[1] = 7.0
    assert t.tolist() == [9.0, 7.0, 2.0, 3.0]
    back = dlpack.from_dlpack(td.to_dlpack(tt))
    back[2] = 5.0
    assert tt.tolist() == [9.0, 7.0, 5.0, 3.0]


def test_weak_id_key_dictionary_behaves_like_torch(torch):
    import torch.utils.weak as tw

    assert weak.__all__ == tw.__all__
    assert weak.WeakTensorKeyDictionary is weak.WeakIdKeyDictionary
    for mod, lib in ((weak, ember), (tw, torch)):
        a, b = lib.ones(2), lib.ones(2)
        d = mod.WeakTensorKeyDictionary()
        d[a] = 1
        d[b] = 2
        assert (d[a], d[b], len(d)) == (1, 2, 2)
        assert a in d and lib.ones(2) not in d and 3 not in d
        assert d.get(lib.ones(1), "x") == "x"
        c = copy.copy(d)
        dc = copy.deepcopy(d)
        assert c == d and dc[a] == 1
        del b
        gc.collect()
        assert len(d) == 1 and list(d.values()) == [1] and list(d.keys())[0] is a
        assert d.setdefault(a, 5) == 1 and d.pop(a) == 1 and len(d) == 0
        assert repr(d).startswith("<WeakIdKeyDictionary at 0x")
        u = d | {a: 4}
        assert u[a] == 4 and isinstance(u, mod.WeakIdKeyDictionary)
        r = mod.WeakIdRef(a)
        assert r == mod.WeakIdRef(a) and hash(r) == id(a) and r() is a
        assert mod.TensorWeakRef(a)() is a
        with pytest.raises(AssertionError, match="expected torch.Tensor, got <class 'int'>"):
            mod.TensorWeakRef(3)


def _swap_case(lib, swap):
    a = lib.zeros(2)
    p = lib.nn.Parameter(lib.ones(3))
    ida, idp = id(a), id(p)
    swap(a, p)
    return (id(a) == ida, id(p) == idp, type(a).__name__, type(p).__name__, a.tolist(),
            p.tolist(), a.requires_grad, p.requires_grad)


def test_swap_tensors_matches_torch(torch):
    assert _swap_case(ember, ember.utils.swap_tensors) == _swap_case(torch,
                                                                       torch.utils.swap_tensors)


def test_swap_tensors_weakref_and_attributes(torch):
    import weakref

    for lib, swap in ((ember, ember.utils.swap_tensors), (torch, torch.utils.swap_tensors)):
        a, b = lib.zeros(1), lib.ones(1)
        r = weakref.ref(a)
        with pytest.raises(RuntimeError, match="Cannot swap t1 because it has weakref"):
            swap(a, b)
        with pytest.raises(RuntimeError, match="Cannot swap t2 because it has weakref"):
            swap(b, a)
        del r
        a.tag = "a"
        swap(a, b)
        assert b.tag == "a" and not hasattr(a, "tag")
        a.grad = None


def test_swap_tensors_poisons_an_earlier_graph(torch):
    for lib, swap in ((ember, ember.utils.swap_tensors), (torch, torch.utils.swap_tensors)):
        a = lib.ones(2, requires_grad=True)
        y = (a * 2).sum()
        swap(a, lib.zeros(2, requires_grad=True))
        with pytest.raises(RuntimeError, match="poisoned by swap_tensors"):
            y.backward()
