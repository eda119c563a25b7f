"""The remaining torchvision datasets of issue 13 in ember: Flickr8k, Flickr30k, SBU,
WIDERFace, Places365, INaturalist, LSUN/LSUNClass, the optical-flow sets FlyingChairs,
FlyingThings3D, Sintel, KittiFlow and HD1K, and the stereo sets (CarlaStereo, Kitti2012Stereo,
Kitti2015Stereo, Middlebury2014Stereo, CREStereo, FallingThingsStereo, SceneFlowStereo,
SintelStereo, InStereo2k, ETH3DStereo), FGVCAircraft, SUN397, CLEVRClassification,
RenderedSST2, MovingMNIST, PCAM (its HDF5 files read through a stand-in ``h5py``),
PhotoTour and SBDataset (whose sparse ``.mat`` boundaries ember's reader now reads; the
recording's torchvision read them with SciPy).

``fixtures/make_datasets_more.py`` writes tiny fixtures in each release's on-disk layout and
pictures what a library answers on them (lengths, attributes, every sample's pixels, flows and
targets, reprs, errors, constructor signatures, what ``download=True`` fetches);
``fixtures/datasets_more.json`` holds torchvision 0.28's answers, which ember must give case by
case (the live variant re-asks torchvision where ``EMBER_TORCHVISION_PATH`` names it). The rest
covers what the recording cannot: KITTI's 16-bit flow PNGs (torchvision's decoder is compiled
and does not load beside the CPU oracle; the values are checked against its formula in torch),
malformed annotation and flow files, LSUN without ``lmdb`` and SBU's download from a local
server.
"""

import io
import os
import struct
import tarfile

import numpy as np
import pytest

pytest.importorskip("PIL")

from ember.vision import datasets  # noqa: E402
from ember.vision.datasets import _flow_files  # noqa: E402

from ._v2_recorded import load_recorder  # noqa: E402
from .test_datasets import http_root, md5  # noqa: E402,F401  (http_root is a fixture)

M = load_recorder("make_datasets_more")


@pytest.fixture(scope="module")
def ember_answers(tmp_path_factory):
    return M.run(datasets, str(tmp_path_factory.mktemp("fixtures")))


@pytest.mark.parametrize("case", sorted(M.recorded()))
def test_matches_recorded_torchvision(case, ember_answers):
    assert ember_answers[case] == M.recorded()[case]


def test_matches_live_torchvision(tmp_path, ember_answers):
    want = M.live(tmp_path)
    assert want == M.recorded(), "re-record fixtures/datasets_more.json"
    assert ember_answers == want


def test_recording_covers_every_new_dataset():
    covered = {key.split("/")[0] for key in M.recorded()}
    assert {"flickr8k", "flickr30k", "sbu", "widerface", "places365", "inaturalist", "lsun",
            "chairs", "things", "sintel", "kitti_flow", "hd1k", "stereo", "fgvc", "sun397", "clevr",
            "sst2", "movingmnist", "pcam", "phototour", "sbd", "wrapv2", "signatures",
            "downloads"} <= covered
    assert set(M.recorded()["signatures"]) == set(M.NAMES)


# --- KITTI's 16-bit flow PNGs ----------------------------------------------------------------

def _torchvision_flow(samples):
    """torchvision's _read_16bits_png_with_flow_and_valid_mask on decoded (H, W, 3) samples."""
    torch = pytest.importorskip("torch")
    decoded = torch.from_numpy(samples.astype(np.int32)).permute(2, 0, 1).to(torch.float32)
    return ((decoded[:2] - 2**15) / 64).numpy(), decoded[2].bool().numpy()


@pytest.mark.parametrize("name", ["KittiFlow", "HD1K"])
def test_flow_png_samples_decode_as_torchvision(tmp_path, name):
    if name == "KittiFlow":
        M.build_kitti_flow(str(tmp_path))
        seeds = [0, 1]
    else:
        M.build_hd1k(str(tmp_path))
        seeds = [0, 1, 10]  # the first flows of each sequence's pairs
    dataset = getattr(datasets, name)(str(tmp_path))
    assert len(dataset) == len(seeds)
    for index, seed in enumerate(seeds):
        img1, img2, flow, valid = dataset[index]
        want_flow, want_valid = _torchvision_flow(M.flow_png_samples(seed))
        assert img1.mode == img2.mode == "RGB"
        assert flow.dtype == np.float32 and flow.shape == want_flow.shape
        np.testing.assert_array_equal(flow, want_flow)
        assert valid.dtype == np.bool_
        np.testing.assert_array_equal(valid, want_valid)


