"""Every public name of ember.vision.ops has a docstring with an example, and the examples run
(the repository-wide docstring test does not list this namespace)."""

import doctest
import importlib
import inspect

import pytest

import ember
from ember.vision import ops

MODULES = ["boxes", "losses", "roi", "ps_roi", "poolers", "layers", "regularization",
           "feature_pyramid_network"]


@pytest.mark.parametrize("name", ops.__all__)
def test_public_name_has_docstring_with_example(name):
    obj = getattr(ops, name)
    doc = inspect.getdoc(obj) or ""
    assert doc.strip() and "Example" in doc, name


@pytest.mark.parametrize("module", MODULES + [""])
def test_examples_run(module):
    mod = importlib.import_module("ember.vision.ops" + (f".{module}" if module else ""))
    ember.manual_seed(0)
    result = doctest.testmod(mod, extraglobs={"ember": ember, "nn": ember.nn},
                             optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0


def test_torchvision_module_paths_import():
    from ember.vision.ops.focal_loss import sigmoid_focal_loss
    from ember.vision.ops.misc import FrozenBatchNorm2d

    from ember.vision.ops import misc as misc_nn_ops
    from ember.vision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7
    from ember.vision.ops.poolers import MultiScaleRoIAlign

    assert misc_nn_ops.FrozenBatchNorm2d is FrozenBatchNorm2d is ops.FrozenBatchNorm2d
    assert sigmoid_focal_loss is ops.sigmoid_focal_loss
    assert MultiScaleRoIAlign is ops.MultiScaleRoIAlign
    assert LastLevelMaxPool and LastLevelP6P7
    assert callable(ops.roi_align) and callable(ops.stochastic_depth)  # functions, not modules
