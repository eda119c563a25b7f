"""The exporter's shorter sequences (ember/onnx/_rewrite.py): batch-first multi-head attention's
way out, and the tanh GELU as ONNX's Gelu; outputs against PyTorch, node counts in the written
and in onnxruntime's optimized graph."""

import collections
import io

import numpy as np
import pytest
import torch

import ember

from ._helpers import export_and_check, session

onnx = pytest.importorskip("onnx")


def _copy(mine, theirs):
    mine.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    return mine.eval()


def _encoders(batch_first, activation="relu"):
    torch.manual_seed(0)
    kw = dict(dim_feedforward=128, dropout=0.0, batch_first=batch_first, activation=activation)
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(64, 4, **kw), 2,
                                         enable_nested_tensor=False).eval()
    mine = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(64, 4, **kw), 2)
    return _copy(mine, theirs), theirs


def _export(model, args, **kw):
    buf = io.BytesIO()
    ember.onnx.export(model, args, buf, **kw)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _ops(proto):
    return collections.Counter(n.op_type for n in proto.graph.node)


def _run(proto, *arrays):
    sess = session(proto)
    return sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), arrays)})


@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_encoder_matches_torch(batch_first):
    mine, theirs = _encoders(batch_first)
    x = np.random.default_rng(0).standard_normal((8, 32, 64)).astype(np.float32)
    proto = _export(mine, (ember.from_numpy(x),))
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_run(proto, x)[0], want, atol=1e-5, rtol=1e-4)
    ops = _ops(proto)
    # per layer: 3 weight transposes, Q's, K's and V's to (N, H, L, hd), one way out, and
    # batch-first the input's to sequence-first (the literal sequence had 10 / 8)
    assert ops["Transpose"] == 2 * (8 if batch_first else 7)
    assert ops["Split"] == 2 and "Slice" not in ops  # one Split of the packed projection
    assert ops["Reshape"] == 2 * 3 and ops["Gemm"] == 2  # (literal: 5 Reshapes per layer)
    assert not any("Tanh" in k or k == "Gelu" for k in ops)


def test_batch_first_encoder_optimized_graph_has_two_transposes_per_layer(tmp_path):
    mine, theirs = _encoders(True)
    path = str(tmp_path / "optimized.onnx")
    compiled = ember.compile(mine, backend="onnxruntime",
                             options={"optimized_model_filepath": path})
    x = np.random.default_rng(1).standard_normal((8, 32, 64)).astype(np.float32)
    with ember.no_grad():
        compiled(ember.from_numpy(x))
        got = compiled(ember.from_numpy(x)).numpy()
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)
    ops = _ops(onnx.load(path))
    # the input's and the attention output's; the one back to (N, L, E) is gone (3 before)
    assert ops["Transpose"] == 4
    assert ops["FusedMatMul"] == 4  # Q/K/V's head transposes folded into the batched products
    assert ops["Softmax"] == 2 and "Slice" not in ops
    # per layer: the Gemms' own 6, the packed projection's split into heads, the way out's
    # (11 per layer with the literal sequence)
    assert ops["Reshape"] == 2 * 8


@pytest.mark.parametrize("batch_first", [True, False])
def test_self_attention_with_computed_masks_matches_torch(batch_first):
    torch.manual_seed(3)
    theirs = torch.nn.MultiheadAttention(16, 2, batch_first=batch_first).eval()
    mine = _copy(ember.nn.MultiheadAttention(16, 2, batch_first=batch_first), theirs)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 5, 16) if batch_first else (5, 3, 16)).astype(np.float32)
    pad = np.zeros((3, 5), bool)
    pad[2, 3:] = True
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)

    class Self(ember.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, a):
            return self.m(a, a, a, key_padding_mask=ember.from_numpy(pad),
                          attn_mask=ember.from_numpy(causal), need_weights=False)[0]

    proto = _export(Self(mine), (ember.from_numpy(x),))
    with torch.no_grad():
        want = theirs(*[torch.from_numpy(x)] * 3, key_padding_mask=torch.from_numpy(pad),
                      attn_mask=torch.from_numpy(causal), need_weights=False)[0].numpy()
    np.testing.assert_allclose(_run(proto, x)[0], want, atol=1e-5, rtol=1e-4)
    # the masks' sum is computed in the graph: no rewrite, and the fully masked rows get
    # eager's zeros from a Where (the converter refused such a bias before)
    assert _ops(proto)["Where"] == 1


