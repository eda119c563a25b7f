"""Layers against torch with copied weights: forward, input and parameter gradients, train and
eval mode, state_dict keys, extra_repr."""

import numpy as np
import pytest

import ember

from ._helpers import copy_params, pair, same

# (constructor call as a string evaluated with nn = ember.nn / torch.nn, input shapes)
LAYERS = [
    ("nn.Linear(4, 3)", [(5, 4)]),
    ("nn.Linear(4, 3, bias=False)", [(2, 6, 4)]),
    ("nn.Linear(4, 3)", [(4,)]),
    ("nn.Bilinear(3, 4, 2)", [(5, 3), (5, 4)]),
    ("nn.Identity(54, unused='x')", [(2, 3)]),
    ("nn.Flatten()", [(2, 3, 4)]),
    ("nn.Flatten(0, 1)", [(2, 3, 4)]),
    ("nn.Unflatten(1, (2, 3))", [(4, 6)]),
    ("nn.ReLU()", [(3, 4)]),
    ("nn.ReLU6()", [(3, 4)]),
    ("nn.LeakyReLU(0.2)", [(3, 4)]),
    ("nn.PReLU()", [(3, 4)]),
    ("nn.PReLU(4)", [(2, 4, 3)]),
    ("nn.ELU(alpha=0.7)", [(3, 4)]),
    ("nn.SELU()", [(3, 4)]),
    ("nn.CELU(alpha=1.3)", [(3, 4)]),
    ("nn.GELU()", [(3, 4)]),
    ("nn.GELU(approximate='tanh')", [(3, 4)]),
    ("nn.SiLU()", [(3, 4)]),
    ("nn.Mish()", [(3, 4)]),
    ("nn.Sigmoid()", [(3, 4)]),
    ("nn.Tanh()", [(3, 4)]),
    ("nn.Hardtanh(-0.5, 0.8)", [(3, 4)]),
    ("nn.Hardsigmoid()", [(3, 4)]),
    ("nn.Hardswish()", [(3, 4)]),
    ("nn.Softplus(beta=2, threshold=3)", [(3, 4)]),
    ("nn.Softsign()", [(3, 4)]),
    ("nn.Softmax(dim=1)", [(3, 4)]),
    ("nn.LogSoftmax(dim=-1)", [(2, 3, 4)]),
    ("nn.Softmin(dim=0)", [(3, 4)]),
    ("nn.Softmax2d()", [(2, 3, 2, 2)]),
    ("nn.Threshold(0.1, 20.0)", [(3, 4)]),
    ("nn.LogSigmoid()", [(3, 4)]),
    ("nn.Tanhshrink()", [(3, 4)]),
    ("nn.Softshrink(0.3)", [(3, 4)]),
    ("nn.Hardshrink(0.3)", [(3, 4)]),
    ("nn.GLU()", [(3, 4)]),
    ("nn.GLU(dim=0)", [(4, 3)]),
    ("nn.RReLU()", [(3, 4)]),
    ("nn.CosineSimilarity()", [(3, 4), (3, 4)]),
    ("nn.CosineSimilarity(dim=0, eps=1e-6)", [(3, 4), (3, 4)]),
    ("nn.PairwiseDistance()", [(3, 4), (3, 4)]),
    ("nn.PairwiseDistance(p=1.0, keepdim=True)", [(3, 4), (3, 4)]),
    ("nn.PairwiseDistance(p=3.0)", [(3, 4), (3, 4)]),
    ("nn.Dropout(0.3)", [(3, 4)]),
    ("nn.Dropout2d(0.3)", [(2, 3, 2, 2)]),
    ("nn.AlphaDropout(0.3)", [(3, 4)]),
]


def _build(torch, expr):
    torch.manual_seed(0)
    t_mod = eval(expr, {"nn": torch.nn})
    e_mod = eval(expr, {"nn": ember.nn})
    if list(t_mod.state_dict()):
        copy_params(e_mod, t_mod)
    return e_mod, t_mod


