"""torchvision's download-and-parse datasets in ember (issue 13): SVHN, STL10, VOCSegmentation,
VOCDetection, CocoDetection, CocoCaptions, CelebA, Flowers102, OxfordIIITPet, GTSRB, EuroSAT,
Caltech101, Caltech256, Food101, DTD, USPS, SEMEION, QMNIST, Country211, FER2013, Imagenette,
ImageNet, StanfordCars, Omniglot, Kitti, LFWPeople, LFWPairs, Cityscapes, and
wrap_dataset_for_transforms_v2 over them.

``fixtures/make_datasets.py`` writes tiny fixtures in each release's real on-disk format and
pictures what a library answers on them, plus each constructor's signature and what
``download=True`` would fetch (URLs, checksums, file names, folders; the download helpers are
replaced by recorders); ``fixtures/datasets.json`` holds torchvision 0.28's answers, which
ember must give case by case (the live variant re-asks torchvision where
``EMBER_TORCHVISION_PATH`` names it). The rest covers what the recording cannot: ember's own
``.mat`` reader, downloads from a local server (tests never touch the network) and archives
that try to escape their folder.
"""

import bz2
import io
import lzma
import os
import struct
import sys
import tarfile
import zlib

import numpy as np
import pytest

pytest.importorskip("PIL")

import ember  # noqa: E402
from ember.vision import datasets  # noqa: E402
from ember.vision.datasets.matfile import load_mat  # noqa: E402

from ._v2_recorded import load_recorder  # noqa: E402
from .test_datasets import http_root, md5  # noqa: E402,F401  (http_root is a fixture)

M = load_recorder("make_datasets")


@pytest.fixture(scope="module")
def ember_answers(tmp_path_factory):
    # ember's own COCO index, even where pycocotools is installed
    saved = {name: sys.modules.get(name, None) for name in ("pycocotools", "pycocotools.coco")}
    sys.modules.update(dict.fromkeys(saved))
    try:
        return M.run(datasets, str(tmp_path_factory.mktemp("fixtures")))
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@pytest.mark.parametrize("case", sorted(M.recorded()))
def test_matches_recorded_torchvision(case, ember_answers):
    assert ember_answers[case] == M.recorded()[case]


def test_matches_live_torchvision(tmp_path, ember_answers):
    want = M.live(tmp_path)
    assert want == M.recorded(), "re-record fixtures/datasets.json"
    assert ember_answers == want


def test_recording_covers_every_new_dataset():
    covered = {key.split("/")[0].lower() for key in M.recorded()}
    for name in ("svhn", "stl10", "vocsegmentation", "vocdetection", "coco", "celeba",
                 "flowers102", "pets", "gtsrb", "eurosat", "caltech101", "caltech256",
                 "food101", "dtd", "usps", "semeion", "qmnist", "country211", "fer2013",
                 "imagenette", "imagenet", "stanfordcars", "omniglot", "wrapv2", "kitti",
                 "lfwpeople", "lfwpairs", "cityscapes", "signatures",
                 "downloads"):
        assert name in covered, name


# --- the .mat reader ------------------------------------------------------------------------

def _element(order, kind, payload, small=False):
    if small:  # type and size in one word, data in the next four bytes
        return struct.pack(order + "I", (len(payload) << 16) | kind) + payload.ljust(4, b"\0")
    return struct.pack(order + "II", kind, len(payload)) + payload + b"\0" * (-len(payload) % 8)


def _mat(order, variables, version=0x0100):
    endian = b"IM" if order == "<" else b"MI"
    head = b"MATLAB 5.0 MAT-file".ljust(116, b" ") + b"\0" * 8
    head += struct.pack(order + "H", version) + endian
    return head + b"".join(variables)


def _matrix(order, mx_class, shape, name, data_kind, data, small=False, flags=0):
    body = (_element(order, 6, struct.pack(order + "II", mx_class | flags, 0))
            + _element(order, 5, struct.pack(order + "i" * len(shape), *shape))
            + _element(order, 1, name.encode(), small=len(name) <= 4)
            + _element(order, data_kind, data, small=small))
    return _element(order, 14, body)


