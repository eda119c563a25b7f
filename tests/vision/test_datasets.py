"""Vision datasets read back small real files exactly; download against a local HTTP server."""

import functools
import gzip
import hashlib
import http.server
import io
import os
import pickle
import tarfile
import threading

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

import ember  # noqa: E402
from ember.vision import datasets, transforms  # noqa: E402


def idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int32: 0x0C}[arr.dtype.type]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def mnist_arrays(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(
        np.uint8)


def write_mnist(folder, prefix, images, labels, gz):
    os.makedirs(folder, exist_ok=True)
    for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
        name = os.path.join(folder, f"{prefix}-{kind}-ubyte")
        data = idx_bytes(arr)
        if gz:
            with gzip.open(name + ".gz", "wb") as f:
                f.write(data)
        else:
            with open(name, "wb") as f:
                f.write(data)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
def test_mnist_reads_idx_files_exactly(tmp_path, gz, cls):
    train_x, train_y = mnist_arrays(5, 0)
    test_x, test_y = mnist_arrays(3, 1)
    raw = tmp_path / cls.__name__ / "raw"
    write_mnist(raw, "train", train_x, train_y, gz)
    write_mnist(raw, "t10k", test_x, test_y, gz)
    ds = cls(str(tmp_path), train=True)
    assert ds.data.dtype == ember.uint8 and tuple(ds.data.shape) == (5, 28, 28)
    assert ds.targets.dtype == ember.int64
    np.testing.assert_array_equal(ds.data.numpy(), train_x)
    np.testing.assert_array_equal(ds.targets.numpy(), train_y)
    img, label = ds[2]
    assert isinstance(img, Image.Image) and img.mode == "L" and label == int(train_y[2])
    np.testing.assert_array_equal(np.asarray(img), train_x[2])
    test = cls(str(tmp_path), train=False, transform=transforms.ToTensor(),
               target_transform=lambda t: t + 100)
    x, y = test[1]
    assert len(test) == 3 and y == int(test_y[1]) + 100
    np.testing.assert_allclose(x.numpy()[0], test_x[1] / 255.0, rtol=1e-6)
    assert len(ds.classes) == 10 and ds.class_to_idx[ds.classes[3]] == 3
    assert "Split: Train" in repr(ds) and "Number of datapoints: 5" in repr(ds)


def test_mnist_missing_and_corrupt_files(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        datasets.MNIST(str(tmp_path))
    x, y = mnist_arrays(4)
    raw = tmp_path / "MNIST" / "raw"
    write_mnist(raw, "train", x, y, gz=False)
    write_mnist(raw, "t10k", x, y, gz=False)
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte is truncated or corrupt"):
        datasets.MNIST(str(tmp_path))
    path.write_bytes(b"\x08\x08garbage")
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte is not an IDX file"):
        datasets.MNIST(str(tmp_path))


def test_idx_files_are_read_no_further_than_their_header_promises(tmp_path):
    # a crafted .gz: a 2-byte promise followed by 64 MiB of zeros (compressed to ~64 kB)
    # is refused after reading 3 bytes of data, not inflated whole; a header promising
    # 2**40 bytes is refused before anything is read
    import gzip

    from ember.vision.datasets.mnist import read_idx_file

    bomb = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(bomb, "wb") as fh:
        fh.write(b"\0\0\x08\x01" + (2).to_bytes(4, "big"))
        for _ in range(64):
            fh.write(bytes(1 << 20))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(RuntimeError, match=r"promises shape \(2,\) \(2 bytes of data\) but it "
                                           r"holds more than 2 bytes"):
        read_idx_file(str(bomb))
    huge = tmp_path / "huge-idx3-ubyte"
    huge.write_bytes(b"\0\0\x08\x03" + b"".join((1 << 14).to_bytes(4, "big")
                                                 for _ in range(3)))
    with pytest.raises(RuntimeError, match="claims shape .* more than .* crafted"):
        read_idx_file(str(huge))
    exact = tmp_path / "ok-idx1-ubyte"
    exact.write_bytes(b"\0\0\x08\x01" + (3).to_bytes(4, "big") + bytes([7, 8, 9]))
    assert read_idx_file(str(exact)).tolist() == [7, 8, 9]


def cifar_batch(n, seed, label_key="labels"):
    rng = np.random.default_rng(seed)
    return {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            label_key: rng.integers(0, 10, n).tolist(), "batch_label": b"x"}


def md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def make_cifar(root, monkeypatch):
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    batches = {}
    for i, name in enumerate(["data_batch_1", "data_batch_2", "test_batch"]):
        batches[name] = cifar_batch(3 + i, i)
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(batches[name], f)
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    monkeypatch.setattr(datasets.CIFAR10, "train_list",
                        [[n, md5(os.path.join(folder, n))] for n in ["data_batch_1", "data_batch_2"]])
    monkeypatch.setattr(datasets.CIFAR10, "test_list",
                        [["test_batch", md5(os.path.join(folder, "test_batch"))]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                                   "md5": md5(os.path.join(folder, "batches.meta"))})
    return folder, batches


def test_cifar10_reads_pickled_batches_exactly(tmp_path, monkeypatch):
    folder, batches = make_cifar(str(tmp_path), monkeypatch)
    ds = datasets.CIFAR10(str(tmp_path), train=True)
    want = np.vstack([batches["data_batch_1"]["data"], batches["data_batch_2"]["data"]])
    want = want.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8
    assert ds.data.shape == (7, 32, 32, 3)
    np.testing.assert_array_equal(ds.data, want)
    assert ds.targets == batches["data_batch_1"]["labels"] + batches["data_batch_2"]["labels"]
    assert ds.classes[2] == "class2" and ds.class_to_idx["class9"] == 9
    img, label = ds[4]
    assert img.mode == "RGB" and img.size == (32, 32)
    np.testing.assert_array_equal(np.asarray(img), want[4])
    assert len(datasets.CIFAR10(str(tmp_path), train=False)) == 5


class _RunsCode:
    """What a crafted batch would hold: unpickling it calls a function of the attacker's choice."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar_batch_that_names_other_globals_is_refused(tmp_path, monkeypatch, protocol):
    folder, _ = make_cifar(str(tmp_path), monkeypatch)
    marker = tmp_path / "ran"
    batch = cifar_batch(3, 0)
    batch["batch_label"] = _RunsCode(str(marker))
    with open(os.path.join(folder, "data_batch_1"), "wb") as f:
        pickle.dump(batch, f, protocol=protocol)
    monkeypatch.setattr(datasets.CIFAR10, "train_list",
                        [["data_batch_1", None], ["data_batch_2", None]])
    with pytest.raises(RuntimeError, match="Refusing to read CIFAR file .*data_batch_1.*global "
                                           "io.open"):
        datasets.CIFAR10(str(tmp_path))
    assert not marker.exists()
    # the arrays, lists and strings of a real batch still load, at either protocol
    with open(os.path.join(folder, "data_batch_1"), "wb") as f:
        pickle.dump(cifar_batch(3, 0), f, protocol=protocol)
    assert len(datasets.CIFAR10(str(tmp_path))) == 7


def test_cifar_corrupt_file_is_named(tmp_path, monkeypatch):
    folder, _ = make_cifar(str(tmp_path), monkeypatch)
    path = os.path.join(folder, "data_batch_2")
    with open(path, "r+b") as f:
        f.truncate(100)
    monkeypatch.setattr(datasets.CIFAR10, "train_list",
                        [["data_batch_1", None], ["data_batch_2", None]])
    with pytest.raises(RuntimeError, match="data_batch_2"):
        datasets.CIFAR10(str(tmp_path))
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        datasets.CIFAR100(str(tmp_path))


def test_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    pixels = {}
    for cls in ["dog", "cat"]:
        os.makedirs(tmp_path / cls)
        for k in range(2):
            arr = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
            Image.fromarray(arr).save(tmp_path / cls / f"{k}.png")
            pixels[(cls, k)] = arr
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(str(tmp_path), transform=transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 4 and ds.targets == [0, 0, 1, 1] and ds.imgs == ds.samples
    x, y = ds[3]
    assert y == 1 and tuple(x.shape) == (3, 5, 7)
    np.testing.assert_allclose(x.numpy(), pixels[("dog", 1)].transpose(2, 0, 1) / 255.0,
                               rtol=1e-6)
    os.makedirs(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty"):
        datasets.ImageFolder(str(tmp_path))
    assert len(datasets.ImageFolder(str(tmp_path), allow_empty=True)) == 4
    os.makedirs(tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(str(tmp_path / "none"))


def test_fakedata_is_deterministic_per_index():
    ds = datasets.FakeData(size=3, image_size=(3, 8, 6), num_classes=4,
                           transform=transforms.ToTensor())
    (a, ya), (b, yb) = ds[1], ds[1]
    assert tuple(a.shape) == (3, 8, 6) and 0 <= ya < 4 and ya == yb
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(ds) == 3
    with pytest.raises(IndexError):
        ds[3]


@pytest.fixture
def http_root(tmp_path):
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_mnist_download_from_local_mirror(tmp_path, http_root, monkeypatch, capsys):
    served, url = http_root
    resources = []
    arrays = {"train": mnist_arrays(4, 2), "t10k": mnist_arrays(2, 3)}
    for prefix, (x, y) in arrays.items():
        for kind, arr in (("images-idx3", x), ("labels-idx1", y)):
            name = f"{prefix}-{kind}-ubyte.gz"
            (served / name).write_bytes(gzip.compress(idx_bytes(arr)))
            resources.append((name, md5(served / name)))
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://127.0.0.1:9/", url])  # 1st is dead
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    root = tmp_path / "data"
    ds = datasets.MNIST(str(root), train=True, download=True)
    np.testing.assert_array_equal(ds.data.numpy(), arrays["train"][0])
    assert (root / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()
    assert "trying next" in capsys.readouterr().out
    for f in served.iterdir():  # a second download uses the files already there
        f.unlink()
    again = datasets.MNIST(str(root), train=False, download=True)
    np.testing.assert_array_equal(again.targets.numpy(), arrays["t10k"][1])


def test_download_errors_are_clear(tmp_path, http_root, monkeypatch):
    served, url = http_root
    (served / "train-images-idx3-ubyte.gz").write_bytes(b"not what was promised")
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(RuntimeError, match=r"(?s)Error downloading .*127.0.0.1:9.*Connection refused"):
        datasets.MNIST(str(tmp_path), download=True)
    monkeypatch.setattr(datasets.MNIST, "mirrors", [url])
    with pytest.raises(RuntimeError, match="corrupt: md5"):
        datasets.MNIST(str(tmp_path), download=True)


def test_cifar_download_and_extract_tar_gz(tmp_path, http_root, monkeypatch):
    served, url = http_root
    src = tmp_path / "src"
    src.mkdir()
    _, batches = make_cifar(str(src), monkeypatch)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    (served / "c10.tar.gz").write_bytes(buf.getvalue())
    monkeypatch.setattr(datasets.CIFAR10, "url", url + "c10.tar.gz")
    monkeypatch.setattr(datasets.CIFAR10, "filename", "c10.tar.gz")
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", md5(served / "c10.tar.gz"))
    ds = datasets.CIFAR10(str(tmp_path / "dl"), train=False, download=True)
    assert ds.targets == batches["test_batch"]["labels"]