@pytest.mark.parametrize("expr,shapes", LAYERS, ids=[f"{e}-{s}" for e, s in LAYERS])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_layer_matches_torch(torch, expr, shapes, mode):
    e_mod, t_mod = _build(torch, expr)
    assert repr(e_mod) == repr(t_mod)
    if "Dropout" in expr and mode == "train":
        pytest.skip("random masks differ between libraries; dropout training has own tests")
    if "RReLU" in expr and mode == "train":
        pytest.skip("random slopes")
    getattr(e_mod, mode)()
    getattr(t_mod, mode)()
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-2, 2, s).astype(np.float32) for s in shapes]
    e_in, t_in = zip(*[pair(torch, a) for a in arrays])
    e_out, t_out = e_mod(*e_in), t_mod(*t_in)
    same(e_out, t_out)
    g = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    for e, t in zip(e_in, t_in):
        same(e.grad, t.grad)
    for (en, ep), (tn, tp) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        assert en == tn
        same(ep.grad, tp.grad)


def test_state_dict_keys_of_nested_model_match_torch(torch):
    def build(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1))
                self.heads = nn.ModuleList([nn.Linear(8, 2), nn.Linear(8, 3)])
                self.table = nn.ModuleDict({"emb": nn.Embedding(5, 4), "act": nn.GELU()})
                self.scale = nn.Parameter(torch.ones(1) if nn is torch.nn else ember.ones(1))
                self.register_buffer("steps", (torch if nn is torch.nn else ember).zeros(2))
                self.register_buffer("tmp", (torch if nn is torch.nn else ember).zeros(2),
                                     persistent=False)
                self.loss = nn.CrossEntropyLoss(weight=(torch if nn is torch.nn
                                                        else ember).ones(3))

        return Net()

    t, e = build(torch.nn), build(ember.nn)
    ts, es = t.state_dict(), e.state_dict()
    assert list(es) == list(ts)
    assert dict(es._metadata) == dict(ts._metadata)
    assert list(es._metadata) == list(ts._metadata)
    assert repr(e) == repr(t)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]


def test_repr_of_containers_matches_torch(torch):
    def build(nn, lib):
        return nn.Sequential(
            nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(inplace=True)]),
            nn.ParameterList([nn.Parameter(lib.ones(2, 3)), nn.Parameter(lib.ones(2).double())]),
            nn.ParameterDict({"a": nn.Parameter(lib.ones(2))}),
            nn.Embedding(10, 3, padding_idx=0, max_norm=1.0), nn.Dropout1d(), nn.Softmax(1),
            nn.LeakyReLU(0.1, inplace=True), nn.Softshrink(), nn.Threshold(0.1, 2),
            nn.CrossEntropyLoss(), nn.ModuleList(), nn.Hardtanh(), nn.ELU(), nn.CELU(),
            nn.Softplus(), nn.GELU("tanh"), nn.Unflatten(1, (2, 2)), nn.PReLU(3),
            nn.RReLU(), nn.Bilinear(2, 3, 4), nn.Identity())

    assert repr(build(ember.nn, ember)) == repr(build(torch.nn, torch))


def test_linear_default_init_distribution():
    m = ember.nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in))
    w = m.weight.detach().numpy()
    assert w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.var() - bound**2 / 3) < 0.03 * bound**2 / 3
    b = m.bias.detach().numpy()
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound


def test_linear_wrong_in_features_names_the_fix():
    m = ember.nn.Linear(16, 4)
    with pytest.raises(RuntimeError, match=r"in_features \(16\).*nn\.Flatten\(\)"):
        m(ember.zeros(2, 4, 2, 2))


def test_f_linear_shape_error_like_torch(torch):
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(3x4 and "
                                           r"3x5\)"):
        ember.nn.functional.linear(ember.zeros(3, 4), ember.zeros(5, 3))


def test_embedding_matches_torch_with_padding(torch):
    torch.manual_seed(0)
    t = torch.nn.Embedding(6, 3, padding_idx=2)
    e = ember.nn.Embedding(6, 3, padding_idx=2)
    assert np.all(e.weight.detach().numpy()[2] == 0)
    copy_params(e, t)
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    eo, to = e(ember.tensor(idx)), t(torch.tensor(idx))
    same(eo, to)
    g = np.random.default_rng(0).standard_normal((2, 3, 3)).astype(np.float32)
    eo.backward(ember.tensor(g))
    to.backward(torch.tensor(g))
    same(e.weight.grad, t.weight.grad)
    assert np.all(e.weight.grad.numpy()[2] == 0)


