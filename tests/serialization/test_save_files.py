"""What ``ember.save`` leaves on disk, and memory-mapped loads.

A save is atomic (a temporary file, then ``os.replace``) but otherwise gives what
``torch.save``'s ``open(path, "wb")`` gives: a new file gets the umask's mode, an existing one
keeps its mode, a symlink is written through to its target. A killed save's temporary file is
removed by the next save in that folder. ``mmap=True`` tensors are copy-on-write.
"""

import os
import stat
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes and signals")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _litter(folder) -> list:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".ember-save-"))


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_file_gets_the_umask_mode_as_open_does(tmp_path, torch, umask, mask):
    os.umask(mask)
    ember.save({"a": ember.ones(2)}, tmp_path / "e.pth")
    torch.save({"a": torch.ones(2)}, tmp_path / "t.pth")
    with open(tmp_path / "o.bin", "wb"):
        pass
    assert _mode(tmp_path / "e.pth") == _mode(tmp_path / "t.pth") == _mode(tmp_path / "o.bin") \
        == 0o666 & ~mask
    ember.safetensors.save_file({"a": ember.ones(2)}, tmp_path / "e.safetensors")
    assert _mode(tmp_path / "e.safetensors") == 0o666 & ~mask


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604, 0o755])
def test_existing_file_keeps_its_mode(tmp_path, torch, umask, mode):
    for name, save, lib in (("e.pth", ember.save, ember), ("t.pth", torch.save, torch)):
        path = tmp_path / name
        path.write_bytes(b"old")
        os.chmod(path, mode)
        save({"a": lib.ones(2)}, path)
        assert _mode(path) == mode
    assert ember.load(tmp_path / "e.pth")["a"].tolist() == [1.0, 1.0]


def test_symlink_is_written_through_to_its_target(tmp_path, torch):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    links = tmp_path / "links"
    links.mkdir()
    for name, save, lib in (("e", ember.save, ember), ("t", torch.save, torch)):
        target = real_dir / f"{name}.pth"
        target.write_bytes(b"old")
        link = links / f"{name}.pth"
        link.symlink_to(os.path.relpath(target, links))
        save({"a": lib.arange(3.0)}, link)
        assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, links)
        assert ember.load(target)["a"].tolist() == [0.0, 1.0, 2.0]
    # The temporary file lived next to the target (one rename, same file system).
    assert _litter(real_dir) == [] and _litter(links) == []


def test_dangling_symlink_creates_its_target(tmp_path, torch):
    for name, save, lib in (("e", ember.save, ember), ("t", torch.save, torch)):
        link = tmp_path / f"{name}.pth"
        link.symlink_to(tmp_path / f"{name}-target.pth")
        save({"a": lib.ones(1)}, link)
        assert link.is_symlink() and (tmp_path / f"{name}-target.pth").is_file()


def test_saving_onto_a_directory_raises_as_torch(tmp_path, torch):
    (tmp_path / "d.pth").mkdir()
    for save, lib in ((ember.save, ember), (torch.save, torch)):
        with pytest.raises(RuntimeError, match="Is a directory"):
            save({"a": lib.ones(1)}, tmp_path / "d.pth")


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_saving_to_a_device_writes_to_it_and_never_replaces_it(torch):
    for save, lib in ((ember.save, ember), (torch.save, torch)):
        save({"a": lib.ones(1)}, "/dev/null")
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# -- temporary files of killed saves ------------------------------------------------------------

_WRITER = textwrap.dedent("""
    import os, signal, sys
    from ember._serialization.atomic import atomic_write

    def write(out):
        out.write(b"partial")
        out.flush()
        if sys.argv[2] == "die":
            os.kill(os.getpid(), signal.SIGKILL)  # killed mid-save: the temp file stays
        print("writing", flush=True)
        sys.stdin.readline()  # a live save, paused until the test lets it finish
        out.write(b" done")

    atomic_write(sys.argv[1], write)
""")


def test_a_killed_saves_temporary_file_is_removed_by_the_next_save(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / "a.pth"), "die"])
    assert proc.wait(timeout=120) == -9
    stale = _litter(tmp_path)
    assert len(stale) == 1 and f"-{proc.pid}-" in stale[0]
    ember.save({"b": 1}, tmp_path / "b.pth")
    assert _litter(tmp_path) == []
    assert not (tmp_path / "a.pth").exists()


def test_a_running_saves_temporary_file_is_left_alone(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / "a.pth"), "live"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        assert len(_litter(tmp_path)) == 1
        ember.save({"b": 1}, tmp_path / "b.pth")
        ember.safetensors.save_file({"c": ember.ones(1)}, tmp_path / "c.safetensors")
        assert len(_litter(tmp_path)) == 1  # its writer is alive: not stale
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "a.pth").read_bytes() == b"partial done" and _litter(tmp_path) == []


# -- mmap=True ----------------------------------------------------------------------------------

def test_mmap_tensors_are_copy_on_write(tmp_path, torch):
    ember.save({"w": ember.arange(4.0)}, tmp_path / "m.pth")
    before = (tmp_path / "m.pth").read_bytes()
    for lib in (ember, torch):
        w = lib.load(tmp_path / "m.pth", mmap=True)["w"]
        w.add_(10)  # writable ...
        assert w.tolist() == [10.0, 11.0, 12.0, 13.0]
        assert (tmp_path / "m.pth").read_bytes() == before  # ... and the file never changes
        assert lib.load(tmp_path / "m.pth", mmap=True)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_optimizer_steps_on_mmap_loaded_parameters(tmp_path):
    model = ember.nn.Linear(3, 2)
    ember.save(model.state_dict(), tmp_path / "m.pth")
    before = (tmp_path / "m.pth").read_bytes()
    sd = ember.load(tmp_path / "m.pth", mmap=True)
    params = [ember.nn.Parameter(sd["weight"]), ember.nn.Parameter(sd["bias"])]
    opt = ember.optim.SGD(params, lr=0.5)
    loss = (ember.nn.functional.linear(ember.ones(1, 3), *params) ** 2).sum()
    loss.backward()
    old = params[0].detach().clone()
    opt.step()  # was "output array is read-only"
    assert not np.array_equal(params[0].detach().numpy(), old.numpy())
    assert (tmp_path / "m.pth").read_bytes() == before


def test_mmap_does_not_read_the_file_into_memory(tmp_path):
    ember.save({"big": ember.zeros(8 << 20)}, tmp_path / "big.pth")  # 32 MB
    tracemalloc.start()
    try:
        t = ember.load(tmp_path / "big.pth", mmap=True)["big"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert t.shape == (8 << 20,) and peak < 4 << 20, peak
