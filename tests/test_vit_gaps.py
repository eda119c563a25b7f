"""Gaps found by the vision-transformer programs (tests/programs/vit_*), compared with PyTorch:
the size-taking tensor methods accept torch's keyword spelling of their varargs, as MAE's
``patchify`` writes ``imgs.reshape(shape=(n, 3, h, p, w, p))``: ``reshape(shape=)``,
``view(size=)``/``view(dtype=)``, ``expand(size=)``, ``repeat(repeats=)``, ``permute(dims=)``
``new_zeros``/``new_ones``/``new_empty(size=)`` and ``Tensor.split(split_size=)``; a wrong
keyword stays a TypeError.
torchvision's ``ops`` submodules (``misc``, ``focal_loss``, ``drop_block``, ...) are attributes of
the package, so ``torchvision.ops.misc.MLP`` (the ViT's MLP block) works without an import of
its own."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

KEYWORD_CALLS = {
    "Tensor.reshape(shape=)": lambda lib, x: x.reshape(shape=(2, 12)),
    "torch.reshape(shape=)": lambda lib, x: lib.reshape(x, shape=(4, -1)),
    "torch.reshape(input=, shape=)": lambda lib, x: lib.reshape(input=x, shape=[24]),
    "Tensor.view(size=)": lambda lib, x: x.view(size=(6, 4)),
    "Tensor.view(dtype=)": lambda lib, x: x.view(dtype=lib.int32),
    "Tensor.expand(size=)": lambda lib, x: x[:1].expand(size=(3, 3, 4)),
    "Tensor.repeat(repeats=)": lambda lib, x: x.repeat(repeats=(1, 2, 1)),
    "Tensor.permute(dims=)": lambda lib, x: x.permute(dims=(2, 0, 1)),
    "torch.permute(dims=)": lambda lib, x: lib.permute(x, dims=[1, 2, 0]),
    "Tensor.new_zeros(size=)": lambda lib, x: x.new_zeros(size=(2, 3)),
    "Tensor.new_ones(size=)": lambda lib, x: x.new_ones(size=[4]),
    "Tensor.new_empty(size=)": lambda lib, x: x.new_empty(size=(2, 5)).zero_(),
    "Tensor.split(split_size=)": lambda lib, x: lib.stack(x.split(split_size=1, dim=1)),
}


@pytest.mark.parametrize("call", sorted(KEYWORD_CALLS))
def test_size_keyword_as_torch(call):
    def run(lib):
        x = lib.arange(24.0).reshape(2, 3, 4)
        return KEYWORD_CALLS[call](lib, x)

    got, want = run(ember), run(torch)
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_size_keyword_keeps_grad():
    x = ember.arange(24.0, requires_grad=True)
    tx = torch.arange(24.0, requires_grad=True)
    (x.reshape(shape=(4, 6)).permute(dims=(1, 0)) * ember.arange(24.0).view(6, 4)).sum().backward()
    (tx.reshape(shape=(4, 6)).permute(dims=(1, 0)) * torch.arange(24.0).view(6, 4)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("call", [lambda x: x.reshape(sizes=(2, 12)),
                                  lambda x: x.permute(shape=(0, 1, 2)),
                                  lambda x: x.new_zeros(shape=(2,)),
                                  lambda x: x.split(split_size_or_sections=2)])
def test_wrong_keyword_is_a_type_error(call):
    with pytest.raises(TypeError):
        call(torch.arange(24.0).reshape(2, 3, 4))
    with pytest.raises(TypeError):
        call(ember.arange(24.0).reshape(2, 3, 4))


# torchvision/ops/__init__.py imports these submodules, so each is an attribute of the package
TORCHVISION_OPS_SUBMODULES = {"misc": "MLP", "focal_loss": "sigmoid_focal_loss",
                              "giou_loss": "generalized_box_iou_loss",
                              "diou_loss": "distance_box_iou_loss",
                              "ciou_loss": "complete_box_iou_loss", "drop_block": "DropBlock2d"}


@pytest.mark.parametrize("submodule", sorted(TORCHVISION_OPS_SUBMODULES))
def test_torchvision_ops_submodule_is_an_attribute(submodule):
    import ember.vision as torchvision

    module = getattr(torchvision.ops, submodule)
    assert getattr(module, TORCHVISION_OPS_SUBMODULES[submodule]) is getattr(
        torchvision.ops, TORCHVISION_OPS_SUBMODULES[submodule])


def test_torchvision_ops_misc_mlp_matches_torch_layers():
    import ember.vision as torchvision

    mlp = torchvision.ops.misc.MLP(4, [8, 2], activation_layer=ember.nn.GELU, dropout=0.0)
    want = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Dropout(0.0),
                               torch.nn.Linear(8, 2), torch.nn.Dropout(0.0))
    assert [type(m).__name__ for m in mlp] == [type(m).__name__ for m in want]
