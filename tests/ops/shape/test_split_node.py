"""``split``/``chunk`` make all their pieces in one node, as PyTorch does: gradients joined
in one pass (zeros for pieces that got none), PyTorch's node names, views that share the
input's version counter, and PyTorch's refusal of in-place changes to the pieces (and views of
them) while they carry a gradient. Checked against torch, and through ONNX export."""

import numpy as np
import pytest

import ember


def _run(L, fn):
    x = L.arange(24.0, requires_grad=True)
    y = (x * 1).view(4, 6)
    out = fn(L, y)
    return x, out


@pytest.mark.parametrize("case", [
    lambda L, y: sum(p.pow(2).sum() * (i + 1) for i, p in enumerate(y.split(2))),
    lambda L, y: y.chunk(3, dim=1)[2].sum() * 3 + y.chunk(3, dim=1)[0].exp().sum(),
    lambda L, y: (y.split([1, 0, 5], dim=1)[2] * L.arange(5.0)).sum(),
    lambda L, y: y.split(4, dim=1)[1].sum(),  # the last piece smaller
    lambda L, y: y.tensor_split(3, dim=1)[1].sum(),
])
def test_split_gradients_match_torch(torch, case):
    grads = []
    for L in (ember, torch):
        x, loss = _run(L, case)
        loss.backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_split_is_one_node_with_torch_names(torch):
    for L in (ember, torch):
        y = L.ones(4, 6, requires_grad=True) * 1
        a, b = y.split(2)
        assert a.grad_fn is b.grad_fn and a.grad_fn.name() == "SplitBackward0"
        assert y.chunk(3, 1)[0].grad_fn.name() == "SplitBackward0"
        assert y.split([1, 3])[1].grad_fn.name() == "SplitWithSizesBackward0"
        assert a._version is y._version or a._version == y._version


def test_second_order_through_split(torch):
    res = []
    for L in (ember, torch):
        x = L.arange(6.0, requires_grad=True)
        g = L.autograd.grad(x.split([2, 4])[1].pow(3).sum(), x, create_graph=True)[0]
        gg = L.autograd.grad(g.sum(), x)[0]
        res.append((g.detach().numpy(), gg.numpy()))
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t)


def _error(fn):
    try:
        fn()
    except RuntimeError as err:
        return str(err)
    return None


@pytest.mark.parametrize("kind,expected", [
    ("piece", "Output 0 of Split is a view and is being modified inplace"),
    ("view of piece", "Output 0 of View is a view and is being modified inplace"),
    ("no grad", None),
])
def test_inplace_on_pieces_refused_as_in_torch(torch, kind, expected):
    msgs = []
    for L in (ember, torch):
        y = L.ones(4, 3, requires_grad=True) * 1
        a, _ = y.split(2)
        target = {"piece": a, "view of piece": a.view(6),
                  "no grad": L.ones(4, 3).split(2)[0]}[kind]
        msgs.append(_error(lambda t=target: t.mul_(2)))
    assert msgs[0] == msgs[1]
    assert (msgs[0] is None) if expected is None else msgs[0].startswith(expected)


def test_inplace_without_grad_writes_through(torch):
    for L in (ember, torch):
        z = L.zeros(4, 3)
        z.split([1, 3])[1].add_(5)
        assert z.sum().item() == 45.0
        y = L.ones(4, 3, requires_grad=True) * 1
        a, _ = y.split(2)
        with L.no_grad():
            a.mul_(2)
        assert y.sum().item() == 18.0


def test_split_exports_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")

    class Gate(ember.nn.Module):
        def forward(self, x):
            a, b = x.chunk(2, dim=1)
            c, d, e = x.split([1, 2, 1], dim=1)
            return a * b.sigmoid() + c * e - d.sum(1, keepdim=True)

    model, path = Gate(), str(tmp_path / "gate.onnx")
    ember.onnx.export(model, (ember.randn(2, 4),), path, input_names=["x"],
                      dynamic_axes={"x": {0: "batch"}})
    x = ember.randn(5, 4)
    got = ort.InferenceSession(path).run(None, {"x": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ember.onnx.load(path)(x).numpy(), model(x).numpy(), rtol=1e-6)
