"""The torch.export tutorial: capture a model with example inputs, read its graph signature,
run the exported module, mark a dynamic batch with Dim, and meet the errors export gives."""
import numpy as np
import torch
from torch import nn
from torch.export import Dim, export

rng = np.random.default_rng(0)


class MyModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.norm = nn.LayerNorm(3)
        self.register_buffer("scale", torch.full((3,), 0.5))

    def forward(self, x, y):
        return self.norm(torch.relu(self.lin(x)) * self.scale) + y


model = MyModule().eval()
with torch.no_grad():
    model.lin.weight.copy_(torch.from_numpy(rng.standard_normal((3, 4)).astype(np.float32)))
    model.lin.bias.copy_(torch.from_numpy(rng.standard_normal(3).astype(np.float32)))

x = torch.from_numpy(rng.standard_normal((2, 4)).astype(np.float32))
y = torch.from_numpy(rng.standard_normal((2, 3)).astype(np.float32))

exported = export(model, (x, y))
print(exported.graph_signature)
print("parameters:", exported.graph_signature.parameters)
print("buffers:", exported.graph_signature.buffers)
print("user inputs:", exported.graph_signature.user_inputs)
print("state_dict keys:", list(exported.state_dict))

out = exported.module()(x, y)
print("exported output:", out.detach().numpy().round(4).tolist())
print("same as eager:", torch.allclose(out, model(x, y)))

try:
    exported.module()(torch.ones(5, 4), torch.ones(5, 3))
except AssertionError as err:
    print("static shapes are guarded:", err)

try:
    exported(x, y)
except RuntimeError as err:
    print("calling the program:", err)

# a dynamic batch, shared by both inputs
batch = Dim("batch", min=1, max=32)
print(batch)
dynamic = export(model, (x, y), dynamic_shapes={"x": {0: batch}, "y": {0: batch}})
print("ranges:", [(r.lower, r.upper) for r in dynamic.range_constraints.values()])
x5 = torch.from_numpy(rng.standard_normal((5, 4)).astype(np.float32))
y5 = torch.from_numpy(rng.standard_normal((5, 3)).astype(np.float32))
print("batch of 5:", dynamic.module()(x5, y5).detach().numpy().round(4).tolist())
for bad in ((torch.ones(40, 4), torch.ones(40, 3)), (torch.ones(5, 4), torch.ones(6, 3))):
    try:
        dynamic.module()(*bad)
    except AssertionError as err:
        print("guard:", err)


class AddTable(nn.Module):
    """Adds a fixed (2, 6) table: the batch can only be 2."""

    def __init__(self):
        super().__init__()
        self.register_buffer("table", torch.arange(12.0).reshape(2, 6))

    def forward(self, x):
        return x + self.table


try:
    export(AddTable(), (torch.ones(2, 6),), dynamic_shapes={"x": {0: Dim("rows")}})
except Exception as err:
    print(str(err).split("!")[0] + "!")

auto = export(AddTable(), (torch.ones(2, 6),), dynamic_shapes={"x": {0: Dim.AUTO}})
print("Dim.AUTO fell back to static:", len(auto.range_constraints) == 0)
print(Dim.AUTO, Dim("d", max=9), torch.export.dims("a", "b"))
