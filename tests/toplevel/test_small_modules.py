"""``ember.version``, ``ember.random``, ``ember.functional``, ``ember.storage`` and the device
modules PyTorch's CPU builds answer without a device (``mps``, ``xpu``, ``mtia``)."""

import subprocess
import sys
import types

import pytest

import ember


def test_import_ember_loads_none_of_them():
    code = ("import sys, ember\n"
            "print([m for m in ('ember.version', 'ember.random', 'ember.multiprocessing', "
            "'ember.functional', 'ember.storage', 'ember.mps', 'ember.xpu', 'ember.mtia') "
            "if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# -- version ------------------------------------------------------------------------------------

def test_version_module(torch):
    v = ember.version
    assert set(v.__all__) == set(torch.version.__all__)
    assert v.__version__ == ember.__version__ and isinstance(v.git_version, str)
    assert (v.cuda, v.hip, v.rocm, v.xpu, v.debug) == (None, None, None, None, False)
    assert type(torch.version.debug) is bool


# -- random -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["manual_seed", "seed", "initial_seed", "get_rng_state",
                                  "set_rng_state", "default_generator"])
def test_random_names_are_the_top_level_objects(torch, name):
    # (torch's own identity is not asserted: importing torch._dynamo, as torch.compile does
    # in other tests, wraps torch.manual_seed)
    assert hasattr(torch.random, name)
    assert getattr(ember.random, name) is getattr(ember, name)


def test_random_all_matches_torch(torch):
    public = {n for n in dir(torch.random) if not n.startswith("_")}
    assert set(ember.random.__all__) <= public
    assert {"fork_rng", "manual_seed", "seed", "initial_seed", "get_rng_state",
            "set_rng_state", "default_generator"} <= set(ember.random.__all__)


def test_fork_rng_restores_the_state(torch):
    for lib in (ember, torch):
        lib.manual_seed(0)
        with lib.random.fork_rng(devices=[]):
            inside = lib.rand(3).tolist()
            lib.manual_seed(5)
            lib.rand(2)
        after = lib.rand(3).tolist()
        assert inside == after  # the block's draws did not advance the outer stream


def test_fork_rng_restores_after_an_exception():
    ember.manual_seed(1)
    state = ember.get_rng_state()
    with pytest.raises(ValueError), ember.random.fork_rng():
        ember.rand(4)
        raise ValueError
    assert ember.get_rng_state().tolist() == state.tolist()


def test_fork_rng_disabled_and_meta(torch):
    for lib in (ember, torch):
        lib.manual_seed(0)
        first = lib.rand(2).tolist()
        lib.manual_seed(0)
        with lib.random.fork_rng(enabled=False):
            assert lib.rand(2).tolist() == first
        assert lib.rand(2).tolist() != first
        with lib.random.fork_rng(device_type="meta"):
            second = lib.rand(2).tolist()
        assert lib.rand(2).tolist() != second  # neither form restored the state


def test_fork_rng_signature(torch):
    import inspect

    assert list(inspect.signature(ember.random.fork_rng).parameters) == \
        list(inspect.signature(torch.random.fork_rng).parameters)


def test_fork_rng_bad_devices(torch):
    for lib in (ember, torch):
        with pytest.raises(TypeError), lib.random.fork_rng(devices=3):
            pass


# -- functional ----------------------------------------------------------------------------------

def test_functional_names(torch):
    assert ember.functional.__all__  # not vacuous
    for name in ember.functional.__all__:
        assert name in torch.functional.__all__
        assert getattr(ember.functional, name) is getattr(ember, name)
    for name in torch.functional.__all__:
        assert hasattr(ember.functional, name) is (name in vars(ember)), name


def test_functional_einsum_matches(torch):
    a = [[1.0, 2.0], [3.0, 4.0]]
    got = ember.functional.einsum("ij,jk->ik", ember.tensor(a), ember.tensor(a))
    assert got.tolist() == torch.functional.einsum("ij,jk->ik", torch.tensor(a),
                                                   torch.tensor(a)).tolist()


# -- storage -------------------------------------------------------------------------------------

def test_storage_classes(torch):
    t = ember.arange(4.0)
    assert isinstance(t.untyped_storage(), ember.storage.UntypedStorage)
    assert isinstance(t.storage(), ember.storage.TypedStorage)
    assert t.untyped_storage().nbytes() == torch.arange(4.0).untyped_storage().nbytes() == 16
    assert set(ember.storage.__all__) <= set(dir(torch.storage))


# -- mps, xpu, mtia --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mps", "xpu", "mtia"])
def test_device_module_functions_match_torch(torch, name):
    mod, tmod = getattr(ember, name), getattr(torch, name)
    assert isinstance(mod, types.ModuleType) and {"is_available", "device_count"} <= \
        set(mod.__all__)
    for fn in mod.__all__:
        ours, theirs = getattr(mod, fn), getattr(tmod, fn)
        if fn in ("manual_seed", "manual_seed_all"):
            assert ours(0) is theirs(0) is None
        else:
            got, want = ours(), theirs()
            assert got == want and type(got) is type(want), (fn, got, want)


@pytest.mark.parametrize("name", ["xpu", "mtia"])
def test_device_module_seed_checks(torch, name):
    for lib in (ember, torch):
        for fn in ("manual_seed", "manual_seed_all"):
            with pytest.raises(ValueError):
                getattr(getattr(lib, name), fn)("x")


@pytest.mark.parametrize("name", ["xpu", "mtia"])
def test_device_module_memory_with_a_device(torch, name):
    for lib in (ember, torch):
        assert getattr(lib, name).memory_allocated(0) == 0
        assert getattr(lib, name).max_memory_allocated("cpu") == 0
