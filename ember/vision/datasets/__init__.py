"""Datasets with torchvision's folder layouts, file names and attributes."""

from .caltech import Caltech101, Caltech256
from .celeba import CelebA
from .cifar import CIFAR10, CIFAR100
from .coco import CocoCaptions, CocoDetection
from .country211 import Country211
from .dtd import DTD
from .eurosat import EuroSAT
from .fakedata import FakeData
from .fer2013 import FER2013
from .flowers102 import Flowers102
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader
from .food101 import Food101
from .gtsrb import GTSRB
from .imagenette import Imagenette
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .oxford_iiit_pet import OxfordIIITPet
from .qmnist import QMNIST
from .semeion import SEMEION
from .stl10 import STL10
from .svhn import SVHN
from .usps import USPS
from .vision import StandardTransform, VisionDataset
from .voc import VOCDetection, VOCSegmentation

__all__ = ["CIFAR10", "CIFAR100", "Caltech101", "Caltech256", "CelebA", "CocoCaptions",
           "CocoDetection", "Country211", "DTD", "DatasetFolder", "EMNIST", "EuroSAT",
           "FER2013", "FakeData", "FashionMNIST", "Flowers102", "Food101", "GTSRB",
           "IMG_EXTENSIONS", "ImageFolder", "Imagenette", "KMNIST", "MNIST", "OxfordIIITPet",
           "QMNIST", "SEMEION", "STL10", "SVHN", "StandardTransform", "USPS", "VOCDetection",
           "VOCSegmentation", "VisionDataset", "default_loader"]
