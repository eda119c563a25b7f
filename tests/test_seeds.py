"""The code in the seed notes (/work/shared/seeds/*.md) run with ``import ember as torch``.

Each snippet is copied from a note (comments translated) and run under ember and under torch;
the printed output must be the same, random draws included (ember draws PyTorch's random
stream). Snippets that need ``nn``, ``DataLoader``, ``optim``
or ``save``/``load`` skip until those modules exist.
"""

import contextlib
import importlib
import io

import numpy as np
import pytest

import ember


def _run(lib, code, **extra):
    out = io.StringIO()
    env = {"torch": lib, "np": np, **extra}
    with contextlib.redirect_stdout(out):
        exec(code, env)
    return out.getvalue(), env


def _need(*modules):
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            pytest.skip(f"{name} not built yet")


def _same_output(torch, code):
    got, _ = _run(ember, code)
    want, _ = _run(torch, code)
    assert got == want
    return got


# -- 001: broadcasting with the legacy FloatTensor constructor --------------------------------

def test_note001_tensor_plus_vector(torch):
    out = _same_output(torch, """
x = torch.FloatTensor([[1, 2]])
y = torch.FloatTensor([[3],
                       [5]])
print(x.size())
print(y.size())
z = x + y
print(z)
print(z.size())
""")
    assert "tensor([[4., 5.],\n        [6., 7.]])" in out  # (the note's own comment is off)


def test_note001_three_d_broadcast(torch):
    out = _same_output(torch, """
x = torch.FloatTensor([[[1, 2]]])
y = torch.FloatTensor([3,
                       5])
print(x.size())
print(y.size())
z = x + y
print(z)
print(z.size())
""")
    assert "tensor([[[4., 7.]]])\ntorch.Size([1, 1, 2])" in out


# -- 002: tensors, operations, devices -------------------------------------------------------

def test_note002_creation(torch):
    code = """
a = torch.tensor([1.0, 2.0, 3.0])
print(f"1D tensor: {a}, shape: {a.shape}")
zeros = torch.zeros(3, 4)
print(f"zeros: shape = {zeros.shape}")
ones = torch.ones(2, 3)
rand = torch.randn(2, 3)
np_array = np.array([1, 2, 3])
tensor_from_np = torch.from_numpy(np_array)
print(ones, rand.shape, rand.dtype, tensor_from_np, tensor_from_np.dtype)
"""
    _same_output(torch, code)


def test_note002_operations(torch):
    code = """
x = torch.tensor([1.0, 2.0, 3.0])
y = torch.tensor([4.0, 5.0, 6.0])
print(f"add: {x + y}")
print(f"mul: {x * y}")
print(f"matmul: {x @ y}")
a = torch.randn(2, 3, 4)
b = a.view(2, 12)
c = a.reshape(6, 4)
print(f"original: {a.shape} -> view: {b.shape}, reshape: {c.shape}")
x = torch.randn(3, 4)
x_unsqueeze = x.unsqueeze(0)
x_squeeze = x_unsqueeze.squeeze(0)
print(x_unsqueeze.shape, x_squeeze.shape)
"""
    out = _same_output(torch, code)
    assert "matmul: 32.0" in out


def test_note002_device(torch):
    code = """
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"device: {device}")
x = torch.randn(3, 3).to(device)
print(f"tensor device: {x.device}")
"""
    if torch.cuda.is_available() != ember.cuda.is_available():
        pytest.skip("GPU availability differs between the libraries here")
    _same_output(torch, code)


DATASET = """
class SimpleDataset(Dataset):
    def __init__(self, num_samples=1000):
        self.x = torch.randn(num_samples, 1)
        self.y = 2 * self.x + 1 + torch.randn(num_samples, 1) * 0.1

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]
"""

MODEL = """
class MyModel(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(input_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, output_dim),
        )

    def forward(self, x):
        return self.net(x)
"""