@pytest.mark.parametrize("order", ["<", ">"])
def test_load_mat_reads_both_byte_orders_and_small_elements(tmp_path, order):
    values = np.arange(6, dtype=np.int16).reshape(2, 3) - 2
    matrix = _matrix(order, 10, (2, 3), "grid", 3,
                     values.astype(order + "i2").tobytes(order="F"))
    scalar = _matrix(order, 6, (1, 1), "y", 2, bytes([7]), small=True)  # double kept as uint8
    packed = zlib.compress(scalar)
    compressed = struct.pack(order + "II", 15, len(packed)) + packed
    path = tmp_path / "m.mat"
    path.write_bytes(_mat(order, [matrix, compressed]))
    mat = load_mat(path)
    np.testing.assert_array_equal(mat["grid"], values)
    assert mat["grid"].dtype == np.int16 and mat["grid"].dtype.isnative
    assert mat["y"].dtype == np.uint8 and mat["y"].shape == (1, 1) and mat["y"][0, 0] == 7
    assert mat["__header__"] == b"MATLAB 5.0 MAT-file"


def test_load_mat_char_and_complex_arrays(tmp_path):
    text = np.array([[ord(c) for c in "ab"], [ord(c) for c in "cd"]], dtype="<u2")
    chars = _matrix("<", 4, (2, 2), "s", 4, text.tobytes(order="F"))
    body = (_element("<", 6, struct.pack("<II", 6 | 0x0800, 0))
            + _element("<", 5, struct.pack("<ii", 1, 2)) + _element("<", 1, b"z", small=True)
            + _element("<", 9, np.array([1.0, 2.0]).tobytes())
            + _element("<", 9, np.array([0.5, -1.0]).tobytes()))
    path = tmp_path / "c.mat"
    path.write_bytes(_mat("<", [chars, _element("<", 14, body)]))
    mat = load_mat(path)
    assert mat["s"].tolist() == ["ab", "cd"]
    np.testing.assert_array_equal(mat["z"], [[1 + 0.5j, 2 - 1j]])


def test_load_mat_refuses_what_it_cannot_read(tmp_path):
    obj = _element("<", 14, _element("<", 6, struct.pack("<II", 3, 0))
                   + _element("<", 5, struct.pack("<ii", 1, 1))
                   + _element("<", 1, b"c", small=True))
    path = tmp_path / "obj.mat"
    path.write_bytes(_mat("<", [obj]))
    with pytest.raises(RuntimeError, match="'c' is an object"):
        load_mat(path)
    path.write_bytes(_mat("<", [], version=0x0200))
    with pytest.raises(RuntimeError, match="MATLAB 7.3 .HDF5."):
        load_mat(path)
    path.write_bytes(b"x" * 200)
    with pytest.raises(RuntimeError, match="not a MATLAB 5 file"):
        load_mat(path)
    good = _matrix("<", 9, (2, 2), "X", 2, bytes(4))
    path.write_bytes(_mat("<", [good])[:-6])
    with pytest.raises(RuntimeError, match="runs past the end"):
        load_mat(path)


def _struct_and_cells():
    synsets = np.zeros((3, 1), dtype=[("ID", object), ("WNID", object), ("kids", object)])
    synsets[0, 0] = (np.array([[1]], np.uint8), "n01", np.zeros((1, 0)))
    synsets[1, 0] = (np.array([[2]], np.uint8), "n02", np.zeros((0, 0)))
    synsets[2, 0] = (np.array([[3]], np.uint8), "n03", np.array([[1, 2]], np.uint8))
    names = np.empty((1, 2), dtype=object)
    names[0, 0], names[0, 1] = "AM General", np.array([[1.5]])
    one = np.zeros((1, 1), dtype=[("a", object)])
    one[0, 0] = (np.array([[7]], np.int16),)
    return {"synsets": synsets, "names": names, "one": one}


@pytest.mark.parametrize("compress", [False, True])
def test_load_mat_struct_and_cell_arrays_as_scipy(tmp_path, compress):
    # what scipy.io.loadmat 1.17 answers on the same file (checked live below when installed)
    path = tmp_path / "s.mat"
    M.write_mat(path, _struct_and_cells(), compress=compress)
    mat = load_mat(path)
    syn = mat["synsets"]
    assert syn.shape == (3, 1) and syn.dtype.names == ("ID", "WNID", "kids")
    assert syn[2, 0]["ID"].dtype == np.uint8 and syn[2, 0]["ID"].shape == (1, 1)
    assert syn[1, 0]["WNID"].tolist() == ["n02"] and syn[1, 0]["kids"].shape == (0, 0)
    assert mat["names"].dtype == object and mat["names"].shape == (1, 2)
    assert mat["names"][0, 0].tolist() == ["AM General"]
    sq = load_mat(path, squeeze_me=True)
    syn = sq["synsets"]
    assert syn.shape == (3,) and [type(v) for v in syn[0].tolist()[:2]] == [int, str]
    assert list(zip(*syn))[:2] == [(1, 2, 3), ("n01", "n02", "n03")]
    assert syn[0]["kids"].shape == (0,) and syn[2]["kids"].tolist() == [1, 2]
    assert sq["names"].tolist() == ["AM General", 1.5]
    assert sq["one"].shape == () and sq["one"]["a"] == 7 and type(sq["one"]["a"].item()) is int


