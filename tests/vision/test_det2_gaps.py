"""ember's ``nms`` / ``roi_align`` against torchvision 0.28 run through the recording shim.

``tests/programs/_torchvision_shim`` gives torchvision's compiled ``nms`` and ``roi_align``
plain-torch kernels, so that detection programs (``det_finetune_tutorial``) can be recorded on
torch's side. These tests pin that both sides agree, including RoI samples that fall past the
feature map's far edge (where torchvision's compiled kernel counts a sample more than one
pixel outside as zero; its Python fallback does not, which made the recorded losses drift).
They run only with ``EMBER_TORCHVISION_PATH`` naming a torchvision install (as the programs'
recording does) and skip otherwise.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.vision.ops import batched_nms, nms, roi_align

HERE = pathlib.Path(__file__).resolve().parent
SHIM = HERE.parent / "programs" / "_torchvision_shim"

_TORCH_SIDE = r"""
import json, sys
import numpy as np
import torch
from torchvision.ops import batched_nms, nms, roi_align
case = json.loads(sys.argv[1])
out = {}
b, s, idx = (torch.tensor(case[k]) for k in ("boxes", "scores", "idxs"))
out["nms"] = nms(b, s, 0.4).tolist()
out["batched"] = batched_nms(b, s, idx, 0.5).tolist()
x = torch.tensor(case["x"], requires_grad=True)
rois = torch.tensor(case["rois"])
for name, (size, scale, ratio, aligned) in case["settings"].items():
    y = roi_align(x, rois, size, scale, ratio, aligned)
    (g,) = torch.autograd.grad((y * y).sum(), x)
    out[name] = [y.tolist(), g.tolist()]
print(json.dumps(out))
"""


def _case():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 40, (30, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(2, 20, (30, 2))], 1).astype(np.float32)
    # rois on a 2-channel 5x6 map at scale 1/8: several reach past the far edges (x > 48)
    corners = rng.uniform(-8, 52, (12, 2))
    rois = np.concatenate([rng.integers(0, 2, (12, 1)), corners,
                           corners + rng.uniform(1, 30, (12, 2))], 1).astype(np.float32)
    rois[0, 1:] = [37, 39, 44, 63]  # samples both inside and past the far edge
    return {"boxes": boxes.tolist(), "scores": rng.random(30).astype(np.float32).tolist(),
            "idxs": rng.integers(0, 3, 30).tolist(),
            "x": rng.standard_normal((2, 2, 5, 6)).astype(np.float32).tolist(),
            "rois": rois.tolist(),
            "settings": {"plain": [3, 0.125, 2, False], "adaptive": [[2, 3], 0.125, -1, False],
                         "aligned": [3, 0.125, 2, True],
                         "aligned_adaptive": [2, 0.125, 0, True]}}


@pytest.fixture(scope="module")
def torch_side():
    path = os.environ.get("EMBER_TORCHVISION_PATH")
    if not path:
        pytest.skip("torchvision is not installed beside the oracle (EMBER_TORCHVISION_PATH)")
    pytest.importorskip("torch")
    case = _case()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SHIM), path]))
    run = subprocess.run([sys.executable, "-c", _TORCH_SIDE, json.dumps(case)], env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    return case, json.loads(run.stdout)


def test_nms_and_batched_nms_match_shim(torch_side):
    case, want = torch_side
    b, s = ember.tensor(case["boxes"]), ember.tensor(case["scores"])
    assert nms(b, s, 0.4).tolist() == want["nms"]
    assert batched_nms(b, s, ember.tensor(case["idxs"]), 0.5).tolist() == want["batched"]


@pytest.mark.parametrize("name", ["plain", "adaptive", "aligned", "aligned_adaptive"])
def test_roi_align_and_grad_match_shim_past_far_edge(torch_side, name):
    case, want = torch_side
    size, scale, ratio, aligned = case["settings"][name]
    x = ember.tensor(case["x"], requires_grad=True)
    y = roi_align(x, ember.tensor(case["rois"]), size, scale, ratio, aligned)
    (g,) = ember.autograd.grad((y * y).sum(), x)
    np.testing.assert_allclose(y.detach().numpy(), np.array(want[name][0]), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(g.numpy(), np.array(want[name][1]), rtol=1e-4, atol=1e-4)


def test_roi_align_far_edge_sample_counts_zero():
    # a 2x2 map at scale 1/32: the RoI [37, 39, 44, 63] is widened to one pixel and its last
    # bin's second sample lands at x ~ 2.07 > W = 2, so it adds nothing (half of 3.0)
    x = ember.tensor([[[[0., 1.], [2., 3.]]]])
    y = roi_align(x, [ember.tensor([[37., 39., 44., 63.]])], 3, 1 / 32, 2, False)
    assert y[0, 0].tolist() == [[3.0, 3.0, 1.5], [3.0, 3.0, 1.5], [1.5, 1.5, 0.75]]