def _with_data(lib):
    return {"Dataset": lib.utils.data.Dataset, "DataLoader": lib.utils.data.DataLoader}


def test_note002_dataset_and_loader(torch):
    _need("ember.utils.data")
    code = DATASET + """
dataset = SimpleDataset(1000)
print(f"size: {len(dataset)}")
print(type(dataset[0][0].item()).__name__, dataset[0][0].shape)
dataloader = DataLoader(dataset, batch_size=32, shuffle=True)
batch_x, batch_y = next(iter(dataloader))
print(f"batch shape: x={batch_x.shape}, y={batch_y.shape}")
print(len(dataloader))
"""
    got, _ = _run(ember, code, **_with_data(ember))
    want, _ = _run(torch, code, **_with_data(torch))
    assert got == want


def test_note002_model(torch):
    _need("ember.nn")
    code = MODEL + """
model = MyModel(input_dim=1, hidden_dim=32, output_dim=1)
print(model)
total = sum(p.numel() for p in model.parameters())
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(f"params: {total:,}, trainable: {trainable:,}")
"""
    got, _ = _run(ember, code, nn=ember.nn)
    want, _ = _run(torch, code, nn=torch.nn)
    assert got == want
    assert "params: 1,153, trainable: 1,153" in got


TRAIN = DATASET + MODEL + """
torch.manual_seed(0)
device = torch.device("cpu")
train_dataset = SimpleDataset(256)
train_loader = DataLoader(train_dataset, batch_size=32, shuffle=True)
model = MyModel(input_dim=1, hidden_dim=32, output_dim=1).to(device)
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
losses = []
for epoch in range(num_epochs):
    model.train()
    total_loss = 0
    for batch_x, batch_y in train_loader:
        batch_x = batch_x.to(device)
        batch_y = batch_y.to(device)
        prediction = model(batch_x)
        loss = criterion(prediction, batch_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    avg_loss = total_loss / len(train_loader)
    losses.append(avg_loss)
    print(f"Epoch [{epoch+1}/{num_epochs}] loss: {avg_loss:.4f}")
model.eval()
with torch.no_grad():
    test_x = torch.tensor([[1.0], [2.0], [3.0]]).to(device)
    test_pred = model(test_x)
    for x, pred in zip(test_x, test_pred):
        print(f"  x={x.item():.1f} -> pred={pred.item():.3f} (target {2*x.item()+1:.1f})")
"""


def test_note002_training_loop(torch):
    _need("ember.nn", "ember.optim", "ember.utils.data")
    outs = {}
    for lib in (ember, torch):
        out, env = _run(lib, TRAIN, nn=lib.nn, num_epochs=15, **_with_data(lib))
        outs[lib.__name__] = (out, env["losses"])
    (got, eloss), (want, _) = outs["ember"], outs["torch"]
    # the same seed: the same initial weights, shuffling and losses, printed digit for digit
    assert got == want
    assert eloss[-1] < 0.25 * eloss[0] and eloss[-1] < 0.1


def test_note002_save_and_load(torch, tmp_path):
    _need("ember.nn", "ember.optim", "ember.serialization")
    code = MODEL + """
model = MyModel(input_dim=1, hidden_dim=32, output_dim=1)
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
torch.save(model.state_dict(), path / "model_weights.pth")
model2 = MyModel(input_dim=1, hidden_dim=32, output_dim=1)
print(model2.load_state_dict(torch.load(path / "model_weights.pth")))
model2.eval()
torch.save({"epoch": 3, "model_state": model2.state_dict(),
            "optimizer_state": optimizer.state_dict(), "loss": 0.5}, path / "checkpoint.pth")
ckpt = torch.load(path / "checkpoint.pth")
print(sorted(ckpt), ckpt["epoch"], ckpt["loss"])
x = torch.ones(4, 1)
print(model(x).tolist() == model2(x).tolist())
"""
    (tmp_path / "e").mkdir()
    (tmp_path / "t").mkdir()
    got, _ = _run(ember, code, nn=ember.nn, path=tmp_path / "e")
    want, _ = _run(torch, code, nn=torch.nn, path=tmp_path / "t")
    assert got == want


