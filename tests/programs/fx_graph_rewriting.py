"""torch.fx in the style of its tutorials: symbolically trace a module, read its graph and
generated code, rewrite the graph (swap add for mul, insert a relu after each Linear, delete a
node), recompile, propagate shapes with an Interpreter, swap ops with a Transformer, decompose
a function through Proxies, keep a submodule opaque with a custom Tracer, and see why control
flow on a traced value cannot be traced."""
import operator

import numpy as np
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(3)


def init_(module):
    # weights from NumPy, so both libraries start from the same numbers
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.normal(scale=0.5, size=tuple(p.shape)).astype(np.float32)))
    return module


class MyModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.param = nn.Parameter(torch.ones(3, 4))
        self.linear = nn.Linear(4, 5)

    def forward(self, x):
        return self.linear(x + self.param).clamp(min=0.0, max=1.0)


def show(values):
    return np.round(values.detach().numpy(), 4).tolist()


# --- 1. tracing: graph, code, table ----------------------------------------------------------
module = init_(MyModule())
traced = fx.symbolic_trace(module)
print(traced.graph)
print(traced.code)
traced.graph.print_tabular()
x = torch.from_numpy(rng.normal(size=(3, 4)).astype(np.float32))
print("traced == eager:", torch.allclose(traced(x), module(x)))
print("state_dict keys:", list(traced.state_dict()))


# --- 2. rewriting: add -> mul, relu after each Linear, delete the negation -------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 6)
        self.fc2 = nn.Linear(6, 2)

    def forward(self, x, y):
        h = torch.add(self.fc1(x), y)
        h = -h
        return self.fc2(h) * 2


net = init_(Net())
gm = fx.symbolic_trace(net)
for node in gm.graph.nodes:
    if node.op == "call_function" and node.target == torch.add:
        node.target = torch.mul
for node in gm.graph.nodes:
    if node.op == "call_module" and isinstance(gm.get_submodule(node.target), nn.Linear):
        with gm.graph.inserting_after(node):
            relu = gm.graph.call_function(torch.relu, args=(node,))
        node.replace_all_uses_with(relu, delete_user_cb=lambda user, r=relu: user is not r)
for node in list(gm.graph.nodes):
    if node.op == "call_function" and node.target is operator.neg:
        node.replace_all_uses_with(node.args[0])
        gm.graph.erase_node(node)
gm.graph.lint()
gm.recompile()
print(gm.code)
a = torch.from_numpy(rng.normal(size=(2, 4)).astype(np.float32))
b = torch.from_numpy(rng.normal(size=(2, 6)).astype(np.float32))
with torch.no_grad():
    by_hand = torch.relu(net.fc2(torch.relu(net.fc1(a)) * b)) * 2
print("rewritten:", show(gm(a, b)))
print("by hand  :", show(by_hand))

# dead code: an unused value disappears
dead = fx.symbolic_trace(lambda x: (x.sum(), x * 3)[1])
print("before DCE:", [n.name for n in dead.graph.nodes])
print("changed:", dead.graph.eliminate_dead_code())
dead.recompile()
print("after DCE :", [n.name for n in dead.graph.nodes])


# --- 3. an Interpreter that records shapes --------------------------------------------------
class ShapeProp(fx.Interpreter):
    def run_node(self, n):
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            n.meta["shape"] = tuple(result.shape)
            n.meta["dtype"] = result.dtype
        return result


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(12, 4)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x)))
        x = torch.flatten(x, 1)
        return self.fc(x)


conv_net = init_(ConvNet())
conv_gm = fx.symbolic_trace(conv_net)
img = torch.from_numpy(rng.normal(size=(2, 1, 6, 6)).astype(np.float32))
ShapeProp(conv_gm).run(img)
for node in conv_gm.graph.nodes:
    print(f"{node.op:14} {node.name:8} {node.meta.get('shape')} {node.meta.get('dtype')}")


# --- 4. a Transformer that swaps relu for sigmoid -------------------------------------------
class ReluToSigmoid(fx.Transformer):
    def call_function(self, target, args, kwargs):
        if target == F.relu:
            return super().call_function(torch.sigmoid, args[:1], {})
        return super().call_function(target, args, kwargs)


swapped = ReluToSigmoid(conv_gm).transform()
print(swapped.code)
with torch.no_grad():
    expected = conv_net.fc(torch.flatten(conv_net.pool(torch.sigmoid(conv_net.conv(img))), 1))
print("transformer output matches:", torch.allclose(swapped(img), expected, atol=1e-6))


# --- 5. decomposing through Proxies ----------------------------------------------------------
def relu_decomposition(x):
    return (x > 0) * x


rules = {F.relu: relu_decomposition}
graph = fx.Tracer().trace(conv_net)
new_graph = fx.Graph()
env = {}
tracer = fx.proxy.GraphAppendingTracer(new_graph)
for node in graph.nodes:
    if node.op == "call_function" and node.target in rules:
        proxy_args = [fx.Proxy(env[arg.name], tracer) if isinstance(arg, fx.Node) else arg
                      for arg in node.args]
        env[node.name] = rules[node.target](*proxy_args).node
    else:
        env[node.name] = new_graph.node_copy(node, lambda n: env[n.name])
decomposed = fx.GraphModule(conv_net, new_graph)
print(decomposed.code)
print("decomposed output matches:", torch.allclose(decomposed(img), conv_net(img), atol=1e-6))


# --- 6. a custom Tracer keeps a user block opaque --------------------------------------------
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return torch.relu(self.lin(x)) + x


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block())

    def forward(self, x):
        return self.blocks(x).mean(dim=-1)


class BlockTracer(fx.Tracer):
    def is_leaf_module(self, m, module_qualified_name):
        return isinstance(m, Block) or super().is_leaf_module(m, module_qualified_name)


stack = init_(Stack())
print(fx.symbolic_trace(stack).graph)
leafy = fx.GraphModule(stack, BlockTracer().trace(stack), "Stack")
leafy.print_readable()
print("leaf-traced output:", show(leafy(x[:, :4])))


# --- 7. what cannot be traced -----------------------------------------------------------------
def branchy(x):
    if x.sum() > 0:
        return x
    return -x


try:
    fx.symbolic_trace(branchy)
except fx.proxy.TraceError as err:
    print("TraceError:", err)


class Scaled(nn.Module):
    def forward(self, x, scale=None):
        if scale is None:
            return x * 2
        return x * scale


# concrete_args fixes the argument (and the graph checks it at run time)
specialised = fx.symbolic_trace(Scaled(), concrete_args={"scale": None})
print(specialised.graph)
print("specialised:", show(specialised(x)[0]))
