"""A detection training step (anchors, IoU matching, NMS, RoI Align, focal and GIoU losses,
SGD) run with ember against the same program recorded with torch + torchvision 0.29."""

import numpy as np

import ember
import ember.nn.functional as F
from ember.vision import ops

from . import _detection_program as program
from ._oracle import recorded


def test_detection_step_matches_torchvision():
    got = program.run(ember, F, ops, program.make_params())
    rec = recorded()
    want = {k.split("/", 1)[1]: rec[k] for k in rec if k.startswith("program/")}
    assert sorted(got) == sorted(want)
    for i in (0, 1):  # the proposals kept by NMS, in order
        np.testing.assert_array_equal(got[f"keep{i}"], want[f"keep{i}"])
    for k in sorted(want):
        if not k.startswith("keep"):
            np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert got["loss_after_step"] < got["loss"]
