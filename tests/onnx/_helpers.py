"""Export a model, check the file, run it in onnxruntime against ember at several batch sizes."""

import io

import numpy as np
import pytest

import ember

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def session(proto_or_bytes):
    data = proto_or_bytes if isinstance(proto_or_bytes, bytes) else \
        proto_or_bytes.SerializeToString()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def resize(x, n, axis=0):
    """``x`` with ``n`` entries along ``axis`` (repeating, then jittered for floats)."""
    reps = -(-n // x.shape[axis])
    y = ember.cat([x] * reps, dim=axis).narrow(axis, 0, n)
    if y.is_floating_point():
        y = y + 0.05 * ember.randn(*y.shape, dtype=y.dtype)
    return y.contiguous()


def export_and_check(model, inputs, batches=(1, 3), axis=0, atol=1e-5, rtol=1e-4,
                     dynamic=True, opset_version=None, input_names=None, **kw):
    """Export ``model`` on ``inputs`` with a dynamic ``axis``; check the file with the ONNX
    checker; compare onnxruntime with ember on the example and on ``batches``. Returns the
    ModelProto."""
    if isinstance(inputs, ember.Tensor):
        inputs = (inputs,)
    names = input_names or [f"in{i}" for i in range(len(inputs))]
    if hasattr(model, "eval"):
        model.eval()
    with ember.no_grad():
        outs = model(*inputs)
    n_out = len(outs) if isinstance(outs, tuple) else 1
    out_names = [f"out{i}" for i in range(n_out)]
    axes = {n: {axis: "batch"} for n in names} if dynamic else None
    if dynamic:
        axes.update({n: {} for n in out_names})
    buf = io.BytesIO()
    ember.onnx.export(model, tuple(inputs), buf, input_names=names, output_names=out_names,
                      dynamic_axes=axes, opset_version=opset_version, **kw)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    sess = session(buf.getvalue())
    sizes = [None] + (list(batches) if dynamic else [])
    for n in sizes:
        xs = inputs if n is None else tuple(resize(x, n, axis) for x in inputs)
        with ember.no_grad():
            want = model(*xs)
        want = want if isinstance(want, tuple) else (want,)
        got = sess.run(None, {k: x.numpy() for k, x in zip(names, xs)})
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), atol=atol, rtol=rtol,
                                       err_msg=f"batch {n}")
    return proto


def op_types(proto):
    return [n.op_type for n in proto.graph.node]
