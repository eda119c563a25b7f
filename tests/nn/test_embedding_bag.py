"""EmbeddingBag / F.embedding_bag against PyTorch: every mode with offsets (empty bags,
include_last_offset), 2-D input, padding_idx, per_sample_weights; values, gradients to the
table and to the weights; errors; the text-classification tutorial's model."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

W = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
FLAT = [1, 2, 4, 5, 4, 3, 2, 9, 7]


def _run(lib, inp, offsets=None, psw=None, **kw):
    w = lib.tensor(W, requires_grad=True)
    p = lib.tensor(np.asarray(psw, np.float32), requires_grad=True) if psw is not None else None
    out = lib.nn.functional.embedding_bag(
        lib.tensor(inp), w, None if offsets is None else lib.tensor(offsets),
        per_sample_weights=p, **kw)
    (out * lib.arange(out.numel()).reshape(out.shape).float()).sum().backward()
    return out.detach().numpy(), w.grad.numpy(), None if p is None else p.grad.numpy()


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("offsets,last", [([0, 4], False), ([0, 4, 4, 9], False),
                                          ([0, 3, 3, 9], True), ([0], False)])
@pytest.mark.parametrize("padding_idx", [None, 4, -1])
def test_offsets_modes_and_padding_as_torch(mode, offsets, last, padding_idx):
    got = _run(ember, FLAT, offsets, mode=mode, include_last_offset=last,
               padding_idx=padding_idx)
    want = _run(torch, FLAT, offsets, mode=mode, include_last_offset=last,
                padding_idx=padding_idx)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_two_dimensional_input_as_torch(mode):
    inp = [[1, 2, 3], [4, 4, 0]]
    for a, b in zip(_run(ember, inp, mode=mode), _run(torch, inp, mode=mode)):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("inp,offsets", [(FLAT, [0, 2, 2, 5]), ([[1, 2], [3, 1]], None)])
def test_per_sample_weights_and_their_gradient_as_torch(inp, offsets):
    psw = np.linspace(0.5, 2.0, np.asarray(inp).size).reshape(np.asarray(inp).shape)
    got = _run(ember, inp, offsets, psw=psw, mode="sum")
    want = _run(torch, inp, offsets, psw=psw, mode="sum")
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda L, w: L.nn.functional.embedding_bag(L.tensor([1, 2]), w),
    lambda L, w: L.nn.functional.embedding_bag(L.tensor([[1, 2]]), w, L.tensor([0])),
    lambda L, w: L.nn.functional.embedding_bag(L.tensor([1, 2]), w, L.tensor([1])),
    lambda L, w: L.nn.functional.embedding_bag(L.tensor([1, 2]), w, L.tensor([0]),
                                               mode="max", per_sample_weights=L.ones(2)),
    lambda L, w: L.nn.functional.embedding_bag(L.tensor([1, 20]), w, L.tensor([0])),
    lambda L, w: L.nn.functional.embedding_bag(L.tensor([1, -1]), w, L.tensor([0])),
    lambda L, w: L.nn.functional.embedding_bag(L.tensor([1.0, 2.0]), w, L.tensor([0])),
    lambda L, w: L.nn.functional.embedding_bag(L.tensor([1, 2]), w, L.tensor([0]), mode="x"),
])
def test_errors_as_torch(call):
    types = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as info:
            call(lib, lib.tensor(W))
        types.append(type(info.value))
    assert types[0].__name__ == types[1].__name__


def test_module_repr_state_dict_and_from_pretrained_as_torch():
    for kw in ({}, {"mode": "sum"}, {"max_norm": 1.0, "norm_type": 1, "padding_idx": -1}):
        assert repr(ember.nn.EmbeddingBag(10, 3, **kw)) == repr(torch.nn.EmbeddingBag(10, 3, **kw))
    bag = ember.nn.EmbeddingBag(10, 3)
    assert list(bag.state_dict()) == ["weight"] and bag.weight.shape == (10, 3)
    frozen = ember.nn.EmbeddingBag.from_pretrained(ember.tensor(W), mode="max")
    assert not frozen.weight.requires_grad and frozen.mode == "max"
    assert ember.nn.modules.sparse.EmbeddingBag is ember.nn.EmbeddingBag


def test_text_classification_tutorial_model_trains_as_torch():
    # torchtext tutorial's TextClassificationModel: EmbeddingBag(mean) -> Linear, SGD.
    tokens = np.random.default_rng(1).integers(0, 50, 40)
    offsets, labels = [0, 7, 15, 22, 30], [0, 3, 1, 2, 3]
    losses = {}
    for lib in (torch, ember):
        emb = lib.nn.EmbeddingBag(50, 8)
        fc = lib.nn.Linear(8, 4)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(np.random.default_rng(2).uniform(-0.5, 0.5, (50, 8))))
            fc.weight.copy_(lib.tensor(np.random.default_rng(3).uniform(-0.5, 0.5, (4, 8))))
            fc.bias.zero_()
        opt = lib.optim.SGD(list(emb.parameters()) + list(fc.parameters()), lr=5.0)
        out = []
        for _ in range(5):
            opt.zero_grad()
            logits = fc(emb(lib.tensor(tokens), lib.tensor(offsets)))
            loss = lib.nn.functional.cross_entropy(logits, lib.tensor(labels))
            loss.backward()
            lib.nn.utils.clip_grad_norm_(list(emb.parameters()) + list(fc.parameters()), 0.1)
            opt.step()
            out.append(loss.item())
        losses[lib.__name__] = out
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=1e-5)
    assert losses["ember"][-1] < losses["ember"][0]
