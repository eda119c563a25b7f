"""What a learner sees when they print things: the repr of every common layer (extra_repr
arguments, defaults left out, nested containers), optimizers (param groups with every
default), schedulers' state_dict, torch.return_types named tuples, load_state_dict's
_IncompatibleKeys, PackedSequence, torch.Size, dtypes, finfo/iinfo, devices, and tensors whose
values force scientific notation, integer and bool printing, and summarised large tensors."""
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

torch.manual_seed(0)

layers = [
    nn.Linear(3, 4), nn.Linear(3, 4, bias=False), nn.Bilinear(2, 3, 4), nn.Identity(),
    nn.Conv1d(2, 4, 3), nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2,
                                   groups=1, bias=False, padding_mode="reflect"),
    nn.Conv2d(4, 4, 3, padding="same", groups=2), nn.ConvTranspose2d(4, 2, 4, stride=2,
                                                                     output_padding=1),
    nn.Conv3d(1, 2, 3), nn.MaxPool2d(2), nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
    nn.AvgPool2d(2, count_include_pad=False), nn.AdaptiveAvgPool2d((1, 1)),
    nn.AdaptiveMaxPool1d(4, return_indices=True), nn.LPPool2d(2, 3), nn.MaxUnpool2d(2),
    nn.BatchNorm1d(5), nn.BatchNorm2d(3, momentum=None, affine=False),
    nn.BatchNorm2d(3, track_running_stats=False), nn.LayerNorm([4, 5], elementwise_affine=False),
    nn.LayerNorm(8, bias=False), nn.GroupNorm(2, 4), nn.InstanceNorm2d(3, affine=True),
    nn.LocalResponseNorm(2), nn.RMSNorm(6), nn.Dropout(0.25), nn.Dropout2d(), nn.AlphaDropout(0.1),
    nn.ReLU(), nn.ReLU(inplace=True), nn.LeakyReLU(0.2), nn.PReLU(3), nn.ELU(alpha=0.5),
    nn.GELU(approximate="tanh"), nn.Softplus(beta=2, threshold=10), nn.Hardtanh(-2, 2),
    nn.Softmax(dim=1), nn.LogSoftmax(-1), nn.Softmin(0), nn.Threshold(0.1, 20), nn.CELU(),
    nn.SiLU(), nn.Mish(), nn.Hardswish(), nn.Tanhshrink(), nn.Softsign(), nn.GLU(),
    nn.Embedding(10, 3, padding_idx=0), nn.Embedding(5, 2, max_norm=1.0, sparse=True),
    nn.EmbeddingBag(10, 3, mode="max"), nn.RNN(4, 8, 2, nonlinearity="relu"),
    nn.LSTM(4, 8, batch_first=True, bidirectional=True, proj_size=3), nn.GRU(3, 5, dropout=0.1,
                                                                            num_layers=2),
    nn.LSTMCell(3, 4), nn.GRUCell(3, 4, bias=False), nn.Flatten(), nn.Unflatten(1, (2, 5)),
    nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), nn.PixelShuffle(2),
    nn.ZeroPad2d((1, 2, 0, 1)), nn.ReflectionPad1d(2), nn.ConstantPad2d(1, 3.5),
    nn.CrossEntropyLoss(label_smoothing=0.1), nn.MSELoss(reduction="sum"), nn.BCEWithLogitsLoss(),
    nn.NLLLoss(ignore_index=-1), nn.SmoothL1Loss(beta=0.5), nn.CosineSimilarity(dim=0),
    nn.PairwiseDistance(p=1.0), nn.MultiheadAttention(8, 2, batch_first=True),
    nn.TransformerEncoderLayer(8, 2, dim_feedforward=16), nn.Fold((4, 4), 2), nn.Unfold(2),
    nn.ChannelShuffle(2), nn.CosineEmbeddingLoss(margin=0.5), nn.TripletMarginLoss(),
]
for layer in layers:
    print(layer)

