"""Container behaviour pinned against torch after the clean-room rewrite of
``ember/nn/modules/container.py``: each case runs the same code on both libraries and compares
the result (or the exception type and message)."""

from collections import OrderedDict

import pytest

import ember


def _outcome(lib, fn):
    try:
        return "ok", fn(lib)
    except Exception as err:  # the exception itself is the outcome being compared
        text = str(err).replace(lib.__name__, "LIB")
        return type(err).__name__, text


def _same(torch, fn):
    got, want = _outcome(ember, fn), _outcome(torch, fn)
    assert got == want
    return got


def _kinds(modules):
    return [type(m).__name__ for m in modules]


def _seq(L):
    return L.nn.Sequential(L.nn.ReLU(), L.nn.Tanh())


# -- Sequential arithmetic ---------------------------------------------------------------------
@pytest.mark.parametrize("factor", [1, 3, 0, -2, 2.0])
def test_sequential_mul_rmul_imul(torch, factor):
    def mul(L):
        s = _seq(L)
        out = s * factor
        return list(out._modules), _kinds(out), out is s, out[0] is s[0]

    def rmul(L):
        return list((factor * _seq(L))._modules)

    def imul(L):
        s = _seq(L)
        before = s
        s *= factor
        return list(s._modules), s is before, len(set(map(id, s)))

    for fn in (mul, rmul, imul):
        _same(torch, fn)


def test_sequential_iadd_add_and_subclass_results(torch):
    def iadd(L):
        s = _seq(L)
        before = s
        s += L.nn.Sequential(L.nn.ELU())
        return list(s._modules), _kinds(s), s is before

    class_of = {}

    def subclass(L):
        sub = class_of.setdefault(L.__name__, type("MySeq", (L.nn.Sequential,), {}))
        s = sub(L.nn.ReLU(), L.nn.Tanh(), L.nn.ELU())
        return type(s[1:]).__name__, type(s + s).__name__, type(s * 2).__name__

    _same(torch, iadd)
    _same(torch, subclass)
    _same(torch, lambda L: _seq(L).__iadd__([L.nn.ReLU()]))
    _same(torch, lambda L: _seq(L) + L.nn.ModuleList([L.nn.ReLU()]))


@pytest.mark.parametrize("index", [0, 2, -1, -2, 3, -3, "0", 0.0])
def test_sequential_insert(torch, index):
    def run(L):
        s = _seq(L)
        back = s.insert(index, L.nn.ELU())
        return back is s, list(s._modules), _kinds(s)

    _same(torch, run)
    _same(torch, lambda L: _seq(L).insert(0, 5))


@pytest.mark.parametrize("idx", [0, -1, 2, -3, "a", 1.0, slice(1, None), slice(None, None, -1)])
def test_sequential_and_modulelist_indexing(torch, idx):
    def seq(L):
        got = L.nn.Sequential(OrderedDict(a=L.nn.ReLU(), b=L.nn.Tanh()))[idx]
        return type(got).__name__, list(getattr(got, "_modules", {}))

    def mlist(L):
        got = L.nn.ModuleList([L.nn.ReLU(), L.nn.Tanh()])[idx]
        return type(got).__name__, list(getattr(got, "_modules", {}))

    _same(torch, seq)
    _same(torch, mlist)


@pytest.mark.parametrize("idx", [0, -1, 1, slice(0, 2), slice(None, None, 2), 4, -5])
def test_delete_and_pop_renumber(torch, idx):
    def run(L, kind):
        mods = [L.nn.ReLU(), L.nn.Tanh(), L.nn.ELU(), L.nn.Sigmoid()]
        box = L.nn.Sequential(*mods) if kind == "seq" else L.nn.ModuleList(mods)
        taken = box.pop(idx)
        return type(taken).__name__, list(box._modules), _kinds(box)

    _same(torch, lambda L: run(L, "seq"))
    _same(torch, lambda L: run(L, "list"))


# -- ModuleList --------------------------------------------------------------------------------
def test_modulelist_repr_collapses_runs_of_equal_children(torch):
    def run(L):
        nn = L.nn
        shared = nn.ReLU()
        blocks = [nn.Sequential(nn.Linear(2, 2), nn.ReLU()) for _ in range(2)]
        items = [nn.Linear(2, 2) for _ in range(3)] + [shared, shared, nn.Linear(2, 3)] + blocks
        lst = nn.ModuleList(items + [None, None, nn.Tanh()])
        return repr(lst), repr(nn.ModuleList()), repr(nn.ModuleList([nn.ReLU()]))

    kind, (full, empty, single) = _same(torch, run)
    assert "(0-2): 3 x Linear" in full and "(6-7): 2 x Sequential(" in full


def test_modulelist_errors_and_no_forward(torch):
    _same(torch, lambda L: L.nn.ModuleList([L.nn.ReLU()])(L.ones(1)))
    _same(torch, lambda L: L.nn.ModuleList(L.nn.ReLU()))
    _same(torch, lambda L: L.nn.ModuleList([L.nn.ReLU()]) + 1)
    _same(torch, lambda L: list((L.nn.ModuleList([L.nn.ReLU()]) + [L.nn.Tanh()])._modules))


