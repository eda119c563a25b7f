"""Exported attention with a query row whose keys are all masked: onnxruntime gives what eager
ember and eager torch 2.13 give (zeros without weights, NaN with need_weights=True), and a
key_padding_mask that is a graph input is followed at run time instead of being baked in from
the export example (it was: a fully padded batch element exported on a live example ran as
if unmasked)."""

import io

import numpy as np
import pytest
import torch

import ember

from ._helpers import session

onnx = pytest.importorskip("onnx")

RNG = np.random.default_rng(0)
Q = RNG.standard_normal((2, 3, 8)).astype(np.float32)
KV = RNG.standard_normal((2, 4, 8)).astype(np.float32)
PAD_LIVE = np.array([[False, False, True, True], [False, True, False, False]])
PAD_DEAD = np.array([[False, False, True, True], [True, True, True, True]])  # element 1: none
ROW_DEAD = np.zeros((3, 4), bool)
ROW_DEAD[1] = True  # query 1 sees no key
ROW_LIVE = np.zeros((3, 4), bool)
ROW_LIVE[1, :2] = True


def _pair():
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    mine = ember.nn.MultiheadAttention(8, 2, batch_first=True)
    mine.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    return mine.eval(), theirs


class _Wrap(ember.nn.Module):
    def __init__(self, m, key, need_weights):
        super().__init__()
        self.m, self.key, self.need_weights = m, key, need_weights

    def forward(self, q, kv, mask):
        return self.m(q, kv, kv, need_weights=self.need_weights, **{self.key: mask})[0]


def _run(model, example_mask, feed_mask):
    buf = io.BytesIO()
    ember.onnx.export(model, (ember.from_numpy(Q), ember.from_numpy(KV),
                              ember.from_numpy(example_mask)), buf)
    sess = session(buf.getvalue())
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, dict(zip(names, (Q, KV, feed_mask))))[0]


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("key,live,dead", [("key_padding_mask", PAD_LIVE, PAD_DEAD),
                                           ("attn_mask", ROW_LIVE, ROW_DEAD)])
@pytest.mark.parametrize("example", ["live", "dead"])
def test_mask_input_followed_at_run_time(need_weights, key, live, dead, example):
    mine, theirs = _pair()
    model = _Wrap(mine, key, need_weights)
    ex = live if example == "live" else dead
    for feed in (live, dead):
        got = _run(model, ex, feed)
        eager = model(ember.from_numpy(Q), ember.from_numpy(KV), ember.from_numpy(feed))
        with torch.no_grad():  # separate q/kv tensors: torch's math path, not its fast path
            want = theirs(torch.from_numpy(Q), torch.from_numpy(KV), torch.from_numpy(KV),
                          need_weights=need_weights, **{key: torch.from_numpy(feed)})[0]
        np.testing.assert_allclose(eager.detach().numpy(), want.numpy(), atol=1e-5,
                                   equal_nan=True)
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5, equal_nan=True)


def test_fully_masked_row_zeros_without_weights_nan_with():
    mine, _ = _pair()
    got0 = _run(_Wrap(mine, "attn_mask", False), ROW_DEAD, ROW_DEAD)
    got1 = _run(_Wrap(mine, "attn_mask", True), ROW_DEAD, ROW_DEAD)
    assert (got0[:, 1] == 0).all() and np.isnan(got1[:, 1]).all()
    assert np.isfinite(got0).all() and np.isfinite(np.delete(got1, 1, axis=1)).all()


def test_sdpa_constant_mask_with_a_dead_row_exports_eager_zeros():
    mask = ember.from_numpy(~ROW_DEAD)

    class Sdpa(ember.nn.Module):
        def forward(self, q, kv):
            return ember.nn.functional.scaled_dot_product_attention(q, kv, kv, attn_mask=mask)

    buf = io.BytesIO()
    ember.onnx.export(Sdpa(), (ember.from_numpy(Q), ember.from_numpy(KV)), buf)
    sess = session(buf.getvalue())
    got = sess.run(None, dict(zip([i.name for i in sess.get_inputs()], (Q, KV))))[0]
    want = torch.nn.functional.scaled_dot_product_attention(
        torch.from_numpy(Q), torch.from_numpy(KV), torch.from_numpy(KV),
        attn_mask=torch.from_numpy(~ROW_DEAD))
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5)
    assert (got[:, 1] == 0).all()


@pytest.mark.parametrize("computed", [False, True])
@pytest.mark.parametrize("as_float", [False, True])
@pytest.mark.parametrize("example", ["all", "live", "dead"])
def test_sdpa_mask_input_followed_at_run_time(computed, as_float, example):
    # the example's mask used to be baked in (an all-True example exported as "no mask"), or
    # the export refused the mask; now every run-time mask gives eager's result
    allowed = np.ones((3, 4), bool)
    masks = {"all": allowed, "live": ~ROW_LIVE, "dead": ~ROW_DEAD}

    def feed(m):
        return ~m if computed else m

    class Sdpa(ember.nn.Module):
        def forward(self, q, kv, m):
            m = m.logical_not() if computed else m
            if as_float:
                m = ember.zeros(3, 4).masked_fill(m.logical_not(), float("-inf"))
            return ember.nn.functional.scaled_dot_product_attention(q, kv, kv, attn_mask=m)

    buf = io.BytesIO()
    ember.onnx.export(Sdpa(), (ember.from_numpy(Q), ember.from_numpy(KV),
                               ember.from_numpy(feed(masks[example]))), buf)
    sess = session(buf.getvalue())
    names = [i.name for i in sess.get_inputs()]
    for m in masks.values():
        got = sess.run(None, dict(zip(names, (Q, KV, feed(m)))))[0]
        want = torch.nn.functional.scaled_dot_product_attention(
            torch.from_numpy(Q), torch.from_numpy(KV), torch.from_numpy(KV),
            attn_mask=torch.from_numpy(m))
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5)
