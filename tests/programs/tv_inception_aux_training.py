"""Training with auxiliary classifiers, as the "Finetuning Torchvision Models" tutorial does for
Inception v3 (feature extraction: frozen body, new ``fc`` and ``AuxLogits.fc``; in training
``outputs, aux_outputs = model(inputs)`` and ``loss = loss1 + 0.4 * loss2``; in evaluation the
model returns the logits alone) and torchvision's classification reference does for GoogLeNet
(``GoogLeNetOutputs``, ``loss = main + 0.3 * (aux1 + aux2)``, one step), then EfficientNetV2-S
with a swapped ``classifier[1]``. All built with ``weights=None``.
"""
import torch
import torch.nn as nn
import torchvision

torch.manual_seed(0)
NUM_CLASSES = 3
criterion = nn.CrossEntropyLoss()

# --- Inception v3, feature extraction (the tutorial's is_inception branch) ---
model = torchvision.models.inception_v3(weights=None, init_weights=False)
for param in model.parameters():
    param.requires_grad = False
model.AuxLogits.fc = nn.Linear(model.AuxLogits.fc.in_features, NUM_CLASSES)
model.fc = nn.Linear(model.fc.in_features, NUM_CLASSES)
params_to_update = [p for p in model.parameters() if p.requires_grad]
print("inception params to learn", len(params_to_update),
      sum(p.numel() for p in params_to_update))
optimizer = torch.optim.SGD(params_to_update, lr=0.001, momentum=0.9)

inputs = torch.randn(2, 3, 299, 299)
labels = torch.tensor([0, 2])
model.train()
optimizer.zero_grad()
result = model(inputs)
outputs, aux_outputs = result
loss1 = criterion(outputs, labels)
loss2 = criterion(aux_outputs, labels)
loss = loss1 + 0.4 * loss2
loss.backward()
optimizer.step()
_, preds = torch.max(outputs, 1)
print("inception train", type(result).__name__,
      round(loss1.item(), 4), round(loss2.item(), 4), preds.tolist())

model.eval()
with torch.no_grad():
    logits = model(torch.randn(2, 3, 96, 96))
print("inception eval", type(logits).__name__, tuple(logits.shape),
      [round(v, 4) for v in logits.softmax(1)[0].tolist()])

# --- GoogLeNet, trained end to end with both auxiliary heads ---
# (init_weights=False keeps PyTorch's default init: after the std-0.01 truncated normal some
# batch-norm gradients are so ill-conditioned that torch's float32 and float64 runs disagree)
net = torchvision.models.googlenet(weights=None, num_classes=NUM_CLASSES, aux_logits=True,
                                   init_weights=False)
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(4, 3, 64, 64)
y = torch.tensor([0, 1, 2, 1])
net.train()
opt.zero_grad()
out = net(x)
main = criterion(out.logits, y)
aux = criterion(out.aux_logits1, y) + criterion(out.aux_logits2, y)
total = main + 0.3 * aux
total.backward()
opt.step()
print("googlenet step", type(out).__name__, out._fields, round(main.item(), 4),
      round(aux.item(), 4))
net.eval()
with torch.no_grad():
    probs = net(x).softmax(1)
print("googlenet eval", tuple(probs.shape), [round(v, 3) for v in probs[0].tolist()])

# --- EfficientNetV2-S with a new classifier head ---
eff = torchvision.models.efficientnet_v2_s(weights=None)
eff.classifier[1] = nn.Linear(eff.classifier[1].in_features, NUM_CLASSES)
eff.eval()
with torch.no_grad():
    probs = eff(torch.randn(1, 3, 64, 64)).softmax(1)
print("efficientnet_v2_s", eff.classifier[1].in_features, eff.features[0][1].eps,
      [round(v, 4) for v in probs[0].tolist()])
print("weights", torchvision.models.Inception_V3_Weights.DEFAULT.meta["num_params"],
      torchvision.models.get_model_weights("googlenet").DEFAULT.meta["min_size"])