def test_png_channels_reads_16_bit_rgba_and_8_bit(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 2**16, (4, 6, 4)).astype(np.uint16)
    M.write_png16(tmp_path / "rgba.png", rgba)
    got = _flow_files._png_channels(tmp_path / "rgba.png")
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, rgba)
    rgb8 = rng.integers(0, 256, (4, 6, 3)).astype(np.uint8)
    Image.fromarray(rgb8).save(tmp_path / "rgb8.png")
    np.testing.assert_array_equal(_flow_files._png_channels(tmp_path / "rgb8.png"), rgb8)
    Image.fromarray(rgb8[..., 0]).save(tmp_path / "gray.png")
    with pytest.raises(ValueError, match="three channels .u, v, valid.* is L"):
        _flow_files._read_16bits_png_with_flow_and_valid_mask(tmp_path / "gray.png")


# --- malformed flow files ------------------------------------------------------------------

def test_flo_reader_checks_magic_and_size_before_allocating(tmp_path):
    path = tmp_path / "f.flo"
    flow = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    M.write_flo(path, flow)
    np.testing.assert_array_equal(_flow_files._read_flo(path), flow)
    path.write_bytes(b"PIEX" + bytes(8))
    with pytest.raises(ValueError, match="Magic number incorrect"):
        _flow_files._read_flo(path)
    path.write_bytes(b"PIEH\x01\x00")
    with pytest.raises(ValueError, match="needs 12 bytes, the file has 6"):
        _flow_files._read_flo(path)
    path.write_bytes(b"PIEH" + struct.pack("<ii", 4, 3) + bytes(8 * 12 - 4))  # 4 bytes short
    with pytest.raises(ValueError, match="a 4x3 flow needs 108 bytes, the file has 104"):
        _flow_files._read_flo(path)
    path.write_bytes(b"PIEH" + struct.pack("<ii", 2**30, 2**30))  # would be 8 EiB
    with pytest.raises(ValueError, match="needs .* bytes, the file has 12"):
        _flow_files._read_flo(path)
    path.write_bytes(b"PIEH" + struct.pack("<ii", -1, 3))
    with pytest.raises(ValueError, match="a -1x3 flow"):
        _flow_files._read_flo(path)


def test_pfm_reader_checks_header_and_size(tmp_path):
    path = tmp_path / "f.pfm"
    data = np.arange(3 * 4 * 3, dtype=np.float32).reshape(3, 4, 3)
    for little in (True, False):
        M.write_pfm(path, data, little_endian=little)
        np.testing.assert_array_equal(_flow_files._read_pfm(path),
                                      data.transpose(2, 0, 1)[:2])
    M.write_pfm(path, data[..., 0])
    np.testing.assert_array_equal(_flow_files._read_pfm(path, slice_channels=1),
                                  data[None, ..., 0])
    path.write_bytes(b"P6\n4 3\n255\n")
    with pytest.raises(ValueError, match="not PF or Pf"):
        _flow_files._read_pfm(path)
    path.write_bytes(b"PF\n4x3\n-1.0\n")
    with pytest.raises(ValueError, match="Malformed PFM header"):
        _flow_files._read_pfm(path)
    path.write_bytes(b"PF\n4 3\nlittle\n")
    with pytest.raises(ValueError, match="scale line is not a number"):
        _flow_files._read_pfm(path)
    path.write_bytes(b"PF\n100000 100000\n-1.0\n" + bytes(16))
    with pytest.raises(ValueError, match="need 120000000000 bytes after the header, the file "
                                         "has 16"):
        _flow_files._read_pfm(path)


def test_flying_chairs_split_file_shorter_than_the_flows(tmp_path):
    M.build_chairs(str(tmp_path))
    (tmp_path / "FlyingChairs" / "FlyingChairs_train_val.txt").write_text("1\n2\n")
    with pytest.raises(RuntimeError, match=r"4 .flo files need as many lines .*\(it has 2\)"):
        datasets.FlyingChairs(str(tmp_path))
    (tmp_path / "FlyingChairs" / "FlyingChairs_train_val.txt").write_text("1\ntrain\n1\n1\n")
    with pytest.raises(RuntimeError, match="one integer split id"):
        datasets.FlyingChairs(str(tmp_path))


# --- malformed annotation files --------------------------------------------------------------

