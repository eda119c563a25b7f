"""pytorch/examples time_sequence_prediction in miniature: sine waves as float64 data, a stack of
two nn.LSTMCell run step by step (chunk over time, torch.stack/torch.cat of the outputs),
.double() on the model, optim.LBFGS with a closure and strong-Wolfe line search, and
predicting future steps from the model's own outputs."""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

# generate_sine_wave.py: a fixed, shifted set of sine waves
T, L, N = 20, 40, 12
x = np.empty((N, L), "int64")
x[:] = np.array(range(L)) + np.random.default_rng(2).integers(-4 * T, 4 * T, N).reshape(N, 1)
data = np.sin(x / 1.0 / T).astype("float64")


class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, 16)
        self.lstm2 = nn.LSTMCell(16, 16)
        self.linear = nn.Linear(16, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), 16, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 16, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 16, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 16, dtype=torch.double)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):  # if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


np.random.seed(0)
torch.manual_seed(0)
input = torch.from_numpy(data[3:, :-1])
target = torch.from_numpy(data[3:, 1:])
test_input = torch.from_numpy(data[:3, :-1])
test_target = torch.from_numpy(data[:3, 1:])
print(input.dtype, input.shape, test_target.shape)

seq = Sequence()
seq.double()
rng = np.random.default_rng(1)
with torch.no_grad():
    for name, p in seq.named_parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.25, 0.25, tuple(p.shape))))
print(seq.lstm1.weight_ih.dtype, seq.lstm1.weight_hh.shape, seq.lstm1)
criterion = nn.MSELoss()
optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=8, history_size=10,
                        line_search_fn="strong_wolfe")
calls = []
for i in range(4):
    def closure():
        optimizer.zero_grad()
        out = seq(input)
        loss = criterion(out, target)
        calls.append(loss.item())
        loss.backward()
        return loss
    loss = optimizer.step(closure)
    print("STEP: ", i, "loss: %.6f" % loss.item(), "closure calls:", len(calls))
    with torch.no_grad():
        future = 10
        pred = seq(test_input, future=future)
        loss = criterion(pred[:, :-future], test_target)
        print("test loss: %.6f" % loss.item())
        y = pred.detach().numpy()
    print(np.round(y[0, -future::3], 4))

state = optimizer.state_dict()
print(sorted(state["state"][0].keys()), state["param_groups"][0]["line_search_fn"],
      state["state"][0]["n_iter"], len(state["state"][0]["old_dirs"]))

# the same cell stack driven by chunk over time and torch.stack of the hidden states
steps = test_input.unsqueeze(-1).chunk(test_input.size(1), dim=1)
h = (torch.zeros(3, 16, dtype=torch.float64), torch.zeros(3, 16, dtype=torch.float64))
hs = []
with torch.no_grad():
    for s in steps:
        h = seq.lstm1(s.squeeze(1), h)
        hs.append(h[0])
stacked = torch.stack(hs, dim=1)
print(len(steps), stacked.shape, stacked.dtype, f"{stacked.abs().mean().item():.6f}")

# plain LBFGS (no line search) on the Rosenbrock function, float64
xy = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
opt = optim.LBFGS([xy], lr=1, max_iter=50, tolerance_grad=1e-9, tolerance_change=1e-12)


def rosen():
    opt.zero_grad()
    f = (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2
    f.backward()
    return f


for _ in range(3):
    f = opt.step(rosen)
st = opt.state[xy]
print("rosenbrock", f"{f.item():.6f}", xy.detach().numpy().round(4), st["n_iter"], st["func_evals"])
