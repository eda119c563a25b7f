"""Issue 3's done criteria: the reference networks train in ember exactly as in PyTorch.

Each network is built in both libraries, ember gets torch's initial weights, and both take the
same SGD steps on the same data. The loss must fall, and ember's losses must follow torch's
step by step. The runs are in float64: sixty SGD steps amplify float32 rounding (which differs
between CPUs' kernels in PyTorch itself) past any fixed tolerance, while in float64 the two
libraries must agree to 1e-6 all the way.
"""

import numpy as np
import pytest

import ember


def _copy_weights(e_model, t_model):
    sd = {k: ember.tensor(v.detach().numpy()) for k, v in t_model.state_dict().items()}
    e_model.load_state_dict(sd)


def _mlp(nn):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def _cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 2 * 2, 10))


class _LSTMClassifier:
    @staticmethod
    def build(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(8, 16, batch_first=True)
                self.head = nn.Linear(16, 10)

            def forward(self, x):
                out, _ = self.lstm(x.reshape(x.shape[0], 8, 8))
                return self.head(out[:, -1])

        return Net()


class _TransformerClassifier:
    @staticmethod
    def build(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Linear(8, 16)
                layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0,
                                                   batch_first=True)
                self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
                self.head = nn.Linear(16, 10)

            def forward(self, x):
                h = self.encoder(self.embed(x.reshape(x.shape[0], 8, 8)))
                return self.head(h.mean(dim=1))

        return Net()


STEPS = {"mlp": 25, "cnn": 60, "lstm": 60, "transformer": 25}
LR = {"mlp": 0.1, "cnn": 0.1, "lstm": 0.5, "transformer": 0.1}
NETS = {"mlp": _mlp, "cnn": _cnn, "lstm": _LSTMClassifier.build,
        "transformer": _TransformerClassifier.build}


@pytest.mark.parametrize("name", list(NETS))
def test_network_trains_like_torch(torch, name):
    from ember._embedded import load_digits

    images, labels = load_digits()
    x = (images[:128].astype(np.float64) / 16.0)[:, None]
    y = labels[:128]
    torch.manual_seed(0)
    t_model = NETS[name](torch.nn).double()
    e_model = NETS[name](ember.nn).double()
    _copy_weights(e_model, t_model)
    losses = {}
    for lib, model in (("torch", t_model), ("ember", e_model)):
        L = torch if lib == "torch" else ember
        opt = L.optim.SGD(model.parameters(), lr=LR[name], momentum=0.9)
        xs, ys = L.from_numpy(x.copy()), L.from_numpy(y.copy())
        run = []
        for step in range(STEPS[name]):
            batch = slice((step % 4) * 32, (step % 4) * 32 + 32)
            loss = L.nn.functional.cross_entropy(model(xs[batch]), ys[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses[lib] = run
    first, last = np.mean(losses["ember"][:4]), np.mean(losses["ember"][-4:])
    assert last < 0.8 * first, losses["ember"]
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=1e-6, atol=1e-8)
