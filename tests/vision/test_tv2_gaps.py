"""Gaps found by the tv2_* programs (quantized MobileNetV2, detection/segmentation, model zoo),
each checked against PyTorch."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import ember


def _checkpoint(lib, obj):
    buf = io.BytesIO()
    lib.save(obj, buf)
    return buf.getvalue()


@pytest.mark.parametrize("case", ["empty", "one", "three"])
def test_checkpoint_has_pytorchs_records_and_size(case):
    """``torch.save(model.state_dict(), BytesIO())`` sizes (the quantization tutorial's model
    size) match PyTorch's: same records, in the same order, at the same offsets."""
    torch = pytest.importorskip("torch")

    def objects(lib):
        return {"empty": {}, "one": {"a": lib.zeros(3)},
                "three": {"a": lib.zeros(3), "b": lib.ones(2, 2), "c": lib.tensor(1)}}[case]

    ours, theirs = _checkpoint(ember, objects(ember)), _checkpoint(torch, objects(torch))
    assert len(ours) == len(theirs)
    with zipfile.ZipFile(io.BytesIO(ours)) as a, zipfile.ZipFile(io.BytesIO(theirs)) as b:
        assert [(i.filename, i.header_offset, i.file_size) for i in a.infolist()] == \
            [(i.filename, i.header_offset, i.file_size) for i in b.infolist()]
        for name in ("archive/.format_version", "archive/.storage_alignment",
                     "archive/version", "archive/byteorder"):
            assert a.read(name) == b.read(name)
    # each loads in the other library
    back = torch.load(io.BytesIO(ours))
    assert sorted(back) == sorted(objects(torch))
    assert sorted(ember.load(io.BytesIO(theirs))) == sorted(objects(ember))


def _conv_bn_model(lib):
    Q = lib.ao.quantization
    lib.manual_seed(0)

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = Q.QuantStub()
            self.conv = lib.nn.Conv2d(3, 4, 3, bias=False)
            self.bn = lib.nn.BatchNorm2d(4)
            self.relu = lib.nn.ReLU()
            self.dequant = Q.DeQuantStub()

        def forward(self, x):
            return self.dequant(self.relu(self.bn(self.conv(self.quant(x)))))

    net = Net().train()
    x = lib.randn(2, 3, 8, 8) * 2
    net(x)  # running statistics away from their initial values
    net = Q.fuse_modules_qat(net, [["conv", "bn", "relu"]])
    net.qconfig = Q.get_default_qat_qconfig("fbgemm")
    Q.prepare_qat(net, inplace=True)
    return net, x


def test_qat_conv_bn_fake_quantizes_the_folded_weight():
    """QAT ``ConvBnReLU2d`` fake-quantizes ``weight * gamma / sqrt(running_var + eps)`` (ember
    quantized the raw weight), and freezing BN stats follows PyTorch's modes."""
    torch = pytest.importorskip("torch")
    nets = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        net, x = _conv_bn_model(lib)
        first = net(x).detach().numpy()
        second = net(x).detach().numpy()
        conv = net.conv
        nets[name] = (first, second, conv.weight_fake_quant.activation_post_process.min_val
                      .numpy(), conv.bn.running_var.detach().numpy(), list(conv._modules))
    (t1, t2, tmin, tvar, tkids), (e1, e2, emin, evar, ekids) = nets["torch"], nets["ember"]
    np.testing.assert_allclose(emin, tmin, rtol=1e-5)
    np.testing.assert_allclose(evar, tvar, rtol=1e-5)
    np.testing.assert_allclose(e1, t1, atol=1e-5)
    np.testing.assert_allclose(e2, t2, atol=1e-5)
    assert ekids == tkids


def test_intrinsic_qat_namespace_and_freeze_bn_stats():
    torch = pytest.importorskip("torch")
    states = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        qat = lib.nn.intrinsic.qat
        assert qat.ConvBnReLU2d is lib.ao.nn.intrinsic.qat.ConvBnReLU2d
        m = qat.ConvBn2d(3, 4, 3, qconfig=lib.ao.quantization.get_default_qat_qconfig("fbgemm"))
        seen = [(m.freeze_bn, m.bn.training, m.bias is None)]
        assert m.apply(qat.freeze_bn_stats) is m
        seen.append((m.freeze_bn, m.bn.training))
        m.train()
        seen.append((m.freeze_bn, m.bn.training))
        m.apply(qat.update_bn_stats)
        seen.append((m.freeze_bn, m.bn.training))
        m.eval()
        seen.append((m.freeze_bn, m.bn.training))
        seen.append(list(m.state_dict()))
        states[name] = seen
    assert states["ember"] == states["torch"]