@pytest.mark.parametrize("batch_first", [True, False])
def test_encoder_layer_with_a_mask_exports(batch_first):
    # regression: the attention converter refused a mask bias computed in the graph
    torch.manual_seed(4)
    kw = dict(dim_feedforward=32, dropout=0.0, batch_first=batch_first)
    theirs = torch.nn.TransformerEncoderLayer(16, 2, **kw).eval()
    mine = _copy(ember.nn.TransformerEncoderLayer(16, 2, **kw), theirs)
    x = np.random.default_rng(7).standard_normal((3, 5, 16) if batch_first else (5, 3, 16))
    x = x.astype(np.float32)
    mask = np.triu(np.full((5, 5), -np.inf, np.float32), 1)

    class Causal(ember.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, a):
            return self.m(a, src_mask=ember.from_numpy(mask), is_causal=True)

    proto = _export(Causal(mine), (ember.from_numpy(x),))
    with torch.no_grad():
        want = theirs(torch.from_numpy(x), src_mask=torch.from_numpy(mask),
                      is_causal=True).numpy()
    np.testing.assert_allclose(_run(proto, x)[0], want, atol=1e-5, rtol=1e-4)
    ops = _ops(proto)
    assert ops["Where"] == 1 and "Split" not in ops  # a masked attention stays literal


@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_batch_first_with_masks(need_weights):
    torch.manual_seed(1)
    theirs = torch.nn.MultiheadAttention(16, 2, batch_first=True).eval()
    mine = _copy(ember.nn.MultiheadAttention(16, 2, batch_first=True), theirs)
    rng = np.random.default_rng(2)
    q = rng.standard_normal((3, 5, 16)).astype(np.float32)
    kv = rng.standard_normal((3, 7, 16)).astype(np.float32)
    pad = np.zeros((3, 7), bool)
    pad[1, 5:] = True

    class Wrap(ember.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, a, b):
            out, w = self.m(a, b, b, key_padding_mask=ember.from_numpy(pad),
                            need_weights=need_weights)
            return (out, w) if need_weights else out

    proto = _export(Wrap(mine), (ember.from_numpy(q), ember.from_numpy(kv)))
    with torch.no_grad():
        want = theirs(torch.from_numpy(q), torch.from_numpy(kv), torch.from_numpy(kv),
                      key_padding_mask=torch.from_numpy(pad), need_weights=need_weights)
    got = _run(proto, q, kv)
    np.testing.assert_allclose(got[0], want[0].numpy(), atol=1e-5, rtol=1e-4)
    if need_weights:
        np.testing.assert_allclose(got[1], want[1].numpy(), atol=1e-6)
    assert sum(n.op_type == "Transpose" and list(n.attribute[0].ints) == [0, 2, 1, 3]
               for n in proto.graph.node) == 1


def test_dynamic_batch_keeps_the_literal_sequence_and_is_right():
    mine, _ = _encoders(True)
    proto = export_and_check(mine, ember.randn(2, 6, 64), batches=(1, 3), atol=1e-5)
    # the Reshapes' sizes follow the batch axis (no constants), so nothing was rewritten
    assert not any(n.op_type == "Transpose" and len(n.attribute[0].ints) == 4
                   for n in proto.graph.node)


def _gelu_models():
    torch.manual_seed(2)
    theirs = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(approximate="tanh"),
                                 torch.nn.Linear(16, 8)).eval()
    mine = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.GELU(approximate="tanh"),
                               ember.nn.Linear(16, 8))
    return _copy(mine, theirs), theirs


def test_tanh_gelu_is_one_onnx_gelu_node():
    mine, theirs = _gelu_models()
    x = (np.random.default_rng(3).standard_normal((4, 5, 8)) * 3).astype(np.float32)
    proto = _export(mine, (ember.from_numpy(x),))
    gelus = [n for n in proto.graph.node if n.op_type == "Gelu"]
    assert len(gelus) == 1 and "Tanh" not in _ops(proto)
    assert onnx.helper.get_attribute_value(gelus[0].attribute[0]) == b"tanh"
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_run(proto, x)[0], want, atol=1e-5, rtol=1e-5)


