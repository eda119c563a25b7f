"""Names real programs touch beyond the public API: ``torch._dynamo.config`` /
``torch._inductor.config`` settings, ``torch._dynamo``'s marking helpers, ``torch.types`` and
``torch.nn.common_types`` aliases (imported at the top of many layer files), ``torch.jit.Final``
/ ``Attribute``, and the coupling of ``set_float32_matmul_precision`` with
``backends.cuda.matmul.allow_tf32``. Each is compared with PyTorch."""

import importlib
import re

import pytest

import ember

torch = pytest.importorskip("torch")


def _alias_text(value) -> str:
    # torch's aliases name torch.Tensor / torch.dtype ...; ember's the same classes of ember
    return re.sub(r"\b(torch|ember)(\.\w+)*\.(\w+)\b", r"\3",
                  str(value)).replace("typing.Optional[int]", "int | None")


@pytest.mark.parametrize("module", ["_dynamo", "_inductor"])
def test_config_defaults_are_torchs(module):
    ours = importlib.import_module(f"ember.{module}.config").get_config_copy()
    theirs = importlib.import_module(f"torch.{module}.config")
    for name, value in ours.items():
        obj = theirs
        for part in name.split("."):
            obj = getattr(obj, part)
        assert obj == value, name


def test_dynamo_reachable_as_attribute_and_unknown_names_raise_like_torch():
    config = ember._dynamo.config  # no explicit import, as torch._dynamo.config works
    with pytest.raises(AttributeError) as ours:
        config.no_such_flag = 1
    with pytest.raises(AttributeError) as theirs:
        torch._dynamo.config.no_such_flag = 1
    assert str(ours.value) == str(theirs.value).replace("torch", "ember")
    with pytest.raises(AttributeError, match="triton.nope does not exist"):
        _ = ember._inductor.config.triton.nope


def test_cache_size_limit_is_recompile_limit_and_patch_restores():
    config = ember._dynamo.config
    with config.patch(cache_size_limit=3):
        assert config.recompile_limit == 3
        with config.patch("recompile_limit", 5):
            assert config.cache_size_limit == 5
        assert config.cache_size_limit == 3
    assert config.recompile_limit == config.cache_size_limit == 8

    @config.patch(suppress_errors=True)
    def inside():
        return config.suppress_errors

    assert inside() is True and config.suppress_errors is False
    with pytest.raises(AttributeError):
        config.patch(not_a_setting=1)


def test_marking_helpers_record_torchs_attributes():
    import ember._dynamo

    for lib in (torch, ember):
        t = lib.ones(3, 4)
        lib._dynamo.mark_dynamic(t, 0)
        lib._dynamo.maybe_mark_dynamic(t, [1])
        u = lib.ones(2, 5)
        lib._dynamo.mark_static(u)
        if lib is torch:
            expected = (t._dynamo_dynamic_indices, t._dynamo_weak_dynamic_indices,
                        u._dynamo_static_indices)
    assert (t._dynamo_dynamic_indices, t._dynamo_weak_dynamic_indices,
            u._dynamo_static_indices) == expected == ({0}, {1}, {0, 1})
    assert ember._dynamo.is_compiling() is False
    ember._dynamo.graph_break()
    ember._dynamo.reset()


def test_type_aliases_match_torchs():
    import torch.nn.common_types as torch_common
    import torch.types as torch_types

    import ember.nn.common_types as common
    import ember.types as types

    names = [n for n in dir(torch_common) if n.startswith("_") and n.endswith("_t")]
    assert len(names) > 20
    for name in names:
        assert _alias_text(getattr(common, name)) == _alias_text(getattr(torch_common, name))
    for name in ("Number", "Device", "_size", "_TensorOrTensors", "_int", "_bool", "_dtype"):
        assert _alias_text(getattr(types, name)) == _alias_text(getattr(torch_types, name))
    assert set(torch_types.__all__) <= set(dir(types))


def test_jit_final_and_attribute():
    assert ember.jit.Final is torch.jit.Final
    ours, theirs = ember.jit.Attribute([1], list), torch.jit.Attribute([1], list)
    assert (ours.value, ours.type) == (theirs.value, theirs.type)


_PRECISION_STEPS = """
def state():
    m = lib.backends.cuda.matmul
    return lib.get_float32_matmul_precision(), m.fp32_precision

seen = [state(), lib.backends.cuda.matmul.allow_tf32]
for precision in ("high", "medium", "highest"):
    lib.set_float32_matmul_precision(precision)
    seen += [state(), lib.backends.cuda.matmul.allow_tf32]
for flag in (True, False):
    lib.backends.cuda.matmul.allow_tf32 = flag
    seen += [state(), lib.backends.cuda.matmul.allow_tf32]
print(seen)
"""


def test_matmul_precision_and_allow_tf32_follow_each_other():
    # each library in a fresh process: torch remembers which API set the flag and refuses
    # some reads after a mix, which would leak into other tests
    import subprocess
    import sys

    runs = [subprocess.run([sys.executable, "-c", f"import {name} as lib\n" + _PRECISION_STEPS],
                           capture_output=True, text=True, timeout=300)
            for name in ("torch", "ember")]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    assert runs[0].stdout == runs[1].stdout
    assert "('high', 'tf32'), True" in runs[1].stdout
