"""The weights-only unpickler is an allow-list of opcodes and operations, not only of globals.

Each file here is crafted opcode by opcode (``_pickle_asm``) the way an attacker would write
it, and loaded in a zip and in a legacy container. Where PyTorch 2.13's own weights-only
unpickler refuses the same file, the test checks that it does (both raise UnpicklingError);
where it does not (it allocates, runs a codec, sets any attribute, or crashes), the test says so.
"""

import collections
import datetime
import functools
import importlib
import os
import pickle
import sys

import numpy as np
import pytest

import ember
from ember._serialization import safe_globals as registry

sys.path.insert(0, os.path.dirname(__file__))
from _pickle_asm import Asm, legacy_checkpoint, zip_checkpoint  # noqa: E402


@pytest.fixture(autouse=True)
def _no_leftover_safe_globals(monkeypatch):
    for name in ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD",
                 "EMBER_FORCE_WEIGHTS_ONLY_LOAD", "EMBER_FORCE_NO_WEIGHTS_ONLY_LOAD"):
        monkeypatch.delenv(name, raising=False)
    ember.serialization.clear_safe_globals()
    yield
    ember.serialization.clear_safe_globals()


def _files(tmp_path, build):
    """The same crafted object pickle in a zip and in a legacy checkpoint."""
    return [zip_checkpoint(tmp_path / "z.pth", build(Asm()).stop()),
            legacy_checkpoint(tmp_path / "l.pth", build(Asm(legacy=True)).stop())]


def _refused(path, match):
    with pytest.raises(pickle.UnpicklingError, match=match) as err:
        ember.load(path)
    assert "Weights only load failed" in str(err.value)
    return str(err.value)


def _torch_refuses(torch, path):
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_crafted_tensor_loads_in_both_containers(tmp_path, torch):
    # The control: the assembler's tensor record is what torch.save writes.
    z = zip_checkpoint(tmp_path / "z.pth", Asm().tensor().stop())
    assert ember.load(z).tolist() == torch.load(z, weights_only=True).tolist() == [0, 1, 2, 3]
    leg = legacy_checkpoint(tmp_path / "l.pth", Asm().tensor(legacy=True).stop())
    assert ember.load(leg).tolist() == torch.load(leg, weights_only=True).tolist()


# -- BUILD ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("state", [("_data", "a string"), ("_dtype", None), ("grad_fn", None)])
def test_build_cannot_set_attributes_of_a_tensor(tmp_path, torch, state):
    # A float32 tensor relabelled int64, or its data replaced by a str: refused. PyTorch
    # passes the state to Tensor.set_, which raises TypeError for a dict.
    key, value = state

    def build(a):
        a.tensor().empty_dict().str(key)
        (a.glob("torch", "int64") if value is None else a.str(value)).setitem()
        return a.build()

    path = zip_checkpoint(tmp_path / "z.pth", build(Asm()).stop())
    _refused(path, "BUILD on a tensor")
    with pytest.raises((TypeError, pickle.UnpicklingError)):
        torch.load(path, weights_only=True)


def test_build_on_a_tensor_takes_only_a_bounds_checked_legacy_state(tmp_path):
    # (storage, offset, size, stride) is PyTorch's legacy tensor state; it is a view like any
    # other, so its extent is checked against the storage.
    def legacy_state(size):
        def build(a):
            a.glob("torch", "Tensor").raw(b")").reduce()
            a.mark().mark().str("storage").glob("torch", "FloatStorage").str("0").str("cpu")
            return a.int(4).tuple().raw(b"Q").int(0).ints(size).ints((1,)).tuple().build()
        return build

    ok = zip_checkpoint(tmp_path / "ok.pth", legacy_state((3,))(Asm()).stop())
    assert ember.load(ok).tolist() == [0.0, 1.0, 2.0]
    bad = zip_checkpoint(tmp_path / "bad.pth", legacy_state((1000,))(Asm()).stop())
    with pytest.raises(RuntimeError, match="out of bounds"):
        ember.load(bad)


