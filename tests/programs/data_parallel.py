"""Multi-device recipes on a CPU-only machine: nn.DataParallel (runs the module as is),
saving its state_dict with the 'module.' prefix and loading it back into a plain model,
.to(device) moves, and the DistributedDataParallel import path."""
import torch
import torch.nn as nn

device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
print(device, torch.cuda.device_count())


class Model(nn.Module):
    def __init__(self, input_size, output_size):
        super().__init__()
        self.fc = nn.Linear(input_size, output_size)

    def forward(self, input):
        output = self.fc(input)
        print("\tIn Model: input size", input.size(), "output size", output.size())
        return output


model = Model(5, 2)
with torch.no_grad():
    model.fc.weight.copy_(torch.linspace(-1, 1, 10).view(2, 5))
    model.fc.bias.zero_()
if torch.cuda.device_count() > 1:
    print("Let's use", torch.cuda.device_count(), "GPUs!")
model = nn.DataParallel(model)
model.to(device)
print(type(model).__name__, type(model.module).__name__, model.device_ids)

data = torch.linspace(0, 1, 30 * 5).view(30, 5)
for start in range(0, 30, 12):
    input = data[start:start + 12].to(device)
    output = model(input)
    print("Outside: input size", input.size(), "output_size", output.size())

sd = model.state_dict()
print(list(sd.keys()))
torch.save(sd, "dp.pt")
plain = Model(5, 2)
state = torch.load("dp.pt", weights_only=True)
try:
    plain.load_state_dict(state)
except RuntimeError as err:
    print("RuntimeError:", str(err).splitlines()[0])
state = {k.removeprefix("module."): v for k, v in state.items()}
print(plain.load_state_dict(state))
torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(sd, "module.")
print(list(sd.keys()))

loss = model(data[:4]).pow(2).sum()
loss.backward()
print(f"{loss.item():.4f}", model.module.fc.weight.grad.shape)
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

print(DDP.__name__, torch.distributed.is_available() in (True, False))
