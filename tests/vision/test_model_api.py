"""``models.get_model``/``get_model_builder`` and ``get_image_backend``/``set_image_backend``
behave as torchvision 0.28 does (its answers written here: it cannot be installed beside the
torch oracle)."""

import pytest

import ember
from ember import vision
from ember.vision import models


def test_get_model_by_name():
    ember.manual_seed(0)
    built = models.get_model("ResNet18", weights=None, num_classes=3)
    ember.manual_seed(0)
    direct = models.resnet18(num_classes=3)
    assert type(built) is models.ResNet and built.fc.out_features == 3
    for (k, a), (_, b) in zip(built.state_dict().items(), direct.state_dict().items()):
        assert ember.equal(a, b), k
    assert models.get_model("mobilenet_v2", num_classes=5).classifier[1].out_features == 5
    assert models.get_model_builder("vgg11_bn") is models.vgg11_bn


@pytest.mark.parametrize("name", ["nope", "lenet"])
def test_unknown_model(name):
    with pytest.raises(ValueError, match=f"Unknown model {name}"):
        models.get_model(name)
    with pytest.raises(ValueError, match=f"Unknown model {name}"):
        models.get_model_builder(name)


def test_image_backend():
    assert vision.get_image_backend() == "PIL"
    with pytest.raises(ValueError, match="Invalid backend 'foo'. Options are 'PIL' and "
                                         "'accimage'"):
        vision.set_image_backend("foo")
    vision.set_image_backend("accimage")
    try:
        assert vision.get_image_backend() == "accimage"
    finally:
        vision.set_image_backend("PIL")
