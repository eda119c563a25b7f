"""ember.vision against torchvision 0.28's public surface (issue 13).

Every public callable and class of ``transforms.v2``, ``transforms.v2.functional``,
``transforms``, ``ops``, ``io``, ``utils``, ``datasets`` and ``models`` must exist in
ember.vision at the same path and be of the same kind (class or function), except for the
commented allow-lists below. torchvision's lists are recorded in ``fixtures/tv_names.json``
(``fixtures/make_tv_names.py`` records them) and fetched live when ``EMBER_TORCHVISION_PATH``
names a torchvision installed beside the oracle; the live check skips where it cannot import
torchvision.

The same recording holds torchvision's answers for the transforms.v2 names added with this
test (``RGB``, ``RandomChannelPermutation``, ``SetClampingMode``, ``query_chw``,
``query_size``, ``check_type``, ``has_all``, ``has_any``, ``get_bounding_boxes``,
``get_keypoints``; ``F.permute_channels``, ``F.grayscale_to_rgb``, ``F.get_num_channels``,
``F.get_image_num_channels``, ``F.get_image_size``, ``F.is_pure_tensor``) on plain tensors,
tv_tensors and PIL images.
"""

import importlib

import pytest

from ._v2_recorded import load_recorder

M = load_recorder("make_tv_names")

# What ember deliberately lacks: each name with the reason.
DELIBERATE = {
    "io": {
        # AVIF and HEIC decoding needs torchvision's compiled libavif / libheif bindings;
        # Pillow (ember's image codec) reads neither without plugins
        "decode_avif": "needs libavif",
        "decode_heic": "needs libheif",
    },
}

# Not ported yet (not a decision): torchvision's download-and-parse datasets beyond the MNIST
# family, CIFAR, ImageFolder/DatasetFolder, FakeData and those of tests/vision/
# test_datasets_tv_parity.py, and the v2 wrapper that depends on them. Remove a name here
# when its dataset lands.
NOT_YET = {
    "datasets": {
        "HMDB51", "Kinetics", "UCF101",
    },
}


def _allowed(module: str) -> set:
    return set(DELIBERATE.get(module, {})) | NOT_YET.get(module, set())


def _check_names(names: dict) -> None:
    problems = []
    for module, kinds in names.items():
        ours = importlib.import_module(f"ember.vision.{module}")
        allowed = _allowed(module)
        for name, kind in sorted(kinds.items()):
            value = getattr(ours, name, None)
            if value is None:
                if name not in allowed:
                    problems.append(f"ember.vision.{module}.{name} is missing ({kind})")
                continue
            if name in allowed:
                problems.append(f"ember.vision.{module}.{name} exists: take it off the "
                                f"allow-list")
            ours_kind = "class" if isinstance(value, type) else "function"
            if not callable(value) or ours_kind != kind:
                problems.append(f"ember.vision.{module}.{name} is a {ours_kind}, torchvision's "
                                f"a {kind}")
    assert not problems, "\n".join(problems)


def test_public_names_match_recorded_torchvision():
    _check_names(M.recorded()["names"])


def test_allow_lists_name_only_torchvision_names():
    names = M.recorded()["names"]
    for module in set(DELIBERATE) | set(NOT_YET):
        assert _allowed(module) <= set(names[module]), module


def test_public_names_match_live_torchvision(tmp_path):
    want = M.live(tmp_path)
    assert want["names"] == M.recorded()["names"], "re-record fixtures/tv_names.json"
    _check_names(want["names"])
    for name in M.SCENARIOS:
        M.compare(M.run(M.ember_lib(), name), want["scenarios"][name], name)


@pytest.mark.parametrize("name", sorted(M.SCENARIOS))
def test_new_v2_names_match_recorded_torchvision(name):
    pytest.importorskip("PIL")
    M.compare(M.run(M.ember_lib(), name), M.recorded()["scenarios"][name], name)


def test_get_image_num_channels_is_get_num_channels():
    from ember.vision.transforms.v2 import functional as F

    assert F.get_image_num_channels is F.get_num_channels


def test_channel_permutation_draws_like_torch():
    torch = pytest.importorskip("torch")
    import numpy as np

    import ember
    from ember.vision import tv_tensors
    from ember.vision.transforms import v2

    data = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    ember.manual_seed(3)
    torch.manual_seed(3)
    got = v2.RandomChannelPermutation()(tv_tensors.Image(ember.from_numpy(data.copy())))
    perm = torch.randperm(5)
    np.testing.assert_array_equal(got.numpy(), data[perm.numpy()])
    assert int(ember.randint(0, 10**6, (1,))) == int(torch.randint(0, 10**6, (1,)))
