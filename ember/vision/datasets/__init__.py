"""Datasets with torchvision's folder layouts, file names and attributes."""

from ._optical_flow import HD1K, FlyingChairs, FlyingThings3D, KittiFlow, Sintel
from ._stereo_matching import (
    CarlaStereo,
    CREStereo,
    ETH3DStereo,
    FallingThingsStereo,
    InStereo2k,
    Kitti2012Stereo,
    Kitti2015Stereo,
    Middlebury2014Stereo,
    SceneFlowStereo,
    SintelStereo,
)
from .caltech import Caltech101, Caltech256
from .celeba import CelebA
from .cifar import CIFAR10, CIFAR100
from .cityscapes import Cityscapes
from .clevr import CLEVRClassification
from .coco import CocoCaptions, CocoDetection
from .country211 import Country211
from .dtd import DTD
from .eurosat import EuroSAT
from .fakedata import FakeData
from .fer2013 import FER2013
from .fgvc_aircraft import FGVCAircraft
from .flickr import Flickr8k, Flickr30k
from .flowers102 import Flowers102
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader
from .food101 import Food101
from .gtsrb import GTSRB
from .imagenet import ImageNet
from .imagenette import Imagenette
from .inaturalist import INaturalist
from .kitti import Kitti
from .lfw import LFWPairs, LFWPeople
from .lsun import LSUN, LSUNClass
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .moving_mnist import MovingMNIST
from .omniglot import Omniglot
from .oxford_iiit_pet import OxfordIIITPet
from .pcam import PCAM
from .phototour import PhotoTour
from .places365 import Places365
from .qmnist import QMNIST
from .rendered_sst2 import RenderedSST2
from .sbd import SBDataset
from .sbu import SBU
from .semeion import SEMEION
from .stanford_cars import StanfordCars
from .stl10 import STL10
from .sun397 import SUN397
from .svhn import SVHN
from .usps import USPS
from .vision import StandardTransform, VisionDataset
from .voc import VOCDetection, VOCSegmentation
from .widerface import WIDERFace

__all__ = ["CIFAR10", "CIFAR100", "Caltech101", "Caltech256", "CelebA", "Cityscapes",
           "CocoCaptions", "CocoDetection", "Country211", "DTD", "DatasetFolder", "EMNIST",
           "EuroSAT", "FER2013", "FakeData", "FashionMNIST", "Flowers102", "Food101", "GTSRB",
           "IMG_EXTENSIONS", "ImageFolder", "ImageNet", "Imagenette", "KMNIST", "Kitti",
           "LFWPairs", "LFWPeople", "MNIST", "Omniglot", "OxfordIIITPet", "QMNIST", "SEMEION",
           "STL10", "SVHN", "StanfordCars", "StandardTransform", "USPS", "VOCDetection",
           "VOCSegmentation", "VisionDataset", "default_loader", "wrap_dataset_for_transforms_v2",
           # issue 13: captions, faces, scenes, species and optical flow
           "Flickr8k", "Flickr30k", "SBU", "WIDERFace", "Places365", "INaturalist", "LSUN",
           "LSUNClass", "FlyingChairs", "FlyingThings3D", "Sintel", "KittiFlow", "HD1K",
           "CarlaStereo", "CREStereo", "ETH3DStereo", "FallingThingsStereo", "InStereo2k",
           "Kitti2012Stereo", "Kitti2015Stereo", "Middlebury2014Stereo", "SceneFlowStereo",
           "SintelStereo", "CLEVRClassification", "FGVCAircraft", "RenderedSST2", "SUN397",
           "MovingMNIST", "PCAM", "PhotoTour", "SBDataset"]


def __getattr__(name):
    # as torchvision: the wrapper (which needs tv_tensors and transforms.v2) loads on first use
    if name == "wrap_dataset_for_transforms_v2":
        from ..tv_tensors._dataset_wrapper import wrap_dataset_for_transforms_v2

        return wrap_dataset_for_transforms_v2
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
