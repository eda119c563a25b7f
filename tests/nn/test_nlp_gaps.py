"""Gaps found by the classic-NLP programs (tests/programs/nlp_*), each compared with PyTorch:
EmbeddingBag's max mode with tied values, its refusal of scale_grad_by_freq,
PackedSequence.to returning itself when nothing changes, pack_padded_sequence's checks of
its lengths (shape, count, order; a count that did not match the batch used to pack
garbage), the hidden-state and input-size checks of RNNs run on a PackedSequence, and
cross_entropy's refusal of a class ignore_index with probability targets."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

# rows 1 and 2 tie in both columns, and every row ties in column 0
TABLE = np.array([[1., 2.], [1., 5.], [1., 5.], [0., 0.], [3., 1.]], np.float32)


def _max_bag_grad(lib, inp, offsets):
    w = lib.tensor(TABLE, requires_grad=True)
    out = lib.nn.functional.embedding_bag(
        lib.tensor(inp), w, None if offsets is None else lib.tensor(offsets), mode="max")
    (out * lib.arange(1, out.numel() + 1).reshape(out.shape).float()).sum().backward()
    return out.detach().numpy(), w.grad.numpy()


@pytest.mark.parametrize("inp,offsets", [
    ([1, 2, 0, 3, 4, 4], [0, 3]),   # ties between different rows inside a bag
    ([2, 1, 0, 4, 3], [0, 3]),      # the first tied entry in bag order wins, not the lowest id
    ([[2, 1, 0], [4, 3, 4]], None),  # 2-D input: fixed-length bags
])
def test_embedding_bag_max_sends_a_tied_gradient_to_one_entry_as_torch(inp, offsets):
    out_e, grad_e = _max_bag_grad(ember, inp, offsets)
    out_t, grad_t = _max_bag_grad(torch, inp, offsets)
    np.testing.assert_array_equal(out_e, out_t)
    np.testing.assert_array_equal(grad_e, grad_t)


@pytest.mark.parametrize("extra", [{}, {"sparse": True}, {"per_sample_weights": [1.0]}])
def test_embedding_bag_max_refuses_scale_grad_by_freq_as_torch(extra):
    def call(lib):
        kw = dict(extra)
        if "per_sample_weights" in kw:
            kw["per_sample_weights"] = lib.tensor(kw["per_sample_weights"])
        return lib.nn.functional.embedding_bag(lib.tensor([1]), lib.tensor(TABLE),
                                               lib.tensor([0]), mode="max",
                                               scale_grad_by_freq=True, **kw)

    with pytest.raises(ValueError) as t_err:
        call(torch)
    with pytest.raises(ValueError) as e_err:
        call(ember)
    assert str(e_err.value) == str(t_err.value)
    bag = ember.nn.EmbeddingBag(5, 2, mode="max", scale_grad_by_freq=True)  # refused in forward
    with pytest.raises(ValueError, match="scaling the gradient by the frequency"):
        bag(ember.tensor([1]), ember.tensor([0]))


def test_packed_sequence_to_returns_itself_when_nothing_changes_as_torch():
    for lib in (torch, ember):
        rnn = lib.nn.utils.rnn
        p = rnn.pack_sequence([lib.ones(3, 2), lib.ones(1, 2), lib.ones(2, 2)],
                              enforce_sorted=False)
        assert p.to("cpu") is p and p.to(lib.float32) is p and p.cpu() is p and p.float() is p
        q = p.to(lib.float64)
        assert q is not p and q.data.dtype == lib.float64 and p.data.dtype == lib.float32
        assert q.batch_sizes is p.batch_sizes and q.unsorted_indices is p.unsorted_indices


def _packed(lib):
    return lib.nn.utils.rnn.pack_sequence([lib.ones(3, 2), lib.ones(2, 2)])


@pytest.mark.parametrize("mode,kw,h0_shape", [
    ("GRU", {}, (1, 3, 3)),                 # wrong batch: used to run without an error
    ("GRU", {"num_layers": 2}, (1, 2, 3)),  # too few layers: used to fail with an IndexError
    ("GRU", {}, (1, 2, 4)),                 # wrong hidden size
    ("RNN", {}, (2, 2, 3)),
])
def test_packed_rnn_checks_its_hidden_state_as_torch(mode, kw, h0_shape):
    def call(lib):
        net = getattr(lib.nn, mode)(2, 3, **kw)
        return net(_packed(lib), lib.zeros(*h0_shape))

    with pytest.raises(RuntimeError) as t_err:
        call(torch)
    with pytest.raises(RuntimeError) as e_err:
        call(ember)
    assert str(e_err.value) == str(t_err.value)


def test_packed_lstm_checks_its_states_and_packed_gru_its_input_size():
    lstm = ember.nn.LSTM(2, 3)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 2, 3\), got"):
        lstm(_packed(ember), (ember.zeros(1, 3, 3), ember.zeros(1, 2, 3)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 2, 3\), got"):
        lstm(_packed(ember), (ember.zeros(1, 2, 3), ember.zeros(1, 2, 4)))
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to "
                                               "input_size. Expected 5, got 2"):
            lib.nn.GRU(5, 3)(_packed(lib))
    # a correct state in the caller's order still goes through the sorting permutation
    rnn = ember.nn.utils.rnn
    packed = rnn.pack_sequence([ember.ones(2, 2), ember.ones(3, 2)], enforce_sorted=False)
    out, h = ember.nn.GRU(2, 3)(packed, ember.zeros(1, 2, 3))
    assert tuple(h.shape) == (1, 2, 3)


@pytest.mark.parametrize("ignore_index", [-100, -5, 0, 3, 10])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_probability_target_refuses_a_class_ignore_index_as_torch(
        ignore_index, smoothing):
    logits = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    probs = np.full((3, 4), 0.25, np.float32)

    def call(lib):
        return lib.nn.CrossEntropyLoss(ignore_index=ignore_index, label_smoothing=smoothing)(
            lib.tensor(logits), lib.tensor(probs))

    if ignore_index >= 0:
        for lib in (torch, ember):
            with pytest.raises(RuntimeError,
                               match="ignore_index is not supported for floating point target"):
                call(lib)
    else:
        np.testing.assert_allclose(call(ember).item(), call(torch).item(), rtol=1e-6)


@pytest.mark.parametrize("lengths,kw", [
    ([[3, 2]], {}), ([[3.0, 2.0]], {}), (3, {}), (3, {"enforce_sorted": False}),
    ([[2, 3]], {"enforce_sorted": False}),
    ([3, 2, 1], {}), ([1, 2, 3], {}), ([3, 2, 0], {}), ([4, 2, 1], {}),  # count checked first
    ([1, 2, 3], {"enforce_sorted": False}),  # the unsorted gather fails before the count
    ([3], {"batch_first": True}),
    ([0, 2], {}), ([2, 4], {}), ([3, 0], {}),  # (torch packs [4, 2] past the end unchecked)
])
def test_pack_padded_sequence_checks_lengths_as_torch(lengths, kw):
    def call(lib):
        arg = lib.tensor(lengths) if isinstance(lengths, list) and isinstance(lengths[0], list) \
            else lengths
        return lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(3, 2), arg, **kw)

    with pytest.raises(Exception) as t_err:
        call(torch)
    with pytest.raises(Exception) as e_err:
        call(ember)
    assert type(e_err.value) is type(t_err.value)
    assert str(e_err.value) == str(t_err.value)


def test_pack_padded_sequence_fewer_unsorted_lengths_packs_those_sequences_as_torch():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    got = ember.nn.utils.rnn.pack_padded_sequence(ember.tensor(x), [2], enforce_sorted=False)
    want = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), [2], enforce_sorted=False)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(RuntimeError, match="Cannot pack empty tensors."):
        ember.nn.utils.rnn.pack_padded_sequence(ember.zeros(3, 0), [])
