"""FlexAttention (with a block mask), nested tensors and torch.export on the ``cuda`` device
backed by ``fake_cupy``: results stay on the device and equal the CPU's."""

import numpy as np

import ember
import ember.nn.functional as F
from ember.nn.attention import flex_attention as FA


def _both(rng, shape):
    a = rng.standard_normal(shape).astype(np.float32)
    return ember.from_numpy(a.copy()), ember.from_numpy(a.copy()).to("cuda")


def test_flex_attention_with_block_mask_and_score_mod(rng):
    q_cpu, q_dev = _both(rng, (1, 2, 8, 4))

    def causal(b, h, q_idx, kv_idx):
        return q_idx >= kv_idx

    def relative(score, b, h, q_idx, kv_idx):
        return score + (q_idx - kv_idx) * 0.1

    results = []
    for q, device in ((q_cpu, "cpu"), (q_dev, "cuda")):
        mask = FA.create_block_mask(causal, None, None, 8, 8, device=device, BLOCK_SIZE=4)
        assert mask.kv_indices.device.type == device
        out = FA.flex_attention(q, q, q, score_mod=relative, block_mask=mask)
        assert out.device.type == device
        results.append(out.cpu().numpy())
        assert "█" in str(mask)  # printing reads the block lists from the device explicitly
    np.testing.assert_allclose(*results, rtol=1e-6)


def test_nested_ops_stay_on_the_device(rng):
    a_cpu, a_dev = _both(rng, (2, 3))
    b_cpu, b_dev = _both(rng, (4, 3))
    w_cpu, w_dev = _both(rng, (5, 3))
    results = []
    for a, b, w, device in ((a_cpu, b_cpu, w_cpu, "cpu"), (a_dev, b_dev, w_dev, "cuda")):
        nt = ember.nested.nested_tensor([a, b], layout=ember.jagged)
        out = ember.nested.to_padded_tensor(F.linear(nt, w).softmax(-1), 0.0)
        assert out.device.type == device
        results.append(out.cpu().numpy())
    np.testing.assert_allclose(*results, rtol=1e-6)


def test_export_on_the_device(rng):
    x_cpu, x_dev = _both(rng, (4, 3))
    model = ember.nn.Linear(3, 2)
    want = model(x_cpu).detach().numpy()
    ep = ember.export.export(model.to("cuda"), (x_dev,))
    out = ep.module()(x_dev)
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.detach().cpu().numpy(), want, rtol=1e-6)