@pytest.mark.parametrize("text, line, expected", [
    ("a.jpg\ntwo\n1 2 3 4 0 0 0 0 0 0\n", 2, "the number of faces"),
    ("a.jpg\n2\n1 2 3 4 0 0 0 0 0 0\n", 4, "10 space-separated integers"),  # cut short
    ("a.jpg\n1\n1 2 3 4 0 0 0\n", 3, "10 space-separated integers"),
    ("a.jpg\n1\n1 2 3 4 0 0 0 0 0 x\n", 3, "10 space-separated integers"),
    ("a.jpg\n", 2, "the number of faces"),
    ("a.jpg\n-1\n", 2, "the number of faces"),
])
def test_widerface_malformed_box_file(tmp_path, text, line, expected):
    M.build_widerface(str(tmp_path))
    (tmp_path / "widerface" / "wider_face_split" / "wider_face_train_bbx_gt.txt").write_text(text)
    with pytest.raises(RuntimeError, match=f"wider_face_train_bbx_gt.txt, line {line}: "
                                           f"expected {expected}"):
        datasets.WIDERFace(str(tmp_path))


def test_widerface_ignores_trailing_blank_lines(tmp_path):
    M.build_widerface(str(tmp_path))
    path = tmp_path / "widerface" / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    path.write_text(path.read_text() + "\n\n")
    assert len(datasets.WIDERFace(str(tmp_path), split="val")) == 1


def test_flickr_malformed_annotations(tmp_path):
    M.build_flickr(str(tmp_path))
    with pytest.raises(ValueError, match=r"bad.token, line 1: expected '<image>#<n><TAB>"):
        datasets.Flickr30k(str(tmp_path / "30k" / "images"), str(tmp_path / "30k" / "bad.token"))
    page = tmp_path / "8k" / "captions.html"
    page.write_text(page.read_text().replace("1001773457", "999"))
    with pytest.raises(FileNotFoundError, match=r"no image matches .*999_\*.jpg"):
        datasets.Flickr8k(str(tmp_path / "8k" / "images"), str(page))
    page.write_text("<table><tr><td><a>not-a-url</a></td></tr></table>")
    with pytest.raises(RuntimeError, match="'not-a-url' is not an image URL"):
        datasets.Flickr8k(str(tmp_path / "8k" / "images"), str(page))


@pytest.mark.parametrize("file, text, expected", [
    ("categories_places365.txt", "/a/airfield zero\n", "category file .*line 1: expected "
                                                       "'<class name> <index>'"),
    ("places365_val.txt", "a.jpg 1\nb.jpg two\n", "file list .*line 2: expected '<image path> "
                                                  r"\[<class index>\]'"),
    ("places365_val.txt", "", "lists no images"),
])
def test_places365_malformed_lists(tmp_path, monkeypatch, file, text, expected):
    M.build_places365(str(tmp_path))
    (tmp_path / file).write_text(text)
    monkeypatch.setattr(datasets.Places365, "_check_integrity", lambda *args: True)
    with pytest.raises(RuntimeError, match=expected):
        datasets.Places365(str(tmp_path), split="val")


# --- LSUN ----------------------------------------------------------------------------------

def test_lsun_names_the_missing_lmdb_package(tmp_path):
    try:
        import lmdb  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("lmdb is installed")
    with pytest.raises(ModuleNotFoundError, match="need the lmdb package: pip install lmdb"):
        datasets.LSUN(str(tmp_path), classes=["bedroom_val"])
    with pytest.raises(ModuleNotFoundError, match="pip install lmdb"):
        datasets.LSUNClass(str(tmp_path / "bedroom_val_lmdb"))


def test_lsun_unknown_split_string_is_named():
    # torchvision reads such a string as a list of one-letter class names and complains about ''
    with pytest.raises(ValueError, match="Unknown value 'bedroom' for argument classes"):
        datasets.LSUN("data", classes="bedroom")


# --- SBU download --------------------------------------------------------------------------

