"""ember.vision.ops detection losses against torchvision 0.29's recorded answers."""

import pytest

import ember
from ember.vision import ops

from . import _cases
from ._oracle import check_call

CASES = {c[0]: c for c in _cases.loss_cases()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_case(name):
    _, fn_name, arrays, kw, grads = CASES[name]
    check_call(name, getattr(ops, fn_name), arrays, grads, **kw)


def test_focal_loss_matches_torch_formula(torch):
    x = ember.randn(4, 3)
    y = (ember.rand(4, 3) > 0.5).float()
    tx, ty = torch.from_numpy(x.numpy()), torch.from_numpy(y.numpy())
    p = tx.sigmoid()
    ce = torch.nn.functional.binary_cross_entropy_with_logits(tx, ty, reduction="none")
    p_t = p * ty + (1 - p) * (1 - ty)
    want = (0.25 * ty + 0.75 * (1 - ty)) * ce * (1 - p_t) ** 2
    got = ops.sigmoid_focal_loss(x, y)
    assert torch.allclose(torch.from_numpy(got.numpy()), want, atol=1e-6)
