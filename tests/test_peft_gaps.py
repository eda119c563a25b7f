"""Gaps found while writing the parameter-efficient fine-tuning programs
(tests/programs/peft_*.py), each checked against PyTorch."""

import pytest
import torch

import ember


def _error(lib, fn):
    with pytest.raises(Exception) as info:
        fn(lib)
    return type(info.value).__name__, str(info.value)


@pytest.mark.parametrize("target", ["0.weight", "0.bias", "0.in_features", "1.training",
                                    "0.nope", "0.weight.data"])
def test_get_submodule_on_a_non_module_attribute_says_so(target):
    # LoRA injectors walk dotted names from named_parameters(); a parameter's name is not a
    # submodule, and PyTorch says "`weight` is not an nn.Module" rather than "has no attribute"
    def fn(lib):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU())
        return net.get_submodule(target)

    assert _error(ember, fn) == _error(torch, fn)


def test_get_submodule_follows_plain_module_attributes():
    for lib in (ember, torch):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3))
        assert net.get_submodule("0") is net[0]
        assert net.get_submodule("") is net


class _Opaque:
    pass


@pytest.mark.parametrize("make_value", [
    lambda lib: [1.0, 2.0], lambda lib: 3.0, lambda lib: None, lambda lib: _Opaque(),
    lambda lib: __import__("numpy").ones(2, dtype="float32"),
    lambda lib: lib.ones(2, dtype=lib.int64)])
def test_setting_data_to_a_non_tensor_or_int_tensor_on_a_parameter_is_refused(make_value):
    # prepare-for-kbit-training style code assigns ``p.data = ...``; a wrong value must raise
    # PyTorch's error, not an AttributeError from inside ember
    def fn(lib):
        p = lib.nn.Parameter(lib.ones(2))
        p.data = make_value(lib)

    assert _error(ember, fn) == _error(torch, fn)


def test_setting_data_changes_dtype_and_shape_and_keeps_the_parameter():
    for lib in (ember, torch):
        p = lib.nn.Parameter(lib.ones(2, 3))
        p.data = p.data.half()
        q = lib.ones(2)
        q.data = lib.arange(5)  # a tensor that needs no grad may take an integer one
        got = (str(p.dtype), type(p).__name__, p.requires_grad, tuple(q.shape), str(q.dtype))
        if lib is ember:
            mine = got
        else:
            theirs = got
    assert mine == theirs


def _load_into_meta(lib):
    """Build a model on meta (``init_empty_weights`` style), load a real checkpoint without
    ``assign``: PyTorch warns once per tensor and leaves the model on meta."""
    import warnings

    with lib.device("meta"):
        empty = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.LayerNorm(4))
    real = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.LayerNorm(4)).state_dict()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = empty.load_state_dict(real)
    messages = [(w.category.__name__, str(w.message)) for w in caught]
    still_meta = [p.is_meta for p in empty.parameters()]
    empty.load_state_dict(real, assign=True)  # the way to load it
    loaded = [(p.is_meta, type(p).__name__, p.requires_grad) for p in empty.parameters()]
    return repr(result), messages, still_meta, loaded


def test_loading_a_real_checkpoint_into_a_meta_model_warns_and_is_a_no_op():
    mine, theirs = _load_into_meta(ember), _load_into_meta(torch)
    assert mine == theirs
    assert len(theirs[1]) == 4 and all(theirs[2])