def test_tanh_gelu_before_opset_20_stays_primitive_and_right():
    mine, theirs = _gelu_models()
    x = (np.random.default_rng(4).standard_normal((4, 5, 8)) * 3).astype(np.float32)
    proto = _export(mine, (ember.from_numpy(x),), opset_version=18)
    assert "Gelu" not in _ops(proto) and _ops(proto)["Tanh"] == 1
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_run(proto, x)[0], want, atol=1e-5, rtol=1e-5)


def test_tanh_gelu_encoder_layer_through_the_compile_backend(tmp_path):
    mine, theirs = _encoders(True, activation="gelu")
    path = str(tmp_path / "optimized.onnx")
    compiled = ember.compile(ember.nn.Sequential(mine, ember.nn.GELU(approximate="tanh")),
                             backend="onnxruntime", options={"optimized_model_filepath": path})
    x = np.random.default_rng(5).standard_normal((2, 6, 64)).astype(np.float32)
    with ember.no_grad():
        compiled(ember.from_numpy(x))
        got = compiled(ember.from_numpy(x)).numpy()
    with torch.no_grad():
        want = torch.nn.functional.gelu(theirs(torch.from_numpy(x)), approximate="tanh").numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)
    ops = _ops(onnx.load(path))
    assert ops["Gelu"] == 3 and "Tanh" not in ops and "Erf" not in ops


@pytest.mark.parametrize("batch_first", [True, False])
def test_unbatched_self_attention(batch_first):
    torch.manual_seed(5)
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=batch_first).eval()
    mine = _copy(ember.nn.MultiheadAttention(16, 4, batch_first=batch_first), theirs)
    x = np.random.default_rng(8).standard_normal((6, 16)).astype(np.float32)

    class Self(ember.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, a):
            return self.m(a, a, a, need_weights=False)[0]

    proto = _export(Self(mine), (ember.from_numpy(x),))
    with torch.no_grad():
        want = theirs(*[torch.from_numpy(x)] * 3, need_weights=False)[0].numpy()
    np.testing.assert_allclose(_run(proto, x)[0], want, atol=1e-5, rtol=1e-4)
    # unbatched, the query is unsqueezed once per use: three projections, nothing to rewrite
    assert "Split" not in _ops(proto)


def test_computed_mask_with_a_fully_masked_query_gives_zeros_as_eager():
    torch.manual_seed(6)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    mine = _copy(ember.nn.MultiheadAttention(8, 2, batch_first=True), theirs)
    x = np.random.default_rng(9).standard_normal((2, 4, 8)).astype(np.float32)
    pad = np.zeros((2, 4), bool)
    pad[1, 1:] = True
    block = np.zeros((4, 4), np.float32)
    block[:, 0] = -np.inf  # with the padding, batch 1's queries see no key at all

    class Self(ember.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, a):
            return self.m(a, a, a, key_padding_mask=ember.from_numpy(pad),
                          attn_mask=ember.from_numpy(block), need_weights=False)[0]

    model = Self(mine).eval()
    proto = _export(model, (ember.from_numpy(x),))
    with ember.no_grad():
        eager = model(ember.from_numpy(x)).numpy()
    with torch.no_grad():
        want = theirs(*[torch.from_numpy(x)] * 3, key_padding_mask=torch.from_numpy(pad),
                      attn_mask=torch.from_numpy(block), need_weights=False)[0].numpy()
    got = _run(proto, x)[0]
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, eager, atol=1e-6)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)


def test_log_sigmoid_exports_and_stays_finite():
    # regression: log_sigmoid (now one ember op) had no converter
    x = np.array([[-200.0, -20.0, -1.0, 0.0, 1.0, 30.0]], np.float32)
    proto = _export(ember.nn.LogSigmoid(), (ember.from_numpy(x),))
    want = torch.nn.functional.logsigmoid(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_run(proto, x)[0], want, atol=1e-6, rtol=1e-6)