# -- ModuleDict --------------------------------------------------------------------------------
@pytest.mark.parametrize("arg", ["int", "pair3", "module_in_list", "int_in_list", "pair1"])
def test_moduledict_update_errors(torch, arg):
    def run(L):
        value = {"int": 3, "pair3": [("a", L.nn.ReLU(), 1)], "module_in_list": [L.nn.ReLU()],
                 "int_in_list": [3], "pair1": [("a",)]}[arg]
        return L.nn.ModuleDict(value)

    _same(torch, run)


def test_moduledict_keeps_order_and_has_no_forward(torch):
    def run(L):
        inner = L.nn.ModuleDict({"q": L.nn.ReLU(), "p": L.nn.Tanh()})
        return list(L.nn.ModuleDict(inner)), list(L.nn.ModuleDict({"z": L.nn.ReLU(), "a": None}))

    _same(torch, run)
    _same(torch, lambda L: L.nn.ModuleDict({"a": L.nn.ReLU()})(L.ones(1)))


# -- ParameterList -----------------------------------------------------------------------------
def test_parameterlist_holds_any_object_and_reprs_it(torch):
    def run(L):
        plist = L.nn.ParameterList([L.ones(2, 3, dtype=L.float64), 4, "s", None, L.tensor(1.0)])
        plist.append(L.nn.Linear(1, 1))
        return (repr(plist), _kinds(plist), list(plist.state_dict()),
                list(plist[::-1].state_dict()), plist[2], plist[-3])

    _same(torch, run)
    _same(torch, lambda L: L.nn.ParameterList([L.ones(1)])[3])
    _same(torch, lambda L: L.nn.ParameterList([L.ones(1)])["0"])
    _same(torch, lambda L: L.nn.ParameterList().extend(L.ones(2)))
    _same(torch, lambda L: L.nn.ParameterList()(1))


# -- ParameterDict -----------------------------------------------------------------------------
def test_parameterdict_sorts_a_plain_dict_only(torch):
    def run(L):
        plain = L.nn.ParameterDict({"b": L.ones(2), "a": L.zeros(3), "c": 5, "n": None})
        ordered = L.nn.ParameterDict(OrderedDict(z=L.ones(1), a=L.ones(1)))
        pairs = L.nn.ParameterDict([("y", L.ones(1)), ("x", L.ones(1))])
        return (repr(plain), list(plain), list(plain.state_dict()), list(ordered), list(pairs),
                _kinds(plain.values()), list(reversed(plain)))

    _same(torch, run)


def test_parameterdict_dict_methods(torch):
    def run(L):
        d = L.nn.ParameterDict(OrderedDict(a=L.ones(1), b=L.ones(2)))
        out = [tuple(d.setdefault("a", L.ones(9)).shape), type(d.setdefault("c", L.ones(3))).__name__,
               d.setdefault("d"), list(d)]
        dup = d.copy()
        out += [type(dup).__name__, dup is d, list(dup), dup["a"] is d["a"]]
        out += [d.popitem(), list(d), d.get("zz", 7)]
        made = d.fromkeys(["x", "y"], L.zeros(2))
        out += [repr(made), made["x"] is made["y"], repr(d.fromkeys(["k"]))]
        out += [d.clear(), len(d)]
        return out

    _same(torch, run)
    _same(torch, lambda L: L.nn.ParameterDict().popitem())


def test_parameterdict_union_operators(torch):
    def run(L):
        left = L.nn.ParameterDict(OrderedDict(a=L.ones(1), b=L.ones(1)))
        right = L.nn.ParameterDict(OrderedDict(b=L.zeros(2), c=L.ones(1)))
        merged = left | right
        swapped = {"z": L.ones(1), "b": L.ones(1)} | right
        before = left
        left |= [("q", L.ones(4))]
        return (type(merged).__name__, list(merged), tuple(merged["b"].shape),
                merged["a"] is left["a"], type(swapped).__name__, list(swapped),
                tuple(swapped["b"].shape), left is before, list(left))

    _same(torch, run)
    _same(torch, lambda L: L.nn.ParameterDict() | 3)


@pytest.mark.parametrize("case", ["set_int", "get_int", "del_int", "nonmap", "pair3", "int_pair",
                                  "call"])
def test_parameterdict_errors(torch, case):
    def run(L):
        d = L.nn.ParameterDict()
        if case == "set_int":
            d[1] = L.ones(1)
        elif case == "get_int":
            return d[1]
        elif case == "del_int":
            del d[1]
        elif case == "nonmap":
            d.update(3)
        elif case == "pair3":
            d.update([("a", L.ones(1), 2)])
        elif case == "int_pair":
            d.update([3])
        else:
            d(1)

    _same(torch, run)


# -- Container ---------------------------------------------------------------------------------
def test_container_warns_and_registers(torch):
    def run(L):
        with pytest.warns(FutureWarning, match="nn.Container` is deprecated"):
            box = L.nn.Container(a=L.nn.ReLU(), b=None)
        return repr(box)

    _same(torch, run)
    _same(torch, lambda L: L.nn.Container(L.nn.ReLU()))
