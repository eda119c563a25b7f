"""The nn layers of tests/nn on the ``cuda`` device backed by ``fake_cupy``: a module moved with
``.to("cuda")`` gives the outputs, input and parameter gradients and buffers that the same
module gives on the CPU (which tests/nn compares with PyTorch), and keeps them on the device."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember

from ..nn import test_conv_modules as conv_t
from ..nn import test_layers as layers_t
from ..nn import test_norm_modules as norm_t
from ..nn import test_rnn as rnn_t
from ..nn import test_transformer as tr_t


def _rnn_wrapper(inner, lstm):
    class Wrap(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = inner

        def forward(self, x, *hx):
            return self.rnn(x, tuple(hx) if lstm else hx[0])

    return Wrap()


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat(x)]
    return [out]


def _same(d, c, what):
    if c is None:
        assert d is None, what
        return
    assert d is not None, f"{what}: None on the device"
    assert d.device.type == "cuda", f"{what} is on {d.device}"
    assert tuple(d.shape) == tuple(c.shape) and d.dtype == c.dtype, what
    np.testing.assert_allclose(d.detach().cpu().numpy(), c.detach().numpy(), rtol=1e-5,
                               atol=1e-6, err_msg=what)


def check_module(make, arrays, mode="train", steps=1, kwargs=None):
    ember.manual_seed(0)
    cpu = make(ember.nn)
    dev = copy.deepcopy(cpu).to("cuda")
    cpu.train(mode == "train")
    dev.train(mode == "train")
    for step in range(steps):
        rng = np.random.default_rng(step)
        arrs = arrays(rng)
        outs, ins = {}, {}
        for where, mod in (("cpu", cpu), ("cuda", dev)):
            xs = [ember.tensor(a, device=where, requires_grad=a.dtype.kind == "f") for a in arrs]
            kw = kwargs(where) if kwargs else {}
            out = [o for o in _flat(mod(*xs, **kw)) if o is not None]
            loss = 0
            up_rng = np.random.default_rng(10 + step)
            for o in out:
                if o.requires_grad:
                    up = up_rng.standard_normal(tuple(o.shape)).astype(np.float32)
                    loss = loss + (o * ember.tensor(up, device=where)).sum()
            if not isinstance(loss, int):
                loss.backward()
            outs[where], ins[where] = out, xs
        for k, (d, c) in enumerate(zip(outs["cuda"], outs["cpu"])):
            _same(d, c, f"step {step} output {k}")
        for k, (d, c) in enumerate(zip(ins["cuda"], ins["cpu"])):
            _same(d.grad, c.grad, f"step {step} input {k} grad")
        cpu_params = dict(cpu.named_parameters())
        for name, p in dev.named_parameters():
            _same(p.grad, cpu_params[name].grad, f"{name}.grad")
        cpu_bufs = dict(cpu.named_buffers())
        for name, b in dev.named_buffers():
            _same(b, cpu_bufs[name], f"buffer {name}")


def _uniform(shapes):
    return lambda rng: [rng.uniform(-2, 2, s).astype(np.float32) for s in shapes]


def _normal(shape):
    return lambda rng: [rng.standard_normal(shape).astype(np.float32)]


CASES = []
for expr, shapes in layers_t.LAYERS:
    for mode in ("train", "eval"):
        if mode == "train" and ("Dropout" in expr or "RReLU" in expr):
            continue  # random masks: the device draws its own
        CASES.append((f"{expr}-{mode}", lambda expr=expr, shapes=shapes, mode=mode: check_module(
            lambda nn: eval(expr, {"nn": nn}), _uniform(shapes), mode)))
CASES.append(("Embedding", lambda: check_module(
    lambda nn: nn.Embedding(10, 4, padding_idx=0),
    lambda rng: [np.array([[0, 2, 0, 9], [1, 1, 3, 0]])])))
for name, make, shape in conv_t.CONV_CASES + conv_t.POOL_CASES:
    CASES.append((name, lambda make=make, shape=shape: check_module(make, _normal(shape))))
for name, make, shape in norm_t.CASES:
    for mode, steps in (("train", 2), ("eval", 1)):
        CASES.append((f"{name}-{mode}", lambda make=make, shape=shape, mode=mode, steps=steps:
                      check_module(make, _normal(shape), mode, steps)))
for name, make, shape, hx, lstm in rnn_t.CASES + rnn_t.CELLS:
    def _rnn_arrays(rng, shape=shape, hx=hx):
        return [rng.standard_normal(s).astype(np.float32) for s in [shape] + list(hx or [])]

    def _rnn_make(nn, make=make, hx=hx, lstm=lstm):
        inner = make(nn)
        return inner if hx is None else _rnn_wrapper(inner, lstm)
    CASES.append((name, lambda m=_rnn_make, a=_rnn_arrays: check_module(m, a)))


def _mha_case(make, kw, masks):
    probe = make(ember.nn)
    e_dim, kdim, vdim, bf = probe.embed_dim, probe.kdim, probe.vdim, probe.batch_first
    n, lq, ls = 2, 3, 4

    def shp(length, d):
        return (n, length, d) if bf else (length, n, d)

    def arrays(rng):
        return [rng.standard_normal(shp(lq, e_dim)).astype(np.float32),
                rng.standard_normal(shp(ls, kdim)).astype(np.float32),
                rng.standard_normal(shp(ls, vdim)).astype(np.float32)]

    def kwargs(where):
        out = dict(kw)
        rng = np.random.default_rng(3)
        if masks == "bool":
            m = rng.random((lq, ls)) < 0.3
            m[:, 0] = False
            out["attn_mask"] = ember.tensor(m, device=where)
        if masks == "padding":
            m = np.zeros((n, ls), dtype=bool)
            m[0, -1] = m[1, -2:] = True
            out["key_padding_mask"] = ember.tensor(m, device=where)
        return out
    check_module(make, arrays, kwargs=kwargs)


for name, make, kw in tr_t.MHA_CASES:
    for masks in ("none", "bool", "padding"):
        CASES.append((f"MHA-{name}-{masks}", lambda make=make, kw=kw, masks=masks:
                      _mha_case(make, kw, masks)))


def _encoder_case(name, make, masked):
    shape = (2, 5, 8) if "batch_first" in name else (5, 2, 8)

    def kwargs(where):
        if not masked:
            return {}
        causal = np.triu(np.full((5, 5), -np.inf, dtype=np.float32), k=1)
        return {"src_mask" if "stack" not in name else "mask": ember.tensor(causal,
                                                                            device=where)}
    check_module(make, _normal(shape), "eval", kwargs=kwargs)


for name, make in tr_t.ENC_CASES:
    for masked in (False, True):
        CASES.append((f"Encoder-{name}-{'masked' if masked else 'plain'}",
                      lambda name=name, make=make, masked=masked:
                      _encoder_case(name, make, masked)))


@pytest.mark.parametrize("name,case", CASES, ids=[n for n, _ in CASES])
def test_layer_runs_on_the_device(name, case):
    case()
