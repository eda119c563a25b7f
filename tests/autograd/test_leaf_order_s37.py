"""The order leaves accumulate in, and a linear node's next_functions, as PyTorch's.

PyTorch accumulates the leaves that one node completes in that node's next_functions order
(a convolution's weight before its bias), and its addmm lists the bias first, so a linear
layer's bias comes before its weight; a tutorial's ``loss.grad_fn.next_functions[0][0]
.next_functions[0][0]`` is the bias's AccumulateGrad. ember accumulated newest first."""

import pytest

import ember

torch = pytest.importorskip("torch")


def _modules(lib):
    nn = lib.nn
    return {
        "conv": (nn.Conv2d(2, 3, 3), lib.ones(1, 2, 5, 5)),
        "batch_norm": (nn.BatchNorm1d(3), lib.arange(12.0).reshape(4, 3)),
        "layer_norm": (nn.LayerNorm(3), lib.arange(12.0).reshape(4, 3)),
        "linear": (nn.Linear(3, 2), lib.ones(4, 3)),
        "linear_3d": (nn.Linear(3, 2), lib.ones(2, 4, 3)),
        "mlp": (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), lib.ones(4, 3)),
        "cnn": (nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                              nn.Linear(18, 2)), lib.arange(50.0).reshape(2, 1, 5, 5)),
    }


def _order(lib, name):
    lib.manual_seed(0)
    module, x = _modules(lib)[name]
    seen = []
    for n, p in module.named_parameters():
        p.register_post_accumulate_grad_hook(lambda p, n=n: seen.append(n))
    module(x).sum().backward()
    return seen


@pytest.mark.parametrize("name", list(_modules(ember)))
def test_leaves_accumulate_in_torchs_order(name):
    assert _order(ember, name) == _order(torch, name)


def _kinds(lib):
    lib.manual_seed(0)
    net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
    loss = lib.nn.functional.mse_loss(net(lib.ones(2, 3)), lib.zeros(2, 2))
    addmm = loss.grad_fn.next_functions[0][0]
    return (type(addmm).__name__,
            [None if f is None else type(f).__name__ for f, _ in addmm.next_functions][:2],
            type(addmm.next_functions[0][0].variable).__name__,
            tuple(addmm.next_functions[0][0].variable.shape))


def test_linear_lists_bias_then_input_as_addmm():
    # (torch's third edge is TBackward0 over the weight; ember's is the weight's own)
    assert _kinds(ember) == _kinds(torch)


def test_node_hooks_see_gradients_in_the_listed_order():
    def grads(lib):
        lib.manual_seed(0)
        lin = lib.nn.Linear(3, 2)
        x = lib.ones(4, 3, requires_grad=True)
        y = lin(x)
        shapes = []
        y.grad_fn.register_hook(lambda gi, go: shapes.extend(
            None if g is None else tuple(g.shape) for g in gi))
        y.sum().backward()
        return shapes[:2]  # bias, input (torch's third is the transposed weight's)

    assert grads(ember) == grads(torch)
