"""Behaviour pinned after the clean-room rewrite of ``ember.utils.tensorboard.writer`` and of
``ember.profiler.schedule`` / ``tensorboard_trace_handler``: each checked against torch."""

import collections
import itertools
import os
import socket
import warnings
from pathlib import Path

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


# -- profiler.schedule -------------------------------------------------------------------------

@pytest.mark.parametrize("wait,warmup,active,repeat,skip_first,skip_first_wait", [
    combo for combo in itertools.product((0, 1, 3), (0, 2), (1, 2), (0, 1, 3), (0, 2), (0, 1))
])
def test_schedule_sweep_matches_torch(wait, warmup, active, repeat, skip_first,
                                      skip_first_wait):
    kwargs = dict(wait=wait, warmup=warmup, active=active, repeat=repeat,
                  skip_first=skip_first, skip_first_wait=skip_first_wait)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warmup=0 warning, checked below
        ours, theirs = ember.profiler.schedule(**kwargs), torch.profiler.schedule(**kwargs)
    assert [ours(i).name for i in range(40)] == [theirs(i).name for i in range(40)]


@pytest.mark.parametrize("kwargs", [
    dict(wait=1, warmup=1, active=0), dict(wait=-1, warmup=1, active=1),
    dict(wait=1, warmup=-2, active=1), dict(wait=1, warmup=1, active=1, repeat=-1),
    dict(wait=1, warmup=1, active=1, skip_first=-3),
])
def test_schedule_argument_errors_match_torch(kwargs):
    with pytest.raises(AssertionError) as theirs:
        torch.profiler.schedule(**kwargs)
    with pytest.raises(AssertionError) as ours:
        ember.profiler.schedule(**kwargs)
    assert str(ours.value) == str(theirs.value)


def test_schedule_step_error_and_warning_point_at_caller():
    with pytest.raises(AssertionError) as theirs:
        torch.profiler.schedule(wait=0, warmup=1, active=1)(-2)
    with pytest.raises(AssertionError) as ours:
        ember.profiler.schedule(wait=0, warmup=1, active=1)(-2)
    assert str(ours.value) == str(theirs.value)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ember.profiler.schedule(wait=1, warmup=0, active=1)
    assert [str(w.message) for w in seen] == \
        ["Profiler won't be using warmup, this can skew profiler results"]
    assert seen[0].filename == __file__


# -- profiler.tensorboard_trace_handler --------------------------------------------------------

class _Recorder:
    """Stands in for a profile: records where the handler asks it to export."""

    def __init__(self):
        self.calls = []

    def export_chrome_trace(self, path, use_python_export=False):
        self.calls.append((path, use_python_export))


def test_trace_handler_names_and_lazy_directory(tmp_path):
    target = tmp_path / "a" / "b"
    handler = ember.profiler.tensorboard_trace_handler(str(target), use_python_export=True)
    assert not target.exists()  # made only when a trace is handed over
    prof = _Recorder()
    handler(prof)
    handler(prof)
    assert target.is_dir()
    (first, flag), (second, _) = prof.calls
    assert flag is True and first != second
    name = os.path.basename(first)
    worker, stamp, rest = name.split(".", 2)
    assert worker == f"{socket.gethostname()}_{os.getpid()}"
    assert stamp.isdigit() and rest == "pt.trace.json"
    gz = ember.profiler.tensorboard_trace_handler(str(target), worker_name="", use_gzip=True)
    gz(prof)
    assert prof.calls[-1][0].endswith(".pt.trace.json.gz")
    assert os.path.basename(prof.calls[-1][0]).startswith(worker + ".")  # "" -> default name


