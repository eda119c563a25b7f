"""ember.utils.tensorboard.SummaryWriter against torch.utils.tensorboard: the same calls write
the same events, read back with TensorBoard's own readers (EventAccumulator, and the raw
event loader for a proto-by-proto comparison)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ember

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)
IMG_CHW = RNG.random((3, 8, 10)).astype(np.float32)
IMG_HWC = RNG.random((6, 5, 3)).astype(np.float32)
IMG_HW = RNG.random((4, 7)).astype(np.float32)
IMG_U8 = (RNG.random((1, 5, 5)) * 255).astype(np.uint8)
BATCH = RNG.random((5, 3, 4, 4)).astype(np.float32)
HIST = RNG.standard_normal(1000).astype(np.float32)
LABELS = (RNG.random(50) > 0.5).astype(np.int64)
PREDS = RNG.random(50).astype(np.float32)
SOUND = np.sin(np.linspace(0, 20, 800)).astype(np.float32) * 0.5
T0 = 1_700_000_000.0


def _log(L, writer_cls, log_dir):
    """The same calls through either library's SummaryWriter, with fixed wall times."""
    with writer_cls(log_dir, flush_secs=1) as w:
        for step in range(3):
            w.add_scalar("loss", 1.0 / (step + 1), step, walltime=T0 + step)
            w.add_scalar("lr", L.tensor(0.1 * (step + 1)), step, walltime=T0 + step)
            w.add_scalars("run", {"train": step * 1.5, "val": L.tensor(step * 2.0)}, step,
                          walltime=T0 + step)
        w.add_scalar("new_style", 2.5, 0, walltime=T0, new_style=True)
        w.add_scalar("double", 2.5, 0, walltime=T0, new_style=True, double_precision=True)
        w.add_histogram("weights", L.tensor(HIST), 0, walltime=T0)
        w.add_histogram("weights", L.tensor(HIST) * 2, 1, walltime=T0 + 1)
        w.add_histogram("auto_bins", HIST, 0, bins="auto", walltime=T0)
        w.add_histogram("max_bins", L.tensor(HIST), 0, bins=50, max_bins=7, walltime=T0)
        w.add_histogram("ints", L.tensor(np.arange(20) % 7), 0, walltime=T0)
        w.add_histogram_raw("raw", min=0.0, max=3.0, num=6, sum=9.0, sum_squares=17.0,
                            bucket_limits=[1.0, 2.0, 3.0], bucket_counts=[1, 2, 3],
                            global_step=0, walltime=T0)
        w.add_image("chw", L.tensor(IMG_CHW), 0, walltime=T0)
        w.add_image("hwc", L.tensor(IMG_HWC), 0, walltime=T0, dataformats="HWC")
        w.add_image("hw", L.tensor(IMG_HW), 0, walltime=T0, dataformats="HW")
        w.add_image("uint8", L.tensor(IMG_U8), 0, walltime=T0)
        w.add_image("numpy", IMG_CHW, 0, walltime=T0)
        w.add_images("batch", L.tensor(BATCH), 0, walltime=T0)
        w.add_images("batch_nhwc", L.tensor(BATCH.transpose(0, 2, 3, 1)), 0, walltime=T0,
                     dataformats="NHWC")
        w.add_image_with_boxes("boxes", L.tensor(IMG_CHW), L.tensor([[1.0, 1.0, 6.0, 5.0]]), 0,
                               walltime=T0)
        w.add_text("notes", "lr **0.1**, ünïcode", 0, walltime=T0)
        w.add_tensor("tensor", L.tensor([[1.0, 2.0], [3.0, 4.0]]), 0, walltime=T0)
        w.add_tensor("tensor_int", L.tensor([1, 2, 3]), 0, walltime=T0)
        w.add_pr_curve("pr", L.tensor(LABELS), L.tensor(PREDS), 0, walltime=T0)
        w.add_audio("sound", L.tensor(SOUND), 0, sample_rate=8000, walltime=T0)
        w.add_custom_scalars_multilinechart(["loss", "lr"], category="cat", title="both")
        w.add_hparams({"lr": 0.1, "bsize": 8, "opt": "sgd", "nesterov": True},
                      {"hparam/accuracy": 0.9}, run_name="hp", global_step=0)
        w.flush()


def _events(run_dir: Path) -> list:
    """Every event in the run directory's event files (not sub-runs), without the file
    header's wall time."""
    events = []
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            if event.HasField("file_version"):
                event.wall_time = 0
            events.append(event)
    return events


