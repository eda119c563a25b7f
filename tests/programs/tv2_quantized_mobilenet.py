"""Post-training static quantization and quantization-aware training of torchvision's
quantizable MobileNetV2, as PyTorch's "static quantization" and "quantized transfer learning"
tutorials do: build ``torchvision.models.quantization.mobilenet_v2(weights=None,
quantize=False)``, ``fuse_model()``, set a qconfig, ``prepare``, calibrate on a few batches,
``convert``, then compare float and int8 outputs/accuracy and the serialized size of each
model (``torch.save`` of the state_dict into a ``BytesIO``). The QAT variant fuses for
training, ``prepare_qat``, takes a few SGD steps, freezes observers and BN stats, converts."""
import copy
import io
import warnings

import torch
import torch.nn as nn
import torchvision

warnings.filterwarnings("ignore")

torch.manual_seed(0)
torch.backends.quantized.engine = "fbgemm"

images = torch.randn(8, 3, 32, 32)
labels = torch.randint(0, 10, (8,))


def size_kb(model):
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes // 1024


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


float_model = torchvision.models.quantization.mobilenet_v2(weights=None, quantize=False)
# transfer learning: a fresh 10-class head on the (here untrained) ImageNet backbone
float_model.classifier[1] = nn.Linear(float_model.last_channel, 10)
float_model.eval()
print("quant stub", type(float_model.quant).__name__, type(float_model.dequant).__name__)
with torch.no_grad():
    float_out = float_model(images)
print("float out", tuple(float_out.shape), round(float_out.abs().mean().item(), 4))

ptq = copy.deepcopy(float_model)
ptq.eval()
ptq.fuse_model()
print("fused first block", [type(m).__name__ for m in ptq.features[0]])
ptq.qconfig = torch.ao.quantization.get_default_qconfig("fbgemm")
print("qconfig", type(ptq.qconfig.activation()).__name__, type(ptq.qconfig.weight()).__name__)
torch.ao.quantization.prepare(ptq, inplace=True)
with torch.no_grad():
    for chunk in images.split(4):
        ptq(chunk)
torch.ao.quantization.convert(ptq, inplace=True)
print("converted", type(ptq.features[0][0]).__name__, type(ptq.classifier[1]).__name__)
with torch.no_grad():
    q_out = ptq(images)
print("int8 out", q_out.dtype, round((q_out - float_out).abs().max().item(), 3))
print("argmax agree", (q_out.argmax(1) == float_out.argmax(1)).sum().item(), "of 8")
print("acc float/int8", accuracy(float_model, images, labels), accuracy(ptq, images, labels))
print("size kB float/int8", size_kb(float_model), size_kb(ptq))

torch.manual_seed(1)
qat = torchvision.models.quantization.mobilenet_v2(weights=None, quantize=False)
qat.classifier[1] = nn.Linear(qat.last_channel, 10)
qat.train()
qat.fuse_model(is_qat=True)
qat.qconfig = torch.ao.quantization.get_default_qat_qconfig("fbgemm")
torch.ao.quantization.prepare_qat(qat, inplace=True)
print("qat module", type(qat.features[0][0]).__name__)
# fine-tuning with BatchNorm statistics frozen from the start (the tutorial freezes them after
# a few epochs); observers keep updating until they are disabled below
qat.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
print("bn frozen", qat.features[0][0].freeze_bn, qat.features[0][0].bn.training)
optimizer = torch.optim.SGD(qat.parameters(), lr=0.01, momentum=0.9)
criterion = nn.CrossEntropyLoss()
for step in range(3):
    optimizer.zero_grad()
    loss = criterion(qat(images), labels)
    loss.backward()
    optimizer.step()
    print("qat step", step, round(loss.item(), 3))
    if step == 1:
        qat.apply(torch.ao.quantization.disable_observer)
qat.eval()
int8 = torch.ao.quantization.convert(copy.deepcopy(qat), inplace=False)
with torch.no_grad():
    fake_q = qat(images)
    real_q = int8(images)
print("qat fake vs int8", round((fake_q - real_q).abs().max().item(), 2),
      (fake_q.argmax(1) == real_q.argmax(1)).sum().item())
print("qat size kB", size_kb(int8))
