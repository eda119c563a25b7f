"""vmap refuses, as PyTorch, an in-place write of values mapped over the batch into a tensor
that is not mapped (a buffer made outside the function, or unmapped inside it): ember's loop
used to write one element after another into it, silently mixing the batch."""

import warnings

import pytest

import ember

torch = pytest.importorskip("torch")

# name -> fn(lib, buffer, x): an in-place write of x (mapped) into buffer (not mapped)
WRITES = {
    "add_": lambda lib, b, x: b.add_(x),
    "add_ alpha": lambda lib, b, x: b.add_(x, alpha=2),
    "iadd": lambda lib, b, x: b.__iadd__(x),
    "sub_": lambda lib, b, x: b.sub_(x),
    "isub": lambda lib, b, x: b.__isub__(x),
    "mul_": lambda lib, b, x: b.mul_(x),
    "imul": lambda lib, b, x: b.__imul__(x),
    "div_": lambda lib, b, x: b.div_(x),
    "itruediv": lambda lib, b, x: b.__itruediv__(x),
    "atan2_": lambda lib, b, x: b.atan2_(x),
    "pow_": lambda lib, b, x: b.pow_(x),
    "lerp_": lambda lib, b, x: b.lerp_(x, 0.5),
    "addcmul_": lambda lib, b, x: b.addcmul_(x, x),
    "addcdiv_": lambda lib, b, x: b.addcdiv_(x, x),
    "clamp_ min": lambda lib, b, x: b.clamp_(min=x),
    "clamp_ max": lambda lib, b, x: b.clamp_(max=x),
    "copy_": lambda lib, b, x: b.copy_(x),
    "setitem int": lambda lib, b, x: b.__setitem__(0, x[0]),
    "setitem slice": lambda lib, b, x: b.__setitem__(slice(None), x),
    "masked_fill_": lambda lib, b, x: b.masked_fill_(x > 0, 1.0),
    "fill_ tensor": lambda lib, b, x: b.fill_(x[0]),
    "index_put_": lambda lib, b, x: b.index_put_((lib.tensor([0]),), x[:1]),
    "index_add_": lambda lib, b, x: b.index_add_(0, lib.tensor([0, 1, 2]), x),
    "scatter_": lambda lib, b, x: b.scatter_(0, lib.tensor([0, 1, 2]), x),
    "masked_scatter_": lambda lib, b, x: b.masked_scatter_(x > 0, x),
}


def _outcome(lib, write, requires_grad):
    outside = lib.zeros(3)
    x = lib.ones(4, 3) * 1.5
    if requires_grad:
        x.requires_grad_(True)

    def f(v):
        write(lib, outside, v)
        return v * 2

    def g(v):  # a tensor made inside the function from no mapped input is not mapped either
        write(lib, lib.zeros(3), v)
        return v

    results = []
    for fn in (f, g):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's "performance drop" fallback warnings
                out = lib.func.vmap(fn)(x)
            results.append(("ok", out.detach().tolist()))
        except Exception as e:  # noqa: BLE001
            results.append((type(e).__name__, str(e)))
    return results, outside.tolist()


@pytest.mark.parametrize("requires_grad", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("name", list(WRITES))
def test_write_into_unmapped_tensor_raises_as_torch(name, requires_grad):
    expected = _outcome(torch, WRITES[name], requires_grad)
    assert _outcome(ember, WRITES[name], requires_grad) == expected


@pytest.mark.parametrize("case", ["nested", "nested partial", "2-d buffer", "self mapped",
                                  "unmapped value", "scalar"])
def test_shapes_in_the_broadcast_message_and_allowed_writes(case):
    def run(lib):
        vmap = lib.func.vmap
        try:
            if case == "nested":
                out = vmap(lambda x: vmap(lambda y: lib.zeros(3).add_(y))(x))(lib.ones(2, 4, 3))
            elif case == "nested partial":
                out = vmap(lambda x: vmap(lambda y: x.clone().add_(y))(lib.ones(5, 3)))(
                    lib.ones(2, 3))
            elif case == "2-d buffer":
                out = vmap(lambda x: lib.zeros(2, 3).add_(x))(lib.ones(4, 3))
            elif case == "self mapped":
                out = vmap(lambda x: x.clone().add_(lib.ones(3)))(lib.ones(4, 3))
            elif case == "unmapped value":
                out = vmap(lambda x: lib.zeros(3).add_(lib.ones(3)) + x)(lib.ones(4, 3))
            else:
                out = vmap(lambda x: lib.zeros(3).mul_(2) + x)(lib.ones(4, 3))
            return "ok", out.tolist()
        except RuntimeError as e:
            return "RuntimeError", str(e)

    assert run(ember) == run(torch)