def _runs(root: Path) -> list:
    return sorted(str(p.parent.relative_to(root)) for p in root.rglob("events.out.tfevents.*"))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    from ember.utils.tensorboard import SummaryWriter

    root = tmp_path_factory.mktemp("tb")
    _log(ember, SummaryWriter, root / "ember")
    _log(torch, TorchWriter, root / "torch")
    return root / "ember", root / "torch"


def test_same_runs_and_same_events_as_torch(written):
    ours, theirs = written
    assert _runs(ours) == _runs(theirs) == [".", "hp", "run_train", "run_val"]
    for run in _runs(theirs):
        e_events, t_events = _events(ours / run), _events(theirs / run)
        assert len(e_events) == len(t_events), run
        for e, t in zip(e_events, t_events):
            if abs(t.wall_time - T0) > 100:  # stamped with time.time() (no walltime argument)
                assert abs(e.wall_time - t.wall_time) < 600
                e.wall_time = t.wall_time = 0
            assert e == t, (run, e, t)


def _accumulator(path: Path):
    acc = event_accumulator.EventAccumulator(str(path), size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0,
        event_accumulator.IMAGES: 0, event_accumulator.TENSORS: 0,
        event_accumulator.AUDIO: 0})
    acc.Reload()
    return acc


def test_tensorboard_reads_scalars_histograms_images_text(written):
    ours, theirs = written
    e, t = _accumulator(ours), _accumulator(theirs)
    assert e.Tags()["scalars"] == t.Tags()["scalars"] == ["loss", "lr"]
    assert [(s.step, round(s.value, 6)) for s in e.Scalars("loss")] == \
        [(0, 1.0), (1, 0.5), (2, 0.333333)]
    for tag in ("loss", "lr"):
        assert [(s.wall_time, s.step, s.value) for s in e.Scalars(tag)] == \
            [(s.wall_time, s.step, s.value) for s in t.Scalars(tag)]
    assert sorted(e.Tags()["histograms"]) == sorted(t.Tags()["histograms"])
    for tag in e.Tags()["histograms"]:
        assert [h.histogram_value for h in e.Histograms(tag)] == \
            [h.histogram_value for h in t.Histograms(tag)], tag
    first = e.Histograms("weights")[0].histogram_value
    assert first.num == 1000 and np.isclose(first.sum, HIST.astype(float).sum())
    assert sorted(e.Tags()["images"]) == sorted(t.Tags()["images"])
    for tag in e.Tags()["images"]:
        ei, ti = e.Images(tag)[0], t.Images(tag)[0]
        assert (ei.width, ei.height, ei.encoded_image_string) == \
            (ti.width, ti.height, ti.encoded_image_string), tag
    assert (e.Images("chw")[0].width, e.Images("chw")[0].height) == (10, 8)
    assert (e.Images("batch")[0].width, e.Images("batch")[0].height) == (20, 4)  # 5 in a row
    assert sorted(e.Tags()["tensors"]) == sorted(t.Tags()["tensors"])
    text = e.Tensors("notes/text_summary")[0].tensor_proto.string_val[0].decode()
    assert text == "lr **0.1**, ünïcode"
    assert [a.encoded_audio_string for a in e.Audio("sound")] == \
        [a.encoded_audio_string for a in t.Audio("sound")]


def test_add_scalars_sub_runs_and_hparams(written):
    ours, theirs = written
    for run in ("run_train", "run_val"):
        e, t = _accumulator(ours / run), _accumulator(theirs / run)
        assert [(s.step, s.value) for s in e.Scalars("run")] == \
            [(s.step, s.value) for s in t.Scalars("run")]
    e, t = _accumulator(ours / "hp"), _accumulator(theirs / "hp")
    assert e.PluginTagToContent("hparams") == t.PluginTagToContent("hparams")
    assert [s.value for s in e.Scalars("hparam/accuracy")] == [pytest.approx(0.9)]