def test_build_on_an_ordered_dict_adds_metadata_only(tmp_path, torch):
    def build(key):
        return lambda a: a.ordered_dict().empty_dict().str(key).int(1).setitem().build()

    for path in _files(tmp_path, build("_metadata")):
        assert ember.load(path)._metadata == 1
    # An attribute that would shadow a method (state_dict.keys = 1) is refused; PyTorch sets it.
    for path in _files(tmp_path, build("keys")):
        _refused(path, "BUILD on a OrderedDict may only add new attributes")
    assert torch.load(_files(tmp_path, build("keys"))[0], weights_only=True).keys == 1


@pytest.mark.parametrize("target", ["set", "list"])
def test_build_on_other_objects_is_refused(tmp_path, torch, target):
    def build(a):
        if target == "set":
            a.glob("builtins", "set").raw(b")").reduce()
        else:
            a.empty_list()
        return a.empty_dict().build()

    for path in _files(tmp_path, build):
        _refused(path, "Can only build Tensor, Parameter, OrderedDict")
    if target == "list":
        _torch_refuses(torch, _files(tmp_path, build)[0])


# -- SETITEM, APPEND, ADDITEMS ------------------------------------------------------------------

def test_setitem_into_a_tensor_is_refused(tmp_path, torch):
    # Would write into the tensor's memory at load time.
    for path in _files(tmp_path, lambda a: a.tensor().int(0).float(5.0).setitem()):
        _refused(path, "Can only SETITEM for dict")
    _torch_refuses(torch, _files(tmp_path, lambda a: a.tensor().int(0).float(5.0).setitem())[0])


@pytest.mark.parametrize("op", [b"a", b"(K\x01e"], ids=["APPEND", "APPENDS"])
def test_append_only_on_lists(tmp_path, torch, op):
    def build(a):
        a.glob("builtins", "set").raw(b")").reduce()
        return a.raw(b"K\x01" + op if op == b"a" else op)

    for path in _files(tmp_path, build):
        _refused(path, "Can only (append to|extend) lists")
    _torch_refuses(torch, _files(tmp_path, build)[0])


def test_additems_only_on_sets(tmp_path):
    pkl = Asm(4).empty_list().mark().int(1).raw(b"\x90").stop()  # ADDITEMS into a list
    _refused(zip_checkpoint(tmp_path / "z.pth", pkl), "Can only ADDITEMS to sets")
    ok = Asm(4).raw(b"\x8f").mark().int(1).int(2).raw(b"\x90").stop()
    assert ember.load(zip_checkpoint(tmp_path / "ok.pth", ok)) == {1, 2}


# -- globals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("module,name,shown", [
    ("builtins", "range", "range"), ("__builtin__", "xrange", "range"),
    ("builtins", "slice", "slice"), ("builtins", "frozenset", "frozenset"),
    ("collections", "defaultdict", "collections.defaultdict"),
    ("builtins", "getattr", "getattr"), ("functools", "partial", "functools.partial"),
    ("datetime", "date", "datetime.date"),
])
def test_globals_beyond_pytorchs_default_list_are_refused(tmp_path, torch, module, name, shown):
    for path in _files(tmp_path, lambda a: a.glob(module, name)):
        msg = _refused(path, f"GLOBAL {shown} was not an allowed global by default")
        assert f"`ember.serialization.add_safe_globals([{shown}])`" in msg
        assert "weights_only` set to `False`" in msg
    _torch_refuses(torch, _files(tmp_path, lambda a: a.glob(module, name))[0])


def test_a_hundred_byte_set_of_range_is_refused_before_it_runs(tmp_path, torch):
    # set(range(10**9)) would take tens of GB.
    def build(a):
        a.glob("builtins", "set").mark().glob("builtins", "range").mark().int(10**9)
        return a.tuple().reduce().tuple().reduce()

    for path in _files(tmp_path, build):
        assert path.stat().st_size < 1000
        _refused(path, "GLOBAL range")
    _torch_refuses(torch, _files(tmp_path, build)[0])