def test_load_mat_struct_and_cell_arrays_live_scipy(tmp_path):
    sio = pytest.importorskip("scipy.io")
    path = tmp_path / "s.mat"
    M.write_mat(path, _struct_and_cells(), compress=True)
    for squeeze in (False, True):
        want, got = sio.loadmat(path, squeeze_me=squeeze), load_mat(path, squeeze_me=squeeze)
        for key in ("synsets", "names", "one"):
            assert repr(got[key]) == repr(want[key]) and type(got[key]) is type(want[key])


def test_load_mat_refuses_huge_or_deep_claims_before_allocating(tmp_path):
    path = tmp_path / "bad.mat"
    # a cell array claiming 2**40 elements in a few bytes
    cell = _element("<", 14, _element("<", 6, struct.pack("<II", 1, 0))
                    + _element("<", 5, struct.pack("<ii", 2**20, 2**20))
                    + _element("<", 1, b"c", small=True))
    path.write_bytes(_mat("<", [cell]))
    with pytest.raises(RuntimeError, match=r"cell 'c' claims shape \(1048576, 1048576\)"):
        load_mat(path)
    big = _matrix("<", 6, (2**20, 2**20), "X", 9, bytes(8))
    path.write_bytes(_mat("<", [big]))
    with pytest.raises(RuntimeError, match="has shape .* but 1 values"):
        load_mat(path)
    # a compressed element whose inner tag claims 4 GiB
    packed = zlib.compress(struct.pack("<II", 14, 2**32 - 8))
    path.write_bytes(_mat("<", [struct.pack("<II", 15, len(packed)) + packed]))
    with pytest.raises(RuntimeError, match="more than zlib can expand"):
        load_mat(path)
    # cells nested past the depth limit
    inner = _matrix("<", 6, (1, 1), "", 9, np.array([1.0]).tobytes())
    for _ in range(40):
        inner = _element("<", 14, _element("<", 6, struct.pack("<II", 1, 0))
                         + _element("<", 5, struct.pack("<ii", 1, 1))
                         + _element("<", 1, b"") + inner)
    path.write_bytes(_mat("<", [inner]))
    with pytest.raises(RuntimeError, match="nest more than 32 levels"):
        load_mat(path)
    repeated = _element("<", 14, _element("<", 6, struct.pack("<II", 2, 0))
                        + _element("<", 5, struct.pack("<ii", 1, 1))
                        + _element("<", 1, b"s", small=True)
                        + _element("<", 5, struct.pack("<i", 4), small=True)
                        + _element("<", 1, b"ab\0\0ab\0\0"))
    path.write_bytes(_mat("<", [repeated]))
    with pytest.raises(RuntimeError, match="empty or repeated field names"):
        load_mat(path)
    fieldless = _element("<", 14, _element("<", 6, struct.pack("<II", 2, 0))
                         + _element("<", 5, struct.pack("<ii", 1, 1))
                         + _element("<", 1, b"s", small=True)
                         + _element("<", 5, struct.pack("<i", 4), small=True)
                         + _element("<", 1, b""))
    path.write_bytes(_mat("<", [fieldless]))
    with pytest.raises(RuntimeError, match="struct 's' has no fields"):
        load_mat(path)


def _imagenet(tmp_path, monkeypatch):
    from ember.vision.datasets import imagenet

    sums = M.build_imagenet(str(tmp_path))
    monkeypatch.setattr(imagenet, "ARCHIVE_META", {k: (v[0], sums[v[0]])
                                                   for k, v in imagenet.ARCHIVE_META.items()})
    return imagenet


