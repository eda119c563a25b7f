"""Gaps found while writing the mechanistic-interpretability programs
(tests/programs/interp_*.py), each checked against PyTorch."""

import warnings

import torch

import ember


def _encoder_warnings(lib, calls):
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = lib.nn.TransformerEncoder(layer, 2).eval()
    x = lib.randn(2, 5, 8)
    pad = lib.tensor([[False] * 5, [False] * 3 + [True] * 2])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with lib.no_grad():
            for _ in range(calls):
                out = enc(x, src_key_padding_mask=pad)
    # torch's C++ warnings end with "(Triggered internally at <file>:<line>.)"
    messages = [(r.category, str(r.message).split(" (Triggered internally")[0]) for r in rec]
    return messages, out[1, 3:].abs().sum().item()


def test_nested_fast_path_warns_once_like_torch():
    """The encoder's sparsity fast path (eval, no grad, a key padding mask) builds a nested
    tensor; torch warns once per process that nested tensors are a prototype, and pads the
    dropped positions with zeros."""
    import ember.nn.modules.transformer as tr

    tr._nested_warned = False
    mine = _encoder_warnings(ember, 2)
    assert len(mine[0]) == 1 and mine[0][0][0] is UserWarning
    assert mine[0][0][1].startswith("The PyTorch API of nested tensors is in prototype stage")
    assert mine[1] == 0.0
    assert _encoder_warnings(ember, 1)[0] == []  # once per process
    theirs = _encoder_warnings(torch, 2)
    if theirs[0]:  # torch's TORCH_WARN_ONCE may have been spent earlier in this process
        assert mine == theirs


def _sparse_init(lib, generator_seed):
    lib.manual_seed(1)
    g = None if generator_seed is None else lib.Generator().manual_seed(generator_seed)
    w = lib.empty(6, 5)
    lib.nn.init.sparse_(w, 0.34, std=1.0, generator=g)
    after = [lib.rand(2).tolist()]  # what the global stream draws next
    if g is not None:
        after.append(lib.rand(2, generator=g).tolist())
    return w.tolist(), after


def test_sparse_init_permutes_rows_from_the_global_generator():
    """``nn.init.sparse_`` fills its normals from ``generator`` but PyTorch's randperm there
    takes no generator: the zeroed rows come from the global stream."""
    for seed in (None, 3):
        assert _sparse_init(ember, seed) == _sparse_init(torch, seed)