@pytest.mark.parametrize("module", ["os", "posix", "nt", "sys", "os.path"])
def test_blocked_modules(tmp_path, torch, module):
    path = zip_checkpoint(tmp_path / "z.pth", Asm().glob(module, "system").stop())
    _refused(path, f"whose module {module} is blocked")
    _torch_refuses(torch, path)


@pytest.mark.parametrize("name", ["_rebuild_nested_tensor", "_rebuild_meta_tensor_no_storage"])
def test_torch_globals_ember_cannot_rebuild_say_so(tmp_path, name):
    path = zip_checkpoint(tmp_path / "z.pth", Asm().glob("torch._utils", name).stop())
    _refused(path, "ember cannot rebuild it")


# -- opcodes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code,name", [
    (b"(ibuiltins\nlist\n", "INST"), (b"(ccollections\nOrderedDict\no", "OBJ"), (b"N2", "DUP"),
    (b"\x82\x01", "EXT1"), (b"Pabc\n", "PERSID"), (b"I1\n", "INT"), (b"S'a'\n", "STRING"),
    (b"\x91", "FROZENSET"), (b"N0", "POP"), (b"\x97", "NEXT_BUFFER"), (b"(d", "DICT"),
    (b"(l", "LIST"),
])
def test_opcodes_off_the_list_are_refused(tmp_path, torch, code, name):
    path = zip_checkpoint(tmp_path / "z.pth", Asm().raw(code).stop())
    _refused(path, rf"Unsupported operand \d+ \({name}\)")
    _torch_refuses(torch, path)


def test_data_opcodes_of_newer_protocols_load(tmp_path):
    # Beyond PyTorch (which stops at FRAME): protocol 4/5 data opcodes are plain data.
    obj = {"s": "text", "b": b"\x00\x01", "l": [1, 2.5, None], "t": (True, False), "set": {3}}
    for protocol in (3, 4, 5):
        pkl = pickle.dumps(obj, protocol=protocol)
        assert ember.load(zip_checkpoint(tmp_path / f"p{protocol}.pth", pkl)) == obj


# -- REDUCE and NEWOBJ --------------------------------------------------------------------------

@pytest.mark.parametrize("build,match", [
    (lambda a: a.glob("torch", "float32").raw(b")").reduce(), "reduce for unrecognized"),
    (lambda a: a.glob("torch", "FloatStorage").raw(b")").reduce(), "reduce for unrecognized"),
    (lambda a: a.glob("builtins", "bytearray").mark().int(10**10).tuple().reduce(),
     r"bytearray\(int\)"),
    (lambda a: a.glob("torch", "Tensor").mark().int(10**9).tuple().reduce(), "size constructor"),
    (lambda a: a.glob("_codecs", "encode").mark().str("x").str("rot13").tuple().reduce(),
     "only text encodings"),
    (lambda a: a.glob("torch._utils", "_rebuild_tensor_v2").raw(b")\x81"),
     "Can only create new object"),
    (lambda a: a.glob("torch._tensor", "_rebuild_from_type_v2").mark().glob("builtins", "set")
     .glob("torch", "Tensor").raw(b")}").tuple().reduce(), "only call a tensor rebuild"),
])
def test_calls_are_limited_to_validating_constructors(tmp_path, build, match):
    # bytearray(10**10) and torch.Tensor(10**9) would allocate memory the file does not hold
    # (PyTorch allocates); rot13 is a codec PyTorch runs; the others PyTorch refuses with
    # TypeError/AttributeError rather than UnpicklingError.
    for path in _files(tmp_path, build):
        _refused(path, match)


@pytest.mark.parametrize("key,ok", [("note", True), ("_grad", False), ("_data", False),
                                    ("requires_grad", False), ("__class__", False)])
