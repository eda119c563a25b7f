"""autograd.grad with an empty ``inputs`` list raises like torch (it used to return ())."""

import pytest

import ember


@pytest.mark.parametrize("empty", [[], ()])
@pytest.mark.parametrize("batched", [False, True])
def test_grad_with_no_inputs_raises_like_torch(torch, empty, batched):
    for lib in (ember, torch):
        x = lib.tensor([0.5, 1.5], requires_grad=True)
        out = (x * x).sum()
        kwargs = {}
        if batched:
            kwargs = {"grad_outputs": lib.ones(3), "is_grads_batched": True}
        with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty"):
            lib.autograd.grad(out, empty, **kwargs)


def test_grad_with_one_unused_input_still_returns_none(torch):
    for lib in (ember, torch):
        got = lib.autograd.grad((lib.tensor([0.5, 1.5], requires_grad=True) ** 2).sum(),
                                [lib.tensor([1.0], requires_grad=True)], allow_unused=True)
        assert got == (None,)