def test_imagenet_needs_no_scipy_and_torch_reads_its_meta_file(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    _imagenet(tmp_path, monkeypatch)
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    ds = datasets.ImageNet(str(tmp_path), split="val")
    assert ds.targets == [0, 0, 1, 2, 2] and ds.classes[1] == ("goldfish",)
    wnid_to_classes, val_wnids = torch.load(tmp_path / "meta.bin", weights_only=True)
    assert wnid_to_classes["n01440764"] == ("tench", "Tinca tinca")
    assert val_wnids == ["n01484850", "n01440764", "n01484850", "n01443537", "n01440764"]


def test_imagenet_devkit_without_synsets_is_named(tmp_path, monkeypatch):
    from ember.vision.datasets import imagenet

    data = tmp_path / "src" / "ILSVRC2012_devkit_t12" / "data"
    data.mkdir(parents=True)
    M.write_mat(data / "meta.mat", {"synsets": np.zeros((2, 1))})
    (data / "ILSVRC2012_validation_ground_truth.txt").write_text("1\n")
    with tarfile.open(tmp_path / "ILSVRC2012_devkit_t12.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "ILSVRC2012_devkit_t12", arcname="ILSVRC2012_devkit_t12")
    devkit = dict(imagenet.ARCHIVE_META)
    devkit["devkit"] = ("ILSVRC2012_devkit_t12.tar.gz",
                        md5(tmp_path / "ILSVRC2012_devkit_t12.tar.gz"))
    monkeypatch.setattr(imagenet, "ARCHIVE_META", devkit)
    with pytest.raises(RuntimeError, match="meta.mat holds no 'synsets' struct array"):
        imagenet.parse_devkit_archive(str(tmp_path))
    assert not (tmp_path / "meta.bin").exists()


def test_imagenet_refuses_wnids_that_are_not_folder_names(tmp_path, monkeypatch):
    imagenet = _imagenet(tmp_path, monkeypatch)
    with pytest.raises(RuntimeError, match="'../evil' is not a WordNet id"):
        imagenet.parse_val_archive(str(tmp_path), wnids=["../evil"] * 5)
    assert not (tmp_path / "evil").exists() and not (tmp_path / "val").exists()


def test_stanford_cars_needs_no_scipy_and_names_a_malformed_annotation_file(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    M.build_stanford_cars(str(tmp_path))
    ds = datasets.StanfordCars(str(tmp_path), split="train")
    assert [t for _, t in ds._samples] == [2, 0, 1] and ds.classes[2] == "Audi R8 Coupe 2012"
    annos = tmp_path / "stanford_cars" / "cars_test_annos_withlabels.mat"
    M.write_mat(annos, {"annotations": np.zeros((1, 2))})
    with pytest.raises(RuntimeError, match="no 'annotations' struct array with fields fname"):
        datasets.StanfordCars(str(tmp_path), split="test")


def test_kitti_names_a_malformed_label_line(tmp_path):
    M.build_kitti(str(tmp_path))
    label = tmp_path / "Kitti" / "raw" / "training" / "label_2" / "000001.txt"
    label.write_text("Car 0.5 2 1.55 10 20 30\n")
    ds = datasets.Kitti(str(tmp_path))
    index = [os.path.basename(p) for p in ds.images].index("000001.png")
    with pytest.raises(RuntimeError, match="000001.txt, line 1: expected 15 space-separated"):
        ds[index]


@pytest.mark.parametrize("name, text, match", [
    ("peopleDevTest.txt", "1\nAaron_Peirsol\t999999999999\n", "claims 999999999999 images"),
    ("pairs.txt", "999999999999\t0\n", "claims 999999999999 folds"),
])
def test_lfw_refuses_list_files_claiming_absurd_counts(tmp_path, name, text, match):
    sums = M.build_lfw(str(tmp_path))
    (tmp_path / "lfw-py" / name).write_text(text)
    sums[name] = md5(tmp_path / "lfw-py" / name)
    cls = datasets.LFWPeople if name.startswith("people") else datasets.LFWPairs
    with M.with_md5s(datasets, "lfw", sums), pytest.raises(RuntimeError, match=match):
        cls(str(tmp_path), split="test" if name.startswith("people") else "10fold")


def test_svhn_needs_no_scipy(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    sums = M.build_svhn(str(tmp_path))
    with M.with_md5s(datasets, "svhn", sums):
        ds = datasets.SVHN(str(tmp_path), split="test")
    assert ds.data.shape == (3, 3, 32, 32) and ds.labels.dtype == np.int64
    assert ds.labels.tolist() == [0, 3, 1]


# --- downloads (from a local server) and archive safety -------------------------------------

def test_svhn_download(tmp_path, http_root, monkeypatch):  # noqa: F811
    served, url = http_root
    sums = M.build_svhn(str(served))
    monkeypatch.setattr(datasets.SVHN, "split_list", {
        "train": [url + "train_32x32.mat", "train_32x32.mat", sums["train"]],
        "test": [url + "test_32x32.mat", "test_32x32.mat", sums["test"]]})
    ds = datasets.SVHN(str(tmp_path / "dl"), split="train", download=True)
    assert len(ds) == 4 and ds[0][1] == 0
    (served / "test_32x32.mat").write_bytes(b"damaged")
    with pytest.raises(RuntimeError, match="corrupt: md5"):
        datasets.SVHN(str(tmp_path / "dl"), split="test", download=True)


def test_stl10_download_extracts_the_archive(tmp_path, http_root, monkeypatch):  # noqa: F811
    served, url = http_root
    sums = M.build_stl10(str(tmp_path / "src"))
    with tarfile.open(served / "stl.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "stl10_binary", arcname="stl10_binary")
    monkeypatch.setattr(datasets.STL10, "url", url + "stl.tar.gz")
    monkeypatch.setattr(datasets.STL10, "tgz_md5", md5(served / "stl.tar.gz"))
    with M.with_md5s(datasets, "stl10", sums):
        ds = datasets.STL10(str(tmp_path / "dl"), split="test", download=True)
    assert ds.labels.tolist() == [2, 2, 8] and ds.classes[8] == "ship"


def test_archive_member_escaping_the_root_is_refused(tmp_path, http_root, monkeypatch):  # noqa: F811
    served, url = http_root
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    (served / "evil.tar.gz").write_bytes(buf.getvalue())
    monkeypatch.setattr(datasets.STL10, "url", url + "evil.tar.gz")
    monkeypatch.setattr(datasets.STL10, "tgz_md5", md5(served / "evil.tar.gz"))
    (tmp_path / "dl").mkdir()
    with pytest.raises(tarfile.TarError):
        datasets.STL10(str(tmp_path / "dl"), download=True)
    assert not (tmp_path / "escaped.txt").exists()


def test_qmnist_downloads_and_decompresses_xz(tmp_path, http_root, monkeypatch):  # noqa: F811
    served, url = http_root
    M.build_qmnist(str(tmp_path / "src"))
    raw = tmp_path / "src" / "QMNIST" / "raw"
    resources = []
    for name in ("qmnist-test-images-idx3-ubyte", "qmnist-test-labels-idx2-int"):
        (served / (name + ".xz")).write_bytes(lzma.compress((raw / name).read_bytes()))
        resources.append((url + name + ".xz", md5(served / (name + ".xz"))))
    monkeypatch.setattr(datasets.QMNIST, "resources", {"test": resources})
    ds = datasets.QMNIST(str(tmp_path / "dl"), what="test10k", download=True)
    assert tuple(ds.targets.shape) == (3, 8) and ds.targets.dtype == ember.int64
    assert (tmp_path / "dl" / "QMNIST" / "raw" / "qmnist-test-images-idx3-ubyte").is_file()


def test_extract_archive_single_compressed_files(tmp_path):
    from ember.vision.datasets.utils import extract_archive

    for suffix, pack in ((".bz2", bz2.compress), (".xz", lzma.compress)):
        src = tmp_path / f"data{suffix}"
        src.write_bytes(pack(b"payload"))
        (tmp_path / "out").mkdir(exist_ok=True)
        out = extract_archive(src, tmp_path / "out" if suffix == ".xz" else None)
        with open(out, "rb") as f:
            assert f.read() == b"payload"
        assert os.path.basename(out) == "data"


def test_qmnist_missing_files_are_named(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found.*qmnist-train-images-idx3-ubyte"):
        datasets.QMNIST(str(tmp_path))


def test_google_drive_download_address(tmp_path, monkeypatch):
    from ember.vision.datasets import utils

    seen = []
    monkeypatch.setattr(utils, "download_url", lambda *args: seen.append(args))
    utils.download_file_from_google_drive("abc_1", tmp_path, "f.txt", "0" * 32)
    assert seen == [("https://drive.usercontent.google.com/download?id=abc_1&export=download"
                     "&confirm=t", tmp_path, "f.txt", "0" * 32)]