def test_parameter_state_sets_new_attributes_only(tmp_path, key, ok):
    def build(a):
        a.glob("torch._utils", "_rebuild_parameter_with_state").mark().tensor().raw(b"\x88")
        return a.ordered_dict().empty_dict().str(key).int(1).setitem().tuple().reduce()

    path = zip_checkpoint(tmp_path / "z.pth", build(Asm()).stop())
    if ok:
        p = ember.load(path)
        assert isinstance(p, ember.nn.Parameter) and p.note == 1 and p.tolist() == [0, 1, 2, 3]
    else:
        _refused(path, f"attribute '{key}' of a tensor")


def test_persistent_ids_other_than_storages_are_refused(tmp_path, torch):
    path = zip_checkpoint(tmp_path / "z.pth",
                          Asm().mark().str("module").int(1).tuple().raw(b"Q").stop())
    _refused(path, "Only persistent_load of storage")
    _torch_refuses(torch, path)


# -- hashing ------------------------------------------------------------------------------------

def test_deeply_nested_dict_key_is_refused_not_a_crash(tmp_path):
    # 100 000 nested 1-tuples as a dict key: hash() recurses in C and Python's own unpickler
    # (and PyTorch's weights-only one) die with a segmentation fault. Not run on torch.
    def build(a):
        return a.empty_dict().none().raw(b"\x85" * 100_000).none().setitem()

    for path in _files(tmp_path, build):
        _refused(path, "nested more than 100 deep")


def test_exponential_tuple_key_is_refused_quickly(tmp_path):
    # t = (t, t) eighty times: 200 bytes whose hash would visit 2**80 tuples (PyTorch hangs).
    def build(a):
        return a.empty_dict().int(1).raw(b"q\x00h\x00\x86" * 80).none().setitem()

    for path in _files(tmp_path, build):
        _refused(path, "tuple nested")


def test_tuple_keys_and_sets_of_tuples_still_load(tmp_path):
    obj = {(1, 2): "a", ((1, (2, 3)), "x"): "b", "s": {(1, 2), (3, (4,))},
           "c": collections.Counter({(1,): 2})}
    assert ember.load(zip_checkpoint(tmp_path / "z.pth", pickle.dumps(obj, protocol=2))) == obj


# -- add_safe_globals ---------------------------------------------------------------------------

def _dangerous():
    import builtins

    return [os.system, os.popen, functools.partial, importlib.import_module, builtins.eval,
            builtins.exec, builtins.getattr, builtins.__import__, builtins.open, np.load,
            pickle.loads]


@pytest.mark.parametrize("index", range(11))
def test_add_safe_globals_checks_the_object_not_only_the_name(index):
    fn = _dangerous()[index]
    # PyTorch trusts the name in (fn, "name"); ember refuses the object however it is named.
    for entry in (fn, (fn, "harmless.module.fn")):
        with pytest.raises(pickle.UnpicklingError, match="can never be allowed"):
            ember.serialization.add_safe_globals([entry])
    assert ember.serialization.get_safe_globals() == []


def test_a_denied_object_slipped_into_the_list_still_cannot_load(tmp_path):
    registry._entries.append((os.system, "harmless.fn"))  # bypassing add_safe_globals
    path = zip_checkpoint(tmp_path / "z.pth",
                          Asm().glob("harmless", "fn").mark().str("true").tuple().reduce().stop())
    _refused(path, "GLOBAL harmless.fn was not an allowed global")


class Config:
    def __init__(self, lr=0.1):
        self.lr = lr


def test_allowed_class_under_another_name_and_its_build(tmp_path, torch):
    pkl = pickle.dumps({"cfg": Config(0.5)}, protocol=2)
    pkl = pkl.replace(f"{__name__}\nConfig".encode(), b"old.place\nConfig")
    path = zip_checkpoint(tmp_path / "z.pth", pkl)
    _refused(path, "GLOBAL old.place.Config")
    with ember.serialization.safe_globals([(Config, "old.place.Config")]):
        assert ember.load(path)["cfg"].lr == 0.5
    assert ember.serialization.get_safe_globals() == []
    with torch.serialization.safe_globals([(Config, "old.place.Config")]):
        assert torch.load(path, weights_only=True)["cfg"].lr == 0.5