def test_sbu_downloads_archive_and_photos_skipping_missing_ones(
        tmp_path, http_root, monkeypatch, capsys):  # noqa: F811 (http_root is a fixture)
    from PIL import Image

    served, url = http_root
    photos = {"1_a.jpg": (10, 20, 30), "2_b.jpg": None, "3_c.jpg": (200, 100, 0)}  # 2 is gone
    for name, colour in photos.items():
        if colour is not None:
            Image.new("RGB", (16, 16), colour).save(served / name)
    urls = "".join(f"{url}{name}\n" for name in photos).encode()
    captions = b"first\nsecond\nthird\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("dataset/SBU_captioned_photo_dataset_urls.txt", urls),
                           ("dataset/SBU_captioned_photo_dataset_captions.txt", captions)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (served / "sbu.tar.gz").write_bytes(buffer.getvalue())
    monkeypatch.setattr(datasets.SBU, "url", url + "sbu.tar.gz")
    monkeypatch.setattr(datasets.SBU, "md5_checksum", md5(served / "sbu.tar.gz"))
    sbu = datasets.SBU(str(tmp_path / "sbu"))
    assert sbu.photos == ["1_a.jpg", "3_c.jpg"] and sbu.captions == ["first", "third"]
    image, caption = sbu[1]
    assert caption == "third"
    np.testing.assert_array_equal(np.asarray(image),
                                  np.asarray(Image.open(served / "3_c.jpg").convert("RGB")))
    assert os.path.exists(tmp_path / "sbu" / "SBUCaptionedPhotoDataset.tar.gz")


# --- stereo files ----------------------------------------------------------------------------

def test_stereo_malformed_files(tmp_path):
    M.build_stereo(str(tmp_path))
    settings = next((tmp_path / "FallingThings" / "mixed").rglob("_camera_settings.json"))
    settings.write_text('{"camera_settings": [{"intrinsic_settings": {"fy": 1.0}}]}')
    with pytest.raises(RuntimeError, match="expected camera_settings.0..intrinsic_settings.fx"):
        datasets.FallingThingsStereo(str(tmp_path), variant="mixed")[0]
    from PIL import Image

    disparity = tmp_path / "Sintel" / "training" / "disparities" / "alley_1" / "frame_0001.png"
    Image.new("L", (8, 6)).save(disparity)
    sintel = datasets.SintelStereo(str(tmp_path))
    with pytest.raises(ValueError, match="must be an RGB image, got shape .6, 8."):
        sintel[0]
    pfm = tmp_path / "carla-highres" / "trainingF" / "s1" / "disp0GT.pfm"
    pfm.write_bytes(pfm.read_bytes()[:-8])
    with pytest.raises(ValueError, match="Invalid PFM file .*disp0GT.pfm"):
        datasets.CarlaStereo(str(tmp_path))[0]


def test_classification_sets_name_inconsistent_annotations(tmp_path):
    M.build_classification(str(tmp_path))
    data = tmp_path / "fgvc-aircraft-2013b" / "data"
    (data / "images_variant_test.txt").write_text("1000002 Cessna 172\n1000001 A380\n")
    with pytest.raises(RuntimeError, match="line 2: expected '<image id> <class name>' with a "
                                           "class of variants.txt, got '1000001 A380'"):
        datasets.FGVCAircraft(str(tmp_path), split="test")
    (tmp_path / "SUN397" / "c" / "cave").mkdir(parents=True)
    (tmp_path / "SUN397" / "a" / "abbey" / "sun_aaa.jpg").rename(
        tmp_path / "SUN397" / "c" / "cave" / "sun_aaa.jpg")
    with pytest.raises(RuntimeError, match="lies in 'cave', which ClassName.txt does not list"):
        datasets.SUN397(str(tmp_path))
    scenes = tmp_path / "clevr" / "CLEVR_v1.0" / "scenes" / "CLEVR_val_scenes.json"
    scenes.write_text('{"scenes": []}')
    with pytest.raises(RuntimeError, match="has no scene for CLEVR_val_000000.png"):
        datasets.CLEVRClassification(str(tmp_path), split="val")


def test_moving_mnist_refuses_other_arrays_and_pickles(tmp_path):
    folder = tmp_path / "MovingMNIST"
    folder.mkdir()
    np.save(folder / "mnist_test_seq.npy", np.zeros((20, 64, 64), np.uint8))
    with pytest.raises(RuntimeError, match=r"shape \(20, 64, 64\); expected \(frames, "
                                           r"sequences, height, width\)"):
        datasets.MovingMNIST(str(tmp_path))
    np.save(folder / "mnist_test_seq.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle=False"):
        datasets.MovingMNIST(str(tmp_path))


