"""Downloading (with a progress bar and md5 checks) and extracting dataset archives."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import http.client
import lzma
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url", "extract_archive",
           "download_and_extract_archive", "download_file_from_google_drive", "DownloadError",
           "verify_str_arg", "list_dir", "list_files"]

USER_AGENT = "ember/vision"
_CHUNK = 1024 * 256


class DownloadError(RuntimeError):
    """A file could not be fetched (network unreachable, HTTP error, or a bad checksum)."""


def calculate_md5(fpath: str | os.PathLike, chunk_size: int = 1024 * 1024) -> str:
    """The md5 hex digest of a file. Example: ``calculate_md5("data/MNIST/raw/t10k-...")``."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: str | os.PathLike, md5: str, **kwargs) -> bool:
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath: str | os.PathLike, md5: str | None = None) -> bool:
    """True if ``fpath`` exists and (when ``md5`` is given) has that checksum."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or check_md5(fpath, md5)


def _fetch(url: str, fpath: str, timeout: float) -> None:
    """Fetch ``url`` into ``fpath`` through ``fpath + ".part"``, removed again on any failure."""
    from tqdm.auto import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    tmp = fpath + ".part"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            expected = int(total) if total and total.strip().isdigit() else None
            received = 0
            with open(tmp, "wb") as fh, tqdm(total=expected, unit="B", unit_scale=True,
                                             desc=os.path.basename(fpath), leave=False) as bar:
                while chunk := response.read(_CHUNK):
                    fh.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        # urllib returns a body cut short (a dropped connection) without complaint; a file
        # shorter than the server's Content-Length is truncated, md5 or not.
        if expected is not None and received != expected:
            raise _Truncated(f"the server announced {expected} bytes (Content-Length) but "
                             f"sent {received}")
        os.replace(tmp, fpath)  # a half-written file never looks complete
    except BaseException:
        try:
            os.remove(tmp)  # no stale .part file after a failed, cut or interrupted download
        except OSError:
            pass
        raise


class _Truncated(OSError):
    """The connection ended before the body announced by Content-Length had arrived."""


def download_url(url: str, root: str | os.PathLike, filename: str | None = None,
                 md5: str | None = None, max_redirect_hops: int = 3,
                 timeout: float = 30.0) -> None:
    """Download ``url`` into ``root/filename`` unless a file with the right md5 is there.

    Raises ``DownloadError`` naming the URL when the network is unreachable or the checksum
    does not match.

    Example:
        >>> download_url("https://example.com/data.tar.gz", "data", md5=None)
    """
    root = os.path.expanduser(root)
    filename = filename or os.path.basename(url)
    fpath = os.fspath(os.path.join(root, filename))
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    print(f"Downloading {url} to {fpath}")
    try:
        _fetch(url, fpath, timeout)
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"Could not download {url}: {reason}. Check the network connection "
                            f"(or a proxy), or place the file at {fpath} yourself.") from e
    if not check_integrity(fpath, md5):
        got = calculate_md5(fpath)
        os.remove(fpath)
        raise DownloadError(f"The file downloaded from {url} is corrupt: md5 {got}, expected "
                            f"{md5}. It was deleted; try again or use another mirror.")


def _safe_members(tar: tarfile.TarFile, to_path: str) -> list:
    """The archive's members, refusing what the "data" extraction filter refuses on Pythons
    that lack it: anything but files and folders, and paths outside ``to_path``."""
    root = os.path.realpath(to_path)
    for member in tar.getmembers():
        target = os.path.realpath(os.path.join(root, member.name))
        if not (member.isfile() or member.isdir()) or os.path.commonpath(
                [root, target]) != root:
            raise RuntimeError(f"refusing to extract {member.name!r} from {tar.name}: links, "
                               f"devices and paths outside {to_path} are not extracted")
    return tar.getmembers()


def extract_archive(from_path: str | os.PathLike, to_path: str | os.PathLike | None = None,
                    remove_finished: bool = False) -> str:
    """Extract a ``.tar(.gz/.bz2/.xz)``, ``.tgz`` or ``.zip`` archive, or decompress one
    ``.gz``, ``.xz`` or ``.bz2`` file; return the target.

    Example:
        >>> extract_archive("data/cifar-10-python.tar.gz", "data")
    """
    from_path = os.fspath(from_path)
    to_path = os.path.dirname(from_path) if to_path is None else os.fspath(to_path)
    name = from_path.lower()
    if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz")):
        with tarfile.open(from_path, "r:*") as tar:
            try:
                tar.extractall(to_path, filter="data")  # refuses paths escaping to_path
            except TypeError:  # Python without extraction filters: check members ourselves
                tar.extractall(to_path, members=_safe_members(tar, to_path))
        out = to_path
    elif name.endswith(".zip"):
        with zipfile.ZipFile(from_path) as z:
            z.extractall(to_path)
        out = to_path
    elif name.endswith((".gz", ".xz", ".bz2")):  # one compressed file
        suffix = os.path.splitext(name)[1]
        opener = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}[suffix]
        out = os.path.join(to_path, os.path.basename(from_path[: -len(suffix)]))
        with opener(from_path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        raise RuntimeError(f"Archive type of {from_path} is not supported: expected .tar, "
                           ".tar.gz, .tgz, .tar.bz2, .tar.xz, .zip, .gz, .xz or .bz2")
    if remove_finished:
        os.remove(from_path)
    return out


def download_and_extract_archive(url: str, download_root: str | os.PathLike,
                                 extract_root: str | os.PathLike | None = None,
                                 filename: str | None = None, md5: str | None = None,
                                 remove_finished: bool = False) -> None:
    """Download ``url`` (skipped when already present with the right md5) and extract it."""
    download_root = os.path.expanduser(download_root)
    extract_root = extract_root or download_root
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    archive = os.path.join(download_root, filename)
    print(f"Extracting {archive} to {extract_root}")
    extract_archive(archive, extract_root, remove_finished)


def verify_str_arg(value, arg: str | None = None, valid_values=None,
                   custom_msg: str | None = None):
    """``value`` if it is a string among ``valid_values``; else torchvision's ``ValueError``.

    Example:
        >>> verify_str_arg("train", "split", ("train", "test"))
        'train'
    """
    if not isinstance(value, str):
        where = "" if arg is None else f" for argument {arg}"
        raise ValueError(f"Expected type str{where}, but got type {type(value)}.")
    if valid_values is None:
        return value
    if value not in valid_values:
        if custom_msg is not None:
            raise ValueError(custom_msg)
        choices = ", ".join(f"'{v}'" for v in valid_values)
        raise ValueError(f"Unknown value '{value}' for argument {arg}. Valid values are "
                         f"{{{choices}}}.")
    return value


def list_dir(root: str | os.PathLike, prefix: bool = False) -> list[str]:
    """The folders directly under ``root`` (in ``os.listdir`` order, as torchvision), as
    names or, with ``prefix=True``, as paths.

    Example:
        >>> list_dir("data/omniglot-py/images_background")[:1]
        ['Greek']
    """
    root = os.path.expanduser(root)
    names = [p for p in os.listdir(root) if os.path.isdir(os.path.join(root, p))]
    return [os.path.join(root, p) for p in names] if prefix is True else names


def list_files(root: str | os.PathLike, suffix: str | tuple[str, ...],
               prefix: bool = False) -> list[str]:
    """The files directly under ``root`` whose names end with ``suffix`` (a string or a tuple),
    in ``os.listdir`` order, as names or, with ``prefix=True``, as paths.

    Example:
        >>> list_files("data/omniglot-py/images_background/Greek/character01", ".png")[:1]
        ['0394_01.png']
    """
    root = os.path.expanduser(root)
    names = [p for p in os.listdir(root)
             if os.path.isfile(os.path.join(root, p)) and p.endswith(suffix)]
    return [os.path.join(root, p) for p in names] if prefix is True else names


def download_file_from_google_drive(file_id: str, root: str | os.PathLike,
                                    filename: str | None = None, md5: str | None = None) -> None:
    """Download the Google Drive file ``file_id`` into ``root/filename`` (``file_id`` by
    default) unless it is there with the right md5. torchvision needs ``gdown`` for this;
    ember asks Drive's direct-download address, confirming its large-file warning.

    Example:
        >>> download_file_from_google_drive("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "data/celeba",
        ...                                 "img_align_celeba.zip")
    """
    url = (f"https://drive.usercontent.google.com/download?id={file_id}&export=download"
           "&confirm=t")
    download_url(url, root, filename or file_id, md5)