def test_trace_handler_unmakeable_directory_matches_torch(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for path in (blocker, blocker / "sub"):
        with pytest.raises(RuntimeError) as theirs:
            torch.profiler.tensorboard_trace_handler(str(path))(_Recorder())
        with pytest.raises(RuntimeError) as ours:
            ember.profiler.tensorboard_trace_handler(str(path))(_Recorder())
        assert str(ours.value) == str(theirs.value) == f"Can't create directory: {path}"


# -- SummaryWriter -----------------------------------------------------------------------------

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_file_loader import (  # noqa: E402
    RawEventFileLoader,
)
from tensorboard.compat.proto.event_pb2 import Event  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402

from ember.utils.tensorboard import SummaryWriter  # noqa: E402

T0 = 1_700_000_000.0


def _events(run_dir: Path) -> list:
    """The run's events in file order, without the header event that every file starts with."""
    out = []
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for record in RawEventFileLoader(str(path)).Load():
            event = Event.FromString(record)
            if not event.HasField("file_version") or event.step:
                out.append(event)
    return out


def _both(tmp_path, log):
    """Run ``log(writer, lib)`` with each library's writer; return both runs' events."""
    for name, cls, lib in (("ember", SummaryWriter, ember), ("torch", TorchWriter, torch)):
        with cls(tmp_path / name) as w:
            log(w, lib)
    return _events(tmp_path / "ember"), _events(tmp_path / "torch")


def test_default_bins_equal_torch(tmp_path):
    ours, theirs = SummaryWriter(tmp_path / "e"), TorchWriter(tmp_path / "t")
    assert ours.default_bins == theirs.default_bins
    assert len(ours.default_bins) == 1549 and type(ours.default_bins[774]) is int
    ours.close()
    theirs.close()


def test_attributes_after_init_and_close_match_torch(tmp_path):
    ours, theirs = SummaryWriter(tmp_path, purge_step=4), TorchWriter(tmp_path, purge_step=4)
    assert set(vars(ours)) == set(vars(theirs))
    assert ours.purge_step is theirs.purge_step is None  # spent on the first event file
    assert ours.log_dir is tmp_path and ours.file_writer.get_logdir() == str(tmp_path)
    for w in (ours, theirs):
        w.close()
        assert w.file_writer is None and w.all_writers is None
        w.flush()  # flushing a closed writer is a no-op


def test_custom_scalars_pr_curve_raw_and_steps_match_torch(tmp_path):
    def log(w, lib):
        w.add_custom_scalars_marginchart(["a", "lo", "hi"], category="c", title="band")
        w.add_custom_scalars({"k": {"t": ["Multiline", ["x", "y"]]}})
        counts = np.arange(5, dtype=np.float64)
        w.add_pr_curve_raw("raw", counts, counts, counts, counts, counts / 5, counts / 5, 3,
                           num_thresholds=5, walltime=T0)
        w.add_scalar("s", 1.0, lib.tensor(7), walltime=T0)  # tensor and float steps -> int
        w.add_scalar("s", 2.0, 8.9, walltime=T0)

    ours, theirs = _both(tmp_path, log)
    assert len(ours) == len(theirs) == 5
    for e, t in zip(ours, theirs):
        if e.HasField("summary") and e.summary.value[0].tag == "custom_scalars__config__":
            e.wall_time = t.wall_time = 0  # stamped with time.time()
        assert e == t
    assert [e.step for e in ours[-2:]] == [7, 8]


def test_marginchart_needs_three_tags_like_torch(tmp_path):
    with pytest.raises(AssertionError) as theirs, TorchWriter(tmp_path / "t") as w:
        w.add_custom_scalars_marginchart(["a", "b"])
    with pytest.raises(AssertionError) as ours, SummaryWriter(tmp_path / "e") as w:
        w.add_custom_scalars_marginchart(["a", "b"])
    assert str(ours.value) == str(theirs.value)


def test_histogram_raw_length_mismatch_and_hparams_exact_dict(tmp_path):
    for cls in (SummaryWriter, TorchWriter):
        with cls(tmp_path / cls.__module__) as w:
            with pytest.raises(ValueError, match=r"len\(bucket_limits\) != len\(bucket_counts\)"):
                w.add_histogram_raw("r", 0.0, 1.0, 1, 1.0, 1.0, [1.0, 2.0], [1])
            with pytest.raises(TypeError, match="should be dictionary"):
                w.add_hparams(collections.OrderedDict(lr=0.1), {"m": 1.0})


def test_box_labels_str_and_mismatch_match_torch(tmp_path):
    img = np.random.default_rng(1).random((3, 12, 12)).astype(np.float32)

    def log(w, lib):
        boxes = lib.tensor([[1.0, 1.0, 9.0, 9.0]])
        w.add_image_with_boxes("one", lib.tensor(img), boxes, 0, walltime=T0, labels="cat")
        w.add_image_with_boxes("bad", lib.tensor(img), boxes, 0, walltime=T0,
                               labels=["a", "b"])  # count mismatch: drawn without labels
        w.add_image_with_boxes("none", lib.tensor(img), boxes, 0, walltime=T0)

    ours, theirs = _both(tmp_path, log)
    assert ours == theirs
    images = {e.summary.value[0].tag: e.summary.value[0].image.encoded_image_string
              for e in ours}
    assert images["bad"] == images["none"] != images["one"]


def test_add_scalars_run_names_match_torch(tmp_path):
    runs = {}
    for name, cls in (("ember", SummaryWriter), ("torch", TorchWriter)):
        with cls(tmp_path / name) as w:
            w.add_scalars("loss/part", {"train": 1.0, "val": 2.0}, 0, walltime=T0)
            w.add_scalars("loss/part", {"train": 0.5}, 1, walltime=T0)
            runs[name] = sorted(os.path.relpath(p, tmp_path / name) for p in w.all_writers)
    assert runs["ember"] == runs["torch"] == [".", "loss_part_train", "loss_part_val"]
    for run in ("loss_part_train", "loss_part_val"):
        ours, theirs = _events(tmp_path / "ember" / run), _events(tmp_path / "torch" / run)
        assert ours == theirs and ours
