"""download_url against hostile local servers: short bodies, dropped connections, stalls.

A failed download leaves neither the target nor a ``.part`` file behind, and a body shorter
than the server's Content-Length is an error even when no md5 is given.
"""

import http.server
import socket
import struct
import threading

import pytest

from ember.vision.datasets.utils import DownloadError, download_url

pytest.importorskip("tqdm")

BODY = bytes(range(256)) * 64  # 16 KiB


@pytest.fixture
def server():
    """A local server; the path picks the behaviour. Yields its base URL."""
    release = threading.Event()

    class Hostile(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.close_connection = True
            if self.path == "/chunked":  # no Content-Length at all: HTTP/1.0, ends at close
                self.send_response(200)
                self.end_headers()
                self.wfile.write(BODY)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            if self.path == "/good":
                self.wfile.write(BODY)
            elif self.path == "/short":  # lies: announces 16 KiB, sends 100 bytes, closes
                self.wfile.write(BODY[:100])
            elif self.path == "/drop":  # sends part, then resets the connection (RST)
                self.wfile.write(BODY[:1000])
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            elif self.path == "/stall":  # sends part, then nothing until the test ends
                self.wfile.write(BODY[:1000])
                self.wfile.flush()
                release.wait(60)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    release.set()
    srv.shutdown()
    srv.server_close()


def test_good_download_leaves_only_the_file(server, tmp_path):
    download_url(f"{server}/good", tmp_path, "data.bin")
    assert (tmp_path / "data.bin").read_bytes() == BODY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


def test_download_without_content_length_is_accepted(server, tmp_path):
    download_url(f"{server}/chunked", tmp_path, "data.bin")
    assert (tmp_path / "data.bin").read_bytes() == BODY


def test_body_shorter_than_content_length_fails_without_md5(server, tmp_path):
    # Before the fix the 100 bytes were accepted as the whole file when no md5 was given.
    with pytest.raises(DownloadError, match=r"announced 16384 bytes .* sent 100"):
        download_url(f"{server}/short", tmp_path, "data.bin")
    assert list(tmp_path.iterdir()) == []


def test_dropped_connection_leaves_no_part_file(server, tmp_path):
    with pytest.raises(DownloadError, match="Could not download"):
        download_url(f"{server}/drop", tmp_path, "data.bin")
    assert list(tmp_path.iterdir()) == []


def test_timed_out_download_leaves_no_part_file(server, tmp_path):
    with pytest.raises(DownloadError, match="timed out"):
        download_url(f"{server}/stall", tmp_path, "data.bin", timeout=0.5)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_is_retried_cleanly(server, tmp_path):
    with pytest.raises(DownloadError):
        download_url(f"{server}/short", tmp_path, "data.bin")
    download_url(f"{server}/good", tmp_path, "data.bin")
    assert (tmp_path / "data.bin").read_bytes() == BODY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


@pytest.mark.parametrize("name,kind", [("../escaped.txt", "file"), ("/tmp/abs.txt", "file"),
                                       ("a/../../up.txt", "file"), ("link", "symlink"),
                                       ("dev", "chardev")])
def test_tar_members_are_checked_where_python_lacks_extraction_filters(tmp_path, name, kind):
    # Pythons before 3.10.12/3.11.4 have no tarfile filters: extract_archive then checks the
    # members itself, refusing what the "data" filter refuses
    import io
    import tarfile

    from ember.vision.datasets.utils import _safe_members

    path = tmp_path / "crafted.tar"
    with tarfile.open(path, "w") as tar:
        tar.addfile(tarfile.TarInfo("ok/fine.txt"), io.BytesIO(b""))
        info = tarfile.TarInfo(name)
        info.type = {"file": tarfile.REGTYPE, "symlink": tarfile.SYMTYPE,
                     "chardev": tarfile.CHRTYPE}[kind]
        info.linkname = "/etc/passwd" if kind == "symlink" else ""
        tar.addfile(info, io.BytesIO(b"") if kind == "file" else None)
    with tarfile.open(path) as tar:
        with pytest.raises(RuntimeError, match="refusing to extract"):
            _safe_members(tar, str(tmp_path / "out"))
    with tarfile.open(path, "w") as tar:
        tar.addfile(tarfile.TarInfo("ok/fine.txt"), io.BytesIO(b""))
    with tarfile.open(path) as tar:
        assert [m.name for m in _safe_members(tar, str(tmp_path / "out"))] == ["ok/fine.txt"]