model = nn.Sequential(
    nn.Conv2d(1, 4, 3), nn.ReLU(),
    nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)),
    nn.ModuleList([nn.Tanh() for _ in range(3)]),
    nn.ModuleDict({"head": nn.Linear(4, 2), "act": nn.Sigmoid()}),
)
print(model)
pl = nn.ParameterList([nn.Parameter(torch.zeros(2, 3)), nn.Parameter(torch.zeros(4))])
print(pl)
pd = nn.ParameterDict({"a": nn.Parameter(torch.zeros(1)), "b": nn.Parameter(torch.ones(2, 2))})
print(pd)

params = [nn.Parameter(torch.zeros(2))]
for opt in [torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
            torch.optim.Adam(params, lr=1e-3, weight_decay=1e-4),
            torch.optim.AdamW(params, amsgrad=True), torch.optim.RMSprop(params),
            torch.optim.Adagrad(params), torch.optim.Adadelta(params), torch.optim.Adamax(params),
            torch.optim.NAdam(params), torch.optim.RAdam(params), torch.optim.ASGD(params),
            torch.optim.Rprop(params), torch.optim.LBFGS(params)]:
    print(opt)

opt = torch.optim.SGD([{"params": params, "lr": 0.5}, {"params": [nn.Parameter(torch.ones(1))]}],
                      lr=0.1)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
opt.step()
sched.step()
print(sched.state_dict())
print(opt.state_dict()["param_groups"])

x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 3.0, 3.0]])
print(torch.max(x, 1))
print(x.sort(dim=1, descending=True))
print(torch.topk(x, 2))
print(torch.linalg.slogdet(torch.eye(2) * 3))
print(torch.aminmax(x))
print(x.median(dim=0))
print(torch.linalg.eigh(torch.eye(2)))
print(torch.unique(torch.tensor([3, 1, 3, 2]), return_counts=True))

net = nn.Linear(2, 2)
result = net.load_state_dict({"weight": torch.zeros(2, 2), "extra": torch.zeros(1)}, strict=False)
print(result)
print(result.missing_keys, result.unexpected_keys)
try:
    net.load_state_dict({"weight": torch.zeros(3, 2), "bias": torch.zeros(2)})
except RuntimeError as err:
    print("RuntimeError:", err)

seqs = torch.arange(1.0, 13.0).view(3, 4, 1)
packed = pack_padded_sequence(seqs, [4, 2, 1], batch_first=True)
print(packed)

print(torch.Size([2, 3]), torch.zeros(2, 3).shape[1:], torch.Size([]))
print(torch.float32, torch.int64, torch.bool, torch.complex64, torch.bfloat16)
print(torch.finfo(torch.float16))
print(torch.iinfo(torch.int8))
print(torch.device("cpu"), repr(torch.device("cpu", 0)), torch.device("cuda:1"))

print(torch.tensor([1e-8, 1.0, 1e8]))
print(torch.tensor([0.1, 123456.0]))
print(torch.tensor([1.5e-5, 2.0]))
print(torch.tensor([float("nan"), float("inf"), -float("inf"), 1.25]))
print(torch.tensor([[-1, 200], [3, 4]]))
print(torch.tensor([True, False]))
print(torch.tensor(3.5), torch.tensor(7), torch.tensor([], dtype=torch.int64))
print(torch.arange(2000.0).view(2, 1000))
print(torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True))
print(torch.tensor([1 + 2j, -0.5j]))
print(torch.zeros(2, 3, dtype=torch.float16), torch.ones(2, dtype=torch.bfloat16))
print(torch.randn(2, 2).round(decimals=2) * 0 + torch.tensor([[1.0, -2.0], [3.0, 4.0]]))
print(nn.Parameter(torch.ones(2)))
torch.set_printoptions(precision=2, sci_mode=False)
print(torch.tensor([1e-8, 1.0, 1e8]))
torch.set_printoptions(profile="default")
print(torch.tensor([1.0, 2.0]) / 3)
