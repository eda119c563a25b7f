"""``ember.utils.hooks`` against ``torch.utils.hooks``, and ``ember.utils``'s lazy submodules:
a name that is not a module answers hasattr() with False (it raised ModuleNotFoundError for
the listed-but-absent ``hooks`` and ``safetensors``)."""

import warnings
from collections import OrderedDict

import pytest

import ember


@pytest.mark.parametrize("lib_name", ["ember", "torch"])
def test_removable_handle_removes_from_every_dict(lib_name, torch):
    lib = ember if lib_name == "ember" else torch
    RemovableHandle = lib.utils.hooks.RemovableHandle
    with pytest.raises(TypeError):  # a plain dict takes no weak reference
        RemovableHandle({})
    main, extra = OrderedDict(), OrderedDict()
    h1 = RemovableHandle(main, extra_dict=extra)
    h2 = RemovableHandle(main)
    assert h2.id == h1.id + 1
    main[h1.id] = extra[h1.id] = "a"
    main[h2.id] = "b"
    with h2:
        pass
    assert main == {h1.id: "a"}
    h1.remove()
    h1.remove()  # a second remove is harmless
    assert main == {} and extra == {}


def test_unserializable_hook_and_warning(torch):
    for lib in (ember, torch):
        hooks = lib.utils.hooks
        t = lib.ones(2, requires_grad=True)
        t.register_hook(hooks.unserializable_hook(lambda g: g))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            hooks.warn_if_has_hooks(t)  # marked: silent
        t2 = lib.ones(2, requires_grad=True)
        t2.register_hook(lambda g: g)
        with pytest.warns(UserWarning, match="will not be serialized"):
            hooks.warn_if_has_hooks(t2)


@pytest.mark.parametrize("name", ["data", "checkpoint", "hooks", "tensorboard"])
def test_utils_submodules_load(name):
    assert hasattr(ember.utils, name)


@pytest.mark.parametrize("name", ["safetensors", "no_such_module", "_private"])
def test_missing_utils_names_are_attribute_errors(name):
    assert not hasattr(ember.utils, name)
    with pytest.raises(AttributeError):
        getattr(ember.utils, name)
