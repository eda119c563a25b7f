"""Autograd gaps found by the 3-D geometry programs (tests/programs/geo_*.py), compared with
torch: pixel indices made with ``.floor().long()`` from differentiable coordinates."""
import pytest

import ember

torch = pytest.importorskip("torch")

CASTS = {
    "long": lambda lib, a: a.long(),
    "int": lambda lib, a: a.int(),
    "bool": lambda lib, a: a.bool(),
    "to_int64": lambda lib, a: a.to(lib.int64),
    "to_dtype_kw": lambda lib, a: a.round().to(dtype=lib.int32),
    "type_str": lambda lib, a: a.type("torch.LongTensor"),
    "floor_long": lambda lib, a: a.floor().long(),
    "to_uint8": lambda lib, a: a.to(lib.uint8),
    "half": lambda lib, a: a.half(),
    "to_complex": lambda lib, a: a.to(lib.complex64),
}


def _flags(lib, cast, leaf):
    x = lib.ones(3, requires_grad=True)
    r = CASTS[cast](lib, x if leaf else x * 2)
    return r.requires_grad, r.grad_fn is not None, r.is_leaf


@pytest.mark.parametrize("leaf", [True, False])
@pytest.mark.parametrize("cast", sorted(CASTS))
def test_cast_to_integer_drops_grad(cast, leaf):
    # ember's integer casts kept requires_grad and a ToCopyBackward0 node
    assert _flags(ember, cast, leaf) == _flags(torch, cast, leaf)


def test_float_path_beside_integer_indices_still_backpropagates():
    def run(lib):
        x = lib.tensor([0.25, 1.75, 2.5], requires_grad=True)
        idx = x.floor().long()
        out = lib.zeros(4).index_put((idx,), x * 3, accumulate=True)
        out.pow(2).sum().backward()
        return idx.tolist(), x.grad.tolist()

    assert run(ember) == run(torch)
