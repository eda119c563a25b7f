"""einops on ember tensors, against einops on PyTorch tensors (its own PyTorch backend)."""

import subprocess
import sys

import numpy as np
import pytest

import ember

einops = pytest.importorskip("einops")
torch = pytest.importorskip("torch")

CASES = [
    ("rearrange", "b c h w -> b (h w) c", {}),
    ("rearrange", "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", {"p1": 2, "p2": 2}),
    ("rearrange", "b c h w -> (b c) h w", {}),
    ("reduce", "b c h w -> b c", {"reduction": "mean"}),
    ("reduce", "b c (h 2) (w 2) -> b c h w", {"reduction": "max"}),
    ("reduce", "b c h w -> c", {"reduction": "sum"}),
    ("reduce", "b c h w -> b h w", {"reduction": "min"}),
    ("reduce", "b c h w -> b c", {"reduction": "prod"}),
    ("repeat", "b c h w -> b c h w r", {"r": 3}),
    ("repeat", "b c h w -> b (c r) h w", {"r": 2}),
]


def _call(lib_tensor, fn, pattern, kwargs):
    kwargs = dict(kwargs)
    if fn == "reduce":
        return einops.reduce(lib_tensor, pattern, kwargs.pop("reduction"), **kwargs)
    return getattr(einops, fn)(lib_tensor, pattern, **kwargs)


@pytest.mark.parametrize("fn,pattern,kwargs", CASES, ids=[c[1] + str(c[2]) for c in CASES])
def test_operations_and_gradients_match_einops_on_torch(fn, pattern, kwargs):
    data = np.random.default_rng(0).uniform(0.5, 1.5, (2, 3, 4, 4)).astype(np.float32)
    e = ember.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    ye, yt = _call(e, fn, pattern, kwargs), _call(t, fn, pattern, kwargs)
    assert tuple(ye.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    weights = np.random.default_rng(1).normal(size=tuple(yt.shape)).astype(np.float32)
    (ye * ember.tensor(weights)).sum().backward()
    (yt * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_einsum_pack_unpack_and_parse_shape():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    e, t = ember.tensor(a), torch.tensor(a)
    np.testing.assert_array_equal(einops.einsum(e, e, "b c d, b e d -> b c e").numpy(),
                                  einops.einsum(t, t, "b c d, b e d -> b c e").numpy())
    packed_e, shapes_e = einops.pack([e, e[:, 0]], "b *")
    packed_t, shapes_t = einops.pack([t, t[:, 0]], "b *")
    np.testing.assert_array_equal(packed_e.numpy(), packed_t.numpy())
    assert [tuple(s) for s in shapes_e] == [tuple(s) for s in shapes_t]
    parts = einops.unpack(packed_e, shapes_e, "b *")
    np.testing.assert_array_equal(parts[0].numpy(), a)
    assert einops.parse_shape(e, "b c _") == {"b": 2, "c": 3}
    np.testing.assert_array_equal(einops.asnumpy(e), a)


def test_integer_tensors_keep_their_dtype_and_refuse_mean_like_torch():
    e = ember.arange(12).reshape(3, 4)
    t = torch.arange(12).reshape(3, 4)
    assert einops.rearrange(e, "a b -> b a").dtype is ember.int64
    with pytest.raises(Exception) as ember_err:
        einops.reduce(e, "a b -> a", "mean")
    with pytest.raises(Exception) as torch_err:
        einops.reduce(t, "a b -> a", "mean")
    assert type(ember_err.value) is type(torch_err.value)
    assert str(ember_err.value) == str(torch_err.value)


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_einops_imported_after_ember_without_torch_in_the_program():
    out = _run("import sys\n"
               "import ember as torch\n"
               "assert 'einops' not in sys.modules\n"
               "from einops import rearrange\n"
               "x = torch.zeros(2, 3, 4)\n"
               "print(tuple(rearrange(x, 'b c d -> b (c d)').shape))\n"
               "print('torch' in sys.modules)\n")
    assert out.split() == ["(2,", "12)", "False"]


def test_einops_imported_before_ember():
    out = _run("import einops\n"
               "import ember\n"
               "print(tuple(einops.repeat(ember.ones(2), 'a -> a b', b=3).shape))\n")
    assert out.strip() == "(2, 3)"


def test_import_hook_is_transparent_when_einops_is_missing():
    # the hook finds nothing itself: a missing einops is Python's own ModuleNotFoundError,
    # and the hook leaves sys.meta_path after its one lookup
    out = _run("import sys\n"
               "import ember\n"
               "from ember import _einops_backend as hook\n"
               "assert hook._hook in sys.meta_path\n"
               "sys.modules['einops'] = None\n"  # as if not installed
               "try:\n"
               "    import einops\n"
               "except ImportError as e:\n"
               "    print(type(e).__name__)\n"
               "del sys.modules['einops']\n"
               "sys.path[:] = [p for p in sys.path if 'site-packages' not in p]\n"
               "try:\n"
               "    import einops\n"
               "except ModuleNotFoundError as e:\n"
               "    print(e)\n"
               "print(hook._hook in sys.meta_path)\n")
    assert out.splitlines() == ["ModuleNotFoundError", "No module named 'einops'", "False"]


def test_layers_name_what_to_do_instead():
    backend = einops._backends.get_backend(ember.zeros(1))
    with pytest.raises(NotImplementedError, match="einops.rearrange"):
        backend.layers()


def test_an_einops_without_the_backend_api_still_imports():
    # a future einops that moved AbstractBackend: einops' import must not break because of
    # ember (a warning says what was not done)
    out = _run("import sys, types, warnings\n"
               "import ember\n"
               "from ember import _einops_backend as hook\n"
               "fake = types.ModuleType('einops')\n"
               "fake._backends = types.ModuleType('einops._backends')\n"
               "class Loader:\n"
               "    def create_module(self, spec):\n"
               "        return None\n"
               "    def exec_module(self, module):\n"
               "        module.loaded = True\n"
               "class Finder:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        import importlib.util\n"
               "        if name == 'einops':\n"
               "            return importlib.util.spec_from_loader(name, Loader())\n"
               "sys.meta_path.insert(1, Finder())\n"
               "with warnings.catch_warnings(record=True) as seen:\n"
               "    warnings.simplefilter('always')\n"
               "    import einops\n"
               "print(einops.loaded, len(seen), 'backend' in str(seen[0].message))\n")
    assert out.split() == ["True", "1", "True"]