def test_phototour_reads_torchvisions_cache_and_names_bad_input(tmp_path):
    torch = pytest.importorskip("torch")
    patches = np.arange(3 * 64 * 64, dtype=np.uint8).reshape(3, 64, 64)
    matches = np.array([[0, 2, 1], [1, 0, 0]])
    torch.save((torch.from_numpy(patches), torch.tensor([5, 6, 5]), torch.from_numpy(matches)),
               tmp_path / "liberty.pt")  # what torchvision's first load writes
    tour = datasets.PhotoTour(str(tmp_path), name="liberty", train=False)
    p1, p2, same = tour[0]
    np.testing.assert_array_equal(p1.numpy(), patches[0])
    np.testing.assert_array_equal(p2.numpy(), patches[2])
    assert int(same) == 1 and len(tour) == 2
    assert len(datasets.PhotoTour(str(tmp_path), name="liberty")) == 3
    with pytest.raises(ValueError, match="Unknown PhotoTour name 'paris': expected one of "
                                         "liberty, "):
        datasets.PhotoTour(str(tmp_path), name="paris")
    M.build_phototour(str(tmp_path))
    (tmp_path / "notredame" / "info.txt").write_text("7 0\nseven 0\n")
    with pytest.raises(RuntimeError, match="info.txt, line 2: expected 1 integers, got "
                                           "'seven 0'"):
        datasets.PhotoTour(str(tmp_path), name="notredame")


# --- sparse .mat matrices (SBDataset) --------------------------------------------------------

@pytest.mark.parametrize("pr_dtype", ["<f8", "|u1", "<f4"])
def test_load_mat_sparse_keeps_the_stored_type(tmp_path, pr_dtype):
    from ember.vision.datasets.matfile import load_mat

    dense = np.array([[0, 2, 0, 0], [1, 0, 3, 0], [0, 0, 4, 0]])
    body = M._sparse_matrix(dense, pr_dtype)
    # name the variable: the element's name sub-element is empty; rebuild with "m"
    element = M._base._mat_element
    named = body.replace(element(1, b""), element(1, b"m"), 1)
    named = struct.pack("<II", 14, len(named) - 8) + named[8:]
    header = b"MATLAB 5.0 MAT-file".ljust(116, b" ") + bytes(8) + struct.pack("<H", 0x0100)
    path = tmp_path / "s.mat"
    path.write_bytes(header + b"IM" + named)
    m = load_mat(path)["m"]
    assert m.shape == (3, 4) and m.nnz == 4 and m.dtype == np.dtype(pr_dtype).newbyteorder("=")
    np.testing.assert_array_equal(m.toarray(), dense)
    assert load_mat(path, squeeze_me=True)["m"].shape == (3, 4)  # scipy keeps it 2-D too


def test_load_mat_sparse_refuses_inconsistent_indices(tmp_path):
    from ember.vision.datasets.matfile import load_mat

    element = M._base._mat_element
    header = b"MATLAB 5.0 MAT-file".ljust(116, b" ") + bytes(8) + struct.pack("<H", 0x0100)

    def sparse(rows, starts, values, shape=(2, 2)):
        body = (element(6, struct.pack("<II", 5, 2))
                + element(5, np.array(shape, "<i4").tobytes()) + element(1, b"m")
                + element(5, np.array(rows, "<i4").tobytes())
                + element(5, np.array(starts, "<i4").tobytes())
                + element(9, np.array(values, "<f8").tobytes()))
        path = tmp_path / "bad.mat"
        path.write_bytes(header + b"IM" + element(14, body))
        return path

    with pytest.raises(RuntimeError, match="'m' has row indices outside 2 rows"):
        load_mat(sparse([0, 5], [0, 1, 2], [1.0, 2.0]))
    with pytest.raises(RuntimeError, match="'m' has 2 column starts for 2 columns"):
        load_mat(sparse([0, 1], [0, 2], [1.0, 2.0]))
    with pytest.raises(RuntimeError, match="'m' has inconsistent indices"):
        load_mat(sparse([0, 1], [0, 2, 1], [1.0, 2.0]))
    with pytest.raises(RuntimeError, match="'m' has inconsistent indices"):
        load_mat(sparse([0, 1], [0, 1, 2], [1.0]))


def test_sbd_reads_without_scipy_and_names_bad_mat_files(tmp_path, monkeypatch):
    import sys

    M.build_sbd(str(tmp_path))
    monkeypatch.setitem(sys.modules, "scipy", None)  # ember never asks for it
    img, boundaries = datasets.SBDataset(str(tmp_path))[0]
    assert boundaries.shape == (20, 16, 32) and boundaries.dtype == np.uint8
    M._base.write_mat(tmp_path / "cls" / "2008_000002.mat", {"other": np.zeros((2, 2))})
    with pytest.raises(RuntimeError, match="2008_000002.mat has no GTcls struct"):
        datasets.SBDataset(str(tmp_path))[0]
