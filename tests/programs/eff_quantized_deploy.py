"""Shrinking models for CPU serving, after the "dynamic quantization on an LSTM word language
model" tutorial and the static-quantization recipe with the x86 backend: ``quantize_dynamic``
of an LSTM language model to qint8 and float16 with the size measured by saving the
state_dict to ``io.BytesIO``, the observers a calibration uses (``HistogramObserver``,
``PerChannelMinMaxObserver``, ``MovingAverageMinMaxObserver``), then eager-mode post-training
static quantization of a conv net with ``get_default_qconfig("x86")`` (per-channel weights),
Conv-BN-ReLU fusion and a look at the quantized weights."""
import copy
import io
import warnings

import torch
import torch.ao.quantization as tq
from torch import nn

warnings.simplefilter("ignore")
torch.manual_seed(0)
torch.backends.quantized.engine = "x86"
print("engine:", torch.backends.quantized.engine,
      "x86" in torch.backends.quantized.supported_engines)


class WordLM(nn.Module):
    def __init__(self, vocab=40, emb=16, hidden=32, layers=2):
        super().__init__()
        self.encoder = nn.Embedding(vocab, emb)
        self.rnn = nn.LSTM(emb, hidden, num_layers=layers, dropout=0.0)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens, hidden=None):
        out, hidden = self.rnn(self.encoder(tokens), hidden)
        return self.decoder(out), hidden


def size_bytes(model):
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell()


lm = WordLM()
tokens = torch.randint(0, 40, (12, 3))  # (seq, batch)
targets = torch.randint(0, 40, (12, 3))
opt = torch.optim.Adam(lm.parameters(), lr=1e-2)
for step in range(5):
    logits, _ = lm(tokens)
    loss = nn.functional.cross_entropy(logits.view(-1, 40), targets.view(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
print("train loss:", round(loss.item(), 4))
lm.eval()

q_lm = tq.quantize_dynamic(lm, {nn.LSTM, nn.Linear}, dtype=torch.qint8)
h_lm = tq.quantize_dynamic(lm, {nn.Linear}, dtype=torch.float16)
print(q_lm)
print("fp16 decoder:", h_lm.decoder)
fp32_size, int8_size = size_bytes(lm), size_bytes(q_lm)
print("int8 at most half the size:", int8_size * 2 <= fp32_size)
with torch.no_grad():
    ref, (h, c) = lm(tokens)
    out8, (h8, c8) = q_lm(tokens)
    out16, _ = h_lm(tokens)
print("hidden shapes:", tuple(h8.shape), tuple(c8.shape))
print("int8 max err < 0.05:", (out8 - ref).abs().max().item() < 0.05,
      round((out8 - ref).abs().mean().item(), 4))
print("int8 logits:", [round(v, 3) for v in out8[0, 0, :5].tolist()])
print("fp16 max err < 1e-2:", (out16 - ref).abs().max().item() < 1e-2)
print("int8 top-1 agreement:", (out8.argmax(-1) == ref.argmax(-1)).float().mean().item() > 0.9)
w = q_lm.decoder.weight()
print("decoder weight:", w.dtype, w.qscheme(), tuple(w.int_repr().shape),
      w.int_repr().dtype)
deq = w.dequantize()
print("weight round trip err <= scale/2:",
      (deq - lm.decoder.weight).abs().max().item() <= w.q_scale() / 2 + 1e-7)
print("original untouched:", type(lm.rnn).__name__, type(lm.decoder).__name__)

# the observers behind calibration
x = torch.randn(256)
hist = tq.HistogramObserver()
hist(x)
scale, zp = hist.calculate_qparams()
print("histogram qparams:", round(scale.item(), 5), zp.item())
mm = tq.MinMaxObserver()
mm(x)
s_mm, z_mm = mm.calculate_qparams()
print("minmax qparams:", round(s_mm.item(), 5), z_mm.item(),
      "histogram clips outliers:", scale.item() <= s_mm.item())
pc = tq.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8,
                                 qscheme=torch.per_channel_symmetric)
pc(torch.randn(4, 10) * torch.tensor([[0.5], [1.0], [2.0], [4.0]]))
scales, zps = pc.calculate_qparams()
print("per-channel scales:", [round(v, 5) for v in scales.tolist()], zps.tolist())
ma = tq.MovingAverageMinMaxObserver(averaging_constant=0.1)
for k in range(3):
    ma(torch.randn(32) * (k + 1))
print("moving average range:", round(ma.min_val.item(), 4), round(ma.max_val.item(), 4))


# eager-mode static quantization of a small conv net, x86 qconfig
class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 3)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.pool(self.relu2(self.conv2(x)))
        return self.dequant(self.fc(torch.flatten(x, 1)))


net = ConvNet()
images = torch.randn(16, 1, 10, 10)
with torch.no_grad():  # give the batch norm statistics of its own
    net.train()
    for _ in range(3):
        net(images)
net.eval()
float_out = net(images).detach()

fused = tq.fuse_modules(copy.deepcopy(net), [["conv1", "bn1", "relu1"], ["conv2", "relu2"]])
print("fused:", type(fused.conv1).__name__, type(fused.bn1).__name__,
      type(fused.conv2).__name__)
print("fusion keeps outputs:", torch.allclose(fused(images), float_out, atol=1e-5))
fused.qconfig = tq.get_default_qconfig("x86")
prepared = tq.prepare(fused)
print("observer on conv1:", type(prepared.conv1.activation_post_process).__name__)
with torch.no_grad():
    for i in range(0, 16, 4):  # calibration batches
        prepared(images[i:i + 4])
quantized = tq.convert(prepared)
print("converted:", type(quantized.conv1).__name__, type(quantized.conv2).__name__,
      type(quantized.fc).__name__, type(quantized.quant).__name__)
qw = quantized.conv1.weight()
print("conv1 weight:", qw.qscheme(), qw.q_per_channel_axis(),
      [round(v, 5) for v in qw.q_per_channel_scales().tolist()])
print("activation qparams:", round(quantized.conv1.scale, 5), quantized.conv1.zero_point,
      round(float(quantized.quant.scale), 5), int(quantized.quant.zero_point))
with torch.no_grad():
    q_out = quantized(images)
err = (q_out - float_out).abs().max().item()
rel = err / float_out.abs().max().item()
print("static int8 relative err < 0.1:", rel < 0.1)
print("int8 outputs:", [round(v, 4) for v in q_out[0].tolist()],
      "float:", [round(v, 4) for v in float_out[0].tolist()])
print("same predictions:", (q_out.argmax(1) == float_out.argmax(1)).sum().item(), "/ 16")
print("quantized size smaller:", size_bytes(quantized) < size_bytes(net))
