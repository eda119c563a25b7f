"""ember.__version__ compares as torch.__version__ does: as a version against strings, tuples
and packaging Versions, as a string when either side is no version."""

import pytest

import ember
from ember.torch_version import TorchVersion

VERSIONS = ["1.10.0", "1.9", "2.1.0+cpu", "2.1", "2.1.0a0", "2.1.0rc1", "2.1.0.dev20230101",
            "2.1.0.post1", "0.1.0", "2.13.0+cpu", "parrot", "1.0.0b2", "2.1.0a0+git123"]
OTHERS = VERSIONS + [(2, 1), (1, 10), (0, 1, 0), (2, 13), [1, 9, 0]]


def outcome(cls, a, method, b):
    try:
        return getattr(cls(a), method)(b)
    except Exception as exc:
        return type(exc).__name__


@pytest.mark.parametrize("method", ["__gt__", "__lt__", "__eq__", "__ge__", "__le__"])
def test_comparisons_match_torch(torch, method):
    from torch.torch_version import TorchVersion as TorchsVersion

    for a in VERSIONS:
        for b in OTHERS:
            ours = outcome(TorchVersion, a, method, b)
            theirs = outcome(TorchsVersion, a, method, b)
            assert ours == theirs, (a, b, method)


def test_not_equal_is_the_negation_of_equal():
    # torch's TorchVersion keeps str.__ne__, so there "1.10.0" == "1.10" and also != "1.10";
    # ember's != is the version comparison's negation
    for a in VERSIONS:
        for b in OTHERS:
            assert (TorchVersion(a) != b) is (not TorchVersion(a) == b)


def test_packaging_versions_compare(torch):
    from torch._vendor.packaging.version import Version

    assert TorchVersion("2.1.0") == Version("2.1.0")
    assert TorchVersion("2.1.0") > Version("2.1.0rc1")


def test_ember_version_is_one_and_still_a_string():
    assert isinstance(ember.__version__, TorchVersion) and isinstance(ember.__version__, str)
    assert ember.__version__ == "0.1.0" and ember.__version__ < (1, 0)
    assert ember.__version__ > "0.0.9" and ember.__version__.split(".")[0] == "0"
    assert {ember.__version__: 1}["0.1.0"] == 1  # hashes as its string
    assert ember.version.__version__ is ember.__version__


def test_vision_has_a_version_string_like_torchvision():
    import ember.vision

    assert ember.vision.__version__ == ember.__version__
    assert ember.vision.__version__ >= "0.1"  # compares as a version, as torchvision's does
