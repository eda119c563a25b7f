"""Gaps found while writing the checkpoint programs (tests/programs/ckpt_*.py), each checked
against PyTorch: ``torch.load(..., map_location="meta")`` (or a dict mapping to meta) gives meta
tensors with the saved shapes and dtypes, as PyTorch does, instead of CPU tensors of
garbage values; a meta-device model then takes them with ``load_state_dict(assign=True)``; a
``map_location`` that is neither a str, dict, device nor callable is a TypeError, as PyTorch's
(ember ignored it)."""

import io

import pytest
import torch

import ember


def _saved(lib):
    buf = io.BytesIO()
    base = lib.arange(6.0).view(2, 3)
    lib.save({"w": base, "row": base[1], "t": base.t(), "i": lib.ones(2, dtype=lib.int64),
              "e": lib.empty(0, 2)}, buf)
    buf.seek(0)
    return buf


def _describe(state):
    # (strides and storage offsets left out: ember's meta tensors keep no layout at all, a
    # limitation of meta tensors in general, not of loading)
    return {k: (str(v.device), str(v.dtype), tuple(v.shape)) for k, v in state.items()}


@pytest.mark.parametrize("where", ["meta", "device", "dict"])
def test_load_to_meta(where):
    def load(lib):
        ml = {"meta": "meta", "device": lib.device("meta"), "dict": {"cpu": "meta"}}[where]
        return _describe(lib.load(_saved(lib), map_location=ml, weights_only=True))

    expected = load(torch)
    assert all(d[0] == "meta" for d in expected.values())
    assert load(ember) == expected


def test_meta_checkpoint_into_meta_model_with_assign():
    def run(lib):
        lib.manual_seed(0)
        buf = io.BytesIO()
        lib.save(lib.nn.Linear(3, 2).state_dict(), buf)
        buf.seek(0)
        state = lib.load(buf, map_location="meta")
        with lib.device("meta"):
            model = lib.nn.Linear(3, 2)
        result = model.load_state_dict(state, assign=True)
        return (str(result), str(model.weight.device), model.weight.requires_grad,
                type(model.weight).__name__, tuple(model.bias.shape))

    assert run(ember) == run(torch)


@pytest.mark.parametrize("map_location", [3, 2.5, ["cpu"]])
def test_map_location_of_another_type_is_refused(map_location):
    """PyTorch calls a map_location that is not a str, dict or device: a TypeError."""
    def error(lib):
        with pytest.raises(TypeError) as info:
            lib.load(_saved(lib), map_location=map_location)
        return str(info.value)

    assert error(ember) == error(torch)