def test_tuple_form_is_validated_as_torch():
    with pytest.raises(ValueError, match="tuple of length 2"):
        ember.serialization.add_safe_globals([(Config, "a.b", "c")])
    with pytest.raises(TypeError, match="str of callable full path"):
        ember.serialization.add_safe_globals([(Config, 3)])


# -- weights_only=False and the environment -----------------------------------------------------

def _unsafe_file(tmp_path):
    return zip_checkpoint(tmp_path / "u.pth",
                          pickle.dumps({"when": datetime.date(2020, 1, 2)}, protocol=2))


def test_weights_only_false_is_full_pickle(tmp_path):
    assert ember.load(_unsafe_file(tmp_path), weights_only=False)["when"].year == 2020


@pytest.mark.parametrize("name", ["TORCH_FORCE_WEIGHTS_ONLY_LOAD",
                                  "EMBER_FORCE_WEIGHTS_ONLY_LOAD"])
@pytest.mark.parametrize("value", ["1", "y", "YES", "True"])
def test_force_weights_only_overrides_weights_only_false(tmp_path, torch, monkeypatch, name,
                                                         value):
    path = _unsafe_file(tmp_path)
    monkeypatch.setenv(name, value)
    _refused(path, "GLOBAL datetime.date")
    with pytest.raises(pickle.UnpicklingError):
        ember.load(path, weights_only=False)
    if name.startswith("TORCH"):
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=False)


@pytest.mark.parametrize("name", ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD",
                                  "EMBER_FORCE_NO_WEIGHTS_ONLY_LOAD"])
def test_force_no_weights_only_warns_and_applies_only_when_unset(tmp_path, torch, monkeypatch,
                                                                 name):
    path = _unsafe_file(tmp_path)
    monkeypatch.setenv(name, "true")
    with pytest.warns(UserWarning, match=f"Environment variable {name} detected"):
        assert ember.load(path)["when"].year == 2020
    _refused_explicit = pytest.raises(pickle.UnpicklingError)
    with _refused_explicit:
        ember.load(path, weights_only=True)
    if name.startswith("TORCH"):
        with pytest.warns(UserWarning, match="TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected"):
            assert torch.load(path)["when"].year == 2020
    monkeypatch.setenv(name, "0")
    _refused(path, "GLOBAL datetime.date")


def test_both_force_variables_is_an_error(tmp_path, torch, monkeypatch):
    path = _unsafe_file(tmp_path)
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    for load in (ember.load, torch.load):
        with pytest.raises(RuntimeError, match="Only one of"):
            load(path)


def test_pickle_module_with_weights_only_is_refused(tmp_path, torch):
    path = _unsafe_file(tmp_path)
    for load in (ember.load, torch.load):
        with pytest.raises(RuntimeError, match="explicit pickle_module"):
            load(path, pickle_module=pickle, weights_only=True)
    # A pickle_module alone means weights_only=False, as in PyTorch.
    assert ember.load(path, pickle_module=pickle)["when"].year == 2020


def test_a_loaded_checkpoint_is_freed_with_its_result_not_at_the_next_gc(tmp_path):
    # The interpreter's handlers refer to it (a reference cycle); what it built must not
    # stay alive through that cycle once the result is dropped.
    import gc
    import tracemalloc

    n = 2 << 20  # 8 MB of float32
    ember.save({"w": ember.zeros(n)}, tmp_path / "z.pth")
    legacy_checkpoint(tmp_path / "l.pth", Asm(legacy=True).tensor(numel=n, size=(n,)).stop(),
                      records={"0": np.zeros(n, np.float32)})
    ember.load(tmp_path / "z.pth")
    enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        for path in (tmp_path / "z.pth", tmp_path / "l.pth"):
            sd = ember.load(path)
            del sd
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        if enabled:
            gc.enable()
    assert held < 1 << 20, held