# -- 003: attributes, memory sharing with NumPy, autograd notes ------------------------------

def test_note003_attributes_like_sum_item_numpy(torch):
    code = """
t = torch.tensor([[1., 2.], [3., 4.]])
print(t.shape, t.dtype, t.device)
print(torch.cuda.is_available() in (True, False))
z = torch.zeros_like(t); o = torch.ones_like(torch.tensor([1, 2]))
print(z, o, o.dtype)
s = t.sum()
print(s, type(s).__name__, s.item(), type(s.item()).__name__)
n = np.ones(3)
tn = torch.from_numpy(n)
np.add(n, 1, out=n)
print(tn)
back = tn.numpy()
tn.add_(1)
print(back)
"""
    _same_output(torch, code)


def test_note003_to_cuda_without_gpu(torch):
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="is_available"):
        ember.ones(2).to("cuda")


def test_note003_autograd(torch):
    code = """
w = torch.tensor([1.0, 2.0], requires_grad=True)
x = torch.tensor([3.0, 4.0])
loss = ((w * x).sum() - 1) * ((w * x).sum() - 1)
loss.backward(retain_graph=True)
print(w.grad)
loss.backward()
print(w.grad)
try:
    loss.backward()
except RuntimeError as err:
    print(str(err)[:60])
print(w.requires_grad, (w * 2).requires_grad)
with torch.no_grad():
    y = w * 2
print(y.requires_grad, y.grad_fn)
frozen = torch.ones(2).requires_grad_(False)
print(frozen.requires_grad)
"""
    _same_output(torch, code)


# -- 004: view/reshape, squeeze, dot/mm/matmul, autograd ----------------------------------

def test_note004_shapes(torch):
    code = """
t = torch.arange(12.)
v = t.view(3, 4)
r = t.reshape(4, 3)
v[0, 0] = 100.
print(t[0], r[0, 0])
print(torch.ones(2, 1, 3, 1).squeeze().shape, torch.ones(2, 3).unsqueeze(1).shape)
print(t.ndim, v.ndim, v.shape)
nc = v.t()
print(nc.is_contiguous(), nc.reshape(12).shape)
"""
    _same_output(torch, code)


def test_note004_products(torch):
    if not hasattr(ember.Tensor, "dot") or not hasattr(ember.Tensor, "mm"):
        pytest.skip("dot/mm not built yet")
    code = """
a = torch.tensor([1., 2., 3.])
b = torch.tensor([4., 5., 6.])
print(a.dot(b), torch.dot(a, b))
m = torch.arange(6.).view(2, 3)
n = torch.arange(6.).view(3, 2)
print(m.mm(n))
print(torch.matmul(m, n))
batch = torch.ones(5, 2, 3)
print(torch.matmul(batch, n).shape)
print(m.matmul(a))
for bad in ["m.dot(n)", "batch.mm(n)"]:
    try:
        eval(bad)
    except RuntimeError:
        print(bad, "raises")
"""
    _same_output(torch, code)


def test_note004_requires_grad(torch):
    code = """
w = torch.tensor(2.0, requires_grad=True)
y = w * w * 5
y.backward()
print(w.grad, y)
"""
    _same_output(torch, code)


# -- 000: torch.gather ---------------------------------------------------------------------

def test_note000_gather(torch):
    if not hasattr(ember, "gather"):
        pytest.skip("gather not built yet")
    code = """
input = torch.arange(9.).reshape(3, 3)
print(torch.gather(input, dim=0, index=torch.tensor([[0, 1, 2], [2, 1, 0]])))
print(torch.gather(input, dim=1, index=torch.tensor([[0, 0], [1, 0], [2, 2]])))
"""
    _same_output(torch, code)