def test_embedding_from_pretrained_and_max_norm(torch):
    w = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32) * 3
    e = ember.nn.Embedding.from_pretrained(ember.tensor(w), max_norm=1.0)
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w), max_norm=1.0)
    assert not e.weight.requires_grad
    idx = np.array([0, 3, 3])
    same(e(ember.tensor(idx)), t(torch.tensor(idx)))
    same(e.weight, t.weight)


@pytest.mark.parametrize("norm_type", [1.0, 2.0])  # other p: float32 norms differ by an ulp
def test_embedding_max_norm_rescales_bit_for_bit(torch, norm_type):
    # the scale max_norm / (norm + 1e-7) is computed in float64 and rounded once, as in torch
    # (ember divided in float32: rows one ulp off)
    w = np.random.default_rng(2).standard_normal((6, 5)).astype(np.float32) * 3
    e, t = ember.tensor(w), torch.tensor(w)
    idx = [0, 2, 2, 5]
    ember.nn.functional.embedding(ember.tensor(idx), e, max_norm=0.7, norm_type=norm_type)
    torch.nn.functional.embedding(torch.tensor(idx), t, max_norm=0.7, norm_type=norm_type)
    assert e.numpy().tobytes() == t.numpy().tobytes()


def test_embedding_rejects_float_indices():
    with pytest.raises(RuntimeError, match="Long, Int"):
        ember.nn.Embedding(3, 2)(ember.tensor([1.0]))


def test_dropout_training_statistics_and_scaling():
    ember.manual_seed(0)
    x = ember.ones(200, 100)
    y = ember.nn.Dropout(0.3)(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    y2 = ember.nn.Dropout2d(0.5)(ember.ones(50, 40, 3, 3)).numpy()
    per_channel = y2.reshape(50, 40, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))


def test_dropout_gradient_uses_the_same_mask():
    x = ember.ones(10, 10, requires_grad=True)
    y = ember.nn.functional.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        ember.nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ember.nn.functional.dropout(ember.ones(2), -0.1)


def test_dropout_seeded_runs_repeat():
    ember.manual_seed(3)
    a = ember.nn.functional.dropout(ember.ones(50)).numpy()
    ember.manual_seed(3)
    b = ember.nn.functional.dropout(ember.ones(50)).numpy()
    np.testing.assert_array_equal(a, b)


def test_inplace_activation_modifies_input(torch):
    x = ember.tensor([-1.0, 2.0])
    out = ember.nn.ReLU(inplace=True)(x)
    assert out is x and x.tolist() == [0.0, 2.0]
    x = ember.tensor([-1.0, 2.0])
    ember.nn.functional.leaky_relu_(x, 0.5)
    assert x.tolist() == [-0.5, 2.0]


def test_lazy_linear_infers_in_features():
    m = ember.nn.LazyLinear(3)
    assert m(ember.ones(2, 7)).shape == (2, 3)
    assert m.in_features == 7 and m.weight.shape == (3, 7)


@pytest.mark.parametrize("dtypes", [("float64", "float32", "float32"), ("float32", "float64", "float64"),
                                    ("float32", "float32", "float64"), ("float16", "float32", "float32"),
                                    ("float32", "float16", "float32"), ("float64", "float32", None)])
@pytest.mark.parametrize("shape", [(2, 3), (3,), (2, 2, 3)])
def test_linear_dtype_mismatch_messages_are_torchs(torch, dtypes, shape):
    # with a bias torch checks it against the weight first ("self and mat2"), then the input
    # ("mat1 and mat2"); ember gave the bias-less message for both
    messages = []
    for lib in (torch, ember):
        a, w, b = (None if d is None else getattr(lib, d) for d in dtypes)
        bias = None if b is None else lib.ones(4, dtype=b)
        with pytest.raises(RuntimeError) as err:
            lib.nn.functional.linear(lib.ones(shape, dtype=a), lib.ones(4, 3, dtype=w), bias)
        messages.append(str(err.value).split(". Cast")[0])
    assert messages[0] == messages[1]


def test_dotted_names_are_refused_with_torchs_messages(torch):
    for lib in (torch, ember):
        m = lib.nn.Module()
        with pytest.raises(KeyError) as err:
            m.add_module("a.b", lib.nn.ReLU())
        assert str(err.value) == """'module name can\\'t contain ".", got: a.b'"""
        with pytest.raises(KeyError, match="buffer name can"):
            m.register_buffer("a.b", lib.ones(1))
