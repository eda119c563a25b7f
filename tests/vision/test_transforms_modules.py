"""v1 transforms are ``nn.Module``s where torchvision's are, so ``nn.Sequential`` can chain them
(torchvision's "scriptable transforms" recipe), and their argument checks answer as
torchvision 0.28's do. Expected values were recorded from torchvision 0.28; with
``EMBER_TORCHVISION_PATH`` the class list is also checked against torchvision itself."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ember
import ember.nn as nn
import ember.vision.transforms as T

# torchvision 0.28: the transforms that subclass torch.nn.Module (Compose, Lambda, ToTensor,
# PILToTensor, ToPILImage, RandomChoice and RandomOrder do not)
MODULES = ["AugMix", "AutoAugment", "CenterCrop", "ColorJitter", "ConvertImageDtype",
           "ElasticTransform", "FiveCrop", "GaussianBlur", "Grayscale", "LinearTransformation",
           "Normalize", "Pad", "RandAugment", "RandomAdjustSharpness", "RandomAffine",
           "RandomApply", "RandomAutocontrast", "RandomCrop", "RandomEqualize", "RandomErasing",
           "RandomGrayscale", "RandomHorizontalFlip", "RandomInvert", "RandomPerspective",
           "RandomPosterize", "RandomResizedCrop", "RandomRotation", "RandomSolarize",
           "RandomVerticalFlip", "Resize", "TenCrop", "TrivialAugmentWide"]
NOT_MODULES = ["Compose", "Lambda", "ToTensor", "PILToTensor", "ToPILImage", "RandomChoice",
               "RandomOrder"]


@pytest.mark.parametrize("name", MODULES)
def test_transform_is_a_module(name):
    assert issubclass(getattr(T, name), nn.Module)


@pytest.mark.parametrize("name", NOT_MODULES)
def test_transform_is_not_a_module(name):
    assert not issubclass(getattr(T, name), nn.Module)


def test_module_list_matches_torchvision():
    path = os.environ.get("EMBER_TORCHVISION_PATH")
    if not path:
        pytest.skip("torchvision is not installed beside the oracle (EMBER_TORCHVISION_PATH)")
    pytest.importorskip("torch")
    shim = Path(__file__).resolve().parents[1] / "programs" / "_torchvision_shim"
    probe = ("import json, warnings; warnings.simplefilter('ignore'); import torch\n"
             "import torchvision.transforms as T\n"
             "names = [n for n in dir(T) if not n.startswith('_') and isinstance(getattr(T, n), "
             "type) and n not in ('InterpolationMode', 'AutoAugmentPolicy')]\n"
             "print(json.dumps(sorted(n for n in names if issubclass(getattr(T, n), "
             "torch.nn.Module))))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shim), path]))
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True, timeout=600, check=True).stdout
    assert json.loads(out) == MODULES


def test_sequential_chains_transforms():
    chain = nn.Sequential(T.CenterCrop(4), T.Normalize((0.5,), (0.25,)))
    img = ember.arange(64.0).view(1, 8, 8) / 64
    want = T.functional.normalize(T.functional.center_crop(img, [4, 4]), [0.5], [0.25])
    assert ember.equal(chain(img), want)
    assert repr(chain) == ("Sequential(\n  (0): CenterCrop(size=(4, 4))\n"
                           "  (1): Normalize(mean=(0.5,), std=(0.25,))\n)")
    assert ember.equal(T.RandomHorizontalFlip(p=1.0).forward(img), img.flip(-1))


@pytest.mark.parametrize("kwargs,expected", [
    (dict(brightness=-1), (ValueError, "If brightness is a single number, it must be non negative.")),
    (dict(brightness=(2, 1)), (ValueError, "brightness values should be between (0, inf), but got "
                                           "[2.0, 1.0].")),
    (dict(hue=0.6), (ValueError, "hue values should be between (-0.5, 0.5), but got [-0.6, 0.6].")),
    (dict(contrast="a"), (TypeError, "contrast should be a single number or a list/tuple with "
                                     "length 2.")),
    (dict(saturation=[1, 2, 3]), (TypeError, "saturation should be a single number or a "
                                             "list/tuple with length 2.")),
    (dict(brightness=0.5, hue=0.2), ((0.5, 1.5), None, None, (-0.2, 0.2))),
    (dict(contrast=(1, 1)), (None, None, None, None)),
    (dict(brightness=2), ((0.0, 3.0), None, None, None)),
    (dict(brightness=True), ((0.0, 2.0), None, None, None)),
    (dict(saturation=(0.5, 1)), (None, None, (0.5, 1.0), None)),
])
def test_color_jitter_ranges_as_torchvision(kwargs, expected):
    if isinstance(expected[0], type):
        with pytest.raises(expected[0]) as err:
            T.ColorJitter(**kwargs)
        assert str(err.value) == expected[1]
    else:
        t = T.ColorJitter(**kwargs)
        assert (t.brightness, t.contrast, t.saturation, t.hue) == expected


@pytest.mark.parametrize("args,expected", [
    ((3,), ((3, 3), (0.1, 2.0))),
    (((3,),), ((3, 3), (0.1, 2.0))),
    ((3, 0.5), ((3, 3), (0.5, 0.5))),
    (([5, 3], [0.2, 0.4]), ([5, 3], [0.2, 0.4])),
    ((4,), (ValueError, "Kernel size value should be an odd and positive number.")),
    (((3, 5, 7),), (ValueError, "Kernel size should be a tuple/list of two integers")),
    ((3, 0), (ValueError, "If sigma is a single number, it must be positive.")),
    ((3, (2, 1)), (ValueError, "sigma values should be positive and of the form (min, max).")),
    ((3, (1, 2, 3)), (ValueError, "sigma should be a single number or a list/tuple with length 2.")),
    ((3, "x"), (ValueError, "sigma should be a single number or a list/tuple with length 2.")),
])
def test_gaussian_blur_arguments_as_torchvision(args, expected):
    if isinstance(expected[0], type):
        with pytest.raises(expected[0]) as err:
            T.GaussianBlur(*args)
        assert str(err.value) == expected[1]
    else:
        t = T.GaussianBlur(*args)
        assert (t.kernel_size, t.sigma) == expected
