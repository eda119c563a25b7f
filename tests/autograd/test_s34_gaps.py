"""Session 34 gaps in autograd: the sign of zero gradients through ``unbind``/``select``/
indexing, and ``unbind`` as one multi-output view node, each compared with torch."""

import io

import numpy as np
import pytest
import torch

import ember


def _signed(t):
    """Gradient values with the sign of zero made visible (-0.0 and 0.0 differ as strings)."""
    return [str(v) for v in t.flatten().tolist()]


CASES = {
    "select": ((3,), lambda x: x.select(0, 1) * -0.0),
    "int_index": ((3,), lambda x: x[1] * -0.0),
    "unbind_one": ((3,), lambda x: x.unbind(0)[1] * -0.0),
    "unbind_all": ((3,), lambda x: sum(t * -0.0 for t in x.unbind(0))),
    "unbind_some": ((3,), lambda x: (lambda u: u[0] * -0.0 + u[2] * -0.0)(x.unbind(0))),
    "unbind_dim1": ((2, 2), lambda x: sum((t * -0.0).sum() for t in x.unbind(1))),
    "unbind_view": ((2, 2), lambda x: sum((t * -0.0).sum() for t in x.t().unbind(0))),
    "two_unbinds": ((3,), lambda x: x.unbind(0)[0] * -0.0 + x.unbind(0)[2] * -0.0),
    "bool_mask": ((3,), lambda lib, x: (x[lib.tensor([False, True, False])] * -0.0).sum()),
    "int_list": ((3,), lambda x: (x[[1]] * -0.0).sum()),
    "split_all": ((3,), lambda x: sum((t * -0.0).sum() for t in x.split(1))),
    "row_col": ((2, 2), lambda x: x[1, 0] * -0.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_zero_sign_of_gradients_matches_torch(name):
    shape, fn = CASES[name]

    def run(lib):
        x = lib.zeros(*shape, requires_grad=True)
        out = fn(lib, x) if fn.__code__.co_argcount == 2 else fn(x)
        out.backward()
        return _signed(x.grad)

    assert run(ember) == run(torch)


def test_mask_gradient_keeps_nonzero_values():
    # the +0 that clears -0.0 must leave ordinary values alone (float64 and complex too)
    for lib_dtype in ("float64", "complex64"):
        def run(lib, dt=lib_dtype):
            x = lib.arange(4.0).to(getattr(lib, dt)).requires_grad_()
            mask = lib.tensor([True, False, True, True])
            (x[mask] * lib.tensor([2.0, -0.0, 3.0]).to(getattr(lib, dt))).real.sum().backward()
            return [str(v) for v in x.grad.real.tolist()]

        assert run(ember) == run(torch)


def test_unbind_is_one_node_with_numbered_outputs():
    def run(lib):
        x = lib.zeros(3, requires_grad=True).clone()
        u = x.unbind(0)
        return (u[0].grad_fn.name(), u[1].grad_fn is u[0].grad_fn,
                [t.output_nr for t in u], u[2]._base is x)

    assert run(ember) == run(torch) == ("UnbindBackward0", True, [0, 1, 2], True)


def test_unbind_outputs_refuse_inplace_like_torch():
    def run(lib):
        x = lib.zeros(3, requires_grad=True).clone()
        with pytest.raises(RuntimeError) as err:
            x.unbind(0)[1].add_(1)
        return str(err.value)

    assert run(ember) == run(torch)
    # without autograd the pieces are ordinary writable views of the base
    for lib in (ember, torch):
        x = lib.zeros(3)
        x.unbind(0)[1].add_(5)
        assert x.tolist() == [0.0, 5.0, 0.0]


def test_unbind_double_backward_stacks():
    def run(lib):
        z = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        u = z.unbind(0)
        g, = lib.autograd.grad(u[0] ** 3 + u[1] ** 2, z, create_graph=True)
        g.sum().backward()
        return g.grad_fn.name(), g.tolist(), z.grad.tolist()

    assert run(ember) == run(torch) == ("StackBackward0", [3.0, 4.0, 0.0], [6.0, 2.0, 0.0])


def test_unbind_edge_shapes_and_forward_ad():
    for lib in (ember, torch):
        assert lib.zeros(0, 3, requires_grad=True).unbind(0) == ()
        assert [t.shape for t in lib.zeros(3, 0).unbind(0)] == [lib.Size([0])] * 3
        assert [t.tolist() for t in lib.arange(3).unbind(0)] == [0, 1, 2]

    def jvp(lib):
        import importlib
        fwad = importlib.import_module(lib.__name__ + ".autograd.forward_ad")
        with fwad.dual_level():
            x = fwad.make_dual(lib.tensor([[1.0, 2.0], [3.0, 4.0]]),
                               lib.tensor([[10.0, 20.0], [30.0, 40.0]]))
            a, b = x.unbind(1)
            return fwad.unpack_dual(a * b).tangent.tolist()

    assert jvp(ember) == jvp(torch)


def test_unbind_exports_to_onnx():
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")

    class M(ember.nn.Module):
        def forward(self, x):
            a, b, c = x.unbind(1)
            return a * 2 + b - c, x[:1].unbind(0)[0]

    m, x = M(), ember.randn(2, 3, 4)
    f = io.BytesIO()
    ember.onnx.export(m, (x,), f)
    sess = ort.InferenceSession(f.getvalue())
    outs = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
    for got, want in zip(outs, m(x)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-6)
