"""ember.onnx.export of each layer family, run in onnxruntime against ember (atol 1e-5),
with batch sizes other than the traced one along the dynamic axis."""

import pytest

import ember
from ember import nn
from ember.nn import functional as F

from ._helpers import export_and_check, op_types


def setup_function():
    ember.manual_seed(0)


class Fn(nn.Module):
    def __init__(self, fn, *children):
        super().__init__()
        self.fn = fn
        self.children_ = nn.ModuleList(children)

    def forward(self, *xs):
        return self.fn(*xs)


LAYERS = {
    "linear": (lambda: nn.Linear(5, 3), (2, 5), ["Gemm"]),
    "linear_3d": (lambda: nn.Linear(5, 3), (2, 4, 5), ["MatMul"]),
    "linear_no_bias": (lambda: nn.Linear(5, 3, bias=False), (2, 5), ["Gemm"]),
    "bilinear_free_mlp": (lambda: nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)),
                          (2, 4), ["Gemm", "Tanh"]),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=1), (2, 3, 9), ["Conv"]),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3, padding=1), (2, 3, 6, 6), ["Conv"]),
    "conv2d_groups_dilation": (lambda: nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2),
                               (2, 4, 7, 7), ["Conv"]),
    "conv2d_same": (lambda: nn.Conv2d(2, 3, 4, padding="same"), (2, 2, 6, 6), ["Conv"]),
    "conv_transpose1d": (lambda: nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1,
                                                    output_padding=1), (2, 3, 5),
                         ["ConvTranspose"]),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2), (2, 3, 4, 4),
                         ["ConvTranspose"]),
    "max_pool2d": (lambda: nn.MaxPool2d(2), (2, 3, 6, 6), ["MaxPool"]),
    "max_pool2d_ceil_pad": (lambda: nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
                            (2, 3, 8, 8), ["MaxPool"]),
    "max_pool1d": (lambda: nn.MaxPool1d(3, 2), (2, 3, 9), ["MaxPool"]),
    "avg_pool2d": (lambda: nn.AvgPool2d(2), (2, 3, 6, 6), ["AveragePool"]),
    "avg_pool2d_exclude_pad": (lambda: nn.AvgPool2d(3, 2, padding=1, count_include_pad=False),
                               (2, 3, 7, 7), ["AveragePool"]),
    "avg_pool2d_divisor": (lambda: nn.AvgPool2d(2, divisor_override=3), (2, 3, 4, 4),
                           ["AveragePool"]),
    "avg_pool1d": (lambda: nn.AvgPool1d(2), (2, 3, 8), ["AveragePool"]),
    "adaptive_avg_pool2d_1": (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5), ["ReduceMean"]),
    "adaptive_avg_pool2d_even": (lambda: nn.AdaptiveAvgPool2d(2), (2, 3, 6, 6),
                                 ["AveragePool"]),
    "adaptive_avg_pool2d_uneven": (lambda: nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 5, 7),
                                   ["MatMul"]),
    "adaptive_max_pool2d_even": (lambda: nn.AdaptiveMaxPool2d(2), (2, 3, 6, 6), ["MaxPool"]),
    "adaptive_avg_pool1d": (lambda: nn.AdaptiveAvgPool1d(2), (2, 3, 6), ["AveragePool"]),
    "batch_norm1d": (lambda: nn.BatchNorm1d(4), (2, 4), ["BatchNormalization"]),
    "batch_norm2d": (lambda: nn.BatchNorm2d(3), (2, 3, 4, 4), ["BatchNormalization"]),
    "batch_norm_no_affine": (lambda: nn.BatchNorm2d(3, affine=False), (2, 3, 4, 4),
                             ["BatchNormalization"]),
    "layer_norm": (lambda: nn.LayerNorm(6), (2, 6), ["LayerNormalization"]),
    "layer_norm_2d": (lambda: nn.LayerNorm((3, 4)), (2, 3, 4), ["LayerNormalization"]),
    "layer_norm_no_affine": (lambda: nn.LayerNorm(6, elementwise_affine=False), (2, 5, 6),
                             ["LayerNormalization"]),
    "group_norm": (lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3), []),
    "instance_norm": (lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4),
                      ["InstanceNormalization"]),
    "dropout_eval": (lambda: nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)), (2, 4), ["Gemm"]),
    "flatten": (lambda: nn.Flatten(), (2, 3, 2, 2), ["Reshape"]),
    "unflatten": (lambda: nn.Unflatten(1, (2, 3)), (2, 6), ["Reshape"]),
    "softmax": (lambda: nn.Softmax(dim=1), (2, 5), ["Softmax"]),
    "log_softmax": (lambda: nn.LogSoftmax(dim=-1), (2, 3, 5), ["LogSoftmax"]),
    "softmin": (lambda: nn.Softmin(dim=1), (2, 5), ["Softmax"]),
}

