"""ember.export (torch.export): signature, guards, dynamic dimensions and errors, against torch."""

import numpy as np
import pytest

import ember
from ember import nn
from ember.export import Dim, UserError, export
from ember.fx import GraphBreak


def _pair(torch):
    """The same small model in both frameworks, weights copied (parameters, persistent and
    non-persistent buffers, a batch norm in training mode)."""
    def build(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(4, 3)
                self.bn = lib.nn.BatchNorm1d(3)
                self.register_buffer("scale", lib.full((3,), 2.0))
                self.register_buffer("tmp", lib.zeros(1), persistent=False)

            def forward(self, x, y=None):
                h = self.bn(self.lin(x)).relu() * self.scale
                return h, h.sum()
        return M()

    ember.manual_seed(0)
    em, tm = build(ember), build(torch)
    with torch.no_grad():
        for name, p in em.named_parameters():
            tm.get_parameter(name).copy_(torch.from_numpy(p.detach().numpy().copy()))
    return em, tm


def test_signature_and_state_match_torch(torch):
    em, tm = _pair(torch)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    ep = export(em, (ember.from_numpy(x),))
    tp = torch.export.export(tm, (torch.from_numpy(x),))
    ours, theirs = ep.graph_signature, tp.graph_signature
    assert [str(s) for s in ours.input_specs] == [str(s) for s in theirs.input_specs]
    assert [(s.kind.name, s.arg.name, s.target, s.persistent) for s in ours.input_specs] == \
        [(s.kind.name, s.arg.name, s.target, s.persistent) for s in theirs.input_specs]
    assert ours.parameters == theirs.parameters and ours.buffers == theirs.buffers
    assert ours.user_inputs == theirs.user_inputs
    assert len(ours.user_outputs) == len(theirs.user_outputs) == 2
    assert list(ep.state_dict) == list(tp.state_dict)
    assert ep.state_dict["lin.weight"] is em.lin.weight  # the model's own tensors
    assert [n for n, _ in ep.named_parameters()] == [n for n, _ in tp.named_parameters()]
    assert [n for n, _ in ep.named_buffers()] == [n for n, _ in tp.named_buffers()]
    text = str(ep)
    assert text.startswith("ExportedProgram:\n    class GraphModule(torch.nn.Module):")
    assert 'x: "f32[2, 4]"' in text and 'p_lin_weight: "f32[3, 4]"' in text
    assert "Graph signature:" in text and "Range constraints: {}" in text
    assert "b_tmp: BUFFER target='tmp' persistent=False" in text


def test_module_replays_like_torch_and_guards_static_sizes(torch):
    em, tm = _pair(torch)
    em.eval(), tm.eval()
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    ours = export(em, (ember.from_numpy(x),)).module()
    theirs = torch.export.export(tm, (torch.from_numpy(x),)).module()
    x2 = np.random.default_rng(2).standard_normal((2, 4)).astype(np.float32)
    for a, b in zip(ours(ember.from_numpy(x2)), theirs(torch.from_numpy(x2))):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    for shape in ((3, 4), (2, 5)):
        bad = np.zeros(shape, np.float32)
        with pytest.raises(AssertionError) as want:
            theirs(torch.from_numpy(bad))
        with pytest.raises(AssertionError) as got:
            ours(ember.from_numpy(bad))
        assert str(got.value) == str(want.value)


def test_program_itself_is_not_callable(torch):
    ep = export(nn.Linear(3, 2), (ember.randn(4, 3),))
    tp = torch.export.export(torch.nn.Linear(3, 2), (torch.randn(4, 3),))
    with pytest.raises(RuntimeError) as want:
        tp(torch.randn(4, 3))
    with pytest.raises(RuntimeError) as got:
        ep(ember.randn(4, 3))
    assert str(got.value) == str(want.value)


def test_named_dim_range_and_guards_match_torch(torch):
    x = np.random.default_rng(3).standard_normal((2, 4)).astype(np.float32)
    em, tm = nn.Linear(4, 3), torch.nn.Linear(4, 3)
    with torch.no_grad():
        tm.weight.copy_(torch.from_numpy(em.weight.detach().numpy().copy()))
        tm.bias.copy_(torch.from_numpy(em.bias.detach().numpy().copy()))
    ep = export(em, (ember.from_numpy(x),),
                dynamic_shapes={"input": {0: Dim("batch", min=1, max=64)}})
    tp = torch.export.export(tm, (torch.from_numpy(x),),
                             dynamic_shapes={"input": {0: torch.export.Dim("batch", min=1,
                                                                           max=64)}})
    (ours,), (theirs,) = ep.range_constraints.values(), tp.range_constraints.values()
    assert (ours.lower, ours.upper) == (theirs.lower, theirs.upper) == (1, 64)
    assert str(ep.range_constraints) == "{batch: VR[1, 64]}"
    x7 = np.random.default_rng(4).standard_normal((7, 4)).astype(np.float32)
    np.testing.assert_allclose(ep.module()(ember.from_numpy(x7)).detach().numpy(),
                               tp.module()(torch.from_numpy(x7)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    for shape in ((70, 4), (5, 5)):
        bad = np.zeros(shape, np.float32)
        with pytest.raises(AssertionError) as want:
            tp.module()(torch.from_numpy(bad))
        with pytest.raises(AssertionError) as got:
            ep.module()(ember.from_numpy(bad))
        assert str(got.value) == str(want.value)
    assert 'x: "f32[batch, 4]"' not in str(ep) and 'input: "f32[batch, 4]"' in str(ep)


def test_shared_dim_guard_matches_torch(torch):
    class Two:
        def __init__(self, lib):
            class M(lib.nn.Module):
                def forward(self, a, b):
                    return a + b
            self.m = M()

    d_e, d_t = Dim("n"), torch.export.Dim("n")
    a = np.ones((4, 3), np.float32)
    ep = export(Two(ember).m, (ember.from_numpy(a), ember.from_numpy(a)),
                dynamic_shapes=({0: d_e}, {0: d_e}))
    tp = torch.export.export(Two(torch).m, (torch.from_numpy(a), torch.from_numpy(a)),
                             dynamic_shapes=({0: d_t}, {0: d_t}))
    assert ep.module()(ember.ones(6, 3), ember.ones(6, 3)).shape == (6, 3)
    with pytest.raises(AssertionError) as want:
        tp.module()(torch.ones(4, 3), torch.ones(5, 3))
    with pytest.raises(AssertionError) as got:
        ep.module()(ember.ones(4, 3), ember.ones(5, 3))
    assert str(got.value) == str(want.value)


def test_specialised_dim_is_an_error_and_auto_falls_back(torch):
    class R(nn.Module):
        def forward(self, x):
            return x.reshape(2, -1)

    class TR(torch.nn.Module):
        def forward(self, x):
            return x.reshape(2, -1)

    with pytest.raises(Exception) as want:
        torch.export.export(TR(), (torch.randn(2, 3),),
                            dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    with pytest.raises(UserError) as got:
        export(R(), (ember.randn(2, 3),), dynamic_shapes={"x": {0: Dim("batch")}})
    assert isinstance(got.value, RuntimeError) and isinstance(want.value, RuntimeError)
    head = "Constraints violated (batch)!"
    assert str(want.value).startswith(head) and str(got.value).startswith(head)
    assert "specialized it to be a constant (2)" in str(got.value)
    ep = export(R(), (ember.randn(2, 3),), dynamic_shapes={"x": {0: Dim.AUTO}})
    tp = torch.export.export(TR(), (torch.randn(2, 3),),
                             dynamic_shapes={"x": {0: torch.export.Dim.AUTO}})
    assert ep.range_constraints == {} and dict(tp.range_constraints) == {}


def test_auto_dim_range_matches_torch(torch):
    ep = export(nn.Linear(3, 2), (ember.randn(4, 3),), dynamic_shapes=({0: Dim.AUTO},))
    tp = torch.export.export(torch.nn.Linear(3, 2), (torch.randn(4, 3),),
                             dynamic_shapes=({0: torch.export.Dim.AUTO},))
    (ours,), (theirs,) = ep.range_constraints.values(), tp.range_constraints.values()
    assert ours.lower == theirs.lower == 2
    assert repr(ours) == repr(theirs) == "VR[2, int_oo]"
    assert ep.module()(ember.randn(9, 3)).shape == (9, 2)


def test_argument_errors_match_torch(torch):
    with pytest.raises(ValueError) as want:
        torch.export.export(lambda x: x, (torch.randn(2),))
    with pytest.raises(ValueError) as got:
        export(lambda x: x, (ember.randn(2),))
    assert str(got.value).replace("ember", "torch") == str(want.value)
    with pytest.raises(Exception) as want:
        torch.export.export(torch.nn.Linear(3, 2), torch.randn(4, 3))
    with pytest.raises(UserError) as got:
        export(nn.Linear(3, 2), ember.randn(4, 3))
    head = "Expecting `args` to be a tuple of example positional inputs, got "
    assert str(want.value).startswith(head + str(torch.Tensor))
    assert str(got.value).startswith(head + str(ember.Tensor))
    with pytest.raises(Exception) as want:
        torch.export.export(torch.nn.Linear(3, 2), (torch.randn(4, 3),),
                            dynamic_shapes={"y": {0: torch.export.Dim("b")}})
    with pytest.raises(UserError) as got:
        export(nn.Linear(3, 2), (ember.randn(4, 3),), dynamic_shapes={"y": {0: Dim("b")}})
    assert str(got.value).split(" Alternatively")[0] == str(want.value).split(
        " Alternatively")[0]
    with pytest.raises(UserError, match="not in range"):
        export(nn.Linear(3, 2), (ember.randn(4, 3),), dynamic_shapes={"input": {0: Dim("b", min=5)}})
    with pytest.raises(UserError, match="axis 5"):
        export(nn.Linear(3, 2), (ember.randn(4, 3),), dynamic_shapes={"input": {5: Dim("b")}})


@pytest.mark.parametrize("kw", [{}, {"min": 2}, {"min": 3}, {"min": 0}, {"min": 1}, {"max": 9},
                                {"min": 2, "max": 9}, {"min": 3, "max": 9}])
def test_dim_repr_and_bounds_match_torch(torch, kw):
    ours, theirs = Dim("c", **kw), torch.export.Dim("c", **kw)
    assert repr(ours) == repr(theirs)
    assert ours.min == theirs.min and str(ours.max) == str(theirs.max)
    assert ours.__name__ == theirs.__name__


def test_dim_hints_and_dims(torch):
    assert [repr(h) for h in (Dim.AUTO, Dim.STATIC, Dim.DYNAMIC)] == \
        [repr(h) for h in (torch.export.Dim.AUTO, torch.export.Dim.STATIC,
                           torch.export.Dim.DYNAMIC)]
    assert repr(ember.export.dims("x", "y")) == repr(torch.export.dims("x", "y"))
    with pytest.raises(AssertionError) as want:
        torch.export.Dim("e", min=5, max=2)
    with pytest.raises(AssertionError) as got:
        Dim("e", min=5, max=2)
    assert str(got.value) == str(want.value)


def test_data_dependent_control_flow_names_the_line():
    class C(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x * 2
            return x

    with pytest.raises(GraphBreak, match="test_export.py"):
        export(C(), (ember.randn(3),))


def test_values_baked_from_the_data_are_refused():
    class Baked(nn.Module):
        def forward(self, x):
            return x + float(x.detach().numpy().max())  # outside the recorded ops

    with pytest.raises((UserError, GraphBreak)):
        export(Baked(), (ember.randn(3),))


def test_gradients_flow_through_the_exported_module():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    x = ember.randn(5, 4)
    gm = export(model, (x,), dynamic_shapes=({0: Dim("b")},)).module()
    gm(ember.randn(8, 4)).sum().backward()
    replayed = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model(x).sum().backward()
    eager = [p.grad for p in model.parameters()]
    model.zero_grad()
    gm(x).sum().backward()
    for a, b in zip((p.grad for p in model.parameters()), eager):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    assert all(g.abs().sum().item() > 0 for g in replayed)


def test_keyword_inputs_and_weight_tying():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.head = nn.Linear(4, 10, bias=False)
            self.head.weight = self.emb.weight

        def forward(self, idx, scale=None):
            return self.head(self.emb(idx)) * scale

    ember.manual_seed(0)
    model = Tied()
    idx, scale = ember.tensor([[1, 2, 3]]), ember.tensor(0.5)
    ep = export(model, (idx,), {"scale": scale})
    assert ep.graph_signature.parameters == ("emb.weight",)
    assert ep.graph_signature.user_inputs == ("idx", "scale")
    other = ember.tensor([[4, 5, 6]])
    np.testing.assert_allclose(ep.module()(other, scale=scale).detach().numpy(),
                               model(other, scale=scale).detach().numpy())


def test_run_decompositions_returns_a_program():
    ep = export(nn.Linear(3, 2), (ember.randn(4, 3),))
    ep2 = ep.run_decompositions()
    assert isinstance(ep2, ember.export.ExportedProgram) and ep2 is not ep
    x = ember.randn(4, 3)
    np.testing.assert_array_equal(ep2.module()(x).detach().numpy(),
                                  ep.module()(x).detach().numpy())


def test_save_load_round_trip_keeps_dynamic_dims(tmp_path):
    pytest.importorskip("onnx")
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    ep = export(model, (ember.randn(3, 4),), dynamic_shapes=({0: Dim("batch")},))
    path = tmp_path / "m.onnx"
    ember.export.save(ep, path)
    loaded = ember.export.load(path)
    assert list(loaded.range_constraints) == ["batch"]
    x = ember.randn(6, 4)
    np.testing.assert_allclose(loaded.module()(x).detach().numpy(),
                               model(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="ExportedProgram"):
        ember.export.save(model, path)


def test_onnx_export_takes_an_exported_program(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid()).eval()
    ep = export(model, (ember.randn(2, 4),), dynamic_shapes=({0: Dim("batch")},))
    path = tmp_path / "ep.onnx"
    ember.onnx.export(ep, f=str(path))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    (got,) = sess.run(None, {sess.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, model(ember.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
