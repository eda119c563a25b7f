"""A mask broadcast to its input's shape inside ``masked_fill`` (nanoGPT's causal attention on a
registered ``tril`` buffer) exports as an Expand: it was exported as a Reshape of the (T, T)
mask to the input's shape, which onnxruntime refuses at run time."""

import io

import numpy as np
import pytest

import ember

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


class CausalMask(ember.nn.Module):
    def __init__(self, block=6):
        super().__init__()
        self.register_buffer("tril", ember.tril(ember.ones(block, block)))

    def forward(self, att):
        t = att.size(-1)
        return att.masked_fill(self.tril[:t, :t] == 0, float("-inf")).softmax(-1)


@pytest.mark.parametrize("dynamic", [False, True])
def test_causal_mask_exports_and_runs_in_onnxruntime(dynamic):
    model = CausalMask().eval()
    x = ember.randn(2, 3, 6, 6)
    f = io.BytesIO()
    ember.onnx.export(model, (x,), f, input_names=["att"],
                      dynamic_axes={"att": {0: "batch"}} if dynamic else None)
    onnx.checker.check_model(onnx.load_from_string(f.getvalue()))
    session = ort.InferenceSession(f.getvalue())
    for batch in (x, ember.randn(5, 3, 6, 6)) if dynamic else (x,):
        got = session.run(None, {"att": batch.numpy()})[0]
        np.testing.assert_allclose(got, model(batch).numpy(), atol=1e-5)