ACTIVATIONS = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
               "Sigmoid", "Tanh", "Hardtanh", "Hardswish", "Hardsigmoid", "Softplus",
               "Hardshrink", "Softshrink", "Tanhshrink", "LogSigmoid", "Threshold", "PReLU",
               "Softsign"]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer(name):
    make, shape, expect = LAYERS[name]
    model = make()
    for m in model.modules():  # batch norm with statistics worth testing
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with ember.no_grad():
                m.running_mean.copy_(ember.randn(m.num_features) * 0.1)
                m.running_var.copy_(ember.rand(m.num_features) + 0.5)
    proto = export_and_check(model, ember.randn(*shape))
    types = op_types(proto)
    for op in expect:
        assert op in types, (op, types)


def _activation(name):
    if name == "Threshold":
        return nn.Threshold(0.1, 20.0)
    if name == "GELU":
        return nn.Sequential(nn.GELU(), nn.GELU(approximate="tanh"))
    return getattr(nn, name)()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation(name):
    x = ember.randn(2, 3, 4) * 3
    export_and_check(_activation(name), x)


def test_softplus_beta_threshold_and_large_inputs():
    x = ember.tensor([[-100.0, -3.0, 0.0, 4.0, 30.0, 90.0]])
    export_and_check(nn.Softplus(beta=2.0, threshold=5.0), x, batches=())
    export_and_check(nn.Softplus(), x, batches=())


def test_shapes_permute_slicing_concat():
    def fn(x):
        a = x.permute(0, 2, 1)                    # (B, 4, 3)
        b = x[:, 1:3, ::2]                        # (B, 2, 2)
        c = x[:, -1]                              # (B, 4)
        d = x[..., None, 0]                       # (B, 3, 1)
        e = ember.cat([a.reshape(x.shape[0], -1), b.flatten(1), c, d.squeeze(-1)], dim=1)
        f = ember.stack([c, c * 2], dim=1)        # (B, 2, 4)
        g = x.transpose(1, 2).contiguous().view(x.shape[0], 12)
        return e, f.unsqueeze(1), g.t().t(), x.narrow(2, 1, 2), x.mean(dim=(1, 2))

    proto = export_and_check(Fn(fn), ember.randn(2, 3, 4))
    assert {"Transpose", "Slice", "Concat", "Reshape", "ReduceMean"} <= set(op_types(proto))


def test_arithmetic_and_comparisons():
    def fn(x, y):
        m = (x > 0) & (y <= 0.5)
        z = ember.where(m, x * y - 1, x / (y.abs() + 1))
        z = z.clamp(-1.0, 2.0) + ember.maximum(x, y) ** 2 - x.exp().log1p()
        w = x.masked_fill(~m, 0.25).sum(dim=-1, keepdim=True)
        return z * w.sqrt().rsqrt().abs(), x.argmax(dim=1), (x == y).float()

    export_and_check(Fn(fn), (ember.randn(2, 5), ember.rand(2, 5)))


DEAD_ROW_MASK = [[True, False, True, True], [False] * 4, [True] * 4, [False, True, False, True]]


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"mask": True}, {"mask": "dead"}])
def test_scaled_dot_product_attention(kw):
    """``{"mask": "dead"}``: query 1 may attend to no key; eager gives it zeros (PyTorch's safe
    softmax) and so must onnxruntime (its Softmax alone gives NaN)."""
    which = kw.pop("mask", False)
    mask = None if not which else ember.tensor(
        DEAD_ROW_MASK if which == "dead" else [[True, False, True, True]] * 4)

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)

    q, k, v = (ember.randn(2, 3, 4, 8) for _ in range(3))
    proto = export_and_check(Fn(fn), (q, k, v))
    assert {"MatMul", "Softmax"} <= set(op_types(proto))


def test_embedding_and_indices_as_inputs():
    model = nn.Sequential(nn.Embedding(10, 4, padding_idx=0), nn.Flatten(), nn.Linear(12, 2))
    proto = export_and_check(model, ember.tensor([[1, 2, 3], [4, 0, 9]]))
    assert "Gather" in op_types(proto)


def test_pad_and_residual_blocks():
    def fn(x):
        y = F.pad(x, (1, 2, 0, 1), value=0.5)
        z = F.pad(x, (-1, 0))
        return y, z

    export_and_check(Fn(fn), ember.randn(2, 3, 4, 5))


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
def test_opsets(opset):
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                          nn.LayerNorm(12), nn.Linear(12, 2), nn.LogSoftmax(dim=1))
    proto = export_and_check(model, ember.randn(2, 2, 4, 4), opset_version=opset)
    assert proto.opset_import[0].version == opset
