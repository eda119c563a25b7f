"""The transforms.v2 extension API against torchvision 0.28: subclassing ``v2.Transform``
(``make_params``/``transform``, ``_transformed_types``, which leaves a call sees),
``v2.functional.register_kernel`` and the kernel table behind every functional (custom
tv_tensors routed to their kernels, the ``TypeError`` without one, built-in transforms passing
them through), ``tv_tensors.set_return_type`` and ``wrap``, and functionals on plain tensors
versus tv_tensors.

The scenarios live in ``fixtures/make_v2_extension.py``; torchvision's answers are recorded in
``fixtures/v2_extension.json`` (and fetched live when ``EMBER_TORCHVISION_PATH`` is set).
"""

import warnings

import pytest

import ember
from ember import _torch_function as TF
from ember.vision import tv_tensors
from ember.vision.transforms import v2
from ember.vision.transforms.v2 import functional as F

from ._v2_recorded import load_recorder

M = load_recorder("make_v2_extension")
NAMES = ["custom_transform", "unregistered", "registered", "return_type", "plain_vs_tv"]


@pytest.fixture(autouse=True)
def _no_trace():
    # set_return_type("TVTensor") installs the __torch_function__ layer: take it away again
    # so the other tests in this process run as they would alone
    was = TF.installed()
    yield
    tv_tensors.set_return_type("Tensor")
    if not was and TF.installed():
        TF.uninstall()


def _ember(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return M.run(M.ember_lib(), name)


@pytest.mark.parametrize("name", NAMES)
def test_matches_recorded_torchvision(name):
    M.compare(_ember(name), M.recorded()[name], name)


def test_matches_live_torchvision(tmp_path):
    want = M.live(tmp_path)
    for name in NAMES:
        M.compare(_ember(name), want[name], name)


class Heat(tv_tensors.TVTensor):
    pass


def test_kernel_for_custom_functional_name_is_registered_once():
    # a name resolves to the functional itself: aliases share one row of the table
    class Temp(tv_tensors.TVTensor):
        pass

    F.register_kernel(functional="vflip", tv_tensor_cls=Temp)(lambda inpt: "k")
    with pytest.raises(ValueError, match="already has a kernel"):
        F.register_kernel(functional=F.vertical_flip, tv_tensor_cls=Temp)(lambda inpt: 0)
    assert F.vertical_flip(ember.zeros(2).as_subclass(Temp)) == "k"


def test_passthrough_only_inside_builtin_transforms():
    # a user's transform that calls a functional itself gets the functional's TypeError
    class Mine(v2.Transform):
        def transform(self, inpt, params):
            return F.horizontal_flip(inpt)

    x = ember.ones(1, 2, 2).as_subclass(Heat)
    with pytest.raises(TypeError, match="Functional F.horizontal_flip supports inputs"):
        Mine()(x)
    assert v2.RandomHorizontalFlip(p=1.0)(x) is x
    # ... also when a built-in transform runs it
    with pytest.raises(TypeError, match="Functional F.horizontal_flip supports inputs"):
        v2.RandomApply([Mine()], p=1.0)(x)
    with pytest.raises(TypeError, match="Functional F.horizontal_flip supports inputs"):
        v2.Compose([v2.RandomHorizontalFlip(p=1.0), Mine()])(x)


def test_kernel_table_keeps_builtin_results():
    # the table serves the built-in types with the functional's own body: same numbers
    img = tv_tensors.Image(ember.arange(6.0).reshape(1, 2, 3))
    out = F.resize(img, [4, 6], antialias=False)
    assert type(out) is tv_tensors.Image and tuple(out.shape) == (1, 4, 6)
    assert F.hflip(img).tolist() == [[[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]]


def test_set_return_type_leaves_default_dispatch_off():
    # programs that never ask for TVTensor results never get the dispatch layer
    if TF.installed():
        pytest.skip("another test in this process installed the layer")
    img = tv_tensors.Image(ember.ones(1, 2, 2))
    assert type(img + 1) is ember.Tensor
    assert not TF.installed()
    with tv_tensors.set_return_type("TVTensor"):
        assert type(img + 1) is tv_tensors.Image
    assert type(img + 1) is ember.Tensor