def test_default_log_dir_comment_and_purge_step(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    from ember.utils.tensorboard import SummaryWriter

    monkeypatch.chdir(tmp_path)
    dirs = []
    for cls in (SummaryWriter, TorchWriter):
        with cls(comment="_lr0.1") as w:
            dirs.append(w.get_logdir())
            assert w.log_dir == w.get_logdir()
    pattern = r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(os.uname().nodename) + \
        r"_lr0\.1$"
    assert all(re.match(pattern, d) for d in dirs), dirs
    assert list(Path(dirs[0]).glob("events.out.tfevents.*"))  # (torch's may share the dir)
    for name, cls in (("ember", SummaryWriter), ("torch", TorchWriter)):
        with cls(tmp_path / name, purge_step=5, filename_suffix=".x") as w:
            w.add_scalar("a", 1.0, 5, walltime=T0)
    ours, theirs = _events(tmp_path / "ember"), _events(tmp_path / "torch")
    assert [e.step for e in ours] == [0, 5, 5, 5]
    for e, t in zip(ours, theirs):
        if not e.HasField("file_version") or e.step:
            e.wall_time = t.wall_time = 0  # the purge markers are stamped with time.time()
        assert e == t
    assert all(p.name.endswith(".x") for p in (tmp_path / "ember").iterdir())


def test_close_flush_reopen_and_context_manager(tmp_path):
    from ember.utils.tensorboard import SummaryWriter

    w = SummaryWriter(tmp_path)
    w.add_scalar("a", 1.0, 0)
    w.flush()
    assert [s.value for s in _accumulator(tmp_path).Scalars("a")] == [1.0]
    w.close()
    w.close()  # a second close does nothing
    w.add_scalar("a", 2.0, 1)  # a new event file in the same directory
    w.close()
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2
    assert [s.value for s in _accumulator(tmp_path).Scalars("a")] == [1.0, 2.0]


def test_errors(tmp_path):
    from ember.utils.tensorboard import SummaryWriter

    with SummaryWriter(tmp_path) as w:
        with pytest.raises(NotImplementedError, match="graph capture"):
            w.add_graph(ember.nn.Linear(2, 2), ember.ones(1, 2))
        with pytest.raises(AssertionError, match="Tensor should contain one element"):
            w.add_scalar("bad", ember.ones(2))
        with pytest.raises(TypeError, match="hparam_dict and metric_dict should be dictionary"):
            w.add_hparams([("lr", 0.1)], {})
        with pytest.raises(ValueError, match="value should be one of int, float, str, bool"):
            w.add_hparams({"lr": [0.1]}, {})
        with pytest.raises(AssertionError, match="size of input tensor and input format are "
                                                 "different"):
            w.add_image("bad", ember.ones(3, 4, 4), dataformats="HW")
        with pytest.raises(ValueError, match="The input has no element."):
            w.add_histogram("empty", ember.ones(0))
        with pytest.raises(NotImplementedError, match="numpy array or torch tensor"):
            w.add_histogram("list", [1.0, 2.0])


def test_gradient_tensors_and_bfloat16_are_logged(tmp_path):
    from ember.utils.tensorboard import SummaryWriter

    p = ember.ones(3, requires_grad=True)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("p", p, 0)
        w.add_scalar("bf16", ember.tensor(0.5, dtype=ember.bfloat16), 0)
        w.add_histogram("bf16", ember.ones(4, dtype=ember.bfloat16), 0)
    acc = _accumulator(tmp_path)
    assert acc.Scalars("bf16")[0].value == 0.5
    assert acc.Histograms("p")[0].histogram_value.num == 3


def test_missing_tensorboard_names_the_extra():
    code = ("import sys\n"
            "sys.modules['tensorboard'] = None\n"
            "try:\n"
            "    import ember.utils.tensorboard\n"
            "except ImportError as err:\n"
            "    print(err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert 'pip install "ember[tensorboard]"' in out.stdout, out.stdout + out.stderr


def test_add_figure_matches_torch(tmp_path):
    pytest.importorskip("torch")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    from ember.utils.tensorboard import SummaryWriter

    def figure():
        fig = plt.figure(figsize=(2, 1.5), dpi=50)
        plt.plot([0, 1, 2], [1, 0, 2])
        return fig

    for name, cls in (("ember", SummaryWriter), ("torch", TorchWriter)):
        with cls(tmp_path / name) as w:
            w.add_figure("fig", figure(), 0, walltime=T0)
            w.add_figure("figs", [figure(), figure()], 0, walltime=T0)
    e, t = _accumulator(tmp_path / "ember"), _accumulator(tmp_path / "torch")
    for tag in ("fig", "figs"):
        ei, ti = e.Images(tag)[0], t.Images(tag)[0]
        assert (ei.width, ei.height, ei.encoded_image_string) == \
            (ti.width, ti.height, ti.encoded_image_string)
    assert (e.Images("fig")[0].width, e.Images("fig")[0].height) == (100, 75)
    assert not plt.get_fignums()  # close=True closed them
